-- One row per (owner, peer): what the inbox, unread counts, read pointers and presence need,
-- kept up to date by a trigger on `chat`, so those reads cost O(conversations), not O(messages)
-- (the inbox of a user with a 100,000-message conversation took ~1 s to compute from `chat`).
-- A conversation with oneself has one row; every other conversation has two, one per side.
create table conversation (
    owner           integer not null references users (id),
    peer            integer not null references users (id),
    -- The newest message by (date, id), the order history is read in: the inbox's preview and order.
    last_message_id integer not null references chat (id),
    -- The owner has read the peer's messages up to this id (0: none). Replaces `read_pointer`.
    -- Never moves backwards, never past `last_message_id` (see the store).
    read_up_to      integer not null default 0,
    -- Messages from peer to owner with an id above `read_up_to`.
    unread          integer not null default 0,
    primary key (owner, peer)
) without rowid;

insert into conversation (owner, peer, last_message_id, read_up_to)
select p.owner, p.peer,
       (select c.id from chat c
        where c.pair_lo = min(p.owner, p.peer) and c.pair_hi = max(p.owner, p.peer)
        order by c.date desc, c.id desc limit 1),
       coalesce((select r.up_to from read_pointer r where r.reader = p.owner and r.peer = p.peer), 0)
from (select sender as owner, receiver as peer from chat
      union
      select receiver, sender from chat) p;

update conversation set unread = (
    select count(*) from chat c
    where c.sender = conversation.peer and c.receiver = conversation.owner
      and c.sender <> c.receiver and c.id > conversation.read_up_to);

drop table read_pointer;

-- New ids are always above every read pointer (pointers never pass an existing message), so a
-- new message is always one more unread for its receiver.
create trigger chat_into_conversation after insert on chat begin
    insert into conversation (owner, peer, last_message_id) values (new.sender, new.receiver, new.id)
    on conflict (owner, peer) do update set last_message_id = new.id
        where new.date >= (select date from chat where id = conversation.last_message_id);
    insert into conversation (owner, peer, last_message_id, unread)
    select new.receiver, new.sender, new.id, 1 where new.sender <> new.receiver
    on conflict (owner, peer) do update set
        unread = unread + 1,
        last_message_id = case
            when new.date >= (select date from chat where id = conversation.last_message_id) then new.id
            else last_message_id
        end;
end;
