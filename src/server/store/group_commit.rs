//! Group commit, the part both backends share: the queue in front of a backend's writer, the loop
//! that takes whatever is queued as one batch, and the order in which committed entries are
//! published.
//!
//! One task per node owns the writing of new messages and of changes to them. Jobs that arrive
//! while a transaction is committing wait in the queue and go into the next transaction together,
//! so a burst of N sends costs one commit (one fsync), not N. Each caller hears back only after the
//! transaction holding its job has committed, so an acknowledgement still means "on disk".
//! Under light load a batch is a single job and nothing waits: the writer never delays a
//! transaction to collect more.
//!
//! The writer is also where live delivery starts: after each commit it queues the batch's new
//! stream entries, in position order, for the commit listener, before it begins the next batch;
//! one task works that queue off in order. Publishing from here (rather than from each caller once
//! its own write returns, when two callers can race) is what makes every room receive entries in
//! strictly increasing position order.
//!
//! What a batch is written with is the backend's (`sqlite::writer`, `postgres::writer`).

use super::{ChangeKind, CommitListener, MessageChange, NewMessage, StoreError, Stored};
use crate::domain::{Change, ChangeRefusal, ClientId, StreamEntry, UserId};
use anyhow::anyhow;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most jobs written in one transaction: bounds how long a batch holds the write lock (and so
/// how long anything else that writes waits behind it).
const MAX_BATCH: usize = 512;
/// Jobs queued beyond this wait in `insert` or `change` (back-pressure) instead of growing memory.
const QUEUE_CAPACITY: usize = 8192;

/// A message to store.
pub(super) struct SendJob {
    pub sender: UserId,
    pub receiver: UserId,
    pub text: String,
    pub client_id: Option<ClientId>,
}

/// A change to a stored message (see `MessageStore::change_message`).
pub(super) struct ChangeJob {
    pub actor: UserId,
    pub message_id: i64,
    pub peer: Option<UserId>,
    /// The new text; `None` deletes.
    pub new_text: Option<String>,
}

/// What the store found of a message that a change could not be written to.
pub(super) struct Unchanged {
    pub sender: UserId,
    pub receiver: UserId,
    pub deleted: bool,
    /// Either of the two has blocked the other.
    pub blocked: bool,
}

/// The condition an edit's UPDATE adds for blocks: neither party has blocked the other.
const NOT_BLOCKED: &str = "not exists (select 1 from block b
     where (b.blocker = chat.sender and b.blocked = chat.receiver)
        or (b.blocker = chat.receiver and b.blocked = chat.sender))";

/// The UPDATE that edits a message if the rules allow, returning `columns` of it (the same SQL on
/// both backends): `$1` text, `$2` date, `$3` id, `$4` actor, `$5` peer or null, `$6` the oldest
/// date still editable.
pub(super) fn edit_statement(columns: &str) -> String {
    format!(
        "update chat set message = $1, edited_at = $2
         where id = $3 and sender = $4 and receiver = coalesce($5, receiver)
           and deleted_at is null and date >= $6 and {NOT_BLOCKED}
         returning {columns}"
    )
}

/// The UPDATE that deletes a message if the rules allow: `$1` date, `$2` id, `$3` actor, `$4`
/// peer or null.
pub(super) fn delete_statement(columns: &str) -> String {
    format!(
        "update chat set message = '', deleted_at = $1
         where id = $2 and sender = $3 and receiver = coalesce($4, receiver)
           and deleted_at is null
         returning {columns}"
    )
}

/// Writes the two halves of a change that are the same SQL on both backends, for a backend's
/// `writer.rs` (which has `message_from_row`, `change_name` and `MESSAGE_COLUMNS` in scope):
/// `update_message` applies the change if its rules allow (else says why not, from the row), and
/// `record_change` adds its row to `chat_change` at the position the backend gave it.
macro_rules! change_queries {
    ($connection:ty) => {
        async fn update_message(
            connection: &mut $connection,
            change: &ChangeJob,
            at: i64,
        ) -> anyhow::Result<Result<ChatMessage, StoreError>> {
            let peer = change.peer.map(|p| p.get());
            let updated = match &change.new_text {
                Some(text) => sqlx::query(&edit_statement(MESSAGE_COLUMNS))
                    .bind(text.as_str())
                    .bind(at)
                    .bind(change.message_id)
                    .bind(change.actor.get())
                    .bind(peer)
                    .bind(at - EDIT_WINDOW.num_milliseconds())
                    .fetch_optional(&mut *connection)
                    .await
                    .context("edit a message")?,
                None => sqlx::query(&delete_statement(MESSAGE_COLUMNS))
                    .bind(at)
                    .bind(change.message_id)
                    .bind(change.actor.get())
                    .bind(peer)
                    .fetch_optional(&mut *connection)
                    .await
                    .context("delete a message")?,
            };
            if let Some(row) = updated {
                return Ok(Ok(message_from_row(&row)?));
            }
            let found = sqlx::query(UNCHANGED)
                .bind(change.message_id)
                .fetch_optional(&mut *connection)
                .await
                .context("look at a message that was not changed")?
                .map(|row| -> anyhow::Result<_> {
                    Ok(Unchanged {
                        sender: UserId::new(row.try_get("sender")?),
                        receiver: UserId::new(row.try_get("receiver")?),
                        deleted: row.try_get("deleted")?,
                        blocked: row.try_get("blocked")?,
                    })
                })
                .transpose()?;
            Ok(Err(change.refusal(found).into()))
        }

        async fn record_change(
            connection: &mut $connection,
            position: i64,
            message: ChatMessage,
            change: Change,
            at: i64,
        ) -> anyhow::Result<StreamEntry> {
            sqlx::query(
                "insert into chat_change (id, message_id, kind, date) values ($1, $2, $3, $4)",
            )
            .bind(position)
            .bind(message.id)
            .bind(change_name(change))
            .bind(at)
            .execute(&mut *connection)
            .await
            .context("record a change")?;
            Ok(StreamEntry {
                position,
                change,
                message,
            })
        }
    };
}
pub(super) use change_queries;

/// Reads what `Unchanged` needs of message `$1` (the same SQL on both backends).
pub(super) const UNCHANGED: &str = "select sender, receiver, deleted_at is not null as deleted,
     exists (select 1 from block b
             where (b.blocker = chat.sender and b.blocked = chat.receiver)
                or (b.blocker = chat.receiver and b.blocked = chat.sender)) as blocked
     from chat where id = $1";

impl ChangeJob {
    /// What the change is to the stream once written.
    pub fn kind(&self) -> Change {
        match self.new_text {
            Some(_) => Change::Edited,
            None => Change::Deleted,
        }
    }

    /// Why a change that matched no row was refused, from what the row says (`None`: there is no
    /// message with that id). Only asked once the conditional write found nothing to change.
    pub fn refusal(&self, found: Option<Unchanged>) -> ChangeRefusal {
        let Some(Unchanged {
            sender,
            receiver,
            deleted,
            blocked,
        }) = found
        else {
            return ChangeRefusal::NoSuchMessage;
        };
        let peer_of_actor = if sender == self.actor {
            receiver
        } else {
            sender
        };
        let in_conversation = (sender == self.actor || receiver == self.actor)
            && self.peer.is_none_or(|peer| peer == peer_of_actor);
        if !in_conversation {
            ChangeRefusal::NoSuchMessage
        } else if sender != self.actor {
            ChangeRefusal::NotYours
        } else if deleted {
            ChangeRefusal::AlreadyDeleted
        } else if blocked && self.kind() == Change::Edited {
            ChangeRefusal::Blocked
        } else {
            ChangeRefusal::EditWindowPassed
        }
    }
}

enum Job {
    Send(SendJob, oneshot::Sender<Result<Stored, StoreError>>),
    Change(ChangeJob, oneshot::Sender<Result<StreamEntry, StoreError>>),
}

/// What became of each job of a batch, in the order they were given.
pub(super) struct Written {
    pub sends: Vec<Result<Stored, StoreError>>,
    pub changes: Vec<Result<StreamEntry, StoreError>>,
}

/// A backend's way of writing one batch in one transaction: first the sends (new messages, which
/// take positions in the order given), then the changes (each taking the next position). A job
/// that its rules refuse fails alone; an error fails the whole batch (nothing of it committed).
pub(super) trait WriteBatch: Send + 'static {
    fn write(
        &mut self,
        sends: &[&SendJob],
        changes: &[&ChangeJob],
    ) -> impl Future<Output = anyhow::Result<Written>> + Send;
}

/// The queue in front of a writer task.
#[derive(Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Job>,
    /// Jobs written so far (committed or failed): how busy the writer is, for work that should
    /// give way to it (the retention policy).
    written: Arc<AtomicU64>,
}

impl Writer {
    /// Starts the writer's task and its publisher on the current runtime. The task ends when the
    /// last clone of the writer is dropped.
    pub fn start(batches: impl WriteBatch, on_commit: CommitListener) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE_CAPACITY);
        // Committed batches go, in commit order, to one publishing task: the order is kept (one
        // queue, one consumer), and encoding and fan-out run beside the next transaction instead
        // of delaying it. Unbounded, but it never holds more than what was committed and not yet
        // published, which the publisher works off without waiting on anything.
        let (publish, committed) = mpsc::unbounded_channel();
        tokio::spawn(publish_in_commit_order(committed, on_commit));
        let written = Arc::new(AtomicU64::new(0));
        tokio::spawn(run(batches, jobs, publish, Arc::clone(&written)));
        Self { queue, written }
    }

    /// Jobs waiting for the writer to take them.
    pub fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Jobs the writer has written since it started (each send and each change one).
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Stores one message; returns once the transaction that holds it has committed.
    pub async fn insert(&self, message: NewMessage<'_>) -> Result<Stored, StoreError> {
        let job = SendJob {
            sender: message.sender,
            receiver: message.receiver,
            text: message.text.to_owned(),
            client_id: message.client_id,
        };
        let (reply, outcome) = oneshot::channel();
        self.submit(Job::Send(job, reply), outcome).await
    }

    /// Edits or deletes a message; returns once the transaction that holds the change has
    /// committed.
    pub async fn change(&self, change: MessageChange<'_>) -> Result<StreamEntry, StoreError> {
        let job = ChangeJob {
            actor: change.actor,
            message_id: change.message_id,
            peer: change.peer,
            new_text: match change.kind {
                ChangeKind::Edit(text) => Some(text.to_owned()),
                ChangeKind::Delete => None,
            },
        };
        let (reply, outcome) = oneshot::channel();
        self.submit(Job::Change(job, reply), outcome).await
    }

    async fn submit<T>(
        &self,
        job: Job,
        outcome: oneshot::Receiver<Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.queue
            .send(job)
            .await
            .map_err(|_| StoreError::Other(anyhow!("the message writer has stopped")))?;
        outcome
            .await
            .map_err(|_| StoreError::Other(anyhow!("the message writer stopped mid-write")))?
    }
}

async fn run(
    mut batches: impl WriteBatch,
    mut jobs: mpsc::Receiver<Job>,
    publish: mpsc::UnboundedSender<Vec<StreamEntry>>,
    written_count: Arc<AtomicU64>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // `recv_many` waits for one job, then takes whatever else is already queued.
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut sends = Vec::new();
        let mut changes = Vec::new();
        for job in &batch {
            match job {
                Job::Send(send, _) => sends.push(send),
                Job::Change(change, _) => changes.push(change),
            }
        }
        let written = match batches.write(&sends, &changes).await {
            Ok(written) => written,
            Err(err) => {
                tracing::error!(error = %format!("{err:#}"), size = batch.len(), "message batch failed");
                let failed = || StoreError::Other(anyhow!("storing the message failed: {err:#}"));
                Written {
                    sends: sends.iter().map(|_| Err(failed())).collect(),
                    changes: changes.iter().map(|_| Err(failed())).collect(),
                }
            }
        };
        let mut committed: Vec<StreamEntry> = written
            .sends
            .iter()
            .filter_map(|outcome| match outcome {
                Ok(stored) if stored.is_new => Some(StreamEntry::sent(stored.message.clone())),
                _ => None,
            })
            .chain(
                written
                    .changes
                    .iter()
                    .filter_map(|outcome| outcome.as_ref().ok().cloned()),
            )
            .collect();
        // Positions were handed out in this order, but it is cheapest to make sure of it here.
        committed.sort_unstable_by_key(|entry| entry.position);
        // Queued before any caller hears back, so an entry is on its way to the rooms by the
        // time its sender's ack is. The publisher outlives the writer only to finish the queue.
        if !committed.is_empty() {
            let _ = publish.send(committed);
        }
        written_count.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let mut sends = written.sends.into_iter();
        let mut changes = written.changes.into_iter();
        for job in batch.drain(..) {
            // A caller that gave up (its connection dropped) no longer listens; the job is done.
            match job {
                Job::Send(_, reply) => {
                    let _ = reply.send(sends.next().unwrap_or_else(missing));
                }
                Job::Change(_, reply) => {
                    let _ = reply.send(changes.next().unwrap_or_else(missing));
                }
            }
        }
    }
}

fn missing<T>() -> Result<T, StoreError> {
    Err(StoreError::Other(anyhow!("no outcome for a job")))
}

/// Hands each committed batch to the listener, in the order the writer committed them.
async fn publish_in_commit_order(
    mut committed: mpsc::UnboundedReceiver<Vec<StreamEntry>>,
    on_commit: CommitListener,
) {
    while let Some(batch) = committed.recv().await {
        on_commit(&batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(peer: Option<i64>) -> ChangeJob {
        ChangeJob {
            actor: UserId::new(1),
            message_id: 9,
            peer: peer.map(UserId::new),
            new_text: Some("new".into()),
        }
    }

    fn row(sender: i64, receiver: i64, deleted: bool) -> Option<Unchanged> {
        Some(Unchanged {
            sender: UserId::new(sender),
            receiver: UserId::new(receiver),
            deleted,
            blocked: false,
        })
    }

    #[test]
    fn a_refusal_never_tells_a_stranger_that_a_message_exists() {
        assert_eq!(change(None).refusal(None), ChangeRefusal::NoSuchMessage);
        // Someone else's conversation, whatever its state.
        assert_eq!(
            change(None).refusal(row(2, 3, false)),
            ChangeRefusal::NoSuchMessage
        );
        assert_eq!(
            change(None).refusal(row(2, 3, true)),
            ChangeRefusal::NoSuchMessage
        );
        // My message, but not in the conversation the request names.
        assert_eq!(
            change(Some(3)).refusal(row(1, 2, false)),
            ChangeRefusal::NoSuchMessage
        );
    }

    #[test]
    fn a_refusal_in_my_own_conversation_says_why() {
        assert_eq!(
            change(Some(2)).refusal(row(2, 1, false)),
            ChangeRefusal::NotYours
        );
        assert_eq!(
            change(None).refusal(row(2, 1, true)),
            ChangeRefusal::NotYours
        );
        assert_eq!(
            change(Some(2)).refusal(row(1, 2, true)),
            ChangeRefusal::AlreadyDeleted
        );
        assert_eq!(
            change(None).refusal(row(1, 1, false)),
            ChangeRefusal::EditWindowPassed
        );
    }
}
