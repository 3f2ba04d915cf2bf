//! `GET /ws[?after=<id>]`: the WebSocket endpoint. Checks Origin, session and the per-user socket
//! limit before upgrading, joins the caller's own room (derived from the session, never from the
//! client), optionally replays what the client missed, then runs one reader and one writer.
//!
//! Resume without gap or duplicate: the connection joins its room *before* reading the replay
//! from the database. The store's writer publishes every message after it commits, in id order,
//! so a message committed during the replay is either in the replay or in the room queue (or
//! both), and every live frame with an id at or below the replay's last id was in the replay, and
//! is dropped.
//!
//! One connection, one fate: eviction (logout, disable, a slow reader), session expiry, a write
//! that has not completed within `WRITE_TIMEOUT`, or a peer that stopped answering pings ends
//! both halves. The reader checks the connection's revocation before acting on any frame, and the
//! hub revokes synchronously, so nothing a client sends after its account was disabled is acted on.

use super::hub::{Eviction, Subscription};
use super::{encode_frame, Frame, Outbound};
use crate::domain::{RoomId, User, UserId};
use crate::error::AppError;
use crate::protocol::{
    parse_client_frame, ClientFrame, ConnectionState, FrameError, LeaveReason, ServerFrame,
    CLOSE_ACCOUNT_DISABLED, CLOSE_GOING_AWAY, CLOSE_LOGGED_OUT, CLOSE_PING_TIMEOUT,
    CLOSE_SLOW_CONSUMER, CLOSE_TOO_BIG, MAX_FRAME_BYTES, REPLAY_LIMIT,
};
use crate::server::auth::session_user;
use crate::server::csrf::check_origin;
use crate::server::http::json::QueryParams;
use crate::server::limits::ConnectionSlot;
use crate::server::messaging::{self, send_message};
use crate::server::state::AppState;
use crate::server::store::{AccountStore, MessageStore};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower_sessions::Session;

/// The socket's read chunk (see `ws_handler`).
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Messages read from the database per replay query.
const REPLAY_BATCH: u32 = 500;
/// A write to the socket that takes longer than this means the client stopped reading.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closing connection waits for the client's own Close frame.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(3);

/// What the connection asks its writer to do besides relaying room frames.
enum Direct {
    Frame(Frame),
    Ping,
    Close(u16, &'static str),
}

#[derive(Deserialize)]
pub struct WsQuery {
    /// The last message id the client has: replay everything newer, then go live.
    after: Option<i64>,
}

/// Everything a connection knows about itself once upgraded.
struct Connection {
    state: AppState,
    user: User,
    session_id: Option<String>,
    /// When the session expires if nothing renews it: the socket closes then.
    expires_in: Duration,
    after: Option<i64>,
    _slot: ConnectionSlot,
}

pub async fn ws_handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: Session,
    QueryParams(query): QueryParams<WsQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(refusal) = check_origin(&headers) {
        return refusal.into_response();
    }
    let user = match session_user(&session, &state.store).await {
        Ok(Some(user)) => user,
        Ok(None) => return AppError::unauthorized().into_response(),
        Err(err) => return err.into_response(),
    };
    let Some(slot) = state.limits.sockets.try_reserve(user.id) else {
        return AppError::too_many_requests(
            "too_many_connections",
            format!(
                "at most {} connections per account are open at once",
                state.config.max_sockets_per_user
            ),
            30,
        )
        .into_response();
    };
    let left = session.expiry_date() - tower_sessions::cookie::time::OffsetDateTime::now_utc();
    let connection = Connection {
        session_id: session.id().map(|id| id.to_string()),
        expires_in: left.try_into().unwrap_or(Duration::ZERO),
        after: query.after,
        user,
        state,
        _slot: slot,
    };
    upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        // tungstenite reads in chunks of this size, allocated per connection: its 128 KiB default
        // would make an idle connection cost ~130 KiB. Frames larger than a chunk still work.
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| serve_socket(connection, socket))
}

/// Says `leave` for `reason`, then closes with `code`.
fn leave_and_close(
    room: &RoomId,
    reason: LeaveReason,
    code: u16,
    text: &'static str,
) -> [Direct; 2] {
    let leave = ServerFrame::Leave {
        room: room.clone(),
        reason,
    };
    [
        Direct::Frame(encode_frame(&leave)),
        Direct::Close(code, text),
    ]
}

/// How the connection ends for each kind of eviction.
fn closing_for(room: &RoomId, why: Eviction) -> Vec<Direct> {
    match why {
        Eviction::SlowConsumer => vec![Direct::Close(
            CLOSE_SLOW_CONSUMER,
            "too slow: reconnect and resume",
        )],
        Eviction::AccountDisabled => leave_and_close(
            room,
            LeaveReason::AccountDisabled,
            CLOSE_ACCOUNT_DISABLED,
            "account disabled",
        )
        .into(),
        Eviction::LoggedOut => {
            leave_and_close(room, LeaveReason::Logout, CLOSE_LOGGED_OUT, "logged out").into()
        }
    }
}

#[tracing::instrument(name = "websocket", skip_all, fields(user = %conn.user.id))]
async fn serve_socket(conn: Connection, socket: WebSocket) {
    let Connection {
        state,
        user,
        session_id,
        expires_in,
        after,
        _slot,
    } = conn;
    let _open = state.shutdown.track_socket();
    let room = RoomId::for_user(user.id);
    let first_connection = state.hub.members(&room) == 0;
    // Join first, read the replay second: see the module header.
    let Subscription {
        frames,
        mut evicted,
        revoked,
        membership,
    } = state.hub.join(room.clone(), session_id);
    // A disable that ran between the upgrade's session check and the join above evicted nobody
    // here; now that this connection is in the room, any later one will. So look once more.
    let enabled =
        matches!(state.store.account(user.id).await, Ok(Some(account)) if !account.disabled);
    // Before the greeting, so that a partner who connects after this one's greeting never hears
    // "online" twice (once in its `presence_full`, once from this late announcement).
    if enabled && first_connection {
        log_failure(messaging::announce_presence(&state, user.id, true).await);
    }
    let (sink, mut stream) = socket.split();
    let (direct, direct_rx) = mpsc::channel::<Direct>(64);
    let mut writer = tokio::spawn(
        Writer {
            sink,
            room: room.clone(),
            frames,
            direct: direct_rx,
            replayed_through: None,
        }
        .serve(state.clone(), user.id, after),
    );

    // Whether the writer task's result has been taken (a JoinHandle must not be polled again).
    let mut writer_done = false;
    let closing: Vec<Direct> = if !enabled {
        leave_and_close(
            &room,
            LeaveReason::AccountDisabled,
            CLOSE_ACCOUNT_DISABLED,
            "account disabled",
        )
        .into()
    } else {
        let started = Instant::now();
        // Milliseconds after `started` that the client was last heard from (any frame, pongs too).
        let heard = AtomicU64::new(0);
        let mut reader = Box::pin(read_frames(
            &state,
            &user,
            &mut stream,
            &direct,
            &revoked,
            started,
            &heard,
        ));
        let interval = Duration::from_secs(state.config.ping_interval_secs.max(1));
        let silence_limit = Duration::from_secs(state.config.ping_timeout_secs.max(1));
        let mut pings = tokio::time::interval_at(started + interval, interval);
        let session_ends = tokio::time::sleep(expires_in);
        tokio::pin!(session_ends);
        let closing = loop {
            tokio::select! {
                biased;
                why = &mut evicted => break closing_for(&room, why.unwrap_or(Eviction::SlowConsumer)),
                _ = &mut session_ends => break leave_and_close(
                    &room, LeaveReason::SessionExpired, CLOSE_LOGGED_OUT, "session expired").into(),
                // The writer stops when a write fails or times out: the client is gone or stuck.
                _ = &mut writer => {
                    writer_done = true;
                    break Vec::new();
                }
                end = &mut reader => break end,
                _ = pings.tick() => {
                    let silent = started.elapsed().saturating_sub(Duration::from_millis(heard.load(Ordering::Relaxed)));
                    if silent > silence_limit {
                        break vec![Direct::Close(CLOSE_PING_TIMEOUT, "no answer to ping")];
                    }
                    // A full queue means the writer is already busy; the next tick tries again.
                    let _ = direct.try_send(Direct::Ping);
                }
            }
        };
        // Not polled any more: nothing the client sends from here on is acted on.
        drop(reader);
        closing
    };

    if !writer_done {
        let closing_handshake = !closing.is_empty();
        let mut queued = true;
        for step in closing {
            // A full queue means the client has stopped reading: it would not see these anyway.
            if direct.try_send(step).is_err() {
                queued = false;
                break;
            }
        }
        if closing_handshake && queued {
            // While the writer flushes what is queued (acks included) and the close frame, read
            // and discard until the client's own Close arrives: the closing handshake of RFC 6455
            // section 5.5.1. Dropping the socket with unread input would make the kernel send a
            // reset, and the client would lose the close frame (and acks) still in its buffers.
            let until_peer_closes = async {
                while let Some(Ok(message)) = stream.next().await {
                    if matches!(message, Message::Close(_)) {
                        break;
                    }
                }
            };
            let (flushed, _) = tokio::join!(
                tokio::time::timeout(CLOSE_HANDSHAKE, &mut writer),
                tokio::time::timeout(CLOSE_HANDSHAKE, until_peer_closes)
            );
            writer_done = flushed.is_ok();
        }
        if !writer_done {
            writer.abort();
            let _ = writer.await;
        }
    }
    drop(membership);
    if state.hub.members(&room) == 0 {
        log_failure(messaging::announce_presence(&state, user.id, false).await);
    }
}

fn log_failure(result: Result<(), AppError>) {
    if let Err(err) = result {
        tracing::warn!(error = %err, "presence notice failed");
    }
}

/// Reads and handles client frames until the client leaves (no closing steps) or the connection
/// must close (the steps). Never returns once the connection is revoked: the caller's eviction
/// branch takes over.
async fn read_frames(
    state: &AppState,
    user: &User,
    stream: &mut SplitStream<WebSocket>,
    direct: &mpsc::Sender<Direct>,
    revoked: &CancellationToken,
    started: Instant,
    heard: &AtomicU64,
) -> Vec<Direct> {
    loop {
        let received = tokio::select! {
            // Shutting down: stop reading; the frame being handled (if any) has finished.
            _ = state.shutdown.triggered() => {
                return leave_and_close(
                    &RoomId::for_user(user.id),
                    LeaveReason::Shutdown,
                    CLOSE_GOING_AWAY,
                    "server shutting down",
                )
                .into();
            }
            received = stream.next() => received,
        };
        heard.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        if revoked.is_cancelled() {
            std::future::pending::<()>().await;
        }
        match received {
            Some(Ok(Message::Text(text))) => {
                handle_text(state, user, text.as_str(), direct, revoked).await;
            }
            Some(Ok(Message::Binary(_))) => {
                let err = FrameError::new("binary_not_supported", "send JSON text frames", None);
                let _ = direct
                    .send(Direct::Frame(encode_frame(&err.into_frame())))
                    .await;
            }
            // Pings are answered by the protocol layer; a pong only proves the client is there.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Err(err)) if is_too_big(&err) => {
                return vec![Direct::Close(CLOSE_TOO_BIG, "frame larger than 64 KiB")];
            }
            Some(Ok(Message::Close(_)) | Err(_)) | None => return Vec::new(),
        }
    }
}

struct Writer {
    sink: SplitSink<WebSocket, Message>,
    room: RoomId,
    frames: mpsc::Receiver<Outbound>,
    direct: mpsc::Receiver<Direct>,
    /// With resume: the last message id the replay sent. Live frames at or below it are dropped.
    replayed_through: Option<i64>,
}

/// A write failed, or did not finish within `WRITE_TIMEOUT`.
struct WriteFailed;

impl Writer {
    async fn write(&mut self, message: Message) -> Result<(), WriteFailed> {
        match tokio::time::timeout(WRITE_TIMEOUT, self.sink.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(WriteFailed),
        }
    }

    async fn send(&mut self, frame: &ServerFrame) -> Result<(), WriteFailed> {
        self.write(Message::Text(encode_frame(frame))).await
    }

    async fn serve(mut self, state: AppState, user: UserId, after: Option<i64>) {
        if self.greet(&state, user, after).await.is_ok() {
            self.run().await;
        }
    }

    /// `connection_status`, `join`, `presence_full`, then the replay when asked for.
    async fn greet(
        &mut self,
        state: &AppState,
        user: UserId,
        after: Option<i64>,
    ) -> Result<(), WriteFailed> {
        let room = self.room.clone();
        self.send(&ServerFrame::ConnectionStatus {
            status: ConnectionState::Connected,
            user_id: user,
            room: room.clone(),
        })
        .await?;
        self.send(&ServerFrame::Join { room }).await?;
        let online = messaging::online_partners(state, user)
            .await
            .unwrap_or_default();
        self.send(&ServerFrame::PresenceFull { online }).await?;
        if let Some(after) = after {
            self.replay(state, user, after).await?;
        }
        Ok(())
    }

    /// Everything after message `after`, at most `REPLAY_LIMIT` of it.
    async fn replay(
        &mut self,
        state: &AppState,
        user: UserId,
        after: i64,
    ) -> Result<(), WriteFailed> {
        let mut cursor = after;
        let mut sent = 0;
        loop {
            let wanted = REPLAY_BATCH.min((REPLAY_LIMIT - sent) as u32 + 1);
            let batch = match state.store.messages_after(user, cursor, wanted).await {
                Ok(batch) => batch,
                Err(err) => {
                    // Better a clear failure than a silent gap: the client will reconnect.
                    tracing::error!(error = %err, "replay failed");
                    let close = CloseFrame {
                        code: 1011,
                        reason: "replay failed; reconnect".into(),
                    };
                    let _ = self.write(Message::Close(Some(close))).await;
                    return Err(WriteFailed);
                }
            };
            let full = batch.len() == wanted as usize;
            for message in batch {
                if sent == REPLAY_LIMIT {
                    // One more exists than the limit allows: say so instead of sending it.
                    self.send(&ServerFrame::ReplayTruncated { through: cursor })
                        .await?;
                    self.replayed_through = Some(cursor);
                    return Ok(());
                }
                cursor = message.id;
                sent += 1;
                self.send(&ServerFrame::Message { message }).await?;
            }
            if !full {
                break;
            }
        }
        self.replayed_through = Some(cursor);
        Ok(())
    }

    async fn run(&mut self) {
        loop {
            let outcome = tokio::select! {
                biased;
                Some(direct) = self.direct.recv() => match direct {
                    Direct::Frame(frame) => self.write(Message::Text(frame)).await,
                    Direct::Ping => self.write(Message::Ping(Default::default())).await,
                    Direct::Close(code, reason) => {
                        let close = CloseFrame { code, reason: reason.into() };
                        let _ = self.write(Message::Close(Some(close))).await;
                        return;
                    }
                },
                frame = self.frames.recv() => match frame {
                    Some(Outbound { message_id: Some(id), .. })
                        if self.replayed_through.is_some_and(|r| id <= r) => Ok(()),
                    Some(frame) => self.write(Message::Text(frame.text)).await,
                    // Evicted: the connection sends the closing frames through `direct`.
                    None => match self.direct.recv().await {
                        Some(Direct::Close(code, reason)) => {
                            let close = CloseFrame { code, reason: reason.into() };
                            let _ = self.write(Message::Close(Some(close))).await;
                            return;
                        }
                        Some(Direct::Frame(frame)) => self.write(Message::Text(frame)).await,
                        Some(Direct::Ping) => Ok(()),
                        None => return,
                    },
                },
            };
            if outcome.is_err() {
                return;
            }
        }
    }
}

fn is_too_big(err: &axum::Error) -> bool {
    let cause = std::error::Error::source(err).and_then(|e| e.downcast_ref::<tungstenite::Error>());
    matches!(cause, Some(tungstenite::Error::Capacity(_)))
}

async fn handle_text(
    state: &AppState,
    user: &User,
    text: &str,
    direct: &mpsc::Sender<Direct>,
    revoked: &CancellationToken,
) {
    let refusal = match parse_client_frame(text) {
        Err(refusal) => refusal,
        Ok(ClientFrame::Message {
            to,
            message,
            client_id,
        }) => match send_message(state, user, to, &message, client_id).await {
            // The message itself reaches this connection through the sender's own room.
            Ok(stored) => {
                let ack = ServerFrame::Ack {
                    client_id,
                    id: stored.message.id,
                    date: stored.message.date,
                };
                let _ = direct.send(Direct::Frame(encode_frame(&ack))).await;
                return;
            }
            Err(err) => FrameError::new(
                frame_code(&err),
                err.to_string(),
                client_id.map(|c| c.to_string()),
            ),
        },
        Ok(ClientFrame::Typing { to }) => match messaging::relay_typing(state, user, to).await {
            Ok(()) => return,
            Err(err) => FrameError::new(frame_code(&err), err.to_string(), None),
        },
        Ok(ClientFrame::Read { with, up_to }) => {
            match messaging::mark_read(state, user, with, up_to).await {
                Ok(_) => return,
                Err(err) => FrameError::new(frame_code(&err), err.to_string(), None),
            }
        }
    };
    if !revoked.is_cancelled() {
        let _ = direct
            .send(Direct::Frame(encode_frame(&refusal.into_frame())))
            .await;
    }
}

/// The protocol's error codes for a failed request.
fn frame_code(err: &AppError) -> &'static str {
    match err {
        AppError::NotFound { .. } => "unknown_receiver",
        AppError::Unprocessable { code, .. } if code == "empty_message" => "empty_message",
        AppError::Unprocessable { code, .. } if code == "message_too_long" => "message_too_long",
        AppError::Unprocessable { code, .. } if code == "invalid_text" => "invalid_text",
        AppError::TooManyRequests { .. } => "rate_limited",
        AppError::Forbidden { code, .. } if code == "blocked" => "blocked",
        _ => "internal",
    }
}
