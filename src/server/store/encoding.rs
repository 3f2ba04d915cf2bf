//! How both backends write values into SQL and read them back: dates as milliseconds since the
//! Unix epoch (UTC), and LIKE patterns with their wildcards escaped.

use anyhow::Context;
use chrono::{DateTime, TimeZone, Utc};

/// A stored date (milliseconds since the epoch) as a date.
pub(super) fn from_millis(ms: i64) -> anyhow::Result<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .with_context(|| format!("date out of range: {ms}"))
}

/// Escapes LIKE's wildcards (and the escape character itself, `\`), so a search for "a_b" means
/// exactly that. Every LIKE that takes user text says `escape '\'`.
pub(super) fn escape_like(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
