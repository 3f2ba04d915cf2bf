//! Connections for the SQLite store's reads, handed out without sqlx's pool.
//!
//! sqlx's pool pings every connection as it comes back (to find a broken one, and to flush what a
//! cancelled query left behind). For SQLite a ping is a trip to the connection's own thread and
//! back, after every query: half the thread switches a page cost. Here a connection goes straight
//! back to the idle list, and is pinged on its way back at most once every `CHECK_EVERY`: a
//! connection to a file in this process is not lost while idle, and its thread runs commands in
//! the order sent (a rollback a dropped transaction queued runs before the next query), so the
//! check is only for the rare thread that has died, which is then dropped and replaced.

use super::search_index;
use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How often a connection in use is checked on its way back.
const CHECK_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub(super) struct Readers(Arc<Shared>);

struct Shared {
    options: SqliteConnectOptions,
    /// The search index each connection attaches (`search_index::attach`).
    index_file: PathBuf,
    idle: Mutex<Vec<Idle>>,
    /// One permit per connection that may exist, idle or lent.
    slots: Arc<Semaphore>,
}

struct Idle {
    connection: SqliteConnection,
    checked: Instant,
}

/// A connection lent for a read; it goes back to the idle list when dropped.
pub(super) struct Reader {
    lent: Option<(Idle, OwnedSemaphorePermit)>,
    shared: Arc<Shared>,
}

impl Readers {
    /// At most `size` connections, opened when first needed with `options`.
    pub(super) fn new(options: SqliteConnectOptions, index_file: PathBuf, size: u32) -> Self {
        let size = size as usize;
        Self(Arc::new(Shared {
            options,
            index_file,
            idle: Mutex::new(Vec::with_capacity(size)),
            slots: Arc::new(Semaphore::new(size)),
        }))
    }

    /// An idle connection, or a new one while fewer than `size` exist; otherwise waits for one.
    pub(super) async fn get(&self) -> anyhow::Result<Reader> {
        let slot = Arc::clone(&self.0.slots)
            .acquire_owned()
            .await
            .context("the read connections are closed")?;
        let idle = self.0.idle().pop();
        let idle = match idle {
            Some(idle) => idle,
            None => Idle {
                connection: self.0.connect().await?,
                checked: Instant::now(),
            },
        };
        Ok(Reader {
            lent: Some((idle, slot)),
            shared: Arc::clone(&self.0),
        })
    }
}

impl Shared {
    fn idle(&self) -> MutexGuard<'_, Vec<Idle>> {
        // Pushes and pops only: a poisoned lock still guards a consistent list.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn connect(&self) -> anyhow::Result<SqliteConnection> {
        let mut connection = self
            .options
            .connect()
            .await
            .context("open a read connection")?;
        search_index::attach(&mut connection, &self.index_file)
            .await
            .context("attach the search index to a read connection")?;
        Ok(connection)
    }
}

impl Deref for Reader {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        match &self.lent {
            Some((idle, _)) => &idle.connection,
            None => unreachable!("a reader holds its connection until dropped"),
        }
    }
}

impl DerefMut for Reader {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match &mut self.lent {
            Some((idle, _)) => &mut idle.connection,
            None => unreachable!("a reader holds its connection until dropped"),
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let Some((mut idle, slot)) = self.lent.take() else {
            return;
        };
        if idle.checked.elapsed() < CHECK_EVERY {
            self.shared.idle().push(idle);
            return;
        }
        // Checked off the borrower's path; the slot stays taken until the check is done. (With
        // the runtime gone, at shutdown, the connection is simply closed.)
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let shared = Arc::clone(&self.shared);
        runtime.spawn(async move {
            match idle.connection.ping().await {
                Ok(()) => {
                    idle.checked = Instant::now();
                    shared.idle().push(idle);
                }
                Err(err) => tracing::warn!(error = %err, "dropped a broken read connection"),
            }
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn readers(dir: &tempfile::TempDir, size: u32) -> Readers {
        let url = format!("sqlite://{}", dir.path().join("readers.db").display());
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true);
        Readers::new(options, dir.path().join("readers-search.db"), size)
    }

    /// Temporary tables belong to one connection: finding one again means the connection was reused.
    async fn has_marker(reader: &mut Reader) -> bool {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from temp.sqlite_master where name = 'marker'",
        )
        .fetch_one(&mut **reader)
        .await
        .unwrap()
            == 1
    }

    #[tokio::test]
    async fn a_connection_is_lent_again_as_it_was_and_never_more_than_size_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let readers = readers(&dir, 1);
        let mut first = readers.get().await.unwrap();
        sqlx::query("create temp table marker (x)")
            .execute(&mut *first)
            .await
            .unwrap();
        let waiting = tokio::time::timeout(Duration::from_millis(200), readers.get()).await;
        assert!(
            waiting.is_err(),
            "a second connection was lent while the only one was out"
        );
        drop(first);
        let mut again = readers.get().await.unwrap();
        assert!(
            has_marker(&mut again).await,
            "the idle connection was not the one lent again"
        );
    }

    #[tokio::test]
    async fn a_query_abandoned_halfway_leaves_the_connection_usable() {
        let dir = tempfile::tempdir().unwrap();
        let readers = readers(&dir, 1);
        {
            let mut reader = readers.get().await.unwrap();
            let mut rows = sqlx::query_scalar::<_, i64>(
                "with recursive n(i) as (select 1 union all select i + 1 from n where i < 100000)
                 select i from n",
            )
            .fetch(&mut *reader);
            use futures::StreamExt;
            assert_eq!(rows.next().await.unwrap().unwrap(), 1);
            // Dropped here with most of its rows unread, the reader with it.
        }
        let mut reader = readers.get().await.unwrap();
        let answer: i64 = sqlx::query_scalar("select 41 + 1")
            .fetch_one(&mut *reader)
            .await
            .unwrap();
        assert_eq!(answer, 42);
    }
}
