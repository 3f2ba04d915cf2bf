//! Several nodes: real `parley` processes on one throwaway PostgreSQL database, linked by a real
//! `nats-server` (`BROKER_URL`), each on its own port. People log in on one node and connect to
//! others (a session is in the shared database, so any node knows it).

use crate::helpers::{
    frame_message, read_message_ids, spawn_app, spawn_binary_with_metrics, Person, Scrape, Socket,
    TestApp,
};
use crate::nats::Nats;
use crate::postgres::fresh_database;
use futures_util::future::join_all;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::process::Child;
use tokio_tungstenite::tungstenite::Message;

/// One node: its process (killed when dropped), a handle to talk to it, and where its metrics are.
struct Node {
    process: Child,
    app: TestApp,
    metrics: Option<SocketAddr>,
}

/// Every abuse limit that a burst of sends from one test would trip, off.
const NODE_SETTINGS: &[(&str, &str)] = &[("PARLEY_SEND_RATE", "0")];

async fn start_node(database_url: &str, broker_url: &str) -> Node {
    start_node_with(database_url, broker_url, &[]).await
}

async fn start_node_with(database_url: &str, broker_url: &str, extra: &[(&str, &str)]) -> Node {
    let mut envs = vec![
        ("BROKER_URL", broker_url),
        ("PARLEY_METRICS_ADDR", "127.0.0.1:0"),
    ];
    envs.extend_from_slice(NODE_SETTINGS);
    envs.extend_from_slice(extra);
    let (process, addr, metrics) = spawn_binary_with_metrics(database_url, &envs).await;
    Node {
        process,
        app: TestApp::attach(addr, database_url).await,
        metrics,
    }
}

impl Node {
    async fn metrics(&self) -> Scrape {
        Scrape::from(self.metrics.expect("metrics are on")).await
    }
}

/// `count` nodes on one fresh database and one broker.
async fn cluster(count: usize) -> (Nats, String, Vec<Node>) {
    let nats = Nats::start();
    let database_url = fresh_database().await;
    let mut nodes = Vec::new();
    for _ in 0..count {
        nodes.push(start_node(&database_url, &nats.url()).await);
    }
    (nats, database_url, nodes)
}

/// The next chat message frame, skipping presence, typing and other frames.
async fn next_chat_message(socket: &mut Socket) -> Value {
    loop {
        let frame = socket.next_json().await;
        if frame["type"] == "message" {
            return frame["message"].clone();
        }
    }
}

#[tokio::test]
async fn a_message_sent_on_one_node_reaches_every_socket_of_both_people_on_the_others() {
    let (_nats, _db, nodes) = cluster(3).await;
    let (one, two, three) = (&nodes[0].app, &nodes[1].app, &nodes[2].app);
    let alice = one.sign_up("alice").await;
    let bob = one.sign_up("bob").await;
    let mut alice_on_one = one.connect(&alice).await;
    let mut alice_on_two = two.connect(&alice).await;
    let mut bob_on_two = two.connect(&bob).await;
    let mut bob_on_three = three.connect(&bob).await;

    alice_on_one
        .send_json(json!({"type": "message", "to": bob.id, "message": "across", "client_id": "6b1f4a52-0000-4000-8000-000000000001"}))
        .await;
    let echo = alice_on_one.expect_ack_and_echo().await;
    // The ack means stored: the row is in the shared database when it arrives.
    let id = echo["id"].as_i64().unwrap();
    assert_eq!(
        one.scalar("select count(*) from chat where id = $1", &[id])
            .await,
        1
    );
    for socket in [&mut alice_on_two, &mut bob_on_two, &mut bob_on_three] {
        let got = next_chat_message(socket).await;
        assert_eq!(got["id"], id);
        assert_eq!(got["message"], "across");
        assert_eq!(got["sender"], alice.id);
    }
}

#[tokio::test]
async fn senders_on_two_nodes_reach_a_receiver_on_a_third_in_id_order_with_nothing_missing() {
    const PER_SENDER: usize = 300;
    let (_nats, _db, nodes) = cluster(3).await;
    let receiver = nodes[0].app.sign_up("receiver").await;
    let mut senders = Vec::new();
    for n in 0..4 {
        senders.push(nodes[0].app.sign_up(&format!("sender{n}")).await);
    }
    let mut inbox = nodes[2].app.connect(&receiver).await;

    // Senders 0 and 1 on node 1, 2 and 3 on node 2, all at once, each waiting for its acks.
    let sending = senders.iter().enumerate().map(|(n, sender)| {
        let node = &nodes[n / 2].app;
        async move {
            let mut socket = node.connect(sender).await;
            for i in 0..PER_SENDER {
                socket
                    .send_json(frame_message(receiver.id, &format!("{n}:{i}")))
                    .await;
                socket.expect_ack_and_echo().await;
            }
        }
    });
    let (_, received) = tokio::join!(
        join_all(sending),
        read_message_ids(&mut inbox, 4 * PER_SENDER)
    );

    assert!(
        received.windows(2).all(|w| w[0] < w[1]),
        "ids strictly increase"
    );
    let stored: Vec<(i64,)> = nodes[0]
        .app
        .rows(&format!(
            "select id from chat where receiver = {} order by id",
            receiver.id
        ))
        .await;
    let stored: Vec<i64> = stored.into_iter().map(|(id,)| id).collect();
    assert_eq!(received, stored, "exactly the stored messages, in order");
    inbox.assert_silent().await;
}

#[tokio::test]
async fn after_a_node_is_killed_its_clients_resume_on_another_and_miss_nothing() {
    const SENDS: usize = 200;
    let (_nats, _db, mut nodes) = cluster(2).await;
    let alice = nodes[0].app.sign_up("alice").await;
    let bob = nodes[0].app.sign_up("bob").await;
    let mut bob_on_two = nodes[1].app.connect(&bob).await;

    // Alice sends steadily from node 1; every ack is a message that must reach Bob.
    let mut alice_socket = nodes[0].app.connect(&alice).await;
    let sending = tokio::spawn(async move {
        let mut acked = Vec::new();
        for i in 0..SENDS {
            acked.push(alice_socket.send_stored(bob.id, &format!("m{i}")).await);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        acked
    });

    // Bob reads a while on node 2; then node 2 dies (SIGKILL) under him.
    let mut seen = read_message_ids(&mut bob_on_two, 40).await;
    nodes[1].process.start_kill().unwrap();
    nodes[1].process.wait().await.unwrap();
    // Whatever was already in flight to him, up to the broken connection.
    while let Ok(Some(Ok(frame))) =
        tokio::time::timeout(Duration::from_secs(2), bob_on_two.stream.next()).await
    {
        if let Message::Text(text) = frame {
            let frame: Value = serde_json::from_str(text.as_str()).unwrap();
            if frame["type"] == "message" {
                seen.push(frame["message"]["id"].as_i64().unwrap());
            }
        }
    }

    // He resumes on node 1 after the last message he saw.
    let mut bob_on_one = nodes[0]
        .app
        .connect_after(&bob, *seen.last().unwrap())
        .await;
    let acked = sending.await.unwrap();
    let rest = read_message_ids(&mut bob_on_one, acked.len() - seen.len()).await;
    seen.extend(rest);
    assert_eq!(seen, acked, "every acked message, in order, once");
    bob_on_one.assert_silent().await;
}

#[tokio::test]
async fn a_message_the_broker_never_carries_is_read_from_the_database_within_half_a_second() {
    // Two nodes on one database but on two separate brokers: nothing node 1 publishes ever
    // reaches node 2 through a broker, so node 2 can only learn of it from the database.
    let nats_one = Nats::start();
    let nats_two = Nats::start();
    let database_url = fresh_database().await;
    let one = start_node(&database_url, &nats_one.url()).await;
    let two = start_node(&database_url, &nats_two.url()).await;
    let alice = one.app.sign_up("alice").await;
    let bob = one.app.sign_up("bob").await;
    let mut alice_socket = one.app.connect(&alice).await;
    let mut bob_socket = two.app.connect(&bob).await;

    for text in ["first", "second", "third"] {
        alice_socket.send_json(frame_message(bob.id, text)).await;
        let stored = alice_socket.expect_ack_and_echo().await;
        let acked = Instant::now();
        let got = next_chat_message(&mut bob_socket).await;
        let waited = acked.elapsed();
        assert_eq!(got["id"], stored["id"]);
        assert!(
            waited <= Duration::from_millis(500),
            "{text}: delivered {waited:?} after the ack"
        );
    }
}

#[tokio::test]
async fn one_client_id_sent_to_two_nodes_at_once_is_one_message() {
    let (_nats, _db, nodes) = cluster(2).await;
    let alice = nodes[0].app.sign_up("alice").await;
    let bob = nodes[0].app.sign_up("bob").await;
    let mut on_one = nodes[0].app.connect(&alice).await;
    let mut on_two = nodes[1].app.connect(&alice).await;

    let frame = json!({"type": "message", "to": bob.id, "message": "once",
                       "client_id": "0e5d8a1c-3b7f-4c2a-9d4e-5f6a7b8c9d0e"});
    on_one.send_json(frame.clone()).await;
    on_two.send_json(frame).await;
    let acks = [on_one, on_two].map(|mut socket| async move {
        loop {
            let frame = socket.next_json().await;
            if frame["type"] == "ack" {
                return frame["id"].clone();
            }
        }
    });
    let [first, second] = acks;
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first, second, "both acks name the same message");
    assert_eq!(
        nodes[0]
            .app
            .scalar("select count(*) from chat where sender = $1", &[alice.id])
            .await,
        1
    );
}

#[tokio::test]
async fn disabling_an_account_on_one_node_closes_its_socket_on_another_within_a_second() {
    let (_nats, _db, nodes) = cluster(2).await;
    let root = nodes[0].app.sign_up_admin("root").await;
    let bob = nodes[0].app.sign_up("bob").await;
    let mut bob_on_two = nodes[1].app.connect(&bob).await;

    let asked = Instant::now();
    let res = nodes[0].app.disable_user(&root, bob.id).await;
    assert_eq!(res.status(), StatusCode::OK);
    let closed = loop {
        match bob_on_two.next_message().await {
            Message::Close(close) => break close,
            _ => continue,
        }
    };
    assert!(
        asked.elapsed() <= Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(u16::from(closed.expect("a close frame").code), 1008);
}

#[tokio::test]
async fn a_block_made_on_one_node_stops_sends_through_another_at_once() {
    let (_nats, _db, nodes) = cluster(2).await;
    let (one, two) = (&nodes[0].app, &nodes[1].app);
    let alice = one.sign_up("alice").await;
    let bob = one.sign_up("bob").await;
    one.send_http(&alice, bob.id, "hello").await;

    let res = two
        .post_json(&bob.http, &format!("/api/blocks/{}", alice.id), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // The event crosses the broker in a moment; the refusal must follow within a second.
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let res = one
            .post_json(
                &alice.http,
                &format!("/api/conversations/{}/messages", bob.id),
                json!({"message": "still there?"}),
            )
            .await;
        if res.status() == StatusCode::FORBIDDEN {
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "blocked");
            break;
        }
        assert_eq!(res.status(), StatusCode::CREATED);
        assert!(
            Instant::now() < deadline,
            "node 1 still lets alice write to bob"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_logout_or_disable_whose_event_is_lost_still_closes_the_sockets_on_other_nodes() {
    // Two nodes on two brokers: no event from node 1 ever reaches node 2, so only node 2's own
    // periodic check of its sockets' sessions (every second here) can close them.
    let nats_one = Nats::start();
    let nats_two = Nats::start();
    let database_url = fresh_database().await;
    let one = start_node(&database_url, &nats_one.url()).await;
    let two = start_node_with(
        &database_url,
        &nats_two.url(),
        &[("PARLEY_SESSION_CHECK_SECS", "1")],
    )
    .await;
    let root = one.app.sign_up_admin("root").await;
    let alice = one.app.sign_up("alice").await;
    let bob = one.app.sign_up("bob").await;
    let alice_on_two = two.app.connect(&alice).await;
    let bob_on_two = two.app.connect(&bob).await;

    let close_code = |mut socket: Socket| async move {
        let started = Instant::now();
        loop {
            if let Message::Close(close) = socket.next_message().await {
                return (close.map(|c| u16::from(c.code)), started.elapsed());
            }
        }
    };
    let res = one
        .app
        .post_json(&alice.http, "/api/auth/logout", json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (code, after) = close_code(alice_on_two).await;
    assert_eq!(code, Some(1000), "logged out");
    assert!(after <= Duration::from_secs(3), "{after:?}");

    let res = one.app.disable_user(&root, bob.id).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (code, after) = close_code(bob_on_two).await;
    assert_eq!(code, Some(1008), "account disabled");
    assert!(after <= Duration::from_secs(3), "{after:?}");
}

/// The next frame that is not a chat message, waiting at most `limit`.
async fn next_presence(socket: &mut Socket, limit: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.stream.next())
            .await
            .ok()??
            .ok()?;
        if let Message::Text(text) = frame {
            let frame: Value = serde_json::from_str(text.as_str()).unwrap();
            if frame["type"] == "presence_update" {
                return Some(frame);
            }
        }
    }
}

#[tokio::test]
async fn presence_crosses_nodes_and_a_killed_node_takes_its_users_offline_within_15_s() {
    let (_nats, _db, mut nodes) = cluster(3).await;
    let alice = nodes[0].app.sign_up("alice").await;
    let bob = nodes[0].app.sign_up("bob").await;
    // Presence is shared between people who have both written.
    nodes[0].app.send_http(&alice, bob.id, "hi").await;
    nodes[0].app.send_http(&bob, alice.id, "hello").await;
    let online = |who: &Person, yes: bool| json!({"type": "presence_update", "user_id": who.id, "online": yes});

    let mut alice_on_one = nodes[0].app.connect(&alice).await;
    // Long enough for node 1's news to reach node 2 before Bob's greeting is made there.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut bob_on_two = nodes[1]
        .app
        .connect_raw(Some(nodes[1].app.cookie_of(&bob)), None)
        .await
        .unwrap();
    let greeting = bob_on_two.expect_greeting().await;
    assert_eq!(
        greeting["online"],
        json!([alice.id]),
        "alice is online on node 1"
    );
    assert_eq!(
        next_presence(&mut alice_on_one, Duration::from_secs(5)).await,
        Some(online(&bob, true))
    );

    // Bob also on node 3; leaving node 2 does not make him offline.
    let _bob_on_three = nodes[2].app.connect(&bob).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(bob_on_two);
    assert_eq!(
        next_presence(&mut alice_on_one, Duration::from_secs(1)).await,
        None,
        "still online on node 3"
    );

    // Node 3 dies without a word: its list of who is online there expires.
    let killed = Instant::now();
    nodes[2].process.start_kill().unwrap();
    nodes[2].process.wait().await.unwrap();
    assert_eq!(
        next_presence(&mut alice_on_one, Duration::from_secs(15)).await,
        Some(online(&bob, false))
    );
    assert!(
        killed.elapsed() <= Duration::from_secs(15),
        "{:?}",
        killed.elapsed()
    );
}

#[tokio::test]
async fn readyz_says_degraded_while_the_broker_is_down_and_messages_still_flow() {
    let (mut nats, _db, nodes) = cluster(2).await;
    let alice = nodes[0].app.sign_up("alice").await;
    let bob = nodes[0].app.sign_up("bob").await;
    let mut alice_socket = nodes[0].app.connect(&alice).await;
    let mut bob_socket = nodes[1].app.connect(&bob).await;
    let readiness = |node: &Node| {
        let url = node.app.url("/readyz");
        async move {
            let res = reqwest::get(url).await.expect("GET /readyz");
            (res.status(), res.text().await.unwrap())
        }
    };
    assert_eq!(
        readiness(&nodes[1]).await,
        (StatusCode::OK, "ready\n".into())
    );
    assert_eq!(nodes[1].metrics().await.get("parley_broker_connected"), 1.0);

    nats.stop();
    let mut sent = Vec::new();
    for i in 0..20 {
        sent.push(
            alice_socket
                .send_stored(bob.id, &format!("during {i}"))
                .await,
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        readiness(&nodes[1]).await,
        (StatusCode::OK, "degraded\n".into())
    );
    // Delivered while the broker is still down: read from the database.
    let mut received = read_message_ids(&mut bob_socket, sent.len()).await;
    assert_eq!(received, sent, "during the outage");
    let during = nodes[1].metrics().await;
    assert_eq!(during.get("parley_broker_connected"), 0.0);
    assert_eq!(during.get("parley_gap_fills_total"), sent.len() as f64);
    nats.start_again();
    let deadline = Instant::now() + Duration::from_secs(10);
    while readiness(&nodes[1]).await.1 != "ready\n" {
        assert!(Instant::now() < deadline, "the node did not reconnect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for i in 0..20 {
        sent.push(
            alice_socket
                .send_stored(bob.id, &format!("after {i}"))
                .await,
        );
    }

    received.extend(read_message_ids(&mut bob_socket, sent.len() - received.len()).await);
    assert_eq!(received, sent, "everything, in order, once");
    bob_socket.assert_silent().await;
    let after = nodes[1].metrics().await;
    assert_eq!(after.get("parley_broker_connected"), 1.0);
    // Each of bob's messages was timed on its way to his socket, the late ones too.
    assert_eq!(
        after.get("parley_delivery_seconds_count"),
        sent.len() as f64
    );
}

#[tokio::test]
async fn a_logout_lost_with_its_node_during_a_broker_outage_closes_sockets_once_the_broker_is_back()
{
    // The periodic check is far away (5 min): only the check after the reconnect can close it.
    let (mut nats, mut nodes) = {
        let nats = Nats::start();
        let database_url = fresh_database().await;
        let slow_check = [("PARLEY_SESSION_CHECK_SECS", "300")];
        let one = start_node_with(&database_url, &nats.url(), &slow_check).await;
        let two = start_node_with(&database_url, &nats.url(), &slow_check).await;
        (nats, vec![one, two])
    };
    let alice = nodes[0].app.sign_up("alice").await;
    let mut alice_on_two = nodes[1].app.connect(&alice).await;

    nats.stop();
    let res = nodes[0]
        .app
        .post_json(&alice.http, "/api/auth/logout", json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // The node that would tell the others dies with the news still queued.
    nodes[0].process.kill().await.unwrap();
    nodes.remove(0);
    alice_on_two.assert_silent().await;
    assert_eq!(
        nodes[0].app.session_count().await,
        0,
        "the logout is in the database"
    );

    nats.start_again();
    let back = Instant::now();
    loop {
        if let Message::Close(close) = alice_on_two.next_message().await {
            assert_eq!(close.map(|c| u16::from(c.code)), Some(1000));
            break;
        }
    }
    // Reconnecting takes up to a second, then each socket checks within 2 s.
    assert!(
        back.elapsed() <= Duration::from_secs(5),
        "{:?}",
        back.elapsed()
    );
}

#[tokio::test]
async fn a_node_refuses_to_start_on_sqlite_with_a_broker() {
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_parley"))
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/p.db", dir.path().display()),
        )
        .env("BROKER_URL", "nats://127.0.0.1:4222")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("SQLite"), "{said}");
    assert!(
        !dir.path().join("p.db").exists(),
        "refused before creating anything"
    );
}

#[tokio::test]
async fn health_and_readiness_answer_without_a_session_on_one_node() {
    let app = spawn_app().await;
    for (path, body) in [("/healthz", "ok\n"), ("/readyz", "ready\n")] {
        let res = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.text().await.unwrap(), body, "{path}");
    }
}
