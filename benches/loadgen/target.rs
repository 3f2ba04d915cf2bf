//! The server under test: either the release binary started here on a fresh database (a
//! temporary SQLite file, or a new database on this run's PostgreSQL cluster: `database`), or a
//! server already running at `--url` (loopback only).

use crate::database::{Database, Databases};
use anyhow::{bail, Context, Result};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The server settings that switch every abuse limit off.
pub const LIMITS_OFF: [(&str, &str); 5] = [
    ("PARLEY_LOGIN_FAILURES_PER_NAME", "0"),
    ("PARLEY_LOGIN_FAILURES_PER_IP", "0"),
    ("PARLEY_SIGNUPS_PER_IP_PER_HOUR", "0"),
    ("PARLEY_SEND_RATE", "0"),
    ("PARLEY_MAX_SOCKETS_PER_USER", "0"),
];

/// Where requests go, and (when known) the server's process id for CPU and memory readings.
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    pub base: String,
    pub pid: Option<u32>,
}

impl Target {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

/// What a scenario needs to start the server itself.
#[derive(Clone, Debug)]
pub struct Launch {
    pub server_bin: PathBuf,
    pub site_root: PathBuf,
    pub workdir: PathBuf,
    pub databases: Databases,
}

/// A fresh database, with a temporary folder (for the SQLite file and the server's log) that is
/// deleted with it. A PostgreSQL database goes with its cluster at the end of the run.
pub struct LocalDb {
    dir: TempDir,
    pub url: String,
}

/// The server process. Killed on drop if `stop` was not reached (an error or a panic).
pub struct LocalServer {
    child: Option<Child>,
    pub target: Target,
    log: PathBuf,
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Picks a free loopback port (the tiny race with another process taking it is acceptable here).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("find a free port")?;
    Ok(listener.local_addr()?.port())
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Launch {
    /// Checks that the release build exists before anything else happens.
    pub fn check(&self) -> Result<()> {
        if !self.server_bin.is_file() {
            bail!(
                "no server binary at {}: build it with `make release` (cargo leptos build --release)",
                self.server_bin.display()
            );
        }
        Ok(())
    }

    /// A new empty database, created and migrated by the server binary itself (started once,
    /// then stopped), so its schema is exactly what that binary expects even when this load
    /// generator was built from a different revision of the library.
    pub async fn fresh_db(&self, database: Database) -> Result<LocalDb> {
        let dir = tempfile::Builder::new()
            .prefix("parley-bench-")
            .tempdir()
            .context("create a temporary folder")?;
        let url = self.databases.fresh(database, dir.path()).await?;
        let db = LocalDb { dir, url };
        self.start(&db).await?.stop().await?;
        Ok(db)
    }

    /// Starts the server on `db` and waits until it answers HTTP.
    /// (Its abuse limits are off: see `LIMITS_OFF`.)
    pub async fn start(&self, db: &LocalDb) -> Result<LocalServer> {
        self.start_with(db, &[]).await
    }

    /// `start`, with `envs` added to the server's environment (e.g. `BROKER_URL`).
    pub async fn start_with(&self, db: &LocalDb, envs: &[(&str, &str)]) -> Result<LocalServer> {
        self.check()?;
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log = db.dir.path().join(format!("server-{port}.log"));
        let out = std::fs::File::create(&log).context("create the server log")?;
        let child = Command::new(&self.server_bin)
            .current_dir(&self.workdir)
            .env("DATABASE_URL", &db.url)
            .env("LEPTOS_SITE_ADDR", addr.to_string())
            .env("LEPTOS_SITE_ROOT", &self.site_root)
            .env("RUST_LOG", "warn")
            // A load test is a flood by design: every abuse limit off (README, "Limits").
            .envs(LIMITS_OFF)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("start {}", self.server_bin.display()))?;
        let pid = child.id();
        let mut server = LocalServer {
            child: Some(child),
            target: Target {
                addr,
                base: format!("http://{addr}"),
                pid: Some(pid),
            },
            log,
        };
        server.wait_ready().await?;
        crate::database::wait_for_search_index(&db.url).await?;
        Ok(server)
    }
}

impl LocalServer {
    async fn wait_ready(&mut self) -> Result<()> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "the server exited at start-up ({status}); its log:\n{}",
                        tail(&self.log, 20)
                    );
                }
            }
            if let Ok(res) = http.get(self.target.url("/api/me")).send().await {
                if res.status() == reqwest::StatusCode::UNAUTHORIZED {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!(
            "the server did not answer within 60 s; its log:\n{}",
            tail(&self.log, 20)
        )
    }

    /// SIGTERM (graceful shutdown), then SIGKILL if it has not exited within 10 s.
    pub async fn stop(mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: signalling our own child by its pid.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!("loadgen: the server did not stop within 10 s of SIGTERM; killing it");
        child.kill()?;
        child.wait()?;
        Ok(())
    }
}

/// A server someone else started: `--url`, which must be a loopback address.
pub async fn remote(url: &str, pid: Option<u32>) -> Result<Target> {
    let rest = url
        .strip_prefix("http://")
        .context("--url must start with http:// (TLS is not supported)")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(authority)
        .await
        .with_context(|| format!("resolve {authority}"))?
        .collect();
    let Some(addr) = addrs
        .iter()
        .copied()
        .find(|a| matches!(a.ip(), IpAddr::V4(ip) if ip.is_loopback()))
    else {
        bail!(
            "--url must name a loopback address (127.0.0.0/8); {authority} resolves to {addrs:?}"
        );
    };
    Ok(Target {
        addr,
        base: format!("http://{addr}"),
        pid,
    })
}

/// One scenario's server: local (fresh database, started when the scenario is ready) or remote.
pub enum Env {
    Local {
        launch: Launch,
        db: LocalDb,
        server: Option<LocalServer>,
    },
    Remote(Target),
}

impl Env {
    pub async fn new(ctx: &crate::Ctx) -> Result<Self> {
        Ok(match &ctx.remote {
            Some(target) => Env::Remote(target.clone()),
            None => Env::Local {
                launch: ctx.launch.clone(),
                db: ctx.launch.fresh_db(ctx.database).await?,
                server: None,
            },
        })
    }

    /// The database, while the server is not running (for loading data directly).
    pub fn db(&self) -> Option<&LocalDb> {
        match self {
            Env::Local {
                db, server: None, ..
            } => Some(db),
            _ => None,
        }
    }

    /// Starts the local server (once) or returns the remote target.
    pub async fn start(&mut self) -> Result<Target> {
        match self {
            Env::Remote(target) => Ok(target.clone()),
            Env::Local { launch, db, server } => {
                if server.is_none() {
                    *server = Some(launch.start(db).await?);
                }
                Ok(server.as_ref().expect("just started").target.clone())
            }
        }
    }

    /// The database while the server runs (for read-only checks such as a row count).
    pub fn db_url(&self) -> Option<String> {
        match self {
            Env::Local { db, .. } => Some(db.url.clone()),
            Env::Remote(_) => None,
        }
    }

    pub async fn stop(&mut self) -> Result<()> {
        if let Env::Local { server, .. } = self {
            if let Some(s) = server.take() {
                s.stop().await?;
            }
        }
        Ok(())
    }
}
