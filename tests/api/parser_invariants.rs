//! What the input parsers promise for any input at all, stated once and checked two ways: by the
//! property tests (`parser_properties.rs`, bounded, in `make test`) and by the fuzz target
//! (`fuzz/fuzz_targets/client_frame.rs`, open-ended), which includes this file by path. Each check
//! panics on a broken promise, which is how both proptest and libFuzzer recognise a failure.
//!
//! The expected outcomes are computed here from the documented rules, independently of the
//! parsers' own code (only `serde_json` is shared), so that a bug in a parser shows up as a
//! disagreement rather than being copied into its oracle.
//!
//! Only `parley` (built without features) and `serde_json` may be used here: the fuzz crate has
//! nothing else.

use parley::domain::{ClientId, MessageText, MessageTextError, Password, Username, UsernameError};
use parley::protocol::{parse_client_frame, ClientFrame};
use serde_json::Value;

/// The codes `parse_client_frame` itself may refuse with (docs/PROTOCOL.md, "Error codes").
const PARSER_CODES: &[&str] = &["malformed_json", "invalid_frame", "unknown_type"];

/// The invisible characters the issue names. Deliberately a short, separate list: it is a subset
/// of what the parser treats as invisible, so "accepted ⇒ something other than these" still holds.
const NAMED_INVISIBLES: &[char] = &['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'];

/// Everything at once, on bytes as a fuzzer produces them.
pub fn check_everything(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    // The first byte varies the length limit, so that the limit's edge is reached as well.
    let max_chars = data.first().map_or(1, |&b| usize::from(b % 64) + 1);
    check_client_frame(&text, max_chars);
    check_message_text(&text, max_chars);
    check_username(&text);
    check_password(&text);
}

/// A frame is either refused with a documented code (echoing a string `client_id` when the frame
/// had one), or parsed into exactly what it said, and re-encoding it gives the same frame back.
pub fn check_client_frame(text: &str, max_chars: usize) {
    let value: Option<Value> = serde_json::from_str(text).ok();
    match parse_client_frame(text) {
        Ok(frame) => {
            let value = value.expect("an accepted frame is JSON");
            check_fields_match(&frame, &value);
            let encoded = serde_json::to_string(&frame).expect("a frame encodes");
            assert_eq!(
                parse_client_frame(&encoded),
                Ok(frame.clone()),
                "re-encoded as {encoded}"
            );
            if let ClientFrame::Message { message, .. } = &frame {
                // What the JSON escapes decode to is where the hostile text really arrives.
                check_message_text(message, max_chars);
            }
        }
        Err(refusal) => {
            assert!(
                PARSER_CODES.contains(&refusal.code.as_str()),
                "undocumented code {:?} for {text:?}",
                refusal.code
            );
            assert!(!refusal.message.is_empty(), "a refusal says why");
            let echoed = value
                .as_ref()
                .and_then(|v| v.get("client_id"))
                .and_then(Value::as_str);
            assert_eq!(refusal.client_id.as_deref(), echoed, "{text:?}");
        }
    }
}

/// The parsed frame holds the values the JSON object had, under the documented field names.
fn check_fields_match(frame: &ClientFrame, value: &Value) {
    let field = |name: &str| value.get(name).cloned().unwrap_or(Value::Null);
    let (kind, fields) = match frame {
        ClientFrame::Message {
            to,
            message,
            client_id,
        } => (
            "message",
            vec![
                ("to", Value::from(to.get())),
                ("message", Value::from(message.as_str())),
                (
                    "client_id",
                    client_id.map_or(Value::Null, |id| id.to_string().into()),
                ),
            ],
        ),
        ClientFrame::Typing { to } => ("typing", vec![("to", Value::from(to.get()))]),
        ClientFrame::Read { with, up_to } => (
            "read",
            vec![
                ("with", Value::from(with.get())),
                ("up_to", Value::from(*up_to)),
            ],
        ),
        ClientFrame::Edit { id, message } => (
            "edit",
            vec![
                ("id", Value::from(*id)),
                ("message", Value::from(message.as_str())),
            ],
        ),
        ClientFrame::Delete { id } => ("delete", vec![("id", Value::from(*id))]),
    };
    assert_eq!(field("type"), kind, "{value}");
    for (name, parsed) in fields {
        let given = field(name);
        // A UUID may be spelled in several ways (case, braces, a urn: prefix); compare its value.
        if let ("client_id", Some(given), Some(parsed)) = (name, given.as_str(), parsed.as_str()) {
            assert_eq!(
                ClientId::try_parse(given).ok(),
                ClientId::try_parse(parsed).ok(),
                "{name} of {value}"
            );
        } else {
            assert_eq!(given, parsed, "{name} of {value}");
        }
    }
}

/// Accepted text has no control character but tab and line feed, something visible, at most
/// `max_chars` characters, and is the input with line breaks normalised and white space trimmed,
/// nothing more. Refusals carry the right reason.
pub fn check_message_text(raw: &str, max_chars: usize) {
    let normalised = raw.replace("\r\n", "\n").replace('\r', "\n");
    let first_control = normalised.chars().find(|&c| is_forbidden_control(c));
    let expected_text = normalised.trim_matches(is_white_space);
    match MessageText::parse(raw, max_chars) {
        Ok(text) => {
            let text = text.as_str();
            assert_eq!(
                first_control, None,
                "a control character was accepted: {raw:?}"
            );
            assert_eq!(text, expected_text, "stored text differs from {raw:?}");
            assert!(
                text.chars()
                    .any(|c| !is_white_space(c) && !NAMED_INVISIBLES.contains(&c)),
                "a blank message was accepted: {raw:?}"
            );
            assert!(text.chars().count() <= max_chars, "over the limit: {raw:?}");
        }
        Err(MessageTextError::ControlCharacter { code_point }) => {
            assert_eq!(first_control.map(u32::from), Some(code_point), "{raw:?}");
        }
        Err(MessageTextError::Empty) => {
            assert_eq!(first_control, None, "{raw:?}");
            assert!(
                !normalised.chars().any(is_plainly_visible),
                "visible text refused as empty: {raw:?}"
            );
        }
        Err(MessageTextError::TooLong { max }) => {
            assert_eq!(first_control, None, "{raw:?}");
            assert_eq!(max, max_chars);
            assert!(expected_text.chars().count() > max_chars, "{raw:?}");
        }
    }
}

/// U+0000-U+001F but tab and line feed, U+007F and U+0080-U+009F.
fn is_forbidden_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}'..='\u{1F}' | '\u{7F}'..='\u{9F}')
}

/// Unicode White_Space, written out (PropList.txt), so that the oracle does not rely on `trim`.
fn is_white_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{D}'
            | ' '
            | '\u{85}'
            | '\u{A0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200A}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202F}'
            | '\u{205F}'
            | '\u{3000}'
    )
}

/// Characters nobody would call invisible: printable ASCII, Latin letters, CJK, emoji.
fn is_plainly_visible(c: char) -> bool {
    c.is_ascii_graphic()
        || matches!(c, 'À'..='ɏ' | '\u{4E00}'..='\u{9FFF}' | '\u{1F300}'..='\u{1FAFF}')
}

/// Accepted exactly when the trimmed, lower-cased input is 3 to 32 characters of
/// `a-z 0-9 _ . -`, and then it is that lower-cased input. A refusal says which rule: the length
/// one whenever the character count is out of range, whatever the characters.
pub fn check_username(raw: &str) {
    let lowered = raw.trim_matches(is_white_space).to_ascii_lowercase();
    let right_length = (3..=32).contains(&lowered.chars().count());
    let right_characters = lowered
        .chars()
        .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '.' | '-'));
    match Username::parse(raw) {
        Ok(name) => {
            assert!(right_length && right_characters, "accepted {raw:?}");
            assert_eq!(name.as_str(), lowered);
            let json = serde_json::to_string(&name).expect("a username encodes");
            assert_eq!(serde_json::from_str::<Username>(&json).ok(), Some(name));
        }
        Err(UsernameError::Length) => assert!(!right_length, "length refused for {raw:?}"),
        Err(UsernameError::Characters) => {
            assert!(
                right_length && !right_characters,
                "characters refused for {raw:?}"
            )
        }
        Err(UsernameError::Reserved) => panic!("only names for new accounts are reserved: {raw:?}"),
    }
}

/// Accepted exactly when it is 8 to 1024 bytes, kept byte for byte, and never shown by `Debug`.
pub fn check_password(raw: &str) {
    let in_bounds = (8..=1024).contains(&raw.len());
    match Password::parse(raw.to_owned()) {
        Ok(password) => {
            assert!(in_bounds, "accepted {} bytes", raw.len());
            assert_eq!(password.expose(), raw);
            let shown = format!("{password:?}");
            // A password that happens to be a piece of the redaction text is "shown" trivially.
            assert!(!shown.contains(raw) || "Password(<redacted>)".contains(raw));
        }
        Err(_) => assert!(!in_bounds, "refused {} bytes", raw.len()),
    }
}
