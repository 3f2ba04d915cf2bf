//! Password reset links in the store (`ResetLinkTable`): their queries are the same text on every
//! backend, so they are written once here, and each backend's `reset_links` module implements the
//! trait with `reset_link_table!(ItsStore)`, where the names used below are in scope (reads take a
//! connection from the backend's `reader()`, writes go through its pool).

macro_rules! reset_link_table {
    ($store:ty) => {
        impl ResetLinkTable for $store {
            #[tracing::instrument(name = "store.create_reset_link", level = "debug", skip_all, fields(user = %link.user))]
            async fn create_reset_link(&self, link: NewResetLink<'_>) -> Result<(), StoreError> {
                // A deleted account is as good as none: no link is made for it.
                let made = sqlx::query(
                    "insert into reset_link (token_hash, user_id, created_by, created_at, expires_at)
                     select $1, $2, $3, $4, $5
                     where exists (select 1 from users where id = $2 and deleted_at is null)",
                )
                .bind(link.token_hash)
                .bind(link.user.get())
                .bind(link.created_by.map(UserId::get))
                .bind(link.created_at)
                .bind(link.expires_at)
                .execute(&self.pool)
                .await
                .map_err(|e| classify(e, "reset link"))?;
                if made.rows_affected() == 0 {
                    return Err(StoreError::MissingReference);
                }
                Ok(())
            }

            #[tracing::instrument(name = "store.reset_link_user", level = "debug", skip_all)]
            async fn reset_link_user(
                &self,
                token_hash: &str,
                now: i64,
            ) -> Result<Option<User>, StoreError> {
                let row = sqlx::query(
                    "select u.id, u.username, u.is_admin, u.display_name, u.deleted_at from reset_link r join users u on u.id = r.user_id
                     where r.token_hash = $1 and r.used_at is null and r.expires_at > $2
                       and u.deleted_at is null",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&mut *self.reader().await?)
                .await
                .context("select reset link")?;
                Ok(row.as_ref().map(user_from_row).transpose()?)
            }

            #[tracing::instrument(name = "store.use_reset_link", level = "debug", skip_all)]
            async fn use_reset_link(
                &self,
                token_hash: &str,
                now: i64,
                password_hash: &str,
            ) -> Result<Option<(UserId, Vec<String>)>, StoreError> {
                let mut tx = self
                    .pool
                    .begin()
                    .await
                    .context("begin using a reset link")?;
                // The conditional update is the single use: of two requests racing, one finds it used.
                let user: Option<i64> = sqlx::query_scalar(
                    "update reset_link set used_at = $2
                     where token_hash = $1 and used_at is null and expires_at > $2
                     returning user_id",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await
                .context("use reset link")?;
                let Some(user) = user else {
                    return Ok(None);
                };
                sqlx::query("update users set password_hash = $1 where id = $2")
                    .bind(password_hash)
                    .bind(user)
                    .execute(&mut *tx)
                    .await
                    .context("set the new password")?;
                let ended: Vec<String> =
                    sqlx::query_scalar("delete from sessions where user_id = $1 returning id")
                        .bind(user)
                        .fetch_all(&mut *tx)
                        .await
                        .context("end the user's sessions")?;
                tx.commit().await.context("commit using a reset link")?;
                Ok(Some((UserId::new(user), ended)))
            }
        }
    };
}
pub(super) use reset_link_table;
