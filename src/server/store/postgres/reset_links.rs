//! Password reset links (`ResetLinkTable`) on PostgreSQL: the shared queries.

use super::{classify, user_from_row, PgStore};
use crate::domain::{User, UserId};
use crate::server::store::{NewResetLink, ResetLinkTable, StoreError};
use anyhow::Context;

super::super::reset_links::reset_link_table!(PgStore);
