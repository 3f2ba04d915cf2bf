use super::{ChatMessage, DisplayName, Username};
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
    /// The name they chose to be shown by, if any.
    #[serde(default)]
    pub display_name: Option<DisplayName>,
    /// The account was deleted: others see "Deleted account" and never its names.
    #[serde(default)]
    pub deleted: bool,
}

impl User {
    /// What a deleted account is called wherever a person's name would be.
    pub const DELETED_LABEL: &'static str = "Deleted account";

    /// How the person is named to others: "Deleted account", else their display name, else
    /// their username.
    pub fn shown_name(&self) -> String {
        if self.deleted {
            Self::DELETED_LABEL.to_owned()
        } else if let Some(name) = &self.display_name {
            name.to_string()
        } else {
            self.username.to_string()
        }
    }

    /// The username to show beside `shown_name`, where it tells people apart: whenever a display
    /// name is shown (two people may choose the same one, and nobody can choose another's
    /// username).
    pub fn username_beside(&self) -> Option<&Username> {
        (!self.deleted && self.display_name.is_some()).then_some(&self.username)
    }
}

/// One line of the inbox: who the conversation is with and its latest message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub peer: User,
    pub last_message: ChatMessage,
    /// Messages from the peer after the caller's read pointer.
    pub unread: i64,
}
