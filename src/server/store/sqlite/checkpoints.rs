//! WAL checkpoints on a connection of their own.
//!
//! In WAL mode every commit appends pages to the `-wal` file, and a checkpoint copies them back
//! into the database file (and waits for the disk). Left to SQLite, the checkpoint runs inside
//! whichever commit takes the log past 1,000 pages: under load that is nearly always the message
//! writer's, so every few dozen batches one of them, and every send queued behind it, waited for
//! a checkpoint. Here no connection checkpoints at commit (`wal_autocheckpoint = 0`, set for every
//! connection the store opens), and this task does it several times a second, beside the writer:
//! a passive checkpoint never takes the write lock, so the writer goes on appending meanwhile.

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::ConnectOptions;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::{CancellationToken, DropGuard};

/// How often the log is copied back. At the writer's highest rates the log grows by a few MiB in
/// this time, about what SQLite's own threshold (1,000 pages) lets it grow.
const EVERY: Duration = Duration::from_millis(100);

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
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(EVERY) => {}
                () = stopped.cancelled() => return,
            }
            if let Err(err) = checkpoint(&mut connection).await {
                tracing::warn!(error = %format!("{err:#}"), "WAL checkpoint failed");
            }
        }
    });
    Ok(Checkpoints {
        _stop: Arc::new(stop.drop_guard()),
    })
}

async fn checkpoint(connection: &mut SqliteConnection) -> anyhow::Result<()> {
    // (busy, pages in the log, pages copied back): passive never waits, so busy is always 0.
    let _: (i64, i64, i64) = sqlx::query_as("pragma main.wal_checkpoint(passive)")
        .fetch_one(&mut *connection)
        .await
        .context("checkpoint the write-ahead log")?;
    Ok(())
}
