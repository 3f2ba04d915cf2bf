//! Password hashing under a flood, against the real binary (its memory is what is measured):
//! 1,500 login requests that hang up after 50–200 ms raise the server's resident memory by at
//! most (cores × 19 MiB + 32 MiB) at peak, a real login right after the flood succeeds within
//! 2 s, and after 1,000 sequential logins resident memory is within 64 MiB of idle.

use crate::helpers::{fresh_database_url, spawn_binary, TestApp, PASSWORD};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

const MIB: u64 = 1024 * 1024;

/// A line of `/proc/<pid>/status` in bytes (`VmRSS`: resident now, `VmHWM`: the peak so far).
fn memory(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    kib * 1024
}

/// One login request written by hand on its own connection, abandoned after `patience`.
async fn abandoned_login(addr: std::net::SocketAddr, patience: Duration) {
    let Ok(mut tcp) = tokio::net::TcpStream::connect(addr).await else {
        return;
    };
    let body = json!({"username": "alice", "password": PASSWORD}).to_string();
    let request = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tcp.write_all(request.as_bytes()).await;
    tokio::time::sleep(patience).await;
    // Dropping the stream hangs up without reading the answer.
}

#[tokio::test]
async fn a_flood_of_abandoned_logins_keeps_memory_bounded_and_a_real_login_gets_through() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(dir.path(), "flood").await;
    // Only hashing is under test here: no login limit may answer first.
    let (mut server, addr) = spawn_binary(
        &database_url,
        &[
            ("PARLEY_LOGIN_FAILURES_PER_NAME", "0"),
            ("PARLEY_LOGIN_FAILURES_PER_IP", "0"),
        ],
    )
    .await;
    let pid = server.id().unwrap();
    let app = TestApp::attach(addr, &database_url).await;
    app.sign_up("alice").await;
    let idle = memory(pid, "VmRSS");

    // The flood: 1,500 requests, at most 400 connections open at once, each gone after 50–200 ms.
    let open = Arc::new(tokio::sync::Semaphore::new(400));
    let mut flood = Vec::new();
    for n in 0..1_500u64 {
        let permit = Arc::clone(&open).acquire_owned().await.unwrap();
        let patience = Duration::from_millis(50 + (n * 37) % 151);
        flood.push(tokio::spawn(async move {
            abandoned_login(addr, patience).await;
            drop(permit);
        }));
    }
    for request in flood {
        request.await.unwrap();
    }
    let started = Instant::now();
    let res = app
        .post_json(
            &app.client().0,
            "/api/auth/login",
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    let waited = started.elapsed();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "a real login right after the flood"
    );
    assert!(waited < Duration::from_secs(2), "took {waited:?}");

    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let peak = memory(pid, "VmHWM");
    let bound = cores * 19 * MIB + 32 * MIB;
    println!(
        "idle {} MiB, peak {} MiB (+{} MiB, bound +{} MiB)",
        idle / MIB,
        peak / MIB,
        peak.saturating_sub(idle) / MIB,
        bound / MIB
    );
    assert!(
        peak.saturating_sub(idle) <= bound,
        "peak RSS rose {} MiB over idle; bound {} MiB",
        peak.saturating_sub(idle) / MIB,
        bound / MIB
    );

    let (http, _) = app.client();
    for _ in 0..1_000 {
        let res = app
            .post_json(
                &http,
                "/api/auth/login",
                json!({"username": "alice", "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let after = memory(pid, "VmRSS");
    println!("after 1,000 sequential logins {} MiB", after / MIB);
    assert!(
        after.saturating_sub(idle) <= 64 * MIB,
        "RSS {} MiB after the logins, idle was {} MiB",
        after / MIB,
        idle / MIB
    );
    server.kill().await.unwrap();
}
