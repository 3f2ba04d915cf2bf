//! Removing old messages (`RetentionTable`) on SQLite: the shared queries.

use super::SqliteStore;
use crate::server::store::{RemovedBatch, RetentionTable, StoreError};
use anyhow::Context;
use sqlx::SqliteConnection;

super::super::retention::retention_table!(
    SqliteStore,
    SqliteConnection,
    "BEGIN IMMEDIATE",
    Some(("PRAGMA synchronous = NORMAL", "PRAGMA synchronous = FULL")),
    Some("update stream_floor set position = max(position, $1)")
);
