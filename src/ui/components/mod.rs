//! Views shared by several pages.

mod message;
mod notice;
mod timestamp;
mod top_bar;

pub use message::MessageBubble;
pub use notice::ErrorNotice;
pub use timestamp::Timestamp;
pub use top_bar::TopBar;
