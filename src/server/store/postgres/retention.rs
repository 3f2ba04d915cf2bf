//! Removing old messages (`RetentionTable`) on PostgreSQL: the shared queries.

use super::PgStore;
use crate::server::store::{RemovedBatch, RetentionTable, StoreError};
use anyhow::Context;
use sqlx::PgConnection;

super::super::retention::retention_table!(PgStore, PgConnection, "BEGIN", None, None);
