//! The message list: stored messages (with "sent" / "read" on mine), then what is still in the
//! outbox, then "… is typing". It loads older pages near the top, and tells the server how far I
//! have read while the page is in front of me. The typing line belongs here rather than in the
//! header: it sits inside the scroller, under the newest message.

use super::live::LiveState;
use crate::api::messaging::load_older;
use crate::protocol::ClientFrame;
use crate::ui::components::MessageBubble;
use crate::ui::realtime::Realtime;
use leptos::html;
use leptos::prelude::*;

#[component]
pub(super) fn MessageList(
    live: LiveState,
    realtime: Realtime,
    /// Whether the server has messages older than the first page.
    has_more: bool,
    peer_name: String,
    scroller: NodeRef<html::Div>,
) -> impl IntoView {
    let has_more = RwSignal::new(has_more);
    let loading_older = RwSignal::new(false);
    mark_read_while_visible(live, realtime);

    let load_older_page = move || {
        if loading_older.get_untracked() || !has_more.get_untracked() {
            return;
        }
        let Some(first) = live
            .messages
            .with_untracked(|list| list.first().map(|m| m.id))
        else {
            return;
        };
        loading_older.set(true);
        leptos::task::spawn_local(async move {
            match load_older(live.peer, first).await {
                Ok(page) => {
                    live.add_messages(page.messages);
                    has_more.set(page.has_more);
                }
                Err(err) => live.send_error.set(Some(err.to_string())),
            }
            loading_older.set(false);
        });
    };

    // The list is laid out bottom-up (column-reverse), so it opens at the newest message even
    // without JavaScript and stays pinned there as messages arrive. Near the top, load more.
    let on_scroll = move |_| {
        if let Some(el) = scroller.get() {
            let from_top =
                el.scroll_height() as f64 + el.scroll_top() as f64 - el.client_height() as f64;
            if from_top < 80.0 {
                load_older_page();
            }
        }
    };

    view! {
        <div class="scroller" node_ref=scroller on:scroll=on_scroll data-testid="message-scroller">
            <div>
                <Show when=move || has_more.get()>
                    <button class="load-older" data-testid="load-older" on:click=move |_| load_older_page()>
                        {move || if loading_older.get() { "Loading…" } else { "Load older messages" }}
                    </button>
                </Show>
                <Show when=move || live.messages.with(Vec::is_empty) && live.outbox.is_empty()>
                    <p class="empty" data-testid="conversation-empty">"No messages yet. Say hello!"</p>
                </Show>
                <ol class="messages" data-testid="message-list" aria-live="polite">
                    <For each=move || live.messages.get() key=|m| m.id let:message>
                        <MessageBubble mine=message.sender == live.me read_up_to=live.peer_read_up_to.into() message />
                    </For>
                    <For each=move || live.outbox.entries() key=|p| (p.client_id.clone(), p.failed.is_some()) let:pending>
                        <PendingBubble text=pending.text failed=pending.failed />
                    </For>
                </ol>
                <p class="typing" data-testid="typing-indicator" aria-live="polite">
                    {move || (live.peer_typing.get() > 0).then(|| format!("{peer_name} is typing…"))}
                </p>
            </div>
        </div>
    }
}

/// Tells the server (and so the peer, and my other tabs) how far I have read, while this page is
/// in front of me: when messages arrive, when the link comes up, and when the window gets focus.
fn mark_read_while_visible(live: LiveState, realtime: Realtime) {
    let read_sent = StoredValue::new(0i64);
    let mark_read = move || {
        if !page_visible() {
            return;
        }
        let newest = live
            .messages
            .with_untracked(|l| l.iter().rev().find(|m| m.sender == live.peer).map(|m| m.id));
        if let Some(id) = newest.filter(|id| *id > read_sent.get_value()) {
            if realtime.send(&ClientFrame::Read {
                with: live.peer,
                up_to: id,
            }) {
                read_sent.set_value(id);
            }
        }
    };
    Effect::new(move |_| {
        live.messages.track();
        let _ = realtime.status();
        mark_read();
    });
    let focus = window_event_listener(leptos::ev::focus, move |_| mark_read());
    on_cleanup(move || focus.remove());
}

/// An own message the server has not confirmed: "sending…", or why it was refused.
#[component]
fn PendingBubble(text: String, failed: Option<String>) -> impl IntoView {
    let state = if failed.is_some() {
        "failed"
    } else {
        "pending"
    };
    let label = failed.map_or_else(|| "sending…".to_owned(), |why| format!("not sent: {why}"));
    view! {
        <li class=format!("bubble mine {state}") data-testid="message" data-mine="true" data-state=state>
            <p class="text" data-testid="message-text">{text}</p>
            <span class="state" data-testid="message-state">{label}</span>
        </li>
    }
}

fn page_visible() -> bool {
    #[cfg(feature = "hydrate")]
    {
        document().visibility_state() == web_sys::VisibilityState::Visible
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}
