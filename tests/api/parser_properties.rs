//! Property tests of the input parsers: the client-frame parser and the domain parsers, fed
//! arbitrary strings, arbitrary JSON, and valid frames with random damage. The promises checked
//! are in `parser_invariants.rs`; the generators here lean towards the characters and shapes
//! that matter (controls, invisibles, white space, JSON punctuation, the frame's own field names),
//! because uniformly random text almost never reaches the interesting cases.
//!
//! The case counts are bounded so that all of this takes seconds in `make test`; `PROPTEST_CASES`
//! raises them, and the fuzz target (docs/DEVELOPMENT.md) runs the same checks for as long as you like.

use crate::parser_invariants::{
    check_client_frame, check_everything, check_message_text, check_password, check_username,
};
use parley::domain::{ClientId, UserId};
use parley::protocol::{parse_client_frame, ClientFrame};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

/// Cases per property; `PROPTEST_CASES=100000` asks for a longer run (docs/DEVELOPMENT.md).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(512)
}

/// Characters a hostile or broken client might send, in rough proportion to their interest.
fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => select(vec!['a', 'Z', '7', '_', '.', '-', 'é', '中', '😀', '\u{1F468}']),
        2 => select(vec![' ', '\t', '\n', '\r', '\u{A0}', '\u{3000}', '\u{2028}', '\u{85}', '\u{B}']),
        2 => select(vec!['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{AD}', '\u{3164}', '\u{FE0F}', '\u{E0041}']),
        2 => select(vec!['\u{0}', '\u{1}', '\u{7}', '\u{1B}', '\u{1F}', '\u{7F}', '\u{80}', '\u{9B}', '\u{9F}']),
        1 => any::<char>(),
    ]
}

fn hostile_text(max_len: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(hostile_char(), 0..max_len).prop_map(|chars| chars.into_iter().collect())
}

fn frame_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(vec!["type", "to", "message", "client_id", "with", "up_to", "id"]).prop_map(String::from),
        1 => any::<String>(),
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3_i64..50).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        select(vec![
            "message", "typing", "read", "edit", "delete", "dance", ""
        ])
        .prop_map(Value::from),
        any::<u128>().prop_map(|n| Value::from(ClientId::from_u128(n).to_string())),
        hostile_text(12).prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((frame_key(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// A frame a correct client could send.
fn valid_frame() -> impl Strategy<Value = ClientFrame> {
    let user = || any::<i64>().prop_map(UserId::new);
    prop_oneof![
        (
            user(),
            hostile_text(20),
            proptest::option::of(any::<u128>().prop_map(ClientId::from_u128))
        )
            .prop_map(|(to, message, client_id)| ClientFrame::Message {
                to,
                message,
                client_id
            }),
        user().prop_map(|to| ClientFrame::Typing { to }),
        (user(), any::<i64>()).prop_map(|(with, up_to)| ClientFrame::Read { with, up_to }),
        (any::<i64>(), hostile_text(20))
            .prop_map(|(id, message)| ClientFrame::Edit { id, message }),
        any::<i64>().prop_map(|id| ClientFrame::Delete { id }),
    ]
}

/// One small edit to a text: insert, remove or replace a character, or cut the rest off.
#[derive(Clone, Debug)]
enum Damage {
    Insert(usize, char),
    Remove(usize),
    Replace(usize, char),
    Truncate(usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    let json_char = || {
        prop_oneof![
            select(vec![
                '{', '}', '[', ']', '"', ':', ',', '\\', '0', '-', 'e', '.', 'u', 'n'
            ]),
            hostile_char(),
        ]
    };
    prop_oneof![
        (any::<usize>(), json_char()).prop_map(|(at, c)| Damage::Insert(at, c)),
        any::<usize>().prop_map(Damage::Remove),
        (any::<usize>(), json_char()).prop_map(|(at, c)| Damage::Replace(at, c)),
        any::<usize>().prop_map(Damage::Truncate),
    ]
}

fn apply(text: &str, damages: &[Damage]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for damage in damages {
        let within = |at: usize, len: usize| at % len.max(1);
        match *damage {
            Damage::Insert(at, c) => chars.insert(at % (chars.len() + 1), c),
            Damage::Remove(at) if !chars.is_empty() => {
                chars.remove(within(at, chars.len()));
            }
            Damage::Replace(at, c) if !chars.is_empty() => {
                let at = within(at, chars.len());
                chars[at] = c;
            }
            Damage::Truncate(at) => chars.truncate(at % (chars.len() + 1)),
            Damage::Remove(_) | Damage::Replace(..) => {}
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn client_frames_from_arbitrary_text(text in any::<String>(), max_chars in 1_usize..50) {
        check_client_frame(&text, max_chars);
    }

    #[test]
    fn client_frames_from_arbitrary_json(value in json_value()) {
        check_client_frame(&value.to_string(), 20);
    }

    #[test]
    fn frame_shaped_objects_with_arbitrary_fields(
        kind in select(vec!["message", "typing", "read", "edit", "delete", "dance"]),
        fields in prop::collection::vec((frame_key(), json_leaf()), 0..5),
    ) {
        let mut object: serde_json::Map<String, Value> = fields.into_iter().collect();
        object.insert("type".into(), kind.into());
        check_client_frame(&Value::Object(object).to_string(), 20);
    }

    #[test]
    fn valid_frames_are_accepted_as_they_are(frame in valid_frame()) {
        let text = serde_json::to_string(&frame).expect("a frame encodes");
        prop_assert_eq!(parse_client_frame(&text), Ok(frame));
        check_client_frame(&text, 20);
    }

    #[test]
    fn damaged_valid_frames(frame in valid_frame(), damages in prop::collection::vec(damage(), 1..4)) {
        let text = serde_json::to_string(&frame).expect("a frame encodes");
        check_client_frame(&apply(&text, &damages), 20);
    }

    #[test]
    fn valid_frames_with_one_field_replaced(
        frame in valid_frame(),
        key in frame_key(),
        replacement in json_value(),
    ) {
        let mut value = serde_json::to_value(&frame).expect("a frame encodes");
        value[key.as_str()] = replacement;
        check_client_frame(&value.to_string(), 20);
    }

    #[test]
    fn message_text_from_hostile_characters(raw in hostile_text(24), max_chars in 1_usize..20) {
        check_message_text(&raw, max_chars);
    }

    #[test]
    fn message_text_from_arbitrary_text(raw in any::<String>(), max_chars in 1_usize..50) {
        check_message_text(&raw, max_chars);
    }

    #[test]
    fn usernames(raw in prop_oneof![
        prop::collection::vec(
            prop_oneof![
                4 => select(vec!['a', 'Z', '0', '9', '_', '.', '-']),
                1 => select(vec![' ', '\t', '\u{A0}', 'é', 'K', '\u{212A}', 'ß', '\u{0}', '\u{200B}', '@']),
            ],
            0..40,
        ).prop_map(|chars| chars.into_iter().collect::<String>()),
        any::<String>(),
    ]) {
        check_username(&raw);
    }

    /// Lengths cluster at the two bounds (in bytes), where an off-by-one would show.
    #[test]
    fn passwords(
        start in hostile_text(4),
        bytes in prop_oneof![0_usize..16, 1016_usize..1032, 0_usize..1200],
    ) {
        let padding = "x".repeat(bytes.saturating_sub(start.len()));
        check_password(&(start + &padding));
    }

    /// Exactly what the fuzz target runs, so that its body is built and exercised by `make test`.
    #[test]
    fn the_fuzz_target_body(data in prop::collection::vec(any::<u8>(), 0..256)) {
        check_everything(&data);
    }
}

#[test]
fn the_fuzz_target_body_on_its_seed_inputs() {
    for seed in [
        &br#"{"type":"message","to":1,"message":"hi","client_id":"6f1c2c1e-8d4a-4d1e-9a39-0b2b8c4f6a11"}"#[..],
        br#"{"type":"message","to":1,"message":"a\u0000b"}"#,
        br#"{"type":"message","to":1,"message":"\u200b\ufeff "}"#,
        br#"{"type":"read","with":2,"up_to":3}"#,
        br#"{"type":"typing","to":2}"#,
        br#"{"type":"dance","client_id":"abc"}"#,
        b"\xff\xfe{",
        b"",
    ] {
        check_everything(seed);
    }
}
