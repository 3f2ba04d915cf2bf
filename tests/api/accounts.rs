use crate::helpers::{spawn_app, test_backend, PASSWORD};
use parley::server::store::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn signup_creates_the_account_and_logs_in() {
    let app = spawn_app().await;
    let (http, _) = app.client();

    let res = app
        .post_json(
            &http,
            "/api/auth/signup",
            json!({"username": "Alice", "password": PASSWORD}),
        )
        .await;

    assert_eq!(res.status(), StatusCode::CREATED);
    let cookie = res
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("parley_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "Secure is off by default: {cookie}"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["username"], "alice", "stored lower-case");
    assert_eq!(body["is_admin"], false);
    assert!(body.get("password_hash").is_none());

    let me: Value = app.get(&http, "/api/me").await.json().await.unwrap();
    assert_eq!(me, body);
}

#[tokio::test]
async fn a_taken_username_is_409_whatever_its_case() {
    let app = spawn_app().await;
    app.sign_up("bob").await;
    let (http, _) = app.client();

    let res = app
        .post_json(
            &http,
            "/api/auth/signup",
            json!({"username": "BOB", "password": PASSWORD}),
        )
        .await;

    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "username_taken");
}

#[tokio::test]
async fn invalid_signup_input_is_422_with_a_reason() {
    let app = spawn_app().await;
    let (http, _) = app.client();
    let cases = [
        (
            json!({"username": "ab", "password": PASSWORD}),
            "invalid_username",
        ),
        (
            json!({"username": "a".repeat(33), "password": PASSWORD}),
            "invalid_username",
        ),
        (
            json!({"username": "bad name", "password": PASSWORD}),
            "invalid_username",
        ),
        (
            json!({"username": "carol", "password": "short"}),
            "invalid_password",
        ),
        (
            json!({"username": "carol", "password": "x".repeat(1025)}),
            "invalid_password",
        ),
        (json!({"username": "carol"}), "invalid_input"),
        (
            json!({"username": 5, "password": PASSWORD}),
            "invalid_input",
        ),
    ];
    for (body, code) in cases {
        let res = app.post_json(&http, "/api/auth/signup", body.clone()).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], code, "{body}");
        assert!(!err["error"]["message"].as_str().unwrap().is_empty());
    }
    // Nothing was created along the way.
    let res = app
        .post_json(
            &http,
            "/api/auth/login",
            json!({"username": "carol", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn malformed_json_is_400_and_wrong_content_type_is_415() {
    let app = spawn_app().await;
    let (http, _) = app.client();

    let res = http
        .post(app.url("/api/auth/signup"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "malformed_json");

    let res = http
        .post(app.url("/api/auth/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=a&password=b")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "unsupported_media_type");
}

#[tokio::test]
async fn login_works_and_every_failure_says_the_same() {
    let app = spawn_app().await;
    app.sign_up("dave").await;
    let (http, _) = app.client();

    let ok = app
        .post_json(
            &http,
            "/api/auth/login",
            json!({"username": "DAVE", "password": PASSWORD}),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let user: Value = ok.json().await.unwrap();
    assert_eq!(user["username"], "dave");

    for (username, password) in [
        ("dave", "wrong password"),
        ("nobody", PASSWORD),
        ("x", "y"),
        ("dave", ""),
    ] {
        let (anon, _) = app.client();
        let res = app
            .post_json(
                &anon,
                "/api/auth/login",
                json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{username}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], "invalid_credentials");
        assert_eq!(err["error"]["message"], "invalid username or password");
        assert_eq!(
            app.get(&anon, "/api/me").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn login_cycles_the_session_id() {
    let app = spawn_app().await;
    let erin = app.sign_up("erin").await;
    let before = app.url("/").parse().unwrap();
    let first = reqwest::cookie::CookieStore::cookies(&*erin.jar, &before).unwrap();

    let res = app
        .post_json(
            &erin.http,
            "/api/auth/login",
            json!({"username": "erin", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let second = reqwest::cookie::CookieStore::cookies(&*erin.jar, &before).unwrap();
    assert_ne!(first, second, "a new session id after login");

    // The old id no longer names a session.
    let (stale, _) = app.client();
    let res = stale
        .get(app.url("/api/me"))
        .header("cookie", first)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let frank = app.sign_up("frank").await;
    assert_eq!(
        app.get(&frank.http, "/api/me").await.status(),
        StatusCode::OK
    );

    let res = app
        .post_json(&frank.http, "/api/auth/logout", json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let res = app.get(&frank.http, "/api/me").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn a_session_survives_a_server_restart() {
    let app = spawn_app().await;
    let gina = app.sign_up("gina").await;

    let app = app.restart().await;

    let res = app.get(&gina.http, "/api/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["username"], "gina");
}

#[tokio::test]
async fn sessions_kept_by_an_earlier_version_survive_the_upgrade() {
    // Earlier versions kept sessions in tower-sessions' own table, with no user column. Put
    // gina's session back there, as such a version left it, beside a record nobody can read.
    let app = spawn_app().await;
    let gina = app.sign_up("gina").await;
    let earlier: [&str; 4] = match test_backend() {
        Backend::Sqlite => [
            "create table tower_sessions
                 (id text primary key not null, data blob not null, expiry_date integer not null)",
            "insert into tower_sessions
                 select id, data, strftime('%Y-%m-%dT%H:%M:%SZ', expiry_date, 'unixepoch')
                 from sessions",
            "insert into tower_sessions values ('unreadable', x'c1', '2999-01-01T00:00:00Z')",
            "delete from sessions",
        ],
        Backend::Postgres => [
            "create schema tower_sessions",
            "create table tower_sessions.session
                 (id text primary key not null, data bytea not null, expiry_date timestamptz not null)",
            "insert into tower_sessions.session
                 select id, data, to_timestamp(expiry_date) from sessions
                 union all select 'unreadable', '\\xc1', '2999-01-01'",
            "delete from sessions",
        ],
    };
    for sql in earlier {
        app.execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    let app = app.restart().await;

    let res = app.get(&gina.http, "/api/me").await;
    assert_eq!(res.status(), StatusCode::OK, "still logged in");
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["username"], "gina");
    assert_eq!(
        app.session_count().await,
        1,
        "the unreadable record is gone"
    );
    assert_eq!(
        app.scalar(
            "select count(*) from sessions where user_id = $1",
            &[gina.id]
        )
        .await,
        1,
        "the moved session knows whose it is"
    );
    let leftover = match test_backend() {
        Backend::Sqlite => "select count(*) from sqlite_master where name = 'tower_sessions'",
        Backend::Postgres => "select count(*) from pg_namespace where nspname = 'tower_sessions'",
    };
    assert_eq!(
        app.scalar(leftover, &[]).await,
        0,
        "the earlier table is dropped"
    );
}

#[tokio::test]
async fn cross_site_writes_are_refused() {
    let app = spawn_app().await;
    let hank = app.sign_up("hank").await;

    let res = hank
        .http
        .post(app.url("/api/auth/logout"))
        .header("origin", "http://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Server functions (the pages' forms) are guarded the same way.
    let res = hank
        .http
        .post(app.url("/_app/logout"))
        .header("origin", "http://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    assert_eq!(
        app.get(&hank.http, "/api/me").await.status(),
        StatusCode::OK,
        "still logged in"
    );
}

#[tokio::test]
async fn pages_need_a_login_except_login_and_signup() {
    let app = spawn_app().await;
    let (anon, _) = app.client();

    for path in ["/", "/c/someone"] {
        let res = app.get(&anon, path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.headers()["location"], "/login", "{path}");
    }
    // An address that is no page is not found, for anonymous visitors too (like the admin
    // console, which must not be told apart from it).
    let res = app.get(&anon, "/no/such/page").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("data-testid=\"not-found\""));
    for path in ["/login", "/signup"] {
        let res = app.get(&anon, path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let html = res.text().await.unwrap();
        assert!(
            html.contains("<form"),
            "{path} renders its form on the server"
        );
    }

    let ivy = app.sign_up("ivy").await;
    let res = app.get(&ivy.http, "/login").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/");
    let res = app.get(&ivy.http, "/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("ivy"));
}

#[tokio::test]
async fn the_login_form_posts_without_javascript() {
    let app = spawn_app().await;
    app.sign_up("jack").await;
    let (browser, _) = app.client();

    // What a browser without JavaScript sends for the login form.
    let form = |password: &str| format!("username=jack&password={password}");
    let res = browser
        .post(app.url("/_app/login"))
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("referer", app.url("/login"))
        .body(form("wrong-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let back = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.contains("/login") && back.contains("__err="), "{back}");
    let page = browser
        .get(&back)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("invalid username or password"),
        "the error is rendered on the server"
    );

    let res = browser
        .post(app.url("/_app/login"))
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("referer", app.url("/login"))
        .body(form(&PASSWORD.replace(' ', "+")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/");
    assert_eq!(app.get(&browser, "/api/me").await.status(), StatusCode::OK);
}
