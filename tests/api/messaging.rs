use crate::helpers::spawn_app;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn texts(page: &Value) -> Vec<String> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn history_comes_back_in_date_order_across_pages() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    for n in 0..120 {
        let (from, to) = if n % 3 == 0 {
            (&bob, alice.id)
        } else {
            (&alice, bob.id)
        };
        app.send_http(from, to, &format!("m{n:03}")).await;
    }

    let latest = app.history(&alice, bob.id, "?limit=50").await;
    assert_eq!(latest["has_more"], true);
    let oldest_id = latest["messages"][0]["id"].as_i64().unwrap();
    let middle = app
        .history(&alice, bob.id, &format!("?limit=50&before={oldest_id}"))
        .await;
    assert_eq!(middle["has_more"], true);
    let oldest_id = middle["messages"][0]["id"].as_i64().unwrap();
    let first = app
        .history(&alice, bob.id, &format!("?limit=50&before={oldest_id}"))
        .await;
    assert_eq!(first["has_more"], false);

    let mut all = texts(&first);
    all.extend(texts(&middle));
    all.extend(texts(&latest));
    let expected: Vec<String> = (0..120).map(|n| format!("m{n:03}")).collect();
    assert_eq!(all, expected);

    // Bob reads the same conversation, the same way.
    assert_eq!(
        texts(&app.history(&bob, alice.id, "?limit=50").await),
        texts(&latest)
    );
    // The default page is 50.
    assert_eq!(
        app.history(&bob, alice.id, "").await["messages"]
            .as_array()
            .unwrap()
            .len(),
        50
    );
}

#[tokio::test]
async fn dates_are_rfc3339_utc_with_milliseconds_and_nondecreasing() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    for n in 0..5 {
        app.send_http(&alice, bob.id, &format!("hello {n}")).await;
    }
    let page = app.history(&alice, bob.id, "").await;
    let dates: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["date"].as_str().unwrap())
        .collect();
    for date in &dates {
        assert_eq!(date.len(), "2026-11-23T15:09:00.123Z".len(), "{date}");
        assert!(date.ends_with('Z') && date.as_bytes()[19] == b'.', "{date}");
    }
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "{dates:?}");
}

#[tokio::test]
async fn a_user_reads_only_their_own_conversations() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let carol = app.sign_up("carol").await;
    let secret = app.send_http(&alice, bob.id, "for bob only").await;

    // Carol asking for "her conversation with Alice" sees only that: nothing.
    let page = app.history(&carol, alice.id, "").await;
    assert_eq!(page["messages"], json!([]));
    // Using an id from the Alice–Bob conversation as an anchor reveals nothing either.
    let page = app
        .history(
            &carol,
            alice.id,
            &format!("?before={}", secret["id"].as_i64().unwrap() + 1),
        )
        .await;
    assert_eq!(page["messages"], json!([]));
    let list: Value = app
        .get(&carol.http, "/api/conversations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["conversations"], json!([]));

    // Unknown peers are 404; so is anything that is not an id.
    for path in [
        "/api/conversations/9999/messages",
        "/api/conversations/abc/messages",
    ] {
        let res = app.get(&carol.http, path).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], "not_found");
    }
    let (anon, _) = app.client();
    assert_eq!(
        app.get(&anon, &format!("/api/conversations/{}/messages", bob.id))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn sending_over_http_validates_and_stores_nothing_on_error() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let path = format!("/api/conversations/{}/messages", bob.id);

    let cases = [
        (
            json!({"message": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_message",
        ),
        (
            json!({"message": "  \n\t "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_message",
        ),
        (
            json!({"message": "x".repeat(4001)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "message_too_long",
        ),
        (
            json!({"text": "hi"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            json!({"message": "hi", "client_id": "nope"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
    ];
    for (body, status, code) in cases {
        let res = app.post_json(&alice.http, &path, body.clone()).await;
        assert_eq!(res.status(), status, "{body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], code, "{body}");
    }
    let res = app
        .post_json(
            &alice.http,
            "/api/conversations/424242/messages",
            json!({"message": "hi"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    assert_eq!(app.history(&alice, bob.id, "").await["messages"], json!([]));

    // Exactly at the limit is fine, and the stored text is what was sent (trimmed).
    let stored = app
        .send_http(&alice, bob.id, &format!("  {}  ", "é".repeat(4000)))
        .await;
    assert_eq!(stored["message"].as_str().unwrap().chars().count(), 4000);
    let client_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    let res = app
        .post_json(
            &alice.http,
            &path,
            json!({"message": "with id", "client_id": client_id}),
        )
        .await;
    let stored: Value = res.json().await.unwrap();
    assert_eq!(stored["client_id"], client_id);
    assert_eq!(stored["sender"], alice.id);
    assert_eq!(stored["receiver"], bob.id);
}

#[tokio::test]
async fn history_limit_is_bounded() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    for query in ["?limit=0", "?limit=201", "?limit=abc", "?before=x"] {
        let res = app
            .get(
                &alice.http,
                &format!("/api/conversations/{}/messages{query}", bob.id),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
    }
    assert_eq!(
        app.get(
            &alice.http,
            &format!("/api/conversations/{}/messages?limit=200", bob.id)
        )
        .await
        .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn conversations_list_newest_activity_first() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let carol = app.sign_up("carol").await;
    app.send_http(&alice, bob.id, "to bob").await;
    app.send_http(&carol, alice.id, "from carol").await;

    let list: Value = app
        .get(&alice.http, "/api/conversations")
        .await
        .json()
        .await
        .unwrap();
    let peers: Vec<&str> = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["peer"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(peers, ["carol", "bob"]);
    assert_eq!(
        list["conversations"][0]["last_message"]["message"],
        "from carol"
    );

    app.send_http(&bob, alice.id, "bob again").await;
    let list: Value = app
        .get(&alice.http, "/api/conversations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["conversations"][0]["peer"]["username"], "bob");
    assert_eq!(
        list["conversations"][0]["last_message"]["message"],
        "bob again"
    );
    assert!(
        !list.to_string().contains("argon2"),
        "never a password hash"
    );
}

#[tokio::test]
async fn people_search_finds_others_by_prefix_never_hashes() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    app.sign_up("albert").await;
    app.sign_up("bob").await;
    app.sign_up("al_x").await;

    let found: Value = app
        .get(&alice.http, "/api/users?q=AL")
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = found["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["al_x", "albert"],
        "prefix match, alphabetical, without the caller"
    );
    // '_' is a literal, not a wildcard.
    let found: Value = app
        .get(&alice.http, "/api/users?q=al_")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["users"].as_array().unwrap().len(), 1);
    assert!(!found.to_string().contains("password"));
}

#[tokio::test]
async fn history_survives_a_server_restart() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let sent = app.send_http(&alice, bob.id, "still here?").await;

    let app = app.restart().await;

    let page = app.history(&bob, alice.id, "").await;
    assert_eq!(page["messages"], json!([sent]));
}

/// A reactive `<Title>` once read signals of renders already disposed when many pages rendered at
/// once; the render panicked and its response never finished (the client hung).
#[tokio::test]
async fn pages_render_under_concurrent_load() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    app.send_http(&bob, alice.id, "unread, so the title counts it")
        .await;

    // Many renders at once: each must complete on its own (a page must never read another
    // render's state, or its own after it is gone).
    let mut renders = Vec::new();
    for n in 0..120 {
        let (http, url) = (
            alice.http.clone(),
            app.url(if n % 2 == 0 { "/" } else { "/c/bob" }),
        );
        renders.push(tokio::spawn(async move {
            let res = http.get(url).send().await.expect("response");
            (res.status(), res.text().await.unwrap_or_default())
        }));
    }
    for render in renders {
        let (status, html) = render.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("<title>(1) "),
            "the title carries the unread count"
        );
    }
}
