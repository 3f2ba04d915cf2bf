-- The full-text index leaves the database for a file of its own (`<database>-search.db`), written by
-- a follower behind the message writer's commits (`store::sqlite::search_index`), so the writer's
-- transaction no longer pays for indexing. The follower rebuilds the index from `chat` on its first
-- start.
drop trigger chat_fts_after_insert;
drop trigger chat_fts_after_delete;
drop trigger chat_fts_after_update;
drop table chat_fts;

-- Rows removed outright (the retention policy), for the follower to take out of the index; it
-- records how far it has read (`seq` never goes back: autoincrement) and empties the table now and
-- then. Edits and deletions need nothing here: `chat_change` has them.
create table chat_removed (
    seq        integer primary key autoincrement,
    message_id integer not null
);

create trigger chat_removed_after_delete after delete on chat
begin
    insert into chat_removed (message_id) values (old.id);
end;
