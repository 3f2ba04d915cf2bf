//! Client frames to service calls: each parsed frame calls the same service an HTTP request
//! would, and its answer (an ack, or an `error` frame in the protocol's codes) goes back on this
//! connection only.

use super::writer::Direct;
use crate::domain::User;
use crate::protocol::{parse_client_frame, ClientFrame, FrameError, ServerFrame};
use crate::server::messaging;
use crate::server::realtime::encode_frame;
use crate::server::state::AppState;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub(super) async fn handle_text(
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
        }) => match messaging::send_message(state, user, to, &message, client_id).await {
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
            Err(err) => FrameError::refusal(err, client_id.map(|c| c.to_string())),
        },
        Ok(ClientFrame::Typing { to }) => match messaging::relay_typing(state, user, to).await {
            Ok(()) => return,
            Err(err) => FrameError::refusal(err, None),
        },
        Ok(ClientFrame::Read { with, up_to }) => {
            match messaging::mark_read(state, user, with, up_to).await {
                Ok(_) => return,
                Err(err) => FrameError::refusal(err, None),
            }
        }
        // The change itself reaches this connection through the sender's own room.
        Ok(ClientFrame::Edit { id, message }) => {
            match messaging::edit_message(state, user, None, id, &message).await {
                Ok(_) => return,
                Err(err) => FrameError::change_refusal(err),
            }
        }
        Ok(ClientFrame::Delete { id }) => {
            match messaging::delete_message(state, user, None, id).await {
                Ok(_) => return,
                Err(err) => FrameError::change_refusal(err),
            }
        }
    };
    if !revoked.is_cancelled() {
        let _ = direct
            .send(Direct::Frame(encode_frame(&refusal.into_frame())))
            .await;
    }
}
