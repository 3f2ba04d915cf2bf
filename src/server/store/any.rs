//! `Store`: whichever backend `DATABASE_URL` chose, behind the three storage traits.
//!
//! An enum rather than `dyn` traits or generics: the traits keep their plain `async fn`s (whose
//! futures are `Send` because each backend's are, which a `dyn` trait could not promise without
//! boxing every call), and nothing above the store grows a type parameter. The cost is this file:
//! every method once, forwarded to the backend in use. Nothing here may decide anything.

use super::postgres::PgStore;
use super::sessions::SessionRecords;
use super::sqlite::SqliteStore;
use super::{
    Account, AccountStore, AdminStore, Backend, CommitListener, ConversationList, Credentials,
    HistoryPage, MessageChange, MessageStore, NewAuditEntry, NewMessage, NewResetLink, PageEnd,
    ProfileTable, ReadState, RemovedBatch, ResetLinkTable, RetentionTable, SessionCaller,
    SessionRow, SessionTable, StoreError, Stored,
};
use crate::domain::admin::{AccountSummary, AuditAction, AuditEntry, ChatSummary, SearchHit};
use crate::domain::{
    BlockedUser, ChatMessage, Device, DisplayName, Relation, StreamEntry, User, UserId, Username,
};

/// The storage backend in use.
#[derive(Clone)]
pub enum Store {
    /// The embedded default: a file on this machine.
    Sqlite(SqliteStore),
    /// One PostgreSQL database shared by every app node.
    Postgres(PgStore),
}

impl Store {
    /// Opens the store `url` names, by its scheme alone (`Backend::for_url`), creating and
    /// migrating it as that backend does. `on_commit` hears of every message this process commits.
    pub async fn open(url: &str, on_commit: CommitListener) -> anyhow::Result<Self> {
        Ok(match Backend::for_url(url)? {
            Backend::Sqlite => Self::Sqlite(SqliteStore::open(url, on_commit).await?),
            Backend::Postgres => Self::Postgres(PgStore::open(url, on_commit).await?),
        })
    }

    /// Messages waiting for this node's writer.
    pub fn writer_queue_len(&self) -> u64 {
        match self {
            Self::Sqlite(store) => store.writer_queue_len() as u64,
            Self::Postgres(store) => store.writer_queue_len() as u64,
        }
    }

    /// Messages and changes this node's writer has written since it started: how busy it is.
    pub fn writer_jobs_written(&self) -> u64 {
        match self {
            Self::Sqlite(store) => store.writer_jobs_written(),
            Self::Postgres(store) => store.writer_jobs_written(),
        }
    }

    /// Where sessions are kept: a table in the same database, whichever it is, so a restart (or
    /// another node) knows every session.
    pub fn session_records(&self) -> SessionRecords {
        SessionRecords::new(self.clone())
    }
}

/// Writes each listed trait method as a call of the same method on the backend in use.
macro_rules! forward {
    ($(async fn $method:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        $(
            async fn $method(&self $(, $arg: $ty)*) -> $ret {
                match self {
                    Store::Sqlite(store) => store.$method($($arg),*).await,
                    Store::Postgres(store) => store.$method($($arg),*).await,
                }
            }
        )*
    };
}

impl SessionTable for Store {
    forward! {
        async fn insert_session(&self, row: &SessionRow) -> Result<bool, StoreError>;
        async fn save_session(&self, row: &SessionRow) -> Result<(), StoreError>;
        async fn load_session(&self, id: &str, now: i64) -> Result<Option<Vec<u8>>, StoreError>;
        async fn session_caller(&self, id: &str, now: i64) -> Result<Option<SessionCaller>, StoreError>;
        async fn delete_session(&self, id: &str) -> Result<(), StoreError>;
        async fn delete_expired_sessions(&self, now: i64) -> Result<u64, StoreError>;
        async fn devices_of(&self, user: UserId, now: i64) -> Result<Vec<(String, Device)>, StoreError>;
        async fn delete_device(&self, user: UserId, device: uuid::Uuid) -> Result<Option<String>, StoreError>;
        async fn delete_sessions_except(&self, user: UserId, keep: &str) -> Result<Vec<String>, StoreError>;
    }
}

impl ResetLinkTable for Store {
    forward! {
        async fn create_reset_link(&self, link: NewResetLink<'_>) -> Result<(), StoreError>;
        async fn reset_link_user(&self, token_hash: &str, now: i64) -> Result<Option<User>, StoreError>;
        async fn use_reset_link(&self, token_hash: &str, now: i64, password_hash: &str) -> Result<Option<(UserId, Vec<String>)>, StoreError>;
    }
}

impl RetentionTable for Store {
    forward! {
        async fn remove_old_messages(&self, cutoff: i64, limit: u32) -> Result<RemovedBatch, StoreError>;
    }
}

impl ProfileTable for Store {
    forward! {
        async fn set_display_name(&self, user: UserId, name: Option<&DisplayName>) -> Result<Option<User>, StoreError>;
        async fn delete_account(&self, user: UserId, now: i64) -> Result<Option<Vec<String>>, StoreError>;
        async fn messages_to_erase(&self, limit: u32) -> Result<Vec<(UserId, i64)>, StoreError>;
        async fn deleted_accounts(&self) -> Result<Vec<UserId>, StoreError>;
        async fn free_usernames(&self, deleted_before: i64) -> Result<u64, StoreError>;
    }
}

impl AccountStore for Store {
    forward! {
        async fn create_user(&self, name: &Username, password_hash: &str, is_admin: bool) -> Result<User, StoreError>;
        async fn credentials(&self, name: &Username) -> Result<Option<Credentials>, StoreError>;
        async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;
        async fn account(&self, id: UserId) -> Result<Option<Account>, StoreError>;
        async fn record_login(&self, id: UserId) -> Result<(), StoreError>;
        async fn promote(&self, name: &Username) -> Result<bool, StoreError>;
        async fn set_disabled(&self, id: UserId, disabled: bool) -> Result<Option<User>, StoreError>;
        async fn delete_sessions_of(&self, user: UserId) -> Result<u64, StoreError>;
        async fn set_password_hash(&self, user: UserId, hash: &str) -> Result<bool, StoreError>;
        async fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError>;
        async fn search_users(&self, prefix: &str, exclude: UserId, limit: u32) -> Result<Vec<User>, StoreError>;
    }
}

impl MessageStore for Store {
    forward! {
        async fn committed_after(&self, after: i64, limit: u32) -> Result<Vec<StreamEntry>, StoreError>;
        async fn newest_position(&self) -> Result<i64, StoreError>;
        async fn insert_message(&self, message: NewMessage<'_>) -> Result<Stored, StoreError>;
        async fn change_message(&self, change: MessageChange<'_>) -> Result<StreamEntry, StoreError>;
        async fn entries_after(&self, user: UserId, after: i64, limit: u32) -> Result<Vec<StreamEntry>, StoreError>;
        async fn activity_partners(&self, user: UserId) -> Result<Vec<UserId>, StoreError>;
        async fn relation(&self, me: UserId, peer: UserId) -> Result<Relation, StoreError>;
        async fn block(&self, blocker: UserId, blocked: UserId) -> Result<(), StoreError>;
        async fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<bool, StoreError>;
        async fn all_blocks(&self) -> Result<Vec<(UserId, UserId)>, StoreError>;
        async fn blocks(&self, blocker: UserId) -> Result<Vec<BlockedUser>, StoreError>;
        async fn mark_read(&self, reader: UserId, peer: UserId, up_to: i64) -> Result<Option<i64>, StoreError>;
        async fn read_state(&self, me: UserId, peer: UserId) -> Result<ReadState, StoreError>;
        async fn unread_total(&self, user: UserId) -> Result<i64, StoreError>;
        async fn history(&self, a: UserId, b: UserId, end: PageEnd, limit: u32) -> Result<HistoryPage, StoreError>;
        async fn conversations(&self, user: UserId) -> Result<ConversationList, StoreError>;
        async fn conversation_peers(&self, user: UserId) -> Result<Vec<(User, i64)>, StoreError>;
        async fn messages_after(&self, a: UserId, b: UserId, after: Option<i64>, limit: u32) -> Result<Vec<ChatMessage>, StoreError>;
    }
}

impl AdminStore for Store {
    forward! {
        async fn accounts(&self, prefix: &str, offset: u32, limit: u32) -> Result<Vec<AccountSummary>, StoreError>;
        async fn chats(&self, user: Option<UserId>, offset: u32, limit: u32) -> Result<Vec<ChatSummary>, StoreError>;
        async fn search_messages(&self, words: &[&str], within: Option<UserId>, limit: u32) -> Result<Vec<SearchHit>, StoreError>;
        async fn append_audit(&self, entry: NewAuditEntry<'_>) -> Result<(), StoreError>;
        async fn audit_log(&self, action: Option<AuditAction>, offset: u32, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;
    }
}
