use crate::helpers::{frame_message, spawn_app};
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn an_upgrade_without_a_session_is_401_and_a_foreign_origin_403() {
    let app = spawn_app().await;
    assert_eq!(app.connect_raw(None, None).await.err(), Some(401));

    let alice = app.sign_up("alice").await;
    assert_eq!(
        app.connect_raw(Some(app.cookie_of(&alice)), Some("http://evil.example"))
            .await
            .err(),
        Some(403)
    );
    let same = format!("http://{}", app.addr);
    assert!(app
        .connect_raw(Some(app.cookie_of(&alice)), Some(&same))
        .await
        .is_ok());
}

#[tokio::test]
async fn connecting_joins_the_callers_own_md5_room() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let mut socket = app
        .connect_raw(Some(app.cookie_of(&alice)), None)
        .await
        .unwrap();

    let hello = socket.next_json().await;
    let join = socket.next_json().await;
    let presence = socket.next_json().await;

    let room = format!("{:x}", md5::compute(alice.id.to_string()));
    assert_eq!(
        hello,
        json!({"type": "connection_status", "status": "connected", "user_id": alice.id, "room": room})
    );
    assert_eq!(join, json!({"type": "join", "room": room}));
    assert_eq!(presence, json!({"type": "presence_full", "online": []}));
}

#[tokio::test]
async fn a_message_reaches_every_connection_of_both_people_once_and_no_one_else() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let carol = app.sign_up("carol").await;
    let mut alice_sending = app.connect(&alice).await;
    let mut alice_other = app.connect(&alice).await;
    let mut bob_one = app.connect(&bob).await;
    let mut bob_two = app.connect(&bob).await;
    let mut carol_socket = app.connect(&carol).await;

    let client_id = "6f1c2c1e-8d4a-4d1e-9a39-0b2b8c4f6a11";
    alice_sending
        .send_json(
            json!({"type": "message", "to": bob.id, "message": "hi bob", "client_id": client_id}),
        )
        .await;

    let mut received = vec![alice_sending.expect_ack_and_echo().await];
    alice_sending.assert_silent().await;
    for socket in [&mut alice_other, &mut bob_one, &mut bob_two] {
        let frame = socket.next_json().await;
        assert_eq!(frame["type"], "message", "{frame}");
        received.push(frame["message"].clone());
        socket.assert_silent().await;
    }
    carol_socket.assert_silent().await;
    assert!(
        received.windows(2).all(|w| w[0] == w[1]),
        "everyone got the same message"
    );

    // What was emitted is exactly what is stored.
    let stored = app.history(&bob, alice.id, "").await;
    assert_eq!(stored["messages"], json!([received[0]]));
    let message = &received[0];
    assert_eq!(message["sender"], alice.id);
    assert_eq!(message["receiver"], bob.id);
    assert_eq!(message["message"], "hi bob");
    assert_eq!(message["client_id"], client_id);
}

#[tokio::test]
async fn a_message_to_yourself_is_emitted_once_per_connection() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let mut socket = app.connect(&alice).await;

    socket
        .send_json(frame_message(alice.id, "note to self"))
        .await;

    assert_eq!(
        socket.expect_ack_and_echo().await["message"],
        "note to self"
    );
    socket.assert_silent().await;
}

#[tokio::test]
async fn a_message_sent_over_http_is_delivered_over_the_socket() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let mut bob_socket = app.connect(&bob).await;
    let mut alice_socket = app.connect(&alice).await;

    let stored = app.send_http(&alice, bob.id, "over http").await;

    assert_eq!(
        bob_socket.next_json().await,
        json!({"type": "message", "message": stored})
    );
    assert_eq!(
        alice_socket.next_json().await,
        json!({"type": "message", "message": stored})
    );
}

#[tokio::test]
async fn bad_frames_get_an_error_keep_the_connection_and_store_nothing() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let mut socket = app.connect(&alice).await;
    let mut bob_socket = app.connect(&bob).await;

    let cases: Vec<(String, &str)> = vec![
        ("{not json".into(), "malformed_json"),
        (
            json!({"type": "dance", "to": bob.id}).to_string(),
            "unknown_type",
        ),
        (
            json!({"to": bob.id, "message": "no type"}).to_string(),
            "invalid_frame",
        ),
        (
            json!({"type": "message", "message": "no receiver"}).to_string(),
            "invalid_frame",
        ),
        (
            json!({"type": "message", "to": bob.id}).to_string(),
            "invalid_frame",
        ),
        (
            json!({"type": "message", "to": bob.id, "message": ""}).to_string(),
            "empty_message",
        ),
        (
            json!({"type": "message", "to": bob.id, "message": " \n\t "}).to_string(),
            "empty_message",
        ),
        (
            json!({"type": "message", "to": bob.id, "message": "x".repeat(4001)}).to_string(),
            "message_too_long",
        ),
        (
            json!({"type": "message", "to": 987654, "message": "hello?"}).to_string(),
            "unknown_receiver",
        ),
    ];
    for (text, code) in cases {
        socket.send_text(text.clone()).await;
        let frame = socket.next_json().await;
        assert_eq!(frame["type"], "error", "{text}");
        assert_eq!(frame["code"], code, "{text}");
        assert!(!frame["message"].as_str().unwrap().is_empty());
    }
    socket.stream.send_binary(vec![1, 2, 3]).await;
    let frame = socket.next_json().await;
    assert_eq!(frame["code"], "binary_not_supported");

    // The error echoes the client_id it could read.
    let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    socket
        .send_json(json!({"type": "message", "to": bob.id, "message": "", "client_id": id}))
        .await;
    assert_eq!(socket.next_json().await["client_id"], id);

    bob_socket.assert_silent().await;
    assert_eq!(app.history(&alice, bob.id, "").await["messages"], json!([]));

    // Still open and working.
    socket
        .send_json(frame_message(bob.id, "after all that"))
        .await;
    assert_eq!(
        socket.expect_ack_and_echo().await["message"],
        "after all that"
    );
    assert_eq!(
        bob_socket.next_json().await["message"]["message"],
        "after all that"
    );
}

#[tokio::test]
async fn a_frame_over_64_kib_closes_with_1009() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let mut socket = app.connect(&alice).await;

    socket.send_text("x".repeat(64 * 1024 + 1)).await;

    match socket.next_message().await {
        Message::Close(Some(close)) => assert_eq!(close.code, CloseCode::Size),
        other => panic!("expected close 1009, got {other:?}"),
    }
}

/// Keeps the test's own binary-send helper out of the shared helpers.
trait SendBinary {
    async fn send_binary(&mut self, bytes: Vec<u8>);
}

impl SendBinary
    for tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>
{
    async fn send_binary(&mut self, bytes: Vec<u8>) {
        use futures_util::SinkExt;
        self.send(Message::binary(bytes)).await.expect("send");
    }
}
