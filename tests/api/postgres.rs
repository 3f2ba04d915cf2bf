//! A throwaway PostgreSQL cluster for the tests: started once per test process, on first use, in a
//! temporary directory and on a free port; one fresh database per test (`fresh_database`); stopped
//! and removed when the process exits, whether its tests passed or failed. Nothing is assumed to
//! be running and no port is fixed. PostgreSQL comes from Debian's `postgresql` package, which
//! `.ci/install-tools.sh` installs.
//!
//! The cluster itself is `tests/support/pg_cluster.rs`, shared with the load generator; here it
//! runs with `fsync=off`, which makes commits cheap: fine for tests, never for measuring
//! durability.

// Shared with the load generator, which uses the parts the tests do not.
#[allow(dead_code)]
#[path = "../support/pg_cluster.rs"]
mod pg_cluster;

use pg_cluster::{Cluster, Durability};
use sqlx::{Connection, Executor, PgConnection};
use std::sync::{Mutex, OnceLock};

/// The running cluster's port, once it has started.
static PORT: OnceLock<u16> = OnceLock::new();
/// The cluster, taken out and stopped when the process exits (`stop_at_exit`).
static CLUSTER: Mutex<Option<Cluster>> = Mutex::new(None);

/// A fresh, empty database on the test cluster (starting the cluster if this is the first),
/// as a `postgres://` URL.
pub async fn fresh_database() -> String {
    let port = tokio::task::spawn_blocking(cluster_port)
        .await
        .expect("start the test cluster");
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&format!("postgres://parley@127.0.0.1:{port}/postgres"))
        .await
        .expect("connect to the test cluster");
    admin
        .execute(format!("create database {name}").as_str())
        .await
        .expect("create a test database");
    let _ = admin.close().await;
    format!("postgres://parley@127.0.0.1:{port}/{name}")
}

fn cluster_port() -> u16 {
    *PORT.get_or_init(|| {
        let cluster = Cluster::start(Durability::Off).unwrap_or_else(|why| {
            panic!("start a throwaway PostgreSQL (run .ci/install-tools.sh?): {why}")
        });
        let port = cluster.port();
        *CLUSTER.lock().unwrap_or_else(|p| p.into_inner()) = Some(cluster);
        // Runs when the test binary exits, which libtest does normally even after failed tests.
        // SAFETY: registers a plain `extern "C"` function that takes no arguments.
        unsafe { libc::atexit(stop_at_exit) };
        port
    })
}

extern "C" fn stop_at_exit() {
    let cluster = CLUSTER.lock().unwrap_or_else(|p| p.into_inner()).take();
    drop(cluster);
}
