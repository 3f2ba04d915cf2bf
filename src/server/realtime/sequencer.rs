//! Puts committed stream entries (messages sent, edited, deleted) from every node back into
//! position order, with no gap and no duplicate.
//!
//! With several nodes, a node hears of entries from three places: its own writer (at once), the
//! broker (fast, but it may drop or reorder), and the database (always complete, read when
//! something is missing). Positions are handed out in commit order with no holes (see the
//! PostgreSQL store), so "the next entry" is always the position after the last one delivered.
//! The sequencer delivers exactly that, holds anything that arrives early, drops anything already
//! delivered, and says when a hole has been open long enough to be filled from the database.
//! It is plain logic: no clock of its own, no I/O. What it orders is anything with a position,
//! so a caller can keep what it knows of each entry (when and whence it came) beside it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Something the sequencer can order: it has a position in the stream.
pub trait Sequenced {
    fn position(&self) -> i64;
}

pub struct Sequencer<T> {
    /// The newest id delivered; everything at or below it is a duplicate.
    delivered: i64,
    /// Messages that arrived ahead of a missing one, by id; the first copy to arrive is kept.
    early: BTreeMap<i64, T>,
    /// Since when the oldest message in `early` has been waiting for the hole before it.
    waiting_since: Option<Instant>,
}

impl<T: Sequenced> Sequencer<T> {
    /// A sequencer whose next delivery is the message after `delivered`.
    pub fn after(delivered: i64) -> Self {
        Self {
            delivered,
            early: BTreeMap::new(),
            waiting_since: None,
        }
    }

    /// The newest id delivered.
    pub fn delivered(&self) -> i64 {
        self.delivered
    }

    /// Takes messages from any source, in any order, at `now`; returns those that may be
    /// delivered now, in id order: every one up to the first hole.
    pub fn accept(&mut self, now: Instant, messages: impl IntoIterator<Item = T>) -> Vec<T> {
        for message in messages {
            if message.position() > self.delivered {
                self.early.entry(message.position()).or_insert(message);
            }
        }
        let mut ready = Vec::new();
        while let Some(entry) = self.early.first_entry() {
            if *entry.key() != self.delivered + 1 {
                break;
            }
            self.delivered += 1;
            ready.push(entry.remove());
        }
        self.waiting_since = match (self.early.is_empty(), ready.is_empty()) {
            (true, _) => None,
            // The hole that held the first of them is filled; the one now in front is new.
            (false, false) => Some(now),
            (false, true) => Some(self.waiting_since.unwrap_or(now)),
        };
        ready
    }

    /// When a hole that holds messages back will have waited `patience`, if there is one: then
    /// the missing messages should be read from the database (ids above `delivered`).
    pub fn fill_due(&self, patience: Duration) -> Option<Instant> {
        self.waiting_since.map(|since| since + patience)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry at a position.
    #[derive(Debug)]
    struct Entry(i64);

    impl Sequenced for Entry {
        fn position(&self) -> i64 {
            self.0
        }
    }

    fn message(position: i64) -> Entry {
        Entry(position)
    }

    fn ids(entries: &[Entry]) -> Vec<i64> {
        entries.iter().map(|e| e.0).collect()
    }

    #[test]
    fn delivers_in_id_order_whatever_the_arrival_order() {
        let now = Instant::now();
        let mut seq = Sequencer::after(10);
        assert_eq!(
            ids(&seq.accept(now, [message(13), message(12)])),
            Vec::<i64>::new()
        );
        assert_eq!(ids(&seq.accept(now, [message(11)])), vec![11, 12, 13]);
        assert_eq!(seq.delivered(), 13);
    }

    #[test]
    fn drops_what_was_delivered_or_is_already_held() {
        let now = Instant::now();
        let mut seq = Sequencer::after(0);
        assert_eq!(ids(&seq.accept(now, [message(1), message(2)])), vec![1, 2]);
        // The broker's copy of our own commit, a database read overlapping it, a duplicate.
        assert_eq!(
            ids(&seq.accept(now, [message(2), message(1), message(4)])),
            Vec::<i64>::new()
        );
        assert_eq!(
            ids(&seq.accept(now, [message(4), message(3), message(3)])),
            vec![3, 4]
        );
    }

    #[test]
    fn a_hole_is_filled_once_it_has_waited_the_patience() {
        let start = Instant::now();
        let patience = Duration::from_millis(20);
        let mut seq = Sequencer::after(5);
        assert_eq!(
            seq.fill_due(patience),
            None,
            "nothing held, nothing missing"
        );
        seq.accept(start, [message(7)]);
        assert_eq!(seq.fill_due(patience), Some(start + patience));
        // More early arrivals do not restart the wait for the same hole.
        seq.accept(start + Duration::from_millis(10), [message(8)]);
        assert_eq!(seq.fill_due(patience), Some(start + patience));
        // The fill arrives (as a database read would give it: the missing one and more).
        let filled = seq.accept(start + patience, [message(6), message(7), message(8)]);
        assert_eq!(ids(&filled), vec![6, 7, 8]);
        assert_eq!(seq.fill_due(patience), None);
    }

    #[test]
    fn a_second_hole_waits_from_when_the_first_was_filled() {
        let start = Instant::now();
        let patience = Duration::from_millis(20);
        let mut seq = Sequencer::after(0);
        seq.accept(start, [message(2), message(4)]);
        let later = start + Duration::from_millis(50);
        assert_eq!(ids(&seq.accept(later, [message(1)])), vec![1, 2]);
        assert_eq!(seq.fill_due(patience), Some(later + patience));
    }
}
