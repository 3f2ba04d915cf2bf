//! What only PostgreSQL has to prove, because only there can several app nodes write at once:
//! ids become visible in id order (a reader resuming after id N never misses a smaller id that
//! commits later), dates never go backwards in id order, and a retry that reaches two nodes at
//! once is stored once. Each "node" is its own `Store` (own pool, own writer) on one database.

use crate::helpers::spawn_app_on_postgres;
use crate::postgres::fresh_database;
use futures_util::future::join_all;
use parley::domain::admin::AuditAction;
use parley::domain::{ClientId, StreamEntry, User, UserId, Username};
use parley::server::store::{
    AccountStore, AdminStore, CommitListener, MessageStore, NewAuditEntry, NewMessage, Store,
};
use reqwest::StatusCode;
use sqlx::{Connection, PgConnection};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A store on `url`, as one app node opens it, and the ids its commit listener heard, in order.
async fn node(url: &str) -> (Store, Arc<Mutex<Vec<i64>>>) {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&heard);
    let on_commit: CommitListener = Arc::new(move |batch: &[StreamEntry]| {
        record
            .lock()
            .unwrap()
            .extend(batch.iter().map(|e| e.position));
    });
    let store = Store::open(url, on_commit).await.expect("open the store");
    (store, heard)
}

async fn user(store: &Store, name: &str) -> User {
    store
        .create_user(&Username::parse(name).unwrap(), "not a real hash", false)
        .await
        .unwrap()
}

/// A few milliseconds, at random: enough to shuffle which node commits when.
fn jitter() -> Duration {
    Duration::from_micros(u64::from(ClientId::new_v4().as_bytes()[0]) * 12)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_become_visible_in_id_order_across_two_nodes() {
    let url = fresh_database().await;
    let (node_a, heard_a) = node(&url).await;
    let (node_b, heard_b) = node(&url).await;
    let (reader, _) = node(&url).await;
    let ann = user(&node_a, "ann").await;
    let bob = user(&node_b, "bob").await;
    let cat = user(&node_a, "cat").await;

    // Four writers per node, every message to or from ann, so her resume sees them all.
    const WRITERS: usize = 4;
    const EACH: usize = 50;
    let mut writers = Vec::new();
    for (n, store) in [&node_a, &node_b]
        .into_iter()
        .cycle()
        .take(2 * WRITERS)
        .enumerate()
    {
        let store = store.clone();
        let (from, to) = match n % 3 {
            0 => (bob.id, ann.id),
            1 => (cat.id, ann.id),
            _ => (ann.id, bob.id),
        };
        writers.push(tokio::spawn(async move {
            for k in 0..EACH {
                tokio::time::sleep(jitter()).await;
                store
                    .insert_message(NewMessage {
                        sender: from,
                        receiver: to,
                        text: &format!("writer {n} message {k}"),
                        client_id: None,
                    })
                    .await
                    .expect("stored");
            }
        }));
    }

    // The reader polls as a reconnecting client would, and also rereads everything, asserting
    // that no id ever turns up below one it has already seen.
    let done = Arc::new(AtomicBool::new(false));
    let reading = {
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let mut seen = BTreeSet::new();
            let mut resumed = BTreeSet::new();
            let mut resume_after = 0;
            let mut polls = 0;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let newest_seen = seen.last().copied().unwrap_or(0);
                let everything = crate::helpers::sent_after(&reader, ann.id, 0, 10_000).await;
                for message in &everything {
                    if seen.insert(message.id) {
                        assert!(
                            message.id > newest_seen,
                            "id {} appeared after {newest_seen} had been seen",
                            message.id
                        );
                    }
                }
                let dates: Vec<_> = everything.iter().map(|m| m.date).collect();
                assert!(
                    dates.windows(2).all(|w| w[0] <= w[1]),
                    "dates go backwards in id order"
                );
                for message in
                    crate::helpers::sent_after(&reader, ann.id, resume_after, 10_000).await
                {
                    resumed.insert(message.id);
                    resume_after = message.id;
                }
                polls += 1;
                if finished {
                    return (seen, resumed, polls);
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    for writer in writers {
        writer.await.expect("writer");
    }
    done.store(true, Ordering::SeqCst);
    let (seen, resumed, polls) = reading.await.expect("reader");

    let total = 2 * WRITERS * EACH;
    assert_eq!(seen.len(), total);
    assert!(
        polls > 10,
        "the reader polled while the writers wrote ({polls})"
    );
    assert_eq!(
        resumed, seen,
        "resuming after the newest id seen skipped nothing"
    );
    // No gaps either: the counter hands out every id once.
    let expected: BTreeSet<i64> = (1..=total as i64).collect();
    assert_eq!(seen, expected);
    // Each node heard its own commits, in id order, and between them every message.
    let heard_a = heard_a.lock().unwrap().clone();
    let heard_b = heard_b.lock().unwrap().clone();
    for heard in [&heard_a, &heard_b] {
        assert!(heard.windows(2).all(|w| w[0] < w[1]), "{heard:?}");
    }
    let heard: BTreeSet<i64> = heard_a.iter().chain(&heard_b).copied().collect();
    assert_eq!(heard, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_that_reaches_two_nodes_at_once_is_stored_once() {
    let url = fresh_database().await;
    let (node_a, _) = node(&url).await;
    let (node_b, _) = node(&url).await;
    let ann = user(&node_a, "ann").await;
    let bob = user(&node_b, "bob").await;
    let send = |store: &Store, key: ClientId| {
        let store = store.clone();
        async move {
            store
                .insert_message(NewMessage {
                    sender: ann.id,
                    receiver: bob.id,
                    text: "sent twice",
                    client_id: Some(key),
                })
                .await
                .expect("stored")
        }
    };

    // One key at a time, and then many at once (so that both nodes batch them).
    let mut keys: Vec<Vec<ClientId>> = (0..20).map(|_| vec![ClientId::new_v4()]).collect();
    keys.push((0..100).map(|_| ClientId::new_v4()).collect());
    let mut stored_ids = BTreeSet::new();
    for round in keys {
        let on_a = join_all(round.iter().map(|&key| send(&node_a, key)));
        let on_b = join_all(round.iter().map(|&key| send(&node_b, key)));
        let (on_a, on_b) = tokio::join!(on_a, on_b);
        for ((a, b), key) in on_a.iter().zip(&on_b).zip(&round) {
            assert_eq!(a.message, b.message, "both callers get the one message");
            assert_eq!(a.message.client_id, Some(*key));
            assert!(a.is_new != b.is_new, "exactly one of them stored it");
            stored_ids.insert(a.message.id);
        }
    }
    let stored = crate::helpers::sent_after(&node_a, ann.id, 0, 10_000).await;
    assert_eq!(stored.len(), 120);
    assert_eq!(stored.len(), stored_ids.len());
    assert_eq!(node_b.unread_total(bob.id).await.unwrap(), 120);
}

/// The unique index is the backstop for a row the writers did not write (an import, a hand
/// edit): a send racing it gets that row back instead of an error.
#[tokio::test]
async fn a_send_racing_a_row_written_outside_the_writer_gets_that_row() {
    let url = fresh_database().await;
    let (node_a, _) = node(&url).await;
    let ann = user(&node_a, "ann").await;
    let bob = user(&node_a, "bob").await;
    let key = ClientId::new_v4();
    let mut import = PgConnection::connect(&url).await.unwrap();
    let mut transaction = import.begin().await.unwrap();
    sqlx::query(
        "insert into chat (id, sender, receiver, message, date, client_id)
         values (1000, $1, $2, 'imported', 0, $3)",
    )
    .bind(ann.id.get())
    .bind(bob.id.get())
    .bind(key)
    .execute(&mut *transaction)
    .await
    .unwrap();

    let sending = {
        let store = node_a.clone();
        tokio::spawn(async move {
            store
                .insert_message(NewMessage {
                    sender: ann.id,
                    receiver: bob.id,
                    text: "sent",
                    client_id: Some(key),
                })
                .await
        })
    };
    // Let the send reach the index and wait there on the import's row.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!sending.is_finished(), "the send waits for the import");
    transaction.commit().await.unwrap();
    let stored = sending.await.unwrap().expect("stored");
    assert!(!stored.is_new);
    assert_eq!(
        (stored.message.id, stored.message.message.as_str()),
        (1000, "imported")
    );
    // The writer goes on with its own ids. (A row written outside it does not move the counter:
    // whatever imports rows must set `message_counter` above them, or resume order breaks.)
    let next = node_a
        .insert_message(NewMessage {
            sender: bob.id,
            receiver: ann.id,
            text: "after",
            client_id: None,
        })
        .await
        .unwrap();
    assert!(next.is_new);
    let after = crate::helpers::sent_after(&node_a, ann.id, 0, 10).await;
    assert_eq!(after.len(), 2);
}

/// Sessions live in PostgreSQL too, and disabling a user can find and end theirs.
#[tokio::test]
async fn sessions_live_in_postgres_and_can_be_ended_per_user() {
    let app = spawn_app_on_postgres().await;
    let ann = app.sign_up("ann").await;
    let bob = app.sign_up("bob").await;
    let ann_again = app.log_in("ann").await;
    for who in [&ann, &bob, &ann_again] {
        let res = app.get(&who.http, "/api/conversations").await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let ended = app
        .state
        .store
        .delete_sessions_of(UserId::new(ann.id))
        .await
        .unwrap();
    assert_eq!(ended, 2);
    for (who, status) in [
        (&ann, StatusCode::UNAUTHORIZED),
        (&ann_again, StatusCode::UNAUTHORIZED),
        (&bob, StatusCode::OK),
    ] {
        let res = app.get(&who.http, "/api/conversations").await;
        assert_eq!(res.status(), status);
    }
    // And a restart logs nobody else out.
    let app = app.restart().await;
    let res = app.get(&bob.http, "/api/conversations").await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// PostgreSQL's text cannot hold NUL; typed text that has one must neither fail a search nor the
/// audit entry that records it. (The search half is in the store contract, for both backends.)
#[tokio::test]
async fn a_nul_in_typed_text_fails_nothing() {
    let url = fresh_database().await;
    let (store, _) = node(&url).await;
    let ann = user(&store, "ann").await;
    let bob = user(&store, "bob").await;
    store
        .insert_message(NewMessage {
            sender: ann.id,
            receiver: bob.id,
            text: "the zebra parcel",
            client_id: None,
        })
        .await
        .unwrap();
    let hits = store
        .search_messages(&["zebra\0parcel"], None, 10)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert!(store
        .search_messages(&["\0"], None, 10)
        .await
        .unwrap()
        .is_empty());
    store
        .append_audit(NewAuditEntry {
            admin: Some(ann.id),
            action: AuditAction::Search,
            user_a: None,
            user_b: None,
            detail: Some("zebra\0"),
            reason: Some("\0"),
        })
        .await
        .unwrap();
    let log = store.audit_log(None, 0, 1).await.unwrap();
    assert_eq!(log[0].detail.as_deref(), Some("zebra\u{FFFD}"));
}
