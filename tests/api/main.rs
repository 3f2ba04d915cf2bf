//! Integration tests: the real router on an ephemeral port, a fresh SQLite file per test (or a
//! fresh database on a throwaway PostgreSQL cluster, `postgres.rs`), real HTTP and WebSocket
//! clients. One binary, so the crate is linked once (and the cluster started once).

mod accounts;
mod admin;
mod balancer;
mod cluster;
mod copy_database;
mod crash;
mod delivery;
mod devices;
mod edits;
mod hardening;
mod headers;
mod helpers;
mod hostile_input;
mod login_flood;
mod messaging;
mod metrics;
mod nats;
mod page_caches;
mod parser_invariants;
mod parser_properties;
mod postgres;
mod postgres_store;
mod privacy;
mod profiles;
mod reset_links;
mod retention;
mod search_index;
mod storage;
mod store_contract;
mod wal_checkpoints;
mod websocket;
