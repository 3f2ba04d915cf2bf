use crate::domain::{ChatMessage, ConversationSummary, User, UserId};
use crate::error::AppError;
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
}

/// Everything the conversation page shows on first render.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Conversation {
    pub me: User,
    pub peer: User,
    pub messages: Vec<ChatMessage>,
    pub has_more: bool,
}

/// A page of older messages.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OlderMessages {
    pub messages: Vec<ChatMessage>,
    pub has_more: bool,
}

#[server(prefix = "/_app", endpoint = "inbox")]
pub async fn load_inbox(query: String) -> Result<Inbox, AppError> {
    let (state, me) = context::logged_in().await?;
    let conversations = svc::conversations(&state, &me).await?;
    let people = svc::find_people(&state, &me, &query).await?;
    Ok(Inbox {
        me,
        conversations,
        query,
        people,
    })
}

#[server(prefix = "/_app", endpoint = "conversation")]
pub async fn load_conversation(peer: String) -> Result<Conversation, AppError> {
    let (state, me) = context::logged_in().await?;
    let peer = svc::peer_by_name(&state, &peer).await?;
    let page = svc::history(&state, &me, peer.id, None, None).await?;
    Ok(Conversation {
        me,
        peer,
        messages: page.messages,
        has_more: page.has_more,
    })
}

#[server(prefix = "/_app", endpoint = "older")]
pub async fn load_older(peer: UserId, before: i64) -> Result<OlderMessages, AppError> {
    let (state, me) = context::logged_in().await?;
    let page = svc::history(&state, &me, peer, Some(before), None).await?;
    Ok(OlderMessages {
        messages: page.messages,
        has_more: page.has_more,
    })
}

/// Sends over HTTP: the composer's path without JavaScript, or when the socket is down.
/// Delivery to both rooms happens inside, exactly as for a WebSocket send.
#[server(prefix = "/_app", endpoint = "send")]
pub async fn send_chat(
    to: UserId,
    message: String,
    client_id: Option<String>,
) -> Result<ChatMessage, AppError> {
    let (state, me) = context::logged_in().await?;
    let client_id = match client_id.filter(|c| !c.is_empty()) {
        Some(raw) => Some(raw.parse().map_err(|_| {
            AppError::unprocessable("invalid_client_id", "client_id must be a UUID")
        })?),
        None => None,
    };
    svc::send_message(&state, &me, to, &message, client_id).await
}
