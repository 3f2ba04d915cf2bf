//! WAL checkpoints on a connection of their own.
//!
//! In WAL mode every commit appends pages to the `-wal` file, and a checkpoint copies them back
//! into the database file (and waits for the disk). Left to SQLite, the checkpoint runs inside
//! whichever commit takes the log past 1,000 pages: under load that is nearly always the message
//! writer's, so every few dozen batches one of them, and every send queued behind it, waited for
//! a checkpoint. Here no connection checkpoints at commit (`wal_autocheckpoint = 0`, set for every
//! connection the store opens), and this task does it several times a second, beside the writer:
//! a passive checkpoint never takes the write lock, so the writer goes on appending meanwhile.
//! When nothing has been written to the log since the last checkpoint (an idle server), the task
//! only looks at the log file's time of change: no query, no trip to the connection's thread,
//! except one checkpoint every few seconds all the same (a file's time of change is kept at the
//! kernel's tick, so a write just after a checkpoint began can leave it as it was).

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::ConnectOptions;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio_util::sync::{CancellationToken, DropGuard};

/// How often the log is copied back. At the writer's highest rates the log grows by a few MiB in
/// this time, about what SQLite's own threshold (1,000 pages) lets it grow.
const EVERY: Duration = Duration::from_millis(100);

/// How long an unchanged log goes without a checkpoint at most.
const AT_LEAST_EVERY: Duration = Duration::from_secs(5);

/// The setting that keeps commits from checkpointing, for every connection of the store.
pub(super) const NO_CHECKPOINT_AT_COMMIT: (&str, &str) = ("wal_autocheckpoint", "0");

/// The checkpointing task; it stops when the last clone of this is dropped (with its store).
#[derive(Clone)]
pub(super) struct Checkpoints {
    _stop: Arc<DropGuard>,
}

/// Opens the checkpointing connection and starts its task on the current runtime.
pub(super) async fn start(options: &SqliteConnectOptions) -> anyhow::Result<Checkpoints> {
    let mut connection = options
        .connect()
        .await
        .context("open the checkpointing connection")?;
    let log = log_path(options.get_filename());
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(async move {
        // The log's time of change when the last checkpoint began, and when that was: anything
        // written after it changes the time, and is copied back at the next tick.
        let mut checkpointed: Option<(SystemTime, Instant)> = None;
        loop {
            tokio::select! {
                () = tokio::time::sleep(EVERY) => {}
                () = stopped.cancelled() => return,
            }
            let changed = changed_at(&log);
            let unchanged = matches!(
                (changed, checkpointed),
                (Some(now), Some((then, at))) if now == then && at.elapsed() < AT_LEAST_EVERY
            );
            if unchanged {
                continue;
            }
            let began = Instant::now();
            match checkpoint(&mut connection).await {
                Ok(()) => checkpointed = changed.map(|time| (time, began)),
                Err(err) => tracing::warn!(error = %format!("{err:#}"), "WAL checkpoint failed"),
            }
        }
    });
    Ok(Checkpoints {
        _stop: Arc::new(stop.drop_guard()),
    })
}

/// SQLite's write-ahead log for the database at `database`: the same name with `-wal` added.
fn log_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// When the log was last written to; `None` if that cannot be read (then the task checkpoints
/// every tick, as if it had changed).
fn changed_at(log: &Path) -> Option<SystemTime> {
    std::fs::metadata(log).and_then(|m| m.modified()).ok()
}

async fn checkpoint(connection: &mut SqliteConnection) -> anyhow::Result<()> {
    // (busy, pages in the log, pages copied back): passive never waits, so busy is always 0.
    let _: (i64, i64, i64) = sqlx::query_as("pragma main.wal_checkpoint(passive)")
        .fetch_one(&mut *connection)
        .await
        .context("checkpoint the write-ahead log")?;
    Ok(())
}
