//! Accounts for the scenarios: signed up through the HTTP API (works against any server, costs one
//! argon2 hash on the server per account), or written straight into a local database before the
//! server starts (one precomputed hash for all, and sessions minted in the server's session table),
//! which makes thousands of accounts cost seconds instead of minutes.

use crate::database::BenchDb;
use crate::target::{LocalDb, Target};
use anyhow::{anyhow, bail, Context, Result};
use futures_util::{stream, StreamExt, TryStreamExt};
use parley::domain::Password;
use parley::server::store::SessionRow;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;
use tower_sessions::cookie::time::{Duration as CookieDuration, OffsetDateTime};
use tower_sessions::session::{Id, Record};

/// Every bench account's password.
pub const PASSWORD: &str = "bench-password-0123";
const SESSION_COOKIE: &str = "parley_session";

/// A logged-in user: id, name and the `Cookie` header value that carries its session.
#[derive(Clone, Debug)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub cookie: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Provision {
    /// `POST /api/auth/signup` per account.
    Api,
    /// Rows written into the local database before the server starts.
    Direct,
}

/// A random tag so names never collide with an earlier run against the same `--url` server.
pub fn run_tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..6].to_owned()
}

pub fn http_client() -> Result<Client> {
    Ok(Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(64)
        .build()?)
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{SESSION_COOKIE}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

async fn auth_call(http: &Client, target: &Target, path: &str, name: &str) -> Result<Account> {
    let res = http
        .post(target.url(path))
        .header(CONTENT_TYPE, "application/json")
        .body(json!({"username": name, "password": PASSWORD}).to_string())
        .send()
        .await
        .with_context(|| format!("POST {path} for {name}"))?;
    let status = res.status();
    let cookie = session_cookie(&res);
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if !(status == StatusCode::OK || status == StatusCode::CREATED) {
        bail!("POST {path} for {name}: {status} {body}");
    }
    Ok(Account {
        id: body["id"]
            .as_i64()
            .ok_or_else(|| anyhow!("POST {path}: no user id in {body}"))?,
        name: name.to_owned(),
        cookie: cookie.ok_or_else(|| anyhow!("POST {path}: no {SESSION_COOKIE} cookie"))?,
    })
}

/// Signs up `names` through the API, a few at a time (each costs an argon2 hash on the server).
pub async fn sign_up(target: &Target, names: &[String]) -> Result<Vec<Account>> {
    let http = http_client()?;
    stream::iter(names)
        .map(|name| auth_call(&http, target, "/api/auth/signup", name))
        .buffered(8)
        .try_collect()
        .await
}

/// Logs an existing account in through the API.
pub async fn log_in(target: &Target, name: &str) -> Result<Account> {
    auth_call(&http_client()?, target, "/api/auth/login", name).await
}

/// One argon2id hash of [`PASSWORD`], made exactly as the server makes them.
pub async fn password_hash() -> Result<String> {
    let password = Password::parse(PASSWORD.to_owned()).map_err(|e| anyhow!("{e}"))?;
    parley::server::hashing::hash_password(password)
        .await
        .map_err(|e| anyhow!("hash the bench password: {e}"))
}

/// Sessions for `ids`, logged in exactly as a login leaves them (the server's own session row
/// encoding), and the `Cookie` header value of each.
pub fn logged_in_sessions(ids: &[i64]) -> Result<(Vec<SessionRow>, Vec<String>)> {
    let expiry = OffsetDateTime::now_utc() + CookieDuration::days(30);
    let mut rows = Vec::with_capacity(ids.len());
    let mut cookies = Vec::with_capacity(ids.len());
    for id in ids {
        let record = Record {
            id: Id::default(),
            data: HashMap::from([(parley::server::auth::USER_ID_KEY.to_owned(), json!(id))]),
            expiry_date: expiry,
        };
        rows.push(SessionRow::of(&record).map_err(|e| anyhow!("encode a session: {e}"))?);
        cookies.push(format!("{SESSION_COOKIE}={}", record.id));
    }
    Ok((rows, cookies))
}

/// Creates `names` directly in a stopped server's database, each with a live session.
pub async fn direct(db: &LocalDb, names: &[String]) -> Result<Vec<Account>> {
    let bench_db = BenchDb::open(&db.url).await?;
    let hash = password_hash().await?;
    let ids = bench_db.insert_users(names, &hash).await?;
    let (sessions, cookies) = logged_in_sessions(&ids)?;
    bench_db.insert_sessions(&sessions).await?;
    bench_db.close().await;
    Ok(ids
        .into_iter()
        .zip(cookies)
        .zip(names)
        .map(|((id, cookie), name)| Account {
            id,
            name: name.clone(),
            cookie,
        })
        .collect())
}

/// Sends a message over HTTP as `from`; returns the stored message's id.
pub async fn post_message(
    http: &Client,
    target: &Target,
    from: &Account,
    to: i64,
    text: &str,
) -> Result<i64> {
    let res = http
        .post(target.url(&format!("/api/conversations/{to}/messages")))
        .header(COOKIE, &from.cookie)
        .header(CONTENT_TYPE, "application/json")
        .body(json!({"message": text}).to_string())
        .send()
        .await?;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if status != StatusCode::CREATED {
        bail!("POST message: {status} {body}");
    }
    body["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("no message id in {body}"))
}
