-- Editing and deleting one's own messages; the same as SQLite's 0007.
--
-- A message keeps its row (and so its id, date and place in the conversation) for good; an edit
-- replaces its text, a deletion empties it (the generated search column follows).
alter table chat add column edited_at bigint;
alter table chat add column deleted_at bigint;

-- Every edit and deletion takes the next id from message_counter, like a message, inside the
-- writer's transaction: changes are part of the one ordered stream, so a client resuming after
-- position N gets what it missed (messages and changes) in order, and a node filling a hole from
-- the database finds every position. Holds no text: the message row has the current one.
create table chat_change (
    id         bigint primary key,
    message_id bigint not null references chat (id),
    kind       text   not null check (kind in ('edited', 'deleted')),
    date       bigint not null
);
create index chat_change_by_message on chat_change (message_id);
