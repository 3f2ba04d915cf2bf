//! Everything that runs only on the server. Compiled with the `ssr` feature, never into the wasm.

pub mod accounts;
pub mod admin;
pub mod auth;
pub mod broker;
pub mod client_addr;
pub mod config;
pub mod csrf;
pub mod events;
pub mod export;
pub mod hashing;
pub mod headers;
pub mod housekeeping;
pub mod http;
pub mod limits;
pub mod memory;
pub mod messaging;
pub mod metrics;
pub mod pages;
pub mod realtime;
pub mod relations;
pub mod reset_links;
pub mod router;
pub mod state;
pub mod store;
