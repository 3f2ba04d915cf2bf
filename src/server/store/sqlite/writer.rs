//! Group commit for new messages.
//!
//! With `synchronous=FULL` every commit costs an fsync, and SQLite has one writer at a time, so a
//! transaction per message caps throughput at one fsync per message, in series. Instead, one task
//! owns one connection and writes every new message: sends that arrive while a transaction is
//! committing wait in the queue and go into the next transaction together, so a burst of N sends
//! costs one fsync, not N. Each caller hears back only after the transaction holding its message
//! has committed, so an acknowledgement still means "on disk".
//!
//! Under light load a batch is a single message and nothing waits: the writer never delays a
//! transaction to collect more.
//!
//! The writer is also where live delivery starts: after each commit it queues the batch's new
//! messages, in id order, for the commit listener, before it begins the next batch; one task
//! works that queue off in order. Publishing from here (rather than from each caller once its own
//! insert returns, when two callers can race) is what makes every room receive messages in
//! strictly increasing id order.

use super::{classify, message_from_row, MESSAGE_COLUMNS};
use crate::domain::{ChatMessage, ClientId, UserId};
use crate::server::store::{CommitListener, NewMessage, StoreError, Stored};
use anyhow::{anyhow, Context};
use chrono::Utc;
use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, QueryBuilder};
use std::collections::HashSet;
use std::slice;
use tokio::sync::{mpsc, oneshot};

/// The most messages written in one transaction: bounds how long a batch holds the write lock
/// (and so how long a login or a read-pointer update can wait behind it).
const MAX_BATCH: usize = 512;
/// Sends queued beyond this wait in `insert` (back-pressure) instead of growing memory.
const QUEUE_CAPACITY: usize = 8192;

#[derive(Clone)]
pub(super) struct MessageWriter {
    queue: mpsc::Sender<Job>,
}

/// A message to store and where to send the outcome.
struct Job {
    sender: UserId,
    receiver: UserId,
    text: String,
    client_id: Option<ClientId>,
    reply: oneshot::Sender<Result<Stored, StoreError>>,
}

impl MessageWriter {
    /// Opens the writer's own connection and starts its task on the current runtime. The task ends
    /// when the last clone of the writer is dropped.
    pub(super) async fn start(
        options: &SqliteConnectOptions,
        on_commit: CommitListener,
    ) -> anyhow::Result<Self> {
        let mut connection = options
            .connect()
            .await
            .context("open the message writer's connection")?;
        let newest: Option<i64> =
            sqlx::query_scalar("select date from chat order by id desc limit 1")
                .fetch_optional(&mut connection)
                .await
                .context("read the newest message's date")?;
        let clock = Clock {
            last: newest.unwrap_or(0),
        };
        let (queue, jobs) = mpsc::channel(QUEUE_CAPACITY);
        // Committed batches go, in commit order, to one publishing task: the order is kept (one
        // queue, one consumer), and encoding and fan-out run beside the next transaction instead
        // of delaying it. Unbounded, but it never holds more than what was committed and not yet
        // published, which the publisher works off without waiting on anything.
        let (publish, committed) = mpsc::unbounded_channel();
        tokio::spawn(publish_in_commit_order(committed, on_commit));
        tokio::spawn(run(connection, clock, jobs, publish));
        Ok(Self { queue })
    }

    /// Messages waiting for the writer to take them.
    pub(super) fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Stores one message; returns once the transaction that holds it has committed.
    pub(super) async fn insert(&self, message: NewMessage<'_>) -> Result<Stored, StoreError> {
        let (reply, outcome) = oneshot::channel();
        let job = Job {
            sender: message.sender,
            receiver: message.receiver,
            text: message.text.to_owned(),
            client_id: message.client_id,
            reply,
        };
        self.queue
            .send(job)
            .await
            .map_err(|_| StoreError::Other(anyhow!("the message writer has stopped")))?;
        outcome
            .await
            .map_err(|_| StoreError::Other(anyhow!("the message writer stopped mid-write")))?
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

async fn run(
    mut connection: SqliteConnection,
    mut clock: Clock,
    mut jobs: mpsc::Receiver<Job>,
    publish: mpsc::UnboundedSender<Vec<ChatMessage>>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // `recv_many` waits for one job, then takes whatever else is already queued.
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let outcomes = match write_batch(&mut connection, &mut clock, &batch).await {
            Ok(outcomes) => outcomes,
            Err(err) => {
                tracing::error!(error = %format!("{err:#}"), size = batch.len(), "message batch failed");
                batch
                    .iter()
                    .map(|_| {
                        Err(StoreError::Other(anyhow!(
                            "storing the message failed: {err:#}"
                        )))
                    })
                    .collect()
            }
        };
        let mut committed: Vec<ChatMessage> = outcomes
            .iter()
            .filter_map(|outcome| match outcome {
                Ok(stored) if stored.is_new => Some(stored.message.clone()),
                _ => None,
            })
            .collect();
        // Ids were handed out in VALUES order, but a batch written a row at a time, or one whose
        // retries were answered with their originals, is cheapest to make sure of here.
        committed.sort_unstable_by_key(|m| m.id);
        // Queued before any caller hears back, so a message is on its way to the rooms by the
        // time its sender's ack is. The publisher outlives the writer only to finish the queue.
        if !committed.is_empty() {
            let _ = publish.send(committed);
        }
        for (job, outcome) in batch.drain(..).zip(outcomes) {
            // A caller that gave up (its connection dropped) no longer listens; the message is stored.
            let _ = job.reply.send(outcome);
        }
    }
    let _ = connection.close().await;
}

/// Hands each committed batch to the listener, in the order the writer committed them.
async fn publish_in_commit_order(
    mut committed: mpsc::UnboundedReceiver<Vec<ChatMessage>>,
    on_commit: CommitListener,
) {
    while let Some(batch) = committed.recv().await {
        on_commit(&batch);
    }
}

/// Writes a batch in one transaction, normally with one multi-row INSERT (a statement per
/// message costs a round trip to SQLite's thread each). A message that breaks a constraint (its
/// receiver does not exist) fails that statement, so the batch is then written a row at a time,
/// where it fails alone: SQLite undoes only the failing statement, and the rest commits. Any other
/// error fails the whole batch, since nothing of it is committed.
// The writer's task runs outside any caller's span, so the batch gets its own.
#[tracing::instrument(name = "store.write_batch", level = "debug", skip_all, fields(size = batch.len()))]
async fn write_batch(
    connection: &mut SqliteConnection,
    clock: &mut Clock,
    batch: &[Job],
) -> anyhow::Result<Vec<Result<Stored, StoreError>>> {
    let dates: Vec<i64> = batch.iter().map(|_| clock.next()).collect();
    let mut transaction = connection.begin().await.context("begin a message batch")?;
    let outcomes = match insert_together(&mut transaction, batch, &dates).await {
        Ok(outcomes) => outcomes,
        Err(StoreError::MissingReference | StoreError::Conflict(_)) => {
            let mut outcomes = Vec::with_capacity(batch.len());
            for (job, date) in batch.iter().zip(&dates) {
                let outcome = match insert_together(
                    &mut transaction,
                    slice::from_ref(job),
                    slice::from_ref(date),
                )
                .await
                {
                    Ok(mut one) => one.pop().context("no outcome for a one-row insert")?,
                    Err(StoreError::Other(err)) => return Err(err),
                    Err(refused) => Err(refused),
                };
                outcomes.push(outcome);
            }
            outcomes
        }
        Err(StoreError::Other(err)) => return Err(err),
    };
    transaction
        .commit()
        .await
        .context("commit a message batch")?;
    Ok(outcomes)
}

/// One INSERT for the whole batch. A retried client_id conflicts with the partial unique index
/// and is neither inserted nor returned (nor is a repeat of one earlier in the same batch); those
/// jobs get their original. SQLite hands out the new ids in VALUES order, so the k-th job that
/// was inserted owns the k-th smallest returned id.
async fn insert_together(
    connection: &mut SqliteConnection,
    batch: &[Job],
    dates: &[i64],
) -> Result<Vec<Result<Stored, StoreError>>, StoreError> {
    let mut insert = QueryBuilder::<Sqlite>::new(
        "insert into chat (sender, receiver, message, date, client_id) ",
    );
    insert.push_values(batch.iter().zip(dates), |mut row, (job, date)| {
        row.push_bind(job.sender.get())
            .push_bind(job.receiver.get())
            .push_bind(job.text.as_str())
            .push_bind(*date)
            .push_bind(job.client_id.map(|c| c.to_string()));
    });
    insert
        .push(" on conflict (sender, client_id) where client_id is not null do nothing returning ");
    insert.push(MESSAGE_COLUMNS);
    let rows = insert
        .build()
        .fetch_all(&mut *connection)
        .await
        .map_err(|e| classify(e, "chat row"))?;
    let mut inserted = rows
        .iter()
        .map(message_from_row)
        .collect::<anyhow::Result<Vec<_>>>()?;
    inserted.sort_unstable_by_key(|m| m.id);
    let mut unclaimed: HashSet<(UserId, ClientId)> = inserted
        .iter()
        .filter_map(|m| m.client_id.map(|c| (m.sender, c)))
        .collect();
    let mut inserted = inserted.into_iter();
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        let is_new = job
            .client_id
            .is_none_or(|c| unclaimed.remove(&(job.sender, c)));
        let message = if is_new {
            let message = inserted
                .next()
                .context("fewer rows returned than inserted")?;
            if message.sender != job.sender || message.message != job.text {
                return Err(StoreError::Other(anyhow!(
                    "returned row {} does not match its send",
                    message.id
                )));
            }
            message
        } else {
            original(connection, job).await?
        };
        outcomes.push(Ok(Stored { message, is_new }));
    }
    Ok(outcomes)
}

/// The message a retried send's `client_id` already names.
async fn original(connection: &mut SqliteConnection, job: &Job) -> anyhow::Result<ChatMessage> {
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
