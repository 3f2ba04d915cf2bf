//! SQLite's full-text index lives in a file of its own, written by a follower behind the message
//! writer (`store::sqlite::search_index`). A search still finds everything written before it; the
//! index is rebuilt when its file is lost or when the database is older than the index; rows
//! removed from the database leave it.

use crate::helpers::{spawn_app_on, TestApp};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use tempfile::TempDir;

/// An app on an SQLite file in `dir` (whichever backend the rest of the suite runs on).
async fn app_on_sqlite(dir: Arc<TempDir>) -> TestApp {
    let url = format!("sqlite://{}/test.db", dir.path().display());
    spawn_app_on(url, dir).await
}

fn index_files(dir: &Path) -> Vec<PathBuf> {
    ["test-search.db", "test-search.db-wal", "test-search.db-shm"]
        .iter()
        .map(|name| dir.join(name))
        .filter(|path| path.exists())
        .collect()
}

async fn database(dir: &Path) -> SqlitePool {
    let url = format!("sqlite://{}/test.db", dir.display());
    SqlitePool::connect_with(SqliteConnectOptions::from_str(&url).unwrap())
        .await
        .expect("open the database")
}

#[tokio::test]
async fn what_was_sent_just_before_a_search_is_found_by_it() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let app = app_on_sqlite(dir).await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    for n in 0..20 {
        app.send_http(&alice, bob.id, &format!("kumquat number {n}"))
            .await;
        // Each search comes right after a commit, before any pause for the follower.
        assert_eq!(app.search(&bob, "kumquat").await.len(), n + 1);
    }
}

#[tokio::test]
async fn a_lost_index_file_is_rebuilt_from_the_messages() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let app = app_on_sqlite(Arc::clone(&dir)).await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    app.send_http(&alice, bob.id, "the wombat is asleep").await;
    app.send_http(&bob, alice.id, "a quokka smiles").await;
    assert_eq!(app.search(&bob, "wombat").await.len(), 1);
    let indexes = index_files(dir.path());
    assert!(
        !indexes.is_empty(),
        "the index has a file beside the database"
    );

    let app = {
        let url = app.database_url.clone();
        drop(app);
        for file in indexes {
            std::fs::remove_file(file).unwrap();
        }
        spawn_app_on(url, Arc::clone(&dir)).await
    };
    let bob = app.log_in("bob").await;
    assert_eq!(app.search(&bob, "wombat").await, ["the wombat is asleep"]);
    assert_eq!(app.search(&bob, "quokka").await, ["a quokka smiles"]);
}

#[tokio::test]
async fn an_index_ahead_of_an_older_database_is_rebuilt() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let app = app_on_sqlite(Arc::clone(&dir)).await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    for n in 0..3 {
        app.send_http(&alice, bob.id, &format!("later message {n}"))
            .await;
    }
    assert_eq!(app.search(&bob, "later").await.len(), 3);
    let url = app.database_url.clone();
    drop(app);
    // As if the database were restored from a copy taken before those messages: the index has
    // read three positions that the database no longer has, and the next messages take them.
    let db = database(dir.path()).await;
    for table in ["conversation", "chat_change", "chat", "chat_removed"] {
        sqlx::query(&format!("delete from {table}"))
            .execute(&db)
            .await
            .unwrap();
    }
    db.close().await;

    let app = spawn_app_on(url, Arc::clone(&dir)).await;
    let alice = app.log_in("alice").await;
    let bob = app.log_in("bob").await;
    app.send_http(&alice, bob.id, "a numbat after the restore")
        .await;
    assert_eq!(
        app.search(&bob, "numbat").await,
        ["a numbat after the restore"]
    );
    assert!(app.search(&bob, "later").await.is_empty());
}

#[tokio::test]
async fn rows_removed_from_the_database_leave_the_index() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let app = app_on_sqlite(Arc::clone(&dir)).await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    // More than one pass takes out (5,000), as a retention run can leave behind.
    app.bulk_insert(&alice, &bob, (0..12_000).map(|n| format!("filler {n}")))
        .await;
    for n in 0..5 {
        app.send_http(&alice, bob.id, &format!("pangolin {n}"))
            .await;
    }
    assert_eq!(app.search(&bob, "pangolin").await.len(), 5);
    // Removed outright, as the retention policy removes old messages.
    let db = database(dir.path()).await;
    sqlx::query(
        "delete from chat where message like 'filler %' or message in ('pangolin 1', 'pangolin 3')",
    )
    .execute(&db)
    .await
    .unwrap();
    app.send_http(&alice, bob.id, "one more").await;
    assert_eq!(app.search(&bob, "pangolin").await.len(), 3);

    // Out of the index within a few passes, and out of the list of removals a few seconds later.
    let index = SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(dir.path().join("test-search.db"))
            .read_only(true),
    )
    .await
    .unwrap();
    let count = |pool: &SqlitePool, sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let mut left = (-1, -1);
    for _ in 0..150 {
        left = (
            count(&index, "select count(*) from chat_words").await,
            count(&db, "select count(*) from chat_removed").await,
        );
        // Three pangolins and one more; nothing removed stays in either.
        if left == (4, 0) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("(indexed rows, removals still listed) = {left:?}, not (4, 0)");
}
