//! The storage layer under load and across an upgrade: group commit, the per-conversation summary
//! kept by triggers, and the migration that builds it from an existing database. What the storage
//! contract promises runs on both backends (`…_on_postgres`); the upgrade is SQLite's own.

use crate::helpers::{spawn_app, spawn_app_on, spawn_app_on_postgres, TestApp, PASSWORD};
use futures_util::future::join_all;
use parley::domain::{ClientId, Password, UserId};
use parley::server::store::{MessageStore, NewMessage, StoreError, Stored};
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;

/// Stores `texts` from `from` to `to` all at once (queued before the writer runs, so they share
/// transactions), with the given client_ids.
async fn send_all_at_once(
    app: &TestApp,
    from: i64,
    to: impl Fn(usize) -> UserId,
    texts: &[String],
    client_id: impl Fn(usize) -> Option<ClientId>,
) -> Vec<Result<Stored, StoreError>> {
    join_all(texts.iter().enumerate().map(|(n, text)| {
        app.state.store.insert_message(NewMessage {
            sender: UserId::new(from),
            receiver: to(n),
            text,
            client_id: client_id(n),
        })
    }))
    .await
}

#[tokio::test]
async fn concurrent_sends_are_each_stored_once_retries_included() {
    concurrent_sends_are_each_stored_once(spawn_app().await).await;
}

#[tokio::test]
async fn concurrent_sends_are_each_stored_once_retries_included_on_postgres() {
    concurrent_sends_are_each_stored_once(spawn_app_on_postgres().await).await;
}

async fn concurrent_sends_are_each_stored_once(app: TestApp) {
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let earlier = app
        .send_http(&alice, bob.id, "stored before the burst")
        .await;
    let earlier_id: ClientId = ClientId::new_v4();
    let first = send_all_at_once(
        &app,
        alice.id,
        |_| UserId::new(bob.id),
        &["keyed".into()],
        |_| Some(earlier_id),
    )
    .await;
    let keyed = first[0].as_ref().unwrap().message.clone();

    let retried = ClientId::new_v4();
    let texts: Vec<String> = (0..200).map(|n| format!("burst {n}")).collect();
    // Sends 10 and 150 share a client_id (150 is a retry of 10 in the same burst); 60 retries a
    // message stored before the burst.
    let outcomes = send_all_at_once(
        &app,
        alice.id,
        |_| UserId::new(bob.id),
        &texts,
        |n| match n {
            10 | 150 => Some(retried),
            60 => Some(earlier_id),
            n if n % 3 == 0 => Some(ClientId::new_v4()),
            _ => None,
        },
    )
    .await;

    let outcomes: Vec<&Stored> = outcomes
        .iter()
        .map(|o| o.as_ref().expect("stored"))
        .collect();
    for (n, stored) in outcomes.iter().enumerate() {
        let replay = n == 150 || n == 60;
        assert_eq!(stored.is_new, !replay, "send {n}");
        let expected = match n {
            150 => "burst 10",
            60 => "keyed",
            _ => texts[n].as_str(),
        };
        assert_eq!(stored.message.message, expected, "send {n}");
    }
    assert_eq!(outcomes[150].message, outcomes[10].message);
    assert_eq!(outcomes[60].message, keyed);

    // What bob sees: the 200 - 2 new messages after the two earlier ones, each once, dated in the
    // order they were stored.
    let page = app.history(&bob, alice.id, "?limit=200").await;
    let messages = page["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 200);
    assert_eq!(messages[0]["id"], earlier["id"]);
    let ids: Vec<i64> = messages.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "history in id order: {ids:?}"
    );
    let dates: Vec<&str> = messages
        .iter()
        .map(|m| m["date"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "dates follow ids");
    let mut stored_ids: Vec<i64> = outcomes.iter().map(|s| s.message.id).collect();
    stored_ids.sort_unstable();
    stored_ids.dedup();
    assert_eq!(
        stored_ids.len(),
        199,
        "198 new rows and the earlier keyed one"
    );
    let inbox = app.inbox(&bob).await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["unread"], 200);
    assert_eq!(inbox[0]["last_message"]["id"], ids[199]);
}

#[tokio::test]
async fn a_send_to_nobody_in_a_burst_fails_alone() {
    a_send_to_nobody_fails_alone(spawn_app().await).await;
}

#[tokio::test]
async fn a_send_to_nobody_in_a_burst_fails_alone_on_postgres() {
    a_send_to_nobody_fails_alone(spawn_app_on_postgres().await).await;
}

async fn a_send_to_nobody_fails_alone(app: TestApp) {
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let texts: Vec<String> = (0..50).map(|n| format!("burst {n}")).collect();
    let retried = ClientId::new_v4();
    let outcomes = send_all_at_once(
        &app,
        alice.id,
        |n| UserId::new(if n == 17 { 999_999 } else { bob.id }),
        &texts,
        |n| (n == 3 || n == 40).then_some(retried),
    )
    .await;

    assert!(matches!(outcomes[17], Err(StoreError::MissingReference)));
    for (n, outcome) in outcomes.iter().enumerate().filter(|(n, _)| *n != 17) {
        let stored = outcome.as_ref().expect("stored");
        assert_eq!(stored.is_new, n != 40, "send {n}");
        assert_eq!(stored.message.message, texts[if n == 40 { 3 } else { n }]);
    }
    let page = app.history(&bob, alice.id, "?limit=200").await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 48);
}

/// Users and messages as a database of the release before the `conversation` table held them.
async fn database_before_conversations(url: &str) {
    let options = SqliteConnectOptions::from_str(url)
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePool::connect_with(options).await.unwrap();
    let mut migrator = sqlx::migrate!("./migrations/sqlite");
    let earlier: Vec<_> = migrator
        .migrations
        .iter()
        .filter(|m| m.version < 4)
        .cloned()
        .collect();
    assert_eq!(earlier.len(), 3);
    migrator.migrations = Cow::Owned(earlier);
    migrator.run(&pool).await.unwrap();

    let hash = parley::server::hashing::hash_password(Password::parse(PASSWORD.into()).unwrap())
        .await
        .unwrap();
    for (id, name) in [(1, "alice"), (2, "bob"), (3, "carol")] {
        sqlx::query(
            "insert into users (id, username, password_hash, created_at) values ($1, $2, $3, 0)",
        )
        .bind(id)
        .bind(name)
        .bind(&hash)
        .execute(&pool)
        .await
        .unwrap();
    }
    // (sender, receiver, text, date): dates deliberately not in id order.
    let rows = [
        (1, 2, "alice to bob", 1_000),
        (2, 1, "bob 1", 2_000),
        (2, 1, "bob 2", 3_000),
        (3, 1, "carol, long ago", 500),
        (1, 1, "a note to self", 4_000),
        (3, 1, "carol, even earlier", 400),
    ];
    for (sender, receiver, text, date) in rows {
        sqlx::query("insert into chat (sender, receiver, message, date) values ($1, $2, $3, $4)")
            .bind(sender)
            .bind(receiver)
            .bind(text)
            .bind(date)
            .execute(&pool)
            .await
            .unwrap();
    }
    // Alice has read bob's first message (id 2).
    sqlx::query("insert into read_pointer (reader, peer, up_to) values (1, 2, 2)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

fn summary(conversation: &Value) -> (String, String, i64) {
    (
        conversation["peer"]["username"]
            .as_str()
            .unwrap()
            .to_owned(),
        conversation["last_message"]["message"]
            .as_str()
            .unwrap()
            .to_owned(),
        conversation["unread"].as_i64().unwrap(),
    )
}

fn owned(rows: &[(&str, &str, i64)]) -> Vec<(String, String, i64)> {
    rows.iter()
        .map(|(p, m, u)| (p.to_string(), m.to_string(), *u))
        .collect()
}

#[tokio::test]
async fn upgrading_keeps_every_inbox_unread_count_and_read_pointer() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let url = format!("sqlite://{}/old.db", dir.path().display());
    database_before_conversations(&url).await;

    let app = spawn_app_on(url, dir).await;
    let alice = app.log_in("alice").await;
    let bob = app.log_in("bob").await;
    let inbox: Vec<_> = app.inbox(&alice).await.iter().map(summary).collect();
    assert_eq!(
        inbox,
        owned(&[
            ("alice", "a note to self", 0),
            ("bob", "bob 2", 1),
            ("carol", "carol, long ago", 2),
        ])
    );
    let inbox: Vec<_> = app.inbox(&bob).await.iter().map(summary).collect();
    assert_eq!(inbox, owned(&[("alice", "bob 2", 1)]));
    assert_eq!(
        app.state
            .store
            .read_state(UserId::new(1), UserId::new(2))
            .await
            .unwrap()
            .read_up_to,
        2
    );

    // And the trigger keeps it from here on.
    app.send_http(&bob, alice.id, "bob 3").await;
    let inbox: Vec<_> = app.inbox(&alice).await.iter().map(summary).collect();
    assert_eq!(inbox[0], owned(&[("bob", "bob 3", 2)])[0]);
    assert_eq!(
        app.state.store.unread_total(UserId::new(1)).await.unwrap(),
        4
    );
}

/// A `DATABASE_URL` that names a server must never quietly become a local SQLite file (once,
/// `postgres://…` wrote one called `postgres:`): the server refuses to start, says why, and leaves
/// nothing behind. The message never repeats the URL, which may hold a password.
#[tokio::test]
async fn a_database_url_that_is_not_sqlite_never_becomes_a_local_file() {
    let dir = tempfile::tempdir().unwrap();
    for (url, says) in [
        ("postgres://parley:hunter2@127.0.0.1:1/parley", "PostgreSQL"),
        (
            "postgresql://parley:hunter2@127.0.0.1:1/parley",
            "PostgreSQL",
        ),
        ("mysql://root:hunter2@127.0.0.1:1/parley", "sqlite://"),
        ("parley.db", "sqlite://"),
    ] {
        let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_parley"))
            .current_dir(dir.path())
            .env("DATABASE_URL", url)
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(std::time::Duration::from_secs(30), run)
            .await
            .expect("the server gives up instead of serving")
            .expect("run the server binary");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{url} started: {stderr}");
        assert!(stderr.contains(says), "{url}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{url}: {stderr}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{url} left {left:?}");
    }
}
