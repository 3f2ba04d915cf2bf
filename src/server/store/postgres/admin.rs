//! The PostgreSQL side of `AdminStore`: rare queries across every user and conversation, query for
//! query the SQLite one's. Full-text search uses the `tsvector` column and its GIN index; the words
//! an admin typed only ever reach PostgreSQL as bound parameters of `phraseto_tsquery`, which reads
//! them as plain text, so nothing typed is ever query syntax.

use super::{
    bigint, escape_like, from_millis, has_nul, message_from_row, optional_user, user_from_columns,
    user_from_row, without_nul, PgStore, MESSAGE_COLUMNS_C,
};
use crate::domain::admin::{AccountSummary, AuditAction, AuditEntry, ChatSummary, SearchHit};
use crate::domain::UserId;
use crate::server::store::{AdminStore, NewAuditEntry, StoreError};
use anyhow::Context;
use sqlx::Row;

impl AdminStore for PgStore {
    #[tracing::instrument(name = "store.accounts", level = "debug", skip(self))]
    async fn accounts(
        &self,
        prefix: &str,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<AccountSummary>, StoreError> {
        if has_nul(prefix) {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "select u.id, u.username, u.is_admin, u.display_name, u.deleted_at, u.disabled, u.created_at, u.last_login_at,
                    (select count(*) from chat c where c.sender = u.id) as messages_sent,
                    (select max(c.date) from chat c where c.sender = u.id) as last_sent
             from users u where lower(u.username) like lower($1) escape '\\'
             order by u.username limit $2 offset $3",
        )
        .bind(format!("{}%", escape_like(prefix)))
        .bind(bigint(limit))
        .bind(bigint(offset))
        .fetch_all(&self.pool)
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
                 from chat where $1::bigint is null or pair_lo = $1 or pair_hi = $1
                 group by pair_lo, pair_hi
             )
             select p.messages, p.last_activity,
                    a.id as a_id, a.username as a_username, a.is_admin as a_is_admin, a.display_name as a_display_name, a.deleted_at as a_deleted_at,
                    b.id as b_id, b.username as b_username, b.is_admin as b_is_admin, b.display_name as b_display_name, b.deleted_at as b_deleted_at
             from pairs p join users a on a.id = p.pair_lo join users b on b.id = p.pair_hi
             order by p.last_activity desc, p.pair_lo, p.pair_hi limit $2 offset $3",
        )
        .bind(user.map(UserId::get))
        .bind(bigint(limit))
        .bind(bigint(offset))
        .fetch_all(&self.pool)
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
        // A NUL separates words, as on SQLite (no message holds one: messages are parsed first).
        let words: Vec<&str> = words
            .iter()
            .flat_map(|w| w.split('\0'))
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "select {MESSAGE_COLUMNS_C},
                    s.id as s_id, s.username as s_username, s.is_admin as s_is_admin, s.display_name as s_display_name, s.deleted_at as s_deleted_at,
                    r.id as r_id, r.username as r_username, r.is_admin as r_is_admin, r.display_name as r_display_name, r.deleted_at as r_deleted_at
             from chat c
             join users s on s.id = c.sender join users r on r.id = c.receiver
             where c.search @@ ({all_of})
               and ($2::bigint is null or c.sender = $2 or c.receiver = $2)
             order by c.date desc, c.id desc limit $1",
            all_of = all_of(words.len())
        );
        let mut query = sqlx::query(&sql)
            .bind(bigint(limit))
            .bind(within.map(UserId::get));
        for word in words {
            query = query.bind(word);
        }
        let rows = query
            .fetch_all(&self.pool)
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
             values ($1, $2, $3, $4, $5, $6, now_millis())",
        )
        .bind(entry.admin.map(UserId::get))
        .bind(entry.action.as_str())
        .bind(entry.user_a.map(UserId::get))
        .bind(entry.user_b.map(UserId::get))
        .bind(entry.detail.map(without_nul))
        .bind(entry.reason.map(without_nul))
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
             where $3::text is null or l.action = $3
             order by l.date desc, l.id desc limit $1 offset $2",
        )
        .bind(bigint(limit))
        .bind(bigint(offset))
        .bind(action.map(AuditAction::as_str))
        .fetch_all(&self.pool)
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

/// A tsquery matching text that contains every one of `words` words, bound as parameters
/// `$3`, `$4`, ...: only placeholders are written into the SQL, never a word. Each word is read
/// by `phraseto_tsquery` as plain text (as FTS5 reads a quoted word): `don't` must appear as
/// `don` followed by `t`, and `OR`, `&`, `!`, `:*` or parentheses are punctuation or words, never
/// operators. A word with nothing searchable in it (`&` alone) adds no condition; PostgreSQL drops
/// it, and a search made only of such words finds nothing.
fn all_of(words: usize) -> String {
    (0..words)
        .map(|n| format!("phraseto_tsquery('simple', ${})", n + 3))
        .collect::<Vec<_>>()
        .join(" && ")
}

#[cfg(test)]
mod tests {
    use super::all_of;

    #[test]
    fn only_placeholders_reach_the_sql() {
        assert_eq!(all_of(1), "phraseto_tsquery('simple', $3)");
        assert_eq!(
            all_of(3),
            "phraseto_tsquery('simple', $3) && phraseto_tsquery('simple', $4) \
             && phraseto_tsquery('simple', $5)"
        );
    }
}
