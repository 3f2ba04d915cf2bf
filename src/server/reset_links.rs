//! Password reset without e-mail. An admin (from the console, with a reason that goes in the audit
//! log) or the operator (`parley reset-link --username NAME`) makes a one-time link for a user,
//! valid for 24 hours and shown once; opening it lets the user set a new password, which ends
//! every session of theirs (their sockets close). Only the SHA-256 of a link's token is stored,
//! so the database never holds a working link.

use super::admin::audit_reason;
use super::events::Event;
use super::hashing::hash_password;
use super::state::AppState;
use super::store::{AdminStore, NewAuditEntry, NewResetLink, ResetLinkTable, StoreError};
use crate::domain::admin::AuditAction;
use crate::domain::{Password, User, UserId};
use crate::error::AppError;
use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

/// How long a link works.
pub const VALID_FOR: TimeDelta = TimeDelta::hours(24);

/// A link just made: its address on the site, shown once.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ResetLink {
    /// `/reset/<token>`, to put after the site's address.
    pub path: String,
    #[serde(with = "crate::domain::rfc3339_millis")]
    pub expires_at: DateTime<Utc>,
}

/// Who made a link: an admin, who says why, or the command line.
pub enum MadeBy<'a> {
    Admin { admin: &'a User, reason: &'a str },
    CommandLine,
}

/// Makes a reset link for `user`.
#[tracing::instrument(name = "create reset link", skip(state, made_by))]
pub async fn create(
    state: &AppState,
    made_by: MadeBy<'_>,
    user: UserId,
) -> Result<ResetLink, AppError> {
    let (created_by, reason) = match made_by {
        MadeBy::Admin { admin, reason } => (
            Some(admin.id),
            Some(audit_reason(
                reason,
                "say why this user needs a reset link",
            )?),
        ),
        MadeBy::CommandLine => (None, None),
    };
    let token = new_token();
    let now = Utc::now();
    let expires_at = now + VALID_FOR;
    let stored = state
        .store
        .create_reset_link(NewResetLink {
            token_hash: &hash(&token),
            user,
            created_by,
            created_at: now.timestamp_millis(),
            expires_at: expires_at.timestamp_millis(),
        })
        .await;
    match stored {
        Err(StoreError::MissingReference) => return Err(AppError::no_such_user()),
        other => other?,
    }
    if let Some(admin) = created_by {
        state
            .store
            .append_audit(NewAuditEntry {
                admin: Some(admin),
                action: AuditAction::CreateResetLink,
                user_a: Some(user),
                user_b: None,
                detail: None,
                reason,
            })
            .await?;
    }
    Ok(ResetLink {
        path: format!("/reset/{token}"),
        expires_at,
    })
}

/// The user a link is for, while it works.
#[tracing::instrument(name = "open reset link", skip_all)]
pub async fn user_of(state: &AppState, token: &str) -> Result<User, AppError> {
    state
        .store
        .reset_link_user(&hash(token), Utc::now().timestamp_millis())
        .await?
        .ok_or_else(not_valid)
}

/// Sets the new password through a link (once), and ends every session of its user.
#[tracing::instrument(name = "reset password", skip_all)]
pub async fn reset_password(
    state: &AppState,
    token: &str,
    new_password: String,
) -> Result<(), AppError> {
    // Checked before the (costly) hashing, so a made-up link costs the server one lookup.
    user_of(state, token).await?;
    let password_hash = hash_password(Password::parse(new_password)?).await?;
    let Some((user, sessions)) = state
        .store
        .use_reset_link(&hash(token), Utc::now().timestamp_millis(), &password_hash)
        .await?
    else {
        // Used or expired between the check and now.
        return Err(not_valid());
    };
    for session_id in sessions {
        state.events.publish(Event::LoggedOut { user, session_id });
    }
    Ok(())
}

fn not_valid() -> AppError {
    AppError::not_found("this reset link does not work: it was used already, or it expired")
}

/// 244 random bits, as 64 hexadecimal digits (two version-4 UUIDs' worth).
fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// What the database keeps of a token.
fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_stored_only_as_their_hash() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), a);
        // The SHA-256 of "abc", as published.
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
