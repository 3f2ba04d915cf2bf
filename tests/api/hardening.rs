//! Hardening: live frames in commit order, bounded replays, rate limits with clear answers,
//! sockets that obey disable and stop when their client does.

use crate::helpers::{
    frame_message, fresh_database_url, read_message_ids, spawn_app, spawn_app_with, Socket,
    TestApp, PASSWORD,
};
use futures_util::{SinkExt, StreamExt};
use parley::domain::{ChatMessage, StreamEntry, Username};
use parley::server::accounts::create_admin;
use parley::server::store::{AccountStore, CommitListener, MessageStore, NewMessage, Store};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

fn inversions(ids: &[i64]) -> usize {
    ids.windows(2).filter(|w| w[0] >= w[1]).count()
}

#[tokio::test]
async fn live_frames_reach_every_room_in_commit_order() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let carol = app.sign_up("carol").await;
    let bob = app.sign_up("bob").await;
    let mut bob_tabs = [app.connect(&bob).await, app.connect(&bob).await];

    // Six sockets of two senders, sixty messages each, all at once.
    let mut blasts = Vec::new();
    for sender in [&alice, &alice, &alice, &carol, &carol, &carol] {
        let socket = app.connect(sender).await;
        let to = bob.id;
        blasts.push(tokio::spawn(async move {
            let (mut sink, mut stream) = socket.stream.split();
            for n in 0..60 {
                let frame = frame_message(to, &format!("blast {n}")).to_string();
                sink.send(Message::text(frame)).await.unwrap();
            }
            // Keep reading until our sixty acks are in, so nothing is cut short.
            let mut acks = 0;
            while acks < 60 {
                let Some(Ok(Message::Text(text))) = stream.next().await else {
                    panic!("socket closed early");
                };
                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                assert_ne!(frame["type"], "error", "{frame}");
                acks += usize::from(frame["type"] == "ack");
            }
        }));
    }
    for tab in &mut bob_tabs {
        let ids = read_message_ids(tab, 360).await;
        assert_eq!(inversions(&ids), 0, "every frame above the one before");
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 360);
    }
    for blast in blasts {
        blast.await.unwrap();
    }
}

/// Random interleavings of concurrent sends (and retries) against the real writer: whatever the
/// timing, the listener hears every new message once, in strictly increasing id order, and
/// nothing else.
#[tokio::test]
async fn commits_are_published_in_id_order_under_random_interleavings() {
    for seed in 1..=12u64 {
        let dir = tempfile::tempdir().unwrap();
        let heard: Arc<Mutex<Vec<ChatMessage>>> = Arc::default();
        let listener: CommitListener = {
            let heard = Arc::clone(&heard);
            Arc::new(move |batch: &[StreamEntry]| {
                heard
                    .lock()
                    .unwrap()
                    .extend(batch.iter().map(|entry| entry.message.clone()))
            })
        };
        let url = fresh_database_url(dir.path(), "order").await;
        let store = Store::open(&url, listener).await.unwrap();
        let mut users = Vec::new();
        for name in ["ann", "ben", "cat", "dan"] {
            let name = Username::parse(name).unwrap();
            users.push(store.create_user(&name, "x", false).await.unwrap().id);
        }

        let mut rng = seed;
        let mut next = move |below: u64| {
            // xorshift: deterministic per seed, so a failure can be replayed.
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % below
        };
        let mut tasks = Vec::new();
        for _ in 0..(2 + next(7)) {
            let store = store.clone();
            let sender = users[next(4) as usize];
            let receiver = users[next(4) as usize];
            let (count, pause, retry_every) = (1 + next(40), next(3), 2 + next(5));
            tasks.push(tokio::spawn(async move {
                let mut sent = Vec::new();
                let mut client_ids = Vec::new();
                for n in 0..count {
                    // Every few sends, a retry of an earlier client_id: it must publish nothing.
                    let client_id = if n % retry_every == retry_every - 1 {
                        client_ids[(n as usize) / 2]
                    } else {
                        uuid::Uuid::new_v4()
                    };
                    client_ids.push(client_id);
                    let stored = store
                        .insert_message(NewMessage {
                            sender,
                            receiver,
                            text: &format!("m{n}"),
                            client_id: Some(client_id),
                        })
                        .await
                        .unwrap();
                    if stored.is_new {
                        sent.push(stored.message.id);
                    }
                    match pause {
                        0 => {}
                        1 => tokio::task::yield_now().await,
                        _ => tokio::time::sleep(Duration::from_micros(200 * (n % 3))).await,
                    }
                }
                sent
            }));
        }
        let mut stored = HashSet::new();
        for task in tasks {
            stored.extend(task.await.unwrap());
        }
        let heard: Vec<i64> = heard.lock().unwrap().iter().map(|m| m.id).collect();
        assert_eq!(inversions(&heard), 0, "seed {seed}: {heard:?}");
        assert_eq!(
            heard.iter().copied().collect::<HashSet<_>>(),
            stored,
            "seed {seed}: heard exactly what was newly stored"
        );
        assert_eq!(heard.len(), stored.len(), "seed {seed}: each once");
    }
}

#[tokio::test]
async fn a_resume_replays_at_most_a_thousand_then_says_where_it_stopped() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    app.bulk_insert(&alice, &bob, (0..1_500).map(|n| format!("backlog {n}")))
        .await;

    let mut socket = app.connect_after(&bob, 0).await;
    let mut ids = Vec::new();
    for _ in 0..1_000 {
        let frame = socket.next_json().await;
        assert_eq!(frame["type"], "message", "{frame}");
        ids.push(frame["message"]["id"].as_i64().unwrap());
    }
    assert_eq!(inversions(&ids), 0);
    assert_eq!(
        socket.next_json().await,
        json!({"type": "replay_truncated", "through": ids[999]})
    );
    // Live delivery goes on as usual after the cut.
    let live = app.send_http(&alice, bob.id, "live").await;
    assert_eq!(socket.next_json().await["message"], live);
    socket.assert_silent().await;
}

async fn login_from(
    app: &TestApp,
    from: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let (http, _) = app.client();
    http.post(app.url("/api/auth/login"))
        .header("x-forwarded-for", from)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn error_code(res: reqwest::Response) -> String {
    let body: Value = res.json().await.unwrap();
    body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn failed_logins_are_limited_per_name_and_address_without_locking_the_owner_out() {
    // The test talks through a "proxy" (itself) so that it can speak from several addresses.
    let app = spawn_app_with(|c| c.trusted_proxies = "127.0.0.1".parse().unwrap()).await;
    app.sign_up("alice").await;
    let guesser = "198.51.100.1";
    for _ in 0..10 {
        let res = login_from(&app, guesser, "alice", "not the password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // The eleventh attempt is refused, even with the right password, and says when to retry.
    let res = login_from(&app, guesser, "alice", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&res);
    assert!((1..=15 * 60).contains(&wait), "{wait}");
    assert_eq!(error_code(res).await, "too_many_attempts");
    // The owner, from anywhere else, is not affected.
    let res = login_from(&app, "203.0.113.7", "alice", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Nor is another name from the guesser's address (under its per-address limit).
    let res = login_from(&app, guesser, "bob", "whatever it is").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failures_from_one_address_are_limited_across_names() {
    let app = spawn_app_with(|c| c.login_failures_per_ip = 5).await;
    for n in 0..5 {
        let res = login_from(&app, "ignored", &format!("name{n}"), "wrong password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // X-Forwarded-For from a peer that is not a trusted proxy changes nothing.
    let res = login_from(&app, "192.0.2.99", "someone-else", "wrong password").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(res).await, "too_many_attempts");
}

#[tokio::test]
async fn signups_are_limited_per_address() {
    let app = spawn_app_with(|c| c.signups_per_ip_per_hour = 3).await;
    for name in ["one", "two", "three"] {
        app.sign_up(name).await;
    }
    let (http, _) = app.client();
    let res = app
        .post_json(
            &http,
            "/api/auth/signup",
            json!({"username": "four", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&res) > 0);
    assert_eq!(error_code(res).await, "too_many_signups");
}

async fn stored_messages(app: &TestApp) -> i64 {
    app.scalar("select count(*) from chat", &[]).await
}

#[tokio::test]
async fn sending_too_fast_is_refused_and_stores_nothing() {
    let app = spawn_app_with(|c| {
        c.send_rate = 1;
        c.send_burst = 3;
    })
    .await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let mut socket = app.connect(&alice).await;
    for n in 0..3 {
        socket
            .send_json(frame_message(bob.id, &format!("in budget {n}")))
            .await;
        socket.expect_ack_and_echo().await;
    }
    let client_id = uuid::Uuid::new_v4().to_string();
    socket
        .send_json(json!({"type": "message", "to": bob.id, "message": "one too many", "client_id": client_id}))
        .await;
    let refusal = socket.next_json().await;
    assert_eq!(refusal["type"], "error", "{refusal}");
    assert_eq!(refusal["code"], "rate_limited");
    assert_eq!(refusal["client_id"], client_id.as_str());
    // Over HTTP too, the budget is the same one.
    let res = app
        .post_json(
            &alice.http,
            &format!("/api/conversations/{}/messages", bob.id),
            json!({"message": "also too many"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&res) >= 1);
    assert_eq!(error_code(res).await, "rate_limited");
    assert_eq!(stored_messages(&app).await, 3);

    // The socket stayed open, and the retry (same client_id) goes through once a token is back.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    socket
        .send_json(json!({"type": "message", "to": bob.id, "message": "one too many", "client_id": client_id}))
        .await;
    let echo = socket.expect_ack_and_echo().await;
    assert_eq!(echo["client_id"], client_id.as_str());
    assert_eq!(stored_messages(&app).await, 4);
}

#[tokio::test]
async fn an_account_may_hold_twenty_sockets_and_no_more() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let mut open = Vec::new();
    for _ in 0..20 {
        open.push(app.connect(&alice).await);
    }
    let refused = app.connect_raw(Some(app.cookie_of(&alice)), None).await;
    assert_eq!(refused.err(), Some(429));
    // Closing one frees its place.
    let mut closing = open.pop().unwrap();
    closing.stream.close(None).await.unwrap();
    while closing.stream.next().await.is_some() {}
    let mut retried = None;
    for _ in 0..50 {
        if let Ok(socket) = app.connect_raw(Some(app.cookie_of(&alice)), None).await {
            retried = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(retried.is_some(), "a slot came back");
}

#[tokio::test]
async fn a_socket_that_answers_no_pings_is_closed_and_one_that_does_stays() {
    let app = spawn_app_with(|c| {
        c.ping_interval_secs = 1;
        c.ping_timeout_secs = 2;
    })
    .await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let mut silent = app.connect(&alice).await;
    let mut lively = app.connect(&bob).await;
    // Reading lets the client library answer pings; not reading leaves them unanswered.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(3_500);
    while let Ok(frame) = tokio::time::timeout_at(deadline, lively.stream.next()).await {
        assert!(matches!(frame, Some(Ok(Message::Ping(_)))), "{frame:?}");
    }
    let close = loop {
        match silent.next_message().await {
            Message::Close(close) => break close,
            Message::Ping(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(close.map(|c| u16::from(c.code)), Some(4408));
    lively
        .send_json(frame_message(alice.id, "still here"))
        .await;
    assert_eq!(lively.expect_ack_and_echo().await["message"], "still here");
}

/// A client that has stopped reading (its receive buffer full) is disabled, then sends: nothing
/// it sends is acted on, and the server drops the connection soon after.
#[tokio::test]
async fn a_disabled_client_that_stopped_reading_can_do_nothing_and_is_cut_off() {
    let app = spawn_app_with(|c| c.send_rate = 0).await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    create_admin(&app.state, "root", Some(PASSWORD.into()), false)
        .await
        .unwrap();
    let root = app.log_in("root").await;
    app.send_http(&alice, bob.id, "hi bob").await;
    app.send_http(&bob, alice.id, "hi alice").await;

    // Alice's socket, with a tiny receive buffer, that she will stop reading.
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let tcp = tcp.connect(app.addr).await.unwrap();
    let mut request = format!("ws://{}/ws", app.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", app.cookie_of(&alice));
    let tcp = tokio_tungstenite::MaybeTlsStream::Plain(tcp);
    let (alice_ws, _) = tokio_tungstenite::client_async(request, tcp).await.unwrap();
    let mut alice_socket = Socket { stream: alice_ws };
    alice_socket.expect_greeting().await;
    let mut bob_socket = app.connect(&bob).await;

    // Bob floods her until the server can no longer write to her socket.
    let text = "x".repeat(3_000);
    for _ in 0..1_500 {
        bob_socket.send_json(frame_message(alice.id, &text)).await;
    }
    let before = app
        .scalar("select count(*) from chat where sender = $1", &[alice.id])
        .await;

    let res = app.disable_user(&root, alice.id).await;
    assert_eq!(res.status(), StatusCode::OK);
    let disabled_at = tokio::time::Instant::now();
    let (mut alice_sink, mut alice_stream) = alice_socket.stream.split();
    // The socket may already be gone; what matters is that nothing below is acted on.
    let _ = alice_sink
        .send(Message::text(
            frame_message(bob.id, "after disable").to_string(),
        ))
        .await;
    let _ = alice_sink
        .send(Message::text(
            json!({"type": "typing", "to": bob.id}).to_string(),
        ))
        .await;

    // Bob hears no typing from her (only his own flood's acks and echoes).
    let quiet_until = tokio::time::Instant::now() + Duration::from_secs(2);
    while let Ok(Some(Ok(Message::Text(text)))) =
        tokio::time::timeout_at(quiet_until, bob_socket.stream.next()).await
    {
        let frame: Value = serde_json::from_str(text.as_str()).unwrap();
        assert_ne!(frame["type"], "event", "{frame}");
        if frame["type"] == "message" {
            assert_eq!(frame["message"]["sender"], bob.id, "{frame}");
        }
    }
    let after = app
        .scalar("select count(*) from chat where sender = $1", &[alice.id])
        .await;
    assert_eq!(after, before, "nothing stored from a disabled account");

    // Her connection ends within 15 s of the disable (draining what was in flight to her).
    let cut_off = disabled_at + Duration::from_secs(15);
    loop {
        match tokio::time::timeout_at(cut_off, alice_stream.next()).await {
            Err(_) => panic!("still connected 15 s after the disable"),
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => break,
            Ok(Some(Ok(_))) => {}
        }
    }
}
