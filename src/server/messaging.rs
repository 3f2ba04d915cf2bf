//! Messaging services: parse → check → store → publish events. Both ways of sending (a WebSocket
//! frame and `POST /api/conversations/{peer}/messages`, or the page's server function) and every
//! history read go through here. Services return domain values and publish `events::Event`s; they
//! know nothing of frames, rooms or sockets.

use super::events::Event;
use super::state::AppState;
use super::store::{
    AccountStore, AdminStore, ChangeKind, ConversationList, MessageChange, MessageStore,
    NewMessage, PageEnd, ReadState, Stored,
};
use crate::domain::admin::{search_words, SearchHit};
use crate::domain::{
    BlockedUser, ChatMessage, ClientId, HistoryPage, MessageText, Relation, User, UserId,
};
use crate::error::{AppError, ErrorCode};
use std::time::Instant;

/// Messages per history page when the caller does not say.
pub const DEFAULT_PAGE: u32 = 50;
/// The most messages one history request may ask for.
pub const MAX_PAGE: u32 = 200;

fn no_conversation() -> AppError {
    AppError::not_found("no conversation with that user")
}

/// Stores a message from `sender` to `to`. Once it is committed, the store's writer emits it to
/// the receiver's room and to the sender's own room (`realtime::fanout::deliver_committed`), in
/// commit order. A retried `client_id` stores and emits nothing and returns the original
/// (`is_new: false`).
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
    let text = MessageText::parse(raw_text, state.config.max_message_chars)?;
    let before = if to == sender.id {
        Relation::default()
    } else {
        relation(state, sender.id, to).await?
    };
    before.may_send()?;
    let new = NewMessage {
        sender: sender.id,
        receiver: to,
        text: text.as_str(),
        client_id,
    };
    // The foreign key is the existence check (`MissingReference` is "no such user"): no separate
    // read, no race with a deletion.
    let stored = state.store.insert_message(new).await?;
    // This message may be the one that makes it a conversation (both have now written): from
    // this moment the two see each other's presence, without reconnecting. Looked at again after
    // the insert, so two first messages crossing each other are not missed.
    if stored.is_new
        && to != sender.id
        && !before.shares_activity()
        && relation(state, sender.id, to).await?.shares_activity()
    {
        state.events.publish(Event::PresenceShown {
            a: sender.id,
            b: to,
        });
    }
    Ok(stored)
}

/// Replaces the text of `me`'s message `id` (sent at most `domain::EDIT_WINDOW` ago) and, once the
/// change is committed, tells both people's rooms (`message_edited`), in order with their
/// messages. With `peer`, the message must be in the conversation with them (the HTTP route names
/// it); over the socket the id alone says which. Edits count against the send limit, and like a
/// send, an edit is refused across a block: it would put new words in front of someone who
/// blocked the writer.
#[tracing::instrument(name = "edit message", skip(state, me, raw_text), fields(me = %me.id))]
pub async fn edit_message(
    state: &AppState,
    me: &User,
    peer: Option<UserId>,
    id: i64,
    raw_text: &str,
) -> Result<ChatMessage, AppError> {
    state.limits.take_send(me.id)?;
    let text = MessageText::parse(raw_text, state.config.max_message_chars)?;
    if let Some(peer) = peer.filter(|&peer| peer != me.id) {
        relation(state, me.id, peer).await?.may_send()?;
    }
    let change = MessageChange {
        actor: me.id,
        message_id: id,
        peer,
        kind: ChangeKind::Edit(text.as_str()),
    };
    Ok(state.store.change_message(change).await?.message)
}

/// Deletes `me`'s message `id` for both people: its text is removed from the database, its row
/// (id, date, sender) stays so the conversation keeps its order, and both rooms hear
/// `message_deleted` once it is committed. Allowed at any time, block or not.
#[tracing::instrument(name = "delete message", skip(state, me), fields(me = %me.id))]
pub async fn delete_message(
    state: &AppState,
    me: &User,
    peer: Option<UserId>,
    id: i64,
) -> Result<ChatMessage, AppError> {
    state.limits.take_send(me.id)?;
    let change = MessageChange {
        actor: me.id,
        message_id: id,
        peer,
        kind: ChangeKind::Delete,
    };
    Ok(state.store.change_message(change).await?.message)
}

/// What `me` and `peer` are to each other: from memory when both are known to have written (the
/// common case on the send path), else from the store. A block counts if either says so.
async fn relation(state: &AppState, me: UserId, peer: UserId) -> Result<Relation, AppError> {
    let (i_blocked, peer_blocked) = state.relations.blocks_between(me, peer);
    let peer_deleted = state.relations.is_deleted(peer);
    if state.relations.known_mutual(me, peer) {
        return Ok(Relation {
            i_wrote: true,
            peer_wrote: true,
            i_blocked,
            peer_blocked,
            peer_deleted,
        });
    }
    let stored = state.store.relation(me, peer).await?;
    if stored.is_mutual() {
        state.relations.remember_mutual(me, peer);
    }
    Ok(Relation {
        i_blocked: i_blocked || stored.i_blocked,
        peer_blocked: peer_blocked || stored.peer_blocked,
        peer_deleted,
        ..stored
    })
}

/// `me` blocks `target`: no messages either way, no presence, typing or receipts, and the
/// conversation leaves `me`'s inbox (it is still there when opened).
#[tracing::instrument(name = "block", skip(state, me), fields(me = %me.id))]
pub async fn block(state: &AppState, me: &User, target: UserId) -> Result<(), AppError> {
    if target == me.id {
        return Err(AppError::unprocessable(
            ErrorCode::CannotBlockSelf,
            "you cannot block yourself",
        ));
    }
    state.store.block(me.id, target).await?;
    state.relations.blocked(me.id, target);
    state.events.publish(Event::BlockChanged {
        blocker: me.id,
        blocked: target,
        now_blocked: true,
    });
    state.events.publish(Event::PresenceHidden {
        a: me.id,
        b: target,
    });
    Ok(())
}

/// Lifts `me`'s block of `target` (nothing to lift is fine). If they had a conversation, they see
/// each other again at once.
#[tracing::instrument(name = "unblock", skip(state, me), fields(me = %me.id))]
pub async fn unblock(state: &AppState, me: &User, target: UserId) -> Result<(), AppError> {
    state.store.unblock(me.id, target).await?;
    state.relations.unblocked(me.id, target);
    state.events.publish(Event::BlockChanged {
        blocker: me.id,
        blocked: target,
        now_blocked: false,
    });
    if target != me.id && relation(state, me.id, target).await?.shares_activity() {
        state.events.publish(Event::PresenceShown {
            a: me.id,
            b: target,
        });
    }
    Ok(())
}

/// Everyone `me` has blocked.
#[tracing::instrument(name = "list blocks", skip(state, me), fields(me = %me.id))]
pub async fn blocks(state: &AppState, me: &User) -> Result<Vec<BlockedUser>, AppError> {
    Ok(state.store.blocks(me.id).await?)
}

/// Whether `me` has blocked `peer` (the conversation page shows "Unblock" instead of a composer).
#[tracing::instrument(name = "have blocked", skip(state, me), fields(me = %me.id))]
pub async fn have_blocked(state: &AppState, me: &User, peer: UserId) -> Result<bool, AppError> {
    Ok(relation(state, me.id, peer).await?.i_blocked)
}

/// Resolves a conversation partner by id; unknown ids are 404.
#[tracing::instrument(name = "find peer by id", skip(state))]
pub async fn peer_by_id(state: &AppState, id: UserId) -> Result<User, AppError> {
    state
        .store
        .user_by_id(id)
        .await?
        .ok_or_else(AppError::no_such_user)
}

/// Resolves a conversation partner by username (case-insensitive); unknown names are 404.
#[tracing::instrument(name = "find peer by name", skip(state))]
pub async fn peer_by_name(state: &AppState, name: &str) -> Result<User, AppError> {
    state
        .store
        .user_by_name(&name.to_ascii_lowercase())
        .await?
        .ok_or_else(AppError::no_such_user)
}

/// A page of the conversation between `me` and `peer`. Only ever a conversation `me` is in:
/// the pair is built from the caller's own id, so no request can name someone else's.
#[tracing::instrument(name = "read history", skip(state, me), fields(me = %me.id))]
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
            ErrorCode::InvalidLimit,
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    peer_by_id(state, peer).await?;
    let end = before.map_or(PageEnd::Latest, PageEnd::Before);
    Ok(state.store.history(me.id, peer, end, limit).await?)
}

/// The newest messages of the conversation between `me` and `peer`, as many as it takes (up to
/// `MAX_PAGE`) to include message `at`, so that the page opens at a search hit with the messages
/// after it below it and older pages above. A hit older than that opens the page that ends at it.
/// The caller has found `peer` already (the conversation page, by name), so it is not looked up
/// again.
#[tracing::instrument(name = "read history around", skip(state, me, peer), fields(me = %me.id, peer = %peer.id))]
pub async fn history_around(
    state: &AppState,
    me: &User,
    peer: &User,
    at: Option<i64>,
) -> Result<HistoryPage, AppError> {
    let peer = peer.id;
    let Some(at) = at else {
        return Ok(state
            .store
            .history(me.id, peer, PageEnd::Latest, DEFAULT_PAGE)
            .await?);
    };
    let recent = state
        .store
        .history(me.id, peer, PageEnd::Latest, MAX_PAGE)
        .await?;
    if let Some(position) = recent.messages.iter().position(|m| m.id == at) {
        // A few older ones above the hit, for context; more load on scrolling up.
        let from = position.saturating_sub(10);
        let has_more = recent.has_more || from > 0;
        return Ok(HistoryPage {
            messages: recent.messages[from..].to_vec(),
            has_more,
        });
    }
    Ok(state
        .store
        .history(me.id, peer, PageEnd::Through(at), DEFAULT_PAGE)
        .await?)
}

/// `me`'s conversations with their latest message, newest activity first (blocked peers left
/// out), and the newest message id of them all: where a page's live link resumes, so that it
/// misses nothing and replays nothing it already shows.
#[tracing::instrument(name = "list conversations", skip(state, me), fields(me = %me.id))]
pub async fn conversations(state: &AppState, me: &User) -> Result<ConversationList, AppError> {
    Ok(state.store.conversations(me.id).await?)
}

/// The most hits one search of one's own messages returns.
pub const MAX_SEARCH_HITS: u32 = 50;

/// Messages of `me`'s own conversations (sent or received, never anyone else's) containing every
/// word of `query`, newest first. Deleted messages have no text left, so they never match.
#[tracing::instrument(name = "search own messages", skip(state, me, query), fields(me = %me.id))]
pub async fn search_messages(
    state: &AppState,
    me: &User,
    query: &str,
) -> Result<Vec<SearchHit>, AppError> {
    let words = search_words(query).ok_or_else(AppError::query_required)?;
    Ok(state
        .store
        .search_messages(&words, Some(me.id), MAX_SEARCH_HITS)
        .await?)
}

/// People to start a conversation with: names starting with `query`, never the caller.
#[tracing::instrument(name = "find people", skip(state, me), fields(me = %me.id))]
pub async fn find_people(state: &AppState, me: &User, query: &str) -> Result<Vec<User>, AppError> {
    let query = query.trim().to_ascii_lowercase();
    if query.is_empty() {
        return Ok(Vec::new());
    }
    Ok(state.store.search_users(&query, me.id, 20).await?)
}

/// Relays "`from` is typing" to `to`, if the two share activity (both wrote, no block): strangers
/// learn nothing. Typing to someone who has not answered (or across a block) is dropped quietly.
/// At most once per `limits::TYPING_INTERVAL` per pair, whatever the number of sockets; notices
/// in between are dropped without a database read.
#[tracing::instrument(name = "relay typing", skip(state, from), fields(from = %from.id))]
pub async fn relay_typing(state: &AppState, from: &User, to: UserId) -> Result<(), AppError> {
    let pair = (from.id, to);
    if state.limits.typing.is_throttled(&pair, Instant::now()) {
        return Ok(());
    }
    if to == from.id {
        return Err(no_conversation());
    }
    let relation = relation(state, from.id, to).await?;
    if !relation.has_conversation() {
        return Err(no_conversation());
    }
    if !relation.shares_activity() {
        return Ok(());
    }
    // Only a valid pair takes room in the throttle, so invented peers never grow it.
    state.limits.typing.passed(pair, Instant::now());
    state.events.publish(Event::Typing { from: from.id, to });
    Ok(())
}

/// Moves `reader`'s read pointer with `with` forward and tells the reader's tabs (they update their
/// unread counts) and, if the two share activity, the peer (who sees "read"). A read that does
/// not move the pointer stores and tells nothing. Returns the pointer when it moved.
#[tracing::instrument(name = "mark read", skip(state, reader), fields(reader = %reader.id))]
pub async fn mark_read(
    state: &AppState,
    reader: &User,
    with: UserId,
    up_to: i64,
) -> Result<Option<i64>, AppError> {
    let relation = relation(state, reader.id, with).await?;
    if !relation.has_conversation() {
        return Err(no_conversation());
    }
    let Some(pointer) = state.store.mark_read(reader.id, with, up_to).await? else {
        return Ok(None);
    };
    state.events.publish(Event::Read {
        reader: reader.id,
        with,
        up_to: pointer,
        peer_sees: relation.shares_activity(),
    });
    Ok(Some(pointer))
}

/// Where `me` stands in the conversation with `peer` (both read pointers) and in the account
/// (unread total, newest id): what the conversation page shows beside the messages.
#[tracing::instrument(name = "read state", skip(state, me), fields(me = %me.id))]
pub async fn read_state(state: &AppState, me: &User, peer: UserId) -> Result<ReadState, AppError> {
    Ok(state.store.read_state(me.id, peer).await?)
}

/// Unread messages across all of `me`'s conversations.
#[tracing::instrument(name = "unread total", skip(state, me), fields(me = %me.id))]
pub async fn unread_total(state: &AppState, me: &User) -> Result<i64, AppError> {
    Ok(state.store.unread_total(me.id).await?)
}

/// Everyone `user` shares activity with (see `Relation::shares_activity`): who hears of their
/// presence.
#[tracing::instrument(name = "activity partners", skip(state))]
pub async fn activity_partners(state: &AppState, user: UserId) -> Result<Vec<UserId>, AppError> {
    Ok(state.store.activity_partners(user).await?)
}
