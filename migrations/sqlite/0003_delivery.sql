-- Delivery guarantees and read receipts.

-- Idempotent sends: a sender's client_id names one message, however often it is retried.
create unique index chat_sender_client_id on chat (sender, client_id) where client_id is not null;

-- Resume replays a user's messages by id; an index on (sender) is (sender, id) in SQLite, because
-- every index ends with the rowid. These replace the (sender, date) / (receiver, date) indexes.
drop index chat_by_sender;
drop index chat_by_receiver;
create index chat_by_sender on chat (sender);
create index chat_by_receiver on chat (receiver);

-- How far each reader has read each conversation. Only ever moves forward (see the store).
create table read_pointer (
    reader integer not null references users (id),
    peer   integer not null references users (id),
    up_to  integer not null,
    primary key (reader, peer)
) without rowid;
