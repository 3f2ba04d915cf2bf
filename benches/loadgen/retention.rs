//! `retention`: live delivery while the retention policy removes old messages. The database gets
//! `old` messages dated 2023 between the run's users, then the fanout runs twice on it at the
//! same rate, side by side: first with no policy (the baseline), then on a server started with
//! `PARLEY_RETENTION_DAYS=30`, whose background task starts removing the old messages as it
//! starts, in small transactions, while the second run sends. The report is both runs' latency,
//! by `fanout::WINDOW` as well as whole, the ratio of their p99s, and how many old messages were
//! left as the server started and as sending began and ended (sampled from the lowest id left).
//! Then, with nothing else happening, it waits (at most `IDLE_WAIT`) for the rest to go, and
//! reports how fast the removal went under load and idle. `control` makes the second run's policy
//! one that removes nothing, to see how far apart two runs are by chance alone.

use crate::database::BenchDb;
use crate::fanout::{self, Placement, Run};
use crate::provision::{self, Account};
use crate::report;
use crate::{Ctx, Outcome};
use anyhow::{bail, Result};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Params {
    pub fanout: fanout::Params,
    /// Old messages loaded before the runs.
    pub old: u64,
    /// The second run's policy removes nothing (`CONTROL_DAYS`): the runs differ only by chance.
    pub control: bool,
}

/// Messages dated before this (mid-2025) are the old ones; the runs' messages are dated now.
const OLD_BEFORE: i64 = 1_750_000_000_000;
/// The first old message's date (November 2023); each next one is a millisecond later.
const OLD_FROM: i64 = 1_700_000_000_000;
/// Old messages written per transaction while loading.
const LOAD_CHUNK: u64 = 100_000;
/// The policy of a control run: 100 years, older than every message.
const CONTROL_DAYS: &str = "36500";
/// The longest wait, after the second run, for the policy to remove the rest.
const IDLE_WAIT: Duration = Duration::from_secs(120);

pub async fn retention(ctx: &Ctx, p: &Params) -> Result<Outcome> {
    if ctx.remote.is_some() {
        bail!("retention starts its own servers (it loads old messages first); drop --url");
    }
    let f = &p.fanout;
    let launch = &ctx.launch;
    let db = launch.fresh_db(ctx.database).await?;
    let tag = provision::run_tag();
    let users = f.users.max(2).div_ceil(2) * 2;
    let names: Vec<String> = (0..users).map(|i| format!("r{tag}_{i}")).collect();
    let accounts = provision::direct(&db, &names).await?;
    load_old_messages(&db.url, &accounts, p.old).await?;
    let last_old = last_id(&db.url).await?;

    let mut runs = Vec::new();
    let mut old_left = Vec::new();
    let mut sending_left = None;
    let mut idle = None;
    let days = if p.control { CONTROL_DAYS } else { "30" };
    for policy in [None, Some(days)] {
        let envs: Vec<(&str, &str)> = policy
            .map(|days| ("PARLEY_RETENTION_DAYS", days))
            .into_iter()
            .collect();
        let server = launch.start_with(&db, &envs).await?;
        let before = old_count(&db.url).await?;
        let samples = Arc::new(Mutex::new(Vec::new()));
        let sampler = policy.map(|_| {
            tokio::spawn(sample_old_left(
                db.url.clone(),
                last_old,
                Arc::clone(&samples),
            ))
        });
        let run = fanout::run_once(
            &server.target,
            &Placement::one_node(&server.target),
            Some(&db.url),
            &accounts,
            &[],
            0,
            f.rate,
            f.duration,
            f.drain,
        )
        .await;
        let after = old_count(&db.url).await?;
        if let Some(sampler) = sampler {
            sampler.abort();
            let samples = samples.lock().expect("samples").clone();
            if let Ok(run) = &run {
                let sending = run.started..run.started + Duration::from_secs_f64(f.duration);
                sending_left = Some((
                    left_at(&samples, sending.start),
                    left_at(&samples, sending.end),
                ));
            }
            if !p.control {
                idle = Some(wait_for_removal(&db.url, after).await?);
            }
        }
        server.stop().await?;
        runs.push(run?);
        old_left.push((before, after));
    }
    let [baseline, during] = [&runs[0], &runs[1]];
    let ratio = |pick: fn(&Run) -> &hdrhistogram::Histogram<u64>| {
        report::round(
            report::p99_ms(pick(during)) / report::p99_ms(pick(baseline)),
            2,
        )
    };
    let (idle_left, idle_s) = idle.unwrap_or((old_left[1].1, 0.0));
    let idle_per_s = (old_left[1].1 - idle_left) as f64 / idle_s.max(1e-3);
    let (sending_began, sending_ended) = sending_left.unwrap_or_default();
    let under_load_per_s = (sending_began - sending_ended) as f64 / f.duration.max(1e-3);
    println!(
        "  {} old messages; with the policy, {} were left as the server started, {sending_began} as \
         sending began, {sending_ended} as it ended ({under_load_per_s:.0} removed/s under load); \
         then, idle, {idle_left} were left after {idle_s:.1} s ({idle_per_s:.0} removed/s)",
        p.old, old_left[1].0
    );
    report::table(
        "  send -> receiver latency (ms)",
        &report::LATENCY_HEADER,
        &[
            report::latency_row("no policy (baseline)", &baseline.deliver),
            report::latency_row("while retention runs", &during.deliver),
        ],
    );
    report::table(
        "  send -> own echo latency (ms)",
        &report::LATENCY_HEADER,
        &[
            report::latency_row("no policy (baseline)", &baseline.echo),
            report::latency_row("while retention runs", &during.echo),
        ],
    );
    // One slow stretch of the disk can make a run's p99 by itself (it does in runs with no policy
    // at all), so each run is also shown by window, with the median window's p99, which one such
    // stretch does not move.
    let windows = |run: &Run| -> Vec<f64> {
        run.deliver_by_window
            .iter()
            .map(|h| report::round(report::p99_ms(h), 1))
            .collect()
    };
    let median_window = |run: &Run| {
        let mut p99s = windows(run);
        p99s.sort_by(f64::total_cmp);
        p99s.get(p99s.len() / 2).copied().unwrap_or_default()
    };
    let medians = [median_window(baseline), median_window(during)];
    let median_ratio = report::round(medians[1] / medians[0].max(1e-3), 2);
    let shown = |run: &Run, median: f64| {
        let p99s: Vec<String> = windows(run).iter().map(|p| format!("{p:.1}")).collect();
        format!("[{}], median {median:.1}", p99s.join(", "))
    };
    println!(
        "  delivery p99 (ms) by {} s of sending: baseline {}; while retention runs {}",
        fanout::WINDOW.as_secs(),
        shown(baseline, medians[0]),
        shown(during, medians[1])
    );
    println!(
        "  p99 ratio (while / baseline): delivery {}, echo {}; median window's p99: {}",
        ratio(|r| &r.deliver),
        ratio(|r| &r.echo),
        median_ratio
    );
    Ok(Outcome {
        errors: baseline.errors + during.errors,
        json: json!({
            "old_messages": p.old,
            "old_left_at_server_start": old_left[1].0,
            "old_left_as_sending_began": sending_began,
            "old_left_as_sending_ended": sending_ended,
            "removed_per_s_under_load": report::round(under_load_per_s, 0),
            "old_left_after_idle_wait": idle_left,
            "idle_wait_s": report::round(idle_s, 1),
            "removed_per_s_idle": report::round(idle_per_s, 0),
            "baseline": baseline.json,
            "during_retention": during.json,
            "deliver_p99_ms_by_window": { "baseline": windows(baseline), "during_retention": windows(during) },
            "median_window_p99_ratio": median_ratio,
            "p99_ratio_deliver": ratio(|r| &r.deliver),
            "p99_ratio_echo": ratio(|r| &r.echo),
        }),
    })
}

/// `count` old messages between the users' pairs (user 2k and 2k+1), alternating direction.
async fn load_old_messages(url: &str, accounts: &[Account], count: u64) -> Result<()> {
    let db = BenchDb::open(url).await?;
    let pairs = (accounts.len() / 2).max(1) as u64;
    let mut next = 0;
    while next < count {
        let end = (next + LOAD_CHUNK).min(count);
        let rows: Vec<(i64, i64, String, i64)> = (next..end)
            .map(|i| {
                let pair = (i % pairs) as usize * 2;
                let (a, b) = (accounts[pair].id, accounts[pair + 1].id);
                let (sender, receiver) = if i % 2 == 0 { (a, b) } else { (b, a) };
                let text = format!("old message {i}: about the size of a short chat message");
                (sender, receiver, text, OLD_FROM + i as i64)
            })
            .collect();
        db.insert_messages(&rows).await?;
        next = end;
    }
    // Fold the load's write-ahead log into the database now, or the first server after it does
    // it during its run, and the baseline measures that instead.
    if url.starts_with("sqlite:") {
        db.scalar("pragma wal_checkpoint(truncate)", &[]).await?;
    }
    db.close().await;
    Ok(())
}

/// The id of the newest message: right after loading, the last old one.
async fn last_id(url: &str) -> Result<i64> {
    let db = BenchDb::open(url).await?;
    let last = db
        .scalar("select coalesce(max(id), 0) from chat", &[])
        .await;
    db.close().await;
    last
}

/// Until aborted, notes four times a second how many old messages are left. Retention removes
/// them oldest id first and they were loaded with the first ids, so the lowest id left says how
/// many remain without counting a million rows beside the measured server.
async fn sample_old_left(url: String, last_old: i64, samples: Arc<Mutex<Vec<(Instant, i64)>>>) {
    let Ok(db) = BenchDb::open(&url).await else {
        return;
    };
    loop {
        if let Ok(first) = db
            .scalar("select coalesce(min(id), 0) from chat", &[])
            .await
        {
            let left = if first == 0 {
                0
            } else {
                (last_old - first + 1).max(0)
            };
            samples
                .lock()
                .expect("samples")
                .push((Instant::now(), left));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The sample nearest to `at`.
fn left_at(samples: &[(Instant, i64)], at: Instant) -> i64 {
    let distance = |t: Instant| if t > at { t - at } else { at - t };
    samples
        .iter()
        .min_by_key(|(t, _)| distance(*t))
        .map_or(0, |&(_, left)| left)
}

/// Waits until no old message is left (or `IDLE_WAIT` passed); how many were left, and after how
/// many seconds.
async fn wait_for_removal(url: &str, left: i64) -> Result<(i64, f64)> {
    let started = Instant::now();
    let mut left = left;
    while left > 0 && started.elapsed() < IDLE_WAIT {
        tokio::time::sleep(Duration::from_millis(200)).await;
        left = old_count(url).await?;
    }
    Ok((left, started.elapsed().as_secs_f64()))
}

async fn old_count(url: &str) -> Result<i64> {
    let db = BenchDb::open(url).await?;
    let count = db
        .scalar("select count(*) from chat where date < $1", &[OLD_BEFORE])
        .await;
    db.close().await;
    count
}
