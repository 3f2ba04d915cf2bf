-- Privacy between strangers: presence, typing and read receipts flow only between two people who
-- have both written in their conversation. `owner_wrote` records, per side, whether the owner has
-- sent the peer anything; the trigger keeps it (and the rest of the row) up to date.
alter table conversation add column owner_wrote integer not null default 0;

update conversation set owner_wrote = exists (
    select 1 from chat c where c.sender = conversation.owner and c.receiver = conversation.peer);

drop trigger chat_into_conversation;

-- As in 0004, and the sender's side is marked as written.
create trigger chat_into_conversation after insert on chat begin
    insert into conversation (owner, peer, last_message_id, owner_wrote)
    values (new.sender, new.receiver, new.id, 1)
    on conflict (owner, peer) do update set
        owner_wrote = 1,
        last_message_id = case
            when new.date >= (select date from chat where id = conversation.last_message_id) then new.id
            else last_message_id
        end;
    insert into conversation (owner, peer, last_message_id, unread)
    select new.receiver, new.sender, new.id, 1 where new.sender <> new.receiver
    on conflict (owner, peer) do update set
        unread = unread + 1,
        last_message_id = case
            when new.date >= (select date from chat where id = conversation.last_message_id) then new.id
            else last_message_id
        end;
end;

-- `blocker` has blocked `blocked`: no messages either way, no presence, typing or receipts, and the
-- conversation is hidden from the blocker's inbox.
create table block (
    blocker    integer not null references users (id),
    blocked    integer not null references users (id),
    created_at integer not null,
    primary key (blocker, blocked),
    check (blocker <> blocked)
) without rowid;

-- "Who has blocked me" (the other direction of every check).
create index block_by_blocked on block (blocked, blocker);
