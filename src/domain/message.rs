use super::invisible::is_invisible;
use super::{rfc3339_millis, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// The default limit on a message's length, in characters (Unicode scalar values).
pub const DEFAULT_MAX_MESSAGE_CHARS: usize = 4_000;

/// The text of a chat message: within the configured length, with surrounding white space
/// removed, no control characters but tab and line feed, and something visible in it.
///
/// Line breaks are normalised to "\n" the way HTML does for form values ("\r\n", then any lone
/// "\r"): a browser's textarea, a form post and curl may each send a different one, and a stored
/// "\r" is also a control character that rewrites lines in terminals and log viewers. Nothing else
/// is changed: invisible characters only decide whether a message is blank, so a zero-width
/// joiner inside an emoji sequence is stored as it came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageText(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageTextError {
    #[error("message is empty")]
    Empty,
    #[error("message is longer than {max} characters")]
    TooLong { max: usize },
    #[error("message contains the control character U+{code_point:04X}")]
    ControlCharacter { code_point: u32 },
}

/// How many characters of `raw` count against the length limit: line breaks made plain, the
/// edges trimmed, then Unicode characters (not bytes) counted. The composer counts the same way.
pub fn counted_length(raw: &str) -> usize {
    normalise_line_breaks(raw).trim().chars().count()
}

impl MessageText {
    /// Refuses control characters anywhere, even in the white space that would be trimmed: such
    /// input comes from a broken or hostile client, and saying so beats silently storing less.
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, MessageTextError> {
        let normalised = normalise_line_breaks(raw);
        if let Some(control) = normalised.chars().find(|&c| is_forbidden_control(c)) {
            return Err(MessageTextError::ControlCharacter {
                code_point: control.into(),
            });
        }
        let trimmed = normalised.trim();
        if trimmed
            .chars()
            .all(|c| c.is_whitespace() || is_invisible(c))
        {
            return Err(MessageTextError::Empty);
        }
        if counted_length(trimmed) > max_chars {
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

/// "\r\n" and then any remaining "\r" become "\n" (the WHATWG "normalize newlines" steps).
fn normalise_line_breaks(raw: &str) -> Cow<'_, str> {
    if raw.contains('\r') {
        Cow::Owned(raw.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(raw)
    }
}

/// C0 (U+0000-U+001F), DEL and C1 (U+0080-U+009F), i.e. Unicode's `Cc`, except tab and line feed.
fn is_forbidden_control(c: char) -> bool {
    c.is_control() && c != '\t' && c != '\n'
}

/// The idempotency key a client attaches to a send: a UUID it generated.
pub type ClientId = uuid::Uuid;

/// A page of one conversation, in ascending date order: what the store reads, the services return
/// and both the JSON API and the pages send, as `{"messages": [...], "has_more": bool}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub messages: Vec<ChatMessage>,
    /// Whether older messages exist before the first one of this page.
    pub has_more: bool,
}

/// How long after sending a message its sender may still edit it. Deleting has no window.
pub const EDIT_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// A stored chat message, exactly as it is in the `chat` table.
///
/// On the wire it also says `deleted` (whether `deleted_at` is set), the flag clients test.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "WireMessage")]
pub struct ChatMessage {
    pub id: i64,
    pub sender: UserId,
    pub receiver: UserId,
    /// The current text; empty once the message is deleted (the text is gone from the database).
    pub message: String,
    pub date: DateTime<Utc>,
    pub client_id: Option<ClientId>,
    /// When its sender last changed the text, if ever.
    pub edited_at: Option<DateTime<Utc>>,
    /// When its sender deleted it, if they did.
    pub deleted_at: Option<DateTime<Utc>>,
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

    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// Whether its sender may still edit it at `now` (never once deleted).
    pub fn is_editable_at(&self, now: DateTime<Utc>) -> bool {
        !self.is_deleted() && now - self.date <= EDIT_WINDOW
    }
}

/// The JSON shape of a message (docs/API.md).
#[derive(Serialize, Deserialize)]
struct WireMessage {
    id: i64,
    sender: UserId,
    receiver: UserId,
    message: String,
    #[serde(with = "rfc3339_millis")]
    date: DateTime<Utc>,
    client_id: Option<ClientId>,
    #[serde(default, with = "rfc3339_millis::option")]
    edited_at: Option<DateTime<Utc>>,
    #[serde(default)]
    deleted: bool,
    #[serde(default, with = "rfc3339_millis::option")]
    deleted_at: Option<DateTime<Utc>>,
}

impl From<WireMessage> for ChatMessage {
    fn from(wire: WireMessage) -> Self {
        Self {
            id: wire.id,
            sender: wire.sender,
            receiver: wire.receiver,
            message: wire.message,
            date: wire.date,
            client_id: wire.client_id,
            edited_at: wire.edited_at,
            deleted_at: wire.deleted_at,
        }
    }
}

impl Serialize for ChatMessage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        // By hand rather than through `WireMessage`, so encoding a frame copies no text.
        struct Date<'a>(&'a Option<DateTime<Utc>>);
        impl Serialize for Date<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                rfc3339_millis::option::serialize(self.0, s)
            }
        }
        struct Sent<'a>(&'a DateTime<Utc>);
        impl Serialize for Sent<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                rfc3339_millis::serialize(self.0, s)
            }
        }
        let mut wire = s.serialize_struct("ChatMessage", 9)?;
        wire.serialize_field("id", &self.id)?;
        wire.serialize_field("sender", &self.sender)?;
        wire.serialize_field("receiver", &self.receiver)?;
        wire.serialize_field("message", &self.message)?;
        wire.serialize_field("date", &Sent(&self.date))?;
        wire.serialize_field("client_id", &self.client_id)?;
        wire.serialize_field("edited_at", &Date(&self.edited_at))?;
        wire.serialize_field("deleted", &self.is_deleted())?;
        wire.serialize_field("deleted_at", &Date(&self.deleted_at))?;
        wire.end()
    }
}

/// What happened at one position of the message stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The message was sent (its id is the position).
    Sent,
    /// Its sender changed its text.
    Edited,
    /// Its sender deleted it.
    Deleted,
}

/// One position of the ordered stream every room's chat frames come from. Sending a message,
/// editing one and deleting one each take the next position (from the same counter as message
/// ids), so a reader that has everything up to position N has every message and every change up
/// to N, and a resume after N misses none of them. `message` is the message as stored when the
/// entry was read: a replayed edit of a since-deleted message carries the deletion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamEntry {
    pub position: i64,
    pub change: Change,
    pub message: ChatMessage,
}

impl StreamEntry {
    /// The entry of a newly sent message.
    pub fn sent(message: ChatMessage) -> Self {
        Self {
            position: message.id,
            change: Change::Sent,
            message,
        }
    }
}

/// Why a change to a message was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChangeRefusal {
    /// No such message in any conversation of the one asking (the two are not told apart).
    #[error("no such message")]
    NoSuchMessage,
    #[error("only its sender can change a message")]
    NotYours,
    #[error("a message can only be edited within 15 minutes of sending it")]
    EditWindowPassed,
    #[error("the message was deleted")]
    AlreadyDeleted,
    /// An edit in a conversation where either has blocked the other (deleting is still allowed).
    #[error("you can't edit messages in this conversation")]
    Blocked,
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

    fn control_error(code_point: u32) -> Result<MessageText, MessageTextError> {
        Err(MessageTextError::ControlCharacter { code_point })
    }

    #[test]
    fn refuses_c0_controls_anywhere_as_invalid_text() {
        assert_eq!(MessageText::parse("a\u{0}b", 10), control_error(0));
        assert_eq!(MessageText::parse("a\u{1B}[2Jb", 10), control_error(0x1B));
        assert_eq!(MessageText::parse("\u{7}", 10), control_error(7));
        // Vertical tab and form feed are white space too, but trimming must not hide them.
        assert_eq!(MessageText::parse("hi\u{B}", 10), control_error(0xB));
        assert_eq!(MessageText::parse("\u{C} hi", 10), control_error(0xC));
    }

    #[test]
    fn refuses_del_and_c1_controls() {
        assert_eq!(MessageText::parse("a\u{7F}", 10), control_error(0x7F));
        assert_eq!(MessageText::parse("a\u{80}", 10), control_error(0x80));
        assert_eq!(MessageText::parse("a\u{85}b", 10), control_error(0x85));
        assert_eq!(MessageText::parse("a\u{9B}31m", 10), control_error(0x9B));
        // Just past C1 are ordinary characters: no-break space (white space, so trimmed) and '¡'.
        assert_eq!(
            MessageText::parse("\u{A0}a\u{A1}", 10).unwrap().as_str(),
            "a\u{A1}"
        );
    }

    #[test]
    fn keeps_tab_and_line_feed() {
        let text = MessageText::parse("a\tb\nc", 10).unwrap();
        assert_eq!(text.as_str(), "a\tb\nc");
    }

    #[test]
    fn normalises_carriage_returns_to_line_feeds() {
        let text = MessageText::parse("one\r\ntwo\rthree\r\n\r\n", 100).unwrap();
        assert_eq!(text.as_str(), "one\ntwo\nthree");
        assert_eq!(
            MessageText::parse("\r\n\r", 10),
            Err(MessageTextError::Empty)
        );
    }

    #[test]
    fn refuses_text_of_only_white_space_and_invisible_characters() {
        for blank in [
            "\u{200B}",
            "\u{200B}\u{FEFF} ",
            "\u{200C}\u{200D}\u{2060}",
            " \u{00AD}\n\u{3164}\t\u{FE0F}",
            "\u{E0041}\u{E007F}",
            "\u{3000}\u{2028}\u{00A0}",
        ] {
            assert_eq!(
                MessageText::parse(blank, 100),
                Err(MessageTextError::Empty),
                "{blank:?}"
            );
        }
    }

    #[test]
    fn keeps_invisible_characters_inside_real_text() {
        // Family emoji: man, ZWJ, woman, ZWJ, girl. Splitting it would change what people see.
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
        assert_eq!(MessageText::parse(family, 10).unwrap().as_str(), family);
        // Only white space is trimmed from the edges; invisible characters are not white space.
        assert_eq!(
            MessageText::parse(" \u{200B}hi\u{FEFF} ", 10)
                .unwrap()
                .as_str(),
            "\u{200B}hi\u{FEFF}"
        );
    }

    #[test]
    fn a_control_character_wins_over_an_empty_message() {
        assert_eq!(MessageText::parse("\u{200B}\u{0}", 10), control_error(0));
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
            edited_at: None,
            deleted_at: None,
        };
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["date"], "2023-11-14T22:13:20.000Z");
        assert_eq!(json["sender"], 1);
        assert_eq!(json["edited_at"], serde_json::Value::Null);
        assert_eq!(json["deleted"], false);
        assert_eq!(serde_json::from_value::<ChatMessage>(json).unwrap(), m);
    }

    #[test]
    fn a_changed_message_says_when_and_round_trips() {
        use chrono::TimeZone;
        let sent = Utc.timestamp_millis_opt(1_700_000_000_000).unwrap();
        let mut m = ChatMessage {
            id: 1,
            sender: UserId::new(1),
            receiver: UserId::new(2),
            message: String::new(),
            date: sent,
            client_id: None,
            edited_at: Some(sent + chrono::TimeDelta::seconds(5)),
            deleted_at: Some(sent + chrono::TimeDelta::seconds(9)),
        };
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["edited_at"], "2023-11-14T22:13:25.000Z");
        assert_eq!(json["deleted"], true);
        assert_eq!(json["deleted_at"], "2023-11-14T22:13:29.000Z");
        assert_eq!(serde_json::from_value::<ChatMessage>(json).unwrap(), m);
        assert!(!m.is_editable_at(sent));
        m.deleted_at = None;
        assert!(m.is_editable_at(sent + EDIT_WINDOW));
        assert!(!m.is_editable_at(sent + EDIT_WINDOW + chrono::TimeDelta::milliseconds(1)));
    }
}
