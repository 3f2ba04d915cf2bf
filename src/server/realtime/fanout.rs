//! The one place that turns what happened into frames and sends them to rooms: committed messages
//! (from the store's writer, in commit order) and the services' `Event`s. Each frame is encoded
//! once and shared by every connection it goes to.

use super::hub::Eviction;
use super::roster::Roster;
use super::{encode_frame, Hub, Outbound, Queued};
use crate::domain::{RoomId, StreamEntry, UserId};
use crate::protocol::ServerFrame;
use crate::server::events::Event;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// An encoded frame for the hub that is not a chat message.
pub fn outbound(frame: &ServerFrame) -> Queued {
    Arc::new(Outbound {
        position: None,
        committed: None,
        text: encode_frame(frame),
    })
}

/// The dual emit of one committed stream entry (callers go in commit order): a message sent,
/// edited or deleted goes to the receiver's room and to the sender's own room (once when they are
/// the same person), one encoded frame shared by every connection of both people. `committed` is
/// when it was committed.
pub fn deliver_committed(hub: &Hub, entry: &StreamEntry, committed: SystemTime) {
    let (receiver, sender) = (entry.message.receiver, entry.message.sender);
    let frame = Arc::new(Outbound {
        position: Some(entry.position),
        committed: Some(committed),
        text: encode_frame(&ServerFrame::for_entry(entry.clone())),
    });
    hub.publish(&RoomId::for_user(receiver), &frame);
    if sender != receiver {
        hub.publish(&RoomId::for_user(sender), &frame);
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
        Event::AccountDeleted { user } => hub.close_room(&room(user), Eviction::LoggedOut),
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

fn presence(user: UserId, online: bool) -> Queued {
    outbound(&ServerFrame::PresenceUpdate {
        user_id: user,
        online,
    })
}

fn room(user: UserId) -> RoomId {
    RoomId::for_user(user)
}
