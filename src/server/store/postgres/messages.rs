//! The PostgreSQL side of `MessageStore`: the hot path (every send, resume, receipt and page load),
//! query for query the SQLite one's. New messages go through `writer`, which owns their ids, dates
//! and order; the reads here rely on that order (a reader that has seen id N has seen every id
//! below it).

use super::{
    bigint, classify, entry_from_row, from_millis, message_from_row, user_from_columns,
    user_from_row, PgStore, MESSAGE_COLUMNS, MESSAGE_COLUMNS_C,
};
use crate::domain::{
    BlockedUser, ChatMessage, ConversationSummary, Relation, StreamEntry, User, UserId,
};
use crate::server::store::{
    ConversationList, HistoryPage, MessageChange, MessageStore, NewMessage, PageEnd, ReadState,
    StoreError, Stored, CONVERSATIONS_QUERY, READ_STATE_QUERY,
};
use anyhow::Context;
use sqlx::Row;

impl MessageStore for PgStore {
    #[tracing::instrument(name = "store.insert_message", level = "debug", skip(self, message), fields(sender = %message.sender, receiver = %message.receiver))]
    async fn insert_message(&self, message: NewMessage<'_>) -> Result<Stored, StoreError> {
        self.writer.insert(message).await
    }

    #[tracing::instrument(name = "store.change_message", level = "debug", skip(self, change), fields(actor = %change.actor, id = change.message_id))]
    async fn change_message(&self, change: MessageChange<'_>) -> Result<StreamEntry, StoreError> {
        self.writer.change(change).await
    }

    #[tracing::instrument(name = "store.entries_after", level = "debug", skip(self))]
    async fn entries_after(
        &self,
        user: UserId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StreamEntry>, StoreError> {
        // Two index range scans (sender, id) and (receiver, id), `union` keeping a note to self
        // once; then the changes since `after` (few), each with its message as it is now.
        let rows = sqlx::query(&format!(
            "select id as position, 'sent' as change, {MESSAGE_COLUMNS} from chat
             where sender = $1 and id > $2
             union
             select id, 'sent', {MESSAGE_COLUMNS} from chat where receiver = $1 and id > $2
             union all
             select x.id, x.kind, {MESSAGE_COLUMNS_C} from chat_change x
             join chat c on c.id = x.message_id
             where x.id > $2 and (c.sender = $1 or c.receiver = $1)
             order by position limit $3"
        ))
        .bind(user.get())
        .bind(after)
        .bind(bigint(limit))
        .fetch_all(&self.pool)
        .await
        .context("select stream entries after")?;
        Ok(rows
            .iter()
            .map(entry_from_row)
            .collect::<anyhow::Result<_>>()?)
    }

    #[tracing::instrument(name = "store.committed_after", level = "debug", skip(self))]
    async fn committed_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StreamEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "select id as position, 'sent' as change, {MESSAGE_COLUMNS} from chat where id > $1
             union all
             select x.id, x.kind, {MESSAGE_COLUMNS_C} from chat_change x
             join chat c on c.id = x.message_id where x.id > $1
             order by position limit $2"
        ))
        .bind(after)
        .bind(bigint(limit))
        .fetch_all(&self.pool)
        .await
        .context("select committed entries")?;
        Ok(rows
            .iter()
            .map(entry_from_row)
            .collect::<anyhow::Result<_>>()?)
    }

    #[tracing::instrument(name = "store.newest_position", level = "debug", skip(self))]
    async fn newest_position(&self) -> Result<i64, StoreError> {
        // The tables, not the counter: a writer holding the counter row has not committed yet.
        let id: i64 = sqlx::query_scalar(
            "select greatest((select coalesce(max(id), 0) from chat),
                             (select coalesce(max(id), 0) from chat_change))",
        )
        .fetch_one(&self.pool)
        .await
        .context("select the newest position")?;
        Ok(id)
    }

    #[tracing::instrument(name = "store.activity_partners", level = "debug", skip(self))]
    async fn activity_partners(&self, user: UserId) -> Result<Vec<UserId>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "select mine.peer from conversation mine
             join conversation theirs on theirs.owner = mine.peer and theirs.peer = mine.owner
             where mine.owner = $1 and mine.peer <> $1
               and mine.owner_wrote and theirs.owner_wrote
               and not exists (select 1 from block where blocker = $1 and blocked = mine.peer)
               and not exists (select 1 from block where blocker = mine.peer and blocked = $1)",
        )
        .bind(user.get())
        .fetch_all(&self.pool)
        .await
        .context("select activity partners")?;
        Ok(ids.into_iter().map(UserId::new).collect())
    }

    #[tracing::instrument(name = "store.relation", level = "debug", skip(self))]
    async fn relation(&self, me: UserId, peer: UserId) -> Result<Relation, StoreError> {
        let row = sqlx::query(
            "select
                 coalesce((select owner_wrote from conversation where owner = $1 and peer = $2), false) as i_wrote,
                 coalesce((select owner_wrote from conversation where owner = $2 and peer = $1), false) as peer_wrote,
                 exists (select 1 from block where blocker = $1 and blocked = $2) as i_blocked,
                 exists (select 1 from block where blocker = $2 and blocked = $1) as peer_blocked",
        )
        .bind(me.get())
        .bind(peer.get())
        .fetch_one(&self.pool)
        .await
        .context("select relation")?;
        let flag = |name: &str| -> Result<bool, StoreError> {
            Ok(row.try_get::<bool, _>(name).context("relation flag")?)
        };
        Ok(Relation {
            i_wrote: flag("i_wrote")?,
            peer_wrote: flag("peer_wrote")?,
            i_blocked: flag("i_blocked")?,
            peer_blocked: flag("peer_blocked")?,
            // Deleted accounts are held in memory (`RelationCache`), as blocks are.
            peer_deleted: false,
        })
    }

    #[tracing::instrument(name = "store.block", level = "debug", skip(self))]
    async fn block(&self, blocker: UserId, blocked: UserId) -> Result<(), StoreError> {
        sqlx::query(
            "insert into block (blocker, blocked, created_at) values ($1, $2, now_millis())
             on conflict (blocker, blocked) do nothing",
        )
        .bind(blocker.get())
        .bind(blocked.get())
        .execute(&self.pool)
        .await
        .map_err(|e| classify(e, "block"))?;
        Ok(())
    }

    #[tracing::instrument(name = "store.unblock", level = "debug", skip(self))]
    async fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<bool, StoreError> {
        let done = sqlx::query("delete from block where blocker = $1 and blocked = $2")
            .bind(blocker.get())
            .bind(blocked.get())
            .execute(&self.pool)
            .await
            .context("delete block")?;
        Ok(done.rows_affected() == 1)
    }

    #[tracing::instrument(name = "store.all_blocks", level = "debug", skip(self))]
    async fn all_blocks(&self) -> Result<Vec<(UserId, UserId)>, StoreError> {
        let pairs: Vec<(i64, i64)> = sqlx::query_as("select blocker, blocked from block")
            .fetch_all(&self.pool)
            .await
            .context("select every block")?;
        Ok(pairs
            .into_iter()
            .map(|(a, b)| (UserId::new(a), UserId::new(b)))
            .collect())
    }

    #[tracing::instrument(name = "store.blocks", level = "debug", skip(self))]
    async fn blocks(&self, blocker: UserId) -> Result<Vec<BlockedUser>, StoreError> {
        let rows = sqlx::query(
            "select u.id, u.username, u.is_admin, u.display_name, u.deleted_at, b.created_at from block b
             join users u on u.id = b.blocked
             where b.blocker = $1 order by b.created_at desc, u.username",
        )
        .bind(blocker.get())
        .fetch_all(&self.pool)
        .await
        .context("select blocks")?;
        rows.iter()
            .map(|row| -> Result<BlockedUser, StoreError> {
                Ok(BlockedUser {
                    user: user_from_row(row)?,
                    since: from_millis(row.try_get("created_at").context("created_at")?)?,
                })
            })
            .collect()
    }

    #[tracing::instrument(name = "store.mark_read", level = "debug", skip(self))]
    async fn mark_read(
        &self,
        reader: UserId,
        peer: UserId,
        up_to: i64,
    ) -> Result<Option<i64>, StoreError> {
        // Clamped to the newest message, so a pointer never claims messages not yet sent;
        // `greatest` keeps it from moving backwards. SET expressions all read the row as it was,
        // so the unread count is taken against the same new pointer.
        let pointer: Option<i64> = sqlx::query_scalar(
            "update conversation set
                 read_up_to = greatest(read_up_to, least($3, last_message_id)),
                 unread = (select count(*) from chat c
                           where c.sender = $2 and c.receiver = $1 and c.sender <> c.receiver
                             and c.id > greatest(conversation.read_up_to,
                                                 least($3, conversation.last_message_id)))
             where owner = $1 and peer = $2 and read_up_to < least($3, last_message_id)
             returning read_up_to",
        )
        .bind(reader.get())
        .bind(peer.get())
        .bind(up_to)
        .fetch_optional(&self.pool)
        .await
        .context("move read pointer")?;
        Ok(pointer)
    }

    #[tracing::instrument(name = "store.read_state", level = "debug", skip(self))]
    async fn read_state(&self, me: UserId, peer: UserId) -> Result<ReadState, StoreError> {
        let columns = sqlx::query_as(READ_STATE_QUERY)
            .bind(me.get())
            .bind(peer.get())
            .fetch_one(&self.pool)
            .await
            .context("select the read state")?;
        Ok(ReadState::from_columns(columns))
    }

    #[tracing::instrument(name = "store.unread_total", level = "debug", skip(self))]
    async fn unread_total(&self, user: UserId) -> Result<i64, StoreError> {
        // `sum` of bigint is numeric in PostgreSQL; the total fits a bigint.
        let total: i64 = sqlx::query_scalar(
            "select coalesce(sum(unread), 0)::bigint from conversation v where owner = $1
             and not exists (select 1 from block where blocker = $1 and blocked = v.peer)",
        )
        .bind(user.get())
        .fetch_one(&self.pool)
        .await
        .context("sum unread counts")?;
        Ok(total)
    }

    #[tracing::instrument(name = "store.history", level = "debug", skip(self))]
    async fn history(
        &self,
        a: UserId,
        b: UserId,
        end: PageEnd,
        limit: u32,
    ) -> Result<HistoryPage, StoreError> {
        let (lo, hi) = (a.min(b).get(), a.max(b).get());
        // One row more than asked tells whether an older page exists.
        let fetch = i64::from(limit) + 1;
        // An anchor id outside this conversation matches no anchor row, so the page is empty:
        // it can never reveal where another conversation's message sits.
        let (anchor, id) = match end {
            PageEnd::Latest => ("", None),
            PageEnd::Before(id) => ("and (date, id) < (select date, id from chat where id = $4 and pair_lo = $1 and pair_hi = $2)", Some(id)),
            PageEnd::Through(id) => ("and (date, id) <= (select date, id from chat where id = $4 and pair_lo = $1 and pair_hi = $2)", Some(id)),
        };
        let sql = format!(
            "select {MESSAGE_COLUMNS} from chat where pair_lo = $1 and pair_hi = $2 {anchor}
             order by date desc, id desc limit $3"
        );
        // PostgreSQL refuses a parameter the statement does not use, so $4 only with an anchor.
        let mut query = sqlx::query(&sql).bind(lo).bind(hi).bind(fetch);
        if let Some(id) = id {
            query = query.bind(id);
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .context("select history page")?;
        let has_more = rows.len() as i64 > i64::from(limit);
        let mut messages = rows
            .iter()
            .take(limit as usize)
            .map(message_from_row)
            .collect::<anyhow::Result<Vec<_>>>()?;
        messages.reverse();
        Ok(HistoryPage { messages, has_more })
    }

    #[tracing::instrument(name = "store.conversations", level = "debug", skip(self))]
    async fn conversations(&self, user: UserId) -> Result<ConversationList, StoreError> {
        let rows = sqlx::query(CONVERSATIONS_QUERY)
            .bind(user.get())
            .fetch_all(&self.pool)
            .await
            .context("select conversations")?;
        let all = rows
            .iter()
            .map(|row| -> anyhow::Result<(ConversationSummary, bool)> {
                let summary = ConversationSummary {
                    peer: user_from_columns(row, "peer_")?,
                    last_message: message_from_row(row)?,
                    unread: row.try_get("unread")?,
                };
                Ok((summary, row.try_get("blocked")?))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(ConversationList::from_all(all))
    }

    #[tracing::instrument(name = "store.conversation_peers", level = "debug", skip(self))]
    async fn conversation_peers(&self, user: UserId) -> Result<Vec<(User, i64)>, StoreError> {
        let rows = sqlx::query(
            "select u.id, u.username, u.is_admin, u.display_name, u.deleted_at, v.read_up_to from conversation v
             join users u on u.id = v.peer where v.owner = $1 order by u.username",
        )
        .bind(user.get())
        .fetch_all(&self.pool)
        .await
        .context("select conversation peers")?;
        rows.iter()
            .map(|row| -> Result<(User, i64), StoreError> {
                Ok((
                    user_from_row(row)?,
                    row.try_get("read_up_to").context("read_up_to")?,
                ))
            })
            .collect()
    }

    #[tracing::instrument(name = "store.messages_after", level = "debug", skip(self))]
    async fn messages_after(
        &self,
        a: UserId,
        b: UserId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let (lo, hi) = (a.min(b).get(), a.max(b).get());
        // Keyset on (date, id) along the pair's index; an `after` outside the pair reads nothing.
        // Two spellings rather than one with `$3 is null or …`, which the planner cannot turn into
        // an index range, so every page would scan the conversation from its start.
        let anchor = match after {
            Some(_) => {
                "and (date, id) > (select date, id from chat
                                         where id = $4 and pair_lo = $1 and pair_hi = $2)"
            }
            None => "",
        };
        let sql = format!(
            "select {MESSAGE_COLUMNS} from chat where pair_lo = $1 and pair_hi = $2 {anchor}
             order by date, id limit $3"
        );
        let mut query = sqlx::query(&sql).bind(lo).bind(hi).bind(bigint(limit));
        if let Some(after) = after {
            query = query.bind(after);
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .context("select messages after")?;
        Ok(rows
            .iter()
            .map(message_from_row)
            .collect::<anyhow::Result<_>>()?)
    }
}
