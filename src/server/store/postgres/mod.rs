//! The PostgreSQL backend: one database shared by every app node. New messages go through one
//! group-committing writer per node (`writer`), which takes their ids and dates from a counter row
//! so that they become visible in id order across all nodes; everything else uses the pool.
//! This file holds the store itself and the row mapping its parts share; the queries live beside
//! their trait: `accounts`, `messages`, `admin`, `sessions`. Their meaning is the SQLite backend's, method for
//! method; where PostgreSQL needs a different spelling (`greatest`, `least`, `bool`, casts) the SQL
//! differs and nothing else does.
//!
//! Nothing here may put the URL in an error or a span: it can hold the password.

mod accounts;
mod admin;
mod messages;
mod profiles;
mod reset_links;
mod retention;
mod sessions;
mod writer;

use super::encoding::{
    change_from_name, change_name, escape_like, from_millis, from_optional_millis, stored_user,
};
use super::{CommitListener, StoreError};
use crate::domain::{ChatMessage, StreamEntry, User, UserId};
use anyhow::Context;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow, Postgres};
use sqlx::{ConnectOptions, Connection, PgPool, Row};
use std::borrow::Cow;
use std::str::FromStr;
use writer::MessageWriter;

/// Connections each node keeps for reads and the other writes. Every node also holds one more,
/// the writer's.
const POOL_SIZE: u32 = 8;

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    writer: MessageWriter,
}

impl PgStore {
    /// Messages waiting for this node's writer.
    pub fn writer_queue_len(&self) -> usize {
        self.writer.queued()
    }

    /// Messages and changes this node's writer has written since it started.
    pub fn writer_jobs_written(&self) -> u64 {
        self.writer.written()
    }

    /// Connects to the database at `url`, applies migrations and starts this node's writer.
    /// `on_commit` hears of every message this node commits, batch after batch in id order.
    #[tracing::instrument(
        name = "store.open",
        level = "debug",
        skip_all,
        fields(backend = "postgres")
    )]
    pub async fn open(url: &str, on_commit: CommitListener) -> anyhow::Result<Self> {
        // The driver's message names the fault, never the URL.
        let options =
            PgConnectOptions::from_str(url).context("read DATABASE_URL as a PostgreSQL URL")?;
        // One plain connection first: the pool retries a refused connection for 30 s, which would
        // make a wrong host or port look like a hang at start-up.
        let mut first = options.connect().await.context("connect to PostgreSQL")?;
        // Nodes starting together are fine: sqlx holds an advisory lock while it migrates.
        sqlx::migrate!("./migrations/postgres")
            .run(&mut first)
            .await
            .context("apply migrations")?;
        let _ = first.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .connect_with(options.clone())
            .await
            .context("connect to PostgreSQL")?;
        sessions::adopt_earlier_sessions(&pool).await?;
        let writer = writer::start(&options, on_commit).await?;
        Ok(Self { pool, writer })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A connection for a read: from the pool, which checks it (a PostgreSQL connection can be
    /// lost while idle).
    async fn reader(&self) -> Result<PoolConnection<Postgres>, StoreError> {
        Ok(self.pool.acquire().await.context("take a connection")?)
    }
}

fn user_from_row(row: &PgRow) -> anyhow::Result<User> {
    user_from_columns(row, "")
}

/// Reads a user from columns `{prefix}id`, `{prefix}username`, `{prefix}is_admin`,
/// `{prefix}display_name` and `{prefix}deleted_at`, so one row can carry several users.
fn user_from_columns(row: &PgRow, prefix: &str) -> anyhow::Result<User> {
    let column = |name: &str| format!("{prefix}{name}");
    stored_user(
        row.try_get(column("id").as_str())?,
        row.try_get(column("username").as_str())?,
        row.try_get(column("is_admin").as_str())?,
        row.try_get(column("display_name").as_str())?,
        row.try_get(column("deleted_at").as_str())?,
    )
}

fn optional_user(row: &PgRow, prefix: &str) -> anyhow::Result<Option<User>> {
    let id: Option<i64> = row.try_get(format!("{prefix}id").as_str())?;
    id.map(|_| user_from_columns(row, prefix)).transpose()
}

fn message_from_row(row: &PgRow) -> anyhow::Result<ChatMessage> {
    Ok(ChatMessage {
        id: row.try_get("id")?,
        sender: UserId::new(row.try_get("sender")?),
        receiver: UserId::new(row.try_get("receiver")?),
        message: row.try_get("message")?,
        date: from_millis(row.try_get("date")?)?,
        client_id: row.try_get("client_id")?,
        edited_at: from_optional_millis(row.try_get("edited_at")?)?,
        deleted_at: from_optional_millis(row.try_get("deleted_at")?)?,
    })
}

/// A stream entry from `position`, `change` and the message's columns.
fn entry_from_row(row: &PgRow) -> anyhow::Result<StreamEntry> {
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

/// A `u32` limit or offset as PostgreSQL binds it (it has no unsigned integers).
fn bigint(n: u32) -> i64 {
    i64::from(n)
}

/// PostgreSQL's `text` cannot hold NUL (SQLite's can), and a parameter with one fails the whole
/// statement. Stored names and messages never contain it (they are parsed first), so a lookup by
/// a name with a NUL simply finds nothing; free text stored as typed (the audit log's detail and
/// reason) keeps the NUL as U+FFFD rather than failing the request that is being recorded.
fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

fn without_nul(text: &str) -> Cow<'_, str> {
    if has_nul(text) {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}

const MESSAGE_COLUMNS: &str =
    "id, sender, receiver, message, date, client_id, edited_at, deleted_at";
const MESSAGE_COLUMNS_C: &str =
    "c.id, c.sender, c.receiver, c.message, c.date, c.client_id, c.edited_at, c.deleted_at";
