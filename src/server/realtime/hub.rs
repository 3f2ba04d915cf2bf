//! Rooms and fan-out. Knows nothing of sockets or axum: a member is a bounded queue.
//!
//! Publishing never waits. Each member has a bounded queue; a member whose queue is full is
//! evicted (its connection closes with a clear code and its messages stay safe in the database),
//! so one slow reader can never hold up anyone else. The lock guards only the membership map and
//! is never held across an await or a socket write.
//!
//! This is the seam for running several nodes: a broker-backed hub would offer the same
//! `join` / `publish` / `close_room`.

use crate::domain::RoomId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Frames queued for one connection before it counts as too slow.
pub const DEFAULT_QUEUE_CAPACITY: usize = 256;

/// Why the hub took a member out of its room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eviction {
    /// Its outgoing queue overflowed.
    SlowConsumer,
    /// An admin disabled the account.
    AccountDisabled,
    /// The session the connection belongs to logged out.
    LoggedOut,
}

/// The hub's connections and their outgoing queues, at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepths {
    pub connections: u64,
    /// Frames waiting, all queues together.
    pub total: u64,
    /// Frames waiting in the fullest queue.
    pub fullest: u64,
}

struct Member<F> {
    queue: mpsc::Sender<F>,
    evict: oneshot::Sender<Eviction>,
    revoked: CancellationToken,
    /// Which session the connection belongs to, so logging out closes that session's sockets only.
    session: Option<String>,
}

type Rooms<F> = HashMap<RoomId, HashMap<u64, Member<F>>>;

pub struct Hub<F> {
    rooms: Mutex<Rooms<F>>,
    next_id: AtomicU64,
    queue_capacity: usize,
}

impl<F> Default for Hub<F> {
    fn default() -> Self {
        Self::with_queue_capacity(DEFAULT_QUEUE_CAPACITY)
    }
}

impl<F> Member<F> {
    /// Takes the member out for `why`: its token is cancelled at once (a reader about to act
    /// sees it), then its connection is told why.
    fn evict(self, why: Eviction) {
        self.revoked.cancel();
        let _ = self.evict.send(why);
    }
}

/// What joining a room gives a connection. Its parts go to different halves of the connection.
pub struct Subscription<F> {
    /// Frames published to the room, in publish order.
    pub frames: mpsc::Receiver<F>,
    /// Fires if the hub evicts this member.
    pub evicted: oneshot::Receiver<Eviction>,
    /// Cancelled the moment the hub evicts this member, before `evicted` fires.
    pub revoked: CancellationToken,
    /// The place in the room; dropping it leaves the room.
    pub membership: Membership<F>,
}

/// A connection's place in a room. Dropping it leaves the room.
pub struct Membership<F> {
    hub: Arc<Hub<F>>,
    room: RoomId,
    id: u64,
}

impl<F> Drop for Membership<F> {
    fn drop(&mut self) {
        let mut rooms = self.hub.lock();
        if let Some(members) = rooms.get_mut(&self.room) {
            members.remove(&self.id);
            if members.is_empty() {
                rooms.remove(&self.room);
            }
        }
    }
}

impl<F> Hub<F> {
    pub fn with_queue_capacity(queue_capacity: usize) -> Self {
        Self {
            rooms: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            queue_capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Rooms<F>> {
        // A panic while holding this lock cannot leave the map half-updated (every change is a
        // single insert or remove), so a poisoned lock is still safe to use.
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn join(self: &Arc<Self>, room: RoomId, session: Option<String>) -> Subscription<F> {
        let (queue, frames) = mpsc::channel(self.queue_capacity);
        let (evict, evicted) = oneshot::channel();
        let revoked = CancellationToken::new();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().entry(room.clone()).or_default().insert(
            id,
            Member {
                queue,
                evict,
                revoked: revoked.clone(),
                session,
            },
        );
        Subscription {
            frames,
            evicted,
            revoked,
            membership: Membership {
                hub: Arc::clone(self),
                room,
                id,
            },
        }
    }

    /// How many connections there are, and how full their outgoing queues are.
    pub fn queued_frames(&self) -> QueueDepths {
        let rooms = self.lock();
        let mut depths = QueueDepths::default();
        for member in rooms.values().flat_map(HashMap::values) {
            let queued = (member.queue.max_capacity() - member.queue.capacity()) as u64;
            depths.connections += 1;
            depths.total += queued;
            depths.fullest = depths.fullest.max(queued);
        }
        depths
    }

    /// Members currently in `room`.
    pub fn members(&self, room: &RoomId) -> usize {
        self.lock().get(room).map_or(0, HashMap::len)
    }

    /// Takes the members of `room` that belong to `session` out of it, telling each why.
    pub fn close_session(&self, room: &RoomId, session: &str, why: Eviction) {
        let mut rooms = self.lock();
        let Some(members) = rooms.get_mut(room) else {
            return;
        };
        let leaving: Vec<u64> = members
            .iter()
            .filter(|(_, m)| m.session.as_deref() == Some(session))
            .map(|(id, _)| *id)
            .collect();
        for id in leaving {
            if let Some(member) = members.remove(&id) {
                member.evict(why);
            }
        }
        if members.is_empty() {
            rooms.remove(room);
        }
    }

    /// Takes every member out of `room`, telling each why.
    pub fn close_room(&self, room: &RoomId, why: Eviction) {
        let members = self.lock().remove(room);
        for member in members.into_iter().flat_map(HashMap::into_values) {
            member.evict(why);
        }
    }
}

impl<F: Clone> Hub<F> {
    /// Queues `frame` for every member of `room` without waiting; returns how many got it.
    pub fn publish(&self, room: &RoomId, frame: &F) -> usize {
        let mut rooms = self.lock();
        let Some(members) = rooms.get_mut(room) else {
            return 0;
        };
        let mut delivered = 0;
        let mut overflowed = Vec::new();
        for (id, member) in members.iter() {
            match member.queue.try_send(frame.clone()) {
                Ok(()) => delivered += 1,
                Err(mpsc::error::TrySendError::Full(_)) => overflowed.push(*id),
                // The connection is already going away; its Subscription drop will remove it.
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        for id in overflowed {
            if let Some(member) = members.remove(&id) {
                member.evict(Eviction::SlowConsumer);
            }
        }
        if members.is_empty() {
            rooms.remove(room);
        }
        delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;

    fn room(n: i64) -> RoomId {
        RoomId::for_user(UserId::new(n))
    }

    #[tokio::test]
    async fn delivers_to_every_member_of_the_room_only() {
        let hub = Arc::new(Hub::<u32>::default());
        let mut a1 = hub.join(room(1), None);
        let mut a2 = hub.join(room(1), None);
        let mut b = hub.join(room(2), None);
        assert_eq!(hub.publish(&room(1), &7), 2);
        assert_eq!(
            hub.queued_frames(),
            QueueDepths {
                connections: 3,
                total: 2,
                fullest: 1
            }
        );
        assert_eq!(a1.frames.recv().await, Some(7));
        assert_eq!(a2.frames.recv().await, Some(7));
        assert!(b.frames.try_recv().is_err());
    }

    #[tokio::test]
    async fn dropping_a_subscription_leaves_the_room() {
        let hub = Arc::new(Hub::<u32>::default());
        let sub = hub.join(room(1), None);
        assert_eq!(hub.members(&room(1)), 1);
        drop(sub);
        assert_eq!(hub.members(&room(1)), 0);
        assert_eq!(hub.publish(&room(1), &1), 0);
    }

    #[tokio::test]
    async fn a_full_queue_evicts_only_that_member() {
        let hub = Arc::new(Hub::<u32>::with_queue_capacity(2));
        let mut slow = hub.join(room(1), None);
        let mut fast = hub.join(room(1), None);
        for n in 0..3 {
            hub.publish(&room(1), &n);
            // The fast member keeps up.
            assert_eq!(fast.frames.recv().await, Some(n));
        }
        assert_eq!(slow.evicted.try_recv(), Ok(Eviction::SlowConsumer));
        assert_eq!(
            hub.queued_frames(),
            QueueDepths {
                connections: 1,
                total: 0,
                fullest: 0
            }
        );
        assert_eq!(hub.members(&room(1)), 1);
        assert_eq!(hub.publish(&room(1), &9), 1);
        assert_eq!(fast.frames.recv().await, Some(9));
    }

    #[tokio::test]
    async fn close_session_evicts_only_that_sessions_members() {
        let hub = Arc::new(Hub::<u32>::default());
        let mut laptop = hub.join(room(1), Some("s1".into()));
        let mut phone = hub.join(room(1), Some("s2".into()));
        hub.close_session(&room(1), "s1", Eviction::LoggedOut);
        assert!(
            laptop.revoked.is_cancelled(),
            "revoked before anything else"
        );
        assert_eq!(laptop.evicted.try_recv(), Ok(Eviction::LoggedOut));
        assert!(phone.evicted.try_recv().is_err());
        assert!(!phone.revoked.is_cancelled());
        assert_eq!(hub.members(&room(1)), 1);
    }

    #[tokio::test]
    async fn close_room_evicts_everyone_in_it() {
        let hub = Arc::new(Hub::<u32>::default());
        let mut a = hub.join(room(1), None);
        let mut b = hub.join(room(2), None);
        hub.close_room(&room(1), Eviction::SlowConsumer);
        assert!(a.evicted.try_recv().is_ok());
        assert!(b.evicted.try_recv().is_err());
    }
}
