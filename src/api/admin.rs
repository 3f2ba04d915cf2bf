//! Server functions of the admin console. Non-admins (and anonymous callers) get 404 from every one.

use crate::domain::admin::ConversationRead;
use crate::domain::admin::{AccountSummary, AuditEntry, ChatSummary, Retention, SearchHit};
use crate::domain::{ChatMessage, User, UserId};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {super::context, crate::server::admin as svc};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdminAccountsData {
    pub me: User,
    pub users: Vec<AccountSummary>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdminChatsData {
    pub me: User,
    pub chats: Vec<ChatSummary>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdminConversationData {
    pub me: User,
    /// The reason given for this read (the page repeats it, and posts it again for older messages).
    pub reason: String,
    pub user_a: User,
    pub user_b: User,
    pub messages: Vec<ChatMessage>,
    pub has_more: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdminSearchData {
    pub me: User,
    pub hits: Vec<SearchHit>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdminAuditData {
    pub me: User,
    pub entries: Vec<AuditEntry>,
    pub retention: Retention,
}

/// Succeeds for an admin and is 404 for everyone else; for admin pages that load nothing yet.
#[server(prefix = "/_app", endpoint = "admin/check")]
pub async fn admin_check() -> Result<User, AppError> {
    context::respond(async move { context::admin().await.map(|(_, me)| me) }).await
}

#[server(prefix = "/_app", endpoint = "admin/users")]
pub async fn admin_accounts(query: String, page: u32) -> Result<AdminAccountsData, AppError> {
    context::respond(async move {
        let (state, me) = context::admin().await?;
        let users = svc::accounts(&state, &query, page).await?;
        Ok(AdminAccountsData { me, users })
    })
    .await
}

#[server(prefix = "/_app", endpoint = "admin/chats")]
pub async fn admin_chats(user: String, page: u32) -> Result<AdminChatsData, AppError> {
    context::respond(async move {
        let (state, me) = context::admin().await?;
        let chats = svc::chats(&state, Some(&user), page).await?;
        Ok(AdminChatsData { me, chats })
    })
    .await
}

/// Reads a conversation's content; `read.reason` is required and recorded in the audit log.
/// Only ever on a POST (the page's reason form, or this function's own endpoint), never from
/// another site.
#[server(prefix = "/_app", endpoint = "admin/conversation")]
pub async fn admin_conversation(
    user_a: UserId,
    user_b: UserId,
    read: ConversationRead,
) -> Result<AdminConversationData, AppError> {
    context::respond(async move {
        let (state, me) = context::admin().await?;
        context::require_post()?;
        context::refuse_cross_site_read()?;
        let excerpt = svc::read_conversation(&state, &me, (user_a, user_b), &read).await?;
        Ok(AdminConversationData {
            me,
            reason: read.reason,
            user_a: excerpt.user_a,
            user_b: excerpt.user_b,
            messages: excerpt.page.messages,
            has_more: excerpt.page.has_more,
        })
    })
    .await
}

#[server(prefix = "/_app", endpoint = "admin/search")]
pub async fn admin_search(query: String) -> Result<AdminSearchData, AppError> {
    context::respond(async move {
        let (state, me) = context::admin().await?;
        // An empty search box is not a search: show the form, log nothing.
        let hits = if query.trim().is_empty() {
            Vec::new()
        } else {
            // The page runs the search on a GET (the address holds the words): a link from
            // another site must not make an admin's browser search, and log it.
            context::refuse_cross_site_read()?;
            svc::search(&state, &me, &query).await?
        };
        Ok(AdminSearchData { me, hits })
    })
    .await
}

#[server(prefix = "/_app", endpoint = "admin/audit")]
pub async fn admin_audit(page: u32) -> Result<AdminAuditData, AppError> {
    context::respond(async move {
        let (state, me) = context::admin().await?;
        let entries = svc::audit_log(&state, page).await?;
        let retention = svc::retention(&state).await?;
        Ok(AdminAuditData {
            me,
            entries,
            retention,
        })
    })
    .await
}

#[server(prefix = "/_app", endpoint = "admin/set-disabled")]
pub async fn admin_set_disabled(user: UserId, disabled: bool) -> Result<User, AppError> {
    context::respond(async move {
        let (state, me) = context::admin().await?;
        svc::set_disabled(&state, &me, user, disabled).await
    })
    .await
}

/// A password reset link just made, shown once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResetLinkMade {
    pub username: String,
    /// `/reset/<token>`, after the site's address.
    pub path: String,
    #[serde(with = "crate::domain::rfc3339_millis")]
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Makes a one-time password reset link for `username`, recorded in the audit log with `reason`.
#[server(prefix = "/_app", endpoint = "admin/reset-link")]
pub async fn admin_reset_link(username: String, reason: String) -> Result<ResetLinkMade, AppError> {
    use crate::server::reset_links::{self, MadeBy};
    context::respond(async move {
        let (state, me) = context::admin().await?;
        let user = crate::server::messaging::peer_by_name(&state, username.trim()).await?;
        let made_by = MadeBy::Admin {
            admin: &me,
            reason: &reason,
        };
        let link = reset_links::create(&state, made_by, user.id).await?;
        Ok(ResetLinkMade {
            username: user.username.to_string(),
            path: link.path,
            expires_at: link.expires_at,
        })
    })
    .await
}
