//! On SQLite, what is stored goes first to the write-ahead log (`-wal`) and is copied back into the
//! database file by the store's own checkpoints (`store::sqlite::checkpoints`), not by the
//! writer's commits. A copy of the database file alone, as a careless backup would take, has a
//! message soon after it was sent, also after a pause in which nothing was written (when the
//! checkpoints only watch the log).

use crate::helpers::spawn_app_on;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many messages with `text` a copy of the database file alone (without its log) holds;
/// `None` while the copy cannot be read (a checkpoint was writing the file as it was copied).
async fn in_the_file_alone(database: &Path, text: &str) -> Option<i64> {
    let copy = tempfile::tempdir().unwrap();
    let file = copy.path().join("copy.db");
    std::fs::copy(database, &file).ok()?;
    let url = format!("sqlite://{}", file.display());
    let pool = SqlitePool::connect_with(SqliteConnectOptions::from_str(&url).ok()?)
        .await
        .ok()?;
    let count = sqlx::query_scalar("select count(*) from chat where message = ?")
        .bind(text)
        .fetch_one(&pool)
        .await
        .ok();
    pool.close().await;
    count
}

#[tokio::test]
async fn stored_messages_reach_the_database_file_itself() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let database = dir.path().join("test.db");
    let app = spawn_app_on(format!("sqlite://{}", database.display()), Arc::clone(&dir)).await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    for round in ["first", "after a pause"] {
        let text = format!("the {round} message");
        app.send_http(&alice, bob.id, &text).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while in_the_file_alone(&database, &text).await != Some(1) {
            assert!(
                Instant::now() < deadline,
                "the {round} message is still only in the log after 10 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Longer than the checkpoints' tick: ticks pass with nothing new in the log.
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
}
