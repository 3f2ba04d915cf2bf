//! `GET /ws[?after=<id>]`: the WebSocket endpoint. Checks Origin and session before upgrading,
//! joins the caller's own room (derived from the session, never from the client), optionally
//! replays what the client missed, then runs one reader and one writer per socket.
//!
//! Resume without gap or duplicate: the connection joins its room *before* reading the replay
//! from the database, so a message committed during the replay is either in the replay or in the
//! room queue (or both). SQLite commits writes one at a time in id order, so every live frame with
//! an id at or below the replay's last id was in the replay, and is dropped.

use super::hub::{Eviction, Subscription};
use super::{encode_frame, Frame, Outbound};
use crate::domain::{RoomId, User, UserId};
use crate::error::AppError;
use crate::protocol::{
    parse_client_frame, ClientFrame, ConnectionState, FrameError, LeaveReason, ServerFrame,
    CLOSE_ACCOUNT_DISABLED, CLOSE_GOING_AWAY, CLOSE_LOGGED_OUT, CLOSE_SLOW_CONSUMER, CLOSE_TOO_BIG,
    MAX_FRAME_BYTES,
};
use crate::server::auth::session_user;
use crate::server::csrf::check_origin;
use crate::server::http::json::QueryParams;
use crate::server::messaging::{self, send_message};
use crate::server::state::AppState;
use crate::server::store::ChatStore;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tower_sessions::Session;

/// The socket's read chunk (see `ws_handler`).
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Messages read from the database per replay query.
const REPLAY_BATCH: u32 = 500;
/// At most one typing notice per peer per this interval is relayed from one connection.
const TYPING_INTERVAL: Duration = Duration::from_millis(1_000);

/// What the reader asks the writer to do on this connection only.
enum Direct {
    Frame(Frame),
    Close(u16, &'static str),
}

#[derive(Deserialize)]
pub struct WsQuery {
    /// The last message id the client has: replay everything newer, then go live.
    after: Option<i64>,
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
    let session_id = session.id().map(|id| id.to_string());
    upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        // tungstenite reads in chunks of this size, allocated per connection: its 128 KiB default
        // would make an idle connection cost ~130 KiB. Frames larger than a chunk still work.
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| serve_socket(state, user, session_id, query.after, socket))
}

#[tracing::instrument(name = "websocket", skip_all, fields(user = %user.id))]
async fn serve_socket(
    state: AppState,
    user: User,
    session_id: Option<String>,
    after: Option<i64>,
    socket: WebSocket,
) {
    let _open = state.shutdown.track_socket();
    let room = RoomId::for_user(user.id);
    let first_connection = state.hub.members(&room) == 0;
    // Join first, read the replay second: see the module header.
    let subscription = state.hub.join(room.clone(), session_id);
    let (sink, mut stream) = socket.split();
    let (direct, direct_rx) = mpsc::channel::<Direct>(64);

    if first_connection {
        log_failure(messaging::announce_presence(&state, user.id, true).await);
    }
    let writer_state = state.clone();
    let mut writer = tokio::spawn(async move {
        let mut writer = Writer {
            sink,
            room,
            subscription,
            direct: direct_rx,
            replayed_through: None,
        };
        if writer.greet(&writer_state, user.id, after).await.is_ok() {
            writer.run().await;
        }
    });

    let reader = async {
        let mut typing_sent: HashMap<UserId, Instant> = HashMap::new();
        loop {
            let received = tokio::select! {
                // Shutting down: stop reading; the frame being handled (if any) has finished.
                _ = state.shutdown.triggered() => return Some(Direct::Close(CLOSE_GOING_AWAY, "server shutting down")),
                received = stream.next() => received,
            };
            match received {
                Some(Ok(Message::Text(text))) => {
                    handle_text(&state, &user, text.as_str(), &direct, &mut typing_sent).await;
                }
                Some(Ok(Message::Binary(_))) => {
                    let err =
                        FrameError::new("binary_not_supported", "send JSON text frames", None);
                    let _ = direct
                        .send(Direct::Frame(encode_frame(&err.into_frame())))
                        .await;
                }
                // Pings are answered by the protocol layer.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Err(err)) if is_too_big(&err) => {
                    return Some(Direct::Close(CLOSE_TOO_BIG, "frame larger than 64 KiB"));
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
            }
        }
    };

    let closing = tokio::select! {
        closing = reader => closing,
        _ = &mut writer => None,
    };
    let writer_finished = match closing {
        None => writer.is_finished(),
        Some(close) => {
            if matches!(close, Direct::Close(CLOSE_GOING_AWAY, _)) {
                let leave = ServerFrame::Leave {
                    room: RoomId::for_user(user.id),
                    reason: LeaveReason::Shutdown,
                };
                let _ = direct.send(Direct::Frame(encode_frame(&leave))).await;
            }
            let _ = direct.send(close).await;
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
            let limit = Duration::from_secs(3);
            let (flushed, _) = tokio::join!(
                tokio::time::timeout(limit, &mut writer),
                tokio::time::timeout(limit, until_peer_closes)
            );
            flushed.is_ok()
        }
    };
    if !writer_finished {
        writer.abort();
        let _ = writer.await;
    }
    // The writer owned the subscription: by now this connection has left its room.
    if state.hub.members(&RoomId::for_user(user.id)) == 0 {
        log_failure(messaging::announce_presence(&state, user.id, false).await);
    }
}

fn log_failure(result: Result<(), AppError>) {
    if let Err(err) = result {
        tracing::warn!(error = %err, "presence notice failed");
    }
}

struct Writer {
    sink: SplitSink<WebSocket, Message>,
    room: RoomId,
    subscription: Subscription<Outbound>,
    direct: mpsc::Receiver<Direct>,
    /// With resume: the last message id the replay sent. Live frames at or below it are dropped.
    replayed_through: Option<i64>,
}

impl Writer {
    async fn send(&mut self, frame: &ServerFrame) -> Result<(), axum::Error> {
        self.sink.send(Message::Text(encode_frame(frame))).await
    }

    /// `connection_status`, `join`, `presence_full`, then the replay when asked for.
    async fn greet(
        &mut self,
        state: &AppState,
        user: UserId,
        after: Option<i64>,
    ) -> Result<(), axum::Error> {
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
        if let Some(mut cursor) = after {
            loop {
                let batch = match state.store.messages_after(user, cursor, REPLAY_BATCH).await {
                    Ok(batch) => batch,
                    Err(err) => {
                        // Better a clear failure than a silent gap: the client will reconnect.
                        tracing::error!(error = %err, "replay failed");
                        let close = CloseFrame {
                            code: 1011,
                            reason: "replay failed; reconnect".into(),
                        };
                        let _ = self.sink.send(Message::Close(Some(close))).await;
                        return Err(axum::Error::new("replay failed"));
                    }
                };
                let full = batch.len() == REPLAY_BATCH as usize;
                for message in batch {
                    cursor = message.id;
                    self.send(&ServerFrame::Message { message }).await?;
                }
                if !full {
                    break;
                }
            }
            self.replayed_through = Some(cursor);
        }
        Ok(())
    }

    async fn run(&mut self) {
        loop {
            tokio::select! {
                biased;
                why = &mut self.subscription.evicted => {
                    self.close_for(why.unwrap_or(Eviction::SlowConsumer)).await;
                    break;
                }
                Some(direct) = self.direct.recv() => match direct {
                    Direct::Frame(frame) => {
                        if self.sink.send(Message::Text(frame)).await.is_err() {
                            break;
                        }
                    }
                    Direct::Close(code, reason) => {
                        self.close(code, reason).await;
                        break;
                    }
                },
                frame = self.subscription.frames.recv() => match frame {
                    Some(Outbound { message_id: Some(id), .. }) if self.replayed_through.is_some_and(|r| id <= r) => {}
                    Some(frame) => {
                        if self.sink.send(Message::Text(frame.text)).await.is_err() {
                            break;
                        }
                    }
                    None => break,
                },
            }
        }
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let _ = self
            .sink
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    }

    /// Says `leave` when the client should know why, then closes with the matching code.
    async fn close_for(&mut self, why: Eviction) {
        let (reason, code, text) = match why {
            Eviction::SlowConsumer => {
                return self
                    .close(CLOSE_SLOW_CONSUMER, "too slow: reconnect and resume")
                    .await
            }
            Eviction::AccountDisabled => (
                LeaveReason::AccountDisabled,
                CLOSE_ACCOUNT_DISABLED,
                "account disabled",
            ),
            Eviction::LoggedOut => (LeaveReason::Logout, CLOSE_LOGGED_OUT, "logged out"),
        };
        if self
            .send(&ServerFrame::Leave {
                room: self.room.clone(),
                reason,
            })
            .await
            .is_ok()
        {
            self.close(code, text).await;
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
    typing_sent: &mut HashMap<UserId, Instant>,
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
        Ok(ClientFrame::Typing { to }) => {
            let now = Instant::now();
            if typing_sent
                .get(&to)
                .is_some_and(|last| now.duration_since(*last) < TYPING_INTERVAL)
            {
                return;
            }
            typing_sent.insert(to, now);
            match messaging::relay_typing(state, user, to).await {
                Ok(()) => return,
                Err(err) => FrameError::new(frame_code(&err), err.to_string(), None),
            }
        }
        Ok(ClientFrame::Read { with, up_to }) => {
            match messaging::mark_read(state, user, with, up_to).await {
                Ok(_) => return,
                Err(err) => FrameError::new(frame_code(&err), err.to_string(), None),
            }
        }
    };
    let _ = direct
        .send(Direct::Frame(encode_frame(&refusal.into_frame())))
        .await;
}

/// The protocol's error codes for a failed request.
fn frame_code(err: &AppError) -> &'static str {
    match err {
        AppError::NotFound { .. } => "unknown_receiver",
        AppError::Unprocessable { code, .. } if code == "empty_message" => "empty_message",
        AppError::Unprocessable { code, .. } if code == "message_too_long" => "message_too_long",
        AppError::Unprocessable { code, .. } if code == "invalid_text" => "invalid_text",
        _ => "internal",
    }
}
