//! How both backends write values into SQL and read them back: dates as milliseconds since the
//! Unix epoch (UTC), kinds of change as their names, LIKE patterns with their wildcards escaped,
//! and users from their columns.

use crate::domain::{Change, DisplayName, User, UserId, Username};
use anyhow::{bail, Context};
use chrono::{DateTime, TimeZone, Utc};

/// A stored date (milliseconds since the epoch) as a date.
pub(super) fn from_millis(ms: i64) -> anyhow::Result<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .with_context(|| format!("date out of range: {ms}"))
}

/// Escapes LIKE's wildcards (and the escape character itself, `\`), so a search for "a_b" means
/// exactly that. Every LIKE that takes user text says `escape '\'`.
pub(super) fn escape_like(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// How `chat_change.kind` (and the position queries, for a new message) name a change.
pub(super) fn change_name(change: Change) -> &'static str {
    match change {
        Change::Sent => "sent",
        Change::Edited => "edited",
        Change::Deleted => "deleted",
    }
}

pub(super) fn change_from_name(name: &str) -> anyhow::Result<Change> {
    Ok(match name {
        "sent" => Change::Sent,
        "edited" => Change::Edited,
        "deleted" => Change::Deleted,
        other => bail!("unknown kind of change {other:?}"),
    })
}

/// A stored optional date.
pub(super) fn from_optional_millis(ms: Option<i64>) -> anyhow::Result<Option<DateTime<Utc>>> {
    ms.map(from_millis).transpose()
}

/// A user from the values of their columns. Rows are only written through `Username::parse` and
/// `DisplayName::parse`; a value that does not parse was written by hand, and is an error.
pub(super) fn stored_user(
    id: i64,
    username: String,
    is_admin: bool,
    display_name: Option<String>,
    deleted_at: Option<i64>,
) -> anyhow::Result<User> {
    Ok(User {
        id: UserId::new(id),
        username: Username::parse(&username)
            .with_context(|| format!("stored username {username:?} is invalid"))?,
        is_admin,
        display_name: display_name
            .map(|name| {
                DisplayName::parse(&name)
                    .with_context(|| format!("stored display name {name:?} is invalid"))
            })
            .transpose()?,
        deleted: deleted_at.is_some(),
    })
}
