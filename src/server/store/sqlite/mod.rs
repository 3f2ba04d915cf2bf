//! The SQLite backend: a file created on first start, WAL journal, foreign keys enforced.
//! New messages go through one group-committing writer (`writer`); everything else uses the pool.
//! This file holds the store itself and the row mapping its parts share; the queries live beside
//! their trait: `accounts`, `messages`, `admin`, `sessions`.

mod accounts;
mod admin;
mod checkpoints;
mod messages;
mod profiles;
mod readers;
mod reset_links;
mod retention;
mod search_index;
mod sessions;
mod writer;

use super::encoding::{
    change_from_name, change_name, escape_like, from_millis, from_optional_millis, stored_user,
};
use super::{CommitListener, StoreError};
use crate::domain::{ChatMessage, StreamEntry, User, UserId};
use anyhow::Context;
use chrono::{DateTime, Utc};
use readers::{Reader, Readers};
use search_index::SearchIndex;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use writer::MessageWriter;

/// Frees what SQLite keeps cached for this process's connections (their pages and the like) that
/// no running statement holds, and returns the bytes freed. A page freed is read again from the file
/// (from the kernel's cache, as a rule) when next needed. Process-wide; nothing to free, and no
/// harm, where SQLite was never opened.
pub fn release_page_caches() -> usize {
    // SAFETY: sqlite3_release_memory takes SQLite's own cache lock and frees only pages that no
    // statement holds; it may be called from any thread, at any time, with connections in use.
    let freed = unsafe { libsqlite3_sys::sqlite3_release_memory(i32::MAX) };
    usize::try_from(freed).unwrap_or(0)
}

/// Connections for reads: twice the cores, from 2 to 8. A page's queries are short next to its
/// rendering, and each connection is a thread with its own caches.
fn readers_wanted() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    u32::try_from(cores * 2).unwrap_or(u32::MAX).clamp(2, 8)
}

/// Connections in the pool, for the writes other than messages (SQLite takes one at a time) and
/// transactions.
const POOL_CONNECTIONS: u32 = 4;

#[derive(Clone)]
pub struct SqliteStore {
    /// Writes other than messages, and transactions.
    pool: SqlitePool,
    /// Reads (`readers`).
    readers: Readers,
    writer: MessageWriter,
    search: SearchIndex,
    _checkpoints: checkpoints::Checkpoints,
}

impl SqliteStore {
    /// Messages waiting for this node's writer.
    pub fn writer_queue_len(&self) -> usize {
        self.writer.queued()
    }

    /// Messages and changes this node's writer has written since it started.
    pub fn writer_jobs_written(&self) -> u64 {
        self.writer.written()
    }

    /// Opens (creating if needed, with its folder) the database at `url` and applies migrations.
    /// `on_commit` hears of every new message once it is committed, in id order.
    #[tracing::instrument(name = "store.open", level = "debug", skip_all)]
    pub async fn open(url: &str, on_commit: CommitListener) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("parse DATABASE_URL {url:?}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a message acknowledged as stored survives a power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // A deleted message's text is overwritten where it lay, wherever that costs no extra
            // I/O (docs/API.md: what a deletion erases).
            .pragma("secure_delete", "fast")
            .pragma(
                checkpoints::NO_CHECKPOINT_AT_COMMIT.0,
                checkpoints::NO_CHECKPOINT_AT_COMMIT.1,
            )
            .busy_timeout(Duration::from_secs(5));
        let file = options.get_filename();
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("create database folder {}", dir.display()))?;
        }
        // Every connection sees the search index (`search_index`), a file beside the database.
        let index_file = search_index::index_path(file);
        let attached = index_file.clone();
        let readers = Readers::new(options.clone(), index_file.clone(), readers_wanted());
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_CONNECTIONS)
            // An in-process connection cannot be lost while idle, so no ping before each use:
            // with it, every query was two trips to the connection's thread instead of one.
            .test_before_acquire(false)
            .after_connect(move |connection, _| {
                let index_file = attached.clone();
                Box::pin(async move { search_index::attach(connection, &index_file).await })
            })
            .connect_with(options.clone())
            .await
            .context("open sqlite database")?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .context("apply migrations")?;
        sessions::adopt_earlier_sessions(&pool).await?;
        let search = SearchIndex::start(&options, &index_file).await?;
        let follower = search.clone();
        let on_commit: CommitListener = Arc::new(move |entries| {
            follower.nudge();
            on_commit(entries);
        });
        let writer = writer::start(&options, on_commit).await?;
        let checkpoints = checkpoints::start(&options).await?;
        Ok(Self {
            pool,
            readers,
            writer,
            search,
            _checkpoints: checkpoints,
        })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A connection for a read (`readers`: no trip to its thread but the query's own).
    async fn reader(&self) -> Result<Reader, StoreError> {
        Ok(self.readers.get().await?)
    }
}

fn millis(date: DateTime<Utc>) -> i64 {
    date.timestamp_millis()
}

fn user_from_row(row: &SqliteRow) -> anyhow::Result<User> {
    user_from_columns(row, "")
}

/// Reads a user from columns `{prefix}id`, `{prefix}username`, `{prefix}is_admin`,
/// `{prefix}display_name` and `{prefix}deleted_at`, so one row can carry several users.
fn user_from_columns(row: &SqliteRow, prefix: &str) -> anyhow::Result<User> {
    let column = |name: &str| format!("{prefix}{name}");
    stored_user(
        row.try_get(column("id").as_str())?,
        row.try_get(column("username").as_str())?,
        row.try_get(column("is_admin").as_str())?,
        row.try_get(column("display_name").as_str())?,
        row.try_get(column("deleted_at").as_str())?,
    )
}

fn optional_user(row: &SqliteRow, prefix: &str) -> anyhow::Result<Option<User>> {
    let id: Option<i64> = row.try_get(format!("{prefix}id").as_str())?;
    id.map(|_| user_from_columns(row, prefix)).transpose()
}

fn message_from_row(row: &SqliteRow) -> anyhow::Result<ChatMessage> {
    let client_id: Option<String> = row.try_get("client_id")?;
    Ok(ChatMessage {
        id: row.try_get("id")?,
        sender: UserId::new(row.try_get("sender")?),
        receiver: UserId::new(row.try_get("receiver")?),
        message: row.try_get("message")?,
        date: from_millis(row.try_get("date")?)?,
        client_id: client_id
            .map(|c| c.parse())
            .transpose()
            .context("stored client_id is not a UUID")?,
        edited_at: from_optional_millis(row.try_get("edited_at")?)?,
        deleted_at: from_optional_millis(row.try_get("deleted_at")?)?,
    })
}

/// A stream entry from `position`, `change` and the message's columns (`ENTRY_COLUMNS`).
fn entry_from_row(row: &SqliteRow) -> anyhow::Result<StreamEntry> {
    Ok(StreamEntry {
        position: row.try_get("position")?,
        change: change_from_name(row.try_get("change")?)?,
        message: message_from_row(row)?,
    })
}

/// Maps the constraint failures callers can act on; everything else is an internal error.
fn classify(err: sqlx::Error, what: &'static str) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        if db.is_unique_violation() {
            return StoreError::Conflict(what);
        }
        if db.is_foreign_key_violation() {
            return StoreError::MissingReference;
        }
    }
    StoreError::Other(anyhow::Error::new(err).context(what))
}

/// The newest stream position in the database (messages, edits and deletions share one sequence),
/// which the writer numbers on from and the search index follows up to. The retention policy may
/// remove the newest rows; `stream_floor` remembers the highest position it removed.
const NEWEST_POSITION: &str = "select max((select coalesce(max(id), 0) from main.chat),
                (select coalesce(max(id), 0) from main.chat_change),
                (select position from main.stream_floor))";

const MESSAGE_COLUMNS: &str =
    "id, sender, receiver, message, date, client_id, edited_at, deleted_at";
const MESSAGE_COLUMNS_C: &str =
    "c.id, c.sender, c.receiver, c.message, c.date, c.client_id, c.edited_at, c.deleted_at";
