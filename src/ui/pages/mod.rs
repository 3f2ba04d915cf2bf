//! One component per route.

mod admin;
mod auth;
mod conversation;
mod inbox;
mod not_found;
mod search;
mod settings;

pub use admin::{
    AdminAuditPage, AdminChatsPage, AdminConversationPage, AdminSearchPage, AdminUsersPage,
};
pub use auth::{error_text, LoginPage, ResetPage, SignupPage};
pub use conversation::ConversationPage;
pub use inbox::InboxPage;
pub use not_found::{NotFoundContent, NotFoundPage, NOT_FOUND_TITLE};
pub use search::SearchPage;
pub use settings::SettingsPage;
