//! The conversation page's live state: the signals its parts share, and what each frame from the
//! server does to them. Only this module reads `ServerFrame`s; the header, the message list and
//! the composer read and change the signals. Signals that one part alone needs stay in that part.

use super::outbox::Outbox;
#[cfg(feature = "hydrate")]
use crate::api::messaging::load_unread_total;
use crate::domain::{ChatMessage, UserId};
use crate::error::ErrorCode;
use crate::protocol::{ServerEvent, ServerFrame};
use crate::ui::notify;
use crate::ui::schedule::coalesce;
use leptos::prelude::*;
use std::time::Duration;

/// Copied into every part of the page (each field is a handle on a signal).
#[derive(Clone, Copy)]
pub(super) struct LiveState {
    pub me: UserId,
    pub peer: UserId,
    /// How the peer is named on the page (`User::shown_name`).
    pub peer_name: StoredValue<String>,
    /// The peer's username: the conversation's address.
    pub peer_username: StoredValue<String>,
    /// The peer's account was deleted: nothing can be sent.
    pub peer_deleted: bool,
    /// The stored messages shown, in date order (ties by id), each once.
    pub messages: RwSignal<Vec<ChatMessage>>,
    /// What I wrote here that the server has not confirmed yet.
    pub outbox: Outbox,
    /// How far the peer has read: my messages up to this id show as read.
    pub peer_read_up_to: RwSignal<i64>,
    /// How far I had read when I last looked (opened the page, came back to the tab, or wrote):
    /// the "New messages" line sits above the peer's first message after it.
    pub seen_up_to: RwSignal<i64>,
    /// Unread messages across all my conversations (for the tab title).
    pub unread_total: RwSignal<i64>,
    pub peer_online: RwSignal<bool>,
    /// Non-zero while "… is typing" shows: the generation of the latest notice (see `show_typing`).
    pub peer_typing: RwSignal<u32>,
    /// Whether I block the peer: the composer then gives way to a notice.
    pub blocked: RwSignal<bool>,
    /// The error line under the composer: a refused send, or older messages that failed to load.
    pub send_error: RwSignal<Option<String>>,
    /// The message of mine the composer is editing, if any.
    pub editing: RwSignal<Option<ChatMessage>>,
    /// Whether a refresh of `unread_total` is already scheduled.
    unread_refresh: StoredValue<bool>,
}

/// What the page was rendered with.
pub(super) struct Initial {
    pub me: UserId,
    pub peer: UserId,
    pub peer_name: String,
    pub peer_username: String,
    pub peer_deleted: bool,
    pub messages: Vec<ChatMessage>,
    pub peer_read_up_to: i64,
    pub read_up_to: i64,
    pub unread_total: i64,
    pub i_blocked: bool,
}

impl LiveState {
    pub fn new(initial: Initial) -> Self {
        Self {
            me: initial.me,
            peer: initial.peer,
            peer_name: StoredValue::new(initial.peer_name),
            peer_username: StoredValue::new(initial.peer_username),
            peer_deleted: initial.peer_deleted,
            messages: RwSignal::new(initial.messages),
            outbox: Outbox::new(),
            peer_read_up_to: RwSignal::new(initial.peer_read_up_to),
            seen_up_to: RwSignal::new(initial.read_up_to),
            unread_total: RwSignal::new(initial.unread_total),
            peer_online: RwSignal::new(false),
            peer_typing: RwSignal::new(0),
            blocked: RwSignal::new(initial.i_blocked),
            send_error: RwSignal::new(None),
            editing: RwSignal::new(None),
            unread_refresh: StoredValue::new(false),
        }
    }

    /// Adds messages from any source (the socket, an older page, an HTTP send) to the list.
    pub fn add_messages(self, incoming: impl IntoIterator<Item = ChatMessage>) {
        self.messages.update(|list| merge(list, incoming));
    }

    /// Puts the message as it is stored now in place of the copy shown (or adds it): an edit or
    /// a deletion, from the socket or from my own request.
    pub fn replace_message(self, message: ChatMessage) {
        self.messages
            .update(|list| match list.iter_mut().find(|m| m.id == message.id) {
                Some(shown) => *shown = message,
                None => merge(list, [message]),
            });
    }

    /// My newest message, if it can still be edited (for Up in an empty composer).
    pub fn my_last_editable(self) -> Option<ChatMessage> {
        self.messages.with_untracked(|list| {
            list.iter()
                .rev()
                .find(|m| m.sender == self.me && !m.is_deleted())
                .filter(|m| m.is_editable_at(chrono::Utc::now()))
                .cloned()
        })
    }

    /// The newest message id shown (0 for none), not tracked.
    pub fn newest_id(self) -> i64 {
        self.messages
            .with_untracked(|list| list.iter().map(|m| m.id).max().unwrap_or(0))
    }

    /// Everything shown so far counts as seen: the "New messages" line goes.
    pub fn seen_all(self) {
        let newest = self.newest_id();
        self.seen_up_to.update(|seen| *seen = (*seen).max(newest));
    }

    /// What a frame from the realtime link changes on this page.
    pub fn handle_frame(self, frame: ServerFrame) {
        let (me, peer) = (self.me, self.peer);
        match frame {
            ServerFrame::Message { message } if message.involves(me, peer) => {
                if let Some(id) = message.client_id.map(|c| c.to_string()) {
                    self.outbox.confirmed(&id);
                }
                if message.sender == peer {
                    self.peer_typing.set(0);
                    let (name, address) =
                        (self.peer_name.get_value(), self.peer_username.get_value());
                    notify::new_message(&name, &message.message, format!("/c/{address}"));
                }
                self.add_messages([message]);
            }
            ServerFrame::MessageEdited { message, .. }
            | ServerFrame::MessageDeleted { message, .. }
                if message.involves(me, peer) =>
            {
                if self
                    .editing
                    .with_untracked(|e| e.as_ref().is_some_and(|e| e.id == message.id))
                    && message.is_deleted()
                {
                    self.editing.set(None);
                }
                self.replace_message(message);
            }
            // Another conversation: one more unread if it came to me. Counted here, not fetched.
            ServerFrame::Message { message } if message.receiver == me && message.sender != me => {
                self.unread_total.update(|n| *n += 1);
                // This page does not know the sender's name; the inbox lists them first.
                notify::new_message("New message", &message.message, "/".to_owned());
            }
            // Sending too fast: the message stays pending and the outbox goes again, same
            // client_ids, after a pause (one pause for a burst of refusals) that doubles while
            // nothing gets through. This is the one place that tells a rate limit apart.
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                client_id: Some(_),
                ..
            } => self.outbox.rate_limited(),
            ServerFrame::Error {
                message,
                client_id: Some(id),
                ..
            } => self.outbox.refused(&id, message),
            ServerFrame::PresenceFull { online } => self.peer_online.set(online.contains(&peer)),
            ServerFrame::PresenceUpdate { user_id, online } if user_id == peer => {
                self.peer_online.set(online)
            }
            ServerFrame::Event(ServerEvent::Typing { from }) if from == peer => {
                show_typing(self.peer_typing);
            }
            ServerFrame::Event(ServerEvent::Read {
                reader,
                with,
                up_to,
            }) => {
                if reader == peer && with == me {
                    self.peer_read_up_to.update(|r| *r = (*r).max(up_to));
                }
                if reader == me {
                    refresh_unread(self.unread_total, self.unread_refresh);
                }
            }
            _ => {}
        }
    }
}

/// Adds `incoming` to `list`, keeping date order (ties by id) and each id once.
fn merge(list: &mut Vec<ChatMessage>, incoming: impl IntoIterator<Item = ChatMessage>) {
    let mut changed = false;
    for message in incoming {
        if !list.iter().any(|m| m.id == message.id) {
            list.push(message);
            changed = true;
        }
    }
    if changed {
        list.sort_by_key(|m| (m.date, m.id));
    }
}

/// Shows "… is typing" for a few seconds after the latest notice.
fn show_typing(peer_typing: RwSignal<u32>) {
    let generation = peer_typing.get_untracked().wrapping_add(1).max(1);
    peer_typing.set(generation);
    set_timeout(
        move || {
            if peer_typing.get_untracked() == generation {
                peer_typing.set(0);
            }
        },
        Duration::from_secs(4),
    );
}

/// Asks the server for the unread total, at most once per half second however many read marks
/// arrive (`pending` says one is already scheduled).
fn refresh_unread(unread_total: RwSignal<i64>, pending: StoredValue<bool>) {
    coalesce(pending, Duration::from_millis(500), move || {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if let Ok(total) = load_unread_total().await {
                unread_total.set(total);
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = unread_total;
    });
}

#[cfg(test)]
mod tests {
    use super::merge;
    use crate::domain::{ChatMessage, UserId};
    use chrono::{TimeZone, Utc};

    fn msg(id: i64, ms: i64) -> ChatMessage {
        ChatMessage {
            id,
            sender: UserId::new(1),
            receiver: UserId::new(2),
            message: format!("m{id}"),
            date: Utc.timestamp_millis_opt(ms).unwrap(),
            client_id: None,
            edited_at: None,
            deleted_at: None,
        }
    }

    #[test]
    fn merge_dedupes_and_orders_by_date_then_id() {
        let mut list = vec![msg(2, 200), msg(3, 300)];
        merge(
            &mut list,
            [msg(3, 300), msg(1, 100), msg(5, 300), msg(4, 300)],
        );
        let ids: Vec<i64> = list.iter().map(|m| m.id).collect();
        assert_eq!(ids, vec![1, 2, 3, 4, 5]);
    }
}
