//! `fanout` and `fanout-max`: N users, one WebSocket each, paired into conversations (user 2k
//! talks to user 2k+1). A scheduler thread issues R sends per second for T seconds, open loop:
//! send number `s` is due at `start + s/R` and goes out then whether or not earlier sends were
//! answered, and every latency is measured from that due time (so a stalled server cannot hide its
//! stall by slowing the sender: no coordinated omission). Sends rotate over the users.
//!
//! Each send carries a `client_id` made for it (a v4-format UUID holding a per-run random part and
//! the send's number), so every `message` frame is matched to its send: on the receiver's socket it
//! is the delivery, on the sender's own socket the echo. `ack` frames, if the server sends them,
//! are matched the same way. Frames of other types are ignored.

use crate::database::BenchDb;
use crate::provision::{self, Account, Provision};
use crate::report::{self, histogram, record};
use crate::sys;
use crate::target::{Env, Target};
use crate::ws::{self, classify, Incoming, Ws};
use crate::{Ctx, Outcome};
use anyhow::{bail, Result};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct Params {
    /// Active users, one socket each (rounded up to an even number: they come in pairs).
    pub users: usize,
    /// Sends per second, all users together.
    pub rate: f64,
    /// Seconds of sending.
    pub duration: f64,
    /// Extra idle connections held open during the run (their own users, never messaged).
    pub idle: usize,
    /// How long to wait after the last send for outstanding frames.
    pub drain: Duration,
    pub provision: Provision,
}

#[derive(Clone, Debug)]
pub struct FindMax {
    pub start_rate: f64,
    pub growth: f64,
    pub max_steps: usize,
    pub step_duration: f64,
    pub p99_limit_ms: f64,
}

const SHARDS: usize = 32;
const DELIVERED: u8 = 1;
const ECHOED: u8 = 2;
const ACKED: u8 = 4;
const REFUSED: u8 = 8;
const CONFIRMED: u8 = ECHOED | ACKED;

/// Nothing more to wait for: refused, or delivered and echoed to the sender.
fn settled(bits: u8) -> bool {
    bits & REFUSED != 0 || (bits & DELIVERED != 0 && bits & ECHOED != 0)
}

/// Deliveries are also counted by the window of the run their send was due in, so a report can
/// say when the slow ones happened (the start, the end, throughout).
pub const WINDOW: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Shard {
    deliver: Option<Histogram<u64>>,
    /// By `WINDOW` of due time.
    deliver_by_window: Vec<Option<Histogram<u64>>>,
    echo: Option<Histogram<u64>>,
    ack: Option<Histogram<u64>>,
}

fn rec(slot: &mut Option<Histogram<u64>>, latency: Duration) {
    record(slot.get_or_insert_with(histogram), latency);
}

/// State shared by the scheduler, the writers and the readers of one run.
struct Shared {
    start: Instant,
    period_ns: f64,
    nonce: [u8; 16],
    slots: Vec<AtomicU8>,
    shards: Vec<Mutex<Shard>>,
    delivered: AtomicU64,
    confirmed: AtomicU64,
    refused: AtomicU64,
    settled: AtomicU64,
    frames: AtomicU64,
    duplicates: AtomicU64,
    last_frame_ns: AtomicU64,
    stopping: AtomicBool,
    problems: Mutex<BTreeMap<String, u64>>,
}

impl Shared {
    fn client_id(&self, seq: u64) -> Uuid {
        let mut bytes = self.nonce;
        bytes[10..16].copy_from_slice(&seq.to_be_bytes()[2..8]);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    /// The send a `client_id` belongs to, if it is one of this run's.
    fn seq_of(&self, id: &Uuid) -> Option<u64> {
        let mut seq = [0u8; 8];
        seq[2..8].copy_from_slice(&id.as_bytes()[10..16]);
        let seq = u64::from_be_bytes(seq);
        (seq < self.slots.len() as u64 && self.client_id(seq) == *id).then_some(seq)
    }

    fn due(&self, seq: u64) -> Instant {
        self.start + Duration::from_nanos((seq as f64 * self.period_ns) as u64)
    }

    fn problem(&self, what: impl Into<String>) {
        *self
            .problems
            .lock()
            .expect("problems lock")
            .entry(what.into())
            .or_default() += 1;
    }

    /// Sets `bit` on send `seq`; false (and counted) if it was already set.
    fn mark(&self, seq: u64, bit: u8) -> bool {
        let before = self.slots[seq as usize].fetch_or(bit, Relaxed);
        if before & bit != 0 {
            self.duplicates.fetch_add(1, Relaxed);
            return false;
        }
        let after = before | bit;
        if bit == DELIVERED {
            self.delivered.fetch_add(1, Relaxed);
        }
        if bit & CONFIRMED != 0 && before & CONFIRMED == 0 {
            self.confirmed.fetch_add(1, Relaxed);
        }
        if bit == REFUSED {
            self.refused.fetch_add(1, Relaxed);
        }
        if !settled(before) && settled(after) {
            self.settled.fetch_add(1, Relaxed);
        }
        true
    }

    fn on_text(&self, shard: usize, me: i64, text: &str, now: Instant) {
        match classify(text) {
            Err(_) => self.problem("unreadable_frame"),
            Ok(Incoming::Message {
                sender,
                receiver,
                client_id: Some(id),
            }) => {
                let Some(seq) = self.seq_of(&id) else { return };
                let latency = now.saturating_duration_since(self.due(seq));
                self.frames.fetch_add(1, Relaxed);
                let offset = u64::try_from(now.saturating_duration_since(self.start).as_nanos())
                    .unwrap_or(u64::MAX);
                self.last_frame_ns.fetch_max(offset, Relaxed);
                if me == receiver && me != sender {
                    if self.mark(seq, DELIVERED) {
                        let window = (self.due(seq) - self.start).as_secs() / WINDOW.as_secs();
                        let mut shard = self.shards[shard].lock().expect("shard");
                        rec(&mut shard.deliver, latency);
                        let windows = &mut shard.deliver_by_window;
                        if windows.len() <= window as usize {
                            windows.resize(window as usize + 1, None);
                        }
                        rec(&mut windows[window as usize], latency);
                    }
                } else if me == sender && self.mark(seq, ECHOED) {
                    rec(&mut self.shards[shard].lock().expect("shard").echo, latency);
                }
            }
            Ok(Incoming::Ack {
                client_id: Some(id),
            }) => {
                let Some(seq) = self.seq_of(&id) else { return };
                if self.mark(seq, ACKED) {
                    let latency = now.saturating_duration_since(self.due(seq));
                    rec(&mut self.shards[shard].lock().expect("shard").ack, latency);
                }
            }
            Ok(Incoming::Error { code, client_id }) => {
                self.problem(format!("error_frame:{code}"));
                let seq = client_id
                    .and_then(|c| c.parse::<Uuid>().ok())
                    .and_then(|id| self.seq_of(&id));
                if let Some(seq) = seq {
                    self.mark(seq, REFUSED);
                }
            }
            Ok(_) => {}
        }
    }
}

async fn read_socket(shared: Arc<Shared>, index: usize, me: i64, mut stream: SplitStream<Ws>) {
    let shard = index % SHARDS;
    while let Some(item) = stream.next().await {
        let now = Instant::now();
        match item {
            Ok(Message::Text(text)) => shared.on_text(shard, me, &text, now),
            Ok(Message::Close(frame)) => {
                if !shared.stopping.load(Relaxed) {
                    let code = frame.map_or(0, |f| u16::from(f.code));
                    shared.problem(format!("closed_by_server:{code}"));
                }
                return;
            }
            Ok(_) => {}
            Err(err) => {
                if !shared.stopping.load(Relaxed) {
                    shared.problem(format!("socket_error:{err}"));
                }
                return;
            }
        }
    }
    if !shared.stopping.load(Relaxed) {
        shared.problem("socket_ended");
    }
}

/// Writes whatever the scheduler queued, batching what is already waiting into one flush.
async fn write_socket(
    shared: Arc<Shared>,
    mut sink: SplitSink<Ws, Message>,
    mut queue: mpsc::UnboundedReceiver<Message>,
) {
    while let Some(first) = queue.recv().await {
        let mut result = sink.feed(first).await;
        while result.is_ok() {
            match queue.try_recv() {
                Ok(next) => result = sink.feed(next).await,
                Err(_) => break,
            }
        }
        if result.is_ok() {
            result = sink.flush().await;
        }
        if result.is_err() {
            if !shared.stopping.load(Relaxed) {
                shared.problem("write_failed");
            }
            return;
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
}

/// Where a run's sockets go, and who sends.
#[derive(Clone, Debug)]
pub struct Placement {
    /// User `i`'s socket goes to `nodes[i % nodes.len()]`: with two nodes, the first of each
    /// pair is on the first node and the second on the second.
    pub nodes: Vec<SocketAddr>,
    /// Only the first of each pair sends (so with two nodes every delivery crosses from the
    /// first node to the second, and every echo stays on the first); otherwise both do.
    pub one_way: bool,
}

impl Placement {
    pub fn one_node(target: &Target) -> Self {
        Self {
            nodes: vec![target.addr],
            one_way: false,
        }
    }
}

/// The open-loop schedule, on its own OS thread (std's sleep is far finer than tokio's 1 ms timer).
fn schedule(
    shared: &Shared,
    ids: &[i64],
    queues: &[mpsc::UnboundedSender<Message>],
    total: u64,
    one_way: bool,
) -> Histogram<u64> {
    let mut lag = histogram();
    let users = ids.len() as u64;
    for seq in 0..total {
        let due = shared.due(seq);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        record(&mut lag, Instant::now().saturating_duration_since(due));
        let from = if one_way {
            (seq % (users / 2).max(1) * 2) as usize
        } else {
            (seq % users) as usize
        };
        let to = ids[from ^ 1];
        let frame = format!(
            r#"{{"type":"message","to":{to},"message":"bench message {seq}: the quick brown fox jumps over the lazy dog","client_id":"{}"}}"#,
            shared.client_id(seq)
        );
        if queues[from].send(Message::text(frame)).is_err() {
            shared.problem("writer_gone");
        }
    }
    lag
}

/// Everything one run measured.
pub struct Run {
    rate: f64,
    duration: f64,
    sent: u64,
    pub json: Value,
    pub deliver: Histogram<u64>,
    /// `deliver` by `WINDOW` of the run, in order.
    pub deliver_by_window: Vec<Histogram<u64>>,
    pub echo: Histogram<u64>,
    ack: Histogram<u64>,
    lag: Histogram<u64>,
    pub errors: u64,
    /// When the first send was due.
    pub started: Instant,
}

impl Run {
    /// Every send stored and delivered, no errors, and within `limit_ms` at p99 both the delivery
    /// and the sender's confirmation (the `ack` when the server sends them, else the echo).
    fn passes(&self, limit_ms: f64) -> bool {
        let confirmation = if self.ack.is_empty() {
            &self.echo
        } else {
            &self.ack
        };
        self.errors == 0
            && report::p99_ms(&self.deliver) <= limit_ms
            && report::p99_ms(confirmation) <= limit_ms
    }
}

async fn chat_rows(db_url: Option<&str>) -> Option<i64> {
    let db = BenchDb::open(db_url?).await.ok()?;
    let count = db.scalar("select count(*) from chat", &[]).await.ok();
    db.close().await;
    count
}

/// One timed run. `target` is the server whose CPU and memory are read (with several nodes,
/// the first); `placement` says where each socket goes.
#[allow(clippy::too_many_arguments)]
pub async fn run_once(
    target: &Target,
    placement: &Placement,
    db_url: Option<&str>,
    active: &[Account],
    idle: &[Account],
    idle_connections: usize,
    rate: f64,
    duration: f64,
    drain: Duration,
) -> Result<Run> {
    let sockets = ws::connect_spread(&placement.nodes, active.len(), 0, 64, |i| {
        active[i].cookie.clone()
    })
    .await?;
    let idle_sockets =
        ws::connect_spread(&placement.nodes, idle_connections, active.len(), 64, |i| {
            idle[i % idle.len().max(1)].cookie.clone()
        })
        .await?;

    // New connections keep the server busy for a moment (greeting, presence): start sending
    // once it is idle again, so the first second measures messages rather than the ramp.
    sys::wait_until_idle(target.pid, Duration::from_secs(15)).await;

    let total = (rate * duration).round().max(1.0) as u64;
    let shared = Arc::new(Shared {
        start: Instant::now() + Duration::from_millis(300),
        period_ns: 1e9 / rate,
        nonce: *Uuid::new_v4().as_bytes(),
        slots: (0..total).map(|_| AtomicU8::new(0)).collect(),
        shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        delivered: AtomicU64::new(0),
        confirmed: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        settled: AtomicU64::new(0),
        frames: AtomicU64::new(0),
        duplicates: AtomicU64::new(0),
        last_frame_ns: AtomicU64::new(0),
        stopping: AtomicBool::new(false),
        problems: Mutex::new(BTreeMap::new()),
    });

    let mut queues = Vec::with_capacity(sockets.len());
    let mut readers = Vec::with_capacity(sockets.len() + idle_sockets.len());
    let mut writers = Vec::with_capacity(sockets.len());
    for (index, (socket, account)) in sockets.into_iter().zip(active).enumerate() {
        let (sink, stream) = socket.split();
        let (queue, rx) = mpsc::unbounded_channel();
        queues.push(queue);
        readers.push(tokio::spawn(read_socket(
            Arc::clone(&shared),
            index,
            account.id,
            stream,
        )));
        writers.push(tokio::spawn(write_socket(Arc::clone(&shared), sink, rx)));
    }
    for mut socket in idle_sockets {
        let shared = Arc::clone(&shared);
        readers.push(tokio::spawn(async move {
            while let Some(Ok(_)) = socket.next().await {}
            if !shared.stopping.load(Relaxed) {
                shared.problem("idle_connection_closed");
            }
        }));
    }

    let rows_before = chat_rows(db_url).await;
    let pid = target.pid;
    let peak_reset = pid.is_some_and(sys::reset_peak_rss);
    let server_cpu_before = sys::cpu_seconds(pid);
    let own_cpu_before = sys::cpu_seconds(None);
    let wall_start = Instant::now();

    let ids: Vec<i64> = active.iter().map(|a| a.id).collect();
    let one_way = placement.one_way;
    let scheduler = {
        let shared = Arc::clone(&shared);
        // The queues come back so the sockets stay open until the drain is over (a writer whose
        // queue ends closes its socket).
        tokio::task::spawn_blocking(move || {
            (schedule(&shared, &ids, &queues, total, one_way), queues)
        })
    };
    let (lag, queues) = scheduler.await?;
    let sending_done = Instant::now();
    // Wait for every delivery and echo, at most `drain`; or, once every send is delivered and
    // confirmed (echo or ack), for one second without a new frame (a server that does not echo).
    let mut frames_seen = shared.frames.load(Relaxed);
    let mut quiet_since = Instant::now();
    while shared.settled.load(Relaxed) < total && sending_done.elapsed() < drain {
        let frames = shared.frames.load(Relaxed);
        if frames != frames_seen {
            frames_seen = frames;
            quiet_since = Instant::now();
        }
        let refused = shared.refused.load(Relaxed);
        let done = |n: &AtomicU64| n.load(Relaxed) + refused >= total;
        if done(&shared.delivered)
            && done(&shared.confirmed)
            && quiet_since.elapsed() > Duration::from_secs(1)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shared.stopping.store(true, Relaxed);
    let wall = wall_start.elapsed().as_secs_f64();
    let server_cpu = server_cpu_before
        .zip(sys::cpu_seconds(pid))
        .map(|(a, b)| b - a);
    let own_cpu = own_cpu_before
        .zip(sys::cpu_seconds(None))
        .map(|(a, b)| b - a);
    let server_peak = pid.and_then(|p| sys::peak_rss_kib(Some(p)));
    let server_rss = pid.and_then(|p| sys::rss_kib(Some(p)));

    // Close: writers send a close frame once their queue ends; readers are then stopped.
    drop(queues);
    for writer in writers {
        let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    }
    for reader in &readers {
        reader.abort();
    }
    let rows_after = chat_rows(db_url).await;

    let mut deliver = histogram();
    let mut echo = histogram();
    let mut ack = histogram();
    let mut deliver_by_window = Vec::new();
    for shard in &shared.shards {
        let shard = shard.lock().expect("shard");
        for (i, from) in shard.deliver_by_window.iter().enumerate() {
            if deliver_by_window.len() <= i {
                deliver_by_window.resize_with(i + 1, histogram);
            }
            if let Some(from) = from {
                deliver_by_window[i].add(from).expect("same bounds");
            }
        }
        for (into, from) in [
            (&mut deliver, &shard.deliver),
            (&mut echo, &shard.echo),
            (&mut ack, &shard.ack),
        ] {
            if let Some(from) = from {
                into.add(from).expect("same bounds");
            }
        }
    }

    let delivered = shared.delivered.load(Relaxed);
    let confirmed = shared.confirmed.load(Relaxed);
    let refused = shared.refused.load(Relaxed);
    let duplicates = shared.duplicates.load(Relaxed);
    // A refused send (error frame) is stored nowhere and delivered to no one.
    let expected = total.saturating_sub(refused);
    let undelivered = expected.saturating_sub(delivered);
    let unconfirmed = expected.saturating_sub(confirmed);
    // Not an error by itself when an ack confirmed the send; reported so a change shows.
    let echo_missing = expected.saturating_sub(echo.len());
    let problems = shared.problems.lock().expect("problems").clone();
    let errors = problems.values().sum::<u64>() + undelivered + unconfirmed + duplicates;
    let last_frame = shared.last_frame_ns.load(Relaxed) as f64 / 1e9;
    let window = duration.max(last_frame);
    let per_s = |n: u64| report::round(n as f64 / window, 1);

    let json = json!({
        "users": active.len(),
        "idle_connections": idle_connections,
        "rate_target": rate,
        "duration_s": duration,
        "sent": total,
        "persisted": confirmed,
        "persisted_per_s": per_s(confirmed),
        "delivered": delivered,
        "deliveries_per_s": per_s(delivered),
        "message_frames_per_s": per_s(shared.frames.load(Relaxed)),
        "db_rows_added": rows_before.zip(rows_after).map(|(a, b)| b - a),
        "window_s": report::round(window, 3),
        "undelivered": undelivered,
        "unconfirmed": unconfirmed,
        "echo_missing": echo_missing,
        "refused": refused,
        "duplicates": duplicates,
        "problems": problems,
        "errors": errors,
        "deliver_ms": report::summary(&deliver),
        "echo_ms": report::summary(&echo),
        "ack_ms": report::summary(&ack),
        "scheduler_lag_ms": report::summary(&lag),
        "server_cpu_s": report::opt(server_cpu, 3),
        "server_cpu_cores": report::opt(server_cpu.map(|c| c / wall), 3),
        "server_cpu_us_per_msg": report::opt(server_cpu.map(|c| c * 1e6 / confirmed.max(1) as f64), 1),
        "server_peak_rss_mib": report::mib(server_peak),
        "server_peak_is_this_run": peak_reset,
        "server_rss_mib": report::mib(server_rss),
        "loadgen_cpu_s": report::opt(own_cpu, 3),
        "loadgen_cpu_cores": report::opt(own_cpu.map(|c| c / wall), 3),
    });
    Ok(Run {
        rate,
        duration,
        sent: total,
        json,
        deliver,
        deliver_by_window,
        echo,
        ack,
        lag,
        errors,
        started: shared.start,
    })
}

/// Accounts for a run: `users` active ones (paired) and enough idle ones for `idle` sockets
/// (a hundred sockets per idle user). Local databases get them before the server starts.
async fn prepare(env: &mut Env, p: &Params) -> Result<(Target, Vec<Account>, Vec<Account>)> {
    let tag = provision::run_tag();
    let users = p.users.max(2).div_ceil(2) * 2;
    let idle_users = p.idle.div_ceil(100);
    let names: Vec<String> = (0..users)
        .map(|i| format!("f{tag}_{i}"))
        .chain((0..idle_users).map(|i| format!("f{tag}_idle{i}")))
        .collect();
    let accounts = match (p.provision, env.db()) {
        (Provision::Direct, Some(db)) => {
            let accounts = provision::direct(db, &names).await?;
            env.start().await?;
            accounts
        }
        _ => {
            let target = env.start().await?;
            provision::sign_up(&target, &names).await?
        }
    };
    let target = env.start().await?;
    let (active, idle) = accounts.split_at(users);
    Ok((target, active.to_vec(), idle.to_vec()))
}

pub fn print_run(title: &str, run: &Run) {
    let j = &run.json;
    report::facts(
        title,
        &[
            (
                "users / idle connections",
                format!("{} / {}", j["users"], j["idle_connections"]),
            ),
            (
                "offered rate (msgs/s) x seconds",
                format!("{} x {}", run.rate, run.duration),
            ),
            ("sent", run.sent.to_string()),
            (
                "persisted (echo or ack seen)",
                report::show(&j["persisted"]),
            ),
            ("persisted msgs/s", report::show(&j["persisted_per_s"])),
            (
                "deliveries/s (receiver frames)",
                report::show(&j["deliveries_per_s"]),
            ),
            (
                "chat rows added (database)",
                report::show(&j["db_rows_added"]),
            ),
            (
                "undelivered / unconfirmed / echo missing",
                format!(
                    "{} / {} / {}",
                    j["undelivered"], j["unconfirmed"], j["echo_missing"]
                ),
            ),
            ("errors", format!("{} {}", j["errors"], j["problems"])),
            (
                "server CPU s (cores)",
                format!(
                    "{} ({})",
                    report::show(&j["server_cpu_s"]),
                    report::show(&j["server_cpu_cores"])
                ),
            ),
            (
                "server CPU us per message",
                report::show(&j["server_cpu_us_per_msg"]),
            ),
            (
                "server peak RSS MiB",
                report::show(&j["server_peak_rss_mib"]),
            ),
            (
                "loadgen CPU s (cores)",
                format!(
                    "{} ({})",
                    report::show(&j["loadgen_cpu_s"]),
                    report::show(&j["loadgen_cpu_cores"])
                ),
            ),
        ],
    );
    let mut rows = vec![
        report::latency_row("send -> receiver", &run.deliver),
        report::latency_row("send -> own echo", &run.echo),
    ];
    if !run.ack.is_empty() {
        rows.push(report::latency_row("send -> ack", &run.ack));
    }
    rows.push(report::latency_row("scheduler lateness", &run.lag));
    report::table("  latency", &report::LATENCY_HEADER, &rows);
}

pub async fn fanout(ctx: &Ctx, p: &Params) -> Result<Outcome> {
    if !(p.rate > 0.0 && p.duration > 0.0) {
        bail!("--rate and --duration must be above 0");
    }
    let mut env = Env::new(ctx).await?;
    let (target, active, idle) = prepare(&mut env, p).await?;
    let db_url = env.db_url();
    let run = run_once(
        &target,
        &Placement::one_node(&target),
        db_url.as_deref(),
        &active,
        &idle,
        p.idle,
        p.rate,
        p.duration,
        p.drain,
    )
    .await;
    env.stop().await?;
    let run = run?;
    print_run("fanout", &run);
    let mut json = run.json.clone();
    json["provision"] = json!(format!("{:?}", p.provision).to_lowercase());
    Ok(Outcome {
        errors: run.errors,
        json,
    })
}

pub async fn find_max(ctx: &Ctx, p: &Params, f: &FindMax) -> Result<Outcome> {
    if !(f.growth > 1.0 && f.start_rate > 0.0 && f.step_duration > 0.0) {
        bail!("--max-growth must be above 1, --max-start-rate and --step-duration above 0");
    }
    let mut env = Env::new(ctx).await?;
    let (target, active, idle) = prepare(&mut env, p).await?;
    let db_url = env.db_url();
    let mut steps = Vec::new();
    let mut rows = Vec::new();
    let mut best: Option<(f64, Value)> = None;
    let mut lowest_failed: Option<f64> = None;
    // Errors of the first (lowest, sanity) step: lost or refused messages, dropped sockets. Slowness
    // is never an error, and overload at higher steps is what this scenario looks for.
    let mut first_step_errors = 0;
    let mut rate = f.start_rate;
    for step in 0..f.max_steps {
        let outcome = run_once(
            &target,
            &Placement::one_node(&target),
            db_url.as_deref(),
            &active,
            &idle,
            p.idle,
            rate,
            f.step_duration,
            p.drain,
        )
        .await;
        let (pass, mut json, row) = match outcome {
            Ok(run) => {
                if step == 0 {
                    first_step_errors = run.errors;
                }
                let pass = run.passes(f.p99_limit_ms);
                let ms = |h: &Histogram<u64>| format!("{:.2}", report::p99_ms(h));
                let row = vec![
                    format!("{rate}"),
                    report::show(&run.json["persisted_per_s"]),
                    ms(&run.deliver),
                    ms(&run.echo),
                    format!("{:.2}", run.deliver.max() as f64 / 1000.0),
                    run.errors.to_string(),
                    report::show(&run.json["server_cpu_cores"]),
                    report::show(&run.json["loadgen_cpu_cores"]),
                    if pass { "pass" } else { "FAIL" }.into(),
                ];
                (pass, run.json, row)
            }
            Err(err) => {
                if step == 0 {
                    first_step_errors = 1;
                }
                let row = vec![format!("{rate}"), format!("run failed: {err:#}")];
                (
                    false,
                    json!({"rate_target": rate, "failure": format!("{err:#}")}),
                    row,
                )
            }
        };
        json["pass"] = json!(pass);
        eprintln!(
            "loadgen: fanout-max step {} at {rate} msgs/s: {}",
            step + 1,
            if pass { "pass" } else { "fail" }
        );
        rows.push(row);
        steps.push(json.clone());
        if pass {
            if best.as_ref().is_none_or(|(r, _)| rate > *r) {
                best = Some((rate, json));
            }
        } else {
            lowest_failed = Some(lowest_failed.map_or(rate, |l: f64| l.min(rate)));
        }
        // Let the server work off any backlog before the next step.
        sys::wait_until_idle(target.pid, Duration::from_secs(20)).await;
        rate = match (best.as_ref().map(|(r, _)| *r), lowest_failed) {
            (_, None) => rate * f.growth,
            (Some(ok), Some(bad)) if bad / ok < 1.1 => break,
            (Some(ok), Some(bad)) => (ok + bad) / 2.0,
            (None, Some(bad)) if bad < 20.0 => break,
            (None, Some(bad)) => bad / 2.0,
        }
        .round();
    }
    env.stop().await?;
    report::table(
        &format!(
            "fanout-max: highest rate with p99 <= {} ms, every message stored and delivered",
            f.p99_limit_ms
        ),
        &[
            "rate",
            "persisted/s",
            "p99 deliver",
            "p99 echo",
            "max deliver",
            "errors",
            "server cores",
            "loadgen cores",
            "",
        ],
        &rows,
    );
    let max_rate = best.as_ref().map(|(r, _)| *r);
    println!(
        "  highest passing rate: {}",
        max_rate.map_or("none".into(), |r| format!("{r} msgs/s"))
    );
    Ok(Outcome {
        errors: first_step_errors,
        json: json!({
            "users": active.len(),
            "idle_connections": p.idle,
            "p99_limit_ms": f.p99_limit_ms,
            "step_duration_s": f.step_duration,
            "max_rate": max_rate,
            "lowest_failing_rate": lowest_failed,
            "at_max": best.map(|(_, j)| j),
            "steps": steps,
        }),
    })
}
