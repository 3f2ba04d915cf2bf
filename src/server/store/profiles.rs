//! Profiles and account deletion in the store (`ProfileTable`): their queries are the same text on
//! every backend, so they are written once here, and each backend's `profiles` module implements
//! the trait with `profile_table!(ItsStore)`, where the names used below are in scope (reads take a
//! connection from the backend's `reader()`, writes go through its pool).

macro_rules! profile_table {
    ($store:ty) => {
        impl ProfileTable for $store {
            #[tracing::instrument(name = "store.set_display_name", level = "debug", skip_all, fields(user = %user))]
            async fn set_display_name(
                &self,
                user: UserId,
                name: Option<&DisplayName>,
            ) -> Result<Option<User>, StoreError> {
                let row = sqlx::query(
                    "update users set display_name = $1 where id = $2 and deleted_at is null
                     returning id, username, is_admin, display_name, deleted_at",
                )
                .bind(name.map(DisplayName::as_str))
                .bind(user.get())
                .fetch_optional(&self.pool)
                .await
                .context("set display name")?;
                Ok(row.as_ref().map(user_from_row).transpose()?)
            }

            #[tracing::instrument(name = "store.delete_account", level = "debug", skip_all, fields(user = %user))]
            async fn delete_account(
                &self,
                user: UserId,
                now: i64,
            ) -> Result<Option<Vec<String>>, StoreError> {
                let mut tx = self
                    .pool
                    .begin()
                    .await
                    .context("begin deleting an account")?;
                // The conditional update decides: of two deletions racing, one finds it done.
                let marked = sqlx::query(
                    "update users set deleted_at = $2, display_name = null, password_hash = ''
                     where id = $1 and deleted_at is null",
                )
                .bind(user.get())
                .bind(now)
                .execute(&mut *tx)
                .await
                .context("mark the account deleted")?;
                if marked.rows_affected() == 0 {
                    return Ok(None);
                }
                for (statement, what) in [
                    ("delete from block where blocker = $1", "delete the account's blocks"),
                    ("delete from reset_link where user_id = $1", "delete the account's reset links"),
                ] {
                    sqlx::query(statement)
                        .bind(user.get())
                        .execute(&mut *tx)
                        .await
                        .context(what)?;
                }
                let ended: Vec<String> =
                    sqlx::query_scalar("delete from sessions where user_id = $1 returning id")
                        .bind(user.get())
                        .fetch_all(&mut *tx)
                        .await
                        .context("end the account's sessions")?;
                tx.commit().await.context("commit deleting an account")?;
                Ok(Some(ended))
            }

            #[tracing::instrument(name = "store.messages_to_erase", level = "debug", skip_all)]
            async fn messages_to_erase(&self, limit: u32) -> Result<Vec<(UserId, i64)>, StoreError> {
                let rows: Vec<(i64, i64)> = sqlx::query_as(
                    "select c.sender, c.id from users u join chat c on c.sender = u.id
                     where u.deleted_at is not null and c.deleted_at is null
                     order by c.id limit $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&mut *self.reader().await?)
                .await
                .context("find messages of deleted accounts")?;
                Ok(rows
                    .into_iter()
                    .map(|(sender, id)| (UserId::new(sender), id))
                    .collect())
            }

            #[tracing::instrument(name = "store.deleted_accounts", level = "debug", skip_all)]
            async fn deleted_accounts(&self) -> Result<Vec<UserId>, StoreError> {
                let ids: Vec<i64> =
                    sqlx::query_scalar("select id from users where deleted_at is not null")
                        .fetch_all(&mut *self.reader().await?)
                        .await
                        .context("list deleted accounts")?;
                Ok(ids.into_iter().map(UserId::new).collect())
            }

            #[tracing::instrument(name = "store.free_usernames", level = "debug", skip_all)]
            async fn free_usernames(&self, deleted_before: i64) -> Result<u64, StoreError> {
                let freed = sqlx::query(&format!(
                    "update users set username = '{prefix}' || id
                     where deleted_at < $1 and username <> '{prefix}' || id",
                    prefix = Username::RETIRED_PREFIX
                ))
                .bind(deleted_before)
                .execute(&self.pool)
                .await
                .context("free the usernames of deleted accounts")?;
                Ok(freed.rows_affected())
            }
        }
    };
}
pub(super) use profile_table;
