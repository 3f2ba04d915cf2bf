//! The SQLite side of `AccountStore`. Kept apart from messages and the admin console so a change
//! to how users are stored touches one file, and so a second backend can be written trait by trait
//! against a small, complete example.

use super::{classify, escape_like, millis, user_from_row, SqliteStore};
use crate::domain::{User, UserId, Username};
use crate::server::store::{Account, AccountStore, Credentials, StoreError};
use anyhow::Context;
use chrono::Utc;
use sqlx::query::Query;
use sqlx::sqlite::{Sqlite, SqliteArguments};
use sqlx::{Row, SqliteExecutor};

impl AccountStore for SqliteStore {
    #[tracing::instrument(name = "store.create_user", level = "debug", skip(self, password_hash))]
    async fn create_user(
        &self,
        name: &Username,
        password_hash: &str,
        is_admin: bool,
    ) -> Result<User, StoreError> {
        let row = sqlx::query(
            "insert into users (username, password_hash, is_admin, created_at) values ($1, $2, $3, $4)
             returning id, username, is_admin, display_name, deleted_at",
        )
        .bind(name.as_str())
        .bind(password_hash)
        .bind(is_admin)
        .bind(millis(Utc::now()))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| classify(e, "username"))?;
        Ok(user_from_row(&row)?)
    }

    #[tracing::instrument(name = "store.credentials", level = "debug", skip(self))]
    async fn credentials(&self, name: &Username) -> Result<Option<Credentials>, StoreError> {
        let row = sqlx::query(
            "select id, username, is_admin, display_name, deleted_at, password_hash, disabled from users
             where username = $1 and deleted_at is null",
        )
        .bind(name.as_str())
        .fetch_optional(&mut *self.reader().await?)
        .await
        .context("select credentials")?;
        row.map(|row| -> Result<Credentials, StoreError> {
            Ok(Credentials {
                user: user_from_row(&row)?,
                password_hash: row.try_get("password_hash").context("hash")?,
                disabled: row.try_get("disabled").context("disabled")?,
            })
        })
        .transpose()
    }

    #[tracing::instrument(name = "store.user_by_id", level = "debug", skip(self))]
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let query = sqlx::query(
            "select id, username, is_admin, display_name, deleted_at from users where id = $1",
        )
        .bind(id.get());
        fetch_optional_user(&mut *self.reader().await?, query, "select user by id").await
    }

    #[tracing::instrument(name = "store.account", level = "debug", skip(self))]
    async fn account(&self, id: UserId) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query("select id, username, is_admin, display_name, deleted_at, disabled from users where id = $1")
            .bind(id.get())
            .fetch_optional(&mut *self.reader().await?)
            .await
            .context("select account")?;
        row.map(|row| -> Result<Account, StoreError> {
            Ok(Account {
                user: user_from_row(&row)?,
                disabled: row.try_get("disabled").context("disabled")?,
            })
        })
        .transpose()
    }

    #[tracing::instrument(name = "store.record_login", level = "debug", skip(self))]
    async fn record_login(&self, id: UserId) -> Result<(), StoreError> {
        sqlx::query("update users set last_login_at = $1 where id = $2")
            .bind(millis(Utc::now()))
            .bind(id.get())
            .execute(&self.pool)
            .await
            .context("record login")?;
        Ok(())
    }

    #[tracing::instrument(name = "store.promote", level = "debug", skip(self))]
    async fn promote(&self, name: &Username) -> Result<bool, StoreError> {
        let done = sqlx::query("update users set is_admin = 1 where username = $1")
            .bind(name.as_str())
            .execute(&self.pool)
            .await
            .context("promote user")?;
        Ok(done.rows_affected() == 1)
    }

    #[tracing::instrument(name = "store.set_disabled", level = "debug", skip(self))]
    async fn set_disabled(&self, id: UserId, disabled: bool) -> Result<Option<User>, StoreError> {
        let query = sqlx::query(
            "update users set disabled = $1 where id = $2 returning id, username, is_admin, display_name, deleted_at",
        )
        .bind(disabled)
        .bind(id.get());
        fetch_optional_user(&self.pool, query, "set disabled").await
    }

    #[tracing::instrument(name = "store.delete_sessions_of", level = "debug", skip(self))]
    async fn delete_sessions_of(&self, user: UserId) -> Result<u64, StoreError> {
        let done = sqlx::query("delete from sessions where user_id = $1")
            .bind(user.get())
            .execute(&self.pool)
            .await
            .context("delete sessions")?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(name = "store.set_password_hash", level = "debug", skip(self, hash))]
    async fn set_password_hash(&self, user: UserId, hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("update users set password_hash = $1 where id = $2")
            .bind(hash)
            .bind(user.get())
            .execute(&self.pool)
            .await
            .context("update password hash")?;
        Ok(done.rows_affected() == 1)
    }

    #[tracing::instrument(name = "store.user_by_name", level = "debug", skip(self))]
    async fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        let query =
            sqlx::query("select id, username, is_admin, display_name, deleted_at from users where username = $1").bind(name);
        fetch_optional_user(&mut *self.reader().await?, query, "select user by name").await
    }

    #[tracing::instrument(name = "store.search_users", level = "debug", skip(self))]
    async fn search_users(
        &self,
        prefix: &str,
        exclude: UserId,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(
            "select id, username, is_admin, display_name, deleted_at from users
             where username like $1 escape '\\' and id <> $2 and deleted_at is null
             order by username limit $3",
        )
        .bind(format!("{}%", escape_like(prefix)))
        .bind(exclude.get())
        .bind(limit)
        .fetch_all(&mut *self.reader().await?)
        .await
        .context("search users")?;
        Ok(rows
            .iter()
            .map(user_from_row)
            .collect::<anyhow::Result<_>>()?)
    }
}

/// Runs `query`, which selects (or returns) the user columns of at most one user: the
/// lookups by id and by name and `set_disabled` differ only in their SQL.
async fn fetch_optional_user<'q>(
    executor: impl SqliteExecutor<'_>,
    query: Query<'q, Sqlite, SqliteArguments<'q>>,
    what: &'static str,
) -> Result<Option<User>, StoreError> {
    let row = query.fetch_optional(executor).await.context(what)?;
    Ok(row.as_ref().map(user_from_row).transpose()?)
}
