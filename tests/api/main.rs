//! Integration tests: the real router on an ephemeral port, a fresh SQLite file per test, real
//! HTTP and WebSocket clients. One binary, so the crate is linked once.

mod accounts;
mod admin;
mod delivery;
mod headers;
mod helpers;
mod messaging;
mod storage;
mod websocket;
