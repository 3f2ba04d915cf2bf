//! How a batch of the group commit (`store::group_commit`) is written on SQLite.
//!
//! With `synchronous=FULL` every commit costs an fsync, and SQLite has one writer at a time, so a
//! transaction per message would cap throughput at one fsync per message, in series; the group
//! commit makes a burst of N sends one transaction. New messages go in with one multi-row INSERT.
//!
//! Positions: messages, edits and deletions share one sequence (`domain::StreamEntry`). The batch
//! takes the write lock as it begins (`BEGIN IMMEDIATE`), reads the highest position in use and
//! hands out the next ones itself, so a change (a row of `chat_change`) and a message (a row of
//! `chat`) never get the same number and come in the order they were written. A position whose
//! row was not written (a retried send, a refused change) is simply never used: a resuming
//! client asks for "everything above N", which holes do not disturb. Nor is a position ever used
//! twice: the retention policy may remove the newest rows, so the highest position it removed is
//! kept (`stream_floor`) and read with the others.

use super::{
    change_name, classify, from_millis, message_from_row, MESSAGE_COLUMNS, NEWEST_POSITION,
};
use crate::domain::{Change, ChatMessage, StreamEntry, UserId, EDIT_WINDOW};
use crate::server::store::group_commit::{
    change_queries, delete_statement, edit_statement, ChangeJob, SendJob, Unchanged, WriteBatch,
    Written, UNCHANGED,
};
use crate::server::store::{CommitListener, StoreError, Stored};
use anyhow::Context;
use chrono::Utc;
use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, QueryBuilder, Row};
use std::collections::HashSet;
use std::future::Future;
use std::slice;

pub(super) use crate::server::store::group_commit::Writer as MessageWriter;

/// Opens the writer's own connection and starts the group commit on it.
pub(super) async fn start(
    options: &SqliteConnectOptions,
    on_commit: CommitListener,
) -> anyhow::Result<MessageWriter> {
    let mut connection = options
        .connect()
        .await
        .context("open the message writer's connection")?;
    let newest: Option<i64> = sqlx::query_scalar("select date from chat order by id desc limit 1")
        .fetch_optional(&mut connection)
        .await
        .context("read the newest message's date")?;
    let clock = Clock {
        last: newest.unwrap_or(0),
    };
    Ok(MessageWriter::start(
        Batches { connection, clock },
        on_commit,
    ))
}

struct Batches {
    connection: SqliteConnection,
    clock: Clock,
}

impl WriteBatch for Batches {
    fn write(
        &mut self,
        sends: &[&SendJob],
        changes: &[&ChangeJob],
    ) -> impl Future<Output = anyhow::Result<Written>> + Send {
        write_batch(&mut self.connection, &mut self.clock, sends, changes)
    }
}

/// Dates messages in the order they are written: the wall clock, but never earlier than the
/// message before, so that date order (how history is read) and id order (how a reconnecting
/// client resumes) agree even when the clock steps back.
struct Clock {
    /// The latest date handed out, in ms since the epoch.
    last: i64,
}

impl Clock {
    fn next(&mut self) -> i64 {
        self.last = self.last.max(Utc::now().timestamp_millis());
        self.last
    }
}

/// Writes a batch in one transaction, the sends normally with one multi-row INSERT (a statement
/// per message costs a round trip to SQLite's thread each). A message that breaks a constraint
/// (its receiver does not exist) fails that statement, so the sends are then written a row at a
/// time, where it fails alone: SQLite undoes only the failing statement, and the rest commits.
/// Any other error fails the whole batch, since nothing of it is committed.
// The writer's task runs outside any caller's span, so the batch gets its own.
#[tracing::instrument(name = "store.write_batch", level = "debug", skip_all, fields(size = sends.len() + changes.len()))]
async fn write_batch(
    connection: &mut SqliteConnection,
    clock: &mut Clock,
    sends: &[&SendJob],
    changes: &[&ChangeJob],
) -> anyhow::Result<Written> {
    let dates: Vec<i64> = sends.iter().map(|_| clock.next()).collect();
    let mut transaction = connection
        .begin_with("BEGIN IMMEDIATE")
        .await
        .context("begin a message batch")?;
    let mut next: i64 = sqlx::query_scalar::<_, i64>(NEWEST_POSITION)
        .fetch_one(&mut *transaction)
        .await
        .context("read the newest position")?
        + 1;
    let sent = if sends.is_empty() {
        Vec::new()
    } else {
        match insert_together(&mut transaction, sends, &dates, next).await {
            Ok(outcomes) => {
                next += sends.len() as i64;
                outcomes
            }
            Err(StoreError::MissingReference | StoreError::Conflict(_)) => {
                let mut outcomes = Vec::with_capacity(sends.len());
                for (job, date) in sends.iter().zip(&dates) {
                    let outcome = match insert_together(
                        &mut transaction,
                        slice::from_ref(job),
                        slice::from_ref(date),
                        next,
                    )
                    .await
                    {
                        Ok(mut one) => one.pop().context("no outcome for a one-row insert")?,
                        Err(StoreError::Other(err)) => return Err(err),
                        Err(refused) => Err(refused),
                    };
                    next += 1;
                    outcomes.push(outcome);
                }
                outcomes
            }
            Err(StoreError::Other(err)) => return Err(err),
            Err(StoreError::Refused(refusal)) => return Err(refusal.into()),
        }
    };
    let mut changed = Vec::with_capacity(changes.len());
    for change in changes {
        let outcome = apply_change(&mut transaction, change, next, clock.next()).await?;
        if outcome.is_ok() {
            next += 1;
        }
        changed.push(outcome);
    }
    transaction
        .commit()
        .await
        .context("commit a message batch")?;
    Ok(Written {
        sends: sent,
        changes: changed,
    })
}

/// One INSERT for the given sends, with ids from `first_id` on in their order. A retried
/// client_id conflicts with the partial unique index and is neither inserted nor returned (nor is
/// a repeat of one earlier in the same batch); those jobs get their original, and their id stays
/// unused. Only the ids come back: the rest of each row is what the job said, so it is built here
/// rather than read back (a row's text copied out of SQLite and decoded, for each message, on the
/// path every send waits on).
async fn insert_together(
    connection: &mut SqliteConnection,
    batch: &[&SendJob],
    dates: &[i64],
    first_id: i64,
) -> Result<Vec<Result<Stored, StoreError>>, StoreError> {
    let mut insert = QueryBuilder::<Sqlite>::new(
        "insert into chat (id, sender, receiver, message, date, client_id) ",
    );
    insert.push_values(
        batch.iter().zip(dates).zip(first_id..),
        |mut row, ((job, date), id)| {
            row.push_bind(id)
                .push_bind(job.sender.get())
                .push_bind(job.receiver.get())
                .push_bind(job.text.as_str())
                .push_bind(*date)
                .push_bind(job.client_id.map(|c| c.to_string()));
        },
    );
    insert.push(
        " on conflict (sender, client_id) where client_id is not null do nothing returning id",
    );
    let inserted: HashSet<i64> = insert
        .build_query_scalar()
        .fetch_all(&mut *connection)
        .await
        .map_err(|e| classify(e, "chat row"))?
        .into_iter()
        .collect();
    let mut outcomes = Vec::with_capacity(batch.len());
    for ((job, date), id) in batch.iter().zip(dates).zip(first_id..) {
        let stored = if inserted.contains(&id) {
            Stored {
                message: ChatMessage {
                    id,
                    sender: job.sender,
                    receiver: job.receiver,
                    message: job.text.clone(),
                    date: from_millis(*date)?,
                    client_id: job.client_id,
                    edited_at: None,
                    deleted_at: None,
                },
                is_new: true,
            }
        } else {
            Stored {
                message: original(connection, job).await?,
                is_new: false,
            }
        };
        outcomes.push(Ok(stored));
    }
    Ok(outcomes)
}

/// The message a retried send's `client_id` already names.
async fn original(connection: &mut SqliteConnection, job: &SendJob) -> anyhow::Result<ChatMessage> {
    let row = sqlx::query(&format!(
        "select {MESSAGE_COLUMNS} from chat where sender = $1 and client_id = $2"
    ))
    .bind(job.sender.get())
    .bind(job.client_id.map(|c| c.to_string()))
    .fetch_one(&mut *connection)
    .await
    .context("select the original of a retried send")?;
    message_from_row(&row)
}

/// Edits or deletes one message if its rules allow, as position `position` at date `at`. The
/// rules are the UPDATE's condition, so what is checked is what is written.
async fn apply_change(
    connection: &mut SqliteConnection,
    change: &ChangeJob,
    position: i64,
    at: i64,
) -> anyhow::Result<Result<StreamEntry, StoreError>> {
    Ok(match update_message(connection, change, at).await? {
        Ok(message) => Ok(record_change(connection, position, message, change.kind(), at).await?),
        Err(refused) => Err(refused),
    })
}

change_queries!(SqliteConnection);
