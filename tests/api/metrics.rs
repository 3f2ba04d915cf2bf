//! `GET /metrics` on its own address (`PARLEY_METRICS_ADDR`): a real server process, real
//! sockets and logins, and the counts an operator would read off it. (The broker's state and gap
//! fills are checked with several nodes, in `cluster.rs`.)

use crate::helpers::{frame_message, spawn_binary_with_metrics, Scrape, TestApp, PASSWORD};
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn metrics_count_sockets_messages_deliveries_refusals_and_evictions() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/parley.db", dir.path().display());
    let (_server, addr, metrics) = spawn_binary_with_metrics(
        &database_url,
        &[
            ("PARLEY_METRICS_ADDR", "127.0.0.1:0"),
            ("PARLEY_MAX_SOCKETS_PER_USER", "1"),
        ],
    )
    .await;
    let metrics = metrics.expect("the server says where its metrics are");
    assert_ne!(metrics.port(), addr.port());
    let app = TestApp::attach(addr, &database_url).await;

    // Not on the site's address, where anyone could read it.
    let public = reqwest::get(app.url("/metrics")).await.unwrap();
    assert!(!public.text().await.unwrap().contains("parley_sockets_open"));

    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let mut alice_socket = app.connect(&alice).await;
    let mut bob_socket = app.connect(&bob).await;
    for i in 0..3 {
        alice_socket
            .send_json(frame_message(bob.id, &format!("hello {i}")))
            .await;
        alice_socket.expect_ack_and_echo().await;
        bob_socket.next_json().await;
    }
    // A second socket is one more than alice may have.
    assert_eq!(
        app.connect_raw(Some(app.cookie_of(&alice)), None)
            .await
            .err(),
        Some(429)
    );
    let (http, _) = app.client();
    let wrong = app
        .post_json(
            &http,
            "/api/auth/login",
            json!({"username": "alice", "password": format!("{PASSWORD}!")}),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let scrape = Scrape::from(metrics).await;
    assert_eq!(scrape.get("parley_sockets_open"), 2.0);
    assert_eq!(scrape.get("parley_messages_stored_total"), 3.0);
    assert_eq!(scrape.get("parley_writer_batch_size_sum"), 3.0);
    // Each message was written to both people's sockets: six deliveries, each timed.
    assert_eq!(scrape.get("parley_delivery_seconds_count"), 6.0);
    assert!(scrape.get("parley_delivery_seconds_bucket{le=\"+Inf\"}") == 6.0);
    // Greetings, acks and the six messages.
    assert!(scrape.get("parley_frames_delivered_total") > 6.0);
    assert_eq!(scrape.get("parley_socket_queue_frames"), 0.0);
    assert_eq!(scrape.get("parley_writer_queue_messages"), 0.0);
    assert_eq!(scrape.get("parley_login_failures_total"), 1.0);
    assert_eq!(
        scrape.get("parley_rate_limited_total{limit=\"sockets\"}"),
        1.0
    );
    assert_eq!(scrape.get("parley_rate_limited_total{limit=\"send\"}"), 0.0);
    // One node, no broker: nothing to say about one.
    assert_eq!(scrape.value("parley_broker_connected"), None);

    let res = app
        .post_json(&bob.http, "/api/auth/logout", json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    loop {
        if let Message::Close(_) = bob_socket.next_message().await {
            break;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let scrape = Scrape::from(metrics).await;
        if scrape.get("parley_sockets_open") == 1.0 {
            assert_eq!(
                scrape.get("parley_evictions_total{reason=\"logged_out\"}"),
                1.0
            );
            assert_eq!(
                scrape.get("parley_evictions_total{reason=\"slow_consumer\"}"),
                0.0
            );
            break;
        }
        assert!(Instant::now() < deadline, "bob's socket is still counted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
