//! Work the server does on its own, in the background: finishing account deletions (erasing the
//! text of a deleted account's messages, freeing its username after `USERNAME_HELD`) and the
//! retention policy (`PARLEY_RETENTION_DAYS`: removing messages older than that).
//!
//! Erasing goes through the ordered stream, one ordinary deletion per message (`MessageStore::
//! change_message`), so the other person's open conversation shows each as deleted at once and a
//! client resuming from an older position hears of it in order. Deletions queue behind live sends
//! in the group commit, in batches of `ERASE_PAGE`, so a large account never holds the write lock
//! for long. What is left undone when a node stops is found again at the next start (the account
//! is marked deleted first), and two nodes doing the same message is harmless: the second finds it
//! deleted already.
//!
//! Retention removes the oldest messages a batch at a time, each batch its own short transaction
//! (`RetentionTable::remove_old_messages`), and then rests: live sends wait at most one small
//! batch for the write lock, and the removal takes a bounded share of the database's time. The
//! batch size follows how long batches hold the lock (`Batches`): a batch aims at `BATCH_TIME`,
//! and the rest after each batch is `REST_FACTOR` times as long as it held the lock. Live traffic
//! comes first: while this node's message writer is busy (`Traffic`: over `BUSY_RATE` messages
//! a second) the removal slows to one batch of at most `BUSY_BATCH` per `BUSY_EVERY`, so it still
//! moves under a load that never stops, and takes up the full pace again within `LOOK_AGAIN` of
//! the traffic dropping. Each run (one pass until nothing old is left) is recorded in the audit
//! log as `retention_run`, even one that found nothing, so the admin console can say when the
//! policy last ran.

use super::store::{
    AdminStore, ChangeKind, MessageChange, MessageStore, NewAuditEntry, ProfileTable,
    RetentionTable, Store, StoreError,
};
use crate::domain::admin::AuditAction;
use chrono::{DateTime, Duration as Days, SecondsFormat, Utc};
use futures::future::join_all;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How long a deleted account's username stays held, so that nobody can take it and pass for
/// them to the people they wrote to.
pub const USERNAME_HELD: Days = Days::days(30);
/// Messages erased per round.
const ERASE_PAGE: u32 = 500;
/// How often the work is looked for without being asked.
const EVERY: Duration = Duration::from_secs(3600);
/// How long one batch of old messages should hold the write lock.
const BATCH_TIME: Duration = Duration::from_millis(5);
/// The rest after a batch, as a multiple of the time it held the lock: the removal holds the lock
/// at most about 1 / (1 + REST_FACTOR) of the time.
const REST_FACTOR: u32 = 3;
/// The shortest rest after a batch.
const MIN_REST: Duration = Duration::from_millis(5);
/// Live messages (and changes) written per second above which the retention policy gives way to
/// them: removing messages writes pages all over the database file, and the message writer's
/// fsyncs pay for every one of them (docs/BENCHMARKS.md).
const BUSY_RATE: f64 = 50.0;
/// While the writer is that busy: one batch at most this often...
const BUSY_EVERY: Duration = Duration::from_secs(1);
/// ...of at most this many messages, so the removal still moves on under a load that never stops.
const BUSY_BATCH: u32 = 20;
/// How often a retention waiting for the writer to quieten looks again.
const LOOK_AGAIN: Duration = Duration::from_millis(100);

/// Wakes the background work early (after an account is deleted). Cheap to clone.
#[derive(Clone, Default)]
pub struct Housekeeping(Arc<Notify>);

impl Housekeeping {
    /// Starts the background work on `store`: at once, then every hour and whenever woken.
    /// `retention_days`: remove messages older than that (`None`: keep them).
    pub fn start(store: Store, retention_days: Option<u32>) -> Self {
        let housekeeping = Self::default();
        let wake = Arc::clone(&housekeeping.0);
        tokio::spawn(async move {
            loop {
                run_once(&store, retention_days).await;
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

/// One round of every job; a job that fails is tried again next round, and does not keep the
/// others from running.
async fn run_once(store: &Store, retention_days: Option<u32>) {
    if let Some(days) = retention_days {
        if let Err(err) = apply_retention(store, days).await {
            tracing::warn!(error = %err, "retention failed; trying again later");
        }
    }
    if let Err(err) = finish_account_deletions(store).await {
        tracing::warn!(error = %err, "finishing account deletions failed; trying again later");
    }
}

async fn finish_account_deletions(store: &Store) -> Result<(), StoreError> {
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

/// Removes every message older than `days` days, batch by batch, and records the run.
async fn apply_retention(store: &Store, days: u32) -> Result<u64, StoreError> {
    let started = Instant::now();
    let cutoff = Utc::now() - Days::days(i64::from(days));
    let mut removed = 0;
    let mut batches = Batches::default();
    let mut traffic = Traffic::new(store);
    let mut busy = false;
    loop {
        let began = Instant::now();
        let size = if busy {
            batches.size.min(BUSY_BATCH)
        } else {
            batches.size
        };
        let batch = store
            .remove_old_messages(cutoff.timestamp_millis(), size)
            .await?;
        removed += batch.messages;
        if batch.messages == 0 {
            break;
        }
        if size == batches.size {
            // Only a batch of the size it chose tells `Batches` anything: the small ones of a busy
            // spell would grow it to a size nobody measured.
            batches.took(batch.held);
        }
        tokio::time::sleep((batch.held * REST_FACTOR).max(MIN_REST)).await;
        // While live messages are being written, wait out the rest of `BUSY_EVERY`, and go on at
        // the full pace as soon as they stop.
        busy = traffic.busy();
        while busy && began.elapsed() < BUSY_EVERY {
            tokio::time::sleep(LOOK_AGAIN.min(BUSY_EVERY.saturating_sub(began.elapsed()))).await;
            busy = traffic.busy();
        }
    }
    let detail = run_detail(removed, cutoff, days, started.elapsed());
    store
        .append_audit(NewAuditEntry {
            admin: None,
            action: AuditAction::RetentionRun,
            user_a: None,
            user_b: None,
            detail: Some(&detail),
            reason: None,
        })
        .await?;
    if removed > 0 {
        tracing::info!(removed, days, "retention removed old messages");
    }
    Ok(removed)
}

/// How fast the message writer has been writing since the last look.
struct Traffic<'a> {
    store: &'a Store,
    rate: Rate,
}

impl<'a> Traffic<'a> {
    fn new(store: &'a Store) -> Self {
        let rate = Rate::starting(store.writer_jobs_written(), Instant::now());
        Self { store, rate }
    }

    /// Whether the writer wrote more than `BUSY_RATE` jobs a second since the last look.
    fn busy(&mut self) -> bool {
        self.rate
            .since_last(self.store.writer_jobs_written(), Instant::now())
            > BUSY_RATE
    }
}

/// A count's growth per second between one reading and the next.
struct Rate {
    count: u64,
    at: Instant,
}

impl Rate {
    fn starting(count: u64, at: Instant) -> Self {
        Self { count, at }
    }

    /// Per second since the last reading (or the start), and this reading becomes the last.
    fn since_last(&mut self, count: u64, at: Instant) -> f64 {
        let seconds = at.duration_since(self.at).as_secs_f64().max(1e-3);
        let rate = count.saturating_sub(self.count) as f64 / seconds;
        (self.count, self.at) = (count, at);
        rate
    }
}

/// The size of the next batch of old messages: halved after a batch that took longer than
/// `BATCH_TIME`, grown by half after one that took less than half of it.
struct Batches {
    size: u32,
}

impl Batches {
    const MIN: u32 = 10;
    const MAX: u32 = 2_000;

    fn took(&mut self, took: Duration) {
        if took > BATCH_TIME {
            self.size = (self.size / 2).max(Self::MIN);
        } else if took < BATCH_TIME / 2 {
            self.size = (self.size + self.size / 2).min(Self::MAX);
        }
    }
}

impl Default for Batches {
    fn default() -> Self {
        Self { size: 100 }
    }
}

/// What the audit log says of a retention run.
fn run_detail(removed: u64, cutoff: DateTime<Utc>, days: u32, took: Duration) -> String {
    let plural = if removed == 1 { "" } else { "s" };
    format!(
        "removed {removed} message{plural} dated before {} (kept for {days} days) in {:.1} s",
        cutoff.to_rfc3339_opts(SecondsFormat::Secs, true),
        took.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_shrink_when_slow_and_grow_when_quick_within_bounds() {
        let mut batches = Batches::default();
        batches.took(BATCH_TIME * 3);
        assert_eq!(batches.size, 50);
        batches.took(BATCH_TIME);
        assert_eq!(batches.size, 50, "on target: unchanged");
        batches.took(BATCH_TIME / 4);
        assert_eq!(batches.size, 75);
        for _ in 0..40 {
            batches.took(Duration::ZERO);
        }
        assert_eq!(batches.size, Batches::MAX);
        for _ in 0..40 {
            batches.took(Duration::from_secs(1));
        }
        assert_eq!(batches.size, Batches::MIN);
    }

    #[test]
    fn a_rate_is_the_growth_per_second_since_the_last_reading() {
        let start = Instant::now();
        let mut rate = Rate::starting(100, start);
        assert_eq!(
            rate.since_last(300, start + Duration::from_millis(100)),
            2_000.0
        );
        assert_eq!(
            rate.since_last(300, start + Duration::from_millis(600)),
            0.0,
            "idle since"
        );
        assert_eq!(
            rate.since_last(310, start + Duration::from_millis(1600)),
            10.0
        );
        // Two readings in the same instant do not divide by zero.
        assert!(rate
            .since_last(311, start + Duration::from_millis(1600))
            .is_finite());
    }

    #[test]
    fn a_run_says_how_many_went_and_from_when() {
        let cutoff = DateTime::parse_from_rfc3339("2026-10-27T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            run_detail(1, cutoff, 30, Duration::from_millis(40)),
            "removed 1 message dated before 2026-10-27T12:00:00Z (kept for 30 days) in 0.0 s"
        );
        assert_eq!(
            run_detail(1_000_000, cutoff, 30, Duration::from_millis(61_240)),
            "removed 1000000 messages dated before 2026-10-27T12:00:00Z (kept for 30 days) in 61.2 s"
        );
    }
}
