//! Admin services. Every read of message content and every account change writes an audit
//! line in the same request, before the read happens: a read that is not logged does not happen.
//! Callers hold an `AdminCaller` (see `auth`): the admin router, the page guard and the admin
//! server functions all get one from there, and everyone else is answered 404.

use super::events::Event;
use super::state::AppState;
use super::store::{AccountStore, AdminStore, MessageStore, NewAuditEntry, PageEnd};
use crate::domain::admin::{
    search_words, AccountSummary, AuditAction, AuditEntry, ChatSummary, ConversationExcerpt,
    ConversationRead, Retention, SearchHit,
};
use crate::domain::{User, UserId};
use crate::error::{AppError, ErrorCode};

/// Rows per admin list page.
pub const PAGE: u32 = crate::domain::admin::ADMIN_PAGE;
/// Most search hits returned.
pub const MAX_HITS: u32 = 100;
/// Longest reason accepted for reading a conversation.
pub const MAX_REASON_CHARS: usize = 500;

fn offset(page: u32) -> u32 {
    page.saturating_sub(1).saturating_mul(PAGE)
}

#[tracing::instrument(name = "admin lists accounts", skip(state))]
pub async fn accounts(
    state: &AppState,
    query: &str,
    page: u32,
) -> Result<Vec<AccountSummary>, AppError> {
    let prefix = query.trim().to_ascii_lowercase();
    Ok(state.store.accounts(&prefix, offset(page), PAGE).await?)
}

/// Every conversation, or those of the user named `user`, newest activity first.
#[tracing::instrument(name = "admin lists chats", skip(state))]
pub async fn chats(
    state: &AppState,
    user: Option<&str>,
    page: u32,
) -> Result<Vec<ChatSummary>, AppError> {
    let filter = match user.map(str::trim).filter(|u| !u.is_empty()) {
        Some(name) => match state.store.user_by_name(&name.to_ascii_lowercase()).await? {
            Some(user) => Some(user.id),
            None => return Ok(Vec::new()),
        },
        None => None,
    };
    Ok(state.store.chats(filter, offset(page), PAGE).await?)
}

/// An admin's reason for an audited action, trimmed: required (`missing` says what to say), and
/// at most `MAX_REASON_CHARS` characters.
pub fn audit_reason<'a>(raw: &'a str, missing: &str) -> Result<&'a str, AppError> {
    let reason = raw.trim();
    if reason.is_empty() {
        return Err(AppError::bad_request(ErrorCode::ReasonRequired, missing));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::unprocessable(
            ErrorCode::ReasonTooLong,
            format!("keep the reason under {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(reason)
}

/// The stored messages of the pair `a`–`b`, after recording who read them and why.
#[tracing::instrument(name = "admin reads conversation", skip(state, admin, read), fields(admin = %admin.id))]
pub async fn read_conversation(
    state: &AppState,
    admin: &User,
    (a, b): (UserId, UserId),
    read: &ConversationRead,
) -> Result<ConversationExcerpt, AppError> {
    let reason = audit_reason(&read.reason, "say why you are opening this conversation")?;
    let user_a = state
        .store
        .user_by_id(a)
        .await?
        .ok_or_else(AppError::no_such_user)?;
    let user_b = state
        .store
        .user_by_id(b)
        .await?
        .ok_or_else(AppError::no_such_user)?;
    state
        .store
        .append_audit(NewAuditEntry {
            admin: Some(admin.id),
            action: AuditAction::ViewConversation,
            user_a: Some(a),
            user_b: Some(b),
            detail: None,
            reason: Some(reason),
        })
        .await?;
    let end = match (read.before, read.through) {
        (Some(id), _) => PageEnd::Before(id),
        (None, Some(id)) => PageEnd::Through(id),
        (None, None) => PageEnd::Latest,
    };
    let page = state.store.history(a, b, end, PAGE).await?;
    Ok(ConversationExcerpt {
        user_a,
        user_b,
        page,
    })
}

#[tracing::instrument(name = "admin searches messages", skip(state, admin, query), fields(admin = %admin.id))]
pub async fn search(
    state: &AppState,
    admin: &User,
    query: &str,
) -> Result<Vec<SearchHit>, AppError> {
    let words = search_words(query).ok_or_else(AppError::query_required)?;
    state
        .store
        .append_audit(NewAuditEntry {
            admin: Some(admin.id),
            action: AuditAction::Search,
            user_a: None,
            user_b: None,
            detail: Some(query.trim()),
            reason: None,
        })
        .await?;
    Ok(state.store.search_messages(&words, None, MAX_HITS).await?)
}

#[tracing::instrument(name = "admin reads audit log", skip(state))]
pub async fn audit_log(state: &AppState, page: u32) -> Result<Vec<AuditEntry>, AppError> {
    Ok(state.store.audit_log(None, offset(page), PAGE).await?)
}

/// The retention policy and its latest run (from the audit log).
#[tracing::instrument(name = "admin reads retention", skip(state))]
pub async fn retention(state: &AppState) -> Result<Retention, AppError> {
    let last_run = state
        .store
        .audit_log(Some(AuditAction::RetentionRun), 0, 1)
        .await?
        .pop();
    Ok(Retention {
        days: state.config.retention_days,
        last_run,
    })
}

/// Disables or enables an account. Disabling deletes its sessions and closes its open sockets at
/// once; nothing it stored is touched.
#[tracing::instrument(name = "admin sets disabled", skip(state, admin), fields(admin = %admin.id))]
pub async fn set_disabled(
    state: &AppState,
    admin: &User,
    target: UserId,
    disabled: bool,
) -> Result<User, AppError> {
    if disabled && target == admin.id {
        return Err(AppError::unprocessable(
            ErrorCode::CannotDisableSelf,
            "you cannot disable your own account",
        ));
    }
    let user = state
        .store
        .set_disabled(target, disabled)
        .await?
        .ok_or_else(AppError::no_such_user)?;
    let action = if disabled {
        AuditAction::DisableUser
    } else {
        AuditAction::EnableUser
    };
    state
        .store
        .append_audit(NewAuditEntry {
            admin: Some(admin.id),
            action,
            user_a: Some(target),
            user_b: None,
            detail: None,
            reason: None,
        })
        .await?;
    if disabled {
        state.store.delete_sessions_of(target).await?;
        state
            .events
            .publish(Event::AccountDisabled { user: target });
    }
    Ok(user)
}
