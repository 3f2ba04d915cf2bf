use super::{rfc3339_millis, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The default limit on a message's length, in characters (Unicode scalar values).
pub const DEFAULT_MAX_MESSAGE_CHARS: usize = 4_000;

/// The text of a chat message: not empty or blank, within the configured length, with
/// surrounding white space removed (inner line breaks are kept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageText(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageTextError {
    #[error("message is empty")]
    Empty,
    #[error("message is longer than {max} characters")]
    TooLong { max: usize },
}

impl MessageTextError {
    /// The stable code clients match on (see docs/PROTOCOL.md).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty_message",
            Self::TooLong { .. } => "message_too_long",
        }
    }
}

impl MessageText {
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, MessageTextError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(MessageTextError::Empty);
        }
        if trimmed.chars().count() > max_chars {
            return Err(MessageTextError::TooLong { max: max_chars });
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The idempotency key a client attaches to a send: a UUID it generated.
pub type ClientId = uuid::Uuid;

/// A stored chat message, exactly as it is in the `chat` table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: i64,
    pub sender: UserId,
    pub receiver: UserId,
    pub message: String,
    #[serde(with = "rfc3339_millis")]
    pub date: DateTime<Utc>,
    pub client_id: Option<ClientId>,
}

impl ChatMessage {
    /// The other participant, seen from `me`.
    pub fn peer_of(&self, me: UserId) -> UserId {
        if self.sender == me {
            self.receiver
        } else {
            self.sender
        }
    }

    pub fn involves(&self, a: UserId, b: UserId) -> bool {
        (self.sender == a && self.receiver == b) || (self.sender == b && self.receiver == a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_empty_and_blank() {
        assert_eq!(MessageText::parse("", 10), Err(MessageTextError::Empty));
        assert_eq!(
            MessageText::parse(" \n\t ", 10),
            Err(MessageTextError::Empty)
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(MessageText::parse(&"é".repeat(10), 10).is_ok());
        assert_eq!(
            MessageText::parse(&"é".repeat(11), 10),
            Err(MessageTextError::TooLong { max: 10 })
        );
    }

    #[test]
    fn trims_edges_and_keeps_inner_newlines() {
        let text = MessageText::parse("\n hello\nworld  \n", 100).unwrap();
        assert_eq!(text.as_str(), "hello\nworld");
    }

    #[test]
    fn serializes_date_with_millis() {
        use chrono::TimeZone;
        let m = ChatMessage {
            id: 1,
            sender: UserId::new(1),
            receiver: UserId::new(2),
            message: "hi".into(),
            date: Utc.timestamp_millis_opt(1_700_000_000_000).unwrap(),
            client_id: None,
        };
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["date"], "2023-11-14T22:13:20.000Z");
        assert_eq!(json["sender"], 1);
    }
}
