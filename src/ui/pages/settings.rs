//! `/settings`: the caller's account settings: desktop notifications (asked for only from here),
//! and the people they have blocked, each with "Unblock" (a plain form, so it works without
//! JavaScript).

use crate::api::blocks::{load_settings, Settings, UnblockUser};
use crate::domain::BlockedUser;
use crate::ui::components::{Loaded, TopBar};
use crate::ui::notify::{self, Permission};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let settings = Resource::new(|| (), |_| load_settings());
    view! {
        <Title text="Settings · Parley" />
        <Loaded resource=settings render=|data| view! { <SettingsView data /> } />
    }
}

#[component]
fn SettingsView(data: Settings) -> impl IntoView {
    let Settings { me, blocks } = data;
    let blocks = RwSignal::new(blocks);
    view! {
        <TopBar me />
        <main class="page settings">
            <h1>"Settings"</h1>
            <Notifications />
            <section aria-labelledby="blocked-heading" class="card">
                <h2 id="blocked-heading">"Blocked people"</h2>
                <p class="muted">
                    "People you block cannot message you, and see no sign of whether you are online, typing or have read their messages."
                </p>
                <Show
                    when=move || !blocks.with(Vec::is_empty)
                    fallback=|| view! { <p class="empty" data-testid="blocked-empty">"You have not blocked anyone."</p> }
                >
                    <ul class="blocked" data-testid="blocked-list">
                        <For each=move || blocks.get() key=|b| b.user.id let:blocked>
                            <BlockedRow blocked blocks />
                        </For>
                    </ul>
                </Show>
            </section>
        </main>
    }
}

/// Whether new messages show as desktop notifications while Parley's tab is hidden. The browser
/// asks only when the button is pressed.
#[component]
fn Notifications() -> impl IntoView {
    // Known only in the browser: the server renders the section without a state.
    let state = RwSignal::new(None::<Permission>);
    Effect::new(move |_| state.set(Some(notify::permission())));
    let ask = move |_| notify::ask(move |answer| state.set(Some(answer)));
    let said = move || {
        match state.get() {
        None => "",
        Some(Permission::Ask) => "Get a desktop notification when a message arrives while Parley is in the background.",
        Some(Permission::Granted) => "Notifications are on: a message that arrives while Parley is in the background shows on your desktop.",
        Some(Permission::Denied) => "Notifications are blocked for this site in your browser's settings.",
        Some(Permission::Unsupported) => "This browser cannot show notifications.",
    }
    };
    view! {
        <section aria-labelledby="notifications-heading" class="card">
            <h2 id="notifications-heading">"Notifications"</h2>
            <p class="muted" data-testid="notifications-state">{said}</p>
            <Show when=move || state.get() == Some(Permission::Ask)>
                <button type="button" data-testid="enable-notifications" on:click=ask>"Enable notifications"</button>
            </Show>
        </section>
    }
}

#[component]
fn BlockedRow(blocked: BlockedUser, blocks: RwSignal<Vec<BlockedUser>>) -> impl IntoView {
    let unblock = ServerAction::<UnblockUser>::new();
    let id = blocked.user.id;
    Effect::new(move |_| {
        if let Some(Ok(())) = unblock.value().get() {
            blocks.update(|list| list.retain(|b| b.user.id != id));
        }
    });
    let name = blocked.user.username.to_string();
    let unblock_label = format!("Unblock {name}");
    view! {
        <li data-testid="blocked-person" data-user=name.clone()>
            <span class="peer">{name.clone()}</span>
            <ActionForm action=unblock>
                <input type="hidden" name="user" value=id.get() />
                <button type="submit" class="link-button" data-testid="unblock">
                    {unblock_label}
                </button>
            </ActionForm>
        </li>
    }
}
