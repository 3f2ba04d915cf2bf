//! Where tower-sessions keeps sessions: the `sessions` table in the application's own database,
//! whichever backend that is, so that a restart logs nobody out and every node knows every
//! session. `SessionRecords` is the session store the router builds its layer from. It turns each
//! tower-sessions record into a `SessionRow` (the MessagePack record, plus the account it belongs
//! to pulled out into a column a query can find) and leaves the SQL to the backend in use.

use super::{SessionTable, Store, StoreError, SESSION_USER_ID_KEY};
use crate::domain::UserId;
use async_trait::async_trait;
use std::fmt;
use std::time::Duration;
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// One stored session.
pub struct SessionRow {
    pub id: String,
    /// Whose session it is; `None` before login (a session may hold other things).
    pub user: Option<UserId>,
    /// The whole tower-sessions record, MessagePack-encoded.
    pub data: Vec<u8>,
    /// When it expires, in Unix seconds.
    pub expires: i64,
}

impl SessionRow {
    pub fn of(record: &Record) -> session_store::Result<Self> {
        Ok(Self {
            id: record.id.to_string(),
            user: owner(record),
            data: rmp_serde::to_vec(record)
                .map_err(|e| session_store::Error::Encode(e.to_string()))?,
            expires: record.expiry_date.unix_timestamp(),
        })
    }

    /// The row for an encoded record from elsewhere (a session table of an earlier version):
    /// `None` if the record cannot be read, which makes it a session nobody can resume anyway.
    pub fn decode(id: String, data: Vec<u8>, expires: i64) -> Option<Self> {
        let record: Record = rmp_serde::from_slice(&data).ok()?;
        Some(Self {
            id,
            user: owner(&record),
            data,
            expires,
        })
    }
}

/// The account a record is logged in as.
fn owner(record: &Record) -> Option<UserId> {
    record
        .data
        .get(SESSION_USER_ID_KEY)
        .and_then(|id| id.as_i64())
        .map(UserId::new)
}

#[derive(Clone)]
pub struct SessionRecords {
    store: Store,
}

impl SessionRecords {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Deletes expired sessions every `period`, for as long as the server runs. A failed round
    /// (the database away for a moment) is logged and the next one tries again.
    pub async fn delete_expired_every(self, period: Duration) {
        let mut rounds = tokio::time::interval(period);
        loop {
            rounds.tick().await;
            if let Err(err) = self.store.delete_expired_sessions(now()).await {
                tracing::warn!(error = %err, "could not delete expired sessions");
            }
        }
    }
}

// tower-sessions asks for `Debug`; the store holds nothing worth printing (and its URL must not be).
impl fmt::Debug for SessionRecords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionRecords")
    }
}

fn backend(err: StoreError) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[async_trait]
impl SessionStore for SessionRecords {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Ids are 128 random bits, so a collision is all but impossible; if one happens, the new
        // session takes another id rather than someone else's session.
        while !self
            .store
            .insert_session(&SessionRow::of(record)?)
            .await
            .map_err(backend)?
        {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.store
            .save_session(&SessionRow::of(record)?)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(data) = self
            .store
            .load_session(&id.to_string(), now())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        rmp_serde::from_slice(&data)
            .map(Some)
            .map_err(|e| session_store::Error::Decode(e.to_string()))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store
            .delete_session(&id.to_string())
            .await
            .map_err(backend)
    }
}

/// The session table's queries, which are the same text on every backend (`$n` parameters,
/// `on conflict`, integers and bytes): written once here, implemented by each backend's
/// `sessions` module with `session_table!(ItsStore)`, where the names used below are in scope.
macro_rules! session_table {
    ($store:ty) => {
        impl SessionTable for $store {
            async fn insert_session(&self, row: &SessionRow) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "insert into sessions (id, user_id, data, expiry_date) values ($1, $2, $3, $4)
                     on conflict (id) do nothing",
                )
                .bind(&row.id)
                .bind(row.user.map(|u| u.get()))
                .bind(&row.data)
                .bind(row.expires)
                .execute(&self.pool)
                .await
                .context("insert session")?;
                Ok(done.rows_affected() == 1)
            }

            async fn save_session(&self, row: &SessionRow) -> Result<(), StoreError> {
                sqlx::query(
                    "insert into sessions (id, user_id, data, expiry_date) values ($1, $2, $3, $4)
                     on conflict (id) do update set
                         user_id = excluded.user_id, data = excluded.data, expiry_date = excluded.expiry_date",
                )
                .bind(&row.id)
                .bind(row.user.map(|u| u.get()))
                .bind(&row.data)
                .bind(row.expires)
                .execute(&self.pool)
                .await
                .context("save session")?;
                Ok(())
            }

            async fn load_session(&self, id: &str, now: i64) -> Result<Option<Vec<u8>>, StoreError> {
                Ok(
                    sqlx::query_scalar("select data from sessions where id = $1 and expiry_date > $2")
                        .bind(id)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .context("load session")?,
                )
            }

            async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
                sqlx::query("delete from sessions where id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .context("delete session")?;
                Ok(())
            }

            async fn delete_expired_sessions(&self, now: i64) -> Result<u64, StoreError> {
                let done = sqlx::query("delete from sessions where expiry_date <= $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .context("delete expired sessions")?;
                Ok(done.rows_affected())
            }
        }
    };
}
pub(super) use session_table;
