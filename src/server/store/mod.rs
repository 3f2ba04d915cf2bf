//! The storage interface. Pages, handlers and the realtime layer talk to `Store` and nothing else,
//! whichever backend `DATABASE_URL` chose: SQLite (`sqlite`, the embedded default) or PostgreSQL
//! (`postgres`, one database shared by several app nodes). What they may ask of it is split by
//! concern into `AccountStore`, `MessageStore` and `AdminStore`, with `SessionTable` and
//! `ResetLinkTable` for the two tables whose queries are the same text everywhere, so each caller
//! names only the part it uses; each backend implements all of them with the same meaning, and the
//! tests run the contract against both.

mod any;
mod backend;
pub mod copy;
mod encoding;
mod group_commit;
mod postgres;
mod profiles;
mod reset_links;
mod retention;
mod sessions;
mod sqlite;

use crate::domain::admin::{AccountSummary, AuditAction, AuditEntry, ChatSummary, SearchHit};
use crate::domain::{
    BlockedUser, ChangeRefusal, ChatMessage, ClientId, ConversationSummary, Device, DisplayName,
    Relation, StreamEntry, User, UserId, Username,
};

pub use any::Store;
pub use backend::Backend;
pub use postgres::PgStore;
pub use sessions::{SessionRecords, SessionRow};
pub use sqlite::release_page_caches;
pub use sqlite::SqliteStore;

use std::sync::Arc;

/// The key under which a session record holds its user's id. Sessions live in the application
/// database, and deleting every session of one user (`AccountStore::delete_sessions_of`) reads it.
pub const SESSION_USER_ID_KEY: &str = "user_id";
/// The key under which a logged-in session record holds its `domain::Device`, which the session
/// table copies into columns of its own for the devices list.
pub const SESSION_DEVICE_KEY: &str = "device";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (a taken username).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A referenced row does not exist (a message to a user who is not there).
    #[error("a referenced row does not exist")]
    MissingReference,
    /// A change to a message that its rules do not allow (see `MessageStore::change_message`).
    #[error(transparent)]
    Refused(#[from] ChangeRefusal),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// What login needs: the public user and the stored hash, which never leaves the server.
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
    pub disabled: bool,
}

/// A user and whether an admin has disabled the account.
pub struct Account {
    pub user: User,
    pub disabled: bool,
}

/// What a logged-in session says about who is calling, read with the session in one statement
/// (`SessionTable::session_caller`).
pub struct SessionCaller {
    /// The session's account; `None` when it is no longer there.
    pub account: Option<Account>,
    /// The device the session is used from, once it has one.
    pub device: Option<Device>,
}

/// Where `me` stands in one conversation and in the account as a whole, read in one statement
/// for the conversation page (four separate reads cost four trips to the database).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadState {
    /// How far `me` has read the peer's messages (0: nothing).
    pub read_up_to: i64,
    /// How far the peer has read `me`'s messages (0: nothing).
    pub peer_read_up_to: i64,
    /// Unread messages across all of `me`'s conversations, as `unread_total` counts them.
    pub unread_total: i64,
    /// The newest message id in any of `me`'s conversations, as `ConversationList::latest_id`.
    pub latest_id: i64,
}

/// `ReadState` in one statement, the same text on every backend ($1 `me`, $2 the peer). `sum` is
/// cast because PostgreSQL sums bigints as numeric; the total fits a bigint.
const READ_STATE_QUERY: &str = "select
    coalesce((select read_up_to from conversation where owner = $1 and peer = $2), 0),
    coalesce((select read_up_to from conversation where owner = $2 and peer = $1), 0),
    coalesce((select cast(sum(v.unread) as bigint) from conversation v where v.owner = $1
              and not exists (select 1 from block where blocker = $1 and blocked = v.peer)), 0),
    coalesce((select max(last_message_id) from conversation where owner = $1), 0)";

impl ReadState {
    fn from_columns(
        (read_up_to, peer_read_up_to, unread_total, latest_id): (i64, i64, i64, i64),
    ) -> Self {
        Self {
            read_up_to,
            peer_read_up_to,
            unread_total,
            latest_id,
        }
    }
}

/// `me`'s inbox: the conversations whose peer `me` has not blocked, newest activity first, and
/// the newest message id of all `me`'s conversations, blocked ones included (where the page's live
/// link resumes). Both come from one statement, `CONVERSATIONS_QUERY`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConversationList {
    pub summaries: Vec<ConversationSummary>,
    /// 0 when `me` has no conversation at all.
    pub latest_id: i64,
}

/// Every conversation of `$1` with its latest message, its peer and whether `$1` has blocked the
/// peer, newest activity first; the same text on every backend. Blocked ones are read rather than
/// filtered out so that `ConversationList::latest_id` counts them without a second statement.
const CONVERSATIONS_QUERY: &str = "select c.id, c.sender, c.receiver, c.message, c.date,
        c.client_id, c.edited_at, c.deleted_at, v.unread,
        exists (select 1 from block where blocker = $1 and blocked = v.peer) as blocked,
        u.id as peer_id, u.username as peer_username, u.is_admin as peer_is_admin,
        u.display_name as peer_display_name, u.deleted_at as peer_deleted_at
    from conversation v
    join chat c on c.id = v.last_message_id
    join users u on u.id = v.peer
    where v.owner = $1
    order by c.date desc, c.id desc";

impl ConversationList {
    /// From every conversation, each with whether its peer is blocked, in the inbox's order.
    fn from_all(all: impl IntoIterator<Item = (ConversationSummary, bool)>) -> Self {
        let mut list = Self::default();
        for (summary, blocked) in all {
            list.latest_id = list.latest_id.max(summary.last_message.id);
            if !blocked {
                list.summaries.push(summary);
            }
        }
        list
    }
}

/// Where a history page ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageEnd {
    /// The newest messages.
    Latest,
    /// Just before this message (for reading further back).
    Before(i64),
    /// At this message, included (for jumping to a search hit).
    Through(i64),
}

/// A password reset link to keep. Dates are ms since the epoch.
pub struct NewResetLink<'a> {
    pub token_hash: &'a str,
    pub user: UserId,
    /// The admin who made it; `None` on the command line.
    pub created_by: Option<UserId>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// An audit-log line to append.
pub struct NewAuditEntry<'a> {
    /// `None` for what the server does on its own.
    pub admin: Option<UserId>,
    pub action: AuditAction,
    pub user_a: Option<UserId>,
    pub user_b: Option<UserId>,
    pub detail: Option<&'a str>,
    pub reason: Option<&'a str>,
}

/// A message to store, already validated. The store dates it as it writes it, so that dates
/// follow the order messages are stored in (and so their ids).
pub struct NewMessage<'a> {
    pub sender: UserId,
    pub receiver: UserId,
    pub text: &'a str,
    pub client_id: Option<ClientId>,
}

/// The result of storing a message.
pub struct Stored {
    pub message: ChatMessage,
    /// False when the sender's `client_id` named a message stored before (a retry): nothing new
    /// was written and `message` is the original.
    pub is_new: bool,
}

/// A change to a stored message, asked for by `actor`.
pub struct MessageChange<'a> {
    pub actor: UserId,
    pub message_id: i64,
    /// When given, the message must be in `actor`'s conversation with this person.
    pub peer: Option<UserId>,
    pub kind: ChangeKind<'a>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind<'a> {
    /// New text, already validated, for a message sent at most `domain::EDIT_WINDOW` ago.
    Edit(&'a str),
    /// Empties the message for good.
    Delete,
}

/// Told about newly committed stream entries (messages sent, edited, deleted), batch after batch
/// in commit order and in position order within a batch: whoever delivers live frames sees every
/// entry in commit order, so a reader can never receive position N+1 before position N. It must
/// not block (one task calls it for every batch).
pub type CommitListener = Arc<dyn Fn(&[StreamEntry]) + Send + Sync>;

pub use crate::domain::HistoryPage;

/// Users and their accounts: what sign-up, login, sessions, the admin's disable switch and the
/// people search need. Implemented once per backend.
#[allow(async_fn_in_trait)]
pub trait AccountStore {
    async fn create_user(
        &self,
        name: &Username,
        password_hash: &str,
        is_admin: bool,
    ) -> Result<User, StoreError>;
    async fn credentials(&self, name: &Username) -> Result<Option<Credentials>, StoreError>;
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;
    async fn account(&self, id: UserId) -> Result<Option<Account>, StoreError>;
    async fn record_login(&self, id: UserId) -> Result<(), StoreError>;
    /// Makes an existing user an admin; false if there is no such user.
    async fn promote(&self, name: &Username) -> Result<bool, StoreError>;
    /// Disables or enables an account; `None` if there is no such user.
    async fn set_disabled(&self, id: UserId, disabled: bool) -> Result<Option<User>, StoreError>;
    /// Deletes every stored session of `user`; returns how many.
    async fn delete_sessions_of(&self, user: UserId) -> Result<u64, StoreError>;
    /// Replaces `user`'s password hash; false if there is no such user.
    async fn set_password_hash(&self, user: UserId, hash: &str) -> Result<bool, StoreError>;
    async fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError>;
    /// Users whose name starts with `prefix`, except `exclude`, alphabetically.
    async fn search_users(
        &self,
        prefix: &str,
        exclude: UserId,
        limit: u32,
    ) -> Result<Vec<User>, StoreError>;
}

/// Display names and the deletion of accounts (`server::accounts`). Implemented once for every
/// backend (`profiles.rs`).
#[allow(async_fn_in_trait)]
pub trait ProfileTable {
    /// Sets (or with `None` removes) the display name of `user`; `None` if there is no such
    /// account or it was deleted.
    async fn set_display_name(
        &self,
        user: UserId,
        name: Option<&DisplayName>,
    ) -> Result<Option<User>, StoreError>;
    /// Deletes the account `user` at `now` (ms), in one transaction: marks it deleted (its
    /// password and display name gone, its username held), removes its blocks and reset links and
    /// deletes every session of it, whose ids it returns. `None` (and nothing changed) if there is
    /// no such account or it was already deleted. Its messages are erased afterwards, through the
    /// ordered stream (`messages_to_erase`).
    async fn delete_account(
        &self,
        user: UserId,
        now: i64,
    ) -> Result<Option<Vec<String>>, StoreError>;
    /// Up to `limit` messages still carrying text whose sender's account was deleted, as (sender,
    /// id), oldest first.
    async fn messages_to_erase(&self, limit: u32) -> Result<Vec<(UserId, i64)>, StoreError>;
    /// Every deleted account.
    async fn deleted_accounts(&self) -> Result<Vec<UserId>, StoreError>;
    /// Renames the accounts deleted before `deleted_before` (ms) to `deleted.<id>`, which frees
    /// their usernames for others; returns how many were renamed.
    async fn free_usernames(&self, deleted_before: i64) -> Result<u64, StoreError>;
}

/// Removing old messages for the retention policy (`server::housekeeping`). Implemented once for
/// every backend (`retention.rs`).
#[allow(async_fn_in_trait)]
pub trait RetentionTable {
    /// Removes up to `limit` of the oldest messages dated before `cutoff` (ms), in one short
    /// transaction, keeping unread counts and conversation summaries right (a conversation left
    /// with no messages goes). Says how many were removed (0: none is left) and for how long the
    /// batch held the write lock.
    async fn remove_old_messages(
        &self,
        cutoff: i64,
        limit: u32,
    ) -> Result<RemovedBatch, StoreError>;
}

/// What one batch of `RetentionTable::remove_old_messages` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RemovedBatch {
    pub messages: u64,
    /// From the moment the batch had the write lock to its commit.
    pub held: std::time::Duration,
}

/// One-time password reset links (`server::reset_links`), kept as the hash of their token.
/// Implemented once for every backend (`reset_links.rs`).
#[allow(async_fn_in_trait)]
pub trait ResetLinkTable {
    /// Keeps a new password reset link (the hash of its token); `MissingReference` if the user
    /// does not exist or was deleted.
    async fn create_reset_link(&self, link: NewResetLink<'_>) -> Result<(), StoreError>;
    /// The user a reset link names, if it is unused and unexpired at `now` (ms).
    async fn reset_link_user(&self, token_hash: &str, now: i64)
        -> Result<Option<User>, StoreError>;
    /// Uses a reset link, if it is unused and unexpired at `now` (ms): in one transaction, marks it
    /// used, sets its user's password hash and deletes every session of theirs. Returns the user
    /// and the ids of the sessions deleted; `None` (and nothing changed) for any other link.
    async fn use_reset_link(
        &self,
        token_hash: &str,
        now: i64,
        password_hash: &str,
    ) -> Result<Option<(UserId, Vec<String>)>, StoreError>;
}

/// The session table: tower-sessions' records, each with the account it belongs to in a column of
/// its own (`SessionRow`), so that `AccountStore::delete_sessions_of` is one indexed delete.
/// `SessionRecords` is the only caller; it turns records into rows and back. Dates are Unix
/// seconds. Implemented once per backend.
#[allow(async_fn_in_trait)]
pub trait SessionTable {
    /// Stores a new session; false (and nothing written) when its id is already taken.
    async fn insert_session(&self, row: &SessionRow) -> Result<bool, StoreError>;
    /// Updates a stored session. A session that is no longer stored (deleted, expired) is not
    /// written back: ending a session is final.
    async fn save_session(&self, row: &SessionRow) -> Result<(), StoreError>;
    /// The record of session `id`, unless it is unknown or expired by `now`.
    async fn load_session(&self, id: &str, now: i64) -> Result<Option<Vec<u8>>, StoreError>;
    /// The account and device of session `id`, in one read: what every request needs to know
    /// who is calling. `None` when the session is unknown, expired by `now`, or not logged in.
    async fn session_caller(&self, id: &str, now: i64)
        -> Result<Option<SessionCaller>, StoreError>;
    async fn delete_session(&self, id: &str) -> Result<(), StoreError>;
    /// Deletes the sessions expired by `now`; returns how many.
    async fn delete_expired_sessions(&self, now: i64) -> Result<u64, StoreError>;
    /// `user`'s unexpired sessions that have a device, most recently seen first, each with its
    /// session id (which never leaves the server).
    async fn devices_of(&self, user: UserId, now: i64)
        -> Result<Vec<(String, Device)>, StoreError>;
    /// Deletes `user`'s session on `device`; its session id, or `None` if `user` has no such one.
    async fn delete_device(
        &self,
        user: UserId,
        device: uuid::Uuid,
    ) -> Result<Option<String>, StoreError>;
    /// Deletes every session of `user` but `keep`; returns the ids deleted.
    async fn delete_sessions_except(
        &self,
        user: UserId,
        keep: &str,
    ) -> Result<Vec<String>, StoreError>;
}

/// Messages and conversations between two users: storing and reading messages, read pointers,
/// blocks, and who shares activity with whom. Implemented once per backend.
#[allow(async_fn_in_trait)]
pub trait MessageStore {
    /// Stores a message, or finds the one this sender stored before under the same `client_id`.
    async fn insert_message(&self, message: NewMessage<'_>) -> Result<Stored, StoreError>;
    /// Edits or deletes a message of `change.actor`'s, through the same writer (and so the same
    /// order) as new messages: the change takes the next stream position and is handed to the
    /// commit listener. Refused (`StoreError::Refused`) when the message is in none of the
    /// actor's conversations (or not in the one with `change.peer`), is someone else's, is
    /// already deleted, or (an edit) was sent more than `domain::EDIT_WINDOW` before the store's
    /// clock says now. Checked in the transaction that writes the change, so a deletion and an
    /// edit that cross each other cannot bring deleted text back.
    async fn change_message(&self, change: MessageChange<'_>) -> Result<StreamEntry, StoreError>;
    /// The stream entries of every conversation `user` is in with a position above `after`, by
    /// position (for resume).
    async fn entries_after(
        &self,
        user: UserId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StreamEntry>, StoreError>;
    /// Every stream entry with a position above `after`, whoever's, by position: how a node of
    /// several catches up on what the broker did not bring it.
    async fn committed_after(&self, after: i64, limit: u32)
        -> Result<Vec<StreamEntry>, StoreError>;
    /// The newest stream position of all (0: none yet).
    async fn newest_position(&self) -> Result<i64, StoreError>;
    /// Everyone `user` shares activity with (presence, typing, receipts): both have written in
    /// their conversation and neither has blocked the other. See `Relation::shares_activity`.
    async fn activity_partners(&self, user: UserId) -> Result<Vec<UserId>, StoreError>;
    /// What `me` and `peer` are to each other.
    async fn relation(&self, me: UserId, peer: UserId) -> Result<Relation, StoreError>;
    /// `blocker` blocks `blocked` (again is fine); `MissingReference` if either does not exist.
    async fn block(&self, blocker: UserId, blocked: UserId) -> Result<(), StoreError>;
    /// Lifts a block; false if there was none.
    async fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<bool, StoreError>;
    /// Every block there is, as (blocker, blocked).
    async fn all_blocks(&self) -> Result<Vec<(UserId, UserId)>, StoreError>;
    /// Everyone `blocker` has blocked, most recent first.
    async fn blocks(&self, blocker: UserId) -> Result<Vec<BlockedUser>, StoreError>;
    /// Moves `reader`'s read pointer in the conversation with `peer` up to `up_to` (clamped to the
    /// newest message there); never backwards. Returns the new pointer, or `None` when it did not
    /// move (or there is no such conversation).
    async fn mark_read(
        &self,
        reader: UserId,
        peer: UserId,
        up_to: i64,
    ) -> Result<Option<i64>, StoreError>;
    /// Both read pointers of the conversation `me`–`peer`, `me`'s unread total and newest id.
    async fn read_state(&self, me: UserId, peer: UserId) -> Result<ReadState, StoreError>;
    /// Unread messages across all of `user`'s conversations.
    async fn unread_total(&self, user: UserId) -> Result<i64, StoreError>;
    /// The `limit` messages of the pair `a`–`b` ending where `end` says, in ascending order.
    async fn history(
        &self,
        a: UserId,
        b: UserId,
        end: PageEnd,
        limit: u32,
    ) -> Result<HistoryPage, StoreError>;
    /// `user`'s inbox (see `ConversationList`).
    async fn conversations(&self, user: UserId) -> Result<ConversationList, StoreError>;
    /// Everyone `user` has a conversation with, blocked or not, by username, each with how far
    /// `user` has read (for the export).
    async fn conversation_peers(&self, user: UserId) -> Result<Vec<(User, i64)>, StoreError>;
    /// Up to `limit` messages of the pair `a`–`b` in date order (ties by id), after message
    /// `after` (from the first when `None`): the export reads a conversation with these, a page
    /// at a time.
    async fn messages_after(
        &self,
        a: UserId,
        b: UserId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError>;
}

/// The admin console: every account and conversation, full-text search over all messages (which a
/// user's search of their own conversations shares), and the audit log of what admins looked at or
/// changed. Implemented once per backend.
#[allow(async_fn_in_trait)]
pub trait AdminStore {
    /// Accounts whose name starts with `prefix`, alphabetically.
    async fn accounts(
        &self,
        prefix: &str,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<AccountSummary>, StoreError>;
    /// Every conversation (or those of `user`), newest activity first.
    async fn chats(
        &self,
        user: Option<UserId>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<ChatSummary>, StoreError>;
    /// Messages containing every one of `words` (plain words, matched as words: nothing in them is
    /// query syntax), newest first: everyone's (the admin search), or only those of conversations
    /// `within` is in (a user's own search).
    async fn search_messages(
        &self,
        words: &[&str],
        within: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<SearchHit>, StoreError>;
    async fn append_audit(&self, entry: NewAuditEntry<'_>) -> Result<(), StoreError>;
    /// The audit log, newest first.
    async fn audit_log(
        &self,
        action: Option<AuditAction>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

impl From<StoreError> for crate::error::AppError {
    fn from(err: StoreError) -> Self {
        use crate::error::{AppError, ErrorCode};
        match err {
            // The one uniqueness rule a request can break.
            StoreError::Conflict(_) => {
                AppError::conflict(ErrorCode::UsernameTaken, "that username is taken")
            }
            StoreError::MissingReference => AppError::no_such_user(),
            StoreError::Refused(refusal) => refusal.into(),
            StoreError::Other(cause) => AppError::internal(cause),
        }
    }
}
