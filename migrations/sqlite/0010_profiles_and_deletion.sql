-- A display name (optional; checked by domain::DisplayName before it is written) and the time an
-- account was deleted. A deleted account's row stays, so its messages keep their sender and the
-- other person's conversation stays whole; its username is held for 30 days, then replaced by
-- 'deleted.<id>' (a name nobody can sign up with), which frees it.
alter table users add column display_name text;
alter table users add column deleted_at integer;
