//! `/c/{username}`: one conversation. The latest page is rendered on the server; older pages
//! load on scroll-up; new messages arrive over the realtime link. The composer is a plain form
//! (it posts without JavaScript) that, once hydrated, sends over the socket instead.
//!
//! This module loads the conversation and puts the page together: the top bar and the list of my
//! other conversations are the server's HTML; the header, the message list and the composer are
//! one island (`LiveConversation`), as they share the page's live state (`live`: the signals, and
//! what each server frame does to them). The outbox holds what I wrote until the server confirms it.

mod composer;
mod header;
mod live;
mod messages;
mod outbox;

use crate::api::messaging::{load_conversation, Conversation};
use crate::domain::{ChatMessage, ConversationSummary, User, UserId};
use crate::ui::components::{IslandPreloads, LiveTitle, Loaded, PersonName, TopBar};
use crate::ui::realtime::use_realtime;
use crate::ui::url::{path_param, query_param};
use composer::Composer;
use header::ConversationHeader;
use leptos::html;
use leptos::prelude::*;
use live::{Initial, LiveState};
use messages::MessageList;

#[component]
pub fn ConversationPage() -> impl IntoView {
    let (username, at) = (path_param("username"), query_param("at"));
    let conversation = Resource::new(
        move || (username(), at().parse::<i64>().ok()),
        |(username, at)| load_conversation(username, at),
    );
    view! {
        <Loaded resource=conversation render=move |data| {
            let found = at().parse::<i64>().ok();
            view! { <ConversationView data found /> }
        } />
    }
}

#[component]
fn ConversationView(data: Conversation, found: Option<i64>) -> impl IntoView {
    let Conversation {
        me,
        peer,
        messages,
        has_more,
        peer_read_up_to,
        read_up_to,
        unread_total,
        latest_id,
        i_blocked,
        max_message_chars,
        conversations,
    } = data;
    view! {
        <TopBar me=me.clone() />
        <div class="conversation-layout">
            <SideInbox conversations current=peer.username.to_string() />
            <main class="page conversation">
                <LiveConversation
                    me=me.id
                    peer
                    messages
                    has_more
                    peer_read_up_to
                    read_up_to
                    unread_total
                    latest_id
                    i_blocked
                    max_message_chars
                    found
                />
                <IslandPreloads island="live_conversation" />
            </main>
        </div>
    }
}

/// The conversation itself, the page's live part: the header, the messages and the composer,
/// which share the page's live state and its realtime link.
#[island(lazy)]
#[allow(clippy::too_many_arguments)]
fn LiveConversation(
    me: UserId,
    peer: User,
    messages: Vec<ChatMessage>,
    has_more: bool,
    peer_read_up_to: i64,
    read_up_to: i64,
    unread_total: i64,
    latest_id: i64,
    i_blocked: bool,
    max_message_chars: usize,
    found: Option<i64>,
) -> impl IntoView {
    let live = LiveState::new(Initial {
        me,
        peer: peer.id,
        peer_name: peer.shown_name(),
        peer_username: peer.username.to_string(),
        peer_deleted: peer.deleted,
        messages,
        peer_read_up_to,
        read_up_to,
        unread_total,
        i_blocked,
    });
    let realtime = use_realtime(latest_id, move |frame| live.handle_frame(frame));
    // Shared by the list and the composer, which brings it back to the newest message after a send.
    let scroller = NodeRef::<html::Div>::new();

    let peer_name = peer.shown_name();
    let title = {
        let peer_name = peer_name.clone();
        move || match live.unread_total.get() {
            0 => format!("{peer_name} · Parley"),
            n => format!("({n}) {peer_name} · Parley"),
        }
    };
    view! {
        <LiveTitle text=title />
        <ConversationHeader live realtime peer=peer.clone() />
        <MessageList live realtime has_more peer_name=peer_name.clone() scroller found />
        <Composer live realtime peer_name scroller max_chars=max_message_chars />
    }
}

/// On a wide screen, my conversations beside the open one (CSS hides it on narrow ones, where the
/// conversation is the whole page and the back arrow leads to the inbox).
#[component]
fn SideInbox(conversations: Vec<ConversationSummary>, current: String) -> impl IntoView {
    view! {
        <nav class="side-inbox" aria-label="Conversations" data-testid="side-inbox">
            <h2>"Conversations"</h2>
            <ul>
                {conversations.into_iter().map(|summary| {
                    let name = summary.peer.username.to_string();
                    let here = (name == current).then_some("page");
                    view! {
                        <li>
                            <a href=format!("/c/{name}") aria-current=here>
                                <PersonName person=summary.peer />
                                {(summary.unread > 0).then(|| view! {
                                    <span class="unread" aria-label=format!("{} unread", summary.unread)>{summary.unread}</span>
                                })}
                            </a>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </nav>
    }
}
