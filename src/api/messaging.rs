use crate::domain::admin::SearchHit;
use crate::domain::{ChatMessage, ConversationSummary, HistoryPage, User, UserId};
use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::error::ErrorCode;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {super::context, crate::server::messaging as svc};

/// Everything the inbox page shows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Inbox {
    pub me: User,
    pub conversations: Vec<ConversationSummary>,
    /// The query the people-search ran with, and what it found.
    pub query: String,
    pub people: Vec<User>,
    /// The newest message id of the whole account, when the page was rendered.
    pub latest_id: i64,
    /// When the list was read: the first render in the browser says "5 min ago" from this, as
    /// the server did, then from the browser's clock.
    #[serde(with = "crate::domain::rfc3339_millis")]
    pub read_at: DateTime<Utc>,
}

/// Everything the conversation page shows on first render.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Conversation {
    pub me: User,
    pub peer: User,
    pub messages: Vec<ChatMessage>,
    pub has_more: bool,
    /// How far the peer has read: my messages up to this id show as read.
    pub peer_read_up_to: i64,
    /// How far I had read the peer's messages: the "New messages" line goes above the next one.
    pub read_up_to: i64,
    /// Unread messages across all my conversations (for the tab title).
    pub unread_total: i64,
    /// The newest message id of the whole account, when the page was rendered.
    pub latest_id: i64,
    /// Whether I have blocked the peer (the page offers "Unblock" instead of a composer).
    pub i_blocked: bool,
    /// The longest message the server accepts, in characters (the composer counts down to it).
    pub max_message_chars: usize,
    /// My other conversations, for the list beside this one on a wide screen.
    pub conversations: Vec<ConversationSummary>,
}

#[server(prefix = "/_app", endpoint = "inbox")]
pub async fn load_inbox(query: String) -> Result<Inbox, AppError> {
    context::respond(async move {
        let (state, me) = context::logged_in().await?;
        let list = svc::conversations(&state, &me).await?;
        let people = svc::find_people(&state, &me, &query).await?;
        Ok(Inbox {
            me,
            conversations: list.summaries,
            query,
            people,
            latest_id: list.latest_id,
            read_at: Utc::now(),
        })
    })
    .await
}

/// The conversation with `peer`; with `at` (a search hit), opened at that message.
#[server(prefix = "/_app", endpoint = "conversation")]
pub async fn load_conversation(peer: String, at: Option<i64>) -> Result<Conversation, AppError> {
    context::respond(async move {
        let (state, me) = context::logged_in().await?;
        let peer = svc::peer_by_name(&state, &peer).await?;
        let page = svc::history_around(&state, &me, &peer, at).await?;
        let read = svc::read_state(&state, &me, peer.id).await?;
        let i_blocked = svc::have_blocked(&state, &me, peer.id).await?;
        let conversations = svc::conversations(&state, &me).await?.summaries;
        Ok(Conversation {
            conversations,
            latest_id: read.latest_id,
            i_blocked,
            max_message_chars: state.config.max_message_chars,
            me,
            peer,
            messages: page.messages,
            has_more: page.has_more,
            peer_read_up_to: read.peer_read_up_to,
            read_up_to: read.read_up_to,
            unread_total: read.unread_total,
        })
    })
    .await
}

#[server(prefix = "/_app", endpoint = "older")]
pub async fn load_older(peer: UserId, before: i64) -> Result<HistoryPage, AppError> {
    context::respond(async move {
        let (state, me) = context::logged_in().await?;
        svc::history(&state, &me, peer, Some(before), None).await
    })
    .await
}

/// Sends over HTTP: the composer's path without JavaScript, or when the socket is down.
/// Delivery to both rooms happens inside, exactly as for a WebSocket send.
#[server(prefix = "/_app", endpoint = "send")]
pub async fn send_chat(
    to: UserId,
    message: String,
    client_id: Option<String>,
) -> Result<ChatMessage, AppError> {
    context::respond(async move {
        let (state, me) = context::logged_in().await?;
        let client_id = match client_id.filter(|c| !c.is_empty()) {
            Some(raw) => Some(raw.parse().map_err(|_| {
                AppError::unprocessable(ErrorCode::InvalidClientId, "client_id must be a UUID")
            })?),
            None => None,
        };
        svc::send_message(&state, &me, to, &message, client_id)
            .await
            .map(|stored| stored.message)
    })
    .await
}

/// What the search page shows: the words searched for, and the caller's messages that have them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Search {
    pub me: User,
    pub query: String,
    pub hits: Vec<SearchHit>,
}

/// Searches the caller's own conversations; an empty query finds nothing (and is no error here:
/// the page just shows its form).
#[server(prefix = "/_app", endpoint = "search")]
pub async fn search_chats(query: String) -> Result<Search, AppError> {
    context::respond(async move {
        let (state, me) = context::logged_in().await?;
        let hits = if query.trim().is_empty() {
            Vec::new()
        } else {
            svc::search_messages(&state, &me, &query).await?
        };
        Ok(Search { me, query, hits })
    })
    .await
}

/// Unread messages across all the caller's conversations.
#[server(prefix = "/_app", endpoint = "unread")]
pub async fn load_unread_total() -> Result<i64, AppError> {
    context::respond(async move {
        let (state, me) = context::logged_in().await?;
        svc::unread_total(&state, &me).await
    })
    .await
}

/// Edits one of my messages (the conversation page's editor). Both people's tabs hear of it over
/// the realtime link, this one included.
#[server(prefix = "/_app", endpoint = "edit")]
pub async fn edit_chat(peer: UserId, id: i64, message: String) -> Result<ChatMessage, AppError> {
    context::respond(async move {
        let (state, me) = context::logged_in().await?;
        svc::edit_message(&state, &me, Some(peer), id, &message).await
    })
    .await
}

/// Deletes one of my messages for both people.
#[server(prefix = "/_app", endpoint = "delete")]
pub async fn delete_chat(peer: UserId, id: i64) -> Result<ChatMessage, AppError> {
    context::respond(async move {
        let (state, me) = context::logged_in().await?;
        svc::delete_message(&state, &me, Some(peer), id).await
    })
    .await
}
