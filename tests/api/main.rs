//! Integration tests: the real router on an ephemeral port, a fresh SQLite file per test, real
//! HTTP and WebSocket clients. One binary, so the crate is linked once.

mod accounts;
mod admin;
mod crash;
mod delivery;
mod hardening;
mod headers;
mod helpers;
mod hostile_input;
mod login_flood;
mod messaging;
mod parser_invariants;
mod parser_properties;
mod privacy;
mod storage;
mod websocket;
