//! Work the server does on its own, in the background: finishing account deletions (erasing the
//! text of a deleted account's messages, freeing its username after `USERNAME_HELD`).
//!
//! Erasing goes through the ordered stream, one ordinary deletion per message (`MessageStore::
//! change_message`), so the other person's open conversation shows each as deleted at once and a
//! client resuming from an older position hears of it in order. Deletions queue behind live sends
//! in the group commit, in batches of `ERASE_PAGE`, so a large account never holds the write lock
//! for long. What is left undone when a node stops is found again at the next start (the account
//! is marked deleted first), and two nodes doing the same message is harmless: the second finds it
//! deleted already.

use super::store::{ChangeKind, MessageChange, MessageStore, ProfileTable, Store, StoreError};
use chrono::{Duration as Days, Utc};
use futures::future::join_all;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long a deleted account's username stays held, so that nobody can take it and pass for
/// them to the people they wrote to.
pub const USERNAME_HELD: Days = Days::days(30);
/// Messages erased per round.
const ERASE_PAGE: u32 = 500;
/// How often the work is looked for without being asked.
const EVERY: Duration = Duration::from_secs(3600);

/// Wakes the background work early (after an account is deleted). Cheap to clone.
#[derive(Clone, Default)]
pub struct Housekeeping(Arc<Notify>);

impl Housekeeping {
    /// Starts the background work on `store`: at once, then every hour and whenever woken.
    pub fn start(store: Store) -> Self {
        let housekeeping = Self::default();
        let wake = Arc::clone(&housekeeping.0);
        tokio::spawn(async move {
            loop {
                if let Err(err) = run_once(&store).await {
                    tracing::warn!(error = %err, "housekeeping failed; trying again later");
                }
                let _ = tokio::time::timeout(EVERY, wake.notified()).await;
            }
        });
        housekeeping
    }

    /// Asks for a round now (or right after the one running).
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

async fn run_once(store: &Store) -> Result<(), StoreError> {
    let erased = erase_deleted_accounts_messages(store).await?;
    let freed = store
        .free_usernames((Utc::now() - USERNAME_HELD).timestamp_millis())
        .await?;
    if erased > 0 || freed > 0 {
        tracing::info!(erased, freed, "finished deleting accounts");
    }
    Ok(())
}

/// Erases every message still carrying text whose sender's account is deleted; returns how many.
async fn erase_deleted_accounts_messages(store: &Store) -> Result<u64, StoreError> {
    let mut erased = 0;
    loop {
        let page = store.messages_to_erase(ERASE_PAGE).await?;
        if page.is_empty() {
            return Ok(erased);
        }
        let deletions = page.iter().map(|&(sender, id)| {
            store.change_message(MessageChange {
                actor: sender,
                message_id: id,
                peer: None,
                kind: ChangeKind::Delete,
            })
        });
        for outcome in join_all(deletions).await {
            match outcome {
                Ok(_) => erased += 1,
                // Another node got there first.
                Err(StoreError::Refused(_)) => {}
                Err(err) => return Err(err),
            }
        }
    }
}
