//! WebSocket clients: connect with a session cookie (optionally from a chosen 127.0.0.x source
//! address), and classify server frames, ignoring every frame type this tool does not know.

use anyhow::{anyhow, bail, Context, Result};
use futures_util::StreamExt;
use serde::Deserialize;
use std::borrow::Cow;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;
use uuid::Uuid;

pub type Ws = WebSocketStream<TcpStream>;

/// Connections one source address can hold to one server port: the ephemeral range is
/// 32768–60999 by default, so stay well inside it and move to the next 127.0.0.x after that.
pub const PER_SOURCE_ADDRESS: usize = 25_000;

/// The source address for the `i`-th connection: the default for the first
/// [`PER_SOURCE_ADDRESS`], then 127.0.0.2, 127.0.0.3, …
pub fn source_for(i: usize) -> Option<Ipv4Addr> {
    let block = i / PER_SOURCE_ADDRESS;
    (block > 0).then(|| Ipv4Addr::new(127, 0, 0, 1 + u8::try_from(block).unwrap_or(250)))
}

/// Small buffers: tungstenite's default read buffer is 128 KiB per connection, which at 10,000+
/// connections would make this process, not the server, the thing being measured.
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// Opens `/ws` with `cookie` and waits for the first frame, which must be `connection_status`.
pub async fn connect(addr: SocketAddr, source: Option<Ipv4Addr>, cookie: &str) -> Result<Ws> {
    let socket = TcpSocket::new_v4()?;
    if let Some(ip) = source {
        socket
            .bind(SocketAddr::from((ip, 0)))
            .with_context(|| format!("bind source address {ip}"))?;
    }
    let stream = tokio::time::timeout(Duration::from_secs(30), socket.connect(addr))
        .await
        .context("TCP connect timed out")?
        .context("TCP connect")?;
    stream.set_nodelay(true)?;
    let mut request = format!("ws://{addr}/ws").into_client_request()?;
    request
        .headers_mut()
        .insert("cookie", HeaderValue::from_str(cookie)?);
    let handshake = tokio_tungstenite::client_async_with_config(request, stream, Some(config()));
    let (mut ws, _) = match tokio::time::timeout(Duration::from_secs(30), handshake).await {
        Err(_) => bail!("WebSocket handshake timed out"),
        Ok(Err(tungstenite::Error::Http(res))) => bail!("upgrade refused: HTTP {}", res.status()),
        Ok(Err(err)) => return Err(err).context("WebSocket handshake"),
        Ok(Ok(pair)) => pair,
    };
    let first = tokio::time::timeout(Duration::from_secs(30), ws.next())
        .await
        .context("no first frame within 30 s")?
        .ok_or_else(|| anyhow!("closed before the first frame"))??;
    match first {
        Message::Text(text) if matches!(classify(&text), Ok(Incoming::Hello)) => Ok(ws),
        other => bail!("first frame is not connection_status: {other:?}"),
    }
}

/// What a server frame means to the load generator.
#[derive(Debug)]
pub enum Incoming {
    Hello,
    Message {
        sender: i64,
        receiver: i64,
        client_id: Option<Uuid>,
    },
    /// The server's acknowledgement of a send, when it sends one (newer protocol versions).
    Ack {
        client_id: Option<Uuid>,
    },
    Error {
        code: String,
        client_id: Option<String>,
    },
    /// A frame type this tool does not know or need (joins, presence, events, …).
    Other,
}

#[derive(Deserialize)]
struct Kind<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
}

#[derive(Deserialize)]
struct MessageFrame {
    message: Stored,
}

#[derive(Deserialize)]
struct Stored {
    sender: i64,
    receiver: i64,
    #[serde(default)]
    client_id: Option<Uuid>,
}

#[derive(Deserialize)]
struct AckFrame {
    #[serde(default)]
    client_id: Option<Uuid>,
}

#[derive(Deserialize)]
struct ErrorFrame {
    code: String,
    #[serde(default)]
    client_id: Option<String>,
}

/// Reads a text frame. Unknown types are `Other`; a known type with the wrong shape is an error.
pub fn classify(text: &str) -> Result<Incoming, String> {
    let kind: Kind = serde_json::from_str(text).map_err(|e| format!("{e}: {text}"))?;
    let bad = |e: serde_json::Error| format!("{e}: {text}");
    Ok(match kind.kind.as_ref() {
        "connection_status" => Incoming::Hello,
        "message" => {
            let f: MessageFrame = serde_json::from_str(text).map_err(bad)?;
            Incoming::Message {
                sender: f.message.sender,
                receiver: f.message.receiver,
                client_id: f.message.client_id,
            }
        }
        "ack" => {
            let f: AckFrame = serde_json::from_str(text).map_err(bad)?;
            Incoming::Ack {
                client_id: f.client_id,
            }
        }
        "error" => {
            let f: ErrorFrame = serde_json::from_str(text).map_err(bad)?;
            Incoming::Error {
                code: f.code,
                client_id: f.client_id,
            }
        }
        _ => Incoming::Other,
    })
}

/// Connects many sockets, `concurrency` at a time, spread over the servers at `addrs` (connection
/// `i` goes to `addrs[i % addrs.len()]`); the `i`-th uses `cookie_of(i)` and counts as connection
/// number `offset + i` when choosing a source address. Returns the sockets in order, or the first
/// failure with how many failed.
pub async fn connect_spread(
    addrs: &[SocketAddr],
    count: usize,
    offset: usize,
    concurrency: usize,
    cookie_of: impl Fn(usize) -> String,
) -> Result<Vec<Ws>> {
    let results: Vec<Result<Ws>> = futures_util::stream::iter(0..count)
        .map(|i| {
            let cookie = cookie_of(i);
            let addr = addrs[i % addrs.len()];
            async move { connect(addr, source_for(offset + i), &cookie).await }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        let first = results
            .into_iter()
            .find_map(Result::err)
            .expect("one failed");
        return Err(first.context(format!("{failed} of {count} WebSocket connections failed")));
    }
    Ok(results.into_iter().map(Result::unwrap).collect())
}

/// Checks the frame reader against sample frames, including types it must ignore (run by
/// `smoke`, since a `harness = false` bench has no unit tests).
pub fn self_check() -> Result<()> {
    let ignored = [
        r#"{"type":"presence_update","user_id":3,"online":true}"#,
        r#"{"type":"join","room":"abc"}"#,
        r#"{"type":"event","event":"typing","data":{"from":2}}"#,
    ];
    for text in ignored {
        if !matches!(classify(text), Ok(Incoming::Other)) {
            bail!("frame reader does not ignore {text}");
        }
    }
    let message = r#"{"type":"message","message":{"id":1,"sender":2,"receiver":3,"message":"hi","date":"2026-01-01T00:00:00.000Z","client_id":"6f1c2c1e-8d4a-4d1e-9a39-0b2b8c4f6a11"}}"#;
    match classify(message) {
        Ok(Incoming::Message {
            sender: 2,
            receiver: 3,
            client_id: Some(_),
        }) => {}
        other => bail!("frame reader misread a message frame: {other:?}"),
    }
    if classify(r#"{"type":"message"}"#).is_ok() {
        bail!("frame reader accepted a message frame without a message");
    }
    Ok(())
}
