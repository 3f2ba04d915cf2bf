//! Hostile message text through both ways of sending: control characters are `invalid_text`,
//! text of only white space and invisible characters is `empty_message`; nothing is stored, and a
//! WebSocket that sent it stays open. The rules themselves are unit-tested in `domain::message`.

use crate::helpers::{frame_message, spawn_app, Person, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

const CLIENT_ID: &str = "2b8e6c1a-5f0d-4c7e-9a1b-3d4f5e6a7b8c";

async fn stored_message_count(app: &TestApp) -> i64 {
    app.scalar("select count(*) from chat", &[]).await
}

/// POSTs `text` from `from` to `to` and returns the status and the error code, if any.
async fn send_over_http(
    app: &TestApp,
    from: &Person,
    to: &Person,
    text: &str,
) -> (StatusCode, Value) {
    let res = app
        .post_json(
            &from.http,
            &format!("/api/conversations/{}/messages", to.id),
            json!({"message": text, "client_id": CLIENT_ID}),
        )
        .await;
    let status = res.status();
    let body: Value = res.json().await.expect("json");
    (status, body["error"]["code"].clone())
}

#[tokio::test]
async fn http_send_with_a_control_character_is_invalid_text_and_stores_nothing() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;

    for text in [
        "a\u{0}b",
        "\u{0}",
        "bell\u{7}",
        "\u{1b}[2Jcleared",
        "del\u{7f}",
        "c1\u{9b}",
    ] {
        let (status, code) = send_over_http(&app, &alice, &bob, text).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text:?}");
        assert_eq!(code, "invalid_text", "{text:?}");
    }

    assert_eq!(stored_message_count(&app).await, 0);
    // The client_id was never used, so it still names a message that can be sent.
    let (status, _) = send_over_http(&app, &alice, &bob, "a b").await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn websocket_send_with_a_control_character_is_an_invalid_text_error_and_the_socket_stays_open(
) {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let mut socket = app.connect(&alice).await;
    let mut bob_socket = app.connect(&bob).await;

    socket
        .send_json(
            json!({"type": "message", "to": bob.id, "message": "a\u{0}b", "client_id": CLIENT_ID}),
        )
        .await;
    let frame = socket.next_json().await;
    assert_eq!(frame["type"], "error", "{frame}");
    assert_eq!(frame["code"], "invalid_text", "{frame}");
    assert_eq!(frame["client_id"], CLIENT_ID, "{frame}");

    bob_socket.assert_silent().await;
    assert_eq!(stored_message_count(&app).await, 0);

    socket.send_json(frame_message(bob.id, "still here")).await;
    assert_eq!(socket.expect_ack_and_echo().await["message"], "still here");
    assert_eq!(
        bob_socket.next_json().await["message"]["message"],
        "still here"
    );
}

#[tokio::test]
async fn only_invisible_characters_and_white_space_is_an_empty_message() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let blank = "\u{200B}\u{FEFF} ";

    let (status, code) = send_over_http(&app, &alice, &bob, blank).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code, "empty_message");

    let mut socket = app.connect(&alice).await;
    socket
        .send_json(
            json!({"type": "message", "to": bob.id, "message": blank, "client_id": CLIENT_ID}),
        )
        .await;
    let frame = socket.next_json().await;
    assert_eq!(frame["code"], "empty_message", "{frame}");
    assert_eq!(frame["client_id"], CLIENT_ID, "{frame}");

    assert_eq!(stored_message_count(&app).await, 0);
}

#[tokio::test]
async fn line_breaks_are_stored_as_line_feeds_and_emoji_joiners_are_kept() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";

    let stored = app
        .send_http(&alice, bob.id, &format!("dear bob\r\n{family}\r\n"))
        .await;
    assert_eq!(stored["message"], format!("dear bob\n{family}"));

    let mut socket = app.connect(&alice).await;
    socket
        .send_json(frame_message(bob.id, "one\rtwo\tthree"))
        .await;
    assert_eq!(
        socket.expect_ack_and_echo().await["message"],
        "one\ntwo\tthree"
    );
}
