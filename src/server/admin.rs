//! Admin services. Every read of message content and every account change writes an audit
//! line in the same request, before the read happens: a read that is not logged does not happen.
//! Callers must have checked `is_admin` (the admin router and server functions do, answering 404).

use super::realtime::hub::Eviction;
use super::state::AppState;
use super::store::{AccountStore, AdminStore, HistoryPage, MessageStore, NewAuditEntry, PageEnd};
use crate::domain::admin::{
    to_fts_query, AccountSummary, AuditAction, AuditEntry, ChatSummary, SearchHit,
};
use crate::domain::{RoomId, User, UserId};
use crate::error::AppError;

/// Rows per admin list page.
pub const PAGE: u32 = crate::domain::admin::ADMIN_PAGE;
/// Most search hits returned.
pub const MAX_HITS: u32 = 100;
/// Longest reason accepted for reading a conversation.
pub const MAX_REASON_CHARS: usize = 500;

/// What a non-admin learns about the admin console: that it does not exist.
pub fn not_admin() -> AppError {
    AppError::not_found("no such page")
}

pub fn require_admin(user: Option<User>) -> Result<User, AppError> {
    user.filter(|u| u.is_admin).ok_or_else(not_admin)
}

fn offset(page: u32) -> u32 {
    page.saturating_sub(1).saturating_mul(PAGE)
}

pub async fn accounts(
    state: &AppState,
    query: &str,
    page: u32,
) -> Result<Vec<AccountSummary>, AppError> {
    let prefix = query.trim().to_ascii_lowercase();
    state
        .store
        .accounts(&prefix, offset(page), PAGE)
        .await
        .map_err(AppError::internal)
}

/// Every conversation, or those of the user named `user`, newest activity first.
pub async fn chats(
    state: &AppState,
    user: Option<&str>,
    page: u32,
) -> Result<Vec<ChatSummary>, AppError> {
    let filter = match user.map(str::trim).filter(|u| !u.is_empty()) {
        Some(name) => match state
            .store
            .user_by_name(&name.to_ascii_lowercase())
            .await
            .map_err(AppError::internal)?
        {
            Some(user) => Some(user.id),
            None => return Ok(Vec::new()),
        },
        None => None,
    };
    state
        .store
        .chats(filter, offset(page), PAGE)
        .await
        .map_err(AppError::internal)
}

/// The stored messages of the pair `a`–`b`, after recording who read them and why.
#[tracing::instrument(name = "admin reads conversation", skip(state, admin, reason), fields(admin = %admin.id))]
pub async fn read_conversation(
    state: &AppState,
    admin: &User,
    (a, b): (UserId, UserId),
    reason: &str,
    end: PageEnd,
) -> Result<(User, User, HistoryPage), AppError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::bad_request(
            "reason_required",
            "say why you are opening this conversation",
        ));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::unprocessable(
            "reason_too_long",
            format!("keep the reason under {MAX_REASON_CHARS} characters"),
        ));
    }
    let user_a = state
        .store
        .user_by_id(a)
        .await
        .map_err(AppError::internal)?
        .ok_or_else(|| AppError::not_found("no such user"))?;
    let user_b = state
        .store
        .user_by_id(b)
        .await
        .map_err(AppError::internal)?
        .ok_or_else(|| AppError::not_found("no such user"))?;
    state
        .store
        .append_audit(NewAuditEntry {
            admin: admin.id,
            action: AuditAction::ViewConversation,
            user_a: Some(a),
            user_b: Some(b),
            detail: None,
            reason: Some(reason),
        })
        .await
        .map_err(AppError::internal)?;
    let page = state
        .store
        .history(a, b, end, PAGE)
        .await
        .map_err(AppError::internal)?;
    Ok((user_a, user_b, page))
}

#[tracing::instrument(name = "admin searches messages", skip(state, admin, query), fields(admin = %admin.id))]
pub async fn search(
    state: &AppState,
    admin: &User,
    query: &str,
) -> Result<Vec<SearchHit>, AppError> {
    let Some(fts) = to_fts_query(query) else {
        return Err(AppError::bad_request(
            "query_required",
            "type something to search for",
        ));
    };
    state
        .store
        .append_audit(NewAuditEntry {
            admin: admin.id,
            action: AuditAction::Search,
            user_a: None,
            user_b: None,
            detail: Some(query.trim()),
            reason: None,
        })
        .await
        .map_err(AppError::internal)?;
    state
        .store
        .search_messages(&fts, MAX_HITS)
        .await
        .map_err(AppError::internal)
}

pub async fn audit_log(state: &AppState, page: u32) -> Result<Vec<AuditEntry>, AppError> {
    state
        .store
        .audit_log(offset(page), PAGE)
        .await
        .map_err(AppError::internal)
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
            "cannot_disable_self",
            "you cannot disable your own account",
        ));
    }
    let user = state
        .store
        .set_disabled(target, disabled)
        .await
        .map_err(AppError::internal)?
        .ok_or_else(|| AppError::not_found("no such user"))?;
    let action = if disabled {
        AuditAction::DisableUser
    } else {
        AuditAction::EnableUser
    };
    state
        .store
        .append_audit(NewAuditEntry {
            admin: admin.id,
            action,
            user_a: Some(target),
            user_b: None,
            detail: None,
            reason: None,
        })
        .await
        .map_err(AppError::internal)?;
    if disabled {
        state
            .store
            .delete_sessions_of(target)
            .await
            .map_err(AppError::internal)?;
        state
            .hub
            .close_room(&RoomId::for_user(target), Eviction::AccountDisabled);
    }
    Ok(user)
}
