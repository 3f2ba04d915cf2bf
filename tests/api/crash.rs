//! A crash, not a shutdown: the real binary is killed with SIGKILL while clients stream sends with
//! acks, then restarted on the same database. Every acked message must be there exactly once, and
//! re-sending every unacked message with its original `client_id` (as a client's outbox does after
//! a reconnect) must leave each message that was sent stored exactly once: no duplicate, no gap.

use crate::helpers::{fresh_database_url, spawn_binary, Person, TestApp, SEND_LIMIT_OFF};
use futures_util::{SinkExt, StreamExt};
use parley::domain::ClientId;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// This test is about durability; rate limits would only slow the stream down.
/// Sends a client may have outstanding before it waits for acks, like a real client's outbox.
/// It also bounds how much there is to re-send after the crash.
const IN_FLIGHT: usize = 64;
/// Acks to wait for, across all clients, before the kill, so that it lands mid-stream.
const ACKS_BEFORE_KILL: usize = 400;
/// Re-sends over one socket before reading their acks; the socket is not split, so keep it small.
const RESEND_WINDOW: usize = 16;

#[derive(Clone, Debug)]
struct Sent {
    client_id: ClientId,
    sender: i64,
    receiver: i64,
    text: String,
}

/// A row of the `chat` table, as far as this test cares.
#[derive(Debug, sqlx::FromRow)]
struct Row {
    id: i64,
    sender: i64,
    receiver: i64,
    message: String,
    client_id: Option<String>,
}

/// One client streaming over its own socket: what it tried to send, and the acks it got.
struct Client {
    writer: JoinHandle<Vec<Sent>>,
    reader: JoinHandle<HashMap<ClientId, i64>>,
}

impl Client {
    /// Connects as `from` and sends numbered messages to `to`, each with a fresh `client_id`,
    /// never more than `IN_FLIGHT` unacked, until the socket dies. `acks` counts acks for all.
    async fn start(
        app: &TestApp,
        from: &Person,
        to: i64,
        label: String,
        acks: Arc<AtomicUsize>,
    ) -> Self {
        let socket = app.connect(from).await;
        let (mut sink, mut stream) = socket.stream.split();
        let window = Arc::new(Semaphore::new(IN_FLIGHT));
        let sender = from.id;
        let writer = tokio::spawn({
            let window = Arc::clone(&window);
            async move {
                let mut sent = Vec::new();
                for n in 0_u64.. {
                    // Closed by the reader once the socket is gone.
                    let Ok(permit) = window.acquire().await else {
                        break;
                    };
                    permit.forget();
                    let message = Sent {
                        client_id: ClientId::new_v4(),
                        sender,
                        receiver: to,
                        text: format!("{label} {n}"),
                    };
                    let frame = json!({"type": "message", "to": to, "message": message.text,
                                       "client_id": message.client_id});
                    // Recorded before it is written: once written it may be stored, ack or not.
                    sent.push(message);
                    if sink.send(Message::text(frame.to_string())).await.is_err() {
                        break;
                    }
                }
                sent
            }
        });
        let reader = tokio::spawn(async move {
            let mut acked = HashMap::new();
            loop {
                // SIGKILL makes the kernel close the socket, so the stream ends or errors at once;
                // the time limit only bounds a socket that somehow stays open.
                let next = tokio::time::timeout(Duration::from_secs(30), stream.next()).await;
                let text = match next {
                    Ok(Some(Ok(Message::Text(text)))) => text,
                    Ok(Some(Ok(_))) => continue,
                    _ => break,
                };
                let frame: Value = serde_json::from_str(text.as_str()).expect("frames are JSON");
                match frame["type"].as_str() {
                    Some("ack") => {
                        acked.insert(client_id_of(&frame["client_id"]), id_of(&frame["id"]));
                        window.add_permits(1);
                        acks.fetch_add(1, Ordering::Relaxed);
                    }
                    Some("error") => panic!("a send was refused: {frame}"),
                    _ => {}
                }
            }
            window.close();
            acked
        });
        Self { writer, reader }
    }

    async fn finish(self) -> (Vec<Sent>, HashMap<ClientId, i64>) {
        let acked = self.reader.await.expect("reader task");
        let sent = self.writer.await.expect("writer task");
        (sent, acked)
    }
}

fn client_id_of(value: &Value) -> ClientId {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("a UUID client_id")
}

fn id_of(value: &Value) -> i64 {
    value.as_i64().expect("a message id")
}

async fn stored_rows(app: &TestApp) -> Vec<Row> {
    app.rows("select id, sender, receiver, message, cast(client_id as text) as client_id from chat order by id")
        .await
}

/// Rows by `client_id`, asserting that none is missing one and none shares one.
fn rows_by_client_id(rows: &[Row]) -> HashMap<ClientId, &Row> {
    let mut by_client_id = HashMap::new();
    for row in rows {
        let client_id = row
            .client_id
            .as_deref()
            .expect("every message here has a client_id");
        let client_id: ClientId = client_id.parse().expect("a stored UUID");
        if let Some(earlier) = by_client_id.insert(client_id, row) {
            panic!("client_id {client_id} is stored twice: {earlier:?} and {row:?}");
        }
    }
    by_client_id
}

/// Re-sends `messages` from `who` over one new WebSocket, a window at a time, and returns the
/// id each was acked with.
async fn resend_over_websocket(
    app: &TestApp,
    who: &Person,
    messages: &[&Sent],
) -> HashMap<ClientId, i64> {
    let mut socket = app.connect(who).await;
    let mut acked = HashMap::new();
    for window in messages.chunks(RESEND_WINDOW) {
        for message in window {
            socket
                .send_json(
                    json!({"type": "message", "to": message.receiver, "message": message.text,
                                  "client_id": message.client_id}),
                )
                .await;
        }
        while window.iter().any(|m| !acked.contains_key(&m.client_id)) {
            let frame = socket.next_json().await;
            match frame["type"].as_str() {
                Some("ack") => {
                    acked.insert(client_id_of(&frame["client_id"]), id_of(&frame["id"]));
                }
                Some("error") => panic!("a re-send was refused: {frame}"),
                _ => {}
            }
        }
    }
    acked
}

/// Re-sends `messages` from `who` over HTTP, one request each, and returns the stored ids.
async fn resend_over_http(
    app: &TestApp,
    who: &Person,
    messages: &[&Sent],
) -> HashMap<ClientId, i64> {
    let mut stored = HashMap::new();
    for message in messages {
        let res = app
            .post_json(
                &who.http,
                &format!("/api/conversations/{}/messages", message.receiver),
                json!({"message": message.text, "client_id": message.client_id}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.expect("json");
        assert_eq!(client_id_of(&body["client_id"]), message.client_id);
        stored.insert(message.client_id, id_of(&body["id"]));
    }
    stored
}

#[tokio::test]
async fn sigkill_mid_stream_keeps_every_acked_message_once_and_resends_fill_the_gaps() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database_url(dir.path(), "crash").await;
    let (mut server, addr) = spawn_binary(&database_url, SEND_LIMIT_OFF).await;
    let app = TestApp::attach(addr, &database_url).await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;

    // Arrange: four clients, two each way, streaming until the server dies under them.
    let acks = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for (n, (from, to)) in [
        (&alice, &bob),
        (&alice, &bob),
        (&bob, &alice),
        (&bob, &alice),
    ]
    .into_iter()
    .enumerate()
    {
        clients.push(
            Client::start(
                &app,
                from,
                to.id,
                format!("client {n} says"),
                Arc::clone(&acks),
            )
            .await,
        );
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while acks.load(Ordering::Relaxed) < ACKS_BEFORE_KILL {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream got going"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // Act: kill it outright (no signal handler runs, nothing is flushed or drained).
    let pid = server.id().expect("still running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), server.wait())
        .await
        .expect("dies at once")
        .expect("wait for the server");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&exit),
        Some(9),
        "{exit:?}"
    );

    let (mut sent, mut acked) = (Vec::new(), HashMap::new());
    for client in clients {
        let (client_sent, client_acked) = client.finish().await;
        sent.extend(client_sent);
        acked.extend(client_acked);
    }
    let unacked: Vec<&Sent> = sent
        .iter()
        .filter(|m| !acked.contains_key(&m.client_id))
        .collect();
    // Both halves must be there, or the test proves nothing about one of them.
    assert!(acked.len() >= ACKS_BEFORE_KILL);
    assert!(!unacked.is_empty(), "the kill landed mid-stream");
    drop(app);

    let (_server, addr) = spawn_binary(&database_url, SEND_LIMIT_OFF).await;
    let app = TestApp::attach(addr, &database_url).await;

    // Assert: after the restart, every acked message is stored once, under the id it was acked with.
    let rows = stored_rows(&app).await;
    let stored = rows_by_client_id(&rows);
    for (client_id, id) in &acked {
        let row = stored
            .get(client_id)
            .unwrap_or_else(|| panic!("acked {client_id} is missing"));
        assert_eq!(row.id, *id, "acked {client_id} has another id");
    }
    let sent_ids: HashMap<ClientId, &Sent> = sent.iter().map(|m| (m.client_id, m)).collect();
    assert!(
        stored.keys().all(|id| sent_ids.contains_key(id)),
        "a row that nobody sent"
    );

    // Act: re-send every unacked message with its client_id; Alice over WebSocket, Bob over HTTP.
    let (from_alice, from_bob): (Vec<&Sent>, Vec<&Sent>) =
        unacked.iter().partition(|m| m.sender == alice.id);
    let mut resent = resend_over_websocket(&app, &alice, &from_alice).await;
    resent.extend(resend_over_http(&app, &bob, &from_bob).await);

    // Assert: exactly one row per message sent, each as it was sent; acked ids unchanged.
    let rows = stored_rows(&app).await;
    let stored = rows_by_client_id(&rows);
    assert_eq!(rows.len(), sent.len(), "one row per message sent");
    for message in &sent {
        let row = stored
            .get(&message.client_id)
            .unwrap_or_else(|| panic!("{message:?} is missing"));
        assert_eq!(
            (row.sender, row.receiver, row.message.as_str()),
            (message.sender, message.receiver, message.text.as_str())
        );
        let expected_id = acked
            .get(&message.client_id)
            .or(resent.get(&message.client_id));
        assert_eq!(Some(&row.id), expected_id, "{message:?}");
    }
}
