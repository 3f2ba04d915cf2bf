//! Moving a deployment: `parley copy-database` copies a SQLite database with data into an empty
//! PostgreSQL database, and the server on PostgreSQL then answers every page and API request as
//! the SQLite one did, to the same logged-in browsers.

use crate::helpers::{spawn_app_on, Person, TestApp};
use parley::server::accounts::create_admin;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

/// Everything the people of this test can read through the API, and the pages they see.
async fn answers(app: &TestApp, people: &[&Person], root: &Person) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    for who in people {
        let mut paths = vec![
            "/api/me".to_owned(),
            "/api/conversations".to_owned(),
            "/api/blocks".to_owned(),
        ];
        for peer in people {
            paths.push(format!("/api/conversations/{}/messages", peer.id));
        }
        for path in paths {
            let res = app.get(&who.http, &path).await;
            let status = res.status();
            let body = res.text().await.unwrap();
            seen.push((format!("{} {path}", who.id), format!("{status} {body}")));
        }
        let page = app.get(&who.http, "/").await;
        assert_eq!(
            page.status(),
            StatusCode::OK,
            "the inbox page for {}",
            who.id
        );
    }
    for path in ["/api/admin/users", "/api/admin/chats", "/api/admin/audit"] {
        let res = app.get(&root.http, path).await;
        seen.push((
            format!("root {path}"),
            format!("{} {}", res.status(), res.text().await.unwrap()),
        ));
    }
    seen
}

fn copy(from: &str, to: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["copy-database", "--from", from, "--to", to])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run copy-database")
}

#[tokio::test]
async fn a_copied_deployment_answers_exactly_as_before() {
    // Arrange: a SQLite deployment with messages both ways, a read pointer, a block, an admin's
    // audited reads, and people logged in.
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let sqlite = format!("sqlite://{}/old.db", dir.path().display());
    let app = spawn_app_on(sqlite.clone(), Arc::clone(&dir)).await;
    let root = app.sign_up("root").await;
    create_admin(&app.state, "root", None, true).await.unwrap();
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let carol = app.sign_up("carol").await;
    for text in ["hi bob", "are you there?", "the parcel came"] {
        app.send_http(&alice, bob.id, text).await;
    }
    let reply = app.send_http(&bob, alice.id, "yes, thanks").await;
    app.send_http(&carol, alice.id, "hello from carol").await;
    let mut alice_socket = app.connect(&alice).await;
    alice_socket
        .send_json(json!({"type": "read", "with": bob.id, "up_to": reply["id"]}))
        .await;
    assert_eq!(alice_socket.next_json().await["event"], "read");
    drop(alice_socket);
    let res = app
        .post_json(&alice.http, &format!("/api/blocks/{}", carol.id), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.get(&root.http, "/api/admin/search?q=parcel").await;
    assert_eq!(res.status(), StatusCode::OK);
    let people = [&alice, &bob, &carol, &root];
    let before = answers(&app, &people, &root).await;
    let last_id = reply["id"].as_i64().unwrap() + 1;
    drop(app);

    // Act
    let postgres = crate::postgres::fresh_database().await;
    let output = copy(&sqlite, &postgres);
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(said.contains("copied 5 of 5 messages"), "{said}");
    assert!(said.contains("copied 4 of 4 users"), "{said}");

    // Assert: the same browsers, still logged in, read the same answers on PostgreSQL.
    let app = spawn_app_on(postgres.clone(), Arc::clone(&dir)).await;
    assert!(matches!(
        app.state.store,
        parley::server::store::Store::Postgres(_)
    ));
    let after = answers(&app, &people, &root).await;
    for ((what, was), (_, is)) in before.iter().zip(&after) {
        assert_eq!(was, is, "{what}");
    }
    assert_eq!(before.len(), after.len());
    // New messages continue above the copied ids.
    let next = app.send_http(&bob, alice.id, "after the move").await;
    assert!(next["id"].as_i64().unwrap() > last_id, "{next}");

    // A second copy into the now used database is refused, and changes nothing.
    let again = copy(&sqlite, &postgres);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
    assert_eq!(app.scalar("select count(*) from chat", &[]).await, 6);
}

#[tokio::test]
async fn copying_refuses_what_it_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let postgres = crate::postgres::fresh_database().await;
    let missing = format!("sqlite://{}/nothing-here.db", dir.path().display());
    let output = copy(&missing, &postgres);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no SQLite database"));
    assert!(
        !dir.path().join("nothing-here.db").exists(),
        "a missing source is not created"
    );
    let output = copy(&postgres, &missing);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("copies a SQLite database"));
}
