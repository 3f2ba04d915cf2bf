//! The writing half of a connection: the greeting (`connection_status`, `join`, `presence_full`),
//! the replay on resume, then room frames and the connection's own frames (acks, errors, pings,
//! the close), each write bounded by `WRITE_TIMEOUT`.

use crate::domain::{RoomId, UserId};
use crate::protocol::{ConnectionState, ServerFrame, REPLAY_LIMIT};
use crate::server::metrics::Metrics;
use crate::server::realtime::presence;
use crate::server::realtime::{encode_frame, Frame, Queued};
use crate::server::state::AppState;
use crate::server::store::MessageStore;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::stream::SplitSink;
use futures::SinkExt;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

/// Messages read from the database per replay query.
const REPLAY_BATCH: u32 = 500;
/// A write to the socket that takes longer than this means the client stopped reading.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The most frames written to the socket together (one flush).
const MAX_COALESCED: usize = 64;

/// What the connection asks its writer to do besides relaying room frames.
pub(super) enum Direct {
    Frame(Frame),
    Ping,
    Close(u16, &'static str),
}

/// What the writer takes up next.
enum Next {
    Direct(Direct),
    Room(Queued),
}

pub(super) struct Writer {
    pub sink: SplitSink<WebSocket, Message>,
    pub room: RoomId,
    pub frames: mpsc::Receiver<Queued>,
    pub direct: mpsc::Receiver<Direct>,
    /// With resume: the last message id the replay sent. Live frames at or below it are dropped.
    pub replayed_through: Option<i64>,
    pub metrics: Arc<Metrics>,
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
        self.write_frame(encode_frame(frame), None).await
    }

    /// Writes a text frame and counts it; `committed` is when its message was committed.
    async fn write_frame(
        &mut self,
        text: Frame,
        committed: Option<SystemTime>,
    ) -> Result<(), WriteFailed> {
        self.write(Message::Text(text)).await?;
        self.metrics.delivered(committed);
        Ok(())
    }

    /// `state` is boxed and let go after the greeting: an async fn keeps its arguments for its
    /// whole life, and the writer lives as long as the connection. The greeting itself is boxed
    /// for the same reason: its store queries' futures would size this task.
    pub async fn serve(mut self, state: Box<AppState>, user: UserId, after: Option<i64>) {
        let greeted = Box::pin(self.greet(&state, user, after)).await;
        drop(state);
        if greeted.is_ok() {
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
        let online = presence::online_partners(state, user)
            .await
            .unwrap_or_default();
        self.send(&ServerFrame::PresenceFull { online }).await?;
        if let Some(after) = after {
            self.replay(state, user, after).await?;
        }
        Ok(())
    }

    /// Everything after stream position `after` (messages, edits, deletions), at most
    /// `REPLAY_LIMIT` of it.
    #[tracing::instrument(name = "replay", skip(self, state))]
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
            let batch = match state.store.entries_after(user, cursor, wanted).await {
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
            for entry in batch {
                if sent == REPLAY_LIMIT {
                    // One more exists than the limit allows: say so instead of sending it.
                    self.send(&ServerFrame::ReplayTruncated { through: cursor })
                        .await?;
                    self.replayed_through = Some(cursor);
                    return Ok(());
                }
                cursor = entry.position;
                sent += 1;
                self.send(&ServerFrame::for_entry(entry)).await?;
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
            let next = tokio::select! {
                biased;
                Some(direct) = self.direct.recv() => Next::Direct(direct),
                frame = self.frames.recv() => match frame {
                    Some(frame) => Next::Room(frame),
                    // Evicted: the connection sends the closing frames through `direct`; no more
                    // pings from here on.
                    None => match self.direct.recv().await {
                        Some(Direct::Ping) => continue,
                        Some(direct) => Next::Direct(direct),
                        None => return,
                    },
                },
            };
            if self.write_batch(next).await.is_break() {
                return;
            }
        }
    }

    /// Writes `first` and whatever else is already waiting (the connection's own frames first, as
    /// in `run`), at most `MAX_COALESCED`, then flushes once: under load an ack, its echo and a
    /// delivery often wait together, and one write to the socket carries them all. Breaks after
    /// the close, or when a write failed.
    async fn write_batch(&mut self, first: Next) -> ControlFlow<()> {
        let mut committed = Vec::new();
        let mut next = Some(first);
        let mut written = 0;
        while let Some(item) = next.take() {
            let fed = match item {
                Next::Direct(Direct::Close(code, reason)) => {
                    // Whatever was fed goes out before the close.
                    let _ = self.flush(&committed).await;
                    let close = CloseFrame {
                        code,
                        reason: reason.into(),
                    };
                    let _ = self.write(Message::Close(Some(close))).await;
                    return ControlFlow::Break(());
                }
                Next::Direct(Direct::Frame(frame)) => {
                    committed.push(None);
                    self.feed(Message::Text(frame)).await
                }
                Next::Direct(Direct::Ping) => self.feed(Message::Ping(Default::default())).await,
                Next::Room(frame) if self.replayed(&frame) => Ok(()),
                Next::Room(frame) => {
                    committed.push(frame.committed);
                    self.feed(Message::Text(frame.text.clone())).await
                }
            };
            if fed.is_err() {
                return ControlFlow::Break(());
            }
            written += 1;
            if written < MAX_COALESCED {
                next = match self.direct.try_recv() {
                    Ok(direct) => Some(Next::Direct(direct)),
                    Err(_) => self.frames.try_recv().ok().map(Next::Room),
                };
            }
        }
        Self::go_on_if(self.flush(&committed).await)
    }

    /// Whether a live frame was already sent by the replay.
    fn replayed(&self, frame: &Queued) -> bool {
        frame
            .position
            .is_some_and(|p| self.replayed_through.is_some_and(|r| p <= r))
    }

    /// Queues a message in the socket's buffer without writing it out.
    async fn feed(&mut self, message: Message) -> Result<(), WriteFailed> {
        match tokio::time::timeout(WRITE_TIMEOUT, self.sink.feed(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(WriteFailed),
        }
    }

    /// Writes out what was fed, and counts the text frames among it (`committed`: when each one's
    /// message was committed).
    async fn flush(&mut self, committed: &[Option<SystemTime>]) -> Result<(), WriteFailed> {
        match tokio::time::timeout(WRITE_TIMEOUT, self.sink.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return Err(WriteFailed),
        }
        for at in committed {
            self.metrics.delivered(*at);
        }
        Ok(())
    }

    fn go_on_if(written: Result<(), WriteFailed>) -> ControlFlow<()> {
        match written {
            Ok(()) => ControlFlow::Continue(()),
            Err(WriteFailed) => ControlFlow::Break(()),
        }
    }
}
