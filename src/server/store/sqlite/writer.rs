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

use super::{classify, message_from_row, MESSAGE_COLUMNS};
use crate::domain::{ClientId, UserId};
use crate::server::store::{NewMessage, StoreError, Stored};
use anyhow::{anyhow, Context};
use chrono::Utc;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
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
    pub(super) async fn start(options: &SqliteConnectOptions) -> anyhow::Result<Self> {
        let mut connection = options
            .connect()
            .await
            .context("open the message writer's connection")?;
        let mut clock = Clock::default();
        let newest: Option<i64> =
            sqlx::query_scalar("select date from chat order by id desc limit 1")
                .fetch_optional(&mut connection)
                .await
                .context("read the newest message's date")?;
        clock.last = newest.unwrap_or(0);
        let (queue, jobs) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run(connection, clock, jobs));
        Ok(Self { queue })
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
#[derive(Default)]
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

async fn run(mut connection: SqliteConnection, mut clock: Clock, mut jobs: mpsc::Receiver<Job>) {
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
        for (job, outcome) in batch.drain(..).zip(outcomes) {
            // A caller that gave up (its connection dropped) no longer listens; the message is stored.
            let _ = job.reply.send(outcome);
        }
    }
    let _ = connection.close().await;
}

/// Writes a batch in one transaction. A message that breaks a constraint (its receiver does not
/// exist) fails alone: SQLite undoes only that statement, and the rest of the batch commits. Any
/// other error fails the whole batch, since nothing of it is committed.
async fn write_batch(
    connection: &mut SqliteConnection,
    clock: &mut Clock,
    batch: &[Job],
) -> anyhow::Result<Vec<Result<Stored, StoreError>>> {
    let mut transaction = connection.begin().await.context("begin a message batch")?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        match insert_one(&mut transaction, job, clock.next()).await {
            Ok(stored) => outcomes.push(Ok(stored)),
            Err(err @ (StoreError::MissingReference | StoreError::Conflict(_))) => {
                outcomes.push(Err(err))
            }
            Err(StoreError::Other(err)) => return Err(err),
        }
    }
    transaction
        .commit()
        .await
        .context("commit a message batch")?;
    Ok(outcomes)
}

async fn insert_one(
    connection: &mut SqliteConnection,
    job: &Job,
    date: i64,
) -> Result<Stored, StoreError> {
    let client_id = job.client_id.map(|c| c.to_string());
    // A retried client_id conflicts with the partial unique index and inserts nothing; the retry
    // may even sit in the same batch as its original, which this transaction already sees.
    let inserted = sqlx::query(&format!(
        "insert into chat (sender, receiver, message, date, client_id) values ($1, $2, $3, $4, $5)
         on conflict (sender, client_id) where client_id is not null do nothing
         returning {MESSAGE_COLUMNS}"
    ))
    .bind(job.sender.get())
    .bind(job.receiver.get())
    .bind(&job.text)
    .bind(date)
    .bind(&client_id)
    .fetch_optional(&mut *connection)
    .await
    .map_err(|e| classify(e, "chat row"))?;
    if let Some(row) = inserted {
        return Ok(Stored {
            message: message_from_row(&row)?,
            is_new: true,
        });
    }
    let original = sqlx::query(&format!(
        "select {MESSAGE_COLUMNS} from chat where sender = $1 and client_id = $2"
    ))
    .bind(job.sender.get())
    .bind(&client_id)
    .fetch_one(&mut *connection)
    .await
    .context("select the original of a retried send")?;
    Ok(Stored {
        message: message_from_row(&original)?,
        is_new: false,
    })
}
