//! Display names and account deletion (`ProfileTable`) on SQLite: the shared queries.

use super::{user_from_row, SqliteStore};
use crate::domain::{DisplayName, User, UserId, Username};
use crate::server::store::{ProfileTable, StoreError};
use anyhow::Context;

super::super::profiles::profile_table!(SqliteStore);
