//! What two people are to each other, as far as privacy goes: whether each has written in their
//! conversation, and whether either has blocked the other.

use super::{rfc3339_millis, User};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Someone I have blocked, and since when (the "Blocked people" list).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedUser {
    pub user: User,
    #[serde(with = "rfc3339_millis")]
    pub since: DateTime<Utc>,
}

/// The relation between `me` and a `peer`, seen from `me`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relation {
    pub i_wrote: bool,
    pub peer_wrote: bool,
    pub i_blocked: bool,
    pub peer_blocked: bool,
    /// The peer's account was deleted: nobody can write to it any more.
    pub peer_deleted: bool,
}

/// Why a message may not be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendRefusal {
    /// I blocked the peer: unblock them to write.
    IBlocked,
    /// The peer blocked me. Said as no more than "you can't message this person".
    PeerBlocked,
    /// The peer's account was deleted.
    PeerDeleted,
}

impl Relation {
    /// Both have written in the conversation: a conversation, not one person's unanswered message.
    pub fn is_mutual(self) -> bool {
        self.i_wrote && self.peer_wrote
    }

    /// Either has written to the other: there is a conversation between them.
    pub fn has_conversation(self) -> bool {
        self.i_wrote || self.peer_wrote
    }

    pub fn is_blocked(self) -> bool {
        self.i_blocked || self.peer_blocked
    }

    /// Whether presence, typing and read receipts may flow between the two. Never for an
    /// unanswered message (it would tell a stranger when the receiver is online or has read it),
    /// never across a block.
    pub fn shares_activity(self) -> bool {
        self.is_mutual() && !self.is_blocked()
    }

    /// Whether I may send the peer a message.
    pub fn may_send(self) -> Result<(), SendRefusal> {
        if self.peer_deleted {
            return Err(SendRefusal::PeerDeleted);
        }
        match (self.i_blocked, self.peer_blocked) {
            (true, _) => Err(SendRefusal::IBlocked),
            (false, true) => Err(SendRefusal::PeerBlocked),
            (false, false) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_flows_only_between_two_who_both_wrote_and_blocked_nobody() {
        let both = Relation {
            i_wrote: true,
            peer_wrote: true,
            ..Relation::default()
        };
        assert!(both.shares_activity());
        let unanswered = Relation {
            i_wrote: true,
            ..Relation::default()
        };
        assert!(!unanswered.shares_activity());
        assert!(!Relation {
            peer_blocked: true,
            ..both
        }
        .shares_activity());
        assert!(!Relation {
            i_blocked: true,
            ..both
        }
        .shares_activity());
    }

    #[test]
    fn a_block_either_way_stops_sending_and_says_which() {
        assert_eq!(Relation::default().may_send(), Ok(()));
        let blocked_by_peer = Relation {
            peer_blocked: true,
            ..Relation::default()
        };
        assert_eq!(blocked_by_peer.may_send(), Err(SendRefusal::PeerBlocked));
        let i_blocked = Relation {
            i_blocked: true,
            peer_blocked: true,
            ..Relation::default()
        };
        assert_eq!(i_blocked.may_send(), Err(SendRefusal::IBlocked));
    }
}
