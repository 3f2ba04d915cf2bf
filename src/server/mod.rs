//! Everything that runs only on the server. Compiled with the `ssr` feature, never into the wasm.

pub mod accounts;
pub mod admin;
pub mod auth;
pub mod config;
pub mod csrf;
pub mod headers;
pub mod http;
pub mod messaging;
pub mod pages;
pub mod realtime;
pub mod router;
pub mod state;
pub mod store;
