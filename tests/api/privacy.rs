//! Privacy between strangers (presence, typing and receipts only once both have written) and
//! blocking.

use crate::helpers::{frame_message, spawn_app, Person, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn presence(user: &Person, online: bool) -> Value {
    json!({"type": "presence_update", "user_id": user.id, "online": online})
}

async fn error_of(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    (status, body["error"].clone())
}

async fn send(app: &TestApp, from: &Person, to: &Person, text: &str) -> reqwest::Response {
    app.post_json(
        &from.http,
        &format!("/api/conversations/{}/messages", to.id),
        json!({"message": text}),
    )
    .await
}

#[tokio::test]
async fn an_unanswered_message_reveals_nothing_about_the_receiver() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let first = app.send_http(&alice, bob.id, "hello, stranger").await;
    let mut bob_socket = app.connect(&bob).await;

    let mut alice_socket = app
        .connect_raw(Some(app.cookie_of(&alice)), None)
        .await
        .unwrap();
    let greeting = alice_socket.expect_greeting().await;
    assert_eq!(greeting["online"], json!([]), "not whether he is online");
    bob_socket.assert_silent().await;

    // Bob reads it and starts typing: his unread count moves, Alice learns neither.
    bob_socket
        .send_json(json!({"type": "read", "with": alice.id, "up_to": first["id"]}))
        .await;
    assert_eq!(bob_socket.next_json().await["event"], "read");
    bob_socket
        .send_json(json!({"type": "typing", "to": alice.id}))
        .await;
    bob_socket.assert_silent().await;
    alice_socket.assert_silent().await;
    let res = app
        .get(
            &alice.http,
            &format!("/api/conversations/{}/messages", bob.id),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn presence_is_shared_the_moment_the_second_person_writes() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    app.send_http(&alice, bob.id, "hi bob").await;
    let mut alice_socket = app.connect(&alice).await;
    let mut bob_socket = app.connect(&bob).await;
    alice_socket.assert_silent().await;

    // Bob answers: both see each other online at once, without reconnecting.
    bob_socket
        .send_json(frame_message(alice.id, "hi alice"))
        .await;
    let mut alice_frames = [
        alice_socket.next_json().await,
        alice_socket.next_json().await,
    ];
    alice_frames.sort_by_key(|f| f["type"].to_string());
    assert_eq!(alice_frames[0]["type"], "message");
    assert_eq!(alice_frames[1], presence(&bob, true));
    let mut bob_frames = Vec::new();
    for _ in 0..3 {
        bob_frames.push(bob_socket.next_json().await);
    }
    assert!(
        bob_frames.contains(&presence(&alice, true)),
        "{bob_frames:?}"
    );

    // And from now on typing flows both ways.
    alice_socket
        .send_json(json!({"type": "typing", "to": bob.id}))
        .await;
    assert_eq!(
        bob_socket.next_json().await,
        json!({"type": "event", "event": "typing", "data": {"from": alice.id}})
    );
}

#[tokio::test]
async fn a_block_stops_messages_both_ways_and_every_sign_of_life() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    app.send_http(&alice, bob.id, "hi").await;
    app.send_http(&bob, alice.id, "hi").await;
    let mut alice_socket = app.connect(&alice).await;
    let mut bob_socket = app.connect(&bob).await;
    assert_eq!(alice_socket.next_json().await, presence(&bob, true));

    // Bob blocks Alice.
    let res = app
        .post_json(&bob.http, &format!("/api/blocks/{}", alice.id), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(alice_socket.next_json().await, presence(&bob, false));
    assert_eq!(bob_socket.next_json().await, presence(&alice, false));

    // Alice cannot write to him, and learns nothing more than that.
    let client_id = uuid::Uuid::new_v4().to_string();
    alice_socket
        .send_json(
            json!({"type": "message", "to": bob.id, "message": "why?", "client_id": client_id}),
        )
        .await;
    let refusal = alice_socket.next_json().await;
    assert_eq!(refusal["code"], "blocked", "{refusal}");
    assert_eq!(refusal["client_id"], client_id.as_str());
    assert_eq!(refusal["message"], "you can't message this person");
    let (status, error) = error_of(send(&app, &alice, &bob, "hello?").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error["code"], "blocked");
    assert_eq!(error["message"], "you can't message this person");
    // Bob cannot write to her either while he blocks her.
    let (status, error) = error_of(send(&app, &bob, &alice, "bye").await).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("blocked"))
    );
    // No typing, no read marks, no presence cross the block.
    alice_socket
        .send_json(json!({"type": "typing", "to": bob.id}))
        .await;
    bob_socket.assert_silent().await;
    alice_socket.assert_silent().await;

    // Bob's inbox hides her, his block list shows her, and the conversation still opens.
    assert!(app.inbox(&bob).await.is_empty());
    assert_eq!(app.inbox(&alice).await.len(), 1);
    let blocks: Value = app
        .get(&bob.http, "/api/blocks")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(blocks["blocks"][0]["user"]["id"], alice.id);
    assert!(blocks["blocks"][0]["since"].is_string());
    let history = app.history(&bob, alice.id, "").await;
    assert_eq!(history["messages"].as_array().unwrap().len(), 2);

    // Unblocked: they see each other at once, and can write again.
    let res = app
        .http_delete(&bob, &format!("/api/blocks/{}", alice.id))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(alice_socket.next_json().await, presence(&bob, true));
    assert_eq!(bob_socket.next_json().await, presence(&alice, true));
    assert_eq!(
        send(&app, &alice, &bob, "friends again").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(app.inbox(&bob).await.len(), 1);
}

#[tokio::test]
async fn blocking_nobody_or_yourself_is_refused_and_blocking_needs_a_login() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let res = app
        .post_json(&alice.http, "/api/blocks/999999", json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .post_json(&alice.http, &format!("/api/blocks/{}", alice.id), json!({}))
        .await;
    let (status, error) = error_of(res).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("cannot_block_self"))
    );
    let (anonymous, _) = app.client();
    let res = app.post_json(&anonymous, "/api/blocks/1", json!({})).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get(&anonymous, "/api/blocks").await.status(),
        StatusCode::UNAUTHORIZED
    );
}
