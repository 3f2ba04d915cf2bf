use super::{ChatMessage, Username};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A user's database id. Room names and conversation keys are derived from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(i64);

impl UserId {
    pub const fn new(id: i64) -> Self {
        Self(id)
    }

    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What anyone may learn about an account. Never carries a password hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub is_admin: bool,
}

/// One line of the inbox: who the conversation is with and its latest message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub peer: User,
    pub last_message: ChatMessage,
    /// Messages from the peer after the caller's read pointer.
    pub unread: i64,
}
