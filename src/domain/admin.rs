//! What the admin console shows. Shared by the admin pages and the admin JSON API.

use super::{rfc3339_millis, ChatMessage, HistoryPage, User};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Rows per page in the admin console's lists.
pub const ADMIN_PAGE: u32 = 50;

/// The words of a search: what an admin typed, split on white space. The store matches messages
/// that contain every word, in whatever query language its backend speaks; no query syntax is
/// accepted from outside. `None` when there is nothing to search for.
pub fn search_words(raw: &str) -> Option<Vec<&str>> {
    let words: Vec<&str> = raw.split_whitespace().collect();
    (!words.is_empty()).then_some(words)
}

/// One audited read of a conversation, as an admin asks for it: the reason form (or an "Older
/// messages" button) posts it to `/admin/chats/{a}/{b}`, and `GET /api/admin/chats/{a}/{b}/messages`
/// takes it as its query. The server provides it as context to the render of that POST and to
/// nothing else, so a GET of the page, a link from anywhere, shows the form and reads nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationRead {
    /// Why the admin opens this conversation: required, and recorded in the audit log.
    #[serde(default)]
    pub reason: String,
    /// The page ends just before this message (paging back).
    #[serde(default)]
    pub before: Option<i64>,
    /// The page ends at this message (a search hit).
    #[serde(default)]
    pub through: Option<i64>,
}

/// What one audited read returns: the two people, and one page of their messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationExcerpt {
    pub user_a: User,
    pub user_b: User,
    #[serde(flatten)]
    pub page: HistoryPage,
}

/// One account as the admin sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub user: User,
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    pub messages_sent: i64,
    /// The later of the last login and the last message sent; `None` if neither happened.
    #[serde(with = "rfc3339_millis::option")]
    pub last_active: Option<DateTime<Utc>>,
    pub disabled: bool,
}

/// One conversation (a pair of users) as the admin sees it, without its content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatSummary {
    /// The pair, lower id first.
    pub user_a: User,
    pub user_b: User,
    pub messages: i64,
    #[serde(with = "rfc3339_millis")]
    pub last_activity: DateTime<Utc>,
}

/// A message found by the admin search, with both names so a hit can be read on its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub message: ChatMessage,
    pub sender: User,
    pub receiver: User,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    ViewConversation,
    Search,
    DisableUser,
    EnableUser,
    CreateResetLink,
    /// The retention policy removed old messages (made by the server itself, no admin).
    RetentionRun,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ViewConversation => "view_conversation",
            Self::Search => "search",
            Self::DisableUser => "disable_user",
            Self::EnableUser => "enable_user",
            Self::CreateResetLink => "create_reset_link",
            Self::RetentionRun => "retention_run",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::ViewConversation,
            Self::Search,
            Self::DisableUser,
            Self::EnableUser,
            Self::CreateResetLink,
            Self::RetentionRun,
        ]
        .into_iter()
        .find(|a| a.as_str() == raw)
    }
}

/// The retention policy (`PARLEY_RETENTION_DAYS`) and its latest run, for the admin console.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Retention {
    /// Messages older than this many days are removed; `None`: kept forever.
    pub days: Option<u32>,
    /// The audit log's latest `retention_run`, if any.
    pub last_run: Option<AuditEntry>,
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// Who did it; `None` for what the server did on its own (`retention_run`).
    pub admin: Option<User>,
    pub action: AuditAction,
    pub user_a: Option<User>,
    pub user_b: Option<User>,
    /// The search query, for `search`; what was removed, for `retention_run`.
    pub detail: Option<String>,
    /// The reason given, for `view_conversation`.
    pub reason: Option<String>,
    #[serde(with = "rfc3339_millis")]
    pub date: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_words_are_what_was_typed_between_spaces() {
        assert_eq!(
            search_words(" zebra  Parcel\t"),
            Some(vec!["zebra", "Parcel"])
        );
        assert_eq!(search_words("   "), None);
    }

    #[test]
    fn audit_actions_round_trip() {
        for action in [
            AuditAction::ViewConversation,
            AuditAction::Search,
            AuditAction::DisableUser,
            AuditAction::EnableUser,
        ] {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(AuditAction::parse("delete_everything"), None);
    }
}
