//! Parley's load generator (docs/BENCHMARKS.md).
//!
//! Starts the release server (`target/release/parley`) on a fresh database per scenario (a
//! temporary SQLite file, or with `--database postgres` a database on a throwaway PostgreSQL
//! cluster it starts; `--database sqlite,postgres` runs each scenario on both, side by side), or
//! targets a running one (`--url`, loopback only), runs the named scenarios and prints, for each,
//! a table and one JSON line. `smoke` runs every scenario at a tiny size and
//! exits non-zero if any saw an error (never because something was slow).
//!
//! ```sh
//! cargo bench --features ssr --bench loadgen -- fanout --users 1000 --rate 2000 --duration 10
//! cargo bench --features ssr --bench loadgen -- smoke
//! cargo bench --features ssr --bench loadgen -- fanout history --database sqlite,postgres
//! ```

mod bundle;
mod connections;
mod cross_node;
mod database;
mod fanout;
mod history;
mod logins;
mod pages;
mod provision;
mod report;
mod retention;
mod sys;
mod target;
mod ws;

use anyhow::{bail, Result};
use clap::Parser;
use database::{Database, Databases};
use provision::Provision;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use target::{Launch, Target};

#[derive(Parser, Debug, Clone)]
#[command(
    name = "loadgen",
    about = "Parley's load generator: fanout, fanout-max, cross-node, connections, history, pages, bundle, logins, retention, all, smoke"
)]
pub struct Cli {
    /// Scenarios to run, in order: fanout, fanout-max, cross-node, connections, history, pages,
    /// bundle, logins, retention; `all` for every one; `smoke` for every one at a tiny size. `cross-node`
    /// always runs on PostgreSQL, whatever --database says.
    #[arg(default_value = "all")]
    scenarios: Vec<String>,
    /// Same as the `smoke` scenario.
    #[arg(long)]
    smoke: bool,
    /// Target a running server (http://127.x.y.z:port) instead of starting one.
    #[arg(long)]
    url: Option<String>,
    /// With --url: the server's process id, to report its CPU and memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The server binary to start [default: target/release/parley].
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// LEPTOS_SITE_ROOT for the server, and where `bundle` looks [default: target/site].
    #[arg(long)]
    site_root: Option<PathBuf>,
    /// The storage backends a local server runs on, each scenario once per backend in the order
    /// given: `sqlite`, `postgres` (a throwaway durable cluster started here), or both
    /// (`sqlite,postgres`). Ignored with --url.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "sqlite")]
    database: Vec<Database>,
    /// Also append each scenario's JSON line to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// Worker threads of the load generator's runtime [default: number of CPUs].
    #[arg(long)]
    threads: Option<usize>,
    /// How accounts are made: `direct` (rows written into the fresh database before the server
    /// starts; default for a local server) or `api` (sign-up requests; always with --url).
    #[arg(long, value_enum)]
    provision: Option<Provision>,

    /// fanout: users, one WebSocket each, paired into conversations.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// fanout: sends per second, all users together.
    #[arg(long, default_value_t = 2000.0)]
    rate: f64,
    /// fanout: seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// fanout: extra idle connections held during the run (e.g. 9000 for "10,000 connected").
    #[arg(long, default_value_t = 0)]
    idle_connections: usize,
    /// fanout: seconds to wait after the last send for outstanding frames.
    #[arg(long, default_value_t = 10.0)]
    drain: f64,
    /// Run `fanout` as `fanout-max`.
    #[arg(long)]
    find_max: bool,
    /// fanout-max: the p99 (delivery and echo) a rate must stay under, in ms.
    #[arg(long, default_value_t = 50.0)]
    p99_limit_ms: f64,
    /// fanout-max: first rate tried.
    #[arg(long, default_value_t = 500.0)]
    max_start_rate: f64,
    /// fanout-max: rate multiplier while every step passes (then it bisects).
    #[arg(long, default_value_t = 1.5)]
    max_growth: f64,
    /// fanout-max: seconds per step.
    #[arg(long, default_value_t = 3.0)]
    step_duration: f64,
    /// fanout-max: most steps.
    #[arg(long, default_value_t = 12)]
    max_steps: usize,
    /// cross-node: seconds of sending while the broker is down (the other runs use --duration).
    #[arg(long, default_value_t = 5.0)]
    outage_duration: f64,

    /// connections: idle authenticated WebSockets to open.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// connections: users they share [default: connections / 10, at most 1000].
    #[arg(long)]
    connection_users: Option<usize>,
    /// connections: connection attempts in flight during the ramp.
    #[arg(long, default_value_t = 128)]
    connect_concurrency: usize,

    /// history: messages to pre-load.
    #[arg(long, default_value_t = 1_000_000)]
    history_messages: usize,
    /// history: timed requests per query.
    #[arg(long, default_value_t = 500)]
    history_requests: usize,

    /// pages: requests per page.
    #[arg(long, default_value_t = 2000)]
    page_requests: usize,
    /// pages: requests in flight.
    #[arg(long, default_value_t = 16)]
    page_concurrency: usize,

    /// logins: abandoned login requests in the flood.
    #[arg(long, default_value_t = 1500)]
    login_flood: usize,
    /// logins: sequential logins after the flood.
    #[arg(long, default_value_t = 1000)]
    sequential_logins: usize,

    /// retention: old messages (dated 2023) loaded before its two runs.
    #[arg(long, default_value_t = 1_000_000)]
    old_messages: u64,

    /// retention: a control run. The second server's policy keeps 100 years, so it removes nothing
    /// and the two runs differ only by chance: how far apart that alone puts them.
    #[arg(long)]
    retention_control: bool,

    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// What every scenario gets.
#[derive(Clone)]
pub struct Ctx {
    pub launch: Launch,
    pub remote: Option<Target>,
    pub open_files: u64,
    /// The backend of the local server (unused with --url).
    pub database: Database,
}

/// A finished scenario: its JSON fields and how many errors it saw.
pub struct Outcome {
    pub json: Value,
    pub errors: u64,
}

const ALL: [&str; 9] = [
    "fanout",
    "fanout-max",
    "cross-node",
    "connections",
    "history",
    "pages",
    "bundle",
    "logins",
    "retention",
];

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before the runtime and before any server is spawned: the server inherits this limit.
    let open_files = sys::raise_open_files_limit(1_048_576);
    let threads = cli.threads.unwrap_or_else(sys::nproc).max(1);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("loadgen: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, open_files, threads)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("loadgen: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, open_files: u64, threads: usize) -> Result<ExitCode> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let smoke = cli.smoke || cli.scenarios.iter().any(|s| s == "smoke");
    // `smoke` alone means every scenario; `--smoke fanout` only that one, at smoke size.
    let named: Vec<String> = cli
        .scenarios
        .iter()
        .filter(|s| *s != "smoke")
        .cloned()
        .collect();
    let mut scenarios: Vec<String> = if named.is_empty() || named.iter().any(|s| s == "all") {
        ALL.iter().map(|s| (*s).to_owned()).collect()
    } else {
        named
    };
    if cli.find_max {
        for s in &mut scenarios {
            if s == "fanout" {
                *s = "fanout-max".into();
            }
        }
    }
    if let Some(unknown) = scenarios.iter().find(|s| !ALL.contains(&s.as_str())) {
        bail!(
            "unknown scenario {unknown:?}; known: {}, all, smoke",
            ALL.join(", ")
        );
    }

    let launch = Launch {
        server_bin: cli
            .server_bin
            .clone()
            .unwrap_or_else(|| root.join("target/release/parley")),
        site_root: cli
            .site_root
            .clone()
            .unwrap_or_else(|| root.join("target/site")),
        workdir: root.clone(),
        databases: Databases::default(),
    };
    let remote = match &cli.url {
        Some(url) => Some(target::remote(url, cli.server_pid).await?),
        None => {
            if scenarios.iter().any(|s| s != "bundle") {
                launch.check()?;
            }
            None
        }
    };
    let databases: Vec<Database> = if remote.is_some() {
        vec![Database::Sqlite]
    } else {
        let mut unique = cli.database.clone();
        unique.dedup();
        unique
    };
    let mut started = databases.clone();
    if remote.is_none() && scenarios.iter().any(|s| s == "cross-node") {
        started.push(Database::Postgres);
    }
    let launch = Launch {
        databases: Databases::start(&started)?,
        ..launch
    };
    let ctx = Ctx {
        launch,
        remote,
        open_files,
        database: databases[0],
    };
    let commit = sys::commit(&root);
    // The binary may be older than the commit: say when it was built.
    let server_built = if ctx.remote.is_some() {
        None
    } else {
        std::fs::metadata(&ctx.launch.server_bin)
            .and_then(|m| m.modified())
            .ok()
            .map(|t| {
                chrono::DateTime::<chrono::Utc>::from(t)
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string()
            })
    };
    let nproc = sys::nproc();
    println!(
        "loadgen: commit {commit}, {nproc} CPUs, load average {}, open-files limit {open_files}, {threads} loadgen threads, server {}{}{}",
        sys::load_average(),
        ctx.remote.as_ref().map_or_else(|| ctx.launch.server_bin.display().to_string(), |t| t.base.clone()),
        server_built.as_ref().map_or(String::new(), |t| format!(" (built {t})")),
        if smoke { ", SMOKE sizes" } else { "" },
    );
    if smoke {
        ws::self_check()?;
    }

    let local_default = if ctx.remote.is_some() {
        Provision::Api
    } else {
        Provision::Direct
    };
    let provision = cli.provision.unwrap_or(local_default);
    let fanout_params = fanout::Params {
        users: if smoke { 20 } else { cli.users },
        rate: if smoke { 100.0 } else { cli.rate },
        duration: if smoke { 1.0 } else { cli.duration },
        idle: if smoke { 20 } else { cli.idle_connections },
        drain: Duration::from_secs_f64(cli.drain.max(0.5)),
        // Smoke signs its fanout users up through the API, so that path is exercised too.
        provision: if smoke { Provision::Api } else { provision },
    };
    let find_max = fanout::FindMax {
        start_rate: if smoke { 50.0 } else { cli.max_start_rate },
        growth: if smoke { 2.0 } else { cli.max_growth },
        max_steps: if smoke { 2 } else { cli.max_steps },
        step_duration: if smoke { 0.5 } else { cli.step_duration },
        p99_limit_ms: cli.p99_limit_ms,
    };
    let connections = if smoke { 200 } else { cli.connections };
    let connection_params = connections::Params {
        connections,
        users: cli
            .connection_users
            .unwrap_or((connections / 10).clamp(1, 1000)),
        concurrency: cli.connect_concurrency,
        hold: Duration::from_secs(if smoke { 1 } else { 3 }),
        provision,
    };
    let history_params = history::Params {
        messages: if smoke { 2000 } else { cli.history_messages },
        requests: if smoke { 50 } else { cli.history_requests },
    };
    let page_params = pages::Params {
        requests: if smoke { 50 } else { cli.page_requests },
        concurrency: if smoke { 4 } else { cli.page_concurrency },
        provision,
    };

    let login_params = logins::Params {
        flood: if smoke { 40 } else { cli.login_flood },
        concurrency: 400,
        sequential: if smoke { 5 } else { cli.sequential_logins },
    };

    let retention_params = retention::Params {
        fanout: fanout::Params {
            provision: Provision::Direct,
            ..fanout_params.clone()
        },
        old: if smoke { 2000 } else { cli.old_messages },
        control: cli.retention_control,
    };

    let mut failures = Vec::new();
    let mut could_not_run = false;
    let runs = scenarios.iter().flat_map(|name| {
        // The bundle is the same files whatever the database.
        let on: &[Database] = match name.as_str() {
            "bundle" => &databases[..1],
            "cross-node" => &[Database::Postgres],
            _ => &databases,
        };
        on.iter().map(move |&database| (name, database))
    });
    for (name, database) in runs {
        let ctx = Ctx {
            database,
            ..ctx.clone()
        };
        let ctx = &ctx;
        let load = sys::load_average();
        let started = Instant::now();
        let on = if ctx.remote.is_some() {
            "the --url server"
        } else {
            database.name()
        };
        eprintln!("loadgen: {name} on {on} (load average {load})");
        if ctx.remote.is_none() {
            println!("\n== {name} on {on} ==");
        }
        let outcome = match name.as_str() {
            "fanout" => fanout::fanout(ctx, &fanout_params).await,
            "fanout-max" => fanout::find_max(ctx, &fanout_params, &find_max).await,
            "cross-node" => {
                let outage = if smoke { 1.0 } else { cli.outage_duration };
                cross_node::cross_node(ctx, &fanout_params, outage).await
            }
            "connections" => connections::connections(ctx, &connection_params).await,
            "history" => history::history(ctx, &history_params).await,
            "pages" => pages::pages(ctx, &page_params).await,
            "bundle" => bundle::bundle(ctx).await,
            "logins" => logins::logins(ctx, &login_params).await,
            "retention" => retention::retention(ctx, &retention_params).await,
            _ => unreachable!("checked above"),
        };
        let mut line = json!({"scenario": name});
        if ctx.remote.is_none() && name != "bundle" {
            line["database"] = json!(database.name());
        }
        match outcome {
            Ok(outcome) => {
                if let Value::Object(fields) = outcome.json {
                    line.as_object_mut().expect("object").extend(fields);
                }
                line["errors"] = json!(outcome.errors);
                if outcome.errors > 0 {
                    failures.push(format!("{name} on {on}: {} errors", outcome.errors));
                }
            }
            Err(err) => {
                eprintln!("loadgen: {name} on {on} failed: {err:#}");
                line["failed"] = json!(format!("{err:#}"));
                failures.push(format!("{name} on {on}: could not run: {err:#}"));
                could_not_run = true;
            }
        }
        line["commit"] = json!(commit);
        line["server_bin_built"] = json!(server_built);
        line["nproc"] = json!(nproc);
        line["loadavg_before"] = json!(load);
        line["smoke"] = json!(smoke);
        line["elapsed_s"] = json!(report::round(started.elapsed().as_secs_f64(), 1));
        report::emit(&line, cli.json_out.as_deref());
    }

    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("loadgen: problems:\n  {}", failures.join("\n  "));
        // Smoke fails on any error; a full run only when a scenario could not run at all.
        Ok(if smoke || could_not_run {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    }
}
