-- Admin console: disabled accounts, last login, an append-only audit log, and full-text search.

alter table users add column disabled integer not null default 0 check (disabled in (0, 1));
alter table users add column last_login_at integer;

-- Who looked at what, and why. Written in the same request as the read it records; the
-- application has no way to change or delete a row, and these triggers refuse it for everyone else.
create table audit_log (
    id        integer primary key,
    admin_id  integer not null references users (id),
    action    text    not null check (action in ('view_conversation', 'search', 'disable_user', 'enable_user')),
    user_a    integer references users (id),
    user_b    integer references users (id),
    detail    text,
    reason    text,
    date      integer not null
);
create index audit_log_by_date on audit_log (date desc, id desc);

create trigger audit_log_is_append_only_update before update on audit_log
begin
    select raise(abort, 'the audit log is append-only');
end;
create trigger audit_log_is_append_only_delete before delete on audit_log
begin
    select raise(abort, 'the audit log is append-only');
end;

-- Full-text index over chat.message (external content: the text is stored once, in chat).
create virtual table chat_fts using fts5 (
    message,
    content = 'chat',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
insert into chat_fts (rowid, message) select id, message from chat;

create trigger chat_fts_after_insert after insert on chat
begin
    insert into chat_fts (rowid, message) values (new.id, new.message);
end;
create trigger chat_fts_after_delete after delete on chat
begin
    insert into chat_fts (chat_fts, rowid, message) values ('delete', old.id, old.message);
end;
create trigger chat_fts_after_update after update of message on chat
begin
    insert into chat_fts (chat_fts, rowid, message) values ('delete', old.id, old.message);
    insert into chat_fts (rowid, message) values (new.id, new.message);
end;

