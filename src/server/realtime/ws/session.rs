//! One connection's life after the upgrade: join the room, announce presence, start the writer,
//! then read frames until something ends the connection (the client leaves, an eviction, session
//! expiry, a silent peer, shutdown), and close it the way that cause calls for.

use super::dispatch;
use super::writer::{Direct, Writer};
use super::Connection;
use crate::domain::{RoomId, User};
use crate::error::{AppError, ErrorCode};
use crate::protocol::{
    FrameError, LeaveReason, ServerFrame, CLOSE_ACCOUNT_DISABLED, CLOSE_GOING_AWAY,
    CLOSE_LOGGED_OUT, CLOSE_PING_TIMEOUT, CLOSE_SLOW_CONSUMER, CLOSE_TOO_BIG,
};
use crate::server::realtime::encode_frame;
use crate::server::realtime::hub::{Eviction, Subscription};
use crate::server::realtime::presence;
use crate::server::state::AppState;
use crate::server::store::{AccountStore, SessionTable};
use axum::extract::ws::{Message, WebSocket};
use futures::stream::SplitStream;
use futures::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long a closing connection waits for the client's own Close frame.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(3);
/// After the broker comes back, each socket checks its session within this long (at a random
/// moment, so a node's sockets do not all ask the database at once).
const RECHECK_AFTER_RECONNECT: Duration = Duration::from_secs(2);

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
pub(super) async fn serve(conn: Box<Connection>, socket: WebSocket) {
    let Connection {
        state,
        user,
        session_id,
        expires_in,
        after,
        _slot,
    } = *conn;
    let _open = state.shutdown.track_socket();
    let room = RoomId::for_user(user.id);
    let first_connection = state.hub.members(&room) == 0;
    // Join first, read the replay second: see the module header.
    let Subscription {
        frames,
        mut evicted,
        revoked,
        membership,
    } = state.hub.join(room.clone(), session_id.clone());
    // A disable that ran between the upgrade's session check and the join above evicted nobody
    // here; now that this connection is in the room, any later one will. So look once more.
    // The awaits that run once (or seldom) are boxed here and below: inline, the futures of their
    // store queries would size this task, which lives as long as the connection.
    let enabled = matches!(Box::pin(state.store.account(user.id)).await, Ok(Some(account)) if !account.disabled);
    // Before the greeting, so that a partner who connects after this one's greeting never hears
    // "online" twice (once in its `presence_full`, once from this late announcement).
    if enabled && first_connection {
        log_failure(Box::pin(presence::announce(&state, user.id)).await);
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
            metrics: Arc::clone(&state.metrics),
        }
        .serve(Box::new(state.clone()), user.id, after),
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
        // Only with several nodes: on one, every logout and disable reaches the socket directly.
        let checking_sessions = state.cluster.is_some();
        let check_every = Duration::from_secs(state.config.session_check_secs.max(1));
        let mut session_checks = tokio::time::interval_at(started + check_every, check_every);
        let mut broker_back = state.cluster.as_ref().map(|cluster| cluster.reconnected());
        let closing = loop {
            tokio::select! {
                biased;
                why = &mut evicted => {
                    let why = why.unwrap_or(Eviction::SlowConsumer);
                    state.metrics.evicted(why);
                    break closing_for(&room, why);
                }
                _ = &mut session_ends => break leave_and_close(
                    &room, LeaveReason::SessionExpired, CLOSE_LOGGED_OUT, "session expired").into(),
                // The writer stops when a write fails or times out: the client is gone or stuck.
                _ = &mut writer => {
                    writer_done = true;
                    break Vec::new();
                }
                end = &mut reader => break end,
                _ = session_checks.tick(), if checking_sessions => {
                    if let Some(why) = Box::pin(still_valid(&state, &user, session_id.as_deref())).await {
                        state.metrics.evicted(why);
                        break closing_for(&room, why);
                    }
                }
                // Events sent while the broker was away may be lost: check soon, but not all
                // sockets of the node at the same moment.
                _ = reconnected(&mut broker_back) => {
                    session_checks.reset_after(spread_over(RECHECK_AFTER_RECONNECT.min(check_every)));
                }
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
        log_failure(Box::pin(presence::announce(&state, user.id)).await);
    }
}

/// Why the connection must end now, if its session has ended or its account was disabled since it
/// opened (normally an event closes it at once; this catches one lost between nodes). A store
/// that does not answer ends nothing: the next check asks again.
async fn still_valid(state: &AppState, user: &User, session_id: Option<&str>) -> Option<Eviction> {
    match state.store.account(user.id).await {
        Ok(Some(account)) if !account.disabled => {}
        Ok(_) => return Some(Eviction::AccountDisabled),
        Err(_) => return None,
    }
    let now = tower_sessions::cookie::time::OffsetDateTime::now_utc().unix_timestamp();
    match session_id {
        Some(id) => match state.store.load_session(id, now).await {
            Ok(None) => Some(Eviction::LoggedOut),
            Ok(Some(_)) | Err(_) => None,
        },
        None => None,
    }
}

/// Resolves when the link to the broker has come back; never without a broker.
async fn reconnected(broker: &mut Option<watch::Receiver<u64>>) {
    let Some(connections) = broker else {
        return std::future::pending().await;
    };
    if connections.changed().await.is_err() {
        std::future::pending().await
    }
}

/// A random moment within `window`.
fn spread_over(window: Duration) -> Duration {
    let random = uuid::Uuid::new_v4().as_u128() as u64;
    Duration::from_millis(random % (window.as_millis() as u64).max(1))
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
                // Boxed for the same reason: the reader lives as long as the connection.
                Box::pin(dispatch::handle_text(
                    state,
                    user,
                    text.as_str(),
                    direct,
                    revoked,
                ))
                .await;
            }
            Some(Ok(Message::Binary(_))) => {
                let err =
                    FrameError::new(ErrorCode::BinaryNotSupported, "send JSON text frames", None);
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

fn is_too_big(err: &axum::Error) -> bool {
    let cause = std::error::Error::source(err).and_then(|e| e.downcast_ref::<tungstenite::Error>());
    matches!(cause, Some(tungstenite::Error::Capacity(_)))
}
