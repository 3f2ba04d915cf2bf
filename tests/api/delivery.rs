//! Issue 5's guarantees: acks, idempotent retries, resume without gap or duplicate, presence,
//! typing, read receipts, logout, and a real SIGTERM during a send storm.

use crate::helpers::{
    frame_message, fresh_database_url, read_message_ids, spawn_app, spawn_binary, TestApp,
    PASSWORD, SEND_LIMIT_OFF,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn resume_delivers_everything_missed_once_and_in_order() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let seen = app.send_http(&alice, bob.id, "before bob left").await["id"]
        .as_i64()
        .unwrap();

    let mut sent = Vec::new();
    for n in 0..200 {
        sent.push(
            app.send_http(&alice, bob.id, &format!("while away {n}"))
                .await["id"]
                .as_i64()
                .unwrap(),
        );
    }

    let mut bob_socket = app.connect_after(&bob, seen).await;
    let replayed = read_message_ids(&mut bob_socket, 200).await;
    assert_eq!(replayed, sent, "all 200, once, in order");
    bob_socket.assert_silent().await;

    // Then live, as usual.
    let live = app.send_http(&alice, bob.id, "back again").await;
    assert_eq!(bob_socket.next_json().await["message"], live);

    // Without `after`, nothing is replayed.
    let mut plain = app.connect(&bob).await;
    plain.assert_silent().await;
}

#[tokio::test]
async fn messages_sent_during_the_replay_are_neither_lost_nor_duplicated() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    // Under the replay limit, so the whole backlog comes over the socket.
    app.bulk_insert(&alice, &bob, (0..900).map(|n| format!("backlog {n}")))
        .await;

    // Alice keeps writing while Bob's replay of the backlog runs.
    let storm = {
        let (url, http) = (
            app.url(&format!("/api/conversations/{}/messages", bob.id)),
            alice.http.clone(),
        );
        tokio::spawn(async move {
            for n in 0..100 {
                let res = http
                    .post(&url)
                    .json(&json!({"message": format!("during {n}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::CREATED);
            }
        })
    };
    let mut bob_socket = app.connect_after(&bob, 0).await;
    storm.await.unwrap();

    let ids = read_message_ids(&mut bob_socket, 1_000).await;
    bob_socket.assert_silent().await;
    let unique: HashSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), 1_000, "no duplicates");
    let stored = app.scalar("select count(*) from chat", &[]).await;
    assert_eq!(stored, 1_000, "and nothing missing");
    // Replay and live frames together arrive in id order.
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[tokio::test]
async fn a_retried_client_id_stores_one_row_and_gets_the_same_ack() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let mut alice_socket = app.connect(&alice).await;
    let mut bob_socket = app.connect(&bob).await;
    let client_id = "9b2c3a5e-1f4d-4c7a-8e6b-2d9f0a1b3c4d";
    let frame =
        json!({"type": "message", "to": bob.id, "message": "only once", "client_id": client_id});

    alice_socket.send_json(frame.clone()).await;
    let first = alice_socket.expect_ack_and_echo().await;
    alice_socket.send_json(frame).await;
    let retry_ack = alice_socket.next_json().await;

    assert_eq!(
        retry_ack,
        json!({"type": "ack", "client_id": client_id, "id": first["id"], "date": first["date"]})
    );
    alice_socket.assert_silent().await;
    assert_eq!(bob_socket.next_json().await["message"], first);
    bob_socket.assert_silent().await;

    // Over HTTP too, and across the two: same row, same answer.
    let res = app
        .post_json(
            &alice.http,
            &format!("/api/conversations/{}/messages", bob.id),
            json!({"message": "only once", "client_id": client_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    assert_eq!(res.json::<Value>().await.unwrap(), first);
    assert_eq!(
        app.history(&bob, alice.id, "").await["messages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The same client_id from another sender is another message.
    let res = app
        .post_json(
            &bob.http,
            &format!("/api/conversations/{}/messages", alice.id),
            json!({"message": "mine", "client_id": client_id}),
        )
        .await;
    assert_eq!(res.headers()["idempotent-replayed"], "false");
}

#[tokio::test]
async fn presence_reaches_partners_and_never_a_stranger() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let carol = app.sign_up("carol").await;
    app.send_http(&alice, bob.id, "we share a conversation")
        .await;
    // Both have written: presence flows (see tests/api/privacy.rs for one-sided conversations).
    app.send_http(&bob, alice.id, "we do").await;
    let mut bob_socket = app.connect(&bob).await;
    let mut carol_socket = app.connect(&carol).await;

    // Alice comes online: Bob is told, Carol is not; Alice learns Bob is online.
    let mut alice_socket = app
        .connect_raw(Some(app.cookie_of(&alice)), None)
        .await
        .unwrap();
    let presence = alice_socket.expect_greeting().await;
    assert_eq!(presence["online"], json!([bob.id]));
    assert_eq!(
        bob_socket.next_json().await,
        json!({"type": "presence_update", "user_id": alice.id, "online": true})
    );

    // A second tab is not news; closing one of two is not either; closing the last is.
    let mut second = app.connect(&alice).await;
    bob_socket.assert_silent().await;
    second.stream.close(None).await.unwrap();
    bob_socket.assert_silent().await;
    alice_socket.stream.close(None).await.unwrap();
    assert_eq!(
        bob_socket.next_json().await,
        json!({"type": "presence_update", "user_id": alice.id, "online": false})
    );

    carol_socket.assert_silent().await;
    let strangers = app.connect(&carol).await;
    drop(strangers);
}

#[tokio::test]
async fn typing_is_relayed_to_a_partner_only() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let carol = app.sign_up("carol").await;
    app.send_http(&alice, bob.id, "hi").await;
    app.send_http(&bob, alice.id, "hello").await;
    let mut alice_socket = app.connect(&alice).await;
    let mut bob_socket = app.connect(&bob).await;
    let _ = alice_socket.next_json().await; // Bob came online.

    alice_socket
        .send_json(json!({"type": "typing", "to": bob.id}))
        .await;
    assert_eq!(
        bob_socket.next_json().await,
        json!({"type": "event", "event": "typing", "data": {"from": alice.id}})
    );
    // Throttled: a burst relays once.
    alice_socket
        .send_json(json!({"type": "typing", "to": bob.id}))
        .await;
    bob_socket.assert_silent().await;

    alice_socket
        .send_json(json!({"type": "typing", "to": carol.id}))
        .await;
    let refusal = alice_socket.next_json().await;
    assert_eq!(refusal["type"], "error");
    assert_eq!(refusal["code"], "unknown_receiver");
}

#[tokio::test]
async fn read_pointers_move_forward_only_and_drive_unread_counts() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    // Bob has written too, so his read marks reach Alice.
    app.send_http(&bob, alice.id, "hello").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            app.send_http(&alice, bob.id, &format!("m{n}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let unread = |list: &Value| list["conversations"][0]["unread"].as_i64().unwrap();
    let list: Value = app
        .get(&bob.http, "/api/conversations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unread(&list), 5);
    let list: Value = app
        .get(&alice.http, "/api/conversations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        unread(&list),
        1,
        "only Bob's message: your own are never unread"
    );

    let mut alice_socket = app.connect(&alice).await;
    let mut bob_socket = app.connect(&bob).await;
    let mut bob_other_tab = app.connect(&bob).await;
    let online = alice_socket.next_json().await;
    assert_eq!(
        online,
        json!({"type": "presence_update", "user_id": bob.id, "online": true})
    );

    bob_socket
        .send_json(json!({"type": "read", "with": alice.id, "up_to": ids[2]}))
        .await;
    let event = json!({"type": "event", "event": "read", "data": {"reader": bob.id, "with": alice.id, "up_to": ids[2]}});
    assert_eq!(bob_socket.next_json().await, event);
    assert_eq!(
        bob_other_tab.next_json().await,
        event,
        "every tab of the reader"
    );
    assert_eq!(alice_socket.next_json().await, event, "and the peer");
    let list: Value = app
        .get(&bob.http, "/api/conversations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unread(&list), 2);

    // Backwards, or where the pointer already is, stores and tells nothing; beyond the newest
    // message is clamped to it.
    for up_to in [ids[0], ids[2]] {
        bob_socket
            .send_json(json!({"type": "read", "with": alice.id, "up_to": up_to}))
            .await;
    }
    alice_socket.assert_silent().await;
    bob_other_tab.assert_silent().await;
    bob_socket
        .send_json(json!({"type": "read", "with": alice.id, "up_to": ids[4] + 1_000}))
        .await;
    assert_eq!(bob_socket.next_json().await["data"]["up_to"], ids[4]);
    let list: Value = app
        .get(&bob.http, "/api/conversations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unread(&list), 0);
}

#[tokio::test]
async fn logging_out_says_leave_and_closes_that_sessions_sockets_only() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let mut laptop = app.connect(&alice).await;
    let (phone_http, phone_jar) = app.client();
    let res = app
        .post_json(
            &phone_http,
            "/api/auth/login",
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let phone = crate::helpers::Person {
        http: phone_http,
        jar: phone_jar,
        id: alice.id,
    };
    let mut phone_socket = app.connect(&phone).await;

    let res = app
        .post_json(&alice.http, "/api/auth/logout", json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let leave = laptop.next_json().await;
    assert_eq!(leave["type"], "leave");
    assert_eq!(leave["reason"], "logout");
    assert!(
        matches!(laptop.next_message().await, Message::Close(Some(close)) if u16::from(close.code) == 1000)
    );
    phone_socket
        .send_json(frame_message(alice.id, "phone still works"))
        .await;
    assert_eq!(
        phone_socket.expect_ack_and_echo().await["message"],
        "phone still works"
    );
}

/// SIGTERM to the real binary during a send storm: every acknowledged message is in the database
/// afterwards, sockets are told `leave` and closed with 1001, and the process exits cleanly.
#[tokio::test]
async fn sigterm_during_a_send_storm_loses_no_acked_message() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(dir.path(), "storm").await;
    let (mut server, addr) = spawn_binary(&database_url, SEND_LIMIT_OFF).await;
    let app = TestApp::attach(addr, &database_url).await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;

    let mut senders = Vec::new();
    for _ in 0..4 {
        let socket = app.connect(&alice).await;
        let (mut sink, mut stream) = futures_util::StreamExt::split(socket.stream);
        let to = bob.id;
        // Write as fast as the socket takes it, until it is closed under us.
        tokio::spawn(async move {
            for n in 0..20_000 {
                let frame = Message::text(frame_message(to, &format!("storm {n}")).to_string());
                if futures_util::SinkExt::send(&mut sink, frame).await.is_err() {
                    break;
                }
            }
        });
        // Collect acks until the server closes the socket.
        senders.push(tokio::spawn(async move {
            let (mut acked, mut closed_with) = (Vec::new(), None);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            loop {
                let next =
                    tokio::time::timeout_at(deadline, futures_util::StreamExt::next(&mut stream))
                        .await;
                let received = match next {
                    Ok(Some(Ok(received))) => received,
                    // Reset, error or time limit: `closed_with` stays None and the test says so.
                    _ => break,
                };
                match received {
                    Message::Text(text) => {
                        let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                        if frame["type"] == "ack" {
                            acked.push(frame["id"].as_i64().unwrap());
                        }
                    }
                    Message::Close(close) => {
                        closed_with = close.map(|c| u16::from(c.code));
                        break;
                    }
                    _ => {}
                }
            }
            (acked, closed_with)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = server.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(20), server.wait())
        .await
        .expect("exits promptly")
        .unwrap();
    assert!(exit.success(), "clean exit: {exit:?}");

    let mut acked = Vec::new();
    for sender in senders {
        let (ids, closed_with) = sender.await.unwrap();
        assert_eq!(closed_with, Some(1001), "closed as going away");
        acked.extend(ids);
    }
    assert!(
        !acked.is_empty(),
        "the storm got some acks before the signal"
    );
    let stored: HashSet<i64> = app
        .rows::<(i64,)>("select id from chat")
        .await
        .into_iter()
        .map(|(id,)| id)
        .collect();
    let missing: Vec<&i64> = acked.iter().filter(|id| !stored.contains(id)).collect();
    assert!(missing.is_empty(), "acked but not stored: {missing:?}");
}
