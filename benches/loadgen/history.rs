//! `history`: M messages bulk-loaded straight into a stopped server's database (transactions of
//! 100,000), then the history and inbox queries timed through the HTTP API, one request at a
//! time (latency, not throughput).
//!
//! Shape of the data: one big conversation between the first two users holds a tenth of all
//! messages; the rest are spread at random over every user's conversations with the next five
//! users (so each user has about ten conversations). Dates are one second apart, in insert order.

use crate::database::BenchDb;
use crate::provision::{self, Account};
use crate::report::{self, histogram, record};
use crate::target::Env;
use crate::{Ctx, Outcome};
use anyhow::Result;
use reqwest::header::COOKIE;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Params {
    pub messages: usize,
    /// Timed requests per query (after a short warm-up).
    pub requests: usize,
}

/// A tiny deterministic generator (xorshift64*): the data set is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "hello", "parcel", "tomorrow", "meeting", "coffee", "train", "late", "thanks", "call",
    "tonight", "office", "weekend", "photo", "dinner", "ticket", "code", "review", "later", "sure",
    "okay", "see", "you", "the", "a", "at", "on", "in", "and", "but", "maybe", "great", "idea",
    "lunch", "station", "arrived", "left", "keys", "door", "garden", "rain", "sunny", "book",
    "film", "music", "friday", "monday", "address", "number", "morning", "evening",
];

fn sentence(rng: &mut Rng) -> String {
    let words = 4 + rng.below(12);
    (0..words)
        .map(|_| WORDS[rng.below(WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

const ROWS_PER_TRANSACTION: usize = 100_000;

/// Loads `messages` rows; returns how many went to the big conversation.
async fn load(db: &BenchDb, ids: &[i64], messages: usize) -> Result<usize> {
    let users = ids.len();
    let first_ms = chrono::Utc::now().timestamp_millis() - messages as i64 * 1000;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut focus = 0;
    let mut rows = Vec::with_capacity(ROWS_PER_TRANSACTION.min(messages));
    for k in 0..messages {
        let (a, b) = if k % 10 == 0 {
            focus += 1;
            (ids[0], ids[1])
        } else {
            let u = rng.below(users);
            (ids[u], ids[(u + 1 + rng.below(5)) % users])
        };
        let (sender, receiver) = if rng.below(2) == 0 { (a, b) } else { (b, a) };
        rows.push((
            sender,
            receiver,
            sentence(&mut rng),
            first_ms + k as i64 * 1000,
        ));
        if rows.len() == ROWS_PER_TRANSACTION || k + 1 == messages {
            db.insert_messages(&rows).await?;
            rows.clear();
        }
    }
    Ok(focus)
}

/// The id `depth` (0..1) of the way back from the newest message of the pair.
async fn anchor(db: &BenchDb, a: i64, b: i64, depth: f64) -> Result<(i64, i64)> {
    let pair = [a.min(b), a.max(b)];
    let count = db
        .scalar(
            "select count(*) from chat where pair_lo = $1 and pair_hi = $2",
            &pair,
        )
        .await?;
    let offset = ((count as f64) * (1.0 - depth)).floor() as i64;
    let id = db
        .scalar(
            "select id from chat where pair_lo = $1 and pair_hi = $2 order by date, id limit 1 offset $3",
            &[pair[0], pair[1], offset.clamp(0, (count - 1).max(0))],
        )
        .await?;
    Ok((id, count))
}

struct Query {
    name: &'static str,
    who: Account,
    path: String,
    /// The JSON array whose length is reported (`messages` or `conversations`).
    list: &'static str,
}

pub async fn history(ctx: &Ctx, p: &Params) -> Result<Outcome> {
    let mut env = Env::new(ctx).await?;
    let Some(db) = env.db() else {
        println!("\nhistory: skipped (it pre-loads the database file, so it needs a server this tool starts, not --url)");
        return Ok(Outcome {
            errors: 0,
            json: json!({"skipped": "needs a local server (not --url)"}),
        });
    };
    let users = (p.messages / 500).clamp(10, 5000);
    let tag = provision::run_tag();
    let names: Vec<String> = (0..users).map(|i| format!("h{tag}_{i}")).collect();
    let bench_db = BenchDb::open(&db.url).await?;
    let hash = provision::password_hash().await?;
    let ids = bench_db.insert_users(&names, &hash).await?;
    let load_start = Instant::now();
    let focus_rows = load(&bench_db, &ids, p.messages).await?;
    let load_s = load_start.elapsed().as_secs_f64();
    let typical = users / 2;
    let (deep_id, focus_count) = anchor(&bench_db, ids[0], ids[1], 0.95).await?;
    let typical_count = anchor(&bench_db, ids[typical], ids[typical + 1], 0.0)
        .await?
        .1;
    let db_bytes = bench_db.size_bytes(&db.url).await?;
    bench_db.close().await;

    let target = env.start().await?;
    let big = provision::log_in(&target, &names[0]).await?;
    let small = provision::log_in(&target, &names[typical]).await?;
    let queries = [
        Query {
            name: "latest page, big conversation",
            who: big.clone(),
            path: format!("/api/conversations/{}/messages?limit=50", ids[1]),
            list: "messages",
        },
        Query {
            name: "deep page (95% back), big conversation",
            who: big.clone(),
            path: format!(
                "/api/conversations/{}/messages?before={deep_id}&limit=50",
                ids[1]
            ),
            list: "messages",
        },
        Query {
            name: "latest page, typical conversation",
            who: small.clone(),
            path: format!("/api/conversations/{}/messages?limit=50", ids[typical + 1]),
            list: "messages",
        },
        Query {
            name: "inbox, user in the big conversation",
            who: big,
            path: "/api/conversations".into(),
            list: "conversations",
        },
        Query {
            name: "inbox, typical user",
            who: small,
            path: "/api/conversations".into(),
            list: "conversations",
        },
    ];

    let http = provision::http_client()?;
    let mut rows = Vec::new();
    let mut results = Vec::new();
    let mut errors = 0u64;
    for q in &queries {
        let warmup = p.requests.min(20);
        let mut h = histogram();
        let mut items = 0usize;
        let mut bytes = 0usize;
        let mut failed = 0u64;
        let mut first_error = None;
        let deadline = Instant::now() + Duration::from_secs(120);
        for i in 0..warmup + p.requests {
            if Instant::now() > deadline {
                break;
            }
            let started = Instant::now();
            let res = http
                .get(target.url(&q.path))
                .header(COOKIE, &q.who.cookie)
                .send()
                .await;
            let outcome = match res {
                Ok(res) if res.status().is_success() => {
                    res.bytes().await.map_err(|e| e.to_string())
                }
                Ok(res) => Err(format!("HTTP {}", res.status())),
                Err(e) => Err(e.to_string()),
            };
            let took = started.elapsed();
            match outcome {
                Ok(body) => {
                    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    match value[q.list].as_array() {
                        Some(list) if !list.is_empty() => {
                            items = list.len();
                            bytes = body.len();
                            if i >= warmup {
                                record(&mut h, took);
                            }
                        }
                        _ => {
                            failed += 1;
                            first_error
                                .get_or_insert_with(|| format!("no {} in the answer", q.list));
                        }
                    }
                }
                Err(e) => {
                    failed += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        errors += failed;
        let mut row = report::latency_row(q.name, &h);
        row.push(items.to_string());
        row.push(bytes.to_string());
        rows.push(row);
        results.push(json!({
            "query": q.name,
            "path": q.path,
            "latency_ms": report::summary(&h),
            "items": items,
            "bytes": bytes,
            "errors": failed,
            "first_error": first_error,
        }));
    }
    env.stop().await?;

    report::facts(
        "history",
        &[
            ("messages stored", p.messages.to_string()),
            ("users", users.to_string()),
            ("big conversation messages", focus_count.to_string()),
            ("typical conversation messages", typical_count.to_string()),
            (
                "bulk load s (rows/s)",
                format!("{load_s:.1} ({:.0})", p.messages as f64 / load_s.max(1e-9)),
            ),
            (
                "database MiB",
                format!("{:.1}", db_bytes as f64 / 1048576.0),
            ),
        ],
    );
    let mut header = report::LATENCY_HEADER.to_vec();
    header.extend(["items", "bytes"]);
    report::table("  sequential requests (one in flight)", &header, &rows);
    Ok(Outcome {
        errors,
        json: json!({
            "messages": p.messages,
            "users": users,
            "big_conversation_messages": focus_count,
            "big_conversation_rows_loaded": focus_rows,
            "typical_conversation_messages": typical_count,
            "load_s": report::round(load_s, 2),
            "load_rows_per_s": report::round(p.messages as f64 / load_s.max(1e-9), 0),
            "db_mib": report::round(db_bytes as f64 / 1048576.0, 1),
            "requests_per_query": p.requests,
            "queries": results,
            "errors": errors,
        }),
    })
}
