//! The session table (`SessionTable`) on PostgreSQL, and the move of sessions out of the table
//! earlier versions kept them in.

use super::{optional_user, PgStore};
use crate::domain::{Device, UserId};
use crate::server::store::{Account, SessionCaller, SessionRow, SessionTable, StoreError};
use anyhow::Context;
use sqlx::PgPool;
use sqlx::Row;

super::super::sessions::session_table!(PgStore);

/// Moves the sessions of an earlier version's `tower_sessions.session` table (records without a
/// user column) into `sessions`, then drops that table's schema: everyone stays logged in across
/// the upgrade. Nodes starting together take turns, and the later ones find nothing to move.
pub(super) async fn adopt_earlier_sessions(pool: &PgPool) -> anyhow::Result<()> {
    /// Any fixed number, the same on every node.
    const MOVING_SESSIONS: i64 = 0x5e55_1025;
    let mut tx = pool.begin().await.context("begin moving sessions")?;
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(MOVING_SESSIONS)
        .execute(&mut *tx)
        .await
        .context("wait for another node moving sessions")?;
    let earlier: bool =
        sqlx::query_scalar("select to_regclass('tower_sessions.session') is not null")
            .fetch_one(&mut *tx)
            .await
            .context("look for an earlier session table")?;
    if !earlier {
        return Ok(());
    }
    let rows: Vec<(String, Vec<u8>, i64)> = sqlx::query_as(
        "select id, data, extract(epoch from expiry_date)::bigint from tower_sessions.session",
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
             where $2::bigint is null or exists (select 1 from users where id = $2)
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
    sqlx::query("drop schema tower_sessions cascade")
        .execute(&mut *tx)
        .await
        .context("drop the earlier session table")?;
    tx.commit().await.context("commit moving sessions")?;
    Ok(())
}
