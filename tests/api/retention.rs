//! The retention policy (`PARLEY_RETENTION_DAYS`): the background task removes exactly the
//! messages older than the limit, keeps the inbox's summaries and unread counts right, records
//! each run in the audit log, and never hands out a removed position again.

use crate::helpers::{spawn_app_with, TestApp};
use parley::domain::admin::AuditAction;
use parley::domain::UserId;
use parley::server::store::{AdminStore, MessageStore};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

async fn app_keeping_30_days() -> TestApp {
    spawn_app_with(|config| config.retention_days = Some(30)).await
}

/// How many messages every recorded run removed, together.
async fn removed_by_runs(app: &TestApp) -> u64 {
    let runs = app
        .state
        .store
        .audit_log(Some(AuditAction::RetentionRun), 0, 1000)
        .await
        .unwrap();
    runs.iter()
        .map(|run| {
            let detail = run.detail.as_deref().unwrap_or_default();
            let count = detail
                .strip_prefix("removed ")
                .and_then(|rest| rest.split(' ').next())
                .unwrap_or_else(|| panic!("a run says what it removed: {detail:?}"));
            count.parse::<u64>().unwrap()
        })
        .sum()
}

/// Wakes the background task and waits until its runs have removed `expected` messages.
async fn run_retention_until_removed(app: &TestApp, expected: u64) {
    app.state.housekeeping.wake();
    for _ in 0..200 {
        if removed_by_runs(app).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "retention removed {} messages, not {expected}",
        removed_by_runs(app).await
    );
}

#[tokio::test]
async fn retention_removes_exactly_the_old_messages_and_keeps_the_inbox_right() {
    let app = app_keeping_30_days().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let carol = app.sign_up("carol").await;
    // Dated in 2023: long past 30 days. More than two batches' worth.
    app.bulk_insert(&alice, &bob, (0..1200).map(|n| format!("old {n}")))
        .await;
    app.bulk_insert(&carol, &bob, (0..3).map(|n| format!("carol's old {n}")))
        .await;
    let new = app.send_http(&alice, bob.id, "new one").await;
    let reply = app.send_http(&bob, alice.id, "and my reply").await;
    // Bob had read the first 600 of Alice's old messages: 600 old ones are unread, and the new one.
    let six_hundredth: i64 = app
        .scalar(
            "select id from chat where sender = $1 order by id limit 1 offset 599",
            &[alice.id],
        )
        .await;
    app.state
        .store
        .mark_read(UserId::new(bob.id), UserId::new(alice.id), six_hundredth)
        .await
        .unwrap();
    let before = app.inbox(&bob).await;
    let with_alice = before.iter().find(|c| c["peer"]["id"] == alice.id).unwrap();
    assert_eq!(with_alice["unread"], 601);

    run_retention_until_removed(&app, 1203).await;

    let left: i64 = app.scalar("select count(*) from chat", &[]).await;
    assert_eq!(left, 2, "only the two new messages");
    let page = app.history(&bob, alice.id, "").await;
    let texts: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["new one", "and my reply"]);

    let inbox = app.inbox(&bob).await;
    assert_eq!(
        inbox.len(),
        1,
        "Carol's conversation had nothing left: {inbox:?}"
    );
    assert_eq!(inbox[0]["peer"]["id"], alice.id);
    assert_eq!(inbox[0]["unread"], 1, "only the new message is unread");
    assert_eq!(inbox[0]["last_message"]["id"], reply["id"]);
    let alices = app.inbox(&alice).await;
    assert_eq!(
        alices[0]["unread"], 1,
        "her count of Bob's messages is untouched"
    );
    let found: i64 = app
        .scalar(
            "select count(*) from chat where id = $1",
            &[new["id"].as_i64().unwrap()],
        )
        .await;
    assert_eq!(found, 1);
}

#[tokio::test]
async fn every_run_is_audited_and_the_admin_console_shows_the_policy() {
    let app = app_keeping_30_days().await;
    let admin = app.sign_up_admin("root").await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    app.bulk_insert(&alice, &bob, (0..7).map(|n| format!("old {n}")))
        .await;
    run_retention_until_removed(&app, 7).await;

    let res = app.get(&admin.http, "/api/admin/retention").await;
    assert_eq!(res.status(), StatusCode::OK);
    let retention: Value = res.json().await.unwrap();
    assert_eq!(retention["days"], 30);
    let last = &retention["last_run"];
    assert_eq!(last["action"], "retention_run");
    assert_eq!(last["admin"], Value::Null, "the server ran it");
    assert!(
        last["detail"]
            .as_str()
            .unwrap()
            .contains("(kept for 30 days)"),
        "{last}"
    );
    let res = app.get(&alice.http, "/api/admin/retention").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "admins only");
}

#[tokio::test]
async fn without_a_policy_nothing_is_removed() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.sign_up_admin("root").await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    app.bulk_insert(&alice, &bob, (0..5).map(|n| format!("old {n}")))
        .await;
    app.state.housekeeping.wake();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let left: i64 = app.scalar("select count(*) from chat", &[]).await;
    assert_eq!(left, 5);
    let retention: Value = app
        .get(&admin.http, "/api/admin/retention")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(retention["days"], Value::Null);
    assert_eq!(retention["last_run"], Value::Null);
}

#[tokio::test]
async fn a_removed_position_is_never_handed_out_again() {
    let app = app_keeping_30_days().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    app.bulk_insert(&alice, &bob, (0..5).map(|n| format!("old {n}")))
        .await;
    let newest_removed: i64 = app.scalar("select max(id) from chat", &[]).await;
    run_retention_until_removed(&app, 5).await;
    assert_eq!(app.scalar("select count(*) from chat", &[]).await, 0);

    // Everything is gone, the newest position included; a client that saw it resumes above it.
    let next = app.send_http(&alice, bob.id, "after the gap").await;
    assert!(
        next["id"].as_i64().unwrap() > newest_removed,
        "{next} reuses a removed position (<= {newest_removed})"
    );
    let mut socket = app.connect_after(&bob, newest_removed).await;
    let frame = socket.next_json().await;
    assert_eq!(frame["message"]["message"], "after the gap", "{frame}");
    assert!(app
        .state
        .store
        .newest_position()
        .await
        .is_ok_and(|p| p >= next["id"].as_i64().unwrap()));
}
