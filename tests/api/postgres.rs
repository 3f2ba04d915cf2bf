//! A throwaway PostgreSQL cluster for the tests: started once per test process, on first use, in a
//! temporary directory and on a free port; one fresh database per test (`fresh_database`); stopped
//! and removed when the process exits, whether its tests passed or failed. Nothing is assumed to
//! be running and no port is fixed. PostgreSQL comes from Debian's `postgresql` package, which
//! `.ci/install-tools.sh` installs.
//!
//! `initdb` and `pg_ctl` refuse to run as root, so when the tests run as root (CI containers) they
//! run as the `postgres` system user, in a directory that user owns. `fsync=off` makes commits
//! cheap: fine for tests, never for measuring durability.

use sqlx::{Connection, Executor, PgConnection};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
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
        let cluster = Cluster::start().unwrap_or_else(|why| {
            panic!("start a throwaway PostgreSQL (run .ci/install-tools.sh?): {why}")
        });
        let port = cluster.port;
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

/// A running cluster. Dropping it stops the server and removes its directory.
struct Cluster {
    bin: PathBuf,
    /// Holds the data directory, the socket and the log; removed on drop.
    dir: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    fn start() -> Result<Cluster, String> {
        let bin = postgres_bin().ok_or("no initdb under /usr/lib/postgresql/*/bin or on PATH")?;
        let dir = tempfile::Builder::new()
            .prefix("parley-pg-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        if running_as_root() {
            run(Command::new("chown").arg("postgres:").arg(dir.path()))?;
        }
        let data = dir.path().join("data");
        run(as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "parley", "-E", "UTF8", "--locale=C"])
            .arg("--no-sync"))?;
        // A free port can be taken by someone else before the server binds it: try a few.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            match start_server(&bin, dir.path(), port) {
                Ok(()) => return Ok(Cluster { bin, dir, port }),
                Err(why) => last_error = why,
            }
        }
        Err(last_error)
    }
}

/// Starts the server of the cluster in `dir` on `port` and waits until it accepts connections.
fn start_server(bin: &Path, dir: &Path, port: u16) -> Result<(), String> {
    let options = format!(
        "-c listen_addresses=127.0.0.1 -p {port} -k {socket} -c fsync=off \
         -c full_page_writes=off -c max_connections=300",
        socket = dir.display(),
    );
    run(as_postgres(&bin.join("pg_ctl"))
        .arg("-w")
        .arg("-D")
        .arg(dir.join("data"))
        .arg("-l")
        .arg(dir.join("log"))
        .arg("-o")
        .arg(options)
        .arg("start"))
    .map_err(|why| {
        let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
        format!("{why}\nserver log:\n{log}")
    })
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // `immediate`: the databases are thrown away, so nothing needs a clean shutdown.
        let _ = as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .output();
        // Then `dir` is dropped, which removes the directory.
    }
}

/// The newest installed PostgreSQL's programs (Debian keeps each major version apart).
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).or_else(|| {
        std::env::var_os("PATH")
            .and_then(|path| std::env::split_paths(&path).find(|dir| dir.join("initdb").exists()))
    })
}

fn running_as_root() -> bool {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

/// `program`, run as the `postgres` user when the tests run as root (from `/`, since that user
/// may not be allowed into the test's working directory).
fn as_postgres(program: &Path) -> Command {
    let mut command = if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    command.current_dir("/");
    command
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("find a port: {e}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| format!("find a port: {e}"))
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("run {command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
