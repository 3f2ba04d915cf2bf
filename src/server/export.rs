//! "Download my data" (`GET /api/me/export`): everything an account has here, as one JSON document
//! (docs/API.md, "Export"). It is written as it is read, a page of messages at a time, into a
//! small channel the response body drains, so an account with a million messages exports in
//! bounded memory, and a client that stops reading stops the reading.

use super::state::AppState;
use super::store::MessageStore;
use crate::domain::{rfc3339_millis, User};
use axum::body::Bytes;
use futures::Stream;
use serde::Serialize;
use std::io;
use tokio::sync::mpsc;

/// Names the document's layout; a change to it gets a new number.
pub const FORMAT: &str = "parley-export/1";
/// Messages read per query.
const PAGE: u32 = 500;
/// Bytes gathered before a chunk goes to the client.
const CHUNK: usize = 64 * 1024;
/// Chunks written ahead of the client: with `CHUNK`, what one export can hold in memory.
const CHUNKS_AHEAD: usize = 4;

/// The export of `me`'s data, as the response body's chunks. A failure half-way ends the body
/// with an error, so the client sees a broken download, never a shorter file that looks whole.
pub fn export(state: AppState, me: User) -> impl Stream<Item = Result<Bytes, io::Error>> {
    let (chunks, mut body) = mpsc::channel(CHUNKS_AHEAD);
    tokio::spawn(async move {
        let mut out = Out {
            buffer: Vec::with_capacity(CHUNK),
            chunks,
        };
        match write_export(&state, &me, &mut out).await {
            Ok(()) | Err(Stop::ClientGone) => {}
            Err(Stop::Failed(err)) => {
                tracing::error!(error = %format!("{err:#}"), user = %me.id, "export failed");
                let _ = out
                    .chunks
                    .send(Err(io::Error::other("the export failed")))
                    .await;
            }
        }
    });
    futures::stream::poll_fn(move |cx| body.poll_recv(cx))
}

#[derive(Serialize)]
struct Account<'a> {
    id: crate::domain::UserId,
    username: &'a str,
    is_admin: bool,
}

async fn write_export(state: &AppState, me: &User, out: &mut Out) -> Result<(), Stop> {
    let store = &state.store;
    out.raw("{\"format\":");
    out.json(&FORMAT)?;
    out.raw(",\"exported_at\":");
    out.json(&rfc3339_millis::format(&chrono::Utc::now()))?;
    out.raw(",\"account\":");
    out.json(&Account {
        id: me.id,
        username: me.username.as_str(),
        is_admin: me.is_admin,
    })?;
    out.raw(",\"blocks\":");
    out.json(&store.blocks(me.id).await.map_err(Stop::failed)?)?;
    out.raw(",\"conversations\":[");
    let peers = store
        .conversation_peers(me.id)
        .await
        .map_err(Stop::failed)?;
    for (n, (peer, read_up_to)) in peers.iter().enumerate() {
        if n > 0 {
            out.raw(",");
        }
        out.raw("{\"peer\":");
        out.json(peer)?;
        out.raw(",\"read_up_to\":");
        out.json(read_up_to)?;
        out.raw(",\"messages\":[");
        let mut after = None;
        let mut first = true;
        loop {
            let page = store
                .messages_after(me.id, peer.id, after, PAGE)
                .await
                .map_err(Stop::failed)?;
            for message in &page {
                if !first {
                    out.raw(",");
                }
                first = false;
                out.json(message)?;
            }
            out.flush_if_full().await?;
            match page.last() {
                Some(last) if page.len() == PAGE as usize => after = Some(last.id),
                _ => break,
            }
        }
        out.raw("]}");
    }
    out.raw("]}");
    out.flush().await
}

/// Why writing stopped early.
enum Stop {
    /// The client went away: nothing more to do.
    ClientGone,
    Failed(anyhow::Error),
}

impl Stop {
    fn failed(err: impl Into<anyhow::Error>) -> Self {
        Self::Failed(err.into())
    }
}

/// The bytes written so far, sent to the client a chunk at a time.
struct Out {
    buffer: Vec<u8>,
    chunks: mpsc::Sender<Result<Bytes, io::Error>>,
}

impl Out {
    fn raw(&mut self, text: &str) {
        self.buffer.extend_from_slice(text.as_bytes());
    }

    fn json(&mut self, value: &impl Serialize) -> Result<(), Stop> {
        serde_json::to_writer(&mut self.buffer, value).map_err(Stop::failed)
    }

    async fn flush_if_full(&mut self) -> Result<(), Stop> {
        if self.buffer.len() >= CHUNK {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Stop> {
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.chunks
            .send(Ok(chunk))
            .await
            .map_err(|_| Stop::ClientGone)
    }
}
