//! The storage contract (`server/store/mod.rs`), method by method, on both backends: each check
//! below runs once on SQLite and once on PostgreSQL (`<check>::sqlite`, `<check>::postgres`), and
//! both must give the same answers. The HTTP-level suites cover SQLite in depth; these make sure
//! PostgreSQL means the same thing.

use crate::helpers::TestApp;
use parley::domain::admin::AuditAction;
use parley::domain::{
    Change, ChangeRefusal, ClientId, Device, DisplayName, User, UserId, Username,
};
use parley::server::store::{
    AccountStore, AdminStore, ChangeKind, ConversationList, MessageChange, MessageStore,
    NewAuditEntry, NewMessage, PageEnd, ProfileTable, ReadState, SessionRow, SessionTable,
    StoreError,
};

/// Defines each named check (an `async fn(TestApp)` below) as two tests, one per backend.
macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {
        $(
            mod $check {
                #[tokio::test]
                async fn sqlite() {
                    super::$check(crate::helpers::spawn_app().await).await;
                }

                #[tokio::test]
                async fn postgres() {
                    super::$check(crate::helpers::spawn_app_on_postgres().await).await;
                }
            }
        )*
    };
}

on_both_backends!(
    accounts_names_and_admin_flags,
    conversations_unread_counts_and_read_pointers,
    blocks_and_relations,
    history_pages_end_where_asked,
    resume_reads_every_message_after_an_id,
    admin_views_and_the_audit_log,
    search_treats_every_typed_word_as_a_plain_word,
    sessions_by_id_expiry_and_owner,
    session_callers_with_their_account_and_device,
    devices_by_owner_and_handle,
    changes_and_exports,
    profiles_and_deleted_accounts,
);

async fn user(app: &TestApp, name: &str) -> User {
    app.state
        .store
        .create_user(&Username::parse(name).unwrap(), "not a real hash", false)
        .await
        .unwrap()
}

async fn send(app: &TestApp, from: &User, to: &User, text: &str) -> i64 {
    send_keyed(app, from, to, text, None).await
}

async fn send_keyed(
    app: &TestApp,
    from: &User,
    to: &User,
    text: &str,
    client_id: Option<ClientId>,
) -> i64 {
    app.state
        .store
        .insert_message(NewMessage {
            sender: from.id,
            receiver: to.id,
            text,
            client_id,
        })
        .await
        .unwrap()
        .message
        .id
}

fn names(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.username.as_str()).collect()
}

async fn accounts_names_and_admin_flags(app: TestApp) {
    let store = &app.state.store;
    let ann = user(&app, "ann").await;
    for name in ["anna", "a_bc", "axbc", "bob"] {
        user(&app, name).await;
    }
    let taken = store
        .create_user(&Username::parse("ANN").unwrap(), "h", false)
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");

    let found = store.credentials(&ann.username).await.unwrap().unwrap();
    assert_eq!(found.user, ann);
    assert_eq!(found.password_hash, "not a real hash");
    assert!(!found.disabled);
    assert_eq!(store.user_by_id(ann.id).await.unwrap(), Some(ann.clone()));
    assert_eq!(store.user_by_name("ann").await.unwrap(), Some(ann.clone()));
    assert_eq!(store.user_by_name("nobody").await.unwrap(), None);
    assert_eq!(store.user_by_id(UserId::new(999_999)).await.unwrap(), None);

    // Prefixes are matched as typed, wildcards included, and ASCII case does not matter.
    let search = |prefix: &'static str| async move {
        names(&store.search_users(prefix, ann.id, 10).await.unwrap())
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(search("an").await, ["anna"]);
    assert_eq!(search("AN").await, ["anna"]);
    assert_eq!(search("a_").await, ["a_bc"]);
    assert_eq!(search("a%").await, Vec::<String>::new());
    assert_eq!(search("").await, ["a_bc", "anna", "axbc", "bob"]);
    assert_eq!(store.search_users("", ann.id, 2).await.unwrap().len(), 2);
    // A NUL (which PostgreSQL's text cannot hold) finds nothing, without an error.
    assert_eq!(search("a\0").await, Vec::<String>::new());
    assert_eq!(store.user_by_name("ann\0").await.unwrap(), None);
    assert!(store.accounts("\0", 0, 10).await.unwrap().is_empty());

    assert!(store.promote(&ann.username).await.unwrap());
    assert!(!store
        .promote(&Username::parse("nobody").unwrap())
        .await
        .unwrap());
    assert!(store.user_by_id(ann.id).await.unwrap().unwrap().is_admin);

    let disabled = store.set_disabled(ann.id, true).await.unwrap().unwrap();
    assert_eq!(disabled.id, ann.id);
    assert!(store.account(ann.id).await.unwrap().unwrap().disabled);
    assert!(
        store
            .credentials(&ann.username)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    store.set_disabled(ann.id, false).await.unwrap();
    assert!(!store.account(ann.id).await.unwrap().unwrap().disabled);
    assert!(store
        .set_disabled(UserId::new(999_999), true)
        .await
        .unwrap()
        .is_none());
    assert!(store.account(UserId::new(999_999)).await.unwrap().is_none());
    store.record_login(ann.id).await.unwrap();
    // No session was ever made here, so there is none to delete (the table exists: the router
    // created it when the app started).
    assert_eq!(store.delete_sessions_of(ann.id).await.unwrap(), 0);
}

async fn conversations_unread_counts_and_read_pointers(app: TestApp) {
    let store = &app.state.store;
    let (ann, bob, cat) = (
        user(&app, "ann").await,
        user(&app, "bob").await,
        user(&app, "cat").await,
    );
    let lonely = user(&app, "dan").await;
    let first = send(&app, &ann, &bob, "ann 1").await;
    let bob_1 = send(&app, &bob, &ann, "bob 1").await;
    let bob_2 = send(&app, &bob, &ann, "bob 2").await;
    send(&app, &cat, &ann, "cat 1").await;
    let note = send(&app, &ann, &ann, "a note to self").await;

    let inbox = store.conversations(ann.id).await.unwrap();
    assert_eq!(inbox.latest_id, note);
    let seen: Vec<(&str, &str, i64)> = inbox
        .summaries
        .iter()
        .map(|c| {
            (
                c.peer.username.as_str(),
                c.last_message.message.as_str(),
                c.unread,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("ann", "a note to self", 0),
            ("cat", "cat 1", 1),
            ("bob", "bob 2", 2)
        ]
    );
    let inbox = store.conversations(bob.id).await.unwrap();
    assert_eq!(inbox.summaries.len(), 1);
    let with_ann = &inbox.summaries[0];
    assert_eq!((with_ann.last_message.id, with_ann.unread), (bob_2, 1));
    assert_eq!(inbox.latest_id, bob_2);
    assert_eq!(store.unread_total(ann.id).await.unwrap(), 3);
    assert_eq!(
        store.conversations(lonely.id).await.unwrap(),
        ConversationList::default()
    );

    // Forward only, clamped to the newest message, `None` when nothing moves.
    assert_eq!(
        store.mark_read(ann.id, bob.id, bob_1).await.unwrap(),
        Some(bob_1)
    );
    assert_eq!(
        store.conversations(ann.id).await.unwrap().summaries[2].unread,
        1
    );
    assert_eq!(store.mark_read(ann.id, bob.id, first).await.unwrap(), None);
    assert_eq!(
        store.mark_read(ann.id, bob.id, i64::MAX).await.unwrap(),
        Some(bob_2)
    );
    assert_eq!(
        store.mark_read(ann.id, bob.id, i64::MAX).await.unwrap(),
        None
    );
    let with_bob = store.read_state(ann.id, bob.id).await.unwrap();
    assert_eq!((with_bob.read_up_to, with_bob.peer_read_up_to), (bob_2, 0));
    assert_eq!((with_bob.unread_total, with_bob.latest_id), (1, note));
    // The same conversation from bob's side: ann's pointer is the peer's.
    let with_ann = store.read_state(bob.id, ann.id).await.unwrap();
    assert_eq!((with_ann.read_up_to, with_ann.peer_read_up_to), (0, bob_2));
    assert_eq!((with_ann.unread_total, with_ann.latest_id), (1, bob_2));
    let with_cat = store.read_state(ann.id, cat.id).await.unwrap();
    assert_eq!((with_cat.read_up_to, with_cat.peer_read_up_to), (0, 0));
    assert_eq!(
        store.read_state(lonely.id, ann.id).await.unwrap(),
        ReadState::default()
    );
    assert_eq!(store.mark_read(ann.id, lonely.id, 5).await.unwrap(), None);
    assert_eq!(store.unread_total(ann.id).await.unwrap(), 1);

    // The trigger keeps counting after a read.
    send(&app, &bob, &ann, "bob 3").await;
    assert_eq!(store.unread_total(ann.id).await.unwrap(), 2);
    let inbox = store.conversations(ann.id).await.unwrap().summaries;
    assert_eq!(inbox[0].peer.username.as_str(), "bob");
    assert_eq!(inbox[0].last_message.message, "bob 3");

    // A blocked peer's unread messages leave the total, as they leave the inbox.
    store.block(ann.id, cat.id).await.unwrap();
    assert_eq!(store.unread_total(ann.id).await.unwrap(), 1);
    assert_eq!(
        store.read_state(ann.id, bob.id).await.unwrap().unread_total,
        1
    );
}

async fn blocks_and_relations(app: TestApp) {
    let store = &app.state.store;
    let (ann, bob, cat) = (
        user(&app, "ann").await,
        user(&app, "bob").await,
        user(&app, "cat").await,
    );
    send(&app, &ann, &bob, "hi bob").await;
    send(&app, &bob, &ann, "hi ann").await;
    let from_cat = send(&app, &cat, &ann, "hi, it's cat").await;

    let with_bob = store.relation(ann.id, bob.id).await.unwrap();
    assert!(with_bob.i_wrote && with_bob.peer_wrote);
    assert!(!with_bob.i_blocked && !with_bob.peer_blocked);
    let with_cat = store.relation(ann.id, cat.id).await.unwrap();
    assert!(!with_cat.i_wrote && with_cat.peer_wrote);
    assert_eq!(store.activity_partners(ann.id).await.unwrap(), [bob.id]);
    assert!(store.activity_partners(cat.id).await.unwrap().is_empty());

    store.block(ann.id, bob.id).await.unwrap();
    store.block(ann.id, bob.id).await.unwrap();
    store.block(ann.id, cat.id).await.unwrap();
    assert!(store.relation(ann.id, bob.id).await.unwrap().i_blocked);
    assert!(store.relation(bob.id, ann.id).await.unwrap().peer_blocked);
    assert!(store.activity_partners(ann.id).await.unwrap().is_empty());
    assert!(store.activity_partners(bob.id).await.unwrap().is_empty());
    // Every conversation blocked: none listed, but the newest id still counts them, so a page
    // resumes after them rather than replaying them.
    let inbox = store.conversations(ann.id).await.unwrap();
    assert!(inbox.summaries.is_empty());
    assert_eq!(inbox.latest_id, from_cat);
    assert_eq!(store.unread_total(ann.id).await.unwrap(), 0);
    assert_eq!(
        store.conversations(bob.id).await.unwrap().summaries.len(),
        1
    );
    let blocked = store.blocks(ann.id).await.unwrap();
    let mut blocked_names: Vec<&str> = blocked.iter().map(|b| b.user.username.as_str()).collect();
    blocked_names.sort_unstable();
    assert_eq!(blocked_names, ["bob", "cat"]);
    let mut all = store.all_blocks().await.unwrap();
    all.sort_unstable();
    assert_eq!(all, [(ann.id, bob.id), (ann.id, cat.id)]);

    assert!(store.unblock(ann.id, bob.id).await.unwrap());
    assert!(!store.unblock(ann.id, bob.id).await.unwrap());
    assert_eq!(store.activity_partners(ann.id).await.unwrap(), [bob.id]);
    let missing = store.block(ann.id, UserId::new(999_999)).await;
    assert!(
        matches!(missing, Err(StoreError::MissingReference)),
        "{missing:?}"
    );
}

async fn history_pages_end_where_asked(app: TestApp) {
    let store = &app.state.store;
    let (ann, bob, cat) = (
        user(&app, "ann").await,
        user(&app, "bob").await,
        user(&app, "cat").await,
    );
    let mut ids = Vec::new();
    for n in 0..5 {
        let (from, to) = if n % 2 == 0 {
            (&ann, &bob)
        } else {
            (&bob, &ann)
        };
        ids.push(send(&app, from, to, &format!("message {n}")).await);
    }
    let elsewhere = send(&app, &ann, &cat, "another conversation").await;
    let page_ids = |page: &parley::domain::HistoryPage| -> Vec<i64> {
        page.messages.iter().map(|m| m.id).collect()
    };

    let latest = store
        .history(ann.id, bob.id, PageEnd::Latest, 2)
        .await
        .unwrap();
    assert_eq!(
        (page_ids(&latest), latest.has_more),
        (ids[3..].to_vec(), true)
    );
    let older = store
        .history(bob.id, ann.id, PageEnd::Before(ids[3]), 2)
        .await
        .unwrap();
    assert_eq!(
        (page_ids(&older), older.has_more),
        (ids[1..3].to_vec(), true)
    );
    let oldest = store
        .history(ann.id, bob.id, PageEnd::Before(ids[1]), 2)
        .await
        .unwrap();
    assert_eq!(
        (page_ids(&oldest), oldest.has_more),
        (ids[..1].to_vec(), false)
    );
    let through = store
        .history(ann.id, bob.id, PageEnd::Through(ids[1]), 10)
        .await
        .unwrap();
    assert_eq!(
        (page_ids(&through), through.has_more),
        (ids[..2].to_vec(), false)
    );
    let all = store
        .history(ann.id, bob.id, PageEnd::Latest, 5)
        .await
        .unwrap();
    assert_eq!((page_ids(&all), all.has_more), (ids.clone(), false));
    // An anchor from another conversation never tells where it sits.
    for end in [PageEnd::Before(elsewhere), PageEnd::Through(elsewhere)] {
        let page = store.history(ann.id, bob.id, end, 10).await.unwrap();
        assert!(page.messages.is_empty() && !page.has_more, "{end:?}");
    }
}

async fn resume_reads_every_message_after_an_id(app: TestApp) {
    let store = &app.state.store;
    let (ann, bob, cat) = (
        user(&app, "ann").await,
        user(&app, "bob").await,
        user(&app, "cat").await,
    );
    let first = send(&app, &ann, &bob, "1").await;
    let second = send(&app, &bob, &ann, "2").await;
    send(&app, &bob, &cat, "not ann's").await;
    let note = send(&app, &ann, &ann, "note").await;
    let after: Vec<i64> = crate::helpers::sent_after(store, ann.id, first, 100)
        .await
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(after, [second, note], "a note to self comes once");
    let limited = crate::helpers::sent_after(store, ann.id, 0, 2).await;
    assert_eq!(
        limited.iter().map(|m| m.id).collect::<Vec<_>>(),
        [first, second]
    );

    // A retry is answered with its original, dated as it was.
    let key = ClientId::new_v4();
    let original = send_keyed(&app, &ann, &bob, "once", Some(key)).await;
    let retry = store
        .insert_message(NewMessage {
            sender: ann.id,
            receiver: bob.id,
            text: "once",
            client_id: Some(key),
        })
        .await
        .unwrap();
    assert!(!retry.is_new);
    assert_eq!(retry.message.id, original);
    assert_eq!(retry.message.client_id, Some(key));
    let stored = crate::helpers::sent_after(store, ann.id, note, 10).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0], retry.message);
    // The same key from another sender is another message.
    let other = send_keyed(&app, &bob, &ann, "mine", Some(key)).await;
    assert!(other > original);
    let missing = store
        .insert_message(NewMessage {
            sender: UserId::new(999_999),
            receiver: ann.id,
            text: "from nobody",
            client_id: None,
        })
        .await;
    assert!(matches!(missing, Err(StoreError::MissingReference)));
}

async fn admin_views_and_the_audit_log(app: TestApp) {
    let store = &app.state.store;
    let (ann, bob, cat) = (
        user(&app, "ann").await,
        user(&app, "bob").await,
        user(&app, "cat").await,
    );
    send(&app, &ann, &bob, "1").await;
    send(&app, &ann, &bob, "2").await;
    // Dates are milliseconds: make sure the last chat is the latest by date, not only by id.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    send(&app, &cat, &bob, "3").await;
    store.record_login(cat.id).await.unwrap();

    let accounts = store.accounts("", 0, 10).await.unwrap();
    let rows: Vec<(&str, i64, bool)> = accounts
        .iter()
        .map(|a| {
            (
                a.user.username.as_str(),
                a.messages_sent,
                a.last_active.is_some(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [("ann", 2, true), ("bob", 0, false), ("cat", 1, true)]
    );
    assert_eq!(store.accounts("B", 0, 10).await.unwrap().len(), 1);
    assert_eq!(store.accounts("", 1, 1).await.unwrap()[0].user.id, bob.id);

    let chats = store.chats(None, 0, 10).await.unwrap();
    let pairs: Vec<(UserId, UserId, i64)> = chats
        .iter()
        .map(|c| (c.user_a.id, c.user_b.id, c.messages))
        .collect();
    assert_eq!(pairs, [(bob.id, cat.id, 1), (ann.id, bob.id, 2)]);
    assert_eq!(store.chats(Some(ann.id), 0, 10).await.unwrap().len(), 1);
    assert_eq!(store.chats(None, 1, 10).await.unwrap().len(), 1);

    for (action, reason) in [
        (AuditAction::Search, None),
        (AuditAction::ViewConversation, Some("a report")),
    ] {
        store
            .append_audit(NewAuditEntry {
                admin: Some(ann.id),
                action,
                user_a: Some(bob.id),
                user_b: None,
                detail: Some("zebra"),
                reason,
            })
            .await
            .unwrap();
    }
    store
        .append_audit(NewAuditEntry {
            admin: None,
            action: AuditAction::RetentionRun,
            user_a: None,
            user_b: None,
            detail: Some("removed 0 messages"),
            reason: None,
        })
        .await
        .unwrap();
    let runs = store
        .audit_log(Some(AuditAction::RetentionRun), 0, 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "only that action");
    assert_eq!(runs[0].admin, None, "made by the server");
    let everything = store.audit_log(None, 0, 10).await.unwrap();
    assert_eq!(everything.len(), 3);
    assert_eq!(everything[0].id, runs[0].id, "the newest first");
    assert_eq!(everything[1].admin.as_ref().map(|a| a.id), Some(ann.id));
    let log = store
        .audit_log(Some(AuditAction::ViewConversation), 0, 10)
        .await
        .unwrap()
        .into_iter()
        .chain(
            store
                .audit_log(Some(AuditAction::Search), 0, 10)
                .await
                .unwrap(),
        )
        .collect::<Vec<_>>();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].action, AuditAction::ViewConversation);
    assert_eq!(log[0].reason.as_deref(), Some("a report"));
    assert_eq!(log[0].user_a.as_ref().map(|u| u.id), Some(bob.id));
    assert!(log[0].user_b.is_none());
    assert_eq!(log[1].detail.as_deref(), Some("zebra"));
    assert!(log[0].date >= log[1].date);
    assert_eq!(store.audit_log(None, 2, 10).await.unwrap()[0].id, log[1].id);
}

async fn search_treats_every_typed_word_as_a_plain_word(app: TestApp) {
    let store = &app.state.store;
    let (ann, bob) = (user(&app, "ann").await, user(&app, "bob").await);
    for text in [
        "the zebra parcel",
        "zebra only",
        "zebras galore",
        "zebra or parcel",
        "don't stop",
        "parcel (not) here",
    ] {
        send(&app, &ann, &bob, text).await;
    }
    let hits = |words: &'static [&'static str]| async move {
        let mut texts: Vec<String> = store
            .search_messages(words, None, 50)
            .await
            .unwrap_or_else(|e| panic!("search {words:?}: {e}"))
            .into_iter()
            .map(|hit| hit.message.message)
            .collect();
        texts.sort_unstable();
        texts
    };
    let zebra = ["the zebra parcel", "zebra only", "zebra or parcel"];
    assert_eq!(hits(&["zebra"]).await, zebra);
    assert_eq!(hits(&["ZEBRA"]).await, zebra);
    assert_eq!(
        hits(&["zebra", "parcel"]).await,
        ["the zebra parcel", "zebra or parcel"]
    );
    // Operators of either backend's syntax are words (or punctuation), never operators: no OR,
    // no negation, no prefix match, no grouping.
    assert_eq!(hits(&["zebra", "OR", "parcel"]).await, ["zebra or parcel"]);
    for hostile in [
        &["zebra:*"][..],
        &["zebra*"],
        &["!zebra"],
        &["-zebra"],
        &["(zebra"],
        &["zebra)"],
        &["\"zebra\""],
        &["'zebra'"],
        &["zebra", "&"],
        &["zebra", "|", "!"],
    ] {
        assert_eq!(hits(hostile).await, zebra, "{hostile:?}");
    }
    assert_eq!(hits(&["zebra&parcel"]).await, ["the zebra parcel"]);
    assert_eq!(hits(&["zebra|galore"]).await, Vec::<String>::new());
    assert_eq!(hits(&["don't"]).await, ["don't stop"]);
    assert_eq!(hits(&["(not)"]).await, ["parcel (not) here"]);
    // A NUL (which no backend can take in a query) separates words.
    assert_eq!(
        hits(&["zebra\0parcel"]).await,
        ["the zebra parcel", "zebra or parcel"]
    );
    // Nothing searchable at all finds nothing (and is not an error).
    for nothing in [
        &["\0"][..],
        &["&"],
        &["!"],
        &[":*"],
        &["(", ")"],
        &["\""],
        &["'"],
        &["<->"],
        &["\\"],
        &["NEAR("],
    ] {
        assert_eq!(hits(nothing).await, Vec::<String>::new(), "{nothing:?}");
    }
}

async fn sessions_by_id_expiry_and_owner(app: TestApp) {
    let store = &app.state.store;
    let ann = user(&app, "ann").await;
    let ben = user(&app, "ben").await;
    let row = |id: &str, user: Option<&User>, data: &[u8], expires: i64| SessionRow {
        id: id.to_owned(),
        user: user.map(|u| u.id),
        data: data.to_vec(),
        expires,
        device: None,
    };
    let now = 1_800_000_000;

    assert!(store
        .insert_session(&row("a1", Some(&ann), b"a1", now + 60))
        .await
        .unwrap());
    assert!(
        !store
            .insert_session(&row("a1", Some(&ben), b"taken", now + 60))
            .await
            .unwrap(),
        "an id already in use is refused"
    );
    assert_eq!(
        store.load_session("a1", now).await.unwrap(),
        Some(b"a1".to_vec())
    );
    store
        .save_session(&row("a1", Some(&ann), b"a1 again", now + 60))
        .await
        .unwrap();
    assert_eq!(
        store.load_session("a1", now).await.unwrap(),
        Some(b"a1 again".to_vec())
    );
    assert_eq!(store.load_session("nobody", now).await.unwrap(), None);

    // An anonymous session that logs in gains its owner on save.
    assert!(store
        .insert_session(&row("a2", None, b"a2", now + 60))
        .await
        .unwrap());
    store
        .save_session(&row("a2", Some(&ann), b"a2", now + 60))
        .await
        .unwrap();
    assert!(store
        .insert_session(&row("b1", Some(&ben), b"b1", now + 60))
        .await
        .unwrap());
    assert!(store
        .insert_session(&row("old", None, b"old", now - 1))
        .await
        .unwrap());
    assert_eq!(
        store.load_session("old", now).await.unwrap(),
        None,
        "expired"
    );
    // Saving is updating: a session deleted meanwhile is not brought back by a late save.
    store
        .save_session(&row("gone", Some(&ann), b"gone", now + 60))
        .await
        .unwrap();
    assert_eq!(store.load_session("gone", now).await.unwrap(), None);

    assert_eq!(store.delete_expired_sessions(now).await.unwrap(), 1);
    assert_eq!(app.session_count().await, 3);
    assert_eq!(store.delete_sessions_of(ann.id).await.unwrap(), 2);
    assert_eq!(store.load_session("a2", now).await.unwrap(), None);
    assert_eq!(
        store.load_session("b1", now).await.unwrap(),
        Some(b"b1".to_vec())
    );
    store.delete_session("b1").await.unwrap();
    assert_eq!(app.session_count().await, 0);
}

async fn session_callers_with_their_account_and_device(app: TestApp) {
    let store = &app.state.store;
    let ann = user(&app, "ann").await;
    let now = 1_800_000_000;
    let laptop = Device {
        id: ClientId::new_v4(),
        user_agent: "laptop".to_owned(),
        client_addr: "192.0.2.1".to_owned(),
        created_at: now - 100,
        last_seen_at: now - 5,
    };
    let row = |id: &str, user: Option<&User>, device: Option<&Device>, expires: i64| SessionRow {
        id: id.to_owned(),
        user: user.map(|u| u.id),
        data: id.as_bytes().to_vec(),
        expires,
        device: device.cloned(),
    };
    for session in [
        row("on-laptop", Some(&ann), Some(&laptop), now + 60),
        row("no-device", Some(&ann), None, now + 60),
        row("anonymous", None, None, now + 60),
        row("expired", Some(&ann), Some(&laptop), now - 1),
    ] {
        assert!(store.insert_session(&session).await.unwrap());
    }

    let caller = store
        .session_caller("on-laptop", now)
        .await
        .unwrap()
        .unwrap();
    let account = caller.account.expect("the session's account");
    assert_eq!((account.user, account.disabled), (ann.clone(), false));
    assert_eq!(caller.device, Some(laptop));
    let caller = store
        .session_caller("no-device", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(caller.account.map(|a| a.user), Some(ann.clone()));
    assert_eq!(caller.device, None);
    for nobody in ["anonymous", "expired", "unknown"] {
        assert!(
            store.session_caller(nobody, now).await.unwrap().is_none(),
            "{nobody}: no caller"
        );
    }

    // A disabled account still comes with its session, flagged: the caller ends that session.
    store.set_disabled(ann.id, true).await.unwrap();
    let caller = store
        .session_caller("on-laptop", now)
        .await
        .unwrap()
        .unwrap();
    assert!(caller.account.expect("the account").disabled);
}

async fn devices_by_owner_and_handle(app: TestApp) {
    let store = &app.state.store;
    let ann = user(&app, "ann").await;
    let ben = user(&app, "ben").await;
    let now = 1_800_000_000;
    let device = |agent: &str, seen: i64| Device {
        id: ClientId::new_v4(),
        user_agent: agent.to_owned(),
        client_addr: "192.0.2.1".to_owned(),
        created_at: now - 100,
        last_seen_at: seen,
    };
    let (laptop, phone, bens) = (
        device("laptop", now - 5),
        device("phone", now - 1),
        device("ben's", now),
    );
    let row = |id: &str, user: &User, device: Option<&Device>, expires: i64| SessionRow {
        id: id.to_owned(),
        user: Some(user.id),
        data: id.as_bytes().to_vec(),
        expires,
        device: device.cloned(),
    };
    for session in [
        row("a-laptop", &ann, Some(&laptop), now + 60),
        row("a-phone", &ann, Some(&phone), now + 60),
        row("a-bare", &ann, None, now + 60),
        row("a-expired", &ann, Some(&device("old", now - 50)), now - 1),
        row("b-only", &ben, Some(&bens), now + 60),
    ] {
        assert!(store.insert_session(&session).await.unwrap());
    }
    // Unexpired sessions with a device, most recently seen first, with their session ids.
    let listed = store.devices_of(ann.id, now).await.unwrap();
    assert_eq!(
        listed,
        vec![
            ("a-phone".to_owned(), phone.clone()),
            ("a-laptop".to_owned(), laptop.clone())
        ]
    );
    // A save moves the columns with the record.
    let moved = Device {
        client_addr: "192.0.2.9".into(),
        last_seen_at: now + 10,
        ..laptop.clone()
    };
    store
        .save_session(&row("a-laptop", &ann, Some(&moved), now + 60))
        .await
        .unwrap();
    assert_eq!(
        store.devices_of(ann.id, now).await.unwrap()[0],
        ("a-laptop".to_owned(), moved)
    );

    // Only the owner's handle deletes, and it deletes that one session.
    assert_eq!(store.delete_device(ben.id, phone.id).await.unwrap(), None);
    assert_eq!(
        store.delete_device(ann.id, phone.id).await.unwrap(),
        Some("a-phone".to_owned())
    );
    assert_eq!(store.delete_device(ann.id, phone.id).await.unwrap(), None);
    let mut others = store
        .delete_sessions_except(ann.id, "a-bare")
        .await
        .unwrap();
    others.sort();
    assert_eq!(others, ["a-expired", "a-laptop"]);
    assert!(store.load_session("a-bare", now).await.unwrap().is_some());
    assert!(store.load_session("b-only", now).await.unwrap().is_some());
    assert!(store
        .set_password_hash(ann.id, "another hash")
        .await
        .unwrap());
    assert!(!store
        .set_password_hash(UserId::new(9_999), "x")
        .await
        .unwrap());
}

async fn changes_and_exports(app: TestApp) {
    let store = &app.state.store;
    let ann = user(&app, "ann").await;
    let ben = user(&app, "ben").await;
    let cat = user(&app, "cat").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(send(&app, &ann, &ben, &format!("m{n}")).await);
    }
    send(&app, &cat, &ann, "from cat").await;
    let edited = store
        .change_message(MessageChange {
            actor: ann.id,
            message_id: ids[1],
            peer: Some(ben.id),
            kind: ChangeKind::Edit("m1, edited"),
        })
        .await
        .unwrap();
    assert_eq!(edited.change, Change::Edited);
    assert!(edited.position > *ids.last().unwrap());
    assert_eq!(edited.message.message, "m1, edited");
    let refused = store
        .change_message(MessageChange {
            actor: ben.id,
            message_id: ids[2],
            peer: None,
            kind: ChangeKind::Delete,
        })
        .await;
    assert!(matches!(
        refused,
        Err(StoreError::Refused(ChangeRefusal::NotYours))
    ));
    let deleted = store
        .change_message(MessageChange {
            actor: ann.id,
            message_id: ids[2],
            peer: None,
            kind: ChangeKind::Delete,
        })
        .await
        .unwrap();
    assert_eq!(
        deleted.position,
        edited.position + 1,
        "positions follow each other"
    );
    assert!(deleted.message.is_deleted() && deleted.message.message.is_empty());

    // Resume sees the changes in order; the export pages read the conversation as it is now.
    let entries = store.entries_after(ben.id, ids[4], 10).await.unwrap();
    let kinds: Vec<Change> = entries.iter().map(|e| e.change).collect();
    assert_eq!(kinds, [Change::Edited, Change::Deleted]);
    assert_eq!(store.newest_position().await.unwrap(), deleted.position);
    let first = store.messages_after(ann.id, ben.id, None, 2).await.unwrap();
    let rest = store
        .messages_after(ann.id, ben.id, Some(first[1].id), 10)
        .await
        .unwrap();
    let texts: Vec<String> = first
        .iter()
        .chain(&rest)
        .map(|m| m.message.clone())
        .collect();
    assert_eq!(texts, ["m0", "m1, edited", "", "m3", "m4"]);
    // An `after` from another conversation reads nothing.
    let cats = store
        .messages_after(ann.id, cat.id, None, 10)
        .await
        .unwrap();
    assert!(store
        .messages_after(ann.id, ben.id, Some(cats[0].id), 10)
        .await
        .unwrap()
        .is_empty());
    let peers: Vec<(String, i64)> = store
        .conversation_peers(ann.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(u, read)| (u.username.to_string(), read))
        .collect();
    assert_eq!(peers, [("ben".to_owned(), 0), ("cat".to_owned(), 0)]);
}

async fn profiles_and_deleted_accounts(app: TestApp) {
    let store = &app.state.store;
    let (alice, bob) = (user(&app, "alice").await, user(&app, "bob").await);
    let name = DisplayName::parse("Alice Liddell").unwrap();
    let named = store
        .set_display_name(alice.id, Some(&name))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(named.display_name, Some(name.clone()));
    assert_eq!(
        store
            .user_by_id(alice.id)
            .await
            .unwrap()
            .unwrap()
            .display_name,
        Some(name)
    );
    let first = send(&app, &alice, &bob, "one").await;
    send(&app, &bob, &alice, "two").await;
    let third = send(&app, &alice, &bob, "three").await;
    assert!(
        store.messages_to_erase(10).await.unwrap().is_empty(),
        "nobody is deleted yet"
    );
    for id in ["s1", "s2"] {
        store
            .insert_session(&SessionRow {
                id: id.to_owned(),
                user: Some(alice.id),
                data: Vec::new(),
                expires: i64::MAX / 2,
                device: None,
            })
            .await
            .unwrap();
    }

    // Dated now: the background housekeeping frees names 30 days on, so it cannot step in here.
    let now = chrono::Utc::now().timestamp_millis();
    let mut ended = store.delete_account(alice.id, now).await.unwrap().unwrap();
    ended.sort();
    assert_eq!(ended, ["s1", "s2"]);
    assert_eq!(
        store.delete_account(alice.id, now + 1).await.unwrap(),
        None,
        "only once"
    );
    let gone = store.user_by_id(alice.id).await.unwrap().unwrap();
    assert!(gone.deleted && gone.display_name.is_none(), "{gone:?}");
    assert!(
        store.credentials(&alice.username).await.unwrap().is_none(),
        "no login"
    );
    assert_eq!(store.set_display_name(alice.id, None).await.unwrap(), None);
    assert_eq!(store.deleted_accounts().await.unwrap(), [alice.id]);
    assert_eq!(
        store.messages_to_erase(1).await.unwrap(),
        [(alice.id, first)],
        "oldest first, her messages only"
    );
    assert_eq!(store.messages_to_erase(10).await.unwrap().len(), 2);
    assert_eq!(
        store.messages_to_erase(10).await.unwrap().last(),
        Some(&(alice.id, third))
    );

    assert_eq!(
        store.free_usernames(now).await.unwrap(),
        0,
        "deleted now, not before"
    );
    assert_eq!(store.free_usernames(now + 1).await.unwrap(), 1);
    assert_eq!(
        store.free_usernames(now + 1).await.unwrap(),
        0,
        "renamed once"
    );
    let renamed = store.user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(renamed.username.as_str(), format!("deleted.{}", alice.id));
    let newcomer = user(&app, "alice").await;
    assert_ne!(newcomer.id, alice.id);
}
