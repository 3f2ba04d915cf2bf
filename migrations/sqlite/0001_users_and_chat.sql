-- Accounts and stored chat messages. Dates are integer milliseconds since the Unix epoch, UTC:
-- exact, sortable, and the same type on PostgreSQL (bigint) when that backend arrives.

create table users (
    id            integer primary key,
    -- Stored lower-case by the application; `collate nocase` makes uniqueness case-insensitive
    -- even for rows written by hand.
    username      text    not null collate nocase unique,
    password_hash text    not null,
    is_admin      integer not null default 0 check (is_admin in (0, 1)),
    created_at    integer not null
);

create table chat (
    id        integer primary key,
    sender    integer not null references users (id),
    receiver  integer not null references users (id),
    message   text    not null,
    date      integer not null,
    -- The sender's idempotency key (a UUID), when the client sent one.
    client_id text,
    -- The conversation key, independent of direction, so one index serves a pair's history.
    pair_lo   integer not null generated always as (min(sender, receiver)) virtual,
    pair_hi   integer not null generated always as (max(sender, receiver)) virtual
);

-- A conversation read in date order (ties by id), paged by keyset on (date, id).
create index chat_by_pair_date on chat (pair_lo, pair_hi, date, id);
-- The inbox: every conversation a user is in.
create index chat_by_sender on chat (sender, date);
create index chat_by_receiver on chat (receiver, date);
