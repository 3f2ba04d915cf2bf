-- One-time password reset links that an admin (or the command line) makes for a user: there is no
-- e-mail here. Only the SHA-256 of a link's token is kept; the link itself is shown once, to whoever
-- made it.
create table reset_link (
    token_hash text    primary key,
    user_id    integer not null references users (id),
    -- The admin who made it; null when made on the command line.
    created_by integer references users (id),
    created_at integer not null,
    expires_at integer not null,
    used_at    integer
);
create index reset_link_by_user on reset_link (user_id);

-- The audit log learns the action 'create_reset_link'. SQLite cannot change a CHECK in place, so
-- the table is rebuilt, rows, ids and append-only triggers included.
drop trigger audit_log_is_append_only_update;
drop trigger audit_log_is_append_only_delete;
create table audit_log_new (
    id        integer primary key,
    admin_id  integer not null references users (id),
    action    text    not null check (action in ('view_conversation', 'search', 'disable_user',
                                                 'enable_user', 'create_reset_link')),
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
create trigger audit_log_is_append_only_update before update on audit_log
begin
    select raise(abort, 'the audit log is append-only');
end;
create trigger audit_log_is_append_only_delete before delete on audit_log
begin
    select raise(abort, 'the audit log is append-only');
end;
