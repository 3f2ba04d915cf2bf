//! `logins`: what password hashing costs the server under a flood. N login requests that hang up
//! after 50–200 ms (a client that gives up, or an attacker that never waits), then one real login
//! timed, then M sequential logins. Reports the server's resident memory: idle, peak during the
//! flood, and after the sequential logins, against the bounds the server promises (README,
//! "Limits": peak ≤ cores × 19 MiB + 32 MiB over idle, ≤ 64 MiB over idle afterwards).

use crate::provision;
use crate::report;
use crate::sys;
use crate::target::Env;
use crate::{Ctx, Outcome};
use anyhow::{bail, Result};
use futures_util::StreamExt;
use serde_json::json;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

#[derive(Clone, Debug)]
pub struct Params {
    /// Abandoned login requests in the flood.
    pub flood: usize,
    /// Of those, how many are open at once.
    pub concurrency: usize,
    /// Sequential logins after the flood.
    pub sequential: usize,
}

/// One login written by hand on its own connection and abandoned after `patience`.
async fn abandoned_login(addr: SocketAddr, name: &str, patience: Duration) -> bool {
    let Ok(mut tcp) = tokio::net::TcpStream::connect(addr).await else {
        return false;
    };
    let body = json!({"username": name, "password": provision::PASSWORD}).to_string();
    let request = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let sent = tcp.write_all(request.as_bytes()).await.is_ok();
    tokio::time::sleep(patience).await;
    sent
}

pub async fn logins(ctx: &Ctx, p: &Params) -> Result<Outcome> {
    let name = format!("l{}", provision::run_tag());
    let mut env = Env::new(ctx).await?;
    let target = env.start().await?;
    let Some(pid) = target.pid else {
        bail!("logins measures the server's memory: it needs a local server or --server-pid");
    };
    provision::sign_up(&target, std::slice::from_ref(&name)).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = sys::rss_kib(Some(pid));
    sys::reset_peak_rss(pid);

    let flood_start = Instant::now();
    let mut sent = 0u64;
    let mut requests = futures_util::stream::iter(0..p.flood)
        .map(|n| {
            let patience = Duration::from_millis(50 + (n as u64 * 37) % 151);
            let (addr, name) = (target.addr, name.clone());
            async move { abandoned_login(addr, &name, patience).await }
        })
        .buffer_unordered(p.concurrency.max(1));
    while let Some(ok) = requests.next().await {
        sent += u64::from(ok);
    }
    let flood_s = flood_start.elapsed().as_secs_f64();

    let login_start = Instant::now();
    let real = provision::log_in(&target, &name).await;
    let real_login_ms = login_start.elapsed().as_secs_f64() * 1000.0;
    let peak = sys::peak_rss_kib(Some(pid));

    let mut errors = u64::from(real.is_err());
    for _ in 0..p.sequential {
        if provision::log_in(&target, &name).await.is_err() {
            errors += 1;
        }
    }
    let after = sys::rss_kib(Some(pid));
    env.stop().await?;

    let cores = sys::nproc() as u64;
    let peak_bound_mib = cores * 19 + 32;
    let over = |kib: Option<u64>| match (kib, idle) {
        (Some(k), Some(i)) => Some(k.saturating_sub(i) as f64 / 1024.0),
        _ => None,
    };
    report::facts(
        "logins: abandoned-login flood, then sequential logins",
        &[
            (
                "flood",
                format!("{sent} of {} requests sent in {flood_s:.1} s", p.flood),
            ),
            ("idle RSS", report::show(&report::mib(idle))),
            (
                "peak RSS over idle",
                format!(
                    "{} MiB (bound {peak_bound_mib} MiB)",
                    report::show(&report::opt(over(peak), 1))
                ),
            ),
            (
                "real login after the flood",
                format!("{real_login_ms:.0} ms (bound 2,000 ms)"),
            ),
            (
                "RSS over idle after sequential logins",
                format!(
                    "{} MiB after {} (bound 64 MiB)",
                    report::show(&report::opt(over(after), 1)),
                    p.sequential
                ),
            ),
        ],
    );
    Ok(Outcome {
        json: json!({
            "flood": p.flood,
            "flood_sent": sent,
            "flood_s": report::round(flood_s, 1),
            "idle_rss_mib": report::mib(idle),
            "peak_rss_mib": report::mib(peak),
            "peak_over_idle_mib": report::opt(over(peak), 1),
            "peak_bound_mib": peak_bound_mib,
            "real_login_ms": report::round(real_login_ms, 0),
            "sequential": p.sequential,
            "after_rss_mib": report::mib(after),
            "after_over_idle_mib": report::opt(over(after), 1),
        }),
        errors,
    })
}
