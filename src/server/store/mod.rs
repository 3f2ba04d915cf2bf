//! The storage interface. Pages, handlers and the realtime layer talk to `Store` and nothing else,
//! so a PostgreSQL backend can be added beside `sqlite` without touching them.

mod sqlite;

use crate::domain::{ChatMessage, ClientId, ConversationSummary, User, UserId, Username};
use chrono::{DateTime, Utc};

pub use sqlite::SqliteStore;

/// The storage backend in use. One variant per backend; `SqliteStore` is the embedded default.
pub type Store = SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (a taken username).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A referenced row does not exist (a message to a user who is not there).
    #[error("a referenced row does not exist")]
    MissingReference,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// What login needs: the public user and the stored hash, which never leaves the server.
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

/// A message to store, already validated.
pub struct NewMessage<'a> {
    pub sender: UserId,
    pub receiver: UserId,
    pub text: &'a str,
    pub date: DateTime<Utc>,
    pub client_id: Option<ClientId>,
}

/// A page of one conversation, in ascending date order.
pub struct HistoryPage {
    pub messages: Vec<ChatMessage>,
    /// Whether older messages exist before the first one of this page.
    pub has_more: bool,
}

/// What a caller may ask of the storage backend. Implemented once per backend.
#[allow(async_fn_in_trait)]
pub trait ChatStore {
    async fn create_user(
        &self,
        name: &Username,
        password_hash: &str,
        is_admin: bool,
    ) -> Result<User, StoreError>;
    async fn credentials(&self, name: &Username) -> Result<Option<Credentials>, StoreError>;
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;
    async fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError>;
    /// Users whose name starts with `prefix`, except `exclude`, alphabetically.
    async fn search_users(
        &self,
        prefix: &str,
        exclude: UserId,
        limit: u32,
    ) -> Result<Vec<User>, StoreError>;
    async fn insert_message(&self, message: NewMessage<'_>) -> Result<ChatMessage, StoreError>;
    /// The `limit` messages of the pair just before message `before` (the latest when `None`).
    async fn history(
        &self,
        a: UserId,
        b: UserId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<HistoryPage, StoreError>;
    /// Every conversation `user` is in with its latest message, newest activity first.
    async fn conversations(&self, user: UserId) -> Result<Vec<ConversationSummary>, StoreError>;
}
