//! Views shared by several pages.

mod block_form;
mod island_preloads;
mod link_status;
mod live_title;
mod loaded;
mod message;
mod notice;
mod person_name;
mod timestamp;
mod top_bar;

pub use block_form::{BlockChange, BlockForm};
pub use island_preloads::{IslandChunks, IslandPreloads};
pub use link_status::LinkStatusLabel;
pub use live_title::LiveTitle;
pub use loaded::Loaded;
pub use message::MessageBubble;
pub use notice::ErrorNotice;
pub use person_name::PersonName;
pub use timestamp::Timestamp;
pub use top_bar::TopBar;
