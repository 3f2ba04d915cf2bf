//! `GET /ws[?after=<id>]`: the WebSocket endpoint. This file is the upgrade: it checks Origin, the
//! caller (`auth::Caller`, as every other adapter does) and the per-user socket limit, and hands
//! the upgraded socket to `session`, which joins the caller's own room (derived from the session,
//! never from the client), optionally replays what the client missed, then runs one reader and
//! one writer (`writer`). Each client frame is turned into a service call by `dispatch`.
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

mod dispatch;
mod session;
mod writer;

pub use writer::WRITE_TIMEOUT;

use crate::domain::User;
use crate::error::AppError;
use crate::protocol::MAX_FRAME_BYTES;
use crate::server::auth::{session_of, Caller};
use crate::server::csrf::check_origin;
use crate::server::http::json::QueryParams;
use crate::server::limits::ConnectionSlot;
use crate::server::state::AppState;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::time::Duration;
use tower_sessions::Session;

/// The socket's read chunk (see `ws_handler`). Client frames are small JSON, and a larger one is
/// read in several chunks; every connection, idle or not, keeps this much allocated.
const READ_BUFFER_BYTES: usize = 1024;

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
    mut parts: Parts,
    QueryParams(query): QueryParams<WsQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    match accept(&state, &mut parts).await {
        Ok((user, session, slot)) => {
            let left =
                session.expiry_date() - tower_sessions::cookie::time::OffsetDateTime::now_utc();
            // Boxed: the upgrade keeps its callback, and the callback what it captures, for the
            // connection's whole life; a pointer there instead of the ~600-byte `Connection`.
            let connection = Box::new(Connection {
                session_id: session.id().map(|id| id.to_string()),
                expires_in: left.try_into().unwrap_or(Duration::ZERO),
                after: query.after,
                user,
                state,
                _slot: slot,
            });
            upgrade
                .max_message_size(MAX_FRAME_BYTES)
                .max_frame_size(MAX_FRAME_BYTES)
                // tungstenite reads in chunks of this size, allocated per connection: its 128 KiB
                // default would make an idle connection cost ~130 KiB. Larger frames still work.
                .read_buffer_size(READ_BUFFER_BYTES)
                .on_upgrade(move |socket| session::serve(connection, socket))
        }
        Err(refusal) => refusal.into_response(),
    }
}

/// Whether this upgrade may go ahead: same origin, a logged-in caller, and a free socket slot.
async fn accept(
    state: &AppState,
    parts: &mut Parts,
) -> Result<(User, Session, ConnectionSlot), AppError> {
    check_origin(&parts.headers)?;
    let Caller(user) = Caller::from_request_parts(parts, state).await?;
    let session = session_of(parts, state).await?;
    let slot = state.limits.reserve_socket(user.id)?;
    Ok((user, session, slot))
}
