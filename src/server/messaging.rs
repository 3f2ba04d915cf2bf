//! Messaging services: parse → store → publish. Both ways of sending (a WebSocket frame and
//! `POST /api/conversations/{peer}/messages`) and every history read go through here.

use super::realtime::encode_frame;
use super::state::AppState;
use super::store::{ChatStore, HistoryPage, NewMessage, PageEnd, StoreError};
use crate::domain::{
    ChatMessage, ClientId, ConversationSummary, MessageText, RoomId, User, UserId,
};
use crate::error::AppError;
use crate::protocol::ServerFrame;
use chrono::Utc;

/// Messages per history page when the caller does not say.
pub const DEFAULT_PAGE: u32 = 50;
/// The most messages one history request may ask for.
pub const MAX_PAGE: u32 = 200;

pub fn unknown_peer() -> AppError {
    AppError::not_found("no such user")
}

/// Stores a message from `sender` to `to`, and only once it is committed, emits it to the
/// receiver's room and to the sender's own room (once when they are the same person).
#[tracing::instrument(name = "send message", skip(state, sender, raw_text), fields(sender = %sender.id, to = %to))]
pub async fn send_message(
    state: &AppState,
    sender: &User,
    to: UserId,
    raw_text: &str,
    client_id: Option<ClientId>,
) -> Result<ChatMessage, AppError> {
    let text = MessageText::parse(raw_text, state.config.max_message_chars)
        .map_err(|e| AppError::unprocessable(e.code(), e.to_string()))?;
    let new = NewMessage {
        sender: sender.id,
        receiver: to,
        text: text.as_str(),
        date: Utc::now(),
        client_id,
    };
    let stored = match state.store.insert_message(new).await {
        Ok(m) => m,
        // The foreign key is the existence check: no separate read, no race with a deletion.
        Err(StoreError::MissingReference) => return Err(unknown_peer()),
        Err(e) => return Err(AppError::internal(e)),
    };
    deliver_to_rooms(state, &stored);
    Ok(stored)
}

/// The dual emit: one encoded frame, shared by every connection of both people.
fn deliver_to_rooms(state: &AppState, message: &ChatMessage) {
    let frame = encode_frame(&ServerFrame::Message {
        message: message.clone(),
    });
    state
        .hub
        .publish(&RoomId::for_user(message.receiver), &frame);
    if message.sender != message.receiver {
        state.hub.publish(&RoomId::for_user(message.sender), &frame);
    }
}

/// Resolves a conversation partner by id; unknown ids are 404.
pub async fn peer_by_id(state: &AppState, id: UserId) -> Result<User, AppError> {
    state
        .store
        .user_by_id(id)
        .await
        .map_err(AppError::internal)?
        .ok_or_else(unknown_peer)
}

/// Resolves a conversation partner by username (case-insensitive); unknown names are 404.
pub async fn peer_by_name(state: &AppState, name: &str) -> Result<User, AppError> {
    let lowered = name.to_ascii_lowercase();
    state
        .store
        .user_by_name(&lowered)
        .await
        .map_err(AppError::internal)?
        .ok_or_else(unknown_peer)
}

/// A page of the conversation between `me` and `peer`. Only ever a conversation `me` is in:
/// the pair is built from the caller's own id, so no request can name someone else's.
pub async fn history(
    state: &AppState,
    me: &User,
    peer: UserId,
    before: Option<i64>,
    limit: Option<u32>,
) -> Result<HistoryPage, AppError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::unprocessable(
            "invalid_limit",
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    peer_by_id(state, peer).await?;
    state
        .store
        .history(
            me.id,
            peer,
            before.map_or(PageEnd::Latest, PageEnd::Before),
            limit,
        )
        .await
        .map_err(AppError::internal)
}

pub async fn conversations(
    state: &AppState,
    me: &User,
) -> Result<Vec<ConversationSummary>, AppError> {
    state
        .store
        .conversations(me.id)
        .await
        .map_err(AppError::internal)
}

/// People to start a conversation with: names starting with `query`, never the caller.
pub async fn find_people(state: &AppState, me: &User, query: &str) -> Result<Vec<User>, AppError> {
    let query = query.trim().to_ascii_lowercase();
    if query.is_empty() {
        return Ok(Vec::new());
    }
    state
        .store
        .search_users(&query, me.id, 20)
        .await
        .map_err(AppError::internal)
}
