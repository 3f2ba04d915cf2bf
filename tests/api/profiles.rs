//! The profile (`/api/me/profile`: the display name) and deleting an account (`/api/me/delete`):
//! what the person themselves, the people they wrote to and a newcomer wanting their name see.

use crate::helpers::{spawn_app, Person, Socket, TestApp, PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

async fn put_profile(app: &TestApp, who: &Person, body: Value) -> (StatusCode, Value) {
    let res = who
        .http
        .put(app.url("/api/me/profile"))
        .json(&body)
        .send()
        .await
        .expect("request");
    (res.status(), res.json().await.expect("json"))
}

async fn delete_account(app: &TestApp, who: &Person, password: &str, confirm: &str) -> StatusCode {
    let res = app
        .post_json(
            &who.http,
            "/api/me/delete",
            json!({"password": password, "confirm": confirm}),
        )
        .await;
    res.status()
}

/// The next frame that is not presence or typing.
async fn next_chat_frame(socket: &mut Socket) -> Value {
    loop {
        let frame = socket.next_json().await;
        if !matches!(frame["type"].as_str(), Some("presence_update" | "event")) {
            return frame;
        }
    }
}

fn peer_of(inbox: &[Value], id: i64) -> &Value {
    &inbox
        .iter()
        .find(|c| c["peer"]["id"] == id)
        .unwrap_or_else(|| panic!("no conversation with {id} in {inbox:?}"))["peer"]
}

#[tokio::test]
async fn a_display_name_is_set_shown_to_the_peer_and_removed() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    app.send_http(&alice, bob.id, "hello").await;

    let (status, me) = put_profile(&app, &alice, json!({"display_name": "  Alice Liddell "})).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["display_name"], "Alice Liddell", "trimmed");
    assert_eq!(me["username"], "alice");
    let me: Value = app.get(&alice.http, "/api/me").await.json().await.unwrap();
    assert_eq!(me["display_name"], "Alice Liddell");
    assert_eq!(
        peer_of(&app.inbox(&bob).await, alice.id)["display_name"],
        "Alice Liddell"
    );

    // Any script; the limit counts characters.
    let (status, me) =
        put_profile(&app, &alice, json!({"display_name": "アリス".repeat(21)})).await;
    assert_eq!(status, StatusCode::OK, "63 characters: {me}");
    let (status, err) = put_profile(&app, &alice, json!({"display_name": "é".repeat(65)})).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid_display_name")
        )
    );
    for bad in ["Bob\u{7}", "ali\u{202E}ecila", "tab\there"] {
        let (status, err) = put_profile(&app, &alice, json!({"display_name": bad})).await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("invalid_display_name")
            ),
            "{bad:?}"
        );
    }
    let unchanged: Value = app.get(&alice.http, "/api/me").await.json().await.unwrap();
    assert_eq!(
        unchanged["display_name"],
        "アリス".repeat(21),
        "a refused name changes nothing"
    );

    for cleared in [
        json!({"display_name": null}),
        json!({"display_name": "  "}),
        json!({}),
    ] {
        put_profile(&app, &alice, json!({"display_name": "Someone"})).await;
        let (status, me) = put_profile(&app, &alice, cleared.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["display_name"], Value::Null, "{cleared}");
    }

    let (http, _) = app.client();
    let res = http
        .put(app.url("/api/me/profile"))
        .json(&json!({"display_name": "Mallory"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn deleting_needs_the_password_and_the_username_typed_again() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;

    assert_eq!(
        delete_account(&app, &alice, "not-her-password", "alice").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        delete_account(&app, &alice, PASSWORD, "alcie").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.get(&alice.http, "/api/me").await.status(),
        StatusCode::OK,
        "still here"
    );
    app.log_in("alice").await;

    assert_eq!(
        delete_account(&app, &alice, PASSWORD, " Alice ").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&alice.http, "/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (http, _) = app.client();
    let res = app
        .post_json(
            &http,
            "/api/auth/login",
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "a deleted account cannot log in"
    );
}

#[tokio::test]
async fn a_deleted_accounts_peer_keeps_the_conversation_with_its_words_erased_live_and_on_resume() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    put_profile(&app, &alice, json!({"display_name": "Alice L."})).await;
    let first = app.send_http(&alice, bob.id, "my secret plan").await["id"]
        .as_i64()
        .unwrap();
    let reply = app.send_http(&bob, alice.id, "tell me more").await["id"]
        .as_i64()
        .unwrap();
    let second = app.send_http(&alice, bob.id, "the details").await["id"]
        .as_i64()
        .unwrap();
    let alice_phone = app.log_in("alice").await;
    let mut alice_socket = app.connect(&alice_phone).await;
    let mut bob_tab = app.connect(&bob).await;
    let mut bob_other_tab = app.connect(&bob).await;

    assert_eq!(
        delete_account(&app, &alice, PASSWORD, "alice").await,
        StatusCode::NO_CONTENT
    );

    // Every session of hers ends, sockets included.
    let leave = next_chat_frame(&mut alice_socket).await;
    assert_eq!(
        (leave["type"].as_str(), leave["reason"].as_str()),
        (Some("leave"), Some("logout"))
    );
    assert!(
        matches!(alice_socket.next_message().await, Message::Close(Some(c)) if u16::from(c.code) == 1000)
    );
    assert_eq!(
        app.get(&alice_phone.http, "/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Bob sees each of her messages erased, in order, while he watches.
    let mut positions = Vec::new();
    for expected in [first, second] {
        let frame = next_chat_frame(&mut bob_tab).await;
        assert_eq!(frame["type"], "message_deleted", "{frame}");
        assert_eq!(frame["id"], expected);
        assert_eq!(frame["message"]["message"], "");
        positions.push(frame["position"].as_i64().unwrap());
    }
    assert!(positions[0] < positions[1]);

    // His history keeps every message in its place; only her words are gone.
    let page = app.history(&bob, alice.id, "").await;
    let messages = page["messages"].as_array().unwrap();
    let ids: Vec<i64> = messages.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [first, reply, second]);
    assert_eq!(messages[0]["deleted"], true);
    assert_eq!(messages[0]["message"], "");
    assert_eq!(messages[1]["message"], "tell me more", "his own words stay");
    assert_eq!(messages[2]["deleted"], true);
    let stored_text = app
        .scalar(
            "select count(*) from chat where sender = $1 and message <> ''",
            &[alice.id],
        )
        .await;
    assert_eq!(stored_text, 0, "her text is gone from the database");

    // His inbox names her "Deleted account": no names of hers remain.
    let inbox = app.inbox(&bob).await;
    let peer = peer_of(&inbox, alice.id);
    assert_eq!(peer["deleted"], true, "{peer}");
    assert_eq!(peer["display_name"], Value::Null);

    // A tab that was away hears the erasures on resume, in order, after what it had.
    let mut resumed = app.connect_after(&bob, second).await;
    for expected in [first, second] {
        let frame = next_chat_frame(&mut resumed).await;
        assert_eq!(
            (frame["type"].as_str(), frame["id"].as_i64()),
            (Some("message_deleted"), Some(expected))
        );
    }
    let _ = next_chat_frame(&mut bob_other_tab).await;

    // Nobody can write to her any more.
    let res = app
        .post_json(
            &bob.http,
            &format!("/api/conversations/{}/messages", alice.id),
            json!({"message": "hello?"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_deleted_accounts_username_is_held_for_30_days_then_freed() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    app.send_http(&alice, bob.id, "hi").await;
    assert_eq!(
        delete_account(&app, &alice, PASSWORD, "alice").await,
        StatusCode::NO_CONTENT
    );

    let (http, _) = app.client();
    let signup = |name: &'static str| {
        let http = http.clone();
        let app = &app;
        async move {
            app.post_json(
                &http,
                "/api/auth/signup",
                json!({"username": name, "password": PASSWORD}),
            )
            .await
            .status()
        }
    };
    assert_eq!(
        signup("alice").await,
        StatusCode::CONFLICT,
        "held: nobody can pass for her"
    );
    assert_eq!(
        signup("deleted.1").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the retired form is reserved"
    );

    // 29 days on, still held; 31 days on, free.
    let day: i64 = 24 * 3600 * 1000;
    app.execute(&format!(
        "update users set deleted_at = deleted_at - {} where id = {}",
        29 * day,
        alice.id
    ))
    .await
    .unwrap();
    app.state.housekeeping.wake();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(signup("alice").await, StatusCode::CONFLICT);
    app.execute(&format!(
        "update users set deleted_at = deleted_at - {} where id = {}",
        2 * day,
        alice.id
    ))
    .await
    .unwrap();
    app.state.housekeeping.wake();
    let mut freed = false;
    for _ in 0..100 {
        let held = app
            .scalar("select count(*) from users where username = 'alice'", &[])
            .await;
        if held == 0 {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(freed, "the name was not freed");
    assert_eq!(signup("alice").await, StatusCode::CREATED);

    // Bob's conversation is still with the deleted account, not with the newcomer.
    let inbox = app.inbox(&bob).await;
    let peer = peer_of(&inbox, alice.id);
    assert_eq!(peer["deleted"], true);
    assert_eq!(peer["username"], format!("deleted.{}", alice.id));
}
