//! Removing old messages (`RetentionTable`, for `PARLEY_RETENTION_DAYS`): the queries are the same
//! text on every backend, so they are written once here, and each backend's `retention` module
//! implements the trait with `retention_table!(ItsStore, begin, relaxed, floor)`:
//! - `begin` starts the transaction (SQLite's must take the write lock at once: a transaction that
//!   reads first and then writes fails outright, without waiting, if the message writer committed
//!   in between);
//! - `relaxed` is `Some((relax, restore))` to run a batch without waiting for the disk at its
//!   commit (SQLite: `synchronous` is per connection and cannot change inside a transaction). A
//!   batch lost in a crash only brings old messages back until the next run, and the next durable
//!   commit of the message writer makes it durable anyway; meanwhile the write lock is held for
//!   the work alone, not for an fsync. The connection gets its setting back before it returns to
//!   the pool, or is closed;
//! - `floor` is the statement that keeps positions from being handed out again (SQLite's
//!   `stream_floor`), or `None` when they never are (PostgreSQL's counter).
//!
//! A batch is one short transaction over the oldest messages by id, all dated before the cutoff:
//! - the unread counts lose the removed messages that were unread (received after `read_up_to`);
//! - a conversation whose newest message goes has nothing left: its rows (both sides) go too, so
//!   no summary ever names a message that is not there;
//! - the messages' edits and deletions (`chat_change`) go, then the messages; SQLite's full-text
//!   index follows by trigger, PostgreSQL's is a column of the row.
//!
//! Every statement names the batch the same way, `id <= $1 and date < $2`, where `$1` is the
//! highest id among the oldest `limit` messages dated before the cutoff: no list of ids is sent.
//! The unread recount reads the batch first (`materialized`), so the planner walks the batch by
//! id rather than the whole table in receiver order.

macro_rules! retention_table {
    ($store:ty, $connection:ty, $begin:expr, $relaxed:expr, $floor:expr) => {
        impl RetentionTable for $store {
            #[tracing::instrument(name = "store.remove_old_messages", level = "debug", skip(self))]
            async fn remove_old_messages(
                &self,
                cutoff: i64,
                limit: u32,
            ) -> Result<RemovedBatch, StoreError> {
                let mut connection = self
                    .pool
                    .acquire()
                    .await
                    .context("a connection for removing old messages")?;
                let relaxed: Option<(&str, &str)> = $relaxed;
                if let Some((relax, _)) = relaxed {
                    sqlx::query(relax)
                        .execute(&mut *connection)
                        .await
                        .context("relax durability for a batch")?;
                }
                let outcome = remove_batch(&mut connection, cutoff, limit).await;
                if let Some((_, restore)) = relaxed {
                    if let Err(err) = sqlx::query(restore).execute(&mut *connection).await {
                        // Never back to the pool with the relaxed setting.
                        let _ = connection.detach();
                        return Err(anyhow::Error::new(err)
                            .context("restore durability after a batch")
                            .into());
                    }
                }
                outcome
            }
        }

        async fn remove_batch(
            connection: &mut $connection,
            cutoff: i64,
            limit: u32,
        ) -> Result<RemovedBatch, StoreError> {
            use sqlx::Connection as _;
            let mut tx = connection
                .begin_with($begin)
                .await
                .context("begin removing old messages")?;
            // From here on the write lock is held (SQLite) or the rows are (PostgreSQL).
            let began = std::time::Instant::now();
            let last: Option<i64> = sqlx::query_scalar(
                "select max(id) from (select id from chat where date < $1 order by id limit $2) oldest",
            )
            .bind(cutoff)
            .bind(i64::from(limit))
            .fetch_one(&mut *tx)
            .await
            .context("find the oldest messages")?;
            let Some(last) = last else {
                return Ok(RemovedBatch::default());
            };
            let floor: Option<&str> = $floor;
            // Only a backend with a floor needs the highest change position among the batch's.
            let highest_change: Option<i64> = match floor {
                Some(_) => sqlx::query_scalar(
                    "select max(id) from chat_change
                     where message_id in (select id from chat where id <= $1 and date < $2)",
                )
                .bind(last)
                .bind(cutoff)
                .fetch_one(&mut *tx)
                .await
                .context("find the changes of the oldest messages")?,
                None => None,
            };
            for (statement, what) in [
                (
                    "with batch as materialized
                         (select id, sender, receiver from chat where id <= $1 and date < $2)
                     update conversation
                     set unread = case when unread > gone.n then unread - gone.n else 0 end
                     from (select b.receiver as owner, b.sender as peer, count(*) as n
                           from batch b join conversation v on v.owner = b.receiver and v.peer = b.sender
                           where b.id > v.read_up_to
                           group by b.receiver, b.sender) gone
                     where conversation.owner = gone.owner and conversation.peer = gone.peer",
                    "recount unread messages",
                ),
                (
                    "delete from conversation
                     where last_message_id in (select id from chat where id <= $1 and date < $2)",
                    "remove emptied conversations",
                ),
                (
                    "delete from chat_change
                     where message_id in (select id from chat where id <= $1 and date < $2)",
                    "remove the old messages' changes",
                ),
            ] {
                sqlx::query(statement)
                    .bind(last)
                    .bind(cutoff)
                    .execute(&mut *tx)
                    .await
                    .context(what)?;
            }
            let removed = sqlx::query("delete from chat where id <= $1 and date < $2")
                .bind(last)
                .bind(cutoff)
                .execute(&mut *tx)
                .await
                .context("remove old messages")?
                .rows_affected();
            if let Some(floor) = floor {
                sqlx::query(floor)
                    .bind(last.max(highest_change.unwrap_or(0)))
                    .execute(&mut *tx)
                    .await
                    .context("raise the stream's floor")?;
            }
            tx.commit().await.context("commit removing old messages")?;
            Ok(RemovedBatch {
                messages: removed,
                held: began.elapsed(),
            })
        }
    };
}
pub(super) use retention_table;
