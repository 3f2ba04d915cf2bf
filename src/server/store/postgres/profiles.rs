//! Display names and account deletion (`ProfileTable`) on PostgreSQL: the shared queries.

use super::{user_from_row, PgStore};
use crate::domain::{DisplayName, User, UserId, Username};
use crate::server::store::{ProfileTable, StoreError};
use anyhow::Context;

super::super::profiles::profile_table!(PgStore);
