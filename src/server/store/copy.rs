//! `parley copy-database --from sqlite://… --to postgres://…`: moves a deployment from the embedded
//! default to PostgreSQL. Everything is copied as it is (ids and dates kept): users, messages,
//! edits and deletions, the per-conversation summaries (read pointers and unread counts), blocks,
//! the audit log and the sessions, so nobody is logged out and every page answers as before
//! (resume positions included). The target must be empty;
//! the whole copy is one transaction, so a failure leaves it empty again. Afterwards the target's
//! message counter and id sequences continue above the copied ids.
//!
//! This is the one place that reads one backend's tables and writes the other's: the storage
//! traits have no way to write a row with a given id, and should not.

use super::{Backend, CommitListener, PgStore, SqliteStore};
use anyhow::{bail, Context, Result};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::sqlite::SqliteRow;
use sqlx::{PgConnection, Postgres, Row, Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::sync::Arc;

/// Rows read and written per statement.
const BATCH: i64 = 1_000;

/// What was copied, table by table.
#[derive(Debug, Default)]
pub struct Copied {
    pub users: u64,
    pub messages: u64,
    /// Edits and deletions, each with its position in the stream.
    pub changes: u64,
    pub conversations: u64,
    pub blocks: u64,
    pub audit_entries: u64,
    pub sessions: u64,
}

/// Copies the SQLite database `from` into the empty PostgreSQL database `to`, telling `progress`
/// how far it has got after every batch.
pub async fn copy_database(from: &str, to: &str, mut progress: impl FnMut(&str)) -> Result<Copied> {
    if Backend::for_url(from)? != Backend::Sqlite || Backend::for_url(to)? != Backend::Postgres {
        bail!("copy-database copies a SQLite database (--from sqlite://…) into PostgreSQL (--to postgres://…)");
    }
    let file = SqliteConnectOptions::from_str(from)
        .context("parse --from")?
        .get_filename()
        .to_owned();
    if !file.is_file() {
        bail!("there is no SQLite database at {}", file.display());
    }
    // Opening migrates each side to this build's schema; nothing is listening for new messages.
    let nobody: CommitListener = Arc::new(|_| {});
    let source = SqliteStore::open(from, nobody.clone()).await?;
    let target = PgStore::open(to, nobody).await?;

    let mut tx = target.pool().begin().await.context("begin the copy")?;
    refuse_non_empty(&mut tx).await?;
    // The summaries are copied as they are, read pointers and unread counts included, instead of
    // being rebuilt message by message by the trigger.
    sqlx::query("alter table chat disable trigger chat_into_conversation")
        .execute(&mut *tx)
        .await
        .context("pause the conversation trigger")?;
    let src = source.pool();
    let copied = Copied {
        users: copy_users(src, &mut tx, &mut progress).await?,
        messages: copy_messages(src, &mut tx, &mut progress).await?,
        changes: copy_changes(src, &mut tx).await?,
        conversations: copy_conversations(src, &mut tx, &mut progress).await?,
        blocks: copy_blocks(src, &mut tx).await?,
        audit_entries: copy_audit_log(src, &mut tx, &mut progress).await?,
        sessions: copy_sessions(src, &mut tx).await?,
    };
    sqlx::query("alter table chat enable trigger chat_into_conversation")
        .execute(&mut *tx)
        .await
        .context("resume the conversation trigger")?;
    continue_above_copied_ids(&mut tx).await?;
    tx.commit().await.context("commit the copy")?;
    Ok(copied)
}

async fn refuse_non_empty(tx: &mut PgConnection) -> Result<()> {
    let used: bool = sqlx::query_scalar(
        "select exists (select 1 from users) or exists (select 1 from chat)
             or exists (select 1 from audit_log) or exists (select 1 from sessions)",
    )
    .fetch_one(&mut *tx)
    .await
    .context("look at the target")?;
    if used {
        bail!("the target database is not empty: copy-database only copies into an empty one");
    }
    Ok(())
}

fn count_line(progress: &mut impl FnMut(&str), what: &str, done: u64, total: i64) {
    progress(&format!("copied {done} of {total} {what}"));
}

/// One column of a batch of rows, decoded as `T`.
fn column<'r, T>(rows: &'r [SqliteRow], name: &str) -> Result<Vec<T>>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    rows.iter()
        .map(|row| {
            row.try_get::<T, _>(name)
                .with_context(|| format!("read {name}"))
        })
        .collect()
}

/// A 0/1 column of a batch of rows, as booleans.
fn flags(rows: &[SqliteRow], name: &str) -> Result<Vec<bool>> {
    Ok(column::<i64>(rows, name)?
        .into_iter()
        .map(|v| v != 0)
        .collect())
}

async fn total(src: &SqlitePool, table: &str) -> Result<i64> {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(src)
        .await
        .with_context(|| format!("count {table}"))
}

async fn copy_users(
    src: &SqlitePool,
    tx: &mut Transaction<'_, Postgres>,
    progress: &mut impl FnMut(&str),
) -> Result<u64> {
    let total = total(src, "users").await?;
    let (mut after, mut done) = (0_i64, 0_u64);
    loop {
        let rows = sqlx::query(
            "select id, username, password_hash, is_admin, created_at, disabled, last_login_at,
                    display_name, deleted_at
             from users where id > $1 order by id limit $2",
        )
        .bind(after)
        .bind(BATCH)
        .fetch_all(src)
        .await
        .context("read users")?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("id")?;
        sqlx::query(
            "insert into users (id, username, password_hash, is_admin, created_at, disabled, last_login_at,
                                display_name, deleted_at)
             select * from unnest($1::bigint[], $2::text[], $3::text[], $4::boolean[], $5::bigint[],
                                  $6::boolean[], $7::bigint[], $8::text[], $9::bigint[])",
        )
        .bind(column::<i64>(&rows, "id")?)
        .bind(column::<String>(&rows, "username")?)
        .bind(column::<String>(&rows, "password_hash")?)
        .bind(flags(&rows, "is_admin")?)
        .bind(column::<i64>(&rows, "created_at")?)
        .bind(flags(&rows, "disabled")?)
        .bind(column::<Option<i64>>(&rows, "last_login_at")?)
        .bind(column::<Option<String>>(&rows, "display_name")?)
        .bind(column::<Option<i64>>(&rows, "deleted_at")?)
        .execute(&mut **tx)
        .await
        .context("write users")?;
        done += rows.len() as u64;
        count_line(progress, "users", done, total);
    }
    Ok(done)
}

async fn copy_messages(
    src: &SqlitePool,
    tx: &mut Transaction<'_, Postgres>,
    progress: &mut impl FnMut(&str),
) -> Result<u64> {
    let total = total(src, "chat").await?;
    let (mut after, mut done) = (0_i64, 0_u64);
    loop {
        let rows = sqlx::query(
            "select id, sender, receiver, message, date, client_id, edited_at, deleted_at
             from chat where id > $1 order by id limit $2",
        )
        .bind(after)
        .bind(BATCH)
        .fetch_all(src)
        .await
        .context("read messages")?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("id")?;
        sqlx::query(
            "insert into chat (id, sender, receiver, message, date, client_id, edited_at, deleted_at)
             select id, sender, receiver, message, date, client_id::uuid, edited_at, deleted_at
             from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::text[],
                         $7::bigint[], $8::bigint[])
                  as m (id, sender, receiver, message, date, client_id, edited_at, deleted_at)",
        )
        .bind(column::<i64>(&rows, "id")?)
        .bind(column::<i64>(&rows, "sender")?)
        .bind(column::<i64>(&rows, "receiver")?)
        .bind(column::<String>(&rows, "message")?)
        .bind(column::<i64>(&rows, "date")?)
        .bind(column::<Option<String>>(&rows, "client_id")?)
        .bind(column::<Option<i64>>(&rows, "edited_at")?)
        .bind(column::<Option<i64>>(&rows, "deleted_at")?)
        .execute(&mut **tx)
        .await
        .context("write messages")?;
        done += rows.len() as u64;
        count_line(progress, "messages", done, total);
    }
    Ok(done)
}

async fn copy_changes(src: &SqlitePool, tx: &mut Transaction<'_, Postgres>) -> Result<u64> {
    let rows = sqlx::query("select id, message_id, kind, date from chat_change order by id")
        .fetch_all(src)
        .await
        .context("read changes")?;
    for chunk in rows.chunks(BATCH as usize) {
        sqlx::query(
            "insert into chat_change (id, message_id, kind, date)
             select * from unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[])",
        )
        .bind(column::<i64>(chunk, "id")?)
        .bind(column::<i64>(chunk, "message_id")?)
        .bind(column::<String>(chunk, "kind")?)
        .bind(column::<i64>(chunk, "date")?)
        .execute(&mut **tx)
        .await
        .context("write changes")?;
    }
    Ok(rows.len() as u64)
}

async fn copy_conversations(
    src: &SqlitePool,
    tx: &mut Transaction<'_, Postgres>,
    progress: &mut impl FnMut(&str),
) -> Result<u64> {
    let total = total(src, "conversation").await?;
    let (mut after, mut done) = ((0_i64, 0_i64), 0_u64);
    loop {
        let rows = sqlx::query(
            "select owner, peer, last_message_id, read_up_to, unread, owner_wrote
             from conversation where (owner, peer) > ($1, $2) order by owner, peer limit $3",
        )
        .bind(after.0)
        .bind(after.1)
        .bind(BATCH)
        .fetch_all(src)
        .await
        .context("read conversations")?;
        let Some(last) = rows.last() else { break };
        after = (last.try_get("owner")?, last.try_get("peer")?);
        sqlx::query(
            "insert into conversation (owner, peer, last_message_id, read_up_to, unread, owner_wrote)
             select * from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],
                                  $5::bigint[], $6::boolean[])",
        )
        .bind(column::<i64>(&rows, "owner")?)
        .bind(column::<i64>(&rows, "peer")?)
        .bind(column::<i64>(&rows, "last_message_id")?)
        .bind(column::<i64>(&rows, "read_up_to")?)
        .bind(column::<i64>(&rows, "unread")?)
        .bind(flags(&rows, "owner_wrote")?)
        .execute(&mut **tx)
        .await
        .context("write conversations")?;
        done += rows.len() as u64;
        count_line(progress, "conversation summaries", done, total);
    }
    Ok(done)
}

async fn copy_blocks(src: &SqlitePool, tx: &mut Transaction<'_, Postgres>) -> Result<u64> {
    let rows: Vec<(i64, i64, i64)> =
        sqlx::query_as("select blocker, blocked, created_at from block")
            .fetch_all(src)
            .await
            .context("read blocks")?;
    for chunk in rows.chunks(BATCH as usize) {
        let (blockers, rest): (Vec<i64>, Vec<(i64, i64)>) =
            chunk.iter().map(|&(a, b, c)| (a, (b, c))).unzip();
        let (blocked, created): (Vec<i64>, Vec<i64>) = rest.into_iter().unzip();
        sqlx::query(
            "insert into block (blocker, blocked, created_at)
             select * from unnest($1::bigint[], $2::bigint[], $3::bigint[])",
        )
        .bind(blockers)
        .bind(blocked)
        .bind(created)
        .execute(&mut **tx)
        .await
        .context("write blocks")?;
    }
    Ok(rows.len() as u64)
}

async fn copy_audit_log(
    src: &SqlitePool,
    tx: &mut Transaction<'_, Postgres>,
    progress: &mut impl FnMut(&str),
) -> Result<u64> {
    let total = total(src, "audit_log").await?;
    let (mut after, mut done) = (0_i64, 0_u64);
    loop {
        let rows = sqlx::query(
            "select id, admin_id, action, user_a, user_b, detail, reason, date
             from audit_log where id > $1 order by id limit $2",
        )
        .bind(after)
        .bind(BATCH)
        .fetch_all(src)
        .await
        .context("read the audit log")?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("id")?;
        sqlx::query(
            "insert into audit_log (id, admin_id, action, user_a, user_b, detail, reason, date)
             select * from unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[],
                                  $6::text[], $7::text[], $8::bigint[])",
        )
        .bind(column::<i64>(&rows, "id")?)
        .bind(column::<i64>(&rows, "admin_id")?)
        .bind(column::<String>(&rows, "action")?)
        .bind(column::<Option<i64>>(&rows, "user_a")?)
        .bind(column::<Option<i64>>(&rows, "user_b")?)
        .bind(column::<Option<String>>(&rows, "detail")?)
        .bind(column::<Option<String>>(&rows, "reason")?)
        .bind(column::<i64>(&rows, "date")?)
        .execute(&mut **tx)
        .await
        .context("write the audit log")?;
        done += rows.len() as u64;
        count_line(progress, "audit entries", done, total);
    }
    Ok(done)
}

/// Sessions keep their ids, so every logged-in browser stays logged in.
async fn copy_sessions(src: &SqlitePool, tx: &mut Transaction<'_, Postgres>) -> Result<u64> {
    let rows: Vec<(String, Option<i64>, Vec<u8>, i64)> =
        sqlx::query_as("select id, user_id, data, expiry_date from sessions")
            .fetch_all(src)
            .await
            .context("read sessions")?;
    for chunk in rows.chunks(BATCH as usize) {
        sqlx::query(
            "insert into sessions (id, user_id, data, expiry_date)
             select * from unnest($1::text[], $2::bigint[], $3::bytea[], $4::bigint[])",
        )
        .bind(chunk.iter().map(|(id, ..)| id.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|&(_, user, ..)| user).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|(_, _, data, _)| data.as_slice())
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|&(.., expires)| expires)
                .collect::<Vec<_>>(),
        )
        .execute(&mut **tx)
        .await
        .context("write sessions")?;
    }
    Ok(rows.len() as u64)
}

/// New messages take ids and dates above the copied ones; new users and audit lines, ids above
/// theirs.
async fn continue_above_copied_ids(tx: &mut PgConnection) -> Result<()> {
    sqlx::query(
        "update message_counter set
             last_id = greatest(last_id, (select coalesce(max(id), 0) from chat),
                                (select coalesce(max(id), 0) from chat_change)),
             last_date = greatest(last_date, (select coalesce(max(date), 0) from chat),
                                  (select coalesce(max(date), 0) from chat_change))",
    )
    .execute(&mut *tx)
    .await
    .context("move the message counter")?;
    for table in ["users", "audit_log"] {
        sqlx::query(&format!(
            "select setval(pg_get_serial_sequence('{table}', 'id'),
                           greatest((select max(id) from {table}), 1),
                           (select count(*) > 0 from {table}))"
        ))
        .execute(&mut *tx)
        .await
        .with_context(|| format!("move the id sequence of {table}"))?;
    }
    Ok(())
}
