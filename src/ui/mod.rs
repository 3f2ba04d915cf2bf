//! Pages (one per route) and the components they share. No I/O here but through server
//! functions (`crate::api`) and the realtime client.

pub mod components;
pub mod drafts;
pub mod format;
pub mod intl;
pub mod links;
pub mod notify;
pub mod pages;
pub mod realtime;
pub mod schedule;
pub mod timeline;
pub mod url;
