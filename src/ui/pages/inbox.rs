//! `/`: the caller's conversations, newest activity first, updated live; and a people search
//! (a plain GET form) to start a new one.

use crate::api::messaging::{load_inbox, Inbox};
use crate::domain::{ConversationSummary, User, UserId};
use crate::error::AppError;
use crate::protocol::{ServerEvent, ServerFrame};
use crate::ui::components::{
    BlockChange, BlockForm, IslandPreloads, LinkStatusLabel, LiveTitle, Loaded, PersonName, TopBar,
};
use crate::ui::format::{relative_time, snippet};
use crate::ui::notify;
use crate::ui::realtime::use_realtime;
use crate::ui::schedule::coalesce;
use crate::ui::url::query_param;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use std::time::Duration;

#[component]
pub fn InboxPage() -> impl IntoView {
    let inbox = Resource::new(query_param("q"), load_inbox);
    view! { <Loaded resource=inbox render=|data| view! { <InboxView data /> } /> }
}

#[component]
fn InboxView(data: Inbox) -> impl IntoView {
    let Inbox {
        me,
        conversations,
        query,
        people,
        latest_id,
        read_at,
    } = data;
    view! {
        <TopBar me=me.clone() />
        <main class="page inbox">
            <section class="find-people" aria-labelledby="find-heading">
                <h2 id="find-heading">"Start a conversation"</h2>
                <form method="get" action="/" role="search">
                    <label for="q" class="visually-hidden">"Find people by username"</label>
                    <input id="q" name="q" type="search" placeholder="Find people by username" value=query.clone() />
                    <button type="submit">"Search"</button>
                </form>
                <PeopleResults query people />
            </section>
            <section class="find-messages">
                <h2>"Search your messages"</h2>
                <form method="get" action="/search" role="search">
                    <label for="search-q" class="visually-hidden">"Search your messages"</label>
                    <input id="search-q" name="q" type="search" placeholder="Search your messages" data-testid="message-search" />
                    <button type="submit">"Search messages"</button>
                </form>
            </section>
            <Conversations me=me.id conversations latest_id read_at />
            <IslandPreloads island="conversations" />
        </main>
    }
}

/// The list itself, the page's one live part: it follows the realtime link (new messages move a
/// conversation to the top), keeps "5 min ago" true, and blocks.
#[island(lazy)]
fn Conversations(
    me: UserId,
    conversations: Vec<ConversationSummary>,
    latest_id: i64,
    read_at: DateTime<Utc>,
) -> impl IntoView {
    // "5 min ago" stays true while the page is open: the first render counts from when the list
    // was read (as the server did), then from the browser's clock, every 30 s.
    let now = RwSignal::new(read_at);
    Effect::new(move |_| {
        now.set(Utc::now());
        if let Ok(ticking) =
            set_interval_with_handle(move || now.set(Utc::now()), Duration::from_secs(30))
        {
            on_cleanup(move || ticking.clear());
        }
    });
    let conversations = RwSignal::new(conversations);
    let my_id = me;

    let refresh_pending = StoredValue::new(false);
    let realtime = use_realtime(latest_id, move |frame| {
        // An edit or deletion of a conversation's last message changes its preview.
        if let ServerFrame::MessageEdited { message, .. }
        | ServerFrame::MessageDeleted { message, .. } = &frame
        {
            conversations.update(|list| {
                for summary in list.iter_mut().filter(|c| c.last_message.id == message.id) {
                    summary.last_message = message.clone();
                }
            });
            return;
        }
        let ServerFrame::Message { message } = &frame else {
            if matches!(&frame, ServerFrame::Event(ServerEvent::Read { .. })) {
                // Read in another tab or by the peer: the server recounts unread messages.
                refresh(conversations, refresh_pending);
            }
            return;
        };
        // A known conversation moves to the top with its new message and count at once; only a
        // new one (whose peer this page has never seen) needs the server's list.
        let peer = message.peer_of(my_id);
        if message.receiver == my_id && message.sender != my_id {
            let name = conversations.with_untracked(|list| {
                list.iter()
                    .find(|c| c.peer.id == peer)
                    .map(|c| (c.peer.shown_name(), c.peer.username.to_string()))
            });
            match name {
                Some((shown, name)) => {
                    notify::new_message(&shown, &message.message, format!("/c/{name}"))
                }
                None => notify::new_message("New message", &message.message, "/".to_owned()),
            }
        }
        let mut known = false;
        conversations.update(|list| {
            if let Some(pos) = list.iter().position(|c| c.peer.id == peer) {
                let mut moved = list.remove(pos);
                moved.last_message = message.clone();
                if message.receiver == my_id && message.sender != my_id {
                    moved.unread += 1;
                }
                list.insert(0, moved);
                known = true;
            }
        });
        if !known {
            refresh(conversations, refresh_pending);
        }
    });
    let title = move || match conversations.with(|list| list.iter().map(|c| c.unread).sum::<i64>())
    {
        0 => "Inbox · Parley".to_owned(),
        n => format!("({n}) Inbox · Parley"),
    };

    view! {
        <LiveTitle text=title />
        <section aria-labelledby="inbox-heading">
            <h1 id="inbox-heading">
                "Inbox" <LinkStatusLabel realtime />
            </h1>
            <Show
                when=move || !conversations.with(Vec::is_empty)
                fallback=|| view! { <p class="empty" data-testid="inbox-empty">"No conversations yet. Find someone above to say hello."</p> }
            >
                <ul class="conversations" data-testid="conversation-list">
                    <For each=move || conversations.get() key=|c| (c.peer.id, c.last_message.id, c.last_message.edited_at, c.last_message.deleted_at, c.unread) let:summary>
                        <ConversationRow summary me=my_id conversations now />
                    </For>
                </ul>
            </Show>
        </section>
    }
}

#[component]
fn PeopleResults(query: String, people: Vec<User>) -> impl IntoView {
    if query.trim().is_empty() {
        return ().into_any();
    }
    if people.is_empty() {
        return view! { <p class="empty" data-testid="people-empty">"Nobody found for “" {query} "”."</p> }.into_any();
    }
    view! {
        <ul class="people" data-testid="people-results">
            {people
                .into_iter()
                .map(|person| {
                    let name = person.username.to_string();
                    view! { <li><a href=format!("/c/{name}")><PersonName person /></a></li> }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn ConversationRow(
    summary: ConversationSummary,
    me: crate::domain::UserId,
    conversations: RwSignal<Vec<ConversationSummary>>,
    now: RwSignal<DateTime<Utc>>,
) -> impl IntoView {
    let peer_id = summary.peer.id;
    // Blocked: the conversation leaves the inbox (it still opens from its address). A refusal
    // leaves it where it is.
    let blocked = move |result: Result<(), AppError>| {
        if result.is_ok() {
            conversations.update(|list| list.retain(|c| c.peer.id != peer_id));
        }
    };
    let name = summary.peer.username.to_string();
    let block_label = format!("Block {}", summary.peer.shown_name());
    let peer = summary.peer.clone();
    let deleted = summary.peer.deleted;
    let last = summary.last_message;
    let prefix = if last.sender == me { "You: " } else { "" };
    let date = last.date;
    let when = move || relative_time(date, now.get());
    view! {
        <li data-testid="conversation" data-peer=name.clone()>
            <a href=format!("/c/{name}")>
                <span class="peer">
                    <PersonName person=peer />
                    {(summary.unread > 0).then(|| view! {
                        <span class="unread" data-testid="unread-count" aria-label=format!("{} unread", summary.unread)>{summary.unread}</span>
                    })}
                </span>
                <span class="snippet">
                    {prefix}
                    {if last.is_deleted() { "Message deleted".to_owned() } else { snippet(&last.message, 80) }}
                </span>
                <time datetime=crate::domain::rfc3339_millis::format(&last.date)>{when}</time>
            </a>
            // Nobody can write as a deleted account: nothing to block.
            {(!deleted).then(|| view! {
                <BlockForm change=BlockChange::Block peer=peer_id class="block-form" on_done=blocked>
                    <button type="submit" class="link-button" data-testid="block" aria-label=block_label>"Block"</button>
                </BlockForm>
            })}
        </li>
    }
}

/// Reloads the list from the server, at most once per half second however many frames ask for it
/// (`pending` says one is already scheduled).
fn refresh(conversations: RwSignal<Vec<ConversationSummary>>, pending: StoredValue<bool>) {
    coalesce(pending, std::time::Duration::from_millis(500), move || {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if let Ok(fresh) = load_inbox(String::new()).await {
                conversations.set(fresh.conversations);
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = conversations;
    });
}
