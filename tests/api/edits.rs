//! Editing and deleting one's own messages (HTTP and socket), resume across missed changes, and
//! searching one's own conversations.

use crate::helpers::{spawn_app, Person, Socket, TestApp};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

async fn edit(app: &TestApp, who: &Person, peer: i64, id: i64, text: &str) -> Response {
    who.http
        .patch(app.url(&format!("/api/conversations/{peer}/messages/{id}")))
        .json(&json!({ "message": text }))
        .send()
        .await
        .expect("request")
}

async fn delete(app: &TestApp, who: &Person, peer: i64, id: i64) -> Response {
    app.http_delete(who, &format!("/api/conversations/{peer}/messages/{id}"))
        .await
}

async fn error_code(res: Response) -> (StatusCode, String) {
    let status = res.status();
    let body: Value = res.json().await.expect("json");
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

/// The next frame on `socket` that is not presence or typing news.
async fn next_chat_frame(socket: &mut Socket) -> Value {
    loop {
        let frame = socket.next_json().await;
        if !matches!(frame["type"].as_str(), Some("presence_update" | "event")) {
            return frame;
        }
    }
}

#[tokio::test]
async fn an_edit_replaces_the_text_for_both_people_live_and_in_history() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let sent = app.send_http(&alice, bob.id, "see you at 5").await;
    let id = sent["id"].as_i64().unwrap();
    assert_eq!(sent["edited_at"], Value::Null);
    assert_eq!(sent["deleted"], false);
    let mut alice_tab = app.connect(&alice).await;
    let mut bob_tab = app.connect(&bob).await;

    let res = edit(&app, &alice, bob.id, id, "  see you at 6 ").await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited: Value = res.json().await.unwrap();
    assert_eq!(edited["id"], id);
    assert_eq!(edited["message"], "see you at 6", "validated like a send");
    assert_eq!(edited["date"], sent["date"], "it keeps its place");
    assert!(edited["edited_at"].is_string(), "{edited}");

    for tab in [&mut alice_tab, &mut bob_tab] {
        let frame = next_chat_frame(tab).await;
        assert_eq!(frame["type"], "message_edited", "{frame}");
        assert_eq!(frame["message"], edited);
        assert!(frame["position"].as_i64().unwrap() > id);
    }
    for (reader, peer) in [(&alice, bob.id), (&bob, alice.id)] {
        let page = app.history(reader, peer, "").await;
        assert_eq!(page["messages"].as_array().unwrap().len(), 1);
        assert_eq!(page["messages"][0], edited);
    }
    // The inbox preview is the text as it is now.
    assert_eq!(
        app.inbox(&bob).await[0]["last_message"]["message"],
        "see you at 6"
    );
}

#[tokio::test]
async fn a_deletion_empties_the_message_for_both_people_and_its_text_leaves_the_database() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let kept = app.send_http(&alice, bob.id, "the quokka is kept").await;
    let gone = app
        .send_http(&alice, bob.id, "the Zanzibar-Wombat plan")
        .await;
    let id = gone["id"].as_i64().unwrap();
    let mut bob_tab = app.connect(&bob).await;
    assert_eq!(app.search(&bob, "wombat").await.len(), 1);

    let res = delete(&app, &alice, bob.id, id).await;
    assert_eq!(res.status(), StatusCode::OK);
    let deleted: Value = res.json().await.unwrap();
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["message"], "");
    assert!(deleted["deleted_at"].is_string(), "{deleted}");

    let frame = next_chat_frame(&mut bob_tab).await;
    assert_eq!(frame["type"], "message_deleted", "{frame}");
    assert_eq!(frame["id"], id);
    assert_eq!(frame["message"], deleted);

    let page = app.history(&bob, alice.id, "").await;
    assert_eq!(page["messages"][0], kept, "the rest is untouched");
    assert_eq!(
        page["messages"][1], deleted,
        "the deleted one keeps its place"
    );
    // Gone from the row and from the search index, not hidden.
    let stored = app
        .scalar(
            "select count(*) from chat where message like '%Zanzibar%'",
            &[],
        )
        .await;
    assert_eq!(stored, 0);
    assert!(app.search(&bob, "wombat").await.is_empty());
    assert!(app.search(&alice, "zanzibar").await.is_empty());
}

#[tokio::test]
async fn only_the_sender_changes_a_message_and_edits_only_within_fifteen_minutes() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let carol = app.sign_up("carol").await;
    let id = app.send_http(&alice, bob.id, "mine").await["id"]
        .as_i64()
        .unwrap();

    // The receiver may not; a stranger is not told the message exists.
    assert_eq!(
        error_code(edit(&app, &bob, alice.id, id, "theirs").await).await,
        (StatusCode::FORBIDDEN, "not_yours".into())
    );
    assert_eq!(
        error_code(delete(&app, &bob, alice.id, id).await).await,
        (StatusCode::FORBIDDEN, "not_yours".into())
    );
    for res in [
        edit(&app, &carol, alice.id, id, "x").await,
        edit(&app, &carol, bob.id, id, "x").await,
        delete(&app, &carol, alice.id, id).await,
        // The right message, the wrong conversation in the path.
        edit(&app, &alice, carol.id, id, "x").await,
        edit(&app, &alice, bob.id, id + 1000, "x").await,
    ] {
        assert_eq!(
            error_code(res).await,
            (StatusCode::NOT_FOUND, "not_found".into())
        );
    }
    let res = alice
        .http
        .patch(app.url(&format!("/api/conversations/{}/messages/nope", bob.id)))
        .json(&json!({"message": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // New text is checked as a new message is.
    assert_eq!(
        error_code(edit(&app, &alice, bob.id, id, " \n ").await).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "empty_message".into())
    );
    assert_eq!(
        app.history(&bob, alice.id, "").await["messages"][0]["message"],
        "mine",
        "nothing refused changed anything"
    );

    // Sent 16 minutes ago: too late to edit, never too late to delete.
    let moved = app
        .execute(&format!(
            "update chat set date = date - 960000 where id = {id}"
        ))
        .await
        .unwrap();
    assert_eq!(moved, 1);
    assert_eq!(
        error_code(edit(&app, &alice, bob.id, id, "late").await).await,
        (StatusCode::CONFLICT, "edit_window_passed".into())
    );
    assert_eq!(
        delete(&app, &alice, bob.id, id).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        error_code(delete(&app, &alice, bob.id, id).await).await,
        (StatusCode::CONFLICT, "already_deleted".into())
    );
    // A message sent 14 minutes ago can still be edited.
    let recent = app.send_http(&alice, bob.id, "fresh").await["id"]
        .as_i64()
        .unwrap();
    app.execute(&format!(
        "update chat set date = date - 840000 where id = {recent}"
    ))
    .await
    .unwrap();
    assert_eq!(
        edit(&app, &alice, bob.id, recent, "still fresh")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_block_stops_edits_but_not_deletions() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let first = app.send_http(&alice, bob.id, "one").await["id"]
        .as_i64()
        .unwrap();
    let second = app.send_http(&alice, bob.id, "two").await["id"]
        .as_i64()
        .unwrap();
    let res = app
        .post_json(&bob.http, &format!("/api/blocks/{}", alice.id), json!({}))
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        error_code(edit(&app, &alice, bob.id, first, "changed").await).await,
        (StatusCode::FORBIDDEN, "blocked".into())
    );
    let mut alice_tab = app.connect(&alice).await;
    alice_tab
        .send_json(json!({"type": "edit", "id": second, "message": "changed"}))
        .await;
    let refused = next_chat_frame(&mut alice_tab).await;
    assert_eq!(refused["code"], "blocked", "{refused}");
    assert_eq!(
        delete(&app, &alice, bob.id, first).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn socket_frames_edit_and_delete_and_refusals_come_back_as_errors() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let mut alice_tab = app.connect(&alice).await;
    let mut bob_tab = app.connect(&bob).await;
    let id = alice_tab.send_stored(bob.id, "draft").await;
    assert_eq!(next_chat_frame(&mut bob_tab).await["type"], "message");

    alice_tab
        .send_json(json!({"type": "edit", "id": id, "message": "final"}))
        .await;
    for tab in [&mut alice_tab, &mut bob_tab] {
        let frame = next_chat_frame(tab).await;
        assert_eq!(frame["type"], "message_edited", "{frame}");
        assert_eq!(frame["message"]["message"], "final");
    }
    bob_tab.send_json(json!({"type": "delete", "id": id})).await;
    let refused = next_chat_frame(&mut bob_tab).await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "not_yours");
    bob_tab
        .send_json(json!({"type": "edit", "id": id + 1000, "message": "x"}))
        .await;
    assert_eq!(next_chat_frame(&mut bob_tab).await["code"], "not_found");
    bob_tab.send_json(json!({"type": "delete"})).await;
    assert_eq!(next_chat_frame(&mut bob_tab).await["code"], "invalid_frame");

    alice_tab
        .send_json(json!({"type": "delete", "id": id}))
        .await;
    for tab in [&mut alice_tab, &mut bob_tab] {
        let frame = next_chat_frame(tab).await;
        assert_eq!(frame["type"], "message_deleted", "{frame}");
        assert_eq!(frame["id"], id);
        assert_eq!(frame["message"]["deleted"], true);
    }
    alice_tab
        .send_json(json!({"type": "edit", "id": id, "message": "back"}))
        .await;
    assert_eq!(
        next_chat_frame(&mut alice_tab).await["code"],
        "already_deleted"
    );
    bob_tab.assert_silent().await;
}

#[tokio::test]
async fn a_resuming_client_gets_the_edits_and_deletions_it_missed_in_order() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let one = app.send_http(&alice, bob.id, "one").await["id"]
        .as_i64()
        .unwrap();
    let two = app.send_http(&alice, bob.id, "two").await["id"]
        .as_i64()
        .unwrap();
    // Bob's tab has everything up to here, then loses its connection.
    let seen = two;

    assert_eq!(
        edit(&app, &alice, bob.id, one, "one, edited")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        delete(&app, &alice, bob.id, two).await.status(),
        StatusCode::OK
    );
    let three = app.send_http(&alice, bob.id, "three").await["id"]
        .as_i64()
        .unwrap();
    // An edit of a message Bob has not seen yet: the replay brings the message as it is now.
    assert_eq!(
        edit(&app, &alice, bob.id, three, "three, edited")
            .await
            .status(),
        StatusCode::OK
    );

    let mut bob_tab = app.connect_after(&bob, seen).await;
    let mut replay = Vec::new();
    for _ in 0..4 {
        replay.push(next_chat_frame(&mut bob_tab).await);
    }
    let kinds: Vec<&str> = replay.iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "message_edited",
            "message_deleted",
            "message",
            "message_edited"
        ]
    );
    assert_eq!(replay[0]["message"]["message"], "one, edited");
    assert_eq!(replay[1]["id"], two);
    assert_eq!(replay[2]["message"]["message"], "three, edited");
    let positions: Vec<i64> = [
        replay[0]["position"].as_i64().unwrap(),
        replay[1]["position"].as_i64().unwrap(),
        three,
        replay[3]["position"].as_i64().unwrap(),
    ]
    .to_vec();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    bob_tab.assert_silent().await;

    // Resuming after the last position replays nothing; live changes follow.
    let mut again = app.connect_after(&bob, positions[3]).await;
    again.assert_silent().await;
    assert_eq!(
        delete(&app, &alice, bob.id, one).await.status(),
        StatusCode::OK
    );
    assert_eq!(next_chat_frame(&mut again).await["type"], "message_deleted");
}

#[tokio::test]
async fn search_finds_words_in_my_own_conversations_only_newest_first() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let carol = app.sign_up("carol").await;
    let dave = app.sign_up("dave").await;
    app.send_http(&alice, bob.id, "apple pie on Sunday").await;
    app.send_http(&bob, alice.id, "an Apple a day").await;
    app.send_http(&alice, alice.id, "note: buy apples").await;
    // A conversation Alice is not in.
    app.send_http(&carol, dave.id, "apple tart, secretly").await;
    app.send_http(&dave, carol.id, "pear").await;

    assert_eq!(
        app.search(&alice, "apple").await,
        ["an Apple a day", "apple pie on Sunday"],
        "whole words, any case, newest first, never anyone else's"
    );
    assert_eq!(
        app.search(&alice, "apple sunday").await,
        ["apple pie on Sunday"]
    );
    assert_eq!(app.search(&bob, "apple").await.len(), 2);
    assert_eq!(app.search(&carol, "apple").await, ["apple tart, secretly"]);
    assert!(app.search(&alice, "secretly").await.is_empty());
    assert!(app.search(&dave, "sunday").await.is_empty());

    let hits: Value = alice
        .http
        .get(app.url("/api/search?q=pie"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hit = &hits["hits"][0];
    assert_eq!(hit["sender"]["username"], "alice");
    assert_eq!(hit["receiver"]["username"], "bob");

    let res = alice
        .http
        .get(app.url("/api/search?q=%20"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "query_required".into())
    );
    let (anonymous, _) = app.client();
    let res = anonymous
        .get(app.url("/api/search?q=apple"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
