-- One-time password reset links; the same as SQLite's 0009.
create table reset_link (
    token_hash text   primary key,
    user_id    bigint not null references users (id),
    -- The admin who made it; null when made on the command line.
    created_by bigint references users (id),
    created_at bigint not null,
    expires_at bigint not null,
    used_at    bigint
);
create index reset_link_by_user on reset_link (user_id);

alter table audit_log drop constraint audit_log_action_check;
alter table audit_log add constraint audit_log_action_check
    check (action in ('view_conversation', 'search', 'disable_user', 'enable_user', 'create_reset_link'));
