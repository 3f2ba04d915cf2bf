//! Where tower-sessions keeps sessions: the `sessions` table in the application's own database,
//! whichever backend that is, so that a restart logs nobody out and every node knows every
//! session. `SessionRecords` is the session store the router builds its layer from. It turns each
//! tower-sessions record into a `SessionRow` (the MessagePack record, plus the account it belongs
//! to pulled out into a column a query can find) and leaves the SQL to the backend in use.

use super::{SessionTable, Store, StoreError, SESSION_DEVICE_KEY, SESSION_USER_ID_KEY};
use crate::domain::{Device, UserId};
use anyhow::Context;
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
    /// The browser it is used from, once logged in (the devices list reads these columns).
    pub device: Option<Device>,
}

impl SessionRow {
    pub fn of(record: &Record) -> session_store::Result<Self> {
        Ok(Self {
            id: record.id.to_string(),
            user: owner(record),
            data: rmp_serde::to_vec(record)
                .map_err(|e| session_store::Error::Encode(e.to_string()))?,
            expires: record.expiry_date.unix_timestamp(),
            device: device(record),
        })
    }

    /// The row for an encoded record from elsewhere (a session table of an earlier version):
    /// `None` if the record cannot be read, which makes it a session nobody can resume anyway.
    pub fn decode(id: String, data: Vec<u8>, expires: i64) -> Option<Self> {
        let record: Record = rmp_serde::from_slice(&data).ok()?;
        Some(Self {
            id,
            user: owner(&record),
            device: device(&record),
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

/// The device a logged-in record is used from (see `server::auth`).
fn device(record: &Record) -> Option<Device> {
    record
        .data
        .get(SESSION_DEVICE_KEY)
        .and_then(|device| serde_json::from_value(device.clone()).ok())
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

/// A device from the session table's columns (the devices list and the caller read the same ones).
pub(super) fn stored_device(
    id: &str,
    user_agent: String,
    client_addr: String,
    created_at: i64,
    last_seen_at: i64,
) -> anyhow::Result<Device> {
    Ok(Device {
        id: id.parse().context("stored device id is not a UUID")?,
        user_agent,
        client_addr,
        created_at,
        last_seen_at,
    })
}

/// The session table's queries, which are the same text on every backend (`$n` parameters,
/// `on conflict`, integers and bytes): written once here, implemented by each backend's
/// `sessions` module with `session_table!(ItsStore)`, where the names used below are in scope
/// (reads take a connection from the backend's `reader()`, writes go through its pool).
macro_rules! session_table {
    ($store:ty) => {
        impl SessionTable for $store {
            async fn insert_session(&self, row: &SessionRow) -> Result<bool, StoreError> {
                let device = row.device.as_ref();
                let done = sqlx::query(
                    "insert into sessions (id, user_id, data, expiry_date, device_id, user_agent,
                                           client_addr, created_at, last_seen_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     on conflict (id) do nothing",
                )
                .bind(&row.id)
                .bind(row.user.map(|u| u.get()))
                .bind(&row.data)
                .bind(row.expires)
                .bind(device.map(|d| d.id.to_string()))
                .bind(device.map(|d| d.user_agent.as_str()))
                .bind(device.map(|d| d.client_addr.as_str()))
                .bind(device.map(|d| d.created_at))
                .bind(device.map(|d| d.last_seen_at))
                .execute(&self.pool)
                .await
                .context("insert session")?;
                Ok(done.rows_affected() == 1)
            }

            async fn save_session(&self, row: &SessionRow) -> Result<(), StoreError> {
                // An update, never an insert: a session deleted meanwhile (logged out from another
                // device, its password changed) stays deleted, even if a request of its was still
                // on its way and saves it as it ends.
                let device = row.device.as_ref();
                sqlx::query(
                    "update sessions set
                         user_id = $2, data = $3, expiry_date = $4, device_id = $5, user_agent = $6,
                         client_addr = $7, created_at = $8, last_seen_at = $9
                     where id = $1",
                )
                .bind(&row.id)
                .bind(row.user.map(|u| u.get()))
                .bind(&row.data)
                .bind(row.expires)
                .bind(device.map(|d| d.id.to_string()))
                .bind(device.map(|d| d.user_agent.as_str()))
                .bind(device.map(|d| d.client_addr.as_str()))
                .bind(device.map(|d| d.created_at))
                .bind(device.map(|d| d.last_seen_at))
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
                        .fetch_optional(&mut *self.reader().await?)
                        .await
                        .context("load session")?,
                )
            }

            async fn session_caller(
                &self,
                id: &str,
                now: i64,
            ) -> Result<Option<SessionCaller>, StoreError> {
                // A left join: a session whose account has gone is still found, and ended.
                let Some(row) = sqlx::query(
                    "select s.device_id, s.user_agent, s.client_addr, s.created_at, s.last_seen_at,
                            u.id as u_id, u.username as u_username, u.is_admin as u_is_admin,
                            u.display_name as u_display_name, u.deleted_at as u_deleted_at,
                            u.disabled as u_disabled
                     from sessions s left join users u on u.id = s.user_id
                     where s.id = $1 and s.expiry_date > $2 and s.user_id is not null",
                )
                .bind(id)
                .bind(now)
                .fetch_optional(&mut *self.reader().await?)
                .await
                .context("select the session's caller")?
                else {
                    return Ok(None);
                };
                let account = match optional_user(&row, "u_")? {
                    Some(user) => Some(Account {
                        user,
                        disabled: row.try_get("u_disabled").context("disabled")?,
                    }),
                    None => None,
                };
                let device = match row.try_get::<Option<String>, _>("device_id").context("device id")? {
                    Some(id) => Some($crate::server::store::sessions::stored_device(
                        &id,
                        row.try_get("user_agent").context("user agent")?,
                        row.try_get("client_addr").context("client address")?,
                        row.try_get("created_at").context("created at")?,
                        row.try_get("last_seen_at").context("last seen at")?,
                    )?),
                    None => None,
                };
                Ok(Some(SessionCaller { account, device }))
            }

            async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
                sqlx::query("delete from sessions where id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .context("delete session")?;
                Ok(())
            }

            async fn devices_of(
                &self,
                user: UserId,
                now: i64,
            ) -> Result<Vec<(String, Device)>, StoreError> {
                let rows: Vec<(String, String, String, String, i64, i64)> = sqlx::query_as(
                    "select id, device_id, user_agent, client_addr, created_at, last_seen_at
                     from sessions
                     where user_id = $1 and expiry_date > $2 and device_id is not null
                     order by last_seen_at desc, created_at desc",
                )
                .bind(user.get())
                .bind(now)
                .fetch_all(&mut *self.reader().await?)
                .await
                .context("select devices")?;
                rows.into_iter()
                    .map(|(session, id, user_agent, client_addr, created_at, last_seen_at)| {
                        let device = $crate::server::store::sessions::stored_device(
                            &id, user_agent, client_addr, created_at, last_seen_at,
                        )?;
                        Ok((session, device))
                    })
                    .collect()
            }

            async fn delete_device(
                &self,
                user: UserId,
                device: uuid::Uuid,
            ) -> Result<Option<String>, StoreError> {
                Ok(sqlx::query_scalar(
                    "delete from sessions where user_id = $1 and device_id = $2 returning id",
                )
                .bind(user.get())
                .bind(device.to_string())
                .fetch_optional(&self.pool)
                .await
                .context("delete a device's session")?)
            }

            async fn delete_sessions_except(
                &self,
                user: UserId,
                keep: &str,
            ) -> Result<Vec<String>, StoreError> {
                Ok(sqlx::query_scalar(
                    "delete from sessions where user_id = $1 and id <> $2 returning id",
                )
                .bind(user.get())
                .bind(keep)
                .fetch_all(&self.pool)
                .await
                .context("delete the other sessions")?)
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
