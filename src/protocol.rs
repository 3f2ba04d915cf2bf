//! The WebSocket wire protocol (docs/PROTOCOL.md), shared by the server and the browser client.
//!
//! Every frame is a JSON text frame with a `type`. Parsing a client frame is pure, so every
//! malformed-input case is unit-tested here rather than only over a socket.

use crate::domain::{rfc3339_millis, Change, ChatMessage, ClientId, RoomId, StreamEntry, UserId};
use crate::error::{AppError, ErrorCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Largest WebSocket message the server accepts; a larger one closes the socket with 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Close code for a connection whose outgoing queue overflowed (it read too slowly).
/// 1013 is "try again later": the client should reconnect and reload history, which is intact.
pub const CLOSE_SLOW_CONSUMER: u16 = 1013;
/// Close code for a frame over [`MAX_FRAME_BYTES`] ("message too big").
pub const CLOSE_TOO_BIG: u16 = 1009;
/// Close code when an admin disables the account ("policy violation"); reconnecting is refused.
pub const CLOSE_ACCOUNT_DISABLED: u16 = 1008;
/// Close code when the server shuts down ("going away"); reconnect later.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code after the session logged out or expired ("normal closure"); reconnecting is refused.
pub const CLOSE_LOGGED_OUT: u16 = 1000;
/// Close code for a socket that answered no ping for too long (a half-open connection). In the
/// application range (4000–4999); "408" after HTTP's Request Timeout. Reconnect.
pub const CLOSE_PING_TIMEOUT: u16 = 4408;

/// The most messages one resume (`/ws?after=`) replays; beyond it, `replay_truncated`.
pub const REPLAY_LIMIT: usize = 1_000;

/// Frames a client sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Message {
        to: UserId,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<ClientId>,
    },
    /// "I am typing to `to`": relayed to `to` as a `typing` event.
    Typing { to: UserId },
    /// "I have read my conversation with `with` up to message `up_to`".
    Read { with: UserId, up_to: i64 },
    /// "Replace the text of my message `id`" (within `domain::EDIT_WINDOW` of sending it).
    Edit { id: i64, message: String },
    /// "Delete my message `id`".
    Delete { id: i64 },
}

/// Frames the server sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    ConnectionStatus {
        status: ConnectionState,
        user_id: UserId,
        room: RoomId,
    },
    Message {
        message: ChatMessage,
    },
    /// A message's sender changed its text: `message` is the message as stored now. `position` is
    /// this change's place in the stream, where a resume (`/ws?after=`) continues from.
    MessageEdited {
        position: i64,
        message: ChatMessage,
    },
    /// A message's sender deleted it: `message` is what is left (no text, `deleted: true`).
    MessageDeleted {
        position: i64,
        id: i64,
        message: ChatMessage,
    },
    /// To the sending connection only, once the message is committed. A retried `client_id` is
    /// acknowledged with the original id and date.
    Ack {
        client_id: Option<ClientId>,
        id: i64,
        #[serde(with = "rfc3339_millis")]
        date: DateTime<Utc>,
    },
    /// Right after `connection_status`: the room this connection joined.
    Join {
        room: RoomId,
    },
    /// Just before the server takes this connection out of its room, and why.
    Leave {
        room: RoomId,
        reason: LeaveReason,
    },
    /// After a resume that had more than [`REPLAY_LIMIT`] messages to replay: the replay stopped
    /// after message `through`. Live messages follow as usual; what lies between `through` and
    /// them must be fetched over HTTP (history per conversation, the inbox).
    ReplayTruncated {
        through: i64,
    },
    /// On connect: which of the user's conversation partners are online.
    PresenceFull {
        online: Vec<UserId>,
    },
    /// A conversation partner came online (first connection) or went offline (last one closed).
    PresenceUpdate {
        user_id: UserId,
        online: bool,
    },
    Error {
        code: ErrorCode,
        message: String,
        /// Echoed from the offending frame when it had one, so a client can match the failure
        /// to what it sent. Kept as text: the offending value may not be a valid UUID.
        client_id: Option<String>,
    },
    /// Server-originated notices that are not chat messages (see docs/PROTOCOL.md).
    Event(ServerEvent),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    Connected,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    Logout,
    AccountDisabled,
    SessionExpired,
    Shutdown,
}

/// The notices an `event` frame carries: the name goes in `event`, the fields in `data`
/// (`{"type":"event","event":"typing","data":{"from":7}}`). A client that meets an event it does
/// not know cannot parse the frame, and skips it, as the protocol asks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum ServerEvent {
    /// `from` is typing to the receiver.
    Typing { from: UserId },
    /// `reader` has read the conversation with `with` up to message `up_to`.
    Read {
        reader: UserId,
        with: UserId,
        up_to: i64,
    },
}

impl ServerFrame {
    /// The frame that tells a room about one stream entry.
    pub fn for_entry(entry: StreamEntry) -> Self {
        let StreamEntry {
            position,
            change,
            message,
        } = entry;
        match change {
            Change::Sent => Self::Message { message },
            Change::Edited => Self::MessageEdited { position, message },
            Change::Deleted => Self::MessageDeleted {
                position,
                id: message.id,
                message,
            },
        }
    }

    pub fn typing(from: UserId) -> Self {
        Self::Event(ServerEvent::Typing { from })
    }

    pub fn read(reader: UserId, with: UserId, up_to: i64) -> Self {
        Self::Event(ServerEvent::Read {
            reader,
            with,
            up_to,
        })
    }
}

/// Why a client frame was refused. Sent back as an `error` frame; the connection stays open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    pub code: ErrorCode,
    pub message: String,
    pub client_id: Option<String>,
}

impl FrameError {
    pub fn new(code: ErrorCode, message: impl Into<String>, client_id: Option<String>) -> Self {
        Self {
            code,
            message: message.into(),
            client_id,
        }
    }

    /// A service's refusal of the frame, in the protocol's codes (docs/PROTOCOL.md): the same code
    /// as over HTTP, except that "not found" names the receiver and a failure on the server's side
    /// is `internal` whatever its kind.
    pub fn refusal(err: AppError, client_id: Option<String>) -> Self {
        let code = match &err {
            AppError::NotFound { .. } => ErrorCode::UnknownReceiver,
            AppError::Internal | AppError::Busy { .. } => ErrorCode::Internal,
            other => other.code(),
        };
        Self::new(code, err.to_string(), client_id)
    }

    /// A service's refusal of an `edit` or `delete`: the same code as over HTTP (`not_found`,
    /// `not_yours`, `edit_window_passed`, `already_deleted`, …); a failure on the server's side
    /// is `internal`.
    pub fn change_refusal(err: AppError) -> Self {
        let code = match &err {
            AppError::Internal | AppError::Busy { .. } => ErrorCode::Internal,
            other => other.code(),
        };
        Self::new(code, err.to_string(), None)
    }

    pub fn into_frame(self) -> ServerFrame {
        ServerFrame::Error {
            code: self.code,
            message: self.message,
            client_id: self.client_id,
        }
    }
}

const KNOWN_TYPES: &[&str] = &["message", "typing", "read", "edit", "delete"];

/// Parses a text frame from a client, telling malformed JSON, unknown types and bad fields apart.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, FrameError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        FrameError::new(
            ErrorCode::MalformedJson,
            format!("frame is not valid JSON: {e}"),
            None,
        )
    })?;
    let client_id = value
        .get("client_id")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let Some(kind) = value.get("type").and_then(|t| t.as_str()) else {
        return Err(FrameError::new(
            ErrorCode::InvalidFrame,
            "frame must be a JSON object with a string \"type\"",
            client_id,
        ));
    };
    if !KNOWN_TYPES.contains(&kind) {
        return Err(FrameError::new(
            ErrorCode::UnknownType,
            format!("unknown frame type {kind:?}"),
            client_id,
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| FrameError::new(ErrorCode::InvalidFrame, e.to_string(), client_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_message_frame() {
        let frame = parse_client_frame(r#"{"type":"message","to":9,"message":"hi"}"#).unwrap();
        assert_eq!(
            frame,
            ClientFrame::Message {
                to: UserId::new(9),
                message: "hi".into(),
                client_id: None
            }
        );
    }

    #[test]
    fn parses_client_id() {
        let id = "6f1c2c1e-8d4a-4d1e-9a39-0b2b8c4f6a11";
        let text = format!(r#"{{"type":"message","to":9,"message":"hi","client_id":"{id}"}}"#);
        let Ok(ClientFrame::Message { client_id, .. }) = parse_client_frame(&text) else {
            panic!("not a message frame");
        };
        assert_eq!(client_id.unwrap().to_string(), id);
    }

    #[test]
    fn parses_typing_and_read() {
        assert_eq!(
            parse_client_frame(r#"{"type":"typing","to":9}"#).unwrap(),
            ClientFrame::Typing { to: UserId::new(9) }
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"read","with":9,"up_to":42}"#).unwrap(),
            ClientFrame::Read {
                with: UserId::new(9),
                up_to: 42
            }
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"read","with":9}"#)
                .unwrap_err()
                .code,
            ErrorCode::InvalidFrame
        );
    }

    #[test]
    fn ack_and_events_have_the_documented_shape() {
        use chrono::TimeZone;
        let ack = ServerFrame::Ack {
            client_id: None,
            id: 5,
            date: Utc.timestamp_millis_opt(1_700_000_000_000).unwrap(),
        };
        assert_eq!(
            serde_json::to_value(&ack).unwrap(),
            serde_json::json!({"type":"ack","client_id":null,"id":5,"date":"2023-11-14T22:13:20.000Z"})
        );
        assert_eq!(
            serde_json::to_value(ServerFrame::typing(UserId::new(7))).unwrap(),
            serde_json::json!({"type":"event","event":"typing","data":{"from":7}})
        );
        let leave = ServerFrame::Leave {
            room: RoomId::for_user(UserId::new(7)),
            reason: LeaveReason::AccountDisabled,
        };
        assert_eq!(
            serde_json::to_value(&leave).unwrap()["reason"],
            "account_disabled"
        );
        let presence = ServerFrame::PresenceUpdate {
            user_id: UserId::new(9),
            online: true,
        };
        assert_eq!(
            serde_json::to_value(&presence).unwrap(),
            serde_json::json!({"type":"presence_update","user_id":9,"online":true})
        );
    }

    #[test]
    fn events_keep_their_wire_shape_both_ways() {
        let read = ServerFrame::read(UserId::new(1), UserId::new(2), 3);
        let read_json = serde_json::json!({"type":"event","event":"read","data":{"reader":1,"with":2,"up_to":3}});
        assert_eq!(serde_json::to_value(&read).unwrap(), read_json);
        assert_eq!(
            serde_json::from_value::<ServerFrame>(read_json).unwrap(),
            read
        );
        assert_eq!(
            serde_json::from_str::<ServerFrame>(
                r#"{"type":"event","event":"typing","data":{"from":7}}"#
            )
            .unwrap(),
            ServerFrame::typing(UserId::new(7))
        );
        // The browser skips a frame it cannot parse: an unknown event, or a known one missing a field.
        for text in [
            r#"{"type":"event","event":"dance","data":{"from":7}}"#,
            r#"{"type":"event","event":"read","data":{"reader":1,"with":2}}"#,
        ] {
            assert!(serde_json::from_str::<ServerFrame>(text).is_err(), "{text}");
        }
    }

    #[test]
    fn tells_malformed_json_apart() {
        assert_eq!(
            parse_client_frame("{nope").unwrap_err().code,
            ErrorCode::MalformedJson
        );
    }

    #[test]
    fn tells_unknown_type_apart_and_echoes_client_id() {
        let err = parse_client_frame(r#"{"type":"dance","client_id":"abc"}"#).unwrap_err();
        assert_eq!(err.code, ErrorCode::UnknownType);
        assert_eq!(err.client_id.as_deref(), Some("abc"));
    }

    #[test]
    fn missing_or_ill_typed_fields_are_invalid_frames() {
        for text in [
            r#"{"type":"message","message":"hi"}"#,
            r#"{"type":"message","to":9}"#,
            r#"{"type":"message","to":"nine","message":"hi"}"#,
            r#"{"type":"message","to":9,"message":"hi","client_id":"not-a-uuid"}"#,
            r#"[1,2]"#,
            r#"{"to":9}"#,
        ] {
            assert_eq!(
                parse_client_frame(text).unwrap_err().code,
                ErrorCode::InvalidFrame,
                "{text}"
            );
        }
    }

    #[test]
    fn server_frames_have_the_documented_shape() {
        let frame = ServerFrame::ConnectionStatus {
            status: ConnectionState::Connected,
            user_id: UserId::new(7),
            room: RoomId::for_user(UserId::new(7)),
        };
        assert_eq!(
            serde_json::to_value(&frame).unwrap(),
            serde_json::json!({"type":"connection_status","status":"connected","user_id":7,
                               "room":"8f14e45fceea167a5a36dedd4bea2543"})
        );
        let err = FrameError::new(ErrorCode::EmptyMessage, "message is empty", None).into_frame();
        assert_eq!(
            serde_json::to_value(&err).unwrap(),
            serde_json::json!({"type":"error","code":"empty_message","message":"message is empty","client_id":null})
        );
    }
}
