//! How a conversation reads down the screen: a line for each new day, and consecutive messages
//! from one person, close together in time, grouped under one time stamp. Plain functions of the
//! messages and the reader's calendar, so the server (in UTC) and the browser (in the reader's
//! zone) lay out the same messages the same way, and tests need no browser.

use crate::domain::{ChatMessage, UserId};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};

/// Messages from one person at most this far apart share a group.
pub const GROUP_GAP: Duration = Duration::minutes(5);

/// One line of the conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row {
    /// The messages below were sent on this day (in the reader's calendar).
    Day(NaiveDate),
    /// "New messages": the reader had not seen the messages below when they last looked.
    Unread,
    /// A message; `continues` when it belongs to the group of the one above it (same sender, same
    /// day, within `GROUP_GAP`), which then carries the group's time.
    Message {
        message: ChatMessage,
        continues: bool,
    },
}

impl Row {
    /// A key that changes whenever the row would look different.
    pub fn key(&self) -> String {
        match self {
            Row::Day(day) => format!("day-{day}"),
            Row::Unread => "unread".to_owned(),
            Row::Message { message, continues } => {
                let changed = message
                    .deleted_at
                    .or(message.edited_at)
                    .map_or(0, |at| at.timestamp_millis());
                format!("m-{}-{continues}-{changed}", message.id)
            }
        }
    }
}

/// The rows for `messages` (in date order), with `day_of` saying which calendar day a moment
/// falls on for the reader, and the "New messages" line above `first_unread` (a message id).
pub fn timeline(
    messages: &[ChatMessage],
    first_unread: Option<i64>,
    day_of: impl Fn(DateTime<Utc>) -> NaiveDate,
) -> Vec<Row> {
    let mut rows = Vec::with_capacity(messages.len() + 4);
    let mut previous: Option<(UserId, DateTime<Utc>, NaiveDate)> = None;
    for message in messages {
        let day = day_of(message.date);
        let new_day = previous.is_none_or(|(_, _, last_day)| last_day != day);
        if new_day {
            rows.push(Row::Day(day));
        }
        let unread_from_here = first_unread == Some(message.id);
        if unread_from_here {
            rows.push(Row::Unread);
        }
        let continues = !new_day
            && !unread_from_here
            && previous.is_some_and(|(sender, date, _)| {
                sender == message.sender && message.date - date <= GROUP_GAP
            });
        previous = Some((message.sender, message.date, day));
        rows.push(Row::Message {
            message: message.clone(),
            continues,
        });
    }
    rows
}

/// The first message from `peer` after `read_up_to`: where the "New messages" line goes.
pub fn first_unread(messages: &[ChatMessage], peer: UserId, read_up_to: i64) -> Option<i64> {
    messages
        .iter()
        .find(|m| m.sender == peer && m.id > read_up_to)
        .map(|m| m.id)
}

/// What a day line says, before it is put in words of the reader's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayName {
    Today,
    Yesterday,
    /// Within the last week: its weekday is enough.
    Weekday(Weekday),
    /// Longer ago: the full date.
    Date(NaiveDate),
}

pub fn day_name(day: NaiveDate, today: NaiveDate) -> DayName {
    match (today - day).num_days() {
        0 => DayName::Today,
        1 => DayName::Yesterday,
        2..=6 => DayName::Weekday(day.weekday()),
        _ => DayName::Date(day),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn message(id: i64, sender: i64, at: DateTime<Utc>) -> ChatMessage {
        ChatMessage {
            id,
            sender: UserId::new(sender),
            receiver: UserId::new(3 - sender),
            message: format!("m{id}"),
            date: at,
            client_id: None,
            edited_at: None,
            deleted_at: None,
        }
    }

    fn utc_day(date: DateTime<Utc>) -> NaiveDate {
        date.date_naive()
    }

    fn shape(rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|row| match row {
                Row::Day(day) => day.to_string(),
                Row::Unread => "new".to_owned(),
                Row::Message { message, continues } => {
                    format!("{}{}", message.id, if *continues { "+" } else { "" })
                }
            })
            .collect()
    }

    #[test]
    fn a_day_line_starts_each_day_and_a_group_continues_only_for_one_sender_within_the_gap() {
        let t = |h, m| Utc.with_ymd_and_hms(2026, 3, 9, h, m, 0).unwrap();
        let messages = [
            message(1, 1, t(9, 0)),
            message(2, 1, t(9, 4)),   // same sender, 4 min later: continues
            message(3, 2, t(9, 5)),   // the other person: a new group
            message(4, 2, t(9, 11)),  // 6 min later: a new group
            message(5, 2, t(23, 59)), // hours later: a new group
            message(6, 2, Utc.with_ymd_and_hms(2026, 3, 10, 0, 1, 0).unwrap()), // next day
        ];
        assert_eq!(
            shape(&timeline(&messages, None, utc_day)),
            ["2026-03-09", "1", "2+", "3", "4", "5", "2026-03-10", "6"]
        );
    }

    #[test]
    fn the_days_are_the_readers_own() {
        let late = Utc.with_ymd_and_hms(2026, 3, 9, 23, 30, 0).unwrap();
        let messages = [
            message(1, 1, late),
            message(2, 1, late + Duration::minutes(40)),
        ];
        // In UTC the second is on the next day; two hours east, both are on the 10th.
        assert_eq!(
            shape(&timeline(&messages, None, utc_day)),
            ["2026-03-09", "1", "2026-03-10", "2"]
        );
        let east = |d: DateTime<Utc>| (d + Duration::hours(2)).date_naive();
        assert_eq!(
            shape(&timeline(&messages, None, east)),
            ["2026-03-10", "1", "2"]
        );
    }

    #[test]
    fn the_new_messages_line_goes_above_the_first_unread_and_breaks_its_group() {
        let t = |m| Utc.with_ymd_and_hms(2026, 3, 9, 9, m, 0).unwrap();
        let messages = [
            message(1, 2, t(0)),
            message(2, 2, t(1)),
            message(3, 1, t(2)), // mine: never unread
            message(4, 2, t(3)),
            message(5, 2, t(4)),
        ];
        // Read up to 2: 3 is mine, so 4 is the first unread.
        let first = first_unread(&messages, UserId::new(2), 2);
        assert_eq!(first, Some(4));
        assert_eq!(
            shape(&timeline(&messages, first, utc_day)),
            ["2026-03-09", "1", "2+", "3", "new", "4", "5+"]
        );
        // Read up to 1: the line splits the group of 1 and 2.
        let first = first_unread(&messages, UserId::new(2), 1);
        assert_eq!(
            shape(&timeline(&messages, first, utc_day)),
            ["2026-03-09", "1", "new", "2", "3", "4", "5+"]
        );
        assert_eq!(first_unread(&messages, UserId::new(2), 5), None);
    }

    #[test]
    fn days_are_named_today_yesterday_by_weekday_within_a_week_then_by_date() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 12).unwrap(); // a Thursday
        let back = |days| today - Duration::days(days);
        assert_eq!(day_name(today, today), DayName::Today);
        assert_eq!(day_name(back(1), today), DayName::Yesterday);
        assert_eq!(day_name(back(2), today), DayName::Weekday(Weekday::Tue));
        assert_eq!(day_name(back(6), today), DayName::Weekday(Weekday::Fri));
        assert_eq!(day_name(back(7), today), DayName::Date(back(7)));
    }
}
