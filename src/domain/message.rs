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
        };
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["date"], "2023-11-14T22:13:20.000Z");
        assert_eq!(json["sender"], 1);
    }
}
