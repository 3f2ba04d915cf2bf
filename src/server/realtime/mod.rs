//! Realtime delivery: `hub` keeps rooms and fans frames out; `ws` owns the WebSocket endpoint.

pub mod hub;
pub mod ws;

use crate::protocol::ServerFrame;

/// An encoded server frame. Cheap to clone (reference-counted), so a message is serialized
/// once and shared by every connection it goes to.
pub type Frame = axum::extract::ws::Utf8Bytes;

pub type Hub = hub::Hub<Frame>;

pub fn encode_frame(frame: &ServerFrame) -> Frame {
    // Serializing these plain structs cannot fail: no maps with non-string keys, no custom errors.
    Frame::from(serde_json::to_string(frame).expect("server frames always serialize"))
}
