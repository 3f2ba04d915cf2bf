//! `GET /metrics`: what this node is doing, in Prometheus's text format, served only on its own
//! address (`PARLEY_METRICS_ADDR`, off by default) so the public port never shows it.
//!
//! Counts that have an owner are read from it when scraped: open sockets and their queues from the
//! hub, the writer's queue from the store, refusals from the limits, the broker from the cluster
//! link. What has no owner of its own is counted here, in `Metrics`, one atomic add each, so
//! counting never takes a lock on the paths that deliver messages.

use super::realtime::hub::Eviction;
use super::state::AppState;
use crate::domain::{Change, StreamEntry};
use anyhow::Context;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// A number that only goes up.
#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn increment(&self) {
        self.add(1);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Observations counted into fixed buckets (upper bounds, ascending), with their sum.
pub struct Histogram {
    bounds: &'static [f64],
    /// One per bound, then one for everything above the last.
    buckets: Box<[AtomicU64]>,
    /// The sum of every observation, as `f64` bits.
    sum: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }

    pub fn observe(&self, value: f64) {
        let bucket = self.bounds.partition_point(|bound| *bound < value);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        // The sum is a hint for averages; a lost race between two adds would only blur it, but
        // the loop keeps it exact anyway.
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
    }

    /// The count of observations at or below each bound, then the total count.
    fn cumulative(&self) -> Vec<u64> {
        let mut total = 0;
        self.buckets
            .iter()
            .map(|bucket| {
                total += bucket.load(Ordering::Relaxed);
                total
            })
            .collect()
    }
}

/// From half a millisecond (a frame written straight after its commit) to five seconds (a node
/// that read it from the database after a long broker outage).
const DELIVERY_SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// Messages per commit, up to the writers' largest batch.
const BATCH_SIZES: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0];

/// This node's counts that belong to no other part.
pub struct Metrics {
    pub messages_stored: Counter,
    pub batch_sizes: Histogram,
    /// Frames written to sockets: messages, events, acks, replies and greetings.
    pub frames_delivered: Counter,
    /// From a message's commit to its write on a socket (see `delivered`).
    pub delivery_seconds: Histogram,
    /// Messages delivered from the database because the broker had not brought them in time
    /// (several nodes only).
    pub gap_fills: Counter,
    evicted_slow: Counter,
    evicted_disabled: Counter,
    evicted_logged_out: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            messages_stored: Counter::default(),
            batch_sizes: Histogram::new(BATCH_SIZES),
            frames_delivered: Counter::default(),
            delivery_seconds: Histogram::new(DELIVERY_SECONDS),
            gap_fills: Counter::default(),
            evicted_slow: Counter::default(),
            evicted_disabled: Counter::default(),
            evicted_logged_out: Counter::default(),
        }
    }
}

impl Metrics {
    /// One batch committed by this node's writer: new messages, and edits and deletions.
    pub fn committed(&self, entries: &[StreamEntry]) {
        let sent = entries.iter().filter(|e| e.change == Change::Sent).count();
        self.messages_stored.add(sent as u64);
        self.batch_sizes.observe(entries.len() as f64);
    }

    /// A frame was written to a socket; `committed` is when its message was committed, if it is
    /// one. A clock that stepped back between the two leaves the latency out.
    pub fn delivered(&self, committed: Option<SystemTime>) {
        self.frames_delivered.increment();
        if let Some(latency) = committed.and_then(|at| SystemTime::now().duration_since(at).ok()) {
            self.delivery_seconds.observe(latency.as_secs_f64());
        }
    }

    pub fn evicted(&self, why: Eviction) {
        match why {
            Eviction::SlowConsumer => &self.evicted_slow,
            Eviction::AccountDisabled => &self.evicted_disabled,
            Eviction::LoggedOut => &self.evicted_logged_out,
        }
        .increment();
    }
}

/// The metrics listener, when `PARLEY_METRICS_ADDR` is set: binds it and serves `GET /metrics`
/// there until the process ends. Returns the address it bound.
pub async fn serve(state: AppState, addr: SocketAddr) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listen for metrics on {addr}"))?;
    let bound = listener.local_addr()?;
    let router = Router::new()
        .route("/metrics", get(scrape))
        .with_state(state);
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            tracing::error!(error = %err, "the metrics listener stopped");
        }
    });
    Ok(bound)
}

async fn scrape(axum::extract::State(state): axum::extract::State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        render(&state),
    )
}

/// Everything this node counts, in the text exposition format.
pub fn render(state: &AppState) -> String {
    let mut out = Exposition::default();
    let metrics = &state.metrics;
    let queues = state.hub.queued_frames();
    out.gauge(
        "parley_sockets_open",
        "WebSockets open on this node.",
        queues.connections,
    );
    out.counter(
        "parley_messages_stored_total",
        "Chat messages this node's writer committed.",
        metrics.messages_stored.get(),
    );
    out.histogram(
        "parley_writer_batch_size",
        "Messages per commit of this node's writer.",
        &metrics.batch_sizes,
    );
    out.counter(
        "parley_frames_delivered_total",
        "Frames written to this node's WebSockets.",
        metrics.frames_delivered.get(),
    );
    out.histogram(
        "parley_delivery_seconds",
        "From a chat message's commit to its write on a socket of this node.",
        &metrics.delivery_seconds,
    );
    out.gauge(
        "parley_socket_queue_frames",
        "Frames waiting in the outgoing queues of this node's sockets, all together.",
        queues.total,
    );
    out.gauge(
        "parley_socket_queue_frames_max",
        "Frames waiting in the fullest outgoing queue of a socket of this node.",
        queues.fullest,
    );
    out.gauge(
        "parley_writer_queue_messages",
        "Messages waiting for this node's writer.",
        state.store.writer_queue_len(),
    );
    out.labelled_counter(
        "parley_evictions_total",
        "Sockets this node closed from the server's side, by reason.",
        "reason",
        &[
            ("slow_consumer", metrics.evicted_slow.get()),
            ("account_disabled", metrics.evicted_disabled.get()),
            ("logged_out", metrics.evicted_logged_out.get()),
        ],
    );
    out.counter(
        "parley_gap_fills_total",
        "Messages delivered from the database because the broker had not brought them in time \
         (several nodes).",
        metrics.gap_fills.get(),
    );
    if let Some(cluster) = &state.cluster {
        out.gauge(
            "parley_broker_connected",
            "1 while this node is connected to the broker, else 0.",
            u64::from(cluster.is_connected()),
        );
        out.gauge(
            "parley_broker_queue_publications",
            "Publications waiting to be sent to the broker.",
            cluster.queued_publications(),
        );
    }
    let limits = &state.limits;
    out.counter(
        "parley_login_failures_total",
        "Logins refused for a wrong username or password.",
        limits.login_failures.get(),
    );
    out.labelled_counter(
        "parley_rate_limited_total",
        "Requests refused by an abuse limit (429), by limit.",
        "limit",
        &[
            ("login", limits.refused.login.get()),
            ("signup", limits.refused.signup.get()),
            ("send", limits.refused.send.get()),
            ("sockets", limits.refused.sockets.get()),
        ],
    );
    out.text
}

/// Text in Prometheus's exposition format, one family at a time.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn family(&mut self, name: &str, help: &str, kind: &str) {
        // Writing to a String cannot fail.
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn gauge(&mut self, name: &str, help: &str, value: impl Into<u64>) {
        self.family(name, help, "gauge");
        let _ = writeln!(self.text, "{name} {}", value.into());
    }

    fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, help, "counter");
        let _ = writeln!(self.text, "{name} {value}");
    }

    fn labelled_counter(&mut self, name: &str, help: &str, label: &str, values: &[(&str, u64)]) {
        self.family(name, help, "counter");
        for (key, value) in values {
            let _ = writeln!(self.text, "{name}{{{label}=\"{key}\"}} {value}");
        }
    }

    fn histogram(&mut self, name: &str, help: &str, histogram: &Histogram) {
        self.family(name, help, "histogram");
        let cumulative = histogram.cumulative();
        for (bound, count) in histogram.bounds.iter().zip(&cumulative) {
            let _ = writeln!(self.text, "{name}_bucket{{le=\"{bound}\"}} {count}");
        }
        let total = cumulative.last().copied().unwrap_or(0);
        let sum = f64::from_bits(histogram.sum.load(Ordering::Relaxed));
        let _ = writeln!(
            self.text,
            "{name}_bucket{{le=\"+Inf\"}} {total}\n{name}_sum {sum}\n{name}_count {total}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_histogram_counts_each_observation_in_the_first_bucket_that_holds_it() {
        let histogram = Histogram::new(&[1.0, 5.0]);
        for value in [0.5, 1.0, 3.0, 9.0] {
            histogram.observe(value);
        }
        // At or below 1, at or below 5, everything.
        assert_eq!(histogram.cumulative(), vec![2, 3, 4]);
        let mut out = Exposition::default();
        out.histogram("h", "Test.", &histogram);
        assert_eq!(
            out.text,
            "# HELP h Test.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"5\"} 3\n\
             h_bucket{le=\"+Inf\"} 4\nh_sum 13.5\nh_count 4\n"
        );
    }

    #[test]
    fn a_delivery_is_counted_with_its_latency_only_when_it_is_a_committed_message() {
        let metrics = Metrics::default();
        metrics.delivered(None);
        metrics.delivered(Some(SystemTime::now() - Duration::from_millis(3)));
        assert_eq!(metrics.frames_delivered.get(), 2);
        let cumulative = metrics.delivery_seconds.cumulative();
        assert_eq!(cumulative.last(), Some(&1));
        // 3 ms is above the 2.5 ms bound and within the 5 ms one.
        let at =
            |bound: f64| cumulative[DELIVERY_SECONDS.iter().position(|b| *b == bound).unwrap()];
        assert_eq!((at(0.0025), at(0.005)), (0, 1));
    }
}
