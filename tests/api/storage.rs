//! The storage layer under load and across an upgrade: group commit, the per-conversation summary
//! kept by triggers, and the migration that builds it from an existing database.

use crate::helpers::{spawn_app, spawn_app_on, PASSWORD};
use futures_util::future::join_all;
use parley::domain::{ClientId, Password, UserId};
use parley::server::store::{ChatStore, NewMessage, StoreError};
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;

#[tokio::test]
async fn concurrent_sends_are_each_stored_once_and_a_bad_one_fails_alone() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let nobody = UserId::new(999_999);
    let retried = ClientId::new_v4();
    let texts: Vec<String> = (0..200).map(|n| format!("burst {n}")).collect();

    // All queued before the writer runs, so they share transactions: one with an unknown
    // receiver, and one retry of another's client_id.
    let outcomes = join_all(texts.iter().enumerate().map(|(n, text)| {
        app.state.store.insert_message(NewMessage {
            sender: UserId::new(alice.id),
            receiver: if n == 77 { nobody } else { UserId::new(bob.id) },
            text,
            client_id: (n == 10 || n == 150).then_some(retried),
        })
    }))
    .await;

    assert!(matches!(outcomes[77], Err(StoreError::MissingReference)));
    let stored: Vec<_> = outcomes
        .iter()
        .enumerate()
        .filter(|(n, _)| *n != 77)
        .map(|(n, outcome)| (n, outcome.as_ref().expect("stored")))
        .collect();
    let original = &outcomes[10].as_ref().unwrap().message;
    let retry = outcomes[150].as_ref().unwrap();
    assert!(!retry.is_new, "the retry stored nothing new");
    assert_eq!(&retry.message, original);
    assert!(stored.iter().all(|(n, s)| s.is_new == (*n != 150)
        && s.message.message == texts[if *n == 150 { 10 } else { *n }]));

    // What bob sees: 198 messages, each once, dated in the order they were stored.
    let page = app.history(&bob, alice.id, "?limit=200").await;
    let messages = page["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 198);
    assert_eq!(page["has_more"], false);
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
    let inbox = app.inbox(&bob).await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["unread"], 198);
    assert_eq!(inbox[0]["last_message"]["id"], ids[197]);
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

    let hash = parley::server::auth::hash_password(Password::parse(PASSWORD.into()).unwrap())
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
            .read_pointer(UserId::new(1), UserId::new(2))
            .await
            .unwrap(),
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
