-- The devices list: where each logged-in session is used from, in columns a query can read (the
-- session record holds the same, for the server's own use). Null until the session's first
-- request after login (sessions of earlier versions get theirs on their next request).
alter table sessions add column device_id text;
alter table sessions add column user_agent text;
alter table sessions add column client_addr text;
-- Unix seconds.
alter table sessions add column created_at integer;
alter table sessions add column last_seen_at integer;
create index sessions_by_device on sessions (device_id);
