//! `cross-node`: the fanout of `fanout`, on PostgreSQL, three ways in one run so they compare as
//! ratios: on one node (`BROKER_URL` unset, today's single-node deployment); across two nodes
//! linked by a `nats-server` started here, senders on node 1 and their receivers on node 2 (each
//! delivery crosses the broker, each echo stays on node 1); and the same two nodes while the broker
//! is down, when node 2 reads new messages from the database every 200 ms. Pairs talk one way in
//! all three (the first of each pair sends), so the three differ only in where the sockets are.

use crate::database::Database;
use crate::fanout::{self, Params, Placement, Run};
use crate::provision::{self, Account};
use crate::report;
use crate::target::{LocalDb, LocalServer, Target};
use crate::{Ctx, Outcome};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `nats-server` on a free loopback port, killed when dropped.
struct Broker {
    port: u16,
    server: Option<Child>,
}

impl Broker {
    fn start() -> Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .context("find a free port")?
            .port();
        let mut broker = Broker { port, server: None };
        broker.start_again()?;
        Ok(broker)
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn start_again(&mut self) -> Result<()> {
        // Debian installs it in /usr/sbin, which is not on every PATH.
        let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists())
            .unwrap_or("nats-server");
        self.server = Some(
            Command::new(binary)
                .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("start nats-server (run .ci/install-tools.sh)")?,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                bail!("nats-server did not start within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until every node's `/readyz` says `want` (`ready` or `degraded`).
async fn wait_for_readiness(nodes: &[&LocalServer], want: &str) -> Result<()> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    for node in nodes {
        loop {
            let said = match http.get(node.target.url("/readyz")).send().await {
                Ok(res) => res.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if said.trim() == want {
                break;
            }
            if Instant::now() > deadline {
                bail!("a node did not become {want} within 15 s (it says {said:?})");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// One run of the fanout at `p.rate` for `duration` s, over `placement`, on `db`'s accounts.
async fn timed(
    target: &Target,
    placement: &Placement,
    db: &LocalDb,
    accounts: &[Account],
    p: &Params,
    duration: f64,
) -> Result<Run> {
    fanout::run_once(
        target,
        placement,
        Some(&db.url),
        accounts,
        &[],
        0,
        p.rate,
        duration,
        p.drain,
    )
    .await
}

pub async fn cross_node(ctx: &Ctx, p: &Params, outage_duration: f64) -> Result<Outcome> {
    if ctx.remote.is_some() {
        bail!("cross-node starts its own nodes; it cannot use --url");
    }
    if ctx.database != Database::Postgres {
        bail!("cross-node runs on PostgreSQL only (several nodes cannot share SQLite)");
    }
    let launch = &ctx.launch;
    let db = launch.fresh_db(Database::Postgres).await?;
    let tag = provision::run_tag();
    let users = p.users.max(2).div_ceil(2) * 2;
    let names: Vec<String> = (0..users).map(|i| format!("x{tag}_{i}")).collect();
    let accounts: Vec<Account> = provision::direct(&db, &names).await?;
    let mut runs: Vec<(&str, Run)> = Vec::new();

    // One node, no broker.
    let single = launch.start(&db).await?;
    let placement = Placement {
        nodes: vec![single.target.addr],
        one_way: true,
    };
    let run = timed(&single.target, &placement, &db, &accounts, p, p.duration).await;
    single.stop().await?;
    runs.push(("one node", run?));

    // Two nodes and a broker.
    let mut broker = Broker::start()?;
    let broker_url = broker.url();
    let envs = [("BROKER_URL", broker_url.as_str())];
    let one = launch.start_with(&db, &envs).await?;
    let two = launch.start_with(&db, &envs).await?;
    wait_for_readiness(&[&one, &two], "ready").await?;
    let placement = Placement {
        nodes: vec![one.target.addr, two.target.addr],
        one_way: true,
    };
    let across = timed(&one.target, &placement, &db, &accounts, p, p.duration).await?;
    runs.push(("two nodes, node 1 -> node 2", across));

    broker.stop();
    wait_for_readiness(&[&one, &two], "degraded").await?;
    let outage = timed(&one.target, &placement, &db, &accounts, p, outage_duration).await;
    broker.start_again()?;
    one.stop().await?;
    two.stop().await?;
    runs.push(("two nodes, broker down", outage?));

    for (title, run) in &runs {
        fanout::print_run(&format!("cross-node: {title}"), run);
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .flat_map(|(title, run)| {
            [
                report::latency_row(&format!("{title}: send -> receiver"), &run.deliver),
                report::latency_row(&format!("{title}: send -> own echo"), &run.echo),
            ]
        })
        .collect();
    report::table(
        "cross-node: latency side by side",
        &report::LATENCY_HEADER,
        &rows,
    );
    let ratio = report::p99_ms(&runs[1].1.deliver) / report::p99_ms(&runs[0].1.deliver).max(1e-3);
    println!("  cross-node p99 / one-node p99 (send -> receiver): {ratio:.2}");
    let json_of = |run: &Run| -> Value { run.json.clone() };
    Ok(Outcome {
        errors: runs.iter().map(|(_, run)| run.errors).sum(),
        json: json!({
            "users": users,
            "rate_target": p.rate,
            "one_node": json_of(&runs[0].1),
            "two_nodes": json_of(&runs[1].1),
            "broker_down": json_of(&runs[2].1),
            "cross_over_one_p99": report::round(ratio, 2),
        }),
    })
}
