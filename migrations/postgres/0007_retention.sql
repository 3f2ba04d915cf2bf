-- Retention runs in the audit log, made by the server itself (no admin); the same as SQLite's
-- 0011. Positions come from message_counter, which never goes back, so no floor is needed here.
alter table audit_log alter column admin_id drop not null;
alter table audit_log drop constraint audit_log_action_check;
alter table audit_log add constraint audit_log_action_check
    check (action in ('view_conversation', 'search', 'disable_user', 'enable_user', 'create_reset_link',
                      'retention_run'));
create index audit_log_by_action on audit_log (action, date desc);
