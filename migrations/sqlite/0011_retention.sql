-- The retention policy (PARLEY_RETENTION_DAYS) removes old messages, and may remove the newest
-- positions of the stream (when nothing was written for that long). The writer numbers positions
-- one past the highest in use, so it also reads this floor: the highest position ever removed.
-- Without it a removed number could be handed out again, and a client that had seen the removed
-- message would skip the new one when it resumes.
create table stream_floor (position integer not null);
insert into stream_floor (position) values (0);

-- The audit log records each retention run, made by the server itself: no admin. SQLite cannot
-- change a column's NOT NULL or a CHECK in place, so the table is rebuilt, rows, ids and
-- append-only triggers included (as in 0009).
drop trigger audit_log_is_append_only_update;
drop trigger audit_log_is_append_only_delete;
create table audit_log_new (
    id        integer primary key,
    -- Null for what the server did on its own (a retention run).
    admin_id  integer references users (id),
    action    text    not null check (action in ('view_conversation', 'search', 'disable_user',
                                                 'enable_user', 'create_reset_link',
                                                 'retention_run')),
    user_a    integer references users (id),
    user_b    integer references users (id),
    detail    text,
    reason    text,
    date      integer not null
);
insert into audit_log_new (id, admin_id, action, user_a, user_b, detail, reason, date)
select id, admin_id, action, user_a, user_b, detail, reason, date from audit_log;
drop table audit_log;
alter table audit_log_new rename to audit_log;
create index audit_log_by_date on audit_log (date desc, id desc);
create index audit_log_by_action on audit_log (action, date desc);
create trigger audit_log_is_append_only_update before update on audit_log
begin
    select raise(abort, 'the audit log is append-only');
end;
create trigger audit_log_is_append_only_delete before delete on audit_log
begin
    select raise(abort, 'the audit log is append-only');
end;
