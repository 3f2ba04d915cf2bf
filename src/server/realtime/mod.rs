//! Realtime delivery: `hub` keeps rooms (no wire format, no axum types), `fanout` turns what
//! happened into frames for rooms, `ws` owns the WebSocket endpoint. The only part of the server
//! that knows the wire format (`crate::protocol`) besides the frame parser itself.

pub mod cluster;
pub mod fanout;
pub mod hub;
pub mod presence;
pub mod roster;
pub mod sequencer;
pub mod ws;

use crate::protocol::ServerFrame;
use std::sync::Arc;
use std::time::SystemTime;

/// An encoded server frame. Cheap to clone (reference-counted), so a message is serialized
/// once and shared by every connection it goes to.
pub type Frame = axum::extract::ws::Utf8Bytes;

/// What the hub carries: the encoded frame, and for a stream entry (a message sent, edited or
/// deleted) its position (so that a resuming connection can drop what its replay already sent) and
/// when it was committed (so that the delivery latency can be measured where the frame is written).
#[derive(Clone, Debug)]
pub struct Outbound {
    pub position: Option<i64>,
    pub committed: Option<SystemTime>,
    pub text: Frame,
}

/// What a connection's queue holds: a shared `Outbound`. One pointer per slot keeps the queue
/// that every connection allocates when it joins small (tokio allocates its slots 32 at a time:
/// 256 bytes of pointers instead of 2 KiB of `Outbound`s), and a publish to a room adds a
/// reference per member instead of copying the frame's fields.
pub type Queued = Arc<Outbound>;

pub type Hub = hub::Hub<Queued>;

pub fn encode_frame(frame: &ServerFrame) -> Frame {
    // Serializing these plain structs cannot fail: no maps with non-string keys, no custom errors.
    Frame::from(serde_json::to_string(frame).expect("server frames always serialize"))
}
