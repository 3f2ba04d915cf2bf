//! Messaging services: parse → store → publish. Both ways of sending (a WebSocket frame and
//! `POST /api/conversations/{peer}/messages`) and every history read go through here.

use super::realtime::{outbound, Outbound};
use super::state::AppState;
use super::store::{
    AccountStore, HistoryPage, MessageStore, NewMessage, PageEnd, StoreError, Stored,
};
use crate::domain::{
    BlockedUser, ClientId, ConversationSummary, MessageText, Relation, RoomId, SendRefusal, User,
    UserId,
};
use crate::error::AppError;
use crate::protocol::ServerFrame;
use std::time::Instant;

/// Messages per history page when the caller does not say.
pub const DEFAULT_PAGE: u32 = 50;
/// The most messages one history request may ask for.
pub const MAX_PAGE: u32 = 200;

pub fn unknown_peer() -> AppError {
    AppError::not_found("no such user")
}

/// Stores a message from `sender` to `to`. Once it is committed, the store's writer emits it to
/// the receiver's room and to the sender's own room (`realtime::deliver_committed`), in commit
/// order. A retried `client_id` stores and emits nothing and returns the original (`is_new: false`).
#[tracing::instrument(name = "send message", skip(state, sender, raw_text), fields(sender = %sender.id, to = %to))]
pub async fn send_message(
    state: &AppState,
    sender: &User,
    to: UserId,
    raw_text: &str,
    client_id: Option<ClientId>,
) -> Result<Stored, AppError> {
    // Before anything else: a flood of invalid sends is still a flood.
    state.limits.take_send(sender.id)?;
    let text = MessageText::parse(raw_text, state.config.max_message_chars)
        .map_err(|e| AppError::unprocessable(e.code(), e.to_string()))?;
    let before = if to == sender.id {
        Relation::default()
    } else {
        relation(state, sender.id, to).await?
    };
    before.may_send().map_err(refused)?;
    let new = NewMessage {
        sender: sender.id,
        receiver: to,
        text: text.as_str(),
        client_id,
    };
    let stored = match state.store.insert_message(new).await {
        Ok(stored) => stored,
        // The foreign key is the existence check: no separate read, no race with a deletion.
        Err(StoreError::MissingReference) => return Err(unknown_peer()),
        Err(e) => return Err(AppError::internal(e)),
    };
    // This message may be the one that makes it a conversation (both have now written): from
    // this moment the two see each other's presence, without reconnecting. Looked at again after
    // the insert, so two first messages crossing each other are not missed.
    if stored.is_new
        && to != sender.id
        && !before.shares_activity()
        && relation(state, sender.id, to).await?.shares_activity()
    {
        show_presence_to_each_other(state, sender.id, to);
    }
    Ok(stored)
}

/// Why a send was refused, as the sender may hear it.
fn refused(why: SendRefusal) -> AppError {
    match why {
        SendRefusal::IBlocked => AppError::forbidden(
            "blocked",
            "you have blocked this person; unblock them to write",
        ),
        // Nothing more: not whether, when or why.
        SendRefusal::PeerBlocked => AppError::forbidden("blocked", "you can't message this person"),
    }
}

/// What `me` and `peer` are to each other: from memory when both are known to have written (the
/// common case on the send path), else from the store. A block counts if either says so.
async fn relation(state: &AppState, me: UserId, peer: UserId) -> Result<Relation, AppError> {
    let (i_blocked, peer_blocked) = state.relations.blocks_between(me, peer);
    if state.relations.known_mutual(me, peer) {
        return Ok(Relation {
            i_wrote: true,
            peer_wrote: true,
            i_blocked,
            peer_blocked,
        });
    }
    let stored = state
        .store
        .relation(me, peer)
        .await
        .map_err(AppError::internal)?;
    if stored.is_mutual() {
        state.relations.remember_mutual(me, peer);
    }
    Ok(Relation {
        i_blocked: i_blocked || stored.i_blocked,
        peer_blocked: peer_blocked || stored.peer_blocked,
        ..stored
    })
}

fn presence_of(state: &AppState, user: UserId) -> Outbound {
    outbound(&ServerFrame::PresenceUpdate {
        user_id: user,
        online: state.hub.members(&RoomId::for_user(user)) > 0,
    })
}

/// Tells `a` whether `b` is online now, and `b` whether `a` is.
fn show_presence_to_each_other(state: &AppState, a: UserId, b: UserId) {
    state
        .hub
        .publish(&RoomId::for_user(a), &presence_of(state, b));
    state
        .hub
        .publish(&RoomId::for_user(b), &presence_of(state, a));
}

/// Shows `a` and `b` to each other as offline (after a block: they see no presence).
fn hide_presence_from_each_other(state: &AppState, a: UserId, b: UserId) {
    for (to, of) in [(a, b), (b, a)] {
        let offline = outbound(&ServerFrame::PresenceUpdate {
            user_id: of,
            online: false,
        });
        state.hub.publish(&RoomId::for_user(to), &offline);
    }
}

/// `me` blocks `target`: no messages either way, no presence, typing or receipts, and the
/// conversation leaves `me`'s inbox (it is still there when opened).
#[tracing::instrument(name = "block", skip(state, me), fields(me = %me.id))]
pub async fn block(state: &AppState, me: &User, target: UserId) -> Result<(), AppError> {
    if target == me.id {
        return Err(AppError::unprocessable(
            "cannot_block_self",
            "you cannot block yourself",
        ));
    }
    match state.store.block(me.id, target).await {
        Ok(()) => state.relations.blocked(me.id, target),
        Err(StoreError::MissingReference) => return Err(unknown_peer()),
        Err(e) => return Err(AppError::internal(e)),
    }
    hide_presence_from_each_other(state, me.id, target);
    Ok(())
}

/// Lifts `me`'s block of `target` (nothing to lift is fine). If they had a conversation, they see
/// each other again at once.
#[tracing::instrument(name = "unblock", skip(state, me), fields(me = %me.id))]
pub async fn unblock(state: &AppState, me: &User, target: UserId) -> Result<(), AppError> {
    state
        .store
        .unblock(me.id, target)
        .await
        .map_err(AppError::internal)?;
    state.relations.unblocked(me.id, target);
    if target != me.id && relation(state, me.id, target).await?.shares_activity() {
        show_presence_to_each_other(state, me.id, target);
    }
    Ok(())
}

/// Everyone `me` has blocked.
pub async fn blocks(state: &AppState, me: &User) -> Result<Vec<BlockedUser>, AppError> {
    state.store.blocks(me.id).await.map_err(AppError::internal)
}

/// Whether `me` has blocked `peer` (the conversation page shows "Unblock" instead of a composer).
pub async fn have_blocked(state: &AppState, me: &User, peer: UserId) -> Result<bool, AppError> {
    Ok(relation(state, me.id, peer).await?.i_blocked)
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

/// Relays "`from` is typing" to `to`, if the two share activity (both wrote, no block): strangers
/// learn nothing. Typing to someone who has not answered (or across a block) is dropped quietly.
/// At most once per `limits::TYPING_INTERVAL` per pair, whatever the number of sockets; notices
/// in between are dropped without a database read.
pub async fn relay_typing(state: &AppState, from: &User, to: UserId) -> Result<(), AppError> {
    let pair = (from.id, to);
    if state.limits.typing.is_throttled(&pair, Instant::now()) {
        return Ok(());
    }
    if to == from.id {
        return Err(AppError::not_found("no conversation with that user"));
    }
    let relation = relation(state, from.id, to).await?;
    if !relation.has_conversation() {
        return Err(AppError::not_found("no conversation with that user"));
    }
    if !relation.shares_activity() {
        return Ok(());
    }
    // Only a valid pair takes room in the throttle, so invented peers never grow it.
    state.limits.typing.passed(pair, Instant::now());
    state.hub.publish(
        &RoomId::for_user(to),
        &outbound(&ServerFrame::typing(from.id)),
    );
    Ok(())
}

/// Moves `reader`'s read pointer with `with` forward and tells the reader's tabs (they update their
/// unread counts) and, if the two share activity, the peer (who sees "read"). A read that does
/// not move the pointer stores and tells nothing. Returns the pointer when it moved.
pub async fn mark_read(
    state: &AppState,
    reader: &User,
    with: UserId,
    up_to: i64,
) -> Result<Option<i64>, AppError> {
    let relation = relation(state, reader.id, with).await?;
    if !relation.has_conversation() {
        return Err(AppError::not_found("no conversation with that user"));
    }
    let Some(pointer) = state
        .store
        .mark_read(reader.id, with, up_to)
        .await
        .map_err(AppError::internal)?
    else {
        return Ok(None);
    };
    let frame = outbound(&ServerFrame::read(reader.id, with, pointer));
    state.hub.publish(&RoomId::for_user(reader.id), &frame);
    if with != reader.id && relation.shares_activity() {
        state.hub.publish(&RoomId::for_user(with), &frame);
    }
    Ok(Some(pointer))
}

/// The read pointer of `peer` in their conversation with `me` (for "read" marks on my messages).
pub async fn peer_read_pointer(state: &AppState, me: &User, peer: UserId) -> Result<i64, AppError> {
    state
        .store
        .read_pointer(peer, me.id)
        .await
        .map_err(AppError::internal)
}

/// Which of `user`'s activity partners (see `Relation::shares_activity`) are online (have at least
/// one open connection).
pub async fn online_partners(state: &AppState, user: UserId) -> Result<Vec<UserId>, AppError> {
    let partners = state
        .store
        .activity_partners(user)
        .await
        .map_err(AppError::internal)?;
    Ok(partners
        .into_iter()
        .filter(|p| state.hub.members(&RoomId::for_user(*p)) > 0)
        .collect())
}

/// Tells `user`'s activity partners (and only them) that `user` came online or went offline.
pub async fn announce_presence(
    state: &AppState,
    user: UserId,
    online: bool,
) -> Result<(), AppError> {
    let partners = state
        .store
        .activity_partners(user)
        .await
        .map_err(AppError::internal)?;
    let frame = outbound(&ServerFrame::PresenceUpdate {
        user_id: user,
        online,
    });
    for partner in partners {
        state.hub.publish(&RoomId::for_user(partner), &frame);
    }
    Ok(())
}

/// The newest message id across `me`'s conversations: where a page's live link resumes, so that
/// it misses nothing and replays nothing it already shows.
pub async fn latest_message_id(state: &AppState, me: &User) -> Result<i64, AppError> {
    state
        .store
        .latest_message_id(me.id)
        .await
        .map_err(AppError::internal)
}

/// Unread messages across all of `me`'s conversations.
pub async fn unread_total(state: &AppState, me: &User) -> Result<i64, AppError> {
    state
        .store
        .unread_total(me.id)
        .await
        .map_err(AppError::internal)
}
