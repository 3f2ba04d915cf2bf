//! Latency histograms (HDR, microseconds), the printed tables and the one JSON line per scenario.

use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// Latencies up to an hour, three significant digits, in microseconds.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant histogram bounds are valid")
}

pub fn record(h: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    h.saturating_record(micros.max(1));
}

/// Microseconds as milliseconds (exact to the microsecond).
fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// `{count, mean_ms, p50_ms, p95_ms, p99_ms, p999_ms, max_ms}`.
pub fn summary(h: &Histogram<u64>) -> Value {
    if h.is_empty() {
        return json!({"count": 0});
    }
    json!({
        "count": h.len(),
        "mean_ms": round(h.mean() / 1000.0, 3),
        "p50_ms": ms(h.value_at_quantile(0.50)),
        "p95_ms": ms(h.value_at_quantile(0.95)),
        "p99_ms": ms(h.value_at_quantile(0.99)),
        "p999_ms": ms(h.value_at_quantile(0.999)),
        "max_ms": ms(h.max()),
    })
}

/// p99 in milliseconds, or infinity for an empty histogram (nothing arrived).
pub fn p99_ms(h: &Histogram<u64>) -> f64 {
    if h.is_empty() {
        f64::INFINITY
    } else {
        h.value_at_quantile(0.99) as f64 / 1000.0
    }
}

/// One row of a latency table: count, p50, p95, p99, p99.9, max.
pub fn latency_row(name: &str, h: &Histogram<u64>) -> Vec<String> {
    if h.is_empty() {
        return vec![name.to_owned(), "0".into()];
    }
    let q = |q: f64| format!("{:.3}", h.value_at_quantile(q) as f64 / 1000.0);
    vec![
        name.to_owned(),
        h.len().to_string(),
        q(0.50),
        q(0.95),
        q(0.99),
        q(0.999),
        format!("{:.3}", h.max() as f64 / 1000.0),
    ]
}

pub const LATENCY_HEADER: [&str; 7] =
    ["latency (ms)", "count", "p50", "p95", "p99", "p99.9", "max"];

/// Prints a plain-text table with aligned columns.
pub fn table(title: &str, header: &[&str], rows: &[Vec<String>]) {
    let columns = header
        .len()
        .max(rows.iter().map(Vec::len).max().unwrap_or(0));
    let mut widths = vec![0; columns];
    for (i, h) in header.iter().enumerate() {
        widths[i] = widths[i].max(h.len());
    }
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i == 0 {
                out.push_str(&format!("{cell:<w$}", w = widths[i]));
            } else {
                out.push_str(&format!("  {cell:>w$}", w = widths[i]));
            }
        }
        println!("  {}", out.trim_end());
    };
    println!("\n{title}");
    if header.iter().all(|h| h.is_empty()) {
        for row in rows {
            line(row.iter().map(String::as_str).collect());
        }
        return;
    }
    line(header.to_vec());
    line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    );
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// Two-column key/value table.
pub fn facts(title: &str, rows: &[(&str, String)]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(k, v)| vec![(*k).to_owned(), v.clone()])
        .collect();
    table(title, &["", ""], &rows);
}

/// Prints the scenario's JSON line and appends it to `out` when given.
pub fn emit(line: &Value, out: Option<&Path>) {
    let text = line.to_string();
    println!("{text}");
    if let Some(path) = out {
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| writeln!(f, "{text}"));
        if let Err(err) = written {
            eprintln!("loadgen: could not append to {}: {err}", path.display());
        }
    }
}

pub fn mib(kib: Option<u64>) -> Value {
    kib.map_or(Value::Null, |k| {
        json!((k as f64 / 1024.0 * 10.0).round() / 10.0)
    })
}

pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

pub fn opt(x: Option<f64>, digits: i32) -> Value {
    x.filter(|x| x.is_finite())
        .map_or(Value::Null, |x| json!(round(x, digits)))
}

pub fn show(x: &Value) -> String {
    match x {
        Value::Null => "n/a".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An error with its causes ("error sending request: connection closed before message completed").
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
