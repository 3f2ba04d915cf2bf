//! Where tower-sessions keeps sessions: a table in the application's own database, whichever
//! backend that is, so that a restart logs nobody out and every node knows every session.
//! `SessionRecords` is the one session store the router builds its layer from; it forwards each
//! call to tower-sessions-sqlx-store's store for the backend in use and decides nothing itself.

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore as PostgresSessions, SqliteStore as SqliteSessions};

#[derive(Clone, Debug)]
pub enum SessionRecords {
    /// Table `tower_sessions` in the SQLite file.
    Sqlite(SqliteSessions),
    /// Table `tower_sessions.session` in the PostgreSQL database.
    Postgres(PostgresSessions),
}

impl SessionRecords {
    /// Creates the session table if it is not there yet.
    pub async fn migrate(&self) -> sqlx::Result<()> {
        match self {
            Self::Sqlite(store) => store.migrate().await,
            Self::Postgres(store) => store.migrate().await,
        }
    }
}

#[async_trait]
impl SessionStore for SessionRecords {
    // Forwarded too, not left to the default: each store creates under its own id-collision rules.
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store) => store.create(record).await,
            Self::Postgres(store) => store.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store) => store.save(record).await,
            Self::Postgres(store) => store.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(store) => store.load(id).await,
            Self::Postgres(store) => store.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store) => store.delete(id).await,
            Self::Postgres(store) => store.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for SessionRecords {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store) => store.delete_expired().await,
            Self::Postgres(store) => store.delete_expired().await,
        }
    }
}
