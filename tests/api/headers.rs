//! The security headers: a Content-Security-Policy whose nonce is the page's, fresh per response;
//! no caching of private answers; HSTS only behind TLS.

use crate::helpers::{spawn_app, spawn_app_with, TestApp};
use reqwest::{Client, Response, StatusCode};

/// The nonce the response's Content-Security-Policy allows inline scripts with.
fn csp_nonce(res: &Response) -> String {
    let policy = header(res, "content-security-policy");
    let start = policy.find("'nonce-").expect("a nonce in the policy") + "'nonce-".len();
    let len = policy[start..].find('\'').expect("closing quote");
    policy[start..start + len].to_owned()
}

fn header(res: &Response, name: &str) -> String {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} on {}", res.url()))
        .to_str()
        .expect("ASCII header")
        .to_owned()
}

/// Fetches `path` and checks that every `<script>` in the page carries the policy's nonce, that
/// there is at least one (the hydration script), and that no element has an inline handler.
async fn assert_scripts_carry_the_nonce(app: &TestApp, http: &Client, path: &str) -> String {
    let res = app.get(http, path).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let nonce = csp_nonce(&res);
    let html = res.text().await.expect("body");
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert!(!scripts.is_empty(), "{path} has no hydration script");
    for script in scripts {
        let tag = &script[..script.find('>').expect("tag end")];
        assert!(
            tag.contains(&format!("nonce=\"{nonce}\"")),
            "{path}: <script{tag}> lacks the nonce {nonce}"
        );
    }
    for handler in [
        " onclick=",
        " onload=",
        " onerror=",
        " onsubmit=",
        "javascript:",
    ] {
        assert!(!html.contains(handler), "{path} has {handler}");
    }
    nonce
}

#[tokio::test]
async fn every_page_script_carries_the_nonce_of_its_policy() {
    let app = spawn_app().await;
    let (anon, _) = app.client();
    assert_scripts_carry_the_nonce(&app, &anon, "/login").await;
    // Logged-in pages stream their data to the browser in inline scripts too.
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    app.send_http(&bob, alice.id, "hi").await;
    assert_scripts_carry_the_nonce(&app, &alice.http, "/").await;
    assert_scripts_carry_the_nonce(&app, &alice.http, "/c/bob").await;
}

#[tokio::test]
async fn the_policy_allows_no_inline_script_and_no_framing() {
    let app = spawn_app().await;
    let (anon, _) = app.client();
    let res = app.get(&anon, "/login").await;
    let policy = header(&res, "content-security-policy");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(!policy.contains("'unsafe-eval'"), "{policy}");
    for directive in [
        "default-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} missing: {policy}");
    }
    assert_eq!(header(&res, "x-content-type-options"), "nosniff");
    assert_eq!(header(&res, "referrer-policy"), "same-origin");
    assert_eq!(header(&res, "x-frame-options"), "DENY");
}

#[tokio::test]
async fn every_response_has_a_fresh_nonce() {
    let app = spawn_app().await;
    let (anon, _) = app.client();
    let first = csp_nonce(&app.get(&anon, "/login").await);
    let second = csp_nonce(&app.get(&anon, "/login").await);
    assert_ne!(first, second);
    assert!(first.len() >= 22, "128 bits at least: {first}");
}

#[tokio::test]
async fn pages_and_private_api_answers_are_not_stored() {
    let app = spawn_app().await;
    let alice = app.sign_up("alice").await;
    let (anon, _) = app.client();
    for (who, path) in [
        (&alice.http, "/"),
        (&alice.http, "/api/me"),
        (&alice.http, "/api/conversations"),
        (&anon, "/login"),
        (&anon, "/nowhere"),
        (&anon, "/api/nowhere"),
    ] {
        let res = app.get(who, path).await;
        assert_eq!(header(&res, "cache-control"), "no-store", "{path}");
    }
    // The site's files are the same for everyone: caches may keep them (served here from public/,
    // so the test needs no release build).
    let files = spawn_app_with(|config| {
        config.site_root = concat!(env!("CARGO_MANIFEST_DIR"), "/public").into()
    })
    .await;
    let res = files.get(&anon, "/favicon.svg").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("cache-control").is_none());
    let res = files.get(&anon, "/no-such-file.svg").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&res, "cache-control"), "no-store");
}

#[tokio::test]
async fn hsts_only_when_cookies_are_secure() {
    let plain = spawn_app().await;
    let (anon, _) = plain.client();
    let res = plain.get(&anon, "/login").await;
    assert!(res.headers().get("strict-transport-security").is_none());

    let behind_tls = spawn_app_with(|config| config.secure_cookies = true).await;
    let (anon, _) = behind_tls.client();
    for path in ["/login", "/api/me", "/nowhere"] {
        let res = behind_tls.get(&anon, path).await;
        assert_eq!(
            header(&res, "strict-transport-security"),
            "max-age=31536000; includeSubDomains",
            "{path}"
        );
    }
}
