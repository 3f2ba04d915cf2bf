//! What the services tell the connected world, as domain values: "this person is typing to that
//! one", "these two may now see each other's presence", "this account was disabled". Services
//! publish an `Event` and know nothing of rooms, frames or sockets; the realtime layer
//! (`realtime::fanout`) is the one subscriber that turns each event into frames and hub actions.
//!
//! Committed chat messages do not pass through here: the store's writer hands them to the fan-out
//! itself, in commit order (see `store::CommitListener`).

use crate::domain::UserId;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Something connected clients must hear about or act on. Serializable: with several nodes, each
/// event also goes to the others through the broker (`realtime::cluster`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// `from` is typing to `to`.
    Typing { from: UserId, to: UserId },
    /// `reader` has read the conversation with `with` up to message `up_to`. The reader's own
    /// connections always hear it (their unread counts); `with` only when `peer_sees`.
    Read {
        reader: UserId,
        with: UserId,
        up_to: i64,
        peer_sees: bool,
    },
    /// `a` and `b` now share activity: each learns whether the other is online.
    PresenceShown { a: UserId, b: UserId },
    /// `a` and `b` no longer share activity: each sees the other as offline from now on.
    PresenceHidden { a: UserId, b: UserId },
    /// `blocker` blocked `blocked` (`now_blocked`) or lifted that block. Nothing for sockets (the
    /// presence events that go with it say what they see); with several nodes, every other node's
    /// send path must learn of it (`RelationCache`).
    BlockChanged {
        blocker: UserId,
        blocked: UserId,
        now_blocked: bool,
    },
    /// An admin disabled `user`: every connection of the account ends.
    AccountDisabled { user: UserId },
    /// `user` deleted their account (its sessions are already gone): every connection of it ends
    /// with the logout code, and with several nodes every other node's send path learns that
    /// nobody can write to it any more (`RelationCache`).
    AccountDeleted { user: UserId },
    /// `user` logged out of one session: the connections of that session end.
    LoggedOut { user: UserId, session_id: String },
}

/// Where services publish events. Cheap to clone; publishing never blocks or fails.
#[derive(Clone)]
pub struct Events(Arc<dyn Fn(Event) + Send + Sync>);

impl Events {
    pub fn new(subscriber: impl Fn(Event) + Send + Sync + 'static) -> Self {
        Self(Arc::new(subscriber))
    }

    pub fn publish(&self, event: Event) {
        (self.0)(event)
    }
}
