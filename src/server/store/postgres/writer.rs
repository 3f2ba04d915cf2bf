//! How a batch of the group commit (`store::group_commit`) is written on PostgreSQL, and the order
//! in which messages and changes become visible.
//!
//! New messages are written by one `insert … select … from unnest(…)` whose text is the same for
//! any batch size (prepared once). Each caller hears back only after the transaction holding its
//! job has committed, so an acknowledgement means durable (`synchronous_commit` stays on outside
//! the tests).
//!
//! What SQLite gives for free, one writer at a time, PostgreSQL must be made to give: with several
//! nodes writing at once, ids taken from a sequence at insert time can commit out of order (11
//! before 10), and a client that resumes after 11 would never see 10. So ids come from the one
//! row of `message_counter`, advanced inside the batch's transaction: its row lock makes every
//! other writer, on every node, wait until this batch commits, so batches commit one after another
//! and an id is visible only once every smaller one is. Dates come from the database's clock in
//! the same statement, never below the previous batch's, so date order follows id order whatever
//! the nodes' clocks say.
//!
//! The same lock makes retries safe across nodes: once the counter row is held, every batch
//! committed before is visible, so a retried (sender, client_id) is found and answered with its
//! original. The unique index is the backstop for rows written any other way: the insert skips
//! the conflicting row and the writer re-reads the row that won.
//!
//! Edits and deletions take the next ids from the same counter, in the same transaction, as rows
//! of `chat_change`: one gap-free sequence of positions across messages and changes, which is what
//! lets a node fill a hole from the database (`realtime::sequencer`).

use super::{change_name, message_from_row, MESSAGE_COLUMNS};
use crate::domain::{Change, ChatMessage, ClientId, StreamEntry, UserId, EDIT_WINDOW};
use crate::server::store::group_commit::{
    change_queries, delete_statement, edit_statement, ChangeJob, SendJob, Unchanged, WriteBatch,
    Written, UNCHANGED,
};
use crate::server::store::{CommitListener, StoreError, Stored};
use anyhow::{anyhow, Context};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Row};
use std::collections::{HashMap, HashSet};
use std::future::Future;

pub(super) use crate::server::store::group_commit::Writer as MessageWriter;

/// Connects the writer and starts the group commit on it.
pub(super) async fn start(
    options: &PgConnectOptions,
    on_commit: CommitListener,
) -> anyhow::Result<MessageWriter> {
    // A pool of one, not a bare connection: the writer never waits behind readers for a
    // connection, and one lost (a database restart) is replaced for the next batch.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await
        .context("open the message writer's connection")?;
    Ok(MessageWriter::start(Batches { pool }, on_commit))
}

struct Batches {
    pool: PgPool,
}

impl WriteBatch for Batches {
    fn write(
        &mut self,
        sends: &[&SendJob],
        changes: &[&ChangeJob],
    ) -> impl Future<Output = anyhow::Result<Written>> + Send {
        write_batch(&self.pool, sends, changes)
    }
}

/// What becomes of one job of a batch, decided while the writer holds the counter row.
enum Plan {
    /// A new row: the `n`-th of the batch's new rows, which gets the `n`-th id handed out.
    Insert(usize),
    /// A retry of a message committed before this batch.
    StoredBefore(ChatMessage),
    /// A retry of the job at this index of the same batch.
    SameAs(usize),
    /// The sender or the receiver does not exist.
    MissingReference,
}

/// Writes a batch in one transaction. A job whose sender or receiver does not exist fails alone
/// (checked before inserting: a failed statement would abort the whole transaction on
/// PostgreSQL); any other error fails the whole batch, since nothing of it is committed.
// The writer's task runs outside any caller's span, so the batch gets its own.
#[tracing::instrument(name = "store.write_batch", level = "debug", skip_all, fields(size = batch.len() + changes.len()))]
async fn write_batch(
    pool: &PgPool,
    batch: &[&SendJob],
    changes: &[&ChangeJob],
) -> anyhow::Result<Written> {
    let mut transaction = pool.begin().await.context("begin a message batch")?;
    // Users are never deleted, so this can be read before the lock, keeping the locked part short.
    let users = existing_users(&mut transaction, batch).await?;
    // From here until commit, no other writer on any node can take ids, and every batch they
    // committed before is visible to the statements below (each reads a fresh snapshot).
    sqlx::query("select 1 from message_counter for update")
        .execute(&mut *transaction)
        .await
        .context("lock the message counter")?;
    let stored_before = stored_before(&mut transaction, batch).await?;

    let mut claimed: HashMap<(UserId, ClientId), usize> = HashMap::new();
    let mut new_jobs: Vec<&SendJob> = Vec::new();
    let plans: Vec<Plan> = batch
        .iter()
        .enumerate()
        .map(|(index, job)| {
            let key = job.client_id.map(|c| (job.sender, c));
            if let Some(original) = key.and_then(|key| stored_before.get(&key)) {
                return Plan::StoredBefore(original.clone());
            }
            if let Some(first) = key.and_then(|key| claimed.get(&key)) {
                return Plan::SameAs(*first);
            }
            if !users.contains(&job.sender.get()) || !users.contains(&job.receiver.get()) {
                return Plan::MissingReference;
            }
            if let Some(key) = key {
                claimed.insert(key, index);
            }
            new_jobs.push(job);
            Plan::Insert(new_jobs.len() - 1)
        })
        .collect();

    let (first_id, mut inserted) = insert_new(&mut transaction, &new_jobs).await?;
    let mut outcomes: Vec<Result<Stored, StoreError>> = Vec::with_capacity(batch.len());
    for (job, plan) in batch.iter().zip(plans) {
        let outcome = match plan {
            Plan::Insert(n) => match inserted.remove(&(first_id + n as i64)) {
                Some(message) => Stored {
                    message,
                    is_new: true,
                },
                // Skipped by the unique index: a row with this key was written outside the
                // counter's order meanwhile (the id handed out stays unused).
                None => Stored {
                    message: original(&mut transaction, job).await?,
                    is_new: false,
                },
            },
            Plan::StoredBefore(message) => Stored {
                message,
                is_new: false,
            },
            Plan::SameAs(first) => match outcomes.get(first) {
                Some(Ok(stored)) => Stored {
                    message: stored.message.clone(),
                    is_new: false,
                },
                _ => return Err(anyhow!("a retry's original was not stored")),
            },
            Plan::MissingReference => {
                outcomes.push(Err(StoreError::MissingReference));
                continue;
            }
        };
        outcomes.push(Ok(outcome));
    }
    let mut changed = Vec::with_capacity(changes.len());
    for change in changes {
        changed.push(apply_change(&mut transaction, change).await?);
    }
    transaction
        .commit()
        .await
        .context("commit a message batch")?;
    Ok(Written {
        sends: outcomes,
        changes: changed,
    })
}

/// Which of the batch's senders and receivers exist.
async fn existing_users(
    connection: &mut PgConnection,
    batch: &[&SendJob],
) -> anyhow::Result<HashSet<i64>> {
    let ids: Vec<i64> = batch
        .iter()
        .flat_map(|job| [job.sender.get(), job.receiver.get()])
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let found: Vec<i64> = sqlx::query_scalar("select id from users where id = any($1)")
        .bind(ids)
        .fetch_all(&mut *connection)
        .await
        .context("select the batch's users")?;
    Ok(found.into_iter().collect())
}

/// The messages already stored under the batch's (sender, client_id) keys: retries.
async fn stored_before(
    connection: &mut PgConnection,
    batch: &[&SendJob],
) -> anyhow::Result<HashMap<(UserId, ClientId), ChatMessage>> {
    let (senders, client_ids): (Vec<i64>, Vec<ClientId>) = batch
        .iter()
        .filter_map(|job| job.client_id.map(|c| (job.sender.get(), c)))
        .unzip();
    if senders.is_empty() {
        return Ok(HashMap::new());
    }
    // One index lookup per key, written so that no plan can do otherwise: the writer's connection
    // keeps its prepared plans for its whole life, and the plan made while `chat` was small (a
    // hash join over a scan of the table) scanned the whole table for every batch, more each
    // time (docs/BENCHMARKS.md). `limit 1` (the key is unique) keeps the planner from turning
    // the lateral lookup back into a join.
    let rows = sqlx::query(&format!(
        "select c.* from unnest($1::bigint[], $2::uuid[]) as k (sender, client_id)
         cross join lateral (
             select {MESSAGE_COLUMNS} from chat
             where chat.sender = k.sender and chat.client_id = k.client_id
               and chat.client_id is not null
             limit 1
         ) as c"
    ))
    .bind(senders)
    .bind(client_ids)
    .fetch_all(&mut *connection)
    .await
    .context("select the originals of retried sends")?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in &rows {
        let message = message_from_row(row)?;
        if let Some(client_id) = message.client_id {
            found.insert((message.sender, client_id), message);
        }
    }
    Ok(found)
}

/// Takes ids and a date for `jobs` from the counter and inserts them in one statement. Returns
/// the first id handed out and the rows inserted, by id.
async fn insert_new(
    connection: &mut PgConnection,
    jobs: &[&SendJob],
) -> anyhow::Result<(i64, HashMap<i64, ChatMessage>)> {
    if jobs.is_empty() {
        return Ok((0, HashMap::new()));
    }
    let count = i64::try_from(jobs.len()).context("batch size")?;
    // One date for the batch: its messages are committed together, and ids break the tie.
    let (last_id, date): (i64, i64) = sqlx::query_as(
        "update message_counter
         set last_id = last_id + $1, last_date = greatest(last_date, now_millis())
         returning last_id, last_date",
    )
    .bind(count)
    .fetch_one(&mut *connection)
    .await
    .context("advance the message counter")?;
    let first_id = last_id - count + 1;
    let ids: Vec<i64> = (first_id..=last_id).collect();
    let senders: Vec<i64> = jobs.iter().map(|job| job.sender.get()).collect();
    let receivers: Vec<i64> = jobs.iter().map(|job| job.receiver.get()).collect();
    let texts: Vec<&str> = jobs.iter().map(|job| job.text.as_str()).collect();
    let client_ids: Vec<Option<ClientId>> = jobs.iter().map(|job| job.client_id).collect();
    let rows = sqlx::query(&format!(
        "insert into chat (id, sender, receiver, message, date, client_id)
         select n.id, n.sender, n.receiver, n.message, $5, n.client_id
         from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $6::uuid[])
              as n (id, sender, receiver, message, client_id)
         on conflict (sender, client_id) where client_id is not null do nothing
         returning {MESSAGE_COLUMNS}"
    ))
    .bind(ids)
    .bind(senders)
    .bind(receivers)
    .bind(texts)
    .bind(date)
    .bind(client_ids)
    .fetch_all(&mut *connection)
    .await
    .context("insert a message batch")?;
    let mut inserted = HashMap::with_capacity(rows.len());
    for row in &rows {
        let message = message_from_row(row)?;
        inserted.insert(message.id, message);
    }
    Ok((first_id, inserted))
}

/// The message a retried send's `client_id` already names.
async fn original(connection: &mut PgConnection, job: &SendJob) -> anyhow::Result<ChatMessage> {
    let row = sqlx::query(&format!(
        "select {MESSAGE_COLUMNS} from chat where sender = $1 and client_id = $2"
    ))
    .bind(job.sender.get())
    .bind(job.client_id)
    .fetch_one(&mut *connection)
    .await
    .context("select the original of a retried send")?;
    message_from_row(&row)
}

/// Edits or deletes one message if its rules allow. The writer already holds the counter row;
/// the change takes the next id from it, and its date from the counter's clock (never below the
/// newest message's), against which the edit window is measured. The rules are the UPDATE's
/// condition, so what is checked is what is written; a refused change takes no id.
async fn apply_change(
    connection: &mut PgConnection,
    change: &ChangeJob,
) -> anyhow::Result<Result<StreamEntry, StoreError>> {
    let at: i64 =
        sqlx::query_scalar("select greatest(last_date, now_millis()) from message_counter")
            .fetch_one(&mut *connection)
            .await
            .context("read the counter's clock")?;
    let message = match update_message(connection, change, at).await? {
        Ok(message) => message,
        Err(refused) => return Ok(Err(refused)),
    };
    // Only a change that was written takes a position, so the sequence keeps no holes.
    let position: i64 = sqlx::query_scalar(
        "update message_counter set last_id = last_id + 1, last_date = $1 returning last_id",
    )
    .bind(at)
    .fetch_one(&mut *connection)
    .await
    .context("advance the message counter")?;
    Ok(Ok(record_change(
        connection,
        position,
        message,
        change.kind(),
        at,
    )
    .await?))
}

change_queries!(PgConnection);
