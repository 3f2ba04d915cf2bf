//! The account's own settings over `/api/me/…`: the devices (sessions) list, logging devices out,
//! changing the password, and the export of one's data.

use crate::helpers::{spawn_app, Person, Socket, TestApp, PASSWORD};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Message;

const FIREFOX_ON_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const CHROME_ON_ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";

/// Logs `username` in from a browser that calls itself `agent`.
async fn log_in_from(app: &TestApp, username: &str, password: &str, agent: &str) -> Person {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let http = Client::builder()
        .cookie_provider(Arc::clone(&jar))
        .user_agent(agent)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = app
        .post_json(
            &http,
            "/api/auth/login",
            json!({"username": username, "password": password}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "login of {username}");
    let body: Value = res.json().await.unwrap();
    Person {
        http,
        jar,
        id: body["id"].as_i64().unwrap(),
    }
}

async fn sessions(app: &TestApp, who: &Person) -> Vec<Value> {
    let res = app.get(&who.http, "/api/me/sessions").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["sessions"].as_array().unwrap().clone()
}

async fn me_status(app: &TestApp, who: &Person) -> StatusCode {
    app.get(&who.http, "/api/me").await.status()
}

/// The socket hears it was logged out and is closed with the logout code.
async fn expect_logged_out(socket: &mut Socket) {
    let leave = socket.next_json().await;
    assert_eq!(leave["type"], "leave", "{leave}");
    assert_eq!(leave["reason"], "logout");
    assert!(
        matches!(socket.next_message().await, Message::Close(Some(close)) if u16::from(close.code) == 1000)
    );
}

#[tokio::test]
async fn the_devices_list_shows_each_session_with_its_browser_and_marks_this_one() {
    let app = spawn_app().await;
    app.sign_up("alice").await;
    let laptop = log_in_from(&app, "alice", PASSWORD, FIREFOX_ON_LINUX).await;
    let phone = log_in_from(&app, "alice", PASSWORD, CHROME_ON_ANDROID).await;
    assert_eq!(me_status(&app, &phone).await, StatusCode::OK);

    let list = sessions(&app, &laptop).await;
    // The sign-up's session (a client that gives no User-Agent), the laptop and the phone.
    assert_eq!(list.len(), 3, "{list:?}");
    assert!(list
        .iter()
        .any(|s| s["browser"] == "Unknown browser" && s["current"] == false));
    let this = list.iter().find(|s| s["current"] == true).unwrap();
    assert_eq!(
        (this["browser"].as_str(), this["os"].as_str()),
        (Some("Firefox"), Some("Linux"))
    );
    assert_eq!(this["user_agent"], FIREFOX_ON_LINUX);
    assert_eq!(this["client_addr"], "127.0.0.1");
    assert!(this["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(this["last_seen_at"].is_string());
    let other = list.iter().find(|s| s["browser"] == "Chrome").unwrap();
    assert_eq!(other["current"], false);
    assert_eq!(
        (other["browser"].as_str(), other["os"].as_str()),
        (Some("Chrome"), Some("Android"))
    );
    assert_ne!(this["id"], other["id"]);
    // The list names sessions by a handle of their own, never by the secret in their cookie.
    let raw = app
        .get(&laptop.http, "/api/me/sessions")
        .await
        .text()
        .await
        .unwrap();
    for person in [&laptop, &phone] {
        let cookie = app.cookie_of(person);
        let secret = cookie
            .to_str()
            .unwrap()
            .trim_start_matches("parley_session=");
        assert!(!raw.contains(secret), "a session id leaked into the list");
    }
    // The phone sees the same two, from its side.
    let from_phone = sessions(&app, &phone).await;
    let current: Vec<&Value> = from_phone.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], other["id"]);
}

#[tokio::test]
async fn a_device_logged_out_from_the_list_is_gone_on_its_next_request_and_its_sockets_close() {
    let app = spawn_app().await;
    app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let laptop = log_in_from(&app, "alice", PASSWORD, FIREFOX_ON_LINUX).await;
    let phone = log_in_from(&app, "alice", PASSWORD, CHROME_ON_ANDROID).await;
    let mut phone_socket = app.connect(&phone).await;
    let mut laptop_socket = app.connect(&laptop).await;
    let list = sessions(&app, &laptop).await;
    let phone_id = list.iter().find(|s| s["browser"] == "Chrome").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Nobody else can log Alice's devices out, and a made-up handle names nothing.
    let res = app
        .http_delete(&bob, &format!("/api/me/sessions/{phone_id}"))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    for bad in ["not-a-uuid", "00000000-0000-0000-0000-000000000000"] {
        let res = app
            .http_delete(&laptop, &format!("/api/me/sessions/{bad}"))
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    assert_eq!(me_status(&app, &phone).await, StatusCode::OK);

    let res = app
        .http_delete(&laptop, &format!("/api/me/sessions/{phone_id}"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    expect_logged_out(&mut phone_socket).await;
    assert_eq!(me_status(&app, &phone).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&app, &laptop).await, StatusCode::OK);
    laptop_socket.assert_silent().await;
    assert!(sessions(&app, &laptop)
        .await
        .iter()
        .all(|s| s["browser"] != "Chrome"));
}

#[tokio::test]
async fn log_out_every_other_device_keeps_only_this_one() {
    let app = spawn_app().await;
    app.sign_up("alice").await;
    let laptop = log_in_from(&app, "alice", PASSWORD, FIREFOX_ON_LINUX).await;
    let phone = log_in_from(&app, "alice", PASSWORD, CHROME_ON_ANDROID).await;
    let tablet = log_in_from(&app, "alice", PASSWORD, CHROME_ON_ANDROID).await;
    let mut tablet_socket = app.connect(&tablet).await;

    let res = app
        .post_json(&laptop.http, "/api/me/sessions/log-out-others", json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    // The two logins and the sign-up's session.
    assert_eq!(body["logged_out"], 3);
    expect_logged_out(&mut tablet_socket).await;
    for gone in [&phone, &tablet] {
        assert_eq!(me_status(&app, gone).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(me_status(&app, &laptop).await, StatusCode::OK);
    assert_eq!(app.session_count().await, 1);
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session_and_its_sockets() {
    let app = spawn_app().await;
    app.sign_up("alice").await;
    let laptop = log_in_from(&app, "alice", PASSWORD, FIREFOX_ON_LINUX).await;
    let phone = log_in_from(&app, "alice", PASSWORD, CHROME_ON_ANDROID).await;
    let mut phone_socket = app.connect(&phone).await;
    let mut laptop_socket = app.connect(&laptop).await;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});

    let res = app
        .post_json(
            &laptop.http,
            "/api/me/password",
            change("not my password", "a brand new passphrase"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "wrong_password");
    let res = app
        .post_json(&laptop.http, "/api/me/password", change(PASSWORD, "short"))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        me_status(&app, &phone).await,
        StatusCode::OK,
        "nothing changed yet"
    );

    let new = "a brand new passphrase";
    let res = app
        .post_json(&laptop.http, "/api/me/password", change(PASSWORD, new))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    expect_logged_out(&mut phone_socket).await;
    assert_eq!(me_status(&app, &phone).await, StatusCode::UNAUTHORIZED);
    // This one stays, socket and all.
    assert_eq!(me_status(&app, &laptop).await, StatusCode::OK);
    laptop_socket.assert_silent().await;

    let (http, _) = app.client();
    let old = app
        .post_json(
            &http,
            "/api/auth/login",
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    log_in_from(&app, "alice", new, FIREFOX_ON_LINUX).await;
}

#[tokio::test]
async fn guessing_the_current_password_is_limited_like_logging_in() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let mut limited = false;
    for _ in 0..30 {
        let res = app
            .post_json(
                &alice.http,
                "/api/me/password",
                json!({"current_password": "a wrong guess", "new_password": "whatever it is"}),
            )
            .await;
        match res.status() {
            StatusCode::FORBIDDEN => continue,
            StatusCode::TOO_MANY_REQUESTS => {
                limited = true;
                break;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(limited, "30 wrong guesses were all answered");
}

#[tokio::test]
async fn the_export_has_every_message_of_my_conversations_and_nothing_of_anyone_elses() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let carol = app.sign_up("carol").await;
    let dave = app.sign_up("dave").await;
    // More than two pages of the export's reads, straight into the table (the send limit would
    // take a while), then some the usual way.
    app.bulk_insert(&alice, &bob, (0..1_195).map(|n| format!("with bob {n}")))
        .await;
    for n in 0..5 {
        app.send_http(&bob, alice.id, &format!("bob answers {n}"))
            .await;
    }
    app.send_http(&carol, alice.id, "hi alice").await;
    app.send_http(&alice, carol.id, "hi carol").await;
    let deleted = app.send_http(&alice, carol.id, "regret").await["id"]
        .as_i64()
        .unwrap();
    let res = app
        .http_delete(
            &alice,
            &format!("/api/conversations/{}/messages/{deleted}", carol.id),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    app.send_http(&carol, dave.id, "carol and dave, privately")
        .await;
    let res = app
        .post_json(&alice.http, &format!("/api/blocks/{}", dave.id), json!({}))
        .await;
    assert!(res.status().is_success());

    let res = app.get(&alice.http, "/api/me/export").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/json");
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"parley-alice-"),
        "{disposition}"
    );
    let text = res.text().await.unwrap();
    assert!(!text.contains("privately"), "someone else's conversation");
    let export: Value = serde_json::from_str(&text).expect("the export is one JSON document");
    assert_eq!(export["format"], "parley-export/1");
    assert_eq!(export["account"]["username"], "alice");
    assert_eq!(export["blocks"][0]["user"]["username"], "dave");
    let conversations = export["conversations"].as_array().unwrap();
    let peers: Vec<&str> = conversations
        .iter()
        .map(|c| c["peer"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(peers, ["bob", "carol"]);

    // Every message, in order, exactly as the history API gives it.
    for (conversation, peer) in conversations.iter().zip([bob.id, carol.id]) {
        let mut history = Vec::new();
        let mut before: Option<i64> = None;
        loop {
            let query = match before {
                Some(id) => format!("?limit=200&before={id}"),
                None => "?limit=200".to_owned(),
            };
            let page = app.history(&alice, peer, &query).await;
            let messages = page["messages"].as_array().unwrap().clone();
            before = messages.first().map(|m| m["id"].as_i64().unwrap());
            history.splice(0..0, messages);
            if page["has_more"] == false {
                break;
            }
        }
        assert_eq!(conversation["messages"].as_array().unwrap(), &history);
    }
    assert_eq!(
        conversations[0]["messages"].as_array().unwrap().len(),
        1_200
    );
    let with_carol = conversations[1]["messages"].as_array().unwrap();
    assert_eq!(with_carol.len(), 3);
    assert_eq!(with_carol[2]["deleted"], true);
    assert_eq!(with_carol[2]["message"], "");
    assert!(conversations[1]["read_up_to"].is_i64());
}
