//! The deployment of docs/DEPLOY.md, for real: two `parley` nodes on one throwaway PostgreSQL,
//! linked by a real `nats-server`, behind nginx running the sample configuration
//! `docs/nginx.conf` (only its node addresses and listening port changed). Everything a browser
//! does goes through nginx: sign-up (with the Origin check), the WebSocket upgrade, live delivery.

use crate::helpers::{spawn_binary, PASSWORD};
use crate::nats::Nats;
use crate::postgres::fresh_database;
use futures_util::{SinkExt, StreamExt};
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// nginx with the sample configuration, killed (and its folder removed) when dropped.
struct Nginx {
    server: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(nodes: [std::net::SocketAddr; 2]) -> Nginx {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let sample =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/nginx.conf"))
                .expect("docs/nginx.conf");
        let config = sample
            .replace("server 127.0.0.1:3001;", &format!("server {};", nodes[0]))
            .replace("server 127.0.0.1:3002;", &format!("server {};", nodes[1]))
            .replace(
                "listen 127.0.0.1:8080;",
                &format!("listen 127.0.0.1:{port};"),
            );
        assert_ne!(
            config, sample,
            "the sample's addresses are where the test expects them"
        );
        let dir = tempfile::tempdir().unwrap();
        // nginx's workers run as an unprivileged user when the tests run as root.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        std::fs::write(dir.path().join("nginx.conf"), config).unwrap();
        let server = Command::new(if std::path::Path::new("/usr/sbin/nginx").exists() {
            "/usr/sbin/nginx"
        } else {
            "nginx"
        })
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(dir.path().join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start nginx (run .ci/install-tools.sh?)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not start within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx {
            server,
            port,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Nginx {
    /// SIGTERM, nginx's fast shutdown: the master stops its workers, then exits. Killed outright,
    /// the master would leave its workers running, holding the listening port, after the test.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.server.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.server.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Signs `name` up through nginx as a browser would (with its Origin); returns (id, cookie).
async fn sign_up(nginx: &Nginx, name: &str) -> (i64, String) {
    let res = reqwest::Client::new()
        .post(nginx.url("/api/auth/signup"))
        .header(ORIGIN, nginx.url(""))
        .json(&json!({"username": name, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let cookie = res
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let body: Value = res.json().await.unwrap();
    (body["id"].as_i64().unwrap(), cookie)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(nginx: &Nginx, cookie: &str) -> Ws {
    let mut request = format!("ws://127.0.0.1:{}/ws", nginx.port)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert(COOKIE, cookie.parse().unwrap());
    request
        .headers_mut()
        .insert(ORIGIN, nginx.url("").parse().unwrap());
    tokio_tungstenite::connect_async(request)
        .await
        .expect("the upgrade passes through nginx")
        .0
}

/// The next text frame.
async fn next_of_any(socket: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s")
            .expect("open")
            .expect("no error");
        if let Message::Text(text) = frame {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

/// The next frame of `kind`, skipping the others.
async fn next_of(socket: &mut Ws, kind: &str) -> Value {
    loop {
        let frame = next_of_any(socket).await;
        if frame["type"] == kind {
            return frame;
        }
    }
}

#[tokio::test]
async fn two_nodes_behind_nginx_with_the_sample_configuration() {
    let nats = Nats::start();
    let database_url = fresh_database().await;
    let settings = [
        ("BROKER_URL", nats.url()),
        ("PARLEY_TRUSTED_PROXIES", "127.0.0.1".to_owned()),
    ];
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_one, one) = spawn_binary(&database_url, &settings).await;
    let (_two, two) = spawn_binary(&database_url, &settings).await;
    let nginx = Nginx::start([one, two]);

    let res = reqwest::get(nginx.url("/readyz")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (alice, alice_cookie) = sign_up(&nginx, "alice").await;
    let (bob, bob_cookie) = sign_up(&nginx, "bob").await;
    // Several sockets each, so that both nodes hold some (nginx sends each to the emptier node).
    let mut alice_sockets = Vec::new();
    let mut bob_sockets = Vec::new();
    for _ in 0..2 {
        alice_sockets.push(connect(&nginx, &alice_cookie).await);
        bob_sockets.push(connect(&nginx, &bob_cookie).await);
    }

    alice_sockets[0]
        .send(Message::text(
            json!({"type": "message", "to": bob, "message": "through the balancer"}).to_string(),
        ))
        .await
        .unwrap();
    // The sender's socket gets the ack and its own copy, in either order.
    let (mut ack, mut echo) = (Value::Null, Value::Null);
    while ack.is_null() || echo.is_null() {
        let frame = next_of_any(&mut alice_sockets[0]).await;
        match frame["type"].as_str() {
            Some("ack") => ack = frame,
            Some("message") => echo = frame,
            _ => {}
        }
    }
    assert_eq!(echo["message"]["id"], ack["id"]);
    for socket in bob_sockets.iter_mut().chain(alice_sockets[1..].iter_mut()) {
        let message = next_of(socket, "message").await;
        assert_eq!(message["message"]["id"], ack["id"]);
        assert_eq!(message["message"]["sender"], alice);
    }

    // A page through nginx, and a cross-site write refused there as anywhere.
    let page = reqwest::Client::new()
        .get(nginx.url("/"))
        .header(COOKIE, &bob_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let forged = reqwest::Client::new()
        .post(nginx.url("/api/auth/logout"))
        .header(COOKIE, &bob_cookie)
        .header(ORIGIN, "http://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}
