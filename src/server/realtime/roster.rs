//! Who is online, across nodes. This node's own users are the ones with a socket here (`local`);
//! every other node's are what it last said, kept for a time-to-live: each node repeats its list
//! every few seconds, so a node that dies without a word (SIGKILL) drops out of everyone's view
//! when its list expires, instead of leaving its users online for ever (a counter that a dead node
//! would never decrement). With one node the other-node part stays empty.
//!
//! Plain bookkeeping: no clock of its own, no I/O. `realtime::cluster` feeds it and turns the
//! changes it reports into presence frames.

use crate::domain::UserId;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long another node's list counts without being repeated.
pub const TIME_TO_LIVE: Duration = Duration::from_secs(12);
/// How often each node repeats its list: three chances before it expires.
pub const REPEAT_EVERY: Duration = Duration::from_secs(4);

#[derive(Default)]
pub struct Roster {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    local: HashSet<UserId>,
    others: HashMap<String, Node>,
}

struct Node {
    users: HashSet<UserId>,
    expires: Instant,
}

impl Inner {
    fn online(&self, user: UserId, now: Instant) -> bool {
        self.local.contains(&user) || self.elsewhere(user, now)
    }

    fn elsewhere(&self, user: UserId, now: Instant) -> bool {
        self.others
            .values()
            .any(|node| node.expires > now && node.users.contains(&user))
    }
}

impl Roster {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Plain inserts and removals: a poisoned lock still guards consistent sets.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `user` has a socket on any node, as far as this node knows at `now`.
    pub fn is_online(&self, user: UserId, now: Instant) -> bool {
        self.lock().online(user, now)
    }

    /// Whether `user` has a socket on another node.
    pub fn is_online_elsewhere(&self, user: UserId, now: Instant) -> bool {
        self.lock().elsewhere(user, now)
    }

    /// Whether anyone has a socket on this node.
    pub fn has_local_users(&self) -> bool {
        !self.lock().local.is_empty()
    }

    /// This node's users with a socket here.
    pub fn local_users(&self) -> Vec<UserId> {
        self.lock().local.iter().copied().collect()
    }

    /// `user`'s first socket here opened (`online`) or last one closed. Returns whether that
    /// changes whether they are online at all.
    pub fn set_local(&self, user: UserId, online: bool, now: Instant) -> bool {
        let mut inner = self.lock();
        let before = inner.online(user, now);
        if online {
            inner.local.insert(user);
        } else {
            inner.local.remove(&user);
        }
        before != inner.online(user, now)
    }

    /// Another node says `user`'s first socket there opened or last one closed. Returns whether
    /// that changes whether they are online at all.
    pub fn set_remote(&self, node: &str, user: UserId, online: bool, now: Instant) -> bool {
        let mut inner = self.lock();
        let before = inner.online(user, now);
        let entry = inner.others.entry(node.to_owned()).or_insert_with(|| Node {
            users: HashSet::new(),
            expires: now + TIME_TO_LIVE,
        });
        entry.expires = now + TIME_TO_LIVE;
        if online {
            entry.users.insert(user);
        } else {
            entry.users.remove(&user);
        }
        before != inner.online(user, now)
    }

    /// Another node's whole list. Returns the users whose being online at all changed, with
    /// whether they are online now.
    pub fn set_remote_list(
        &self,
        node: &str,
        users: impl IntoIterator<Item = UserId>,
        now: Instant,
    ) -> Vec<(UserId, bool)> {
        let mut inner = self.lock();
        let users: HashSet<UserId> = users.into_iter().collect();
        let previous = inner
            .others
            .get(node)
            .filter(|n| n.expires > now)
            .map(|n| n.users.clone())
            .unwrap_or_default();
        let touched: Vec<UserId> = previous.symmetric_difference(&users).copied().collect();
        let before: Vec<bool> = touched.iter().map(|u| inner.online(*u, now)).collect();
        inner.others.insert(
            node.to_owned(),
            Node {
                users,
                expires: now + TIME_TO_LIVE,
            },
        );
        touched
            .into_iter()
            .zip(before)
            .filter_map(|(user, was)| {
                let is = inner.online(user, now);
                (is != was).then_some((user, is))
            })
            .collect()
    }

    /// Forgets the nodes whose list has expired by `now`; returns the users who are no longer
    /// online anywhere because of it.
    pub fn expire(&self, now: Instant) -> Vec<UserId> {
        let mut inner = self.lock();
        let expired: Vec<String> = inner
            .others
            .iter()
            .filter(|(_, node)| node.expires <= now)
            .map(|(name, _)| name.clone())
            .collect();
        let mut gone = HashSet::new();
        for name in expired {
            if let Some(node) = inner.others.remove(&name) {
                gone.extend(node.users);
            }
        }
        gone.into_iter()
            .filter(|user| !inner.online(*user, now))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64) -> UserId {
        UserId::new(id)
    }

    #[test]
    fn online_anywhere_counts_once() {
        let now = Instant::now();
        let roster = Roster::default();
        assert!(roster.set_local(user(1), true, now), "came online");
        assert!(
            !roster.set_remote("b", user(1), true, now),
            "already online here"
        );
        assert!(!roster.set_local(user(1), false, now), "still online on b");
        assert!(roster.is_online(user(1), now));
        assert!(
            roster.set_remote("b", user(1), false, now),
            "gone everywhere"
        );
        assert!(!roster.is_online(user(1), now));
    }

    #[test]
    fn a_list_reports_only_real_changes() {
        let now = Instant::now();
        let roster = Roster::default();
        roster.set_local(user(2), true, now);
        let mut changes = roster.set_remote_list("b", [user(1), user(2)], now);
        changes.sort();
        assert_eq!(changes, vec![(user(1), true)], "2 was online already, here");
        assert_eq!(roster.set_remote_list("b", [user(1), user(2)], now), vec![]);
        assert_eq!(
            roster.set_remote_list("b", [user(2)], now),
            vec![(user(1), false)]
        );
    }

    #[test]
    fn a_silent_node_takes_its_users_with_it_when_its_list_expires() {
        let start = Instant::now();
        let roster = Roster::default();
        roster.set_remote_list("dead", [user(1), user(2)], start);
        roster.set_remote_list("alive", [user(2)], start + TIME_TO_LIVE / 2);
        assert!(roster.expire(start + TIME_TO_LIVE / 2).is_empty());
        assert!(roster.is_online(user(1), start + TIME_TO_LIVE / 2));
        // The dead node never repeats its list; the living one's is still fresh.
        assert_eq!(roster.expire(start + TIME_TO_LIVE), vec![user(1)]);
        assert!(!roster.is_online(user(1), start + TIME_TO_LIVE));
        assert!(roster.is_online(user(2), start + TIME_TO_LIVE));
    }
}
