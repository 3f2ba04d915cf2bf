//! Realtime delivery: `hub` keeps rooms and fans frames out; `ws` owns the WebSocket endpoint.

pub mod hub;
pub mod ws;

use crate::domain::{ChatMessage, RoomId};
use crate::protocol::ServerFrame;

/// An encoded server frame. Cheap to clone (reference-counted), so a message is serialized
/// once and shared by every connection it goes to.
pub type Frame = axum::extract::ws::Utf8Bytes;

/// What the hub carries: the encoded frame, and the chat message id when it is one, so that a
/// resuming connection can drop what its replay already sent.
#[derive(Clone, Debug)]
pub struct Outbound {
    pub message_id: Option<i64>,
    pub text: Frame,
}

pub type Hub = hub::Hub<Outbound>;

pub fn encode_frame(frame: &ServerFrame) -> Frame {
    // Serializing these plain structs cannot fail: no maps with non-string keys, no custom errors.
    Frame::from(serde_json::to_string(frame).expect("server frames always serialize"))
}

pub fn outbound(frame: &ServerFrame) -> Outbound {
    let message_id = match frame {
        ServerFrame::Message { message } => Some(message.id),
        _ => None,
    };
    Outbound {
        message_id,
        text: encode_frame(frame),
    }
}

/// The dual emit of committed messages, in the order given (the writer's commit order): each to
/// the receiver's room and to the sender's own room (once when they are the same person), one
/// encoded frame shared by every connection of both people.
pub fn deliver_committed(hub: &Hub, messages: &[ChatMessage]) {
    for message in messages {
        let frame = outbound(&ServerFrame::Message {
            message: message.clone(),
        });
        hub.publish(&RoomId::for_user(message.receiver), &frame);
        if message.sender != message.receiver {
            hub.publish(&RoomId::for_user(message.sender), &frame);
        }
    }
}
