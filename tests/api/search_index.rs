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
    for n in 0..5 {
        app.send_http(&alice, bob.id, &format!("pangolin {n}"))
            .await;
    }
    assert_eq!(app.search(&bob, "pangolin").await.len(), 5);
    // Removed outright, as the retention policy removes old messages.
    let db = database(dir.path()).await;
    sqlx::query("delete from chat where message in ('pangolin 1', 'pangolin 3')")
        .execute(&db)
        .await
        .unwrap();

    // The next search waits for a pass, which takes the two out; the list of removals is
    // emptied a few seconds later.
    app.send_http(&alice, bob.id, "one more").await;
    assert_eq!(app.search(&bob, "pangolin").await.len(), 3);
    let indexed: i64 = {
        let index = dir.path().join("test-search.db");
        let index =
            SqlitePool::connect_with(SqliteConnectOptions::new().filename(index).read_only(true))
                .await
                .unwrap();
        sqlx::query_scalar("select count(*) from chat_words")
            .fetch_one(&index)
            .await
            .unwrap()
    };
    assert_eq!(
        indexed, 4,
        "three pangolins and one more: nothing removed stays"
    );
    let pending = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from chat_removed")
            .fetch_one(&db)
            .await
            .unwrap()
    };
    for _ in 0..100 {
        if pending().await == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "chat_removed still lists {} applied removals",
        pending().await
    );
}
