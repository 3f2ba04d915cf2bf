//! The composer: a plain form that posts without JavaScript and, once hydrated, sends over the
//! socket through the outbox instead (Enter sends, Shift+Enter is a new line; typing notices go to
//! the peer). While I block the peer, a notice with "Unblock" takes its place. The error line
//! under it shows why a send (or loading older messages) failed.
//!
//! What I am writing is kept as a draft in this browser (`ui::drafts`) until I send it.
//!
//! The composer also edits my messages: Edit on one of them, or Up in an empty composer for my
//! newest, puts its text here with an "Editing" line above; Enter saves, Esc puts the draft back.

use super::live::LiveState;
use crate::api::messaging::SendChat;
use crate::domain::{counted_length, ChatMessage};
use crate::error::AppError;
use crate::protocol::ClientFrame;
use crate::ui::components::{BlockChange, BlockForm};
use crate::ui::drafts::{draft_key, load_draft, save_draft};
use crate::ui::pages::error_text;
use crate::ui::realtime::Realtime;
use leptos::either::Either;
use leptos::html;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

#[component]
pub(super) fn Composer(
    live: LiveState,
    realtime: Realtime,
    peer_name: String,
    /// The message list's scroller, brought back to the newest message after a send.
    scroller: NodeRef<html::Div>,
    /// The longest message the server accepts, in characters.
    max_chars: usize,
) -> impl IntoView {
    let input = NodeRef::<html::Textarea>::new();
    // Characters counted as the server counts them, for the counter near the limit.
    let length = RwSignal::new(0usize);
    let draft = draft_key(live.me, live.peer);
    // Once the page is live in the browser: bring back the draft, and put the cursor in the box.
    {
        let draft = draft.clone();
        Effect::new(move |_| {
            if let Some(textarea) = input.get() {
                if textarea.value().is_empty() {
                    if let Some(text) = load_draft(&draft) {
                        textarea.set_value(&text);
                    }
                }
                length.set(counted_length(&textarea.value()));
                let _ = textarea.focus();
            }
        });
    }
    // Editing one of my messages: its text in the box; done or cancelled: the draft again.
    {
        let draft = draft.clone();
        Effect::new(move |was_editing: Option<bool>| {
            let editing = live.editing.get();
            if let Some(textarea) = input.get() {
                match &editing {
                    Some(message) => {
                        textarea.set_value(&message.message);
                        let _ = textarea.focus();
                    }
                    None if was_editing == Some(true) => {
                        textarea.set_value(&load_draft(&draft).unwrap_or_default());
                        let _ = textarea.focus();
                    }
                    None => {}
                }
                length.set(counted_length(&textarea.value()));
            }
            editing.is_some()
        });
    }
    // Never dispatched from here (sends go through the outbox): on the server it reads the error
    // of a send posted without JavaScript from the address the post was sent back to.
    let send_action = ServerAction::<SendChat>::new();
    live.outbox.resend_when_live(realtime, live.peer);

    let draft_on_send = draft.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let Some(textarea) = input.get() else { return };
        ev.prevent_default();
        let text = textarea.value();
        if text.trim().is_empty() {
            live.send_error.set(Some("Write something first.".into()));
            return;
        }
        if counted_length(&text) > max_chars {
            live.send_error.set(Some(format!(
                "This message is too long: at most {max_chars} characters."
            )));
            return;
        }
        live.send_error.set(None);
        if let Some(editing) = live.editing.get_untracked() {
            save_edit(live, editing, text);
            return;
        }
        // Answering is reading: the "New messages" line has done its work.
        live.seen_all();
        live.outbox.send(realtime, live.peer, text);
        textarea.set_value("");
        length.set(0);
        save_draft(&draft_on_send, "");
        if let Some(el) = scroller.get() {
            el.set_scroll_top(0);
        }
    };

    let typing_sent = StoredValue::new(0f64);
    let on_input = move |_| {
        if let Some(textarea) = input.get_untracked() {
            let text = textarea.value();
            length.set(counted_length(&text));
            // While editing, the box holds the message, not the draft.
            if live.editing.with_untracked(Option::is_none) {
                save_draft(&draft, &text);
            }
        }
        // Typing notices only make sense inside an existing conversation (the server agrees).
        let now = now_ms();
        if now - typing_sent.get_value() > 2_000.0 && !live.messages.with_untracked(Vec::is_empty) {
            realtime.send(&ClientFrame::Typing { to: live.peer });
            typing_sent.set_value(now);
        }
    };

    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit_form(&ev);
        }
        // Up in an empty composer edits my newest message, as in other messengers.
        if ev.key() == "ArrowUp" && live.editing.with_untracked(Option::is_none) {
            let empty = input
                .get_untracked()
                .is_some_and(|textarea| textarea.value().is_empty());
            if let Some(mine) = live.my_last_editable().filter(|_| empty) {
                ev.prevent_default();
                live.editing.set(Some(mine));
            }
            return;
        }
        if ev.key() == "Escape" && live.editing.with_untracked(Option::is_some) {
            live.editing.set(None);
            return;
        }
        // On a narrow screen the conversation is the whole page: Esc goes back to the inbox.
        if ev.key() == "Escape" && is_narrow_screen() {
            let _ = window().location().set_href("/");
        }
    };
    let over_limit = move || length.get() > max_chars;
    let counter = move || {
        let used = length.get();
        // Shown from 90 % of the limit on.
        (used * 10 >= max_chars * 9).then(|| match max_chars.checked_sub(used) {
            Some(left) => format!("{left} left"),
            None => format!("{} over the limit", used - max_chars),
        })
    };

    let send_url = <SendChat as ServerFn>::PATH;
    let notice_name = peer_name.clone();
    if live.peer_deleted {
        return Either::Left(view! {
            <div class="blocked-notice card" role="status" data-testid="deleted-notice">
                <p>"This account was deleted. You can still read your conversation, but nobody will receive new messages."</p>
            </div>
        });
    }
    Either::Right(view! {
        <Show when=move || live.blocked.get()>
            <BlockedNotice live peer_name=notice_name.clone() />
        </Show>
        <form class="composer" method="post" action=send_url on:submit=on_submit data-testid="composer" hidden=move || live.blocked.get()>
            <input type="hidden" name="to" value=live.peer.get() />
            <Show when=move || live.editing.with(Option::is_some)>
                <p class="editing-line" data-testid="editing-line">
                    "Editing your message · "
                    <button type="button" class="link-button" data-testid="cancel-edit"
                        on:click=move |_| live.editing.set(None)>"Cancel"</button>
                </p>
            </Show>
            <label for="message" class="visually-hidden">{format!("Message {peer_name}")}</label>
            <textarea
                id="message"
                name="message"
                rows="2"
                required
                placeholder=format!("Message {peer_name} (Enter to send, Shift+Enter for a new line)")
                node_ref=input
                on:keydown=on_keydown
                on:input=on_input
                data-testid="composer-input"
            ></textarea>
            <span class="counter" class:over=over_limit data-testid="composer-counter" aria-live="polite">{counter}</span>
            <button type="submit" data-testid="send" disabled=over_limit>
                {move || if live.editing.with(Option::is_some) { "Save" } else { "Send" }}
            </button>
        </form>
        <SendError error=move || live.send_error.get().or_else(|| send_action.value().with(error_text)) />
    })
}

/// Stores the new text of a message I am editing; the editor closes once it is stored, and the
/// error line says why if it was refused (the 15 minutes passed, say).
fn save_edit(live: LiveState, editing: ChatMessage, text: String) {
    if text.trim() == editing.message {
        live.editing.set(None);
        return;
    }
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        match crate::api::messaging::edit_chat(live.peer, editing.id, text).await {
            Ok(edited) => {
                live.replace_message(edited);
                live.editing.set(None);
            }
            Err(err) => live.send_error.set(Some(err.to_string())),
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

/// In place of the composer while I block the peer.
#[component]
fn BlockedNotice(live: LiveState, peer_name: String) -> impl IntoView {
    let unblocked = move |result: Result<(), AppError>| match result {
        Ok(()) => live.blocked.set(false),
        Err(err) => live.send_error.set(Some(err.to_string())),
    };
    view! {
        <div class="blocked-notice card" role="status" data-testid="blocked-notice">
            <p>{format!("You blocked {peer_name}. They cannot message you, and you cannot message them.")}</p>
            <BlockForm change=BlockChange::Unblock peer=live.peer on_done=unblocked>
                <button type="submit" data-testid="unblock">{format!("Unblock {peer_name}")}</button>
            </BlockForm>
        </div>
    }
}

/// A failed send: from the socket, from an HTTP send, or (without JavaScript) decoded from the
/// URL the form post was redirected back to.
#[component]
fn SendError(error: impl Fn() -> Option<String> + Send + Sync + 'static) -> impl IntoView {
    view! { <p class="form-error" role="alert" data-testid="send-error">{error}</p> }
}

fn is_narrow_screen() -> bool {
    #[cfg(feature = "hydrate")]
    {
        window()
            .inner_width()
            .ok()
            .and_then(|width| width.as_f64())
            .is_some_and(|width| width < NARROW_SCREEN_PX)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}

/// Below this width the inbox and a conversation do not fit side by side.
#[cfg(feature = "hydrate")]
const NARROW_SCREEN_PX: f64 = 720.0;

fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

fn submit_form(ev: &leptos::ev::KeyboardEvent) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let form = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
            .and_then(|t| t.form());
        if let Some(form) = form {
            // requestSubmit fires the submit event, so Enter and the button share one path.
            let _ = form.request_submit();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}
