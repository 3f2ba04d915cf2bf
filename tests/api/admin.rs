use crate::helpers::{frame_message, spawn_app, TestApp, PASSWORD};
use parley::server::accounts::create_admin;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Every admin route, API and pages. A new admin route belongs here; the guard that makes them
/// all 404 for non-admins is one layer over the whole admin router.
const ADMIN_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/admin/users"),
    ("GET", "/api/admin/chats"),
    ("GET", "/api/admin/chats/1/2/messages?reason=test"),
    ("GET", "/api/admin/search?q=hello"),
    ("GET", "/api/admin/audit"),
    ("POST", "/api/admin/users/1/disable"),
    ("POST", "/api/admin/users/1/enable"),
    ("GET", "/admin"),
    ("GET", "/admin/chats"),
    ("GET", "/admin/chats/1/2"),
    ("GET", "/admin/chats/1/2?reason=test"),
    ("GET", "/admin/search?q=hello"),
    ("GET", "/admin/audit"),
];

async fn audit_count(app: &TestApp, admin: &crate::helpers::Person) -> usize {
    let res = app.get(&admin.http, "/api/admin/audit").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["entries"].as_array().unwrap().len()
}

#[tokio::test]
async fn every_admin_route_is_404_for_everyone_but_admins() {
    let app = spawn_app().await;
    let root = app.sign_up_admin("root").await;
    let bob = app.sign_up("bob").await;
    let (anon, _) = app.client();

    for (method, path) in ADMIN_ROUTES {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        for (who, client) in [("bob", &bob.http), ("anonymous", &anon)] {
            let res = client
                .request(method.clone(), app.url(path))
                .header("content-type", "application/json")
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{who} {method} {path}");
        }
        // The admin can reach each of them (enable/disable of user 1, the admin itself, aside).
        if !path.contains("/users/1/") {
            let res = root
                .http
                .request(method.clone(), app.url(path))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK, "admin {method} {path}");
        }
    }
}

#[tokio::test]
async fn an_admin_reads_a_conversation_exactly_as_stored_and_each_read_is_audited() {
    let app = spawn_app().await;
    let root = app.sign_up_admin("root").await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    for n in 0..60 {
        let (from, to) = if n % 2 == 0 {
            (&alice, bob.id)
        } else {
            (&bob, alice.id)
        };
        app.send_http(from, to, &format!("line {n}")).await;
    }
    let as_stored = app.history(&alice, bob.id, "").await;

    let lists_before = audit_count(&app, &root).await;
    let chats: Value = app
        .get(&root.http, "/api/admin/chats")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(chats["chats"][0]["messages"], 60);
    assert_eq!(chats["chats"][0]["user_a"]["username"], "alice");
    let users: Value = app
        .get(&root.http, "/api/admin/users?q=ali")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(users["users"][0]["messages_sent"], 30);
    assert_eq!(
        audit_count(&app, &root).await,
        lists_before,
        "lists and counts are not audited"
    );

    let path = format!("/api/admin/chats/{}/{}/messages", alice.id, bob.id);
    let res = app.get(&root.http, &path).await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "a reason is required"
    );
    let res = app.get(&root.http, &format!("{path}?reason=%20%20")).await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "a blank reason is no reason"
    );
    assert_eq!(audit_count(&app, &root).await, 0);

    let read: Value = app
        .get(&root.http, &format!("{path}?reason=abuse%20report%2042"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        read["messages"], as_stored["messages"],
        "exactly as stored, in date order"
    );
    assert_eq!(read["has_more"], true);
    // Either order of the pair reads the same conversation.
    let flipped: Value = app
        .get(
            &root.http,
            &format!(
                "/api/admin/chats/{}/{}/messages?reason=again",
                bob.id, alice.id
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(flipped["messages"], as_stored["messages"]);

    let audit: Value = app
        .get(&root.http, "/api/admin/audit")
        .await
        .json()
        .await
        .unwrap();
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "one row per read");
    assert_eq!(entries[1]["action"], "view_conversation");
    assert_eq!(entries[1]["reason"], "abuse report 42");
    assert_eq!(entries[1]["admin"]["username"], "root");
    assert_eq!(entries[1]["user_a"]["username"], "alice");
}

#[tokio::test]
async fn search_finds_one_message_among_ten_thousand_and_is_audited() {
    let app = spawn_app().await;
    let root = app.sign_up_admin("root").await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    // Bulk insert straight into the table, as an import would; the triggers keep the index.
    app.bulk_insert(
        &alice,
        &bob,
        (0..10_000).map(|n| match n {
            7_777 => "the parcel code is zebra-quartz".to_owned(),
            n => format!("ordinary chatter {n}"),
        }),
    )
    .await;

    let found: Value = app
        .get(&root.http, "/api/admin/search?q=ZEBRA%20parcel")
        .await
        .json()
        .await
        .unwrap();
    let hits = found["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{found}");
    assert_eq!(
        hits[0]["message"]["message"],
        "the parcel code is zebra-quartz"
    );
    assert_eq!(hits[0]["sender"]["username"], "alice");

    // Quotes and FTS operators in the query are words, not syntax.
    let res = app
        .get(&root.http, "/api/admin/search?q=%22OR%20NEAR(")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.get(&root.http, "/api/admin/search?q=%20")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );

    let audit: Value = app
        .get(&root.http, "/api/admin/audit")
        .await
        .json()
        .await
        .unwrap();
    let first = &audit["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(first["action"], "search");
    assert_eq!(first["detail"], "ZEBRA parcel");

    // The hit's place: the page that ends at it.
    let id = hits[0]["message"]["id"].as_i64().unwrap();
    let page: Value = app
        .get(
            &root.http,
            &format!(
                "/api/admin/chats/{}/{}/messages?reason=search%20hit&through={id}",
                alice.id, bob.id
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["messages"].as_array().unwrap().last().unwrap()["id"],
        id
    );
}

#[tokio::test]
async fn disabling_closes_live_sockets_blocks_login_and_keeps_messages() {
    let app = spawn_app().await;
    let root = app.sign_up_admin("root").await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    app.send_http(&bob, alice.id, "before the ban").await;
    let mut bob_socket = app.connect(&bob).await;
    let bob_cookie = app.cookie_of(&bob);
    let sessions = || app.session_count();
    let sessions_before = sessions().await;

    let res = app.disable_user(&root, bob.id).await;
    assert_eq!(res.status(), StatusCode::OK);

    let leave = bob_socket.next_json().await;
    assert_eq!(leave["type"], "leave");
    assert_eq!(leave["reason"], "account_disabled");
    match bob_socket.next_message().await {
        Message::Close(Some(close)) => assert_eq!(u16::from(close.code), 1008),
        other => panic!("expected the socket to close, got {other:?}"),
    }
    let (stale, _) = app.client();
    let res = stale
        .get(app.url("/api/me"))
        .header("cookie", bob_cookie.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "session deleted");
    assert_eq!(
        sessions().await,
        sessions_before - 1,
        "bob's session, and only his, is deleted"
    );
    let (fresh, _) = app.client();
    let res = app
        .post_json(
            &fresh,
            "/api/auth/login",
            json!({"username": "bob", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "account_disabled");
    assert_eq!(
        app.history(&alice, bob.id, "").await["messages"][0]["message"],
        "before the ban"
    );
    assert_eq!(
        app.connect_raw(Some(bob_cookie), None).await.err(),
        Some(401)
    );

    let res = app
        .post_json(
            &root.http,
            &format!("/api/admin/users/{}/enable", bob.id),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .post_json(
            &fresh,
            "/api/auth/login",
            json!({"username": "bob", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let audit: Value = app
        .get(&root.http, "/api/admin/audit")
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["enable_user", "disable_user"]);
    // An admin cannot lock themselves out.
    let res = app.disable_user(&root, root.id).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Still works for alice's live connection (nothing else was closed).
    let mut alice_socket = app.connect(&alice).await;
    alice_socket
        .send_json(frame_message(alice.id, "still here"))
        .await;
    assert_eq!(
        alice_socket.expect_ack_and_echo().await["message"],
        "still here"
    );
}

#[tokio::test]
async fn the_audit_log_cannot_be_edited() {
    let app = spawn_app().await;
    let root = app.sign_up_admin("root").await;
    app.get(&root.http, "/api/admin/search?q=anything").await;
    assert!(app
        .execute("update audit_log set reason = 'nothing to see'")
        .await
        .is_err());
    assert!(app.execute("delete from audit_log").await.is_err());
    assert_eq!(audit_count(&app, &root).await, 1);
}

#[tokio::test]
async fn create_admin_makes_new_admins_or_promotes() {
    let app = spawn_app().await;
    let created = create_admin(
        &app.state,
        "Boss",
        Some("a long enough password".into()),
        false,
    )
    .await
    .unwrap();
    assert!(created.is_admin);
    assert_eq!(created.username.as_str(), "boss");
    let (http, _) = app.client();
    let res = app
        .post_json(
            &http,
            "/api/auth/login",
            json!({"username": "boss", "password": "a long enough password"}),
        )
        .await;
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["is_admin"], true);

    // A taken name is refused without --promote; --promote needs an existing user.
    assert!(
        create_admin(&app.state, "boss", Some("another password".into()), false)
            .await
            .is_err()
    );
    assert!(create_admin(&app.state, "nobody", None, true)
        .await
        .is_err());
    app.sign_up("carol").await;
    assert!(
        create_admin(&app.state, "carol", None, true)
            .await
            .unwrap()
            .is_admin
    );
}

/// All a client can tell of an answer, less what changes with every response (the date, the
/// Content-Security-Policy's nonce).
#[derive(Debug, PartialEq)]
struct Answer {
    status: StatusCode,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn answer(
    app: &TestApp,
    http: &reqwest::Client,
    method: &Method,
    path: &str,
    origin: Option<&str>,
) -> Answer {
    let mut request = http
        .request(method.clone(), app.url(path))
        .header("content-type", "application/json")
        .body("{}");
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let res = request.send().await.expect("request");
    let mut headers: Vec<(String, String)> = res
        .headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "content-security-policy"))
        .map(|(name, value)| {
            let value = value.to_str().unwrap_or("(not ASCII)");
            (name.to_string(), value.to_owned())
        })
        .collect();
    headers.sort();
    Answer {
        status: res.status(),
        headers,
        body: res.bytes().await.expect("body").to_vec(),
    }
}

#[tokio::test]
async fn admin_paths_answer_non_admins_exactly_as_unknown_paths_do() {
    let app = spawn_app().await;
    app.sign_up_admin("root").await;
    let bob = app.sign_up("bob").await;
    let (anon, _) = app.client();
    let page_paths = [
        "/admin",
        "/admin/",
        "/admin/chats",
        "/admin/chats/1/2",
        "/admin/chats/1/2?reason=curious",
        "/admin/search?q=hello",
        "/admin/audit",
        "/admin/nonexistent",
        "/admin/nonexistent.js",
    ];
    let api_paths = [
        "/api/admin/users",
        "/api/admin/users/1/disable",
        "/api/admin/chats/1/2/messages?reason=curious",
        "/api/admin/search?q=hello",
        "/api/admin/whatever",
    ];
    let methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
        .map(|m| Method::from_bytes(m.as_bytes()).unwrap());
    let unknown = |path: &str| {
        if path.starts_with("/api/") {
            "/api/nowhere"
        } else {
            "/nowhere"
        }
    };

    for path in page_paths.iter().chain(api_paths.iter()) {
        for method in &methods {
            // With no Origin (a plain client) and from another site (refused the same way).
            for origin in [None, Some("http://evil.example")] {
                for (who, client) in [("anonymous", &anon), ("bob", &bob.http)] {
                    let expected = answer(&app, client, method, unknown(path), origin).await;
                    let got = answer(&app, client, method, path, origin).await;
                    assert_eq!(got, expected, "{who} {method} {path} from {origin:?}");
                    if origin.is_none() {
                        assert_eq!(got.status, StatusCode::NOT_FOUND, "{who} {method} {path}");
                    }
                }
            }
        }
    }
}

/// Message ids of the rows of an admin conversation page, in order.
fn listed_ids(html: &str) -> Vec<i64> {
    html.split("data-testid=\"admin-message\" data-id=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
        .collect()
}

/// The `before` the page's "Older messages" form would post, if it has one.
fn older_before(html: &str) -> Option<i64> {
    let rest = html.split("name=\"before\" value=\"").nth(1)?;
    rest[..rest.find('"')?].parse().ok()
}

#[tokio::test]
async fn the_reason_form_posts_and_each_page_read_is_one_audited_read() {
    let app = spawn_app().await;
    let root = app.sign_up_admin("root").await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    for n in 0..60 {
        app.send_http(&alice, bob.id, &format!("line {n}")).await;
    }
    let page = format!("/admin/chats/{}/{}", alice.id, bob.id);

    // A link, even one with a reason in it, only shows the form.
    let res = app.get(&root.http, &format!("{page}?reason=curious")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("data-testid=\"reason-form\""), "{html}");
    assert!(html.contains("method=\"post\""));
    assert!(!html.contains("line 59"));
    assert_eq!(audit_count(&app, &root).await, 0, "a GET reads nothing");

    let read = |form: Vec<(&'static str, String)>| {
        root.http
            .post(app.url(&page))
            .header("origin", format!("http://{}", app.addr))
            .header("sec-fetch-site", "same-origin")
            .form(&form)
            .send()
    };
    let res = read(vec![("reason", "abuse report 7".into())])
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let latest = res.text().await.unwrap();
    let ids = listed_ids(&latest);
    assert_eq!(ids.len(), 50);
    assert!(latest.contains(">line 59<") && !latest.contains(">line 9<"));
    let before = older_before(&latest).expect("an Older messages form");
    assert_eq!(before, ids[0]);
    assert_eq!(audit_count(&app, &root).await, 1);

    let res = read(vec![
        ("reason", "abuse report 7".into()),
        ("before", before.to_string()),
    ])
    .await
    .unwrap();
    let older = res.text().await.unwrap();
    assert_eq!(listed_ids(&older).len(), 10);
    assert!(older.contains(">line 0<"));
    assert_eq!(older_before(&older), None, "nothing older");

    let audit: Value = app
        .get(&root.http, "/api/admin/audit")
        .await
        .json()
        .await
        .unwrap();
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "one row per page read");
    assert!(entries
        .iter()
        .all(|e| e["action"] == "view_conversation" && e["reason"] == "abuse report 7"));

    // A blank reason reads nothing.
    let res = read(vec![("reason", "  ".into())]).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(audit_count(&app, &root).await, 2);
}

#[tokio::test]
async fn audited_reads_started_by_another_site_are_refused_and_not_logged() {
    let app = spawn_app().await;
    let root = app.sign_up_admin("root").await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    app.send_http(&alice, bob.id, "hello there").await;
    let messages = format!(
        "/api/admin/chats/{}/{}/messages?reason=curious",
        alice.id, bob.id
    );
    let page = format!("/admin/chats/{}/{}", alice.id, bob.id);

    for site in ["cross-site", "same-site"] {
        for path in [
            messages.as_str(),
            "/api/admin/search?q=hello",
            "/admin/search?q=hello",
        ] {
            let res = root
                .http
                .get(app.url(path))
                .header("sec-fetch-site", site)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{site} GET {path}");
        }
        let res = root
            .http
            .post(app.url(&page))
            .header("sec-fetch-site", site)
            .form(&[("reason", "curious")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{site} POST {page}");
    }
    let res = root
        .http
        .post(app.url(&page))
        .header("origin", "http://evil.example")
        .form(&[("reason", "curious")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "foreign Origin");
    assert_eq!(audit_count(&app, &root).await, 0, "nothing was read");

    // The same reads from the console itself, or from a client that is not a browser, happen.
    let res = root
        .http
        .get(app.url("/admin/search?q=hello"))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.get(&root.http, &messages).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&root.http, "/api/admin/search?q=hello")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(audit_count(&app, &root).await, 3);
}
