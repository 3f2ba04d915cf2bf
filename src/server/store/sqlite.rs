//! The SQLite backend: a file created on first start, WAL journal, foreign keys enforced.

use super::{ChatStore, Credentials, HistoryPage, NewMessage, StoreError};
use crate::domain::{ChatMessage, ConversationSummary, User, UserId, Username};
use anyhow::Context;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed, with its folder) the database at `url` and applies migrations.
    #[tracing::instrument(name = "open sqlite store", skip_all, fields(url = %url))]
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("parse DATABASE_URL {url:?}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a message acknowledged as stored survives a power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let file = options.get_filename();
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("create database folder {}", dir.display()))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .context("open sqlite database")?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .context("apply migrations")?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn millis(date: DateTime<Utc>) -> i64 {
    date.timestamp_millis()
}

fn from_millis(ms: i64) -> anyhow::Result<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .with_context(|| format!("date out of range: {ms}"))
}

fn user_from_row(row: &SqliteRow) -> anyhow::Result<User> {
    let name: String = row.try_get("username")?;
    Ok(User {
        id: UserId::new(row.try_get("id")?),
        // Rows are only written through `Username::parse`; a bad one means the file was edited.
        username: Username::parse(&name)
            .with_context(|| format!("stored username {name:?} is invalid"))?,
        is_admin: row.try_get("is_admin")?,
    })
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

const MESSAGE_COLUMNS: &str = "id, sender, receiver, message, date, client_id";

impl ChatStore for SqliteStore {
    #[tracing::instrument(name = "insert user", skip(self, password_hash))]
    async fn create_user(
        &self,
        name: &Username,
        password_hash: &str,
        is_admin: bool,
    ) -> Result<User, StoreError> {
        let row = sqlx::query(
            "insert into users (username, password_hash, is_admin, created_at) values ($1, $2, $3, $4)
             returning id, username, is_admin",
        )
        .bind(name.as_str())
        .bind(password_hash)
        .bind(is_admin)
        .bind(millis(Utc::now()))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| classify(e, "username"))?;
        Ok(user_from_row(&row)?)
    }

    #[tracing::instrument(name = "load credentials", skip(self))]
    async fn credentials(&self, name: &Username) -> Result<Option<Credentials>, StoreError> {
        let row = sqlx::query(
            "select id, username, is_admin, password_hash from users where username = $1",
        )
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await
        .context("select credentials")?;
        row.map(|row| -> Result<Credentials, StoreError> {
            Ok(Credentials {
                user: user_from_row(&row)?,
                password_hash: row.try_get("password_hash").context("hash")?,
            })
        })
        .transpose()
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("select id, username, is_admin from users where id = $1")
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await
            .context("select user by id")?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("select id, username, is_admin from users where username = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .context("select user by name")?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn search_users(
        &self,
        prefix: &str,
        exclude: UserId,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        // Escape LIKE's wildcards so a search for "a_b" means exactly that.
        let escaped: String = prefix
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let rows = sqlx::query(
            "select id, username, is_admin from users
             where username like $1 escape '\\' and id <> $2 order by username limit $3",
        )
        .bind(format!("{escaped}%"))
        .bind(exclude.get())
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .context("search users")?;
        Ok(rows
            .iter()
            .map(user_from_row)
            .collect::<anyhow::Result<_>>()?)
    }

    #[tracing::instrument(name = "insert chat row", skip(self, message), fields(sender = %message.sender, receiver = %message.receiver))]
    async fn insert_message(&self, message: NewMessage<'_>) -> Result<ChatMessage, StoreError> {
        let row = sqlx::query(&format!(
            "insert into chat (sender, receiver, message, date, client_id) values ($1, $2, $3, $4, $5)
             returning {MESSAGE_COLUMNS}"
        ))
        .bind(message.sender.get())
        .bind(message.receiver.get())
        .bind(message.text)
        .bind(millis(message.date))
        .bind(message.client_id.map(|c| c.to_string()))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| classify(e, "chat row"))?;
        Ok(message_from_row(&row)?)
    }

    #[tracing::instrument(name = "read history page", skip(self))]
    async fn history(
        &self,
        a: UserId,
        b: UserId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<HistoryPage, StoreError> {
        let (lo, hi) = (a.min(b).get(), a.max(b).get());
        // One row more than asked tells whether an older page exists.
        let fetch = i64::from(limit) + 1;
        let rows = match before {
            None => sqlx::query(&format!(
                "select {MESSAGE_COLUMNS} from chat where pair_lo = $1 and pair_hi = $2
                 order by date desc, id desc limit $3"
            ))
            .bind(lo)
            .bind(hi)
            .bind(fetch)
            .fetch_all(&self.pool)
            .await,
            // A `before` id outside this conversation matches no anchor row, so the page is empty:
            // it can never reveal where another conversation's message sits.
            Some(before) => sqlx::query(&format!(
                "select {MESSAGE_COLUMNS} from chat
                 where pair_lo = $1 and pair_hi = $2
                   and (date, id) < (select date, id from chat where id = $3 and pair_lo = $1 and pair_hi = $2)
                 order by date desc, id desc limit $4"
            ))
            .bind(lo)
            .bind(hi)
            .bind(before)
            .bind(fetch)
            .fetch_all(&self.pool)
            .await,
        }
        .context("select history page")?;
        let has_more = rows.len() as i64 > i64::from(limit);
        let mut messages = rows
            .iter()
            .take(limit as usize)
            .map(message_from_row)
            .collect::<anyhow::Result<Vec<_>>>()?;
        messages.reverse();
        Ok(HistoryPage { messages, has_more })
    }

    #[tracing::instrument(name = "read conversations", skip(self))]
    async fn conversations(&self, user: UserId) -> Result<Vec<ConversationSummary>, StoreError> {
        let rows = sqlx::query(
            "with mine as (
                 select id, sender, receiver, message, date, client_id,
                        case when sender = $1 then receiver else sender end as peer,
                        row_number() over (partition by pair_lo, pair_hi order by date desc, id desc) as rank
                 from chat where sender = $1 or receiver = $1
             )
             select m.id, m.sender, m.receiver, m.message, m.date, m.client_id,
                    u.id as peer_id, u.username as peer_username, u.is_admin as peer_is_admin
             from mine m join users u on u.id = m.peer
             where m.rank = 1
             order by m.date desc, m.id desc",
        )
        .bind(user.get())
        .fetch_all(&self.pool)
        .await
        .context("select conversations")?;
        let summaries = rows
            .iter()
            .map(|row| -> anyhow::Result<ConversationSummary> {
                let name: String = row.try_get("peer_username")?;
                Ok(ConversationSummary {
                    peer: User {
                        id: UserId::new(row.try_get("peer_id")?),
                        username: Username::parse(&name)?,
                        is_admin: row.try_get("peer_is_admin")?,
                    },
                    last_message: message_from_row(row)?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(summaries)
    }
}
