//! The outbox: messages written on this page that the server has not confirmed yet. Each keeps its
//! `client_id` (the idempotency key) from the first try to the last, so sending it again is safe:
//! a message the server already stored is acknowledged again, never stored twice. It is sent again
//! whenever the link comes (back) up, and after a pause when the server says "too fast".

use crate::domain::UserId;
use crate::protocol::ClientFrame;
use crate::ui::realtime::{LinkStatus, Realtime};
use crate::ui::schedule::coalesce;
use leptos::prelude::*;
use std::time::Duration;

/// The first pause before a rate-limited message is sent again, and the longest.
const FIRST_BACKOFF_MS: u64 = 1_000;
const MAX_BACKOFF_MS: u64 = 30_000;

/// A message written here that the server has not confirmed yet (sending, or offline).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Pending {
    pub client_id: String,
    pub text: String,
    /// Set when the server refused it; a refused message is not sent again.
    pub failed: Option<String>,
}

#[derive(Clone, Copy)]
pub(super) struct Outbox {
    /// In the order written.
    pending: RwSignal<Vec<Pending>>,
    /// Bumped to send the outbox again (after a rate-limit pause); see `resend_when_live`.
    resend: RwSignal<u32>,
    backoff_ms: StoredValue<u64>,
    retry_scheduled: StoredValue<bool>,
}

impl Outbox {
    pub fn new() -> Self {
        Self {
            pending: RwSignal::new(Vec::new()),
            resend: RwSignal::new(0),
            backoff_ms: StoredValue::new(FIRST_BACKOFF_MS),
            retry_scheduled: StoredValue::new(false),
        }
    }

    /// The waiting messages, oldest first (tracked).
    pub fn entries(self) -> Vec<Pending> {
        self.pending.get()
    }

    /// Whether nothing is waiting (tracked).
    pub fn is_empty(self) -> bool {
        self.pending.with(Vec::is_empty)
    }

    /// Queues `text` for `peer` and sends it now if it may go now.
    pub fn send(self, realtime: Realtime, peer: UserId, text: String) {
        let pending = Pending {
            client_id: new_client_id(),
            text,
            failed: None,
        };
        // Offline, it waits in the outbox; `resend_when_live` sends it once the link is back. While
        // the server is telling us to slow down, it waits for the scheduled resend (which sends
        // the outbox in order) instead of overtaking the messages already waiting.
        if !self.retry_scheduled.get_value() {
            realtime.send(&send_frame(peer, &pending));
        }
        self.pending.update(|o| o.push(pending));
    }

    /// Whenever the link is (back) up, and after a rate-limit pause, sends what is waiting under
    /// the same client_ids.
    pub fn resend_when_live(self, realtime: Realtime, peer: UserId) {
        Effect::new(move |_| {
            self.resend.track();
            if realtime.status() == LinkStatus::Live {
                self.pending.with_untracked(|o| {
                    for pending in o.iter().filter(|p| p.failed.is_none()) {
                        realtime.send(&send_frame(peer, pending));
                    }
                });
            }
        });
    }

    /// The server stored message `client_id`: it leaves the outbox, and sends flow again.
    pub fn confirmed(self, client_id: &str) {
        self.pending
            .update(|o| o.retain(|p| p.client_id != client_id));
        self.backoff_ms.set_value(FIRST_BACKOFF_MS);
    }

    /// The server refused message `client_id` for good: it stays, marked with `why`.
    pub fn refused(self, client_id: &str, why: String) {
        self.pending.update(|o| {
            o.iter_mut()
                .filter(|p| p.client_id == client_id)
                .for_each(|p| p.failed = Some(why.clone()))
        });
    }

    /// Sends a refused message again, under its own client_id (so it is stored once at most).
    pub fn retry(self, realtime: Realtime, peer: UserId, client_id: &str) {
        let mut again = None;
        self.pending.update(|o| {
            if let Some(pending) = o.iter_mut().find(|p| p.client_id == client_id) {
                pending.failed = None;
                again = Some(send_frame(peer, pending));
            }
        });
        if let Some(frame) = again.filter(|_| !self.retry_scheduled.get_value()) {
            realtime.send(&frame);
        }
    }

    /// Takes a message out of the outbox without sending it.
    pub fn discard(self, client_id: &str) {
        self.pending
            .update(|o| o.retain(|p| p.client_id != client_id));
    }

    /// The server said "too fast": sends the outbox again after the current backoff, unless a
    /// resend is already scheduled; the backoff doubles until a send gets through.
    pub fn rate_limited(self) {
        if self.retry_scheduled.get_value() {
            return;
        }
        let delay = self.backoff_ms.get_value();
        self.backoff_ms.set_value((delay * 2).min(MAX_BACKOFF_MS));
        let resend = self.resend;
        coalesce(
            self.retry_scheduled,
            Duration::from_millis(delay),
            move || {
                resend.update(|n| *n = n.wrapping_add(1));
            },
        );
    }
}

fn send_frame(peer: UserId, pending: &Pending) -> ClientFrame {
    ClientFrame::Message {
        to: peer,
        message: pending.text.clone(),
        client_id: pending.client_id.parse().ok(),
    }
}

/// A fresh idempotency key for a send: a version-4 UUID from the browser's CSPRNG
/// (`getRandomValues` works on plain-HTTP origins too, unlike `randomUUID`).
fn new_client_id() -> String {
    #[cfg_attr(not(feature = "hydrate"), allow(unused_mut))]
    let mut bytes = [0u8; 16];
    #[cfg(feature = "hydrate")]
    if let Ok(crypto) = window().crypto() {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}
