use futures_util::{SinkExt, StreamExt};
use parley::server::config::Config;
use parley::server::router::build_router;
use parley::server::state::AppState;
use parley::server::store::{Backend, Store};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub database_url: String,
    server: JoinHandle<()>,
    // Keeps the database folder alive for the test's lifetime (and across restarts).
    _dir: Arc<TempDir>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Starts the app on a fresh database, with the settings `parley` runs with by default.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Which backend this run of the suite uses: SQLite, or PostgreSQL when
/// `PARLEY_TEST_BACKEND=postgres` (`make test` runs the integration suite once on each).
pub fn test_backend() -> Backend {
    match std::env::var("PARLEY_TEST_BACKEND").as_deref() {
        Err(_) | Ok("" | "sqlite") => Backend::Sqlite,
        Ok("postgres") => Backend::Postgres,
        Ok(other) => panic!("PARLEY_TEST_BACKEND must be sqlite or postgres, not {other:?}"),
    }
}

/// A fresh, empty database of this run's backend: a file named `name` in `dir`, or a new
/// database on the test cluster (`postgres.rs`).
pub async fn fresh_database_url(dir: &std::path::Path, name: &str) -> String {
    match test_backend() {
        Backend::Sqlite => format!("sqlite://{}/{name}.db", dir.display()),
        Backend::Postgres => crate::postgres::fresh_database().await,
    }
}

/// Starts the app on a fresh database, with the default settings as `configure` changes them.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let url = fresh_database_url(dir.path(), "test").await;
    let mut config = Config::for_database(url);
    configure(&mut config);
    start(config, dir).await
}

/// Starts the app on a fresh database of the test PostgreSQL cluster (`postgres.rs`), with the
/// settings `parley` runs with by default.
pub async fn spawn_app_on_postgres() -> TestApp {
    let url = crate::postgres::fresh_database().await;
    start(
        Config::for_database(url),
        Arc::new(tempfile::tempdir().expect("temp dir")),
    )
    .await
}

/// Starts the app on the database at `database_url`, which `dir` keeps alive.
pub async fn spawn_app_on(database_url: String, dir: Arc<TempDir>) -> TestApp {
    start(Config::for_database(database_url), dir).await
}

async fn start(config: Config, dir: Arc<TempDir>) -> TestApp {
    let database_url = config.database_url.clone();
    let state = AppState::open(config).await.expect("open state");
    let router = build_router(state.clone()).await.expect("build router");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, service).await.expect("serve");
    });
    TestApp {
        addr,
        state,
        database_url,
        server,
        _dir: dir,
    }
}

impl TestApp {
    /// Talks to a server started elsewhere (another process) that uses `database_url`.
    pub async fn attach(addr: SocketAddr, database_url: &str) -> TestApp {
        let state = AppState::open(Config::for_database(database_url))
            .await
            .expect("open state");
        TestApp {
            addr,
            state,
            database_url: database_url.to_owned(),
            server: tokio::spawn(async {}),
            _dir: Arc::new(tempfile::tempdir().expect("temp dir")),
        }
    }
}

/// Server settings for tests that send as fast as they can: the per-user send limit is off.
pub const SEND_LIMIT_OFF: &[(&str, &str)] = &[("PARLEY_SEND_RATE", "0")];

/// Starts the real server binary (not the in-process router) on `database_url`, on a free port,
/// with `envs` added to its environment. Returns the process, killed when dropped, and the address
/// it printed. Its output is read until the process ends, so a late log line never meets a closed pipe.
pub async fn spawn_binary(
    database_url: &str,
    envs: &[(&str, &str)],
) -> (tokio::process::Child, SocketAddr) {
    let (server, addr, _) = spawn_binary_with_metrics(database_url, envs).await;
    (server, addr)
}

/// `spawn_binary`, also returning the metrics address the server printed, if it serves metrics
/// (`PARLEY_METRICS_ADDR` in `envs`).
pub async fn spawn_binary_with_metrics(
    database_url: &str,
    envs: &[(&str, &str)],
) -> (tokio::process::Child, SocketAddr, Option<SocketAddr>) {
    use tokio::io::AsyncBufReadExt;
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_parley"))
        .env("DATABASE_URL", database_url)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server binary");
    let stdout = server.stdout.take().expect("stdout is piped");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut metrics = None;
    let addr = loop {
        let line = lines
            .next_line()
            .await
            .expect("read the server's output")
            .expect("the server prints its address");
        if let Some(addr) = line.strip_prefix("parley is serving at http://") {
            break addr.parse().expect("a socket address");
        }
        if let Some(url) = line.strip_prefix("parley metrics at http://") {
            let addr = url.strip_suffix("/metrics").expect("the metrics path");
            metrics = Some(addr.parse().expect("a socket address"));
        }
    };
    tokio::spawn(async move {
        // Shown with the test's output when it fails.
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("server: {line}");
        }
    });
    (server, addr, metrics)
}

/// A logged-in (or not) person: an HTTP client with its own cookie jar.
pub struct Person {
    pub http: Client,
    pub jar: Arc<Jar>,
    pub id: i64,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// One number read straight from this app's database, whichever the backend (both take `$1`
    /// placeholders), e.g. `select count(*) from chat where sender = $1`.
    pub async fn scalar(&self, sql: &str, binds: &[i64]) -> i64 {
        macro_rules! run {
            ($pool:expr) => {{
                let mut query = sqlx::query_scalar::<_, i64>(sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                query.fetch_one($pool).await
            }};
        }
        match &self.state.store {
            Store::Sqlite(store) => run!(store.pool()),
            Store::Postgres(store) => run!(store.pool()),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Rows read straight from this app's database, whichever the backend.
    pub async fn rows<T>(&self, sql: &str) -> Vec<T>
    where
        T: Send + Unpin,
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        match &self.state.store {
            Store::Sqlite(store) => sqlx::query_as(sql).fetch_all(store.pool()).await,
            Store::Postgres(store) => sqlx::query_as(sql).fetch_all(store.pool()).await,
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Runs one statement straight on this app's database, whichever the backend.
    pub async fn execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match &self.state.store {
            Store::Sqlite(store) => sqlx::query(sql)
                .execute(store.pool())
                .await
                .map(|r| r.rows_affected()),
            Store::Postgres(store) => sqlx::query(sql)
                .execute(store.pool())
                .await
                .map(|r| r.rows_affected()),
        }
    }

    /// How many sessions the database holds, whichever the backend keeps them in.
    pub async fn session_count(&self) -> i64 {
        self.scalar("select count(*) from sessions", &[]).await
    }

    /// Stops this server and starts a new one on the same database file.
    pub async fn restart(self) -> TestApp {
        let url = self.database_url.clone();
        let dir = Arc::clone(&self._dir);
        drop(self);
        spawn_app_on(url, dir).await
    }

    pub fn client(&self) -> (Client, Arc<Jar>) {
        let jar = Arc::new(Jar::default());
        let http = Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        (http, jar)
    }

    pub async fn post_json(&self, http: &Client, path: &str, body: Value) -> Response {
        http.post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// A DELETE as a browser's `fetch` would send it (JSON content type, as every API write needs).
    pub async fn http_delete(&self, who: &Person, path: &str) -> Response {
        who.http
            .delete(self.url(path))
            .json(&json!({}))
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, http: &Client, path: &str) -> Response {
        http.get(self.url(path)).send().await.expect("request")
    }

    /// Signs a new person up through the API; their client holds the session cookie.
    pub async fn sign_up(&self, username: &str) -> Person {
        self.authenticate("/api/auth/signup", username, StatusCode::CREATED)
            .await
    }

    /// Signs `username` up through the API and makes them an admin (`parley create-admin --promote`).
    pub async fn sign_up_admin(&self, username: &str) -> Person {
        let person = self.sign_up(username).await;
        parley::server::accounts::create_admin(&self.state, username, None, true)
            .await
            .expect("promote to admin");
        person
    }

    /// `admin` asks to disable the account `user`.
    pub async fn disable_user(&self, admin: &Person, user: i64) -> Response {
        self.post_json(
            &admin.http,
            &format!("/api/admin/users/{user}/disable"),
            json!({}),
        )
        .await
    }

    /// Logs an existing account in through the API; the client holds the session cookie.
    pub async fn log_in(&self, username: &str) -> Person {
        self.authenticate("/api/auth/login", username, StatusCode::OK)
            .await
    }

    async fn authenticate(&self, path: &str, username: &str, expected: StatusCode) -> Person {
        let (http, jar) = self.client();
        let res = self
            .post_json(
                &http,
                path,
                json!({"username": username, "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status(), expected, "{path} as {username}");
        let body: Value = res.json().await.expect("json");
        Person {
            http,
            jar,
            id: body["id"].as_i64().expect("id"),
        }
    }

    /// Inserts messages from `from` to `to` straight into the table in one transaction, as an
    /// import would (the search index takes them in like any other), dated one millisecond apart.
    pub async fn bulk_insert(
        &self,
        from: &Person,
        to: &Person,
        texts: impl Iterator<Item = String>,
    ) {
        let texts: Vec<String> = texts.collect();
        match &self.state.store {
            Store::Sqlite(store) => {
                let mut tx = store.pool().begin().await.expect("begin");
                for (n, text) in (0_i64..).zip(texts) {
                    sqlx::query(
                        "insert into chat (sender, receiver, message, date) values ($1, $2, $3, $4)",
                    )
                    .bind(from.id)
                    .bind(to.id)
                    .bind(text)
                    .bind(1_700_000_000_000 + n)
                    .execute(&mut *tx)
                    .await
                    .expect("insert");
                }
                tx.commit().await.expect("commit");
            }
            // Ids come from the counter row, as the store's writer takes them, so the store
            // continues above them.
            Store::Postgres(store) => {
                let mut tx = store.pool().begin().await.expect("begin");
                let last: i64 = sqlx::query_scalar(
                    "update message_counter set last_id = last_id + $1 returning last_id",
                )
                .bind(texts.len() as i64)
                .fetch_one(&mut *tx)
                .await
                .expect("take ids");
                let first = last - texts.len() as i64 + 1;
                for (n, text) in (0_i64..).zip(texts) {
                    sqlx::query(
                        "insert into chat (id, sender, receiver, message, date) values ($1, $2, $3, $4, $5)",
                    )
                    .bind(first + n)
                    .bind(from.id)
                    .bind(to.id)
                    .bind(text)
                    .bind(1_700_000_000_000 + n)
                    .execute(&mut *tx)
                    .await
                    .expect("insert");
                }
                tx.commit().await.expect("commit");
            }
        }
    }

    /// The texts `who` finds with `q` in their own conversations (`GET /api/search`).
    pub async fn search(&self, who: &Person, q: &str) -> Vec<String> {
        let res = who
            .http
            .get(self.url("/api/search"))
            .query(&[("q", q)])
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.expect("json");
        body["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .map(|hit| hit["message"]["message"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The caller's inbox, as `GET /api/conversations` returns it.
    pub async fn inbox(&self, who: &Person) -> Vec<Value> {
        let res = self.get(&who.http, "/api/conversations").await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.expect("json");
        body["conversations"]
            .as_array()
            .expect("conversations")
            .clone()
    }

    /// Sends a message over HTTP and returns the stored message.
    pub async fn send_http(&self, from: &Person, to: i64, text: &str) -> Value {
        let res = self
            .post_json(
                &from.http,
                &format!("/api/conversations/{to}/messages"),
                json!({"message": text}),
            )
            .await;
        let status = res.status();
        let body: Value = res.json().await.expect("json");
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    pub async fn history(&self, who: &Person, peer: i64, query: &str) -> Value {
        let res = self
            .get(
                &who.http,
                &format!("/api/conversations/{peer}/messages{query}"),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("json")
    }

    /// The `Cookie` header `who`'s client would send.
    pub fn cookie_of(&self, who: &Person) -> HeaderValue {
        let cookies = who
            .jar
            .cookies(&self.url("/").parse().expect("url"))
            .expect("a session cookie");
        HeaderValue::from_bytes(cookies.as_bytes()).expect("cookie header")
    }

    /// Opens a WebSocket as `who` (their session cookie) and reads the hello frame.
    pub async fn connect(&self, who: &Person) -> Socket {
        let mut socket = self
            .connect_raw(Some(self.cookie_of(who)), None)
            .await
            .expect("upgrade");
        socket.expect_greeting().await;
        socket
    }

    /// Opens a WebSocket as `who` that resumes after message `after` (`/ws?after=`), and reads the
    /// greeting; the replay follows.
    pub async fn connect_after(&self, who: &Person, after: i64) -> Socket {
        let mut request = format!("ws://{}/ws?after={after}", self.addr)
            .into_client_request()
            .expect("request");
        request.headers_mut().insert("cookie", self.cookie_of(who));
        let (stream, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("upgrade");
        let mut socket = Socket { stream };
        socket.expect_greeting().await;
        socket
    }

    /// Attempts an upgrade with optional session and Origin; returns the HTTP status on refusal.
    pub async fn connect_raw(
        &self,
        cookie: Option<HeaderValue>,
        origin: Option<&str>,
    ) -> Result<Socket, u16> {
        let mut request = format!("ws://{}/ws", self.addr)
            .into_client_request()
            .expect("request");
        if let Some(cookie) = cookie {
            request.headers_mut().insert("cookie", cookie);
        }
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", HeaderValue::from_str(origin).expect("origin"));
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((stream, _)) => Ok(Socket { stream }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(other) => panic!("unexpected websocket error: {other}"),
        }
    }
}

pub struct Socket {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How long to wait for a frame that must come, and to be sure that one that must not come does not.
const MUST_ARRIVE: Duration = Duration::from_secs(5);
const MUST_NOT_ARRIVE: Duration = Duration::from_millis(300);

impl Socket {
    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.stream
            .send(Message::text(text.into()))
            .await
            .expect("send");
    }

    pub async fn send_json(&mut self, value: Value) {
        self.send_text(value.to_string()).await;
    }

    /// The next message of any kind (text, close, ...).
    pub async fn next_message(&mut self) -> Message {
        tokio::time::timeout(MUST_ARRIVE, self.stream.next())
            .await
            .expect("a frame within the time limit")
            .expect("stream still open")
            .expect("no protocol error")
    }

    /// Reads what every connection starts with: `connection_status`, `join`, `presence_full`.
    /// Returns the `presence_full` frame.
    pub async fn expect_greeting(&mut self) -> Value {
        let hello = self.next_json().await;
        assert_eq!(hello["type"], "connection_status", "{hello}");
        let join = self.next_json().await;
        assert_eq!(join["type"], "join", "{join}");
        assert_eq!(join["room"], hello["room"]);
        let presence = self.next_json().await;
        assert_eq!(presence["type"], "presence_full", "{presence}");
        presence
    }

    /// After this connection sent a message: its `ack` and its own copy of the message, in
    /// either order, describing the same stored row. Returns the message.
    pub async fn expect_ack_and_echo(&mut self) -> Value {
        let (first, second) = (self.next_json().await, self.next_json().await);
        let (ack, echo) = if first["type"] == "ack" {
            (first, second)
        } else {
            (second, first)
        };
        assert_eq!(ack["type"], "ack", "{ack}");
        assert_eq!(echo["type"], "message", "{echo}");
        assert_eq!(ack["id"], echo["message"]["id"]);
        assert_eq!(ack["date"], echo["message"]["date"]);
        assert_eq!(ack["client_id"], echo["message"]["client_id"]);
        echo["message"].clone()
    }

    /// Sends `text` to `to` and waits for its ack and echo; returns the stored message's id.
    pub async fn send_stored(&mut self, to: i64, text: &str) -> i64 {
        self.send_json(frame_message(to, text)).await;
        self.expect_ack_and_echo().await["id"]
            .as_i64()
            .expect("a message id")
    }

    pub async fn next_json(&mut self) -> Value {
        match self.next_message().await {
            Message::Text(text) => {
                serde_json::from_str(text.as_str()).expect("server frames are JSON")
            }
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Asserts that nothing arrives for a short while.
    pub async fn assert_silent(&mut self) {
        if let Ok(Some(frame)) = tokio::time::timeout(MUST_NOT_ARRIVE, self.stream.next()).await {
            panic!("expected no frame, got {frame:?}");
        }
    }
}

/// Reads `message` frames until `count` have arrived (skipping other frames); returns their ids in
/// arrival order.
pub async fn read_message_ids(socket: &mut Socket, count: usize) -> Vec<i64> {
    let mut ids = Vec::with_capacity(count);
    while ids.len() < count {
        let frame = socket.next_json().await;
        if frame["type"] == "message" {
            ids.push(frame["message"]["id"].as_i64().unwrap());
        }
    }
    ids
}

pub fn frame_message(to: i64, text: &str) -> Value {
    json!({"type": "message", "to": to, "message": text})
}

/// What a server's `/metrics` says, fetched from its metrics address.
pub struct Scrape {
    pub text: String,
}

impl Scrape {
    pub async fn from(metrics: SocketAddr) -> Scrape {
        let res = reqwest::get(format!("http://{metrics}/metrics"))
            .await
            .expect("GET /metrics");
        assert_eq!(res.status(), StatusCode::OK);
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        Scrape {
            text: res.text().await.expect("the metrics text"),
        }
    }

    /// The value of the sample named exactly `sample` (labels included, as in
    /// `parley_evictions_total{reason="logged_out"}`), if the scrape has it.
    pub fn value(&self, sample: &str) -> Option<f64> {
        self.text.lines().find_map(|line| {
            let value = line.strip_prefix(sample)?.strip_prefix(' ')?;
            Some(value.parse().expect("a number"))
        })
    }

    /// Like `value`, for a sample that must be there.
    pub fn get(&self, sample: &str) -> f64 {
        self.value(sample)
            .unwrap_or_else(|| panic!("no {sample} in\n{}", self.text))
    }
}

/// The messages sent in `user`'s conversations after stream position `after` (resume's replay
/// without the edits and deletions), for checks that only send.
pub async fn sent_after(
    store: &Store,
    user: parley::domain::UserId,
    after: i64,
    limit: u32,
) -> Vec<parley::domain::ChatMessage> {
    use parley::domain::Change;
    use parley::server::store::MessageStore;
    store
        .entries_after(user, after, limit)
        .await
        .expect("read the stream")
        .into_iter()
        .filter(|entry| entry.change == Change::Sent)
        .map(|entry| entry.message)
        .collect()
}
