-- Editing and deleting one's own messages.
--
-- A message keeps its row (and so its id, date and place in the conversation) for good; an edit
-- replaces its text, a deletion empties it. The full-text triggers of 0002 follow the text.
alter table chat add column edited_at integer;
alter table chat add column deleted_at integer;

-- Every edit and deletion takes a position in the same sequence as message ids (the writer hands
-- them out), so that a client resuming after position N gets the changes it missed in order with
-- the messages. Holds no text: the message row has the current one.
create table chat_change (
    id         integer primary key,
    message_id integer not null references chat (id),
    kind       text    not null check (kind in ('edited', 'deleted')),
    date       integer not null
);
create index chat_change_by_message on chat_change (message_id);
