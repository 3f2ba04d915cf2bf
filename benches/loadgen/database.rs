//! The database a local server runs on, and the load generator's own writes into it (accounts,
//! sessions and messages loaded before the server starts, row counts while it runs).
//!
//! `--database sqlite` gives each scenario a fresh file; `--database postgres` a fresh database on
//! one throwaway cluster this tool starts (and removes at the end) with PostgreSQL's durable
//! defaults (`fsync=on`, `synchronous_commit=on`): an acknowledged message is on disk on both.

// Shared with the integration tests, which use the parts this tool does not.
#[allow(dead_code)]
#[path = "../../tests/support/pg_cluster.rs"]
mod pg_cluster;

use anyhow::{anyhow, bail, Context, Result};
use parley::server::store::SessionRow;
use pg_cluster::{Cluster, Durability};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Executor, PgConnection, PgPool, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The storage backends a local server can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Database {
    Sqlite,
    Postgres,
}

impl Database {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Where fresh databases come from: files, or the one PostgreSQL cluster of this run.
#[derive(Clone, Debug, Default)]
pub struct Databases {
    postgres: Option<Arc<Cluster>>,
}

impl Databases {
    /// Starts a durable PostgreSQL cluster if `wanted` names PostgreSQL.
    pub fn start(wanted: &[Database]) -> Result<Self> {
        let postgres = if wanted.contains(&Database::Postgres) {
            let cluster = Cluster::start(Durability::On).map_err(|why| {
                anyhow!("start a throwaway PostgreSQL (run .ci/install-tools.sh?): {why}")
            })?;
            Some(Arc::new(cluster))
        } else {
            None
        };
        Ok(Self { postgres })
    }

    /// The URL of a new, empty database of kind `database`; a SQLite file goes into `dir`.
    pub async fn fresh(&self, database: Database, dir: &Path) -> Result<String> {
        match database {
            Database::Sqlite => Ok(format!("sqlite://{}/bench.db", dir.display())),
            Database::Postgres => {
                let cluster = self
                    .postgres
                    .as_ref()
                    .context("no PostgreSQL cluster was started for this run")?;
                let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::connect(&cluster.url("postgres"))
                    .await
                    .context("connect to the bench cluster")?;
                admin
                    .execute(format!("create database {name}").as_str())
                    .await
                    .context("create a bench database")?;
                let _ = admin.close().await;
                Ok(cluster.url(&name))
            }
        }
    }
}

/// Waits until a server on the SQLite database at `url` has indexed every message for search
/// (`store::sqlite::search_index`): a server starting on messages written straight into its
/// database indexes them in the background, which would otherwise run during the measurement.
/// Nothing to wait for on PostgreSQL, or with a server that keeps no index file.
pub async fn wait_for_search_index(url: &str) -> Result<()> {
    let Some(file) = url.strip_prefix("sqlite://") else {
        return Ok(());
    };
    let index = match file.strip_suffix(".db") {
        Some(stem) => format!("{stem}-search.db"),
        None => format!("{file}-search"),
    };
    if !Path::new(&index).exists() {
        return Ok(());
    }
    let options = SqliteConnectOptions::from_str(url)?.read_only(true);
    let mut connection = sqlx::SqliteConnection::connect_with(&options).await?;
    sqlx::query("attach database $1 as search")
        .bind(&index)
        .execute(&mut connection)
        .await
        .context("attach the search index")?;
    let started = Instant::now();
    let mut said = false;
    loop {
        let (indexed, newest): (i64, i64) = sqlx::query_as(
            "select (select position from search.progress),
                    max((select coalesce(max(id), 0) from chat),
                        (select coalesce(max(id), 0) from chat_change))",
        )
        .fetch_one(&mut connection)
        .await
        .context("read the search index's progress")?;
        if indexed >= newest {
            if said {
                eprintln!(
                    "loadgen: search index caught up in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
            return Ok(());
        }
        if !said {
            eprintln!(
                "loadgen: waiting for the server to index {} positions for search",
                newest - indexed
            );
            said = true;
        }
        if started.elapsed() > Duration::from_secs(900) {
            bail!("the search index did not catch up within 15 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A connection to a local server's database, for the load generator's own reads and writes.
/// Bulk writes are made while the server is stopped, with durability relaxed for this
/// connection only (the server opens its own, durable ones).
pub enum BenchDb {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to whichever pool `$db` holds: one text for both backends.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            BenchDb::Sqlite($pool) => $body,
            BenchDb::Postgres($pool) => $body,
        }
    };
}

impl BenchDb {
    pub async fn open(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .synchronous(SqliteSynchronous::Off)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .context("open the bench database")?;
            Ok(Self::Sqlite(pool))
        } else {
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("set synchronous_commit = off").await?;
                        Ok(())
                    })
                })
                .connect(url)
                .await
                .context("open the bench database")?;
            Ok(Self::Postgres(pool))
        }
    }

    pub async fn close(self) {
        on_pool!(self, |pool| pool.close().await)
    }

    /// One number, e.g. `select count(*) from chat where sender = $1`.
    pub async fn scalar(&self, sql: &str, binds: &[i64]) -> Result<i64> {
        on_pool!(self, |pool| {
            let mut query = sqlx::query_scalar::<_, i64>(sql);
            for bind in binds {
                query = query.bind(*bind);
            }
            query.fetch_one(pool).await.with_context(|| sql.to_owned())
        })
    }

    /// The database's size on disk, in bytes (SQLite: the file and its WAL).
    pub async fn size_bytes(&self, url: &str) -> Result<u64> {
        match self {
            Self::Sqlite(_) => {
                let file = SqliteConnectOptions::from_str(url)?
                    .get_filename()
                    .to_owned();
                let wal = file.with_extension("db-wal");
                Ok([file, wal]
                    .iter()
                    .filter_map(|f| std::fs::metadata(f).ok())
                    .map(|m| m.len())
                    .sum())
            }
            Self::Postgres(_) => Ok(self
                .scalar("select pg_database_size(current_database())", &[])
                .await? as u64),
        }
    }

    /// Inserts users (all with the same password hash) in one transaction; their ids, in order.
    pub async fn insert_users(&self, names: &[String], hash: &str) -> Result<Vec<i64>> {
        let now = chrono::Utc::now().timestamp_millis();
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let mut ids = Vec::with_capacity(names.len());
            for name in names {
                let id: i64 = sqlx::query_scalar(
                    "insert into users (username, password_hash, is_admin, created_at)
                     values ($1, $2, $3, $4) returning id",
                )
                .bind(name)
                .bind(hash)
                .bind(false)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .with_context(|| format!("insert user {name}"))?;
                ids.push(id);
            }
            tx.commit().await?;
            Ok(ids)
        })
    }

    /// Stores sessions, in one transaction, in the server's session table.
    pub async fn insert_sessions(&self, rows: &[SessionRow]) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for row in rows {
                sqlx::query(
                    "insert into sessions (id, user_id, data, expiry_date) values ($1, $2, $3, $4)",
                )
                .bind(&row.id)
                .bind(row.user.map(|u| u.get()))
                .bind(&row.data)
                .bind(row.expires)
                .execute(&mut *tx)
                .await
                .context("insert a session")?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Inserts messages `(sender, receiver, text, date in ms)` in one transaction, dates in
    /// ascending order. On PostgreSQL their ids come from the counter row, as the server's
    /// writer takes them, so the server continues above them.
    pub async fn insert_messages(&self, rows: &[(i64, i64, String, i64)]) -> Result<()> {
        const ROWS_PER_STATEMENT: usize = 200;
        match self {
            Self::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                    let values = (0..chunk.len())
                        .map(|i| {
                            format!(
                                "(${}, ${}, ${}, ${})",
                                4 * i + 1,
                                4 * i + 2,
                                4 * i + 3,
                                4 * i + 4
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = format!(
                        "insert into chat (sender, receiver, message, date) values {values}"
                    );
                    let mut query = sqlx::query(&sql);
                    for (sender, receiver, text, date) in chunk {
                        query = query.bind(sender).bind(receiver).bind(text).bind(date);
                    }
                    query.execute(&mut *tx).await.context("insert chat rows")?;
                }
                tx.commit().await?;
            }
            Self::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let newest = rows.iter().map(|r| r.3).max().unwrap_or(0);
                let last: i64 = sqlx::query_scalar(
                    "update message_counter
                     set last_id = last_id + $1, last_date = greatest(last_date, $2)
                     returning last_id",
                )
                .bind(rows.len() as i64)
                .bind(newest)
                .fetch_one(&mut *tx)
                .await
                .context("take message ids")?;
                let first = last - rows.len() as i64 + 1;
                for (n, chunk) in rows.chunks(10 * ROWS_PER_STATEMENT).enumerate() {
                    let start = first + (n * 10 * ROWS_PER_STATEMENT) as i64;
                    sqlx::query(
                        "insert into chat (id, sender, receiver, message, date)
                         select * from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[])",
                    )
                    .bind((start..start + chunk.len() as i64).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.0).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.1).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.2.as_str()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.3).collect::<Vec<_>>())
                    .execute(&mut *tx)
                    .await
                    .context("insert chat rows")?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }
}
