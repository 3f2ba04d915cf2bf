//! `/c/{username}`: one conversation. The latest page is rendered on the server; older pages
//! load on scroll-up; new messages arrive over the realtime link. The composer is a plain form
//! (it posts without JavaScript) that, once hydrated, sends over the socket instead.

use super::error_text;
use crate::api::messaging::{load_conversation, load_older, Conversation, SendChat};
use crate::domain::ChatMessage;
use crate::protocol::{ClientFrame, ServerFrame};
use crate::ui::components::{ErrorNotice, MessageBubble, TopBar};
use crate::ui::realtime::use_realtime;
use leptos::html;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ConversationPage() -> impl IntoView {
    let params = use_params_map();
    let conversation = Resource::new(
        move || params.read().get("username").unwrap_or_default(),
        load_conversation,
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match conversation.await {
                    Ok(data) => view! { <ConversationView data /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
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

#[component]
fn ConversationView(data: Conversation) -> impl IntoView {
    let Conversation {
        me,
        peer,
        messages,
        has_more,
    } = data;
    let messages = RwSignal::new(messages);
    let has_more = RwSignal::new(has_more);
    let loading_older = RwSignal::new(false);
    let send_error = RwSignal::new(None::<String>);
    let (me_id, peer_id) = (me.id, peer.id);
    let scroller = NodeRef::<html::Div>::new();
    let input = NodeRef::<html::Textarea>::new();
    let send_action = ServerAction::<SendChat>::new();

    // After a send over HTTP (socket down), show the stored message at once.
    Effect::new(move |_| match send_action.value().get() {
        Some(Ok(stored)) => messages.update(|list| merge(list, [stored])),
        Some(Err(err)) => send_error.set(Some(err.to_string())),
        None => {}
    });

    let peer_name = peer.username.to_string();
    let refresh_name = peer_name.clone();
    let realtime = use_realtime(move |frame| match frame {
        ServerFrame::Message { message } if message.involves(me_id, peer_id) => {
            messages.update(|list| merge(list, [message]));
        }
        // (Re)connected: fetch the latest page so nothing sent while we were away is missing.
        ServerFrame::ConnectionStatus { .. } => refresh_latest(refresh_name.clone(), messages),
        ServerFrame::Error { message, .. } => send_error.set(Some(message)),
        _ => {}
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
        let client_id = new_client_id();
        let frame = ClientFrame::Message {
            to: peer_id,
            message: text.clone(),
            client_id: client_id.parse().ok(),
        };
        if !realtime.send(&frame) {
            send_action.dispatch(SendChat {
                to: peer_id,
                message: text,
                client_id: Some(client_id),
            });
        }
        textarea.set_value("");
        if let Some(el) = scroller.get() {
            el.set_scroll_top(0);
        }
    };

    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit_form(&ev);
        }
    };

    let send_url = <SendChat as ServerFn>::PATH;
    view! {
        <Title text=format!("{peer_name} · Parley") />
        <TopBar me=me.clone() />
        <main class="page conversation">
            <header class="conversation-head">
                <a href="/" class="back" aria-label="Back to inbox">"←"</a>
                <h1 data-testid="conversation-peer">{peer_name.clone()}</h1>
                <span class="link-status" data-testid="link-status">{move || realtime.status().label()}</span>
            </header>
            <div class="scroller" node_ref=scroller on:scroll=on_scroll data-testid="message-scroller">
                <div>
                    <Show when=move || has_more.get()>
                        <button class="load-older" data-testid="load-older" on:click=move |_| load_older_page()>
                            {move || if loading_older.get() { "Loading…" } else { "Load older messages" }}
                        </button>
                    </Show>
                    <Show when=move || messages.with(Vec::is_empty)>
                        <p class="empty" data-testid="conversation-empty">"No messages yet. Say hello!"</p>
                    </Show>
                    <ol class="messages" data-testid="message-list" aria-live="polite">
                        <For each=move || messages.get() key=|m| m.id let:message>
                            <MessageBubble mine=message.sender == me_id message />
                        </For>
                    </ol>
                </div>
            </div>
            <form
                class="composer"
                method="post"
                action=send_url
                on:submit=on_submit
                data-testid="composer"
            >
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
                    data-testid="composer-input"
                ></textarea>
                <button type="submit" data-testid="send">"Send"</button>
            </form>
            <SendError error=move || send_error.get().or_else(|| send_action.value().with(error_text)) />
        </main>
    }
}

/// A failed send: from the socket, from an HTTP send, or (without JavaScript) decoded from the
/// URL the form post was redirected back to.
#[component]
fn SendError(error: impl Fn() -> Option<String> + Send + Sync + 'static) -> impl IntoView {
    view! { <p class="form-error" role="alert" data-testid="send-error">{error}</p> }
}

fn refresh_latest(peer: String, messages: RwSignal<Vec<ChatMessage>>) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        if let Ok(latest) = load_conversation(peer).await {
            messages.update(|list| merge(list, latest.messages));
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (peer, messages);
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

/// A fresh idempotency key for a send.
fn new_client_id() -> String {
    #[cfg(feature = "hydrate")]
    {
        window()
            .crypto()
            .map(|c| c.random_uuid())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
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
