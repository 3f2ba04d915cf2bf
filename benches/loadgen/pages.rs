//! `pages`: server-side rendering throughput of the inbox (`/`) and of a conversation page
//! (`/c/{username}`) for a logged-in user, with a fixed number of requests in flight.
//! The user has ten conversations; the rendered one holds 60 messages (the page shows the last 50).

use crate::provision::{self, Account, Provision};
use crate::report::{self, histogram, record};
use crate::sys;
use crate::target::{Env, Target};
use crate::{Ctx, Outcome};
use anyhow::Result;
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use reqwest::header::COOKIE;
use reqwest::Client;
use serde_json::json;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Params {
    pub requests: usize,
    pub concurrency: usize,
    pub provision: Provision,
}

const PEERS: usize = 10;
const MESSAGES: usize = 60;

struct PageRun {
    h: Histogram<u64>,
    ok: u64,
    failed: u64,
    first_error: Option<String>,
    /// The smallest and largest page served: the same page for the same user should not vary.
    bytes: (usize, usize),
    wall: f64,
    server_cpu: Option<f64>,
    server_switches: Option<u64>,
}

async fn fetch(http: &Client, url: &str, cookie: &str) -> Result<usize, String> {
    let res = http
        .get(url)
        .header(COOKIE, cookie)
        .send()
        .await
        .map_err(|e| report::error_chain(&e))?;
    let status = res.status();
    let body = res.bytes().await.map_err(|e| report::error_chain(&e))?;
    if status != reqwest::StatusCode::OK {
        return Err(format!("HTTP {status}"));
    }
    if !body.starts_with(b"<!DOCTYPE html>") {
        return Err("the answer is not an HTML page".into());
    }
    Ok(body.len())
}

async fn hammer(http: &Client, target: &Target, path: &str, who: &Account, p: &Params) -> PageRun {
    let url = target.url(path);
    // Warm-up (not timed): first renders, connection pool.
    for _ in 0..p.concurrency.min(p.requests) {
        let _ = fetch(http, &url, &who.cookie).await;
    }
    let cpu_before = sys::cpu_seconds(target.pid);
    let switches_before = sys::context_switches(target.pid);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(120);
    let results: Vec<(Duration, Result<usize, String>)> = futures_util::stream::iter(0..p.requests)
        .map(|_| {
            let url = url.clone();
            async move {
                if Instant::now() > deadline {
                    return (
                        Duration::ZERO,
                        Err("skipped: past the 120 s bound".to_owned()),
                    );
                }
                let t = Instant::now();
                let r = fetch(http, &url, &who.cookie).await;
                (t.elapsed(), r)
            }
        })
        .buffer_unordered(p.concurrency.max(1))
        .collect()
        .await;
    let wall = started.elapsed().as_secs_f64();
    let server_cpu = cpu_before
        .zip(sys::cpu_seconds(target.pid))
        .map(|(a, b)| b - a);
    let server_switches = switches_before
        .zip(sys::context_switches(target.pid))
        .map(|(a, b)| b.saturating_sub(a));
    let mut run = PageRun {
        h: histogram(),
        ok: 0,
        failed: 0,
        first_error: None,
        bytes: (usize::MAX, 0),
        wall,
        server_cpu,
        server_switches,
    };
    for (took, result) in results {
        match result {
            Ok(bytes) => {
                run.ok += 1;
                run.bytes = (run.bytes.0.min(bytes), run.bytes.1.max(bytes));
                record(&mut run.h, took);
            }
            Err(e) => {
                run.failed += 1;
                run.first_error.get_or_insert(e);
            }
        }
    }
    run
}

pub async fn pages(ctx: &Ctx, p: &Params) -> Result<Outcome> {
    let tag = provision::run_tag();
    let names: Vec<String> = (0..=PEERS).map(|i| format!("p{tag}_{i}")).collect();
    let mut env = Env::new(ctx).await?;
    let accounts = match (p.provision, env.db()) {
        (Provision::Direct, Some(db)) => provision::direct(db, &names).await?,
        _ => {
            let target = env.start().await?;
            provision::sign_up(&target, &names).await?
        }
    };
    let target = env.start().await?;
    let http = provision::http_client()?;
    let (me, peers) = accounts.split_first().expect("eleven accounts");
    // One message in each conversation, then a longer one with the first peer, both directions.
    for peer in peers {
        provision::post_message(&http, &target, me, peer.id, "hello there").await?;
    }
    for i in 0..MESSAGES {
        let (from, to) = if i % 2 == 0 {
            (&peers[0], me.id)
        } else {
            (me, peers[0].id)
        };
        let text =
            format!("message {i}: shall we meet at the station at six, or is that too early?");
        provision::post_message(&http, &target, from, to, &text).await?;
    }

    let inbox = hammer(&http, &target, "/", me, p).await;
    let conversation = hammer(&http, &target, &format!("/c/{}", peers[0].name), me, p).await;
    env.stop().await?;

    let mut rows = Vec::new();
    let mut pages_json = Vec::new();
    let mut errors = 0;
    for (name, run) in [
        ("inbox /", &inbox),
        ("conversation /c/{name}", &conversation),
    ] {
        errors += run.failed;
        let rps = run.ok as f64 / run.wall.max(1e-9);
        let cpu_ms = run.server_cpu.map(|c| c * 1000.0 / run.ok.max(1) as f64);
        let switches = run.server_switches.map(|s| s as f64 / run.ok.max(1) as f64);
        let q = |q: f64| format!("{:.2}", run.h.value_at_quantile(q) as f64 / 1000.0);
        rows.push(vec![
            name.to_owned(),
            run.ok.to_string(),
            run.failed.to_string(),
            format!("{rps:.0}"),
            q(0.5),
            q(0.99),
            format!("{:.2}", run.h.max() as f64 / 1000.0),
            cpu_ms.map_or("n/a".into(), |c| format!("{c:.2}")),
            switches.map_or("n/a".into(), |s| format!("{s:.1}")),
            match run.bytes {
                (least, most) if least >= most => most.to_string(),
                (least, most) => format!("{least}-{most}"),
            },
        ]);
        pages_json.push(json!({
            "page": name,
            "ok": run.ok,
            "failed": run.failed,
            "first_error": run.first_error,
            "requests_per_s": report::round(rps, 1),
            "latency_ms": report::summary(&run.h),
            "server_cpu_ms_per_request": report::opt(cpu_ms, 3),
            "server_cpu_cores": report::opt(run.server_cpu.map(|c| c / run.wall), 2),
            "server_context_switches_per_request": report::opt(switches, 1),
            "bytes": run.bytes.1,
            "bytes_least": run.bytes.0.min(run.bytes.1),
        }));
    }
    report::table(
        &format!(
            "pages ({} requests each, {} in flight)",
            p.requests, p.concurrency
        ),
        &[
            "page",
            "ok",
            "failed",
            "req/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "server CPU ms/req",
            "switches/req",
            "bytes",
        ],
        &rows,
    );
    Ok(Outcome {
        errors,
        json: json!({
            "requests": p.requests,
            "concurrency": p.concurrency,
            "pages": pages_json,
            "errors": errors,
        }),
    })
}
