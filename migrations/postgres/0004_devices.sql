-- The devices list; the same as SQLite's 0008.
alter table sessions add column device_id text;
alter table sessions add column user_agent text;
alter table sessions add column client_addr text;
-- Unix seconds.
alter table sessions add column created_at bigint;
alter table sessions add column last_seen_at bigint;
create index sessions_by_device on sessions (device_id);
