-- A display name and the time an account was deleted; the same as SQLite's 0010.
alter table users add column display_name text;
alter table users add column deleted_at bigint;
