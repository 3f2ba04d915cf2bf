//! Desktop notifications of new messages, shown only while the tab is hidden and only if the
//! person allowed them. Permission is asked for once, from the "Enable notifications" control in
//! the settings (never when a page loads); nothing plays a sound. Clicking a notification brings
//! this tab forward and opens the conversation.

use crate::ui::format::snippet;

/// What the browser says about notifications for this site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Not asked yet.
    Ask,
    Granted,
    Denied,
    /// This browser has no notifications (or the page is not hydrated).
    Unsupported,
}

pub fn permission() -> Permission {
    #[cfg(feature = "hydrate")]
    {
        use web_sys::NotificationPermission;
        if !supported() {
            return Permission::Unsupported;
        }
        match web_sys::Notification::permission() {
            NotificationPermission::Granted => Permission::Granted,
            NotificationPermission::Denied => Permission::Denied,
            _ => Permission::Ask,
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        Permission::Unsupported
    }
}

/// Asks the browser for permission (it shows its own prompt); `answered` hears the outcome.
pub fn ask(answered: impl Fn(Permission) + 'static) {
    #[cfg(feature = "hydrate")]
    {
        if !supported() {
            return answered(Permission::Unsupported);
        }
        match web_sys::Notification::request_permission() {
            Ok(promise) => leptos::task::spawn_local(async move {
                let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
                answered(permission());
            }),
            Err(_) => answered(permission()),
        }
    }
    #[cfg(not(feature = "hydrate"))]
    answered(Permission::Unsupported);
}

/// Tells the person about a message from `from` while this tab is hidden, if they allowed it;
/// a click opens `open` (a path of this site).
pub fn new_message(from: &str, text: &str, open: String) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        if permission() != Permission::Granted
            || leptos::prelude::document().visibility_state() == web_sys::VisibilityState::Visible
        {
            return;
        }
        let options = web_sys::NotificationOptions::new();
        options.set_body(&snippet(text, 140));
        // One notification per conversation: a newer message replaces the older one.
        options.set_tag(&open);
        let Ok(notification) = web_sys::Notification::new_with_options(from, &options) else {
            return;
        };
        let on_click = Closure::<dyn Fn()>::new(move || {
            let window = leptos::prelude::window();
            let _ = window.focus();
            let _ = window.location().set_href(&open);
        });
        notification.set_onclick(Some(on_click.as_ref().unchecked_ref()));
        // The notification may be clicked long after this call: the handler lives on.
        on_click.forget();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (from, snippet(text, 140), open);
}

#[cfg(feature = "hydrate")]
fn supported() -> bool {
    js_sys::Reflect::has(&leptos::prelude::window(), &"Notification".into()).unwrap_or(false)
}
