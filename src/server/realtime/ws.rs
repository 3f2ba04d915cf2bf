//! `GET /ws`: the WebSocket endpoint. Checks Origin and session before upgrading, joins the
//! caller's own room (derived from the session, never from the client), then runs one reader and
//! one writer per socket.

use super::hub::Eviction;
use super::{encode_frame, Frame};
use crate::domain::{RoomId, User};
use crate::error::AppError;
use crate::protocol::{
    parse_client_frame, ClientFrame, ConnectionState, FrameError, ServerFrame,
    CLOSE_ACCOUNT_DISABLED, CLOSE_SLOW_CONSUMER, CLOSE_TOO_BIG, MAX_FRAME_BYTES,
};
use crate::server::auth::MaybeUser;
use crate::server::csrf::check_origin;
use crate::server::messaging::send_message;
use crate::server::state::AppState;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::sync::mpsc;

/// What the reader asks the writer to do on this connection only.
enum Direct {
    Frame(Frame),
    Close(u16, &'static str),
}

pub async fn ws_handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeUser(user): MaybeUser,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(refusal) = check_origin(&headers) {
        return refusal.into_response();
    }
    let Some(user) = user else {
        return AppError::unauthorized().into_response();
    };
    upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| serve_socket(state, user, socket))
}

#[tracing::instrument(name = "websocket", skip_all, fields(user = %user.id))]
async fn serve_socket(state: AppState, user: User, socket: WebSocket) {
    let room = RoomId::for_user(user.id);
    let mut subscription = state.hub.join(room.clone());
    let (mut sink, mut stream) = socket.split();
    let (direct, mut direct_rx) = mpsc::channel::<Direct>(32);

    let hello = ServerFrame::ConnectionStatus {
        status: ConnectionState::Connected,
        user_id: user.id,
        room,
    };
    let _ = direct.try_send(Direct::Frame(encode_frame(&hello)));

    // The writer owns the subscription: when it ends, the connection leaves its room.
    let mut writer = tokio::spawn(async move {
        loop {
            let outgoing = tokio::select! {
                biased;
                why = &mut subscription.evicted => match why {
                    Ok(Eviction::AccountDisabled) => Direct::Close(CLOSE_ACCOUNT_DISABLED, "account disabled"),
                    Ok(Eviction::SlowConsumer) | Err(_) => Direct::Close(CLOSE_SLOW_CONSUMER, "too slow: reconnect and reload"),
                },
                Some(direct) = direct_rx.recv() => direct,
                frame = subscription.frames.recv() => match frame {
                    Some(frame) => Direct::Frame(frame),
                    None => break,
                },
            };
            match outgoing {
                Direct::Frame(frame) => {
                    if sink.send(Message::Text(frame)).await.is_err() {
                        break;
                    }
                }
                Direct::Close(code, reason) => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code,
                            reason: reason.into(),
                        })))
                        .await;
                    break;
                }
            }
        }
    });

    let reader = async {
        while let Some(received) = stream.next().await {
            match received {
                Ok(Message::Text(text)) => handle_text(&state, &user, text.as_str(), &direct).await,
                Ok(Message::Binary(_)) => {
                    let err =
                        FrameError::new("binary_not_supported", "send JSON text frames", None);
                    let _ = direct
                        .send(Direct::Frame(encode_frame(&err.into_frame())))
                        .await;
                }
                Ok(Message::Close(_)) => return None,
                // Pings are answered by the protocol layer.
                Ok(Message::Ping(_) | Message::Pong(_)) => {}
                Err(err) if is_too_big(&err) => {
                    return Some(Direct::Close(CLOSE_TOO_BIG, "frame larger than 64 KiB"))
                }
                Err(_) => return None,
            }
        }
        None
    };

    tokio::select! {
        closing = reader => {
            if let Some(close) = closing {
                let _ = direct.send(close).await;
                // Give the writer a moment to flush the close frame, then stop it either way.
                let _ = tokio::time::timeout(Duration::from_secs(2), &mut writer).await;
            }
            writer.abort();
        }
        _ = &mut writer => {}
    }
}

fn is_too_big(err: &axum::Error) -> bool {
    let cause = std::error::Error::source(err).and_then(|e| e.downcast_ref::<tungstenite::Error>());
    matches!(cause, Some(tungstenite::Error::Capacity(_)))
}

async fn handle_text(state: &AppState, user: &User, text: &str, direct: &mpsc::Sender<Direct>) {
    let refusal = match parse_client_frame(text) {
        Err(refusal) => refusal,
        Ok(ClientFrame::Message {
            to,
            message,
            client_id,
        }) => {
            match send_message(state, user, to, &message, client_id).await {
                // Delivered to this connection through the sender's own room, like every other tab.
                Ok(_) => return,
                Err(err) => FrameError::new(
                    frame_code(&err),
                    err.to_string(),
                    client_id.map(|c| c.to_string()),
                ),
            }
        }
    };
    let _ = direct
        .send(Direct::Frame(encode_frame(&refusal.into_frame())))
        .await;
}

/// The protocol's error codes for a failed send.
fn frame_code(err: &AppError) -> &'static str {
    match err {
        AppError::NotFound { .. } => "unknown_receiver",
        AppError::Unprocessable { code, .. } if code == "empty_message" => "empty_message",
        AppError::Unprocessable { code, .. } if code == "message_too_long" => "message_too_long",
        _ => "internal",
    }
}
