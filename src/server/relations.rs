//! What the send path must know about two people on every message, without a database read per
//! message: whether a block stands between them, and whether both have written (which decides
//! whether presence, typing and receipts flow; see `domain::Relation`).
//!
//! - Blocks are few and change only through `messaging::block`/`unblock`, so every block is held
//!   here, loaded at start-up and updated as they change. With several nodes, a block made on one
//!   reaches the others as an event over the broker (`realtime::cluster`), and because the broker
//!   may lose an event, each node also reloads every block every 30 s.
//! - Deleted accounts, which nobody may write to, are held the same way as blocks (and travel
//!   between nodes the same way).
//! - "Both have written" never becomes false again, so it is cached once seen, for pairs only
//!   (a positive cache: a miss just reads the database).

use super::store::{MessageStore, ProfileTable, Store};
use crate::domain::UserId;
use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, RwLock};

/// Pairs remembered as mutual before the cache starts over (it only saves reads).
const MAX_MUTUAL_PAIRS: usize = 500_000;

pub struct RelationCache {
    /// (blocker, blocked), every block there is.
    blocks: RwLock<HashSet<(UserId, UserId)>>,
    /// Every deleted account.
    deleted: RwLock<HashSet<UserId>>,
    /// (lower id, higher id) of pairs where both have written.
    mutual: Mutex<HashSet<(UserId, UserId)>>,
}

fn pair(a: UserId, b: UserId) -> (UserId, UserId) {
    (a.min(b), a.max(b))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Single inserts and removals only: a poisoned lock still guards a consistent set.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl RelationCache {
    /// Loads every block from the store.
    pub async fn load(store: &Store) -> anyhow::Result<Self> {
        let blocks = store.all_blocks().await?;
        let deleted = store.deleted_accounts().await?;
        Ok(Self {
            blocks: RwLock::new(blocks.into_iter().collect()),
            deleted: RwLock::new(deleted.into_iter().collect()),
            mutual: Mutex::new(HashSet::new()),
        })
    }

    /// Replaces every block and deleted account with what the store holds now.
    pub async fn reload(&self, store: &Store) -> anyhow::Result<()> {
        let blocks: HashSet<_> = store.all_blocks().await?.into_iter().collect();
        let deleted: HashSet<_> = store.deleted_accounts().await?.into_iter().collect();
        *self
            .blocks
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = blocks;
        *self
            .deleted
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = deleted;
        Ok(())
    }

    /// `user`'s account was deleted.
    pub fn deleted(&self, user: UserId) {
        self.deleted
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(user);
    }

    pub fn is_deleted(&self, user: UserId) -> bool {
        self.deleted
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains(&user)
    }

    /// (whether `me` blocked `peer`, whether `peer` blocked `me`).
    pub fn blocks_between(&self, me: UserId, peer: UserId) -> (bool, bool) {
        let blocks = self
            .blocks
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (blocks.contains(&(me, peer)), blocks.contains(&(peer, me)))
    }

    pub fn blocked(&self, blocker: UserId, blocked: UserId) {
        self.blocks
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert((blocker, blocked));
    }

    pub fn unblocked(&self, blocker: UserId, blocked: UserId) {
        self.blocks
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&(blocker, blocked));
    }

    pub fn known_mutual(&self, a: UserId, b: UserId) -> bool {
        lock(&self.mutual).contains(&pair(a, b))
    }

    pub fn remember_mutual(&self, a: UserId, b: UserId) {
        let mut mutual = lock(&self.mutual);
        if mutual.len() >= MAX_MUTUAL_PAIRS {
            mutual.clear();
        }
        mutual.insert(pair(a, b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> RelationCache {
        RelationCache {
            blocks: RwLock::new(HashSet::new()),
            deleted: RwLock::new(HashSet::new()),
            mutual: Mutex::new(HashSet::new()),
        }
    }

    #[test]
    fn blocks_have_a_direction() {
        let (a, b) = (UserId::new(1), UserId::new(2));
        let cache = cache();
        cache.blocked(a, b);
        assert_eq!(cache.blocks_between(a, b), (true, false));
        assert_eq!(cache.blocks_between(b, a), (false, true));
        cache.unblocked(a, b);
        assert_eq!(cache.blocks_between(a, b), (false, false));
    }

    #[test]
    fn mutual_pairs_are_remembered_either_way_round() {
        let (a, b) = (UserId::new(1), UserId::new(2));
        let cache = cache();
        assert!(!cache.known_mutual(a, b));
        cache.remember_mutual(b, a);
        assert!(cache.known_mutual(a, b));
    }
}
