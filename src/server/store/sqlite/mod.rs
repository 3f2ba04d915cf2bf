//! The SQLite backend: a file created on first start, WAL journal, foreign keys enforced.
//! New messages go through one group-committing writer (`writer`); everything else uses the pool.

mod writer;

use super::{
    Account, ChatStore, CommitListener, Credentials, HistoryPage, NewAuditEntry, NewMessage,
    PageEnd, StoreError, Stored,
};
use crate::domain::admin::{AccountSummary, AuditAction, AuditEntry, ChatSummary, SearchHit};
use crate::domain::{
    BlockedUser, ChatMessage, ConversationSummary, Relation, User, UserId, Username,
};
use anyhow::Context;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};
use std::str::FromStr;
use std::time::Duration;
use writer::MessageWriter;

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: MessageWriter,
}

impl SqliteStore {
    /// Opens (creating if needed, with its folder) the database at `url` and applies migrations.
    /// `on_commit` hears of every new message once it is committed, in id order.
    #[tracing::instrument(name = "open sqlite store", skip_all, fields(url = %url))]
    pub async fn open(url: &str, on_commit: CommitListener) -> anyhow::Result<Self> {
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
            .connect_with(options.clone())
            .await
            .context("open sqlite database")?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .context("apply migrations")?;
        let writer = MessageWriter::start(&options, on_commit).await?;
        Ok(Self { pool, writer })
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
    user_from_columns(row, "")
}

/// Reads a user from columns `{prefix}id`, `{prefix}username`, `{prefix}is_admin`, so one row can
/// carry several users.
fn user_from_columns(row: &SqliteRow, prefix: &str) -> anyhow::Result<User> {
    let name: String = row.try_get(format!("{prefix}username").as_str())?;
    Ok(User {
        id: UserId::new(row.try_get(format!("{prefix}id").as_str())?),
        // Rows are only written through `Username::parse`; a bad one means the file was edited.
        username: Username::parse(&name)
            .with_context(|| format!("stored username {name:?} is invalid"))?,
        is_admin: row.try_get(format!("{prefix}is_admin").as_str())?,
    })
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
const MESSAGE_COLUMNS_C: &str = "c.id, c.sender, c.receiver, c.message, c.date, c.client_id";

/// Escapes LIKE's wildcards so a search for "a_b" means exactly that.
fn escape_like(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

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
            "select id, username, is_admin, password_hash, disabled from users where username = $1",
        )
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await
        .context("select credentials")?;
        row.map(|row| -> Result<Credentials, StoreError> {
            Ok(Credentials {
                user: user_from_row(&row)?,
                password_hash: row.try_get("password_hash").context("hash")?,
                disabled: row.try_get("disabled").context("disabled")?,
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

    async fn account(&self, id: UserId) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query("select id, username, is_admin, disabled from users where id = $1")
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await
            .context("select account")?;
        row.map(|row| -> Result<Account, StoreError> {
            Ok(Account {
                user: user_from_row(&row)?,
                disabled: row.try_get("disabled").context("disabled")?,
            })
        })
        .transpose()
    }

    async fn record_login(&self, id: UserId) -> Result<(), StoreError> {
        sqlx::query("update users set last_login_at = $1 where id = $2")
            .bind(millis(Utc::now()))
            .bind(id.get())
            .execute(&self.pool)
            .await
            .context("record login")?;
        Ok(())
    }

    async fn promote(&self, name: &Username) -> Result<bool, StoreError> {
        let done = sqlx::query("update users set is_admin = 1 where username = $1")
            .bind(name.as_str())
            .execute(&self.pool)
            .await
            .context("promote user")?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_disabled(&self, id: UserId, disabled: bool) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "update users set disabled = $1 where id = $2 returning id, username, is_admin",
        )
        .bind(disabled)
        .bind(id.get())
        .fetch_optional(&self.pool)
        .await
        .context("set disabled")?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn delete_sessions_of(&self, user: UserId) -> Result<u64, StoreError> {
        // Session records are MessagePack blobs keyed by session id, with no user column to
        // query. Disabling is rare, so decoding every live session is the honest, simple way.
        let rows = sqlx::query("select id, data from tower_sessions")
            .fetch_all(&self.pool)
            .await
            .context("list sessions")?;
        let mut deleted = 0;
        for row in rows {
            let data: Vec<u8> = row.try_get("data").context("session data")?;
            let Ok(record) = rmp_serde::from_slice::<tower_sessions::session::Record>(&data) else {
                continue;
            };
            if record
                .data
                .get(crate::server::auth::USER_ID_KEY)
                .and_then(|v| v.as_i64())
                == Some(user.get())
            {
                let id: String = row.try_get("id").context("session id")?;
                sqlx::query("delete from tower_sessions where id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .context("delete session")?;
                deleted += 1;
            }
        }
        Ok(deleted)
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
        let rows = sqlx::query(
            "select id, username, is_admin from users
             where username like $1 escape '\\' and id <> $2 order by username limit $3",
        )
        .bind(format!("{}%", escape_like(prefix)))
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
    async fn insert_message(&self, message: NewMessage<'_>) -> Result<Stored, StoreError> {
        self.writer.insert(message).await
    }

    async fn messages_after(
        &self,
        user: UserId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        // Two index range scans (sender, id) and (receiver, id); `union` keeps a note to self once.
        let rows = sqlx::query(&format!(
            "select {MESSAGE_COLUMNS} from chat where sender = $1 and id > $2
             union
             select {MESSAGE_COLUMNS} from chat where receiver = $1 and id > $2
             order by id limit $3"
        ))
        .bind(user.get())
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .context("select messages after")?;
        Ok(rows
            .iter()
            .map(message_from_row)
            .collect::<anyhow::Result<_>>()?)
    }

    async fn latest_message_id(&self, user: UserId) -> Result<i64, StoreError> {
        // The writer dates messages in id order, so each conversation's newest is its highest id.
        let id: i64 = sqlx::query_scalar(
            "select coalesce(max(last_message_id), 0) from conversation where owner = $1",
        )
        .bind(user.get())
        .fetch_one(&self.pool)
        .await
        .context("select the newest message id")?;
        Ok(id)
    }

    async fn activity_partners(&self, user: UserId) -> Result<Vec<UserId>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "select mine.peer from conversation mine
             join conversation theirs on theirs.owner = mine.peer and theirs.peer = mine.owner
             where mine.owner = $1 and mine.peer <> $1
               and mine.owner_wrote = 1 and theirs.owner_wrote = 1
               and not exists (select 1 from block where blocker = $1 and blocked = mine.peer)
               and not exists (select 1 from block where blocker = mine.peer and blocked = $1)",
        )
        .bind(user.get())
        .fetch_all(&self.pool)
        .await
        .context("select activity partners")?;
        Ok(ids.into_iter().map(UserId::new).collect())
    }

    async fn relation(&self, me: UserId, peer: UserId) -> Result<Relation, StoreError> {
        let row = sqlx::query(
            "select
                 coalesce((select owner_wrote from conversation where owner = $1 and peer = $2), 0) as i_wrote,
                 coalesce((select owner_wrote from conversation where owner = $2 and peer = $1), 0) as peer_wrote,
                 exists (select 1 from block where blocker = $1 and blocked = $2) as i_blocked,
                 exists (select 1 from block where blocker = $2 and blocked = $1) as peer_blocked",
        )
        .bind(me.get())
        .bind(peer.get())
        .fetch_one(&self.pool)
        .await
        .context("select relation")?;
        let flag = |name: &str| -> Result<bool, StoreError> {
            Ok(row.try_get::<bool, _>(name).context("relation flag")?)
        };
        Ok(Relation {
            i_wrote: flag("i_wrote")?,
            peer_wrote: flag("peer_wrote")?,
            i_blocked: flag("i_blocked")?,
            peer_blocked: flag("peer_blocked")?,
        })
    }

    async fn block(&self, blocker: UserId, blocked: UserId) -> Result<(), StoreError> {
        sqlx::query(
            "insert into block (blocker, blocked, created_at) values ($1, $2, $3)
             on conflict (blocker, blocked) do nothing",
        )
        .bind(blocker.get())
        .bind(blocked.get())
        .bind(millis(Utc::now()))
        .execute(&self.pool)
        .await
        .map_err(|e| classify(e, "block"))?;
        Ok(())
    }

    async fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<bool, StoreError> {
        let done = sqlx::query("delete from block where blocker = $1 and blocked = $2")
            .bind(blocker.get())
            .bind(blocked.get())
            .execute(&self.pool)
            .await
            .context("delete block")?;
        Ok(done.rows_affected() == 1)
    }

    async fn all_blocks(&self) -> Result<Vec<(UserId, UserId)>, StoreError> {
        let pairs: Vec<(i64, i64)> = sqlx::query_as("select blocker, blocked from block")
            .fetch_all(&self.pool)
            .await
            .context("select every block")?;
        Ok(pairs
            .into_iter()
            .map(|(a, b)| (UserId::new(a), UserId::new(b)))
            .collect())
    }

    async fn blocks(&self, blocker: UserId) -> Result<Vec<BlockedUser>, StoreError> {
        let rows = sqlx::query(
            "select u.id, u.username, u.is_admin, b.created_at from block b
             join users u on u.id = b.blocked
             where b.blocker = $1 order by b.created_at desc, u.username",
        )
        .bind(blocker.get())
        .fetch_all(&self.pool)
        .await
        .context("select blocks")?;
        rows.iter()
            .map(|row| -> Result<BlockedUser, StoreError> {
                Ok(BlockedUser {
                    user: user_from_row(row)?,
                    since: from_millis(row.try_get("created_at").context("created_at")?)?,
                })
            })
            .collect()
    }

    async fn mark_read(
        &self,
        reader: UserId,
        peer: UserId,
        up_to: i64,
    ) -> Result<Option<i64>, StoreError> {
        // Clamped to the newest message, so a pointer never claims messages not yet sent; `max`
        // keeps it from moving backwards. SET expressions all read the row as it was, so the
        // unread count is taken against the same new pointer.
        let pointer: Option<i64> = sqlx::query_scalar(
            "update conversation set
                 read_up_to = max(read_up_to, min($3, last_message_id)),
                 unread = (select count(*) from chat c
                           where c.sender = $2 and c.receiver = $1 and c.sender <> c.receiver
                             and c.id > max(conversation.read_up_to, min($3, conversation.last_message_id)))
             where owner = $1 and peer = $2 and read_up_to < min($3, last_message_id)
             returning read_up_to",
        )
        .bind(reader.get())
        .bind(peer.get())
        .bind(up_to)
        .fetch_optional(&self.pool)
        .await
        .context("move read pointer")?;
        Ok(pointer)
    }

    async fn read_pointer(&self, reader: UserId, peer: UserId) -> Result<i64, StoreError> {
        let pointer: Option<i64> = sqlx::query_scalar(
            "select read_up_to from conversation where owner = $1 and peer = $2",
        )
        .bind(reader.get())
        .bind(peer.get())
        .fetch_optional(&self.pool)
        .await
        .context("select read pointer")?;
        Ok(pointer.unwrap_or(0))
    }

    async fn unread_total(&self, user: UserId) -> Result<i64, StoreError> {
        let total: i64 = sqlx::query_scalar(
            "select coalesce(sum(unread), 0) from conversation v where owner = $1
             and not exists (select 1 from block where blocker = $1 and blocked = v.peer)",
        )
        .bind(user.get())
        .fetch_one(&self.pool)
        .await
        .context("sum unread counts")?;
        Ok(total)
    }

    #[tracing::instrument(name = "read history page", skip(self))]
    async fn history(
        &self,
        a: UserId,
        b: UserId,
        end: PageEnd,
        limit: u32,
    ) -> Result<HistoryPage, StoreError> {
        let (lo, hi) = (a.min(b).get(), a.max(b).get());
        // One row more than asked tells whether an older page exists.
        let fetch = i64::from(limit) + 1;
        // An anchor id outside this conversation matches no anchor row, so the page is empty:
        // it can never reveal where another conversation's message sits.
        let (anchor, id) = match end {
            PageEnd::Latest => ("", 0),
            PageEnd::Before(id) => ("and (date, id) < (select date, id from chat where id = $4 and pair_lo = $1 and pair_hi = $2)", id),
            PageEnd::Through(id) => ("and (date, id) <= (select date, id from chat where id = $4 and pair_lo = $1 and pair_hi = $2)", id),
        };
        let rows = sqlx::query(&format!(
            "select {MESSAGE_COLUMNS} from chat where pair_lo = $1 and pair_hi = $2 {anchor}
             order by date desc, id desc limit $3"
        ))
        .bind(lo)
        .bind(hi)
        .bind(fetch)
        .bind(id)
        .fetch_all(&self.pool)
        .await
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
            "select c.id, c.sender, c.receiver, c.message, c.date, c.client_id, v.unread,
                    u.id as peer_id, u.username as peer_username, u.is_admin as peer_is_admin
             from conversation v
             join chat c on c.id = v.last_message_id
             join users u on u.id = v.peer
             where v.owner = $1
               and not exists (select 1 from block where blocker = $1 and blocked = v.peer)
             order by c.date desc, c.id desc",
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
                    unread: row.try_get("unread")?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(summaries)
    }

    async fn accounts(
        &self,
        prefix: &str,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<AccountSummary>, StoreError> {
        let rows = sqlx::query(
            "select u.id, u.username, u.is_admin, u.disabled, u.created_at, u.last_login_at,
                    (select count(*) from chat c where c.sender = u.id) as messages_sent,
                    (select max(c.date) from chat c where c.sender = u.id) as last_sent
             from users u where u.username like $1 escape '\\'
             order by u.username limit $2 offset $3",
        )
        .bind(format!("{}%", escape_like(prefix)))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
        .context("select accounts")?;
        rows.iter()
            .map(|row| -> Result<AccountSummary, StoreError> {
                let last_login: Option<i64> = row.try_get("last_login_at").context("last login")?;
                let last_sent: Option<i64> = row.try_get("last_sent").context("last sent")?;
                Ok(AccountSummary {
                    user: user_from_row(row)?,
                    created_at: from_millis(row.try_get("created_at").context("created_at")?)?,
                    messages_sent: row.try_get("messages_sent").context("messages_sent")?,
                    last_active: last_login.max(last_sent).map(from_millis).transpose()?,
                    disabled: row.try_get("disabled").context("disabled")?,
                })
            })
            .collect()
    }

    async fn chats(
        &self,
        user: Option<UserId>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<ChatSummary>, StoreError> {
        let rows = sqlx::query(
            "with pairs as (
                 select pair_lo, pair_hi, count(*) as messages, max(date) as last_activity
                 from chat where $1 is null or pair_lo = $1 or pair_hi = $1
                 group by pair_lo, pair_hi
             )
             select p.messages, p.last_activity,
                    a.id as a_id, a.username as a_username, a.is_admin as a_is_admin,
                    b.id as b_id, b.username as b_username, b.is_admin as b_is_admin
             from pairs p join users a on a.id = p.pair_lo join users b on b.id = p.pair_hi
             order by p.last_activity desc, p.pair_lo, p.pair_hi limit $2 offset $3",
        )
        .bind(user.map(UserId::get))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
        .context("select chats")?;
        rows.iter()
            .map(|row| -> Result<ChatSummary, StoreError> {
                Ok(ChatSummary {
                    user_a: user_from_columns(row, "a_")?,
                    user_b: user_from_columns(row, "b_")?,
                    messages: row.try_get("messages").context("messages")?,
                    last_activity: from_millis(
                        row.try_get("last_activity").context("last_activity")?,
                    )?,
                })
            })
            .collect()
    }

    #[tracing::instrument(name = "search messages", skip(self))]
    async fn search_messages(
        &self,
        fts_query: &str,
        limit: u32,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let rows = sqlx::query(&format!(
            "select {MESSAGE_COLUMNS_C},
                    s.id as s_id, s.username as s_username, s.is_admin as s_is_admin,
                    r.id as r_id, r.username as r_username, r.is_admin as r_is_admin
             from chat_fts f join chat c on c.id = f.rowid
             join users s on s.id = c.sender join users r on r.id = c.receiver
             where chat_fts match $1
             order by c.date desc, c.id desc limit $2"
        ))
        .bind(fts_query)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .context("full-text search")?;
        rows.iter()
            .map(|row| -> Result<SearchHit, StoreError> {
                Ok(SearchHit {
                    message: message_from_row(row)?,
                    sender: user_from_columns(row, "s_")?,
                    receiver: user_from_columns(row, "r_")?,
                })
            })
            .collect()
    }

    async fn append_audit(&self, entry: NewAuditEntry<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "insert into audit_log (admin_id, action, user_a, user_b, detail, reason, date)
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(entry.admin.get())
        .bind(entry.action.as_str())
        .bind(entry.user_a.map(UserId::get))
        .bind(entry.user_b.map(UserId::get))
        .bind(entry.detail)
        .bind(entry.reason)
        .bind(millis(Utc::now()))
        .execute(&self.pool)
        .await
        .context("append audit entry")?;
        Ok(())
    }

    async fn audit_log(&self, offset: u32, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "select l.id, l.action, l.detail, l.reason, l.date,
                    ad.id as ad_id, ad.username as ad_username, ad.is_admin as ad_is_admin,
                    a.id as a_id, a.username as a_username, a.is_admin as a_is_admin,
                    b.id as b_id, b.username as b_username, b.is_admin as b_is_admin
             from audit_log l join users ad on ad.id = l.admin_id
             left join users a on a.id = l.user_a left join users b on b.id = l.user_b
             order by l.date desc, l.id desc limit $1 offset $2",
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
        .context("select audit log")?;
        rows.iter()
            .map(|row| -> Result<AuditEntry, StoreError> {
                let action: String = row.try_get("action").context("action")?;
                Ok(AuditEntry {
                    id: row.try_get("id").context("id")?,
                    admin: user_from_columns(row, "ad_")?,
                    action: AuditAction::parse(&action)
                        .with_context(|| format!("unknown audit action {action:?}"))?,
                    user_a: optional_user(row, "a_")?,
                    user_b: optional_user(row, "b_")?,
                    detail: row.try_get("detail").context("detail")?,
                    reason: row.try_get("reason").context("reason")?,
                    date: from_millis(row.try_get("date").context("date")?)?,
                })
            })
            .collect()
    }
}
