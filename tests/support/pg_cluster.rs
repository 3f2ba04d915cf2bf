//! A throwaway PostgreSQL cluster: `initdb` into a temporary directory, started on a free loopback
//! port, stopped and removed when dropped. The integration tests (`tests/api/postgres.rs`) and the
//! load generator (`benches/loadgen`) both start theirs from here; nothing is assumed to be running
//! and no port is fixed. PostgreSQL comes from Debian's `postgresql` package, which
//! `.ci/install-tools.sh` installs.
//!
//! `initdb` and `pg_ctl` refuse to run as root, so when run as root (CI containers) they run as
//! the `postgres` system user, in a directory that user owns.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a commit costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// `fsync=off`: commits are cheap and a crash of the machine loses the data. For tests.
    Off,
    /// PostgreSQL's defaults (`fsync=on`, `synchronous_commit=on`): a commit is on disk. For
    /// measurements, where an acknowledged message must mean a durable one.
    On,
}

/// A running cluster, with one role, `parley`, that may do anything without a password (loopback
/// only). Dropping it stops the server and removes its directory.
#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    /// Holds the data directory, the socket and the log; removed on drop.
    dir: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    pub fn start(durability: Durability) -> Result<Cluster, String> {
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
            match start_server(&bin, dir.path(), port, durability) {
                Ok(()) => return Ok(Cluster { bin, dir, port }),
                Err(why) => last_error = why,
            }
        }
        Err(last_error)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` on this cluster.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://parley@127.0.0.1:{}/{name}", self.port)
    }
}

/// Starts the server of the cluster in `dir` on `port` and waits until it accepts connections.
fn start_server(bin: &Path, dir: &Path, port: u16, durability: Durability) -> Result<(), String> {
    let mut options = format!(
        "-c listen_addresses=127.0.0.1 -p {port} -k {socket} -c max_connections=300",
        socket = dir.display(),
    );
    if durability == Durability::Off {
        options.push_str(" -c fsync=off -c full_page_writes=off");
    }
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
