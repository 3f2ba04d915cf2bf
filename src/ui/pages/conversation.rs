//! `/c/{username}`: one conversation. The latest page is rendered on the server; older pages
//! load on scroll-up; new messages arrive over the realtime link. The composer is a plain form
//! (it posts without JavaScript) that, once hydrated, sends over the socket instead.

use super::error_text;
use crate::api::blocks::{BlockUser, UnblockUser};
#[cfg(feature = "hydrate")]
use crate::api::messaging::load_unread_total;
use crate::api::messaging::{load_conversation, load_older, Conversation, SendChat};
use crate::domain::{ChatMessage, UserId};
use crate::protocol::{ClientFrame, ServerEvent, ServerFrame};
use crate::ui::components::{LiveTitle, Loaded, MessageBubble, TopBar};
use crate::ui::realtime::{use_realtime, LinkStatus};
use crate::ui::schedule::coalesce;
use crate::ui::url::path_param;
use leptos::html;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use std::time::Duration;

#[component]
pub fn ConversationPage() -> impl IntoView {
    let conversation = Resource::new(path_param("username"), load_conversation);
    view! { <Loaded resource=conversation render=|data| view! { <ConversationView data /> } /> }
}

/// Adds `incoming` to `list`, keeping date order (ties by id) and each id once.
fn merge(list: &mut Vec<ChatMessage>, incoming: impl IntoIterator<Item = ChatMessage>) {
    let mut changed = false;
    for message in incoming {
        if !list.iter().any(|m| m.id == message.id) {
            list.push(message);
            changed = true;
        }
    }
    if changed {
        list.sort_by_key(|m| (m.date, m.id));
    }
}

/// A message written here that the server has not confirmed yet (sending, or offline).
#[derive(Clone, Debug, PartialEq)]
struct Pending {
    client_id: String,
    text: String,
    /// Set when the server refused it; a refused message is not sent again.
    failed: Option<String>,
}

fn send_frame(peer: UserId, pending: &Pending) -> ClientFrame {
    ClientFrame::Message {
        to: peer,
        message: pending.text.clone(),
        client_id: pending.client_id.parse().ok(),
    }
}

#[component]
fn ConversationView(data: Conversation) -> impl IntoView {
    let Conversation {
        me,
        peer,
        messages,
        has_more,
        peer_read_up_to,
        unread_total,
        latest_id,
        i_blocked,
    } = data;
    let (me_id, peer_id) = (me.id, peer.id);
    let messages = RwSignal::new(messages);
    let has_more = RwSignal::new(has_more);
    let loading_older = RwSignal::new(false);
    let send_error = RwSignal::new(None::<String>);
    let outbox = RwSignal::new(Vec::<Pending>::new());
    let peer_read_up_to = RwSignal::new(peer_read_up_to);
    let unread_total = RwSignal::new(unread_total);
    let peer_online = RwSignal::new(false);
    let peer_typing = RwSignal::new(0u32);
    let scroller = NodeRef::<html::Div>::new();
    let input = NodeRef::<html::Textarea>::new();
    let send_action = ServerAction::<SendChat>::new();
    let blocked = RwSignal::new(i_blocked);
    let block_action = ServerAction::<BlockUser>::new();
    let unblock_action = ServerAction::<UnblockUser>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = block_action.value().get() {
            blocked.set(true);
            peer_online.set(false);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = unblock_action.value().get() {
            blocked.set(false);
        }
    });
    // Bumped to send the outbox again (after a rate-limit pause); see the effect below.
    let resend = RwSignal::new(0u32);
    let backoff_ms = StoredValue::new(FIRST_BACKOFF_MS);
    let retry_scheduled = StoredValue::new(false);
    let unread_refresh = StoredValue::new(false);

    let realtime = use_realtime(latest_id, move |frame| match frame {
        ServerFrame::Message { message } if message.involves(me_id, peer_id) => {
            if let Some(id) = message.client_id.map(|c| c.to_string()) {
                outbox.update(|o| o.retain(|p| p.client_id != id));
                backoff_ms.set_value(FIRST_BACKOFF_MS);
            }
            if message.sender == peer_id {
                peer_typing.set(0);
            }
            messages.update(|list| merge(list, [message]));
        }
        // Another conversation: one more unread if it came to me. Counted here, not fetched.
        ServerFrame::Message { message }
            if message.receiver == me_id && message.sender != me_id =>
        {
            unread_total.update(|n| *n += 1);
        }
        // Sending too fast: the message stays pending and the outbox goes again, same client_ids,
        // after a pause (one pause for a burst of refusals) that doubles while nothing gets through.
        ServerFrame::Error {
            code,
            client_id: Some(_),
            ..
        } if code == "rate_limited" => schedule_resend(resend, backoff_ms, retry_scheduled),
        ServerFrame::Error {
            message,
            client_id: Some(id),
            ..
        } => {
            outbox.update(|o| {
                o.iter_mut()
                    .filter(|p| p.client_id == id)
                    .for_each(|p| p.failed = Some(message.clone()))
            });
        }
        ServerFrame::PresenceFull { online } => peer_online.set(online.contains(&peer_id)),
        ServerFrame::PresenceUpdate { user_id, online } if user_id == peer_id => {
            peer_online.set(online)
        }
        ServerFrame::Event(ServerEvent::Typing { from }) if from == peer_id => {
            show_typing(peer_typing);
        }
        ServerFrame::Event(ServerEvent::Read {
            reader,
            with,
            up_to,
        }) => {
            if reader == peer_id && with == me_id {
                peer_read_up_to.update(|r| *r = (*r).max(up_to));
            }
            if reader == me_id {
                refresh_unread(unread_total, unread_refresh);
            }
        }
        _ => {}
    });

    // Whenever the link is (back) up, send what is waiting, under the same client_id: a message
    // the server already stored is acknowledged again, never stored twice.
    Effect::new(move |_| {
        resend.track();
        if realtime.status() == LinkStatus::Live {
            outbox.with_untracked(|o| {
                for pending in o.iter().filter(|p| p.failed.is_none()) {
                    realtime.send(&send_frame(peer_id, pending));
                }
            });
        }
    });

    // Tell the server (and so the peer, and my other tabs) how far I have read, while this page
    // is in front of me.
    let read_sent = StoredValue::new(0i64);
    let mark_read = move || {
        if !page_visible() {
            return;
        }
        let newest =
            messages.with_untracked(|l| l.iter().rev().find(|m| m.sender == peer_id).map(|m| m.id));
        if let Some(id) = newest.filter(|id| *id > read_sent.get_value()) {
            if realtime.send(&ClientFrame::Read {
                with: peer_id,
                up_to: id,
            }) {
                read_sent.set_value(id);
            }
        }
    };
    Effect::new(move |_| {
        messages.track();
        let _ = realtime.status();
        mark_read();
    });
    let focus = window_event_listener(leptos::ev::focus, move |_| mark_read());
    on_cleanup(move || focus.remove());

    // After a send over HTTP (no JavaScript on the first render), show the stored message.
    Effect::new(move |_| {
        if let Some(Ok(stored)) = send_action.value().get() {
            messages.update(|list| merge(list, [stored]));
        }
    });

    let load_older_page = move || {
        if loading_older.get_untracked() || !has_more.get_untracked() {
            return;
        }
        let Some(first) = messages.with_untracked(|list| list.first().map(|m| m.id)) else {
            return;
        };
        loading_older.set(true);
        leptos::task::spawn_local(async move {
            match load_older(peer_id, first).await {
                Ok(page) => {
                    messages.update(|list| merge(list, page.messages));
                    has_more.set(page.has_more);
                }
                Err(err) => send_error.set(Some(err.to_string())),
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

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let Some(textarea) = input.get() else { return };
        ev.prevent_default();
        let text = textarea.value();
        if text.trim().is_empty() {
            send_error.set(Some("Write something first.".into()));
            return;
        }
        send_error.set(None);
        let pending = Pending {
            client_id: new_client_id(),
            text,
            failed: None,
        };
        // Offline, it waits in the outbox; the effect above sends it once the link is back. While
        // the server is telling us to slow down, it waits for the scheduled resend (which sends
        // the outbox in order) instead of overtaking the messages already waiting.
        if !retry_scheduled.get_value() {
            realtime.send(&send_frame(peer_id, &pending));
        }
        outbox.update(|o| o.push(pending));
        textarea.set_value("");
        if let Some(el) = scroller.get() {
            el.set_scroll_top(0);
        }
    };

    let typing_sent = StoredValue::new(0f64);
    let on_input = move |_| {
        // Typing notices only make sense inside an existing conversation (the server agrees).
        let now = now_ms();
        if now - typing_sent.get_value() > 2_000.0 && !messages.with_untracked(Vec::is_empty) {
            realtime.send(&ClientFrame::Typing { to: peer_id });
            typing_sent.set_value(now);
        }
    };

    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit_form(&ev);
        }
    };

    let peer_name = peer.username.to_string();
    let send_url = <SendChat as ServerFn>::PATH;
    let title = {
        let peer_name = peer_name.clone();
        move || match unread_total.get() {
            0 => format!("{peer_name} · Parley"),
            n => format!("({n}) {peer_name} · Parley"),
        }
    };
    let typing_name = peer_name.clone();
    let notice_name = peer_name.clone();
    view! {
        <LiveTitle text=title />
        <TopBar me=me.clone() />
        <main class="page conversation">
            <header class="conversation-head">
                <a href="/" class="back" aria-label="Back to inbox">"←"</a>
                <h1 data-testid="conversation-peer">{peer_name.clone()}</h1>
                <span class="presence" data-testid="peer-presence" data-online=move || peer_online.get().to_string()>
                    {move || if peer_online.get() { "online" } else { "offline" }}
                </span>
                <span class="link-status" data-testid="link-status">{move || realtime.status().label()}</span>
                <Show when=move || !blocked.get()>
                    <ActionForm action=block_action attr:class="block-form">
                        <input type="hidden" name="user" value=peer_id.get() />
                        <button type="submit" class="link-button" data-testid="block">"Block"</button>
                    </ActionForm>
                </Show>
            </header>
            <div class="scroller" node_ref=scroller on:scroll=on_scroll data-testid="message-scroller">
                <div>
                    <Show when=move || has_more.get()>
                        <button class="load-older" data-testid="load-older" on:click=move |_| load_older_page()>
                            {move || if loading_older.get() { "Loading…" } else { "Load older messages" }}
                        </button>
                    </Show>
                    <Show when=move || messages.with(Vec::is_empty) && outbox.with(Vec::is_empty)>
                        <p class="empty" data-testid="conversation-empty">"No messages yet. Say hello!"</p>
                    </Show>
                    <ol class="messages" data-testid="message-list" aria-live="polite">
                        <For each=move || messages.get() key=|m| m.id let:message>
                            <MessageBubble mine=message.sender == me_id read_up_to=peer_read_up_to.into() message />
                        </For>
                        <For each=move || outbox.get() key=|p| (p.client_id.clone(), p.failed.is_some()) let:pending>
                            <PendingBubble text=pending.text failed=pending.failed />
                        </For>
                    </ol>
                    <p class="typing" data-testid="typing-indicator" aria-live="polite">
                        {move || (peer_typing.get() > 0).then(|| format!("{typing_name} is typing…"))}
                    </p>
                </div>
            </div>
            <Show when=move || blocked.get()>
                <BlockedNotice peer_name=notice_name.clone() peer_id action=unblock_action />
            </Show>
            <form class="composer" method="post" action=send_url on:submit=on_submit data-testid="composer" hidden=move || blocked.get()>
                <input type="hidden" name="to" value=peer_id.get() />
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
                <button type="submit" data-testid="send">"Send"</button>
            </form>
            <SendError error=move || send_error.get().or_else(|| send_action.value().with(error_text)) />
        </main>
    }
}

/// In place of the composer while I block the peer.
#[component]
fn BlockedNotice(
    peer_name: String,
    peer_id: UserId,
    action: ServerAction<UnblockUser>,
) -> impl IntoView {
    view! {
        <div class="blocked-notice card" role="status" data-testid="blocked-notice">
            <p>{format!("You blocked {peer_name}. They cannot message you, and you cannot message them.")}</p>
            <ActionForm action>
                <input type="hidden" name="user" value=peer_id.get() />
                <button type="submit" data-testid="unblock">{format!("Unblock {peer_name}")}</button>
            </ActionForm>
        </div>
    }
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

/// A failed send: from the socket, from an HTTP send, or (without JavaScript) decoded from the
/// URL the form post was redirected back to.
#[component]
fn SendError(error: impl Fn() -> Option<String> + Send + Sync + 'static) -> impl IntoView {
    view! { <p class="form-error" role="alert" data-testid="send-error">{error}</p> }
}

/// Shows "… is typing" for a few seconds after the latest notice.
fn show_typing(peer_typing: RwSignal<u32>) {
    let generation = peer_typing.get_untracked().wrapping_add(1).max(1);
    peer_typing.set(generation);
    set_timeout(
        move || {
            if peer_typing.get_untracked() == generation {
                peer_typing.set(0);
            }
        },
        std::time::Duration::from_secs(4),
    );
}

/// Sends the outbox again (bumps `resend`) after the current backoff, unless a resend is already
/// scheduled; the backoff doubles until a send gets through.
fn schedule_resend(
    resend: RwSignal<u32>,
    backoff_ms: StoredValue<u64>,
    scheduled: StoredValue<bool>,
) {
    if scheduled.get_value() {
        return;
    }
    let delay = backoff_ms.get_value();
    backoff_ms.set_value((delay * 2).min(MAX_BACKOFF_MS));
    coalesce(scheduled, Duration::from_millis(delay), move || {
        resend.update(|n| *n = n.wrapping_add(1));
    });
}

/// The first pause before a rate-limited message is sent again, and the longest.
const FIRST_BACKOFF_MS: u64 = 1_000;
const MAX_BACKOFF_MS: u64 = 30_000;

/// Asks the server for the unread total, at most once per half second however many read marks
/// arrive (`pending` says one is already scheduled).
fn refresh_unread(unread_total: RwSignal<i64>, pending: StoredValue<bool>) {
    coalesce(pending, Duration::from_millis(500), move || {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if let Ok(total) = load_unread_total().await {
                unread_total.set(total);
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = unread_total;
    });
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

/// A fresh idempotency key for a send: a version-4 UUID from the browser's CSPRNG
/// (`getRandomValues` works on plain-HTTP origins too, unlike `randomUUID`).
fn new_client_id() -> String {
    #[cfg_attr(not(feature = "hydrate"), allow(unused_mut))]
    let mut bytes = [0u8; 16];
    #[cfg(feature = "hydrate")]
    if let Ok(crypto) = window().crypto() {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::merge;
    use crate::domain::{ChatMessage, UserId};
    use chrono::{TimeZone, Utc};

    fn msg(id: i64, ms: i64) -> ChatMessage {
        ChatMessage {
            id,
            sender: UserId::new(1),
            receiver: UserId::new(2),
            message: format!("m{id}"),
            date: Utc.timestamp_millis_opt(ms).unwrap(),
            client_id: None,
        }
    }

    #[test]
    fn merge_dedupes_and_orders_by_date_then_id() {
        let mut list = vec![msg(2, 200), msg(3, 300)];
        merge(
            &mut list,
            [msg(3, 300), msg(1, 100), msg(5, 300), msg(4, 300)],
        );
        let ids: Vec<i64> = list.iter().map(|m| m.id).collect();
        assert_eq!(ids, vec![1, 2, 3, 4, 5]);
    }
}
