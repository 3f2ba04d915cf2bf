//! The one place that turns what happened into frames and sends them to rooms: committed messages
//! (from the store's writer, in commit order) and the services' `Event`s. Each frame is encoded
//! once and shared by every connection it goes to.

use super::hub::Eviction;
use super::roster::Roster;
use super::{encode_frame, Hub, Outbound};
use crate::domain::{ChatMessage, RoomId, UserId};
use crate::protocol::ServerFrame;
use crate::server::events::Event;
use std::time::{Instant, SystemTime};

/// An encoded frame for the hub that is not a chat message.
pub fn outbound(frame: &ServerFrame) -> Outbound {
    Outbound {
        message_id: None,
        committed: None,
        text: encode_frame(frame),
    }
}

/// The dual emit of one committed message (callers go in commit order): to the receiver's room
/// and to the sender's own room (once when they are the same person), one encoded frame shared
/// by every connection of both people. `committed` is when it was committed.
pub fn deliver_committed(hub: &Hub, message: &ChatMessage, committed: SystemTime) {
    let frame = Outbound {
        message_id: Some(message.id),
        committed: Some(committed),
        text: encode_frame(&ServerFrame::Message {
            message: message.clone(),
        }),
    };
    hub.publish(&RoomId::for_user(message.receiver), &frame);
    if message.sender != message.receiver {
        hub.publish(&RoomId::for_user(message.sender), &frame);
    }
}

/// Carries out one service event on this node's connections.
pub fn publish(hub: &Hub, roster: &Roster, event: Event) {
    // This node's own sockets are the hub's to say; the other nodes', the roster's.
    let online = |user| is_online(hub, user) || roster.is_online_elsewhere(user, Instant::now());
    match event {
        Event::Typing { from, to } => {
            hub.publish(&room(to), &outbound(&ServerFrame::typing(from)));
        }
        Event::Read {
            reader,
            with,
            up_to,
            peer_sees,
        } => {
            let frame = outbound(&ServerFrame::read(reader, with, up_to));
            hub.publish(&room(reader), &frame);
            if peer_sees && with != reader {
                hub.publish(&room(with), &frame);
            }
        }
        Event::PresenceShown { a, b } => {
            hub.publish(&room(a), &presence(b, online(b)));
            hub.publish(&room(b), &presence(a, online(a)));
        }
        Event::PresenceHidden { a, b } => {
            hub.publish(&room(a), &presence(b, false));
            hub.publish(&room(b), &presence(a, false));
        }
        // For the send path of other nodes (`realtime::cluster`), not for sockets.
        Event::BlockChanged { .. } => {}
        Event::AccountDisabled { user } => hub.close_room(&room(user), Eviction::AccountDisabled),
        Event::LoggedOut { user, session_id } => {
            hub.close_session(&room(user), &session_id, Eviction::LoggedOut)
        }
    }
}

/// Tells each of `to` that `user` came online or went offline.
pub fn announce_presence(hub: &Hub, user: UserId, online: bool, to: &[UserId]) {
    let frame = presence(user, online);
    for partner in to {
        hub.publish(&room(*partner), &frame);
    }
}

/// Whether `user` has at least one open connection on this node.
pub fn is_online(hub: &Hub, user: UserId) -> bool {
    hub.members(&room(user)) > 0
}

fn presence(user: UserId, online: bool) -> Outbound {
    outbound(&ServerFrame::PresenceUpdate {
        user_id: user,
        online,
    })
}

fn room(user: UserId) -> RoomId {
    RoomId::for_user(user)
}
