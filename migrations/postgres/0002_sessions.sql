-- Sessions in a table of the application's own, with the account each belongs to in an indexed
-- column: ending every session of one user (disable, later password change) is one delete, not a
-- decoding of every session in the table. `data` is the MessagePack session record, as before.
-- Sessions kept by the earlier table (`tower_sessions.session`) are moved here at start-up by the
-- store, which can read their records (SQL cannot), so an upgrade logs nobody out.
create table sessions (
    id text primary key,
    user_id bigint references users (id) on delete cascade,
    data bytea not null,
    -- Unix seconds.
    expiry_date bigint not null
);

create index sessions_by_user on sessions (user_id);
create index sessions_by_expiry on sessions (expiry_date);
