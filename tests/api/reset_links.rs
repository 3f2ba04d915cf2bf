//! Password reset without e-mail: an admin's one-time link (audited, with a reason), the same from
//! the command line, and the reset page that uses it.

use crate::helpers::{spawn_app, TestApp, PASSWORD};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

async fn make_link(app: &TestApp, http: &Client, user: i64, reason: &str) -> Response {
    app.post_json(
        http,
        &format!("/api/admin/users/{user}/reset-link"),
        json!({ "reason": reason }),
    )
    .await
}

/// What a browser without JavaScript sends for the reset form.
async fn use_link(app: &TestApp, path: &str, new_password: &str) -> Response {
    let (browser, _) = app.client();
    let token = path.trim_start_matches("/reset/");
    let body = format!(
        "token={token}&new_password={}",
        new_password.replace(' ', "+")
    );
    browser
        .post(app.url("/_app/reset-password"))
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("referer", app.url(path))
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn log_in_status(app: &TestApp, username: &str, password: &str) -> StatusCode {
    let (http, _) = app.client();
    app.post_json(
        &http,
        "/api/auth/login",
        json!({"username": username, "password": password}),
    )
    .await
    .status()
}

#[tokio::test]
async fn an_admin_makes_a_one_time_link_with_a_reason_that_is_audited() {
    let app = spawn_app().await;
    let admin = app.sign_up_admin("root").await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;

    // To anyone but an admin the route does not exist.
    assert_eq!(
        make_link(&app, &bob.http, alice.id, "curious")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let res = make_link(&app, &admin.http, alice.id, "  ").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "reason_required");
    assert_eq!(
        make_link(&app, &admin.http, 9_999, "ticket #1")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    let res = make_link(&app, &admin.http, alice.id, "forgot it, ticket #42").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let link: Value = res.json().await.unwrap();
    let path = link["path"].as_str().unwrap();
    let token = path.strip_prefix("/reset/").expect("a reset path");
    assert_eq!(token.len(), 64);
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
    let expires =
        chrono::DateTime::parse_from_rfc3339(link["expires_at"].as_str().unwrap()).unwrap();
    let hours = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
    assert!((23 * 60..=24 * 60).contains(&hours), "{hours} minutes");
    // The database keeps only a hash of the token.
    let stored = app
        .scalar(
            &format!("select count(*) from reset_link where token_hash = '{token}'"),
            &[],
        )
        .await;
    assert_eq!(stored, 0);

    let audit: Value = app
        .get(&admin.http, "/api/admin/audit")
        .await
        .json()
        .await
        .unwrap();
    let entry = &audit["entries"][0];
    assert_eq!(entry["action"], "create_reset_link");
    assert_eq!(entry["reason"], "forgot it, ticket #42");
    assert_eq!(entry["user_a"]["id"], alice.id);
}

#[tokio::test]
async fn a_link_sets_the_password_once_and_ends_every_session() {
    let app = spawn_app().await;
    let admin = app.sign_up_admin("root").await;
    let alice = app.sign_up("alice").await;
    let other = app.log_in("alice").await;
    let mut socket = app.connect(&other).await;
    let res = make_link(&app, &admin.http, alice.id, "locked out").await;
    let link: Value = res.json().await.unwrap();
    let path = link["path"].as_str().unwrap().to_owned();

    // The page greets its owner, logged in or not.
    let (anonymous, _) = app.client();
    let page = app.get(&anonymous, &path).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Set a new password") && html.contains("alice"),
        "{html}"
    );

    // A new password that breaks the rules changes nothing and keeps the link.
    let res = use_link(&app, &path, "short").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .contains("__err="));
    assert_eq!(log_in_status(&app, "alice", PASSWORD).await, StatusCode::OK);

    let res = use_link(&app, &path, "a brand new passphrase").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/login");
    let leave = socket.next_json().await;
    assert_eq!(leave["reason"], "logout", "{leave}");
    assert!(
        matches!(socket.next_message().await, Message::Close(Some(close)) if u16::from(close.code) == 1000)
    );
    for person in [&alice, &other] {
        assert_eq!(
            app.get(&person.http, "/api/me").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        log_in_status(&app, "alice", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        log_in_status(&app, "alice", "a brand new passphrase").await,
        StatusCode::OK
    );

    // Once only.
    let res = use_link(&app, &path, "another new passphrase").await;
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .contains("__err="));
    assert_eq!(
        log_in_status(&app, "alice", "another new passphrase").await,
        StatusCode::UNAUTHORIZED
    );
    let page = app.get(&anonymous, &path).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let html = page.text().await.unwrap();
    assert!(html.contains("Ask an admin for a new one"), "{html}");
    assert!(!html.contains("Set password"), "{html}");
}

#[tokio::test]
async fn a_link_expires_after_a_day() {
    let app = spawn_app().await;
    let admin = app.sign_up_admin("root").await;
    let alice = app.sign_up("alice").await;
    let link: Value = make_link(&app, &admin.http, alice.id, "ticket")
        .await
        .json()
        .await
        .unwrap();
    let path = link["path"].as_str().unwrap();
    // As if it had been made 24 hours and a minute ago.
    app.execute("update reset_link set expires_at = expires_at - 86460000")
        .await
        .unwrap();
    let res = use_link(&app, path, "a brand new passphrase").await;
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .contains("__err="));
    assert_eq!(log_in_status(&app, "alice", PASSWORD).await, StatusCode::OK);
    // A made-up token is no link either.
    let res = use_link(
        &app,
        &format!("/reset/{}", "0".repeat(64)),
        "a brand new passphrase",
    )
    .await;
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .contains("__err="));
}

#[tokio::test]
async fn the_command_line_makes_a_link_too() {
    let app = spawn_app().await;
    app.sign_up("alice").await;
    let run = |username: &str| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_parley"))
            .args(["reset-link", "--username", username])
            .env("DATABASE_URL", &app.database_url)
            .env("RUST_LOG", "warn")
            .output()
    };
    let output = run("alice").await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(path.starts_with("/reset/"), "{path}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("works once"));

    let res = use_link(&app, &path, "a brand new passphrase").await;
    assert_eq!(res.headers()["location"], "/login");
    assert_eq!(
        log_in_status(&app, "alice", "a brand new passphrase").await,
        StatusCode::OK
    );

    let output = run("nobody").await.unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no user called nobody"));
}
