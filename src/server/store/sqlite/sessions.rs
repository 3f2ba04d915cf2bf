//! The session table (`SessionTable`) on SQLite, and the move of sessions out of the table earlier
//! versions kept them in.

use super::{optional_user, SqliteStore};
use crate::domain::{Device, UserId};
use crate::server::store::{Account, SessionCaller, SessionRow, SessionTable, StoreError};
use anyhow::Context;
use sqlx::Row;
use sqlx::SqlitePool;

super::super::sessions::session_table!(SqliteStore);

/// Moves the sessions of an earlier version's `tower_sessions` table (records without a user
/// column) into `sessions`, then drops that table: everyone stays logged in across the upgrade.
pub(super) async fn adopt_earlier_sessions(pool: &SqlitePool) -> anyhow::Result<()> {
    let mut tx = pool.begin().await.context("begin moving sessions")?;
    let earlier: bool = sqlx::query_scalar(
        "select exists (select 1 from sqlite_master where type = 'table' and name = 'tower_sessions')",
    )
    .fetch_one(&mut *tx)
    .await
    .context("look for an earlier session table")?;
    if !earlier {
        return Ok(());
    }
    // tower-sessions' SQLite store wrote expiry dates as RFC 3339 text.
    let rows: Vec<(String, Vec<u8>, i64)> = sqlx::query_as(
        "select id, data, cast(strftime('%s', expiry_date) as integer) from tower_sessions",
    )
    .fetch_all(&mut *tx)
    .await
    .context("read the earlier sessions")?;
    for row in rows
        .into_iter()
        .filter_map(|(id, data, expires)| SessionRow::decode(id, data, expires))
    {
        sqlx::query(
            "insert into sessions (id, user_id, data, expiry_date)
             select $1, $2, $3, $4
             -- A session of an account that is no longer there is not worth keeping.
             where $2 is null or exists (select 1 from users where id = $2)
             on conflict (id) do nothing",
        )
        .bind(&row.id)
        .bind(row.user.map(|u| u.get()))
        .bind(&row.data)
        .bind(row.expires)
        .execute(&mut *tx)
        .await
        .context("move a session")?;
    }
    sqlx::query("drop table tower_sessions")
        .execute(&mut *tx)
        .await
        .context("drop the earlier session table")?;
    tx.commit().await.context("commit moving sessions")?;
    Ok(())
}
