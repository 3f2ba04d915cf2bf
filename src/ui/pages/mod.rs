//! One component per route.

mod auth;
mod conversation;
mod inbox;
mod not_found;

pub use auth::{error_text, LoginPage, SignupPage};
pub use conversation::ConversationPage;
pub use inbox::InboxPage;
pub use not_found::NotFoundPage;
