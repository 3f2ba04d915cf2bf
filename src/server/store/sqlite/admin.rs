//! The SQLite side of `AdminStore`: rare queries across every user and conversation. Kept apart
//! from the per-user hot path so its whole-table work is never mistaken for it, or tuned like it.

use super::{
    escape_like, from_millis, message_from_row, millis, optional_user, user_from_columns,
    user_from_row, SqliteStore, MESSAGE_COLUMNS_C, NEWEST_POSITION,
};
use crate::domain::admin::{AccountSummary, AuditAction, AuditEntry, ChatSummary, SearchHit};
use crate::domain::UserId;
use crate::server::store::{AdminStore, NewAuditEntry, StoreError};
use anyhow::Context;
use chrono::Utc;
use sqlx::Row;
use std::time::Duration;

/// How long a search waits for the index to catch up with what was written before it. A pass
/// takes milliseconds; only a first indexing of a large database takes longer, and a search during
/// it answers from what is indexed so far rather than hang.
const SEARCH_PATIENCE: Duration = Duration::from_secs(2);

impl AdminStore for SqliteStore {
    #[tracing::instrument(name = "store.accounts", level = "debug", skip(self))]
    async fn accounts(
        &self,
        prefix: &str,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<AccountSummary>, StoreError> {
        let rows = sqlx::query(
            "select u.id, u.username, u.is_admin, u.display_name, u.deleted_at, u.disabled, u.created_at, u.last_login_at,
                    (select count(*) from chat c where c.sender = u.id) as messages_sent,
                    (select max(c.date) from chat c where c.sender = u.id) as last_sent
             from users u where u.username like $1 escape '\\'
             order by u.username limit $2 offset $3",
        )
        .bind(format!("{}%", escape_like(prefix)))
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *self.reader().await?)
        .await
        .context("select accounts")?;
        rows.iter()
            .map(|row| -> Result<AccountSummary, StoreError> {
                let last_login: Option<i64> = row.try_get("last_login_at").context("last login")?;
                let last_sent: Option<i64> = row.try_get("last_sent").context("last sent")?;
                Ok(AccountSummary {
                    user: user_from_row(row)?,
                    created_at: from_millis(row.try_get("created_at").context("created_at")?)?,
                    messages_sent: row.try_get("messages_sent").context("messages_sent")?,
                    last_active: last_login.max(last_sent).map(from_millis).transpose()?,
                    disabled: row.try_get("disabled").context("disabled")?,
                })
            })
            .collect()
    }

    #[tracing::instrument(name = "store.chats", level = "debug", skip(self))]
    async fn chats(
        &self,
        user: Option<UserId>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<ChatSummary>, StoreError> {
        let rows = sqlx::query(
            "with pairs as (
                 select pair_lo, pair_hi, count(*) as messages, max(date) as last_activity
                 from chat where $1 is null or pair_lo = $1 or pair_hi = $1
                 group by pair_lo, pair_hi
             )
             select p.messages, p.last_activity,
                    a.id as a_id, a.username as a_username, a.is_admin as a_is_admin, a.display_name as a_display_name, a.deleted_at as a_deleted_at,
                    b.id as b_id, b.username as b_username, b.is_admin as b_is_admin, b.display_name as b_display_name, b.deleted_at as b_deleted_at
             from pairs p join users a on a.id = p.pair_lo join users b on b.id = p.pair_hi
             order by p.last_activity desc, p.pair_lo, p.pair_hi limit $2 offset $3",
        )
        .bind(user.map(UserId::get))
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *self.reader().await?)
        .await
        .context("select chats")?;
        rows.iter()
            .map(|row| -> Result<ChatSummary, StoreError> {
                Ok(ChatSummary {
                    user_a: user_from_columns(row, "a_")?,
                    user_b: user_from_columns(row, "b_")?,
                    messages: row.try_get("messages").context("messages")?,
                    last_activity: from_millis(
                        row.try_get("last_activity").context("last_activity")?,
                    )?,
                })
            })
            .collect()
    }

    #[tracing::instrument(name = "store.search_messages", level = "debug", skip(self, words))]
    async fn search_messages(
        &self,
        words: &[&str],
        within: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let Some(query) = fts5_all_of(words) else {
            return Ok(Vec::new());
        };
        // The index trails the writer by a pass: wait for it to hold everything written so far.
        let newest: i64 = sqlx::query_scalar(NEWEST_POSITION)
            .fetch_one(&mut *self.reader().await?)
            .await
            .context("read the newest position")?;
        if !self.search.reach(newest, SEARCH_PATIENCE).await {
            tracing::warn!(newest, "searching an index that has not caught up");
        }
        let rows = sqlx::query(&format!(
            "select {MESSAGE_COLUMNS_C},
                    s.id as s_id, s.username as s_username, s.is_admin as s_is_admin, s.display_name as s_display_name, s.deleted_at as s_deleted_at,
                    r.id as r_id, r.username as r_username, r.is_admin as r_is_admin, r.display_name as r_display_name, r.deleted_at as r_deleted_at
             from search.chat_words f join chat c on c.id = f.rowid
             join users s on s.id = c.sender join users r on r.id = c.receiver
             where f.chat_words match $1 and c.deleted_at is null
               and ($3 is null or c.sender = $3 or c.receiver = $3)
             order by c.date desc, c.id desc limit $2"
        ))
        .bind(query)
        .bind(limit)
        .bind(within.map(UserId::get))
        .fetch_all(&mut *self.reader().await?)
        .await
        .context("full-text search")?;
        rows.iter()
            .map(|row| -> Result<SearchHit, StoreError> {
                Ok(SearchHit {
                    message: message_from_row(row)?,
                    sender: user_from_columns(row, "s_")?,
                    receiver: user_from_columns(row, "r_")?,
                })
            })
            .collect()
    }

    #[tracing::instrument(name = "store.append_audit", level = "debug", skip(self, entry), fields(admin = ?entry.admin, action = entry.action.as_str()))]
    async fn append_audit(&self, entry: NewAuditEntry<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "insert into audit_log (admin_id, action, user_a, user_b, detail, reason, date)
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(entry.admin.map(UserId::get))
        .bind(entry.action.as_str())
        .bind(entry.user_a.map(UserId::get))
        .bind(entry.user_b.map(UserId::get))
        .bind(entry.detail)
        .bind(entry.reason)
        .bind(millis(Utc::now()))
        .execute(&self.pool)
        .await
        .context("append audit entry")?;
        Ok(())
    }

    #[tracing::instrument(name = "store.audit_log", level = "debug", skip(self))]
    async fn audit_log(
        &self,
        action: Option<AuditAction>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "select l.id, l.action, l.detail, l.reason, l.date,
                    ad.id as ad_id, ad.username as ad_username, ad.is_admin as ad_is_admin, ad.display_name as ad_display_name, ad.deleted_at as ad_deleted_at,
                    a.id as a_id, a.username as a_username, a.is_admin as a_is_admin, a.display_name as a_display_name, a.deleted_at as a_deleted_at,
                    b.id as b_id, b.username as b_username, b.is_admin as b_is_admin, b.display_name as b_display_name, b.deleted_at as b_deleted_at
             from audit_log l left join users ad on ad.id = l.admin_id
             left join users a on a.id = l.user_a left join users b on b.id = l.user_b
             where $3 is null or l.action = $3
             order by l.date desc, l.id desc limit $1 offset $2",
        )
        .bind(limit)
        .bind(offset)
        .bind(action.map(AuditAction::as_str))
        .fetch_all(&mut *self.reader().await?)
        .await
        .context("select audit log")?;
        rows.iter()
            .map(|row| -> Result<AuditEntry, StoreError> {
                let action: String = row.try_get("action").context("action")?;
                Ok(AuditEntry {
                    id: row.try_get("id").context("id")?,
                    admin: optional_user(row, "ad_")?,
                    action: AuditAction::parse(&action)
                        .with_context(|| format!("unknown audit action {action:?}"))?,
                    user_a: optional_user(row, "a_")?,
                    user_b: optional_user(row, "b_")?,
                    detail: row.try_get("detail").context("detail")?,
                    reason: row.try_get("reason").context("reason")?,
                    date: from_millis(row.try_get("date").context("date")?)?,
                })
            })
            .collect()
    }
}

/// An FTS5 query matching text that contains every word, or `None` when nothing is left to look
/// for. Each word is quoted, so FTS syntax (`OR`, `NEAR(`, `*`, quotes) is searched for, never run.
/// A NUL separates words, as on PostgreSQL: FTS5 would read its query only up to it.
fn fts5_all_of(words: &[&str]) -> Option<String> {
    let quoted: Vec<String> = words
        .iter()
        .flat_map(|w| w.split('\0'))
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    (!quoted.is_empty()).then(|| quoted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::fts5_all_of;

    #[test]
    fn every_word_is_quoted_so_no_syntax_runs() {
        assert_eq!(
            fts5_all_of(&["zebra", "Parcel"]).as_deref(),
            Some("\"zebra\" \"Parcel\"")
        );
        assert_eq!(
            fts5_all_of(&["say", "\"hi\"", "OR", "NEAR("]).as_deref(),
            Some(r#""say" """hi""" "OR" "NEAR(""#)
        );
        assert_eq!(
            fts5_all_of(&["zebra\0parcel"]).as_deref(),
            Some("\"zebra\" \"parcel\"")
        );
        assert_eq!(fts5_all_of(&["\0", ""]), None);
    }
}
