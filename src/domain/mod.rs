//! Pure domain types and rules. No I/O: this module builds for the server and for the browser.
//!
//! Raw input is parsed into these types at the edge (HTTP handler, server function, WebSocket
//! frame); everything past the edge works with values that are valid by construction.

pub mod admin;
mod device;
mod display_name;
mod invisible;
mod message;
mod password;
mod relation;
mod room;
mod time;
mod user;
mod username;

pub use device::{describe, ActiveSession, Device, SEEN_EVERY_SECS};
pub use display_name::{DisplayName, DisplayNameError};
pub use message::{
    counted_length, Change, ChangeRefusal, ChatMessage, ClientId, HistoryPage, MessageText,
    MessageTextError, StreamEntry, DEFAULT_MAX_MESSAGE_CHARS, EDIT_WINDOW,
};
pub use password::{Password, PasswordError};
pub use relation::{BlockedUser, Relation, SendRefusal};
pub use room::RoomId;
pub use time::rfc3339_millis;
pub use user::{ConversationSummary, User, UserId};
pub use username::{Username, UsernameError};
