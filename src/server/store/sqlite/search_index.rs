//! The full-text index of messages on SQLite, kept in a file of its own beside the database and
//! written by a follower that trails the message writer's commits.
//!
//! Indexing a message (tokenising its text, updating FTS5's segments, several pages written at
//! every commit) was about a third of storing it, and in the writer's transaction it was paid on
//! the one path every send waits on, holding the database's only write lock. Here the writer commits a message without
//! it; the follower, on its own connection and its own file (so its own write lock and its own
//! thread), indexes everything committed since it last looked, one transaction per pass. A pass
//! is started by each commit (`nudge`), by a search that wants to be complete, and once a second
//! for rows written by anything else.
//!
//! The index is derived data: it holds no text (FTS5 `content=''`, with `contentless_delete` so a
//! row can be removed by its id alone) and can be rebuilt from the database at any time. Its file
//! records how far it has read (`progress`), in the same transaction as what it indexed, so a crash
//! or a power cut leaves it consistent and at most behind; a missing file is rebuilt from the
//! start, and one that is ahead of the database (a database restored from a backup) is emptied and
//! rebuilt.
//!
//! What a pass reads is the message stream (`domain::StreamEntry`): new messages by their id, and
//! edits and deletions from `chat_change`, whose positions share one sequence. Rows removed outright
//! (the retention policy) are listed in `chat_removed` by a trigger and taken out of the index too;
//! the follower empties that list every few seconds, not at each pass, since that is a write to the
//! database itself and the message writer would wait behind it.
//!
//! A search first waits (briefly) until the index has reached the newest position, so what was
//! sent before a search is found by it.

use super::NEWEST_POSITION;
use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Executor};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// Positions read in one pass: bounds a pass's transaction while a large database is first
/// indexed, so the progress it makes is committed as it goes.
const POSITIONS_PER_PASS: i64 = 20_000;
/// The least time between two passes. Each pass writes FTS5 segments whatever its size, so while
/// messages flow a pass takes in those of the last few dozen milliseconds rather than each commit's
/// few; a search waits at most this much longer.
const PASS_SPACING: Duration = Duration::from_millis(50);
/// Removals taken out of the index in one pass: the retention policy can remove tens of thousands
/// of rows while the server is busy, and one pass should not take a core from live traffic for long.
const REMOVALS_PER_PASS: i64 = 5_000;
/// How often the follower empties `chat_removed` of what it has applied: a write to the database
/// itself, which the message writer would wait behind, so not at every pass, and a few rows at a
/// time (`FORGET_AT_ONCE`, each its own short transaction, with `FORGET_PAUSE` between them).
const FORGET_REMOVALS_EVERY: Duration = Duration::from_secs(5);
const FORGET_AT_ONCE: i64 = 1_000;
const FORGET_PAUSE: Duration = Duration::from_millis(10);
/// How often the follower looks without being told: rows written outside the writer (an import,
/// the retention policy's removals) are indexed within this.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// The index's tables, created on first start.
const SCHEMA_SQL: &str = "
    create virtual table if not exists search.chat_words using fts5 (
        message,
        content = '',
        contentless_delete = 1,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    create table if not exists search.progress (
        only     integer primary key check (only = 1),
        -- Every stream position up to this one is indexed.
        position integer not null,
        -- Every row of `chat_removed` up to this `seq` is out of the index.
        removed  integer not null
    );
    insert into search.progress (only, position, removed) values (1, 0, 0)
        on conflict (only) do nothing;
";

/// Where the index of the database at `database` lives: `parley.db` → `parley-search.db`.
pub(super) fn index_path(database: &Path) -> PathBuf {
    let stem = database
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match database.extension() {
        Some(ext) => format!("{stem}-search.{}", ext.to_string_lossy()),
        None => format!("{stem}-search"),
    };
    database.with_file_name(name)
}

/// Attaches the index at `path` to `connection` as `search`.
pub(super) async fn attach(connection: &mut SqliteConnection, path: &Path) -> sqlx::Result<()> {
    sqlx::query("attach database $1 as search")
        .bind(path.to_string_lossy().into_owned())
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// The follower's handle: tell it there is something new, wait for it to catch up.
#[derive(Clone)]
pub(super) struct SearchIndex {
    wake: Arc<Notify>,
    /// The newest position indexed.
    indexed: watch::Receiver<i64>,
}

impl SearchIndex {
    /// Opens (creating if needed) the index at `path` for the database `options` opens, and starts
    /// the follower on the current runtime. The follower stops when the last handle is dropped.
    pub async fn start(options: &SqliteConnectOptions, path: &Path) -> anyhow::Result<Self> {
        let mut connection = options
            .clone()
            .connect()
            .await
            .context("open the search index's connection")?;
        attach(&mut connection, path)
            .await
            .with_context(|| format!("attach the search index {}", path.display()))?;
        // Derived data: a power cut may lose the last passes (the follower does them again), never
        // leave the file inconsistent, so the index need not wait for the disk at every commit.
        // The store's connections leave checkpoints to `checkpoints`, which sees only the database;
        // the index's log is this connection's to copy back, as SQLite does by default.
        connection
            .execute(
                "pragma search.journal_mode = wal; pragma search.synchronous = normal;
                 pragma wal_autocheckpoint = 1000",
            )
            .await
            .context("set up the search index's journal")?;
        connection
            .execute(SCHEMA_SQL)
            .await
            .context("create the search index")?;
        forget_if_ahead(&mut connection).await?;
        let start = Marks::read(&mut connection).await?.indexed;
        let (reached, indexed) = watch::channel(start);
        let wake = Arc::new(Notify::new());
        tokio::spawn(follow(connection, Arc::clone(&wake), reached));
        Ok(Self { wake, indexed })
    }

    /// Something was committed: index it soon.
    pub fn nudge(&self) {
        self.wake.notify_one();
    }

    /// Waits until every position up to `position` is indexed, for at most `patience`; says
    /// whether it got there.
    pub async fn reach(&self, position: i64, patience: Duration) -> bool {
        self.nudge();
        let mut indexed = self.indexed.clone();
        let reached = tokio::time::timeout(patience, indexed.wait_for(|&p| p >= position)).await;
        matches!(reached, Ok(Ok(_)))
    }
}

/// The highest `seq` `chat_removed` has ever handed out.
const NEWEST_REMOVAL: &str =
    "select coalesce((select seq from main.sqlite_sequence where name = 'chat_removed'), 0)";

/// Where the index stands against the database, read in one query.
struct Marks {
    /// Every position up to this one is indexed.
    indexed: i64,
    /// Every row of `chat_removed` up to this `seq` is out of the index.
    removed: i64,
    /// The newest position in the database.
    newest: i64,
    /// The newest `seq` `chat_removed` has handed out.
    newest_removal: i64,
}

impl Marks {
    async fn read(connection: &mut SqliteConnection) -> anyhow::Result<Self> {
        let (indexed, removed, newest, newest_removal) = sqlx::query_as(&format!(
            "select position, removed, ({NEWEST_POSITION}), ({NEWEST_REMOVAL}) from search.progress"
        ))
        .fetch_one(&mut *connection)
        .await
        .context("read the search index's progress")?;
        Ok(Self {
            indexed,
            removed,
            newest,
            newest_removal,
        })
    }

    /// The index claims more than the database holds: the database was replaced by an older
    /// copy, and positions after the copy's newest would otherwise never be indexed.
    fn ahead(&self) -> bool {
        self.indexed > self.newest || self.removed > self.newest_removal
    }
}

/// Empties the index if it is ahead of the database (`Marks::ahead`).
async fn forget_if_ahead(connection: &mut SqliteConnection) -> anyhow::Result<()> {
    let marks = Marks::read(connection).await?;
    if marks.ahead() {
        tracing::warn!(
            indexed = marks.indexed,
            newest = marks.newest,
            "the search index is ahead of the database; rebuilding it"
        );
        connection
            .execute(
                "delete from search.chat_words;
                 update search.progress set position = 0, removed = 0",
            )
            .await
            .context("empty the search index")?;
    }
    Ok(())
}

/// The follower: one pass whenever told, or every `LOOK_EVERY`; stops when every handle is gone.
async fn follow(mut connection: SqliteConnection, wake: Arc<Notify>, reached: watch::Sender<i64>) {
    let mut removals_forgotten = Instant::now();
    loop {
        match pass(&mut connection).await {
            Ok(Pass {
                reached: position,
                more,
                worked,
            }) => {
                reached.send_replace(position);
                if more {
                    // A first indexing, in chunks: go on without waiting.
                    continue;
                }
                if worked {
                    // What is committed meanwhile waits for the next pass (a nudge is kept).
                    tokio::time::sleep(PASS_SPACING).await;
                }
            }
            Err(err) => {
                tracing::error!(error = %format!("{err:#}"), "indexing messages for search failed")
            }
        }
        if removals_forgotten.elapsed() >= FORGET_REMOVALS_EVERY {
            removals_forgotten = Instant::now();
            if let Err(err) = forget_applied_removals(&mut connection).await {
                tracing::warn!(error = %format!("{err:#}"), "emptying chat_removed failed");
            }
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(LOOK_EVERY) => {}
            () = reached.closed() => return,
        }
    }
}

/// What a pass did.
struct Pass {
    /// Every position up to this one is indexed.
    reached: i64,
    /// There were more positions than one pass reads.
    more: bool,
    /// Something was indexed or taken out.
    worked: bool,
}

/// Indexes what was committed since the last pass, in one transaction that reads one snapshot of
/// the database.
async fn pass(connection: &mut SqliteConnection) -> anyhow::Result<Pass> {
    let mut transaction = connection.begin().await.context("begin an indexing pass")?;
    let Marks {
        indexed: from,
        removed,
        newest,
        newest_removal,
    } = Marks::read(&mut transaction).await?;
    let newest_removal = newest_removal.min(removed + REMOVALS_PER_PASS);
    if newest <= from && newest_removal <= removed {
        return Ok(Pass {
            reached: from,
            more: false,
            worked: false,
        });
    }
    let to = newest.min(from + POSITIONS_PER_PASS);
    // Rows removed from the database (a no-op for one never indexed).
    sqlx::query(
        "delete from search.chat_words where rowid in
             (select message_id from main.chat_removed where seq > $1 and seq <= $2)",
    )
    .bind(removed)
    .bind(newest_removal)
    .execute(&mut *transaction)
    .await
    .context("take removed messages out of the search index")?;
    // New messages, with their text as it is now (so an edit already made is read here).
    sqlx::query(
        "insert into search.chat_words (rowid, message)
         select id, message from main.chat
         where id > $1 and id <= $2 and deleted_at is null",
    )
    .bind(from)
    .bind(to)
    .execute(&mut *transaction)
    .await
    .context("index new messages")?;
    // Messages indexed by an earlier pass and edited or deleted since: their words go, and an
    // edited one's new words come in. (A change always comes after its message, so a message
    // first read by this pass already has its latest text.)
    const CHANGED: &str = "select message_id from main.chat_change
                           where id > $1 and id <= $2 and message_id <= $1";
    sqlx::query(&format!(
        "delete from search.chat_words where rowid in ({CHANGED})"
    ))
    .bind(from)
    .bind(to)
    .execute(&mut *transaction)
    .await
    .context("take changed messages out of the search index")?;
    sqlx::query(&format!(
        "insert into search.chat_words (rowid, message)
         select id, message from main.chat where id in ({CHANGED}) and deleted_at is null"
    ))
    .bind(from)
    .bind(to)
    .execute(&mut *transaction)
    .await
    .context("index edited messages")?;
    sqlx::query("update search.progress set position = $1, removed = $2")
        .bind(to)
        .bind(newest_removal)
        .execute(&mut *transaction)
        .await
        .context("record the search index's progress")?;
    transaction
        .commit()
        .await
        .context("commit an indexing pass")?;
    Ok(Pass {
        reached: to,
        more: to < newest || newest_removal == removed + REMOVALS_PER_PASS,
        worked: true,
    })
}

/// Empties `chat_removed` of the rows the index has applied, `FORGET_AT_ONCE` at a time; nothing
/// to write when there are none.
async fn forget_applied_removals(connection: &mut SqliteConnection) -> anyhow::Result<()> {
    let removed: i64 = sqlx::query_scalar("select removed from search.progress")
        .fetch_one(&mut *connection)
        .await
        .context("read the search index's progress")?;
    // A delete takes the write lock even when it finds nothing: look first.
    let applied: bool =
        sqlx::query_scalar("select exists (select 1 from main.chat_removed where seq <= $1)")
            .bind(removed)
            .fetch_one(&mut *connection)
            .await
            .context("look for applied removals")?;
    if !applied {
        return Ok(());
    }
    loop {
        let forgotten = sqlx::query(
            "delete from main.chat_removed where seq in
                 (select seq from main.chat_removed where seq <= $1 order by seq limit $2)",
        )
        .bind(removed)
        .bind(FORGET_AT_ONCE)
        .execute(&mut *connection)
        .await
        .context("forget removals the search index has applied")?
        .rows_affected();
        if forgotten < FORGET_AT_ONCE as u64 {
            return Ok(());
        }
        tokio::time::sleep(FORGET_PAUSE).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_sits_beside_the_database() {
        assert_eq!(
            index_path(Path::new("data/parley.db")),
            Path::new("data/parley-search.db")
        );
        assert_eq!(
            index_path(Path::new("/var/lib/parley/db")),
            Path::new("/var/lib/parley/db-search")
        );
    }
}
