//! Account services shared by the pages' server functions and the JSON API: parse, then store.

use super::auth::{hash_password, verify_password};
use super::state::AppState;
use super::store::{ChatStore, StoreError};
use crate::domain::{Password, User, Username};
use crate::error::AppError;

fn parse_username(raw: &str) -> Result<Username, AppError> {
    Username::parse(raw).map_err(|e| AppError::unprocessable("invalid_username", e.to_string()))
}

#[tracing::instrument(name = "sign up", skip(state, password))]
pub async fn sign_up(state: &AppState, username: &str, password: String) -> Result<User, AppError> {
    let username = parse_username(username)?;
    let password = Password::parse(password)
        .map_err(|e| AppError::unprocessable("invalid_password", e.to_string()))?;
    let hash = hash_password(password).await?;
    match state.store.create_user(&username, &hash, false).await {
        Ok(user) => Ok(user),
        Err(StoreError::Conflict(_)) => Err(AppError::conflict(
            "username_taken",
            "that username is taken",
        )),
        Err(e) => Err(AppError::internal(e)),
    }
}

/// Checks a username and password. Every failure, whatever its cause, is the same
/// "invalid username or password", and costs the same hashing work.
#[tracing::instrument(name = "authenticate", skip(state, password))]
pub async fn authenticate(
    state: &AppState,
    username: &str,
    password: String,
) -> Result<User, AppError> {
    // Malformed input still pays for one hash, so its timing matches a wrong password.
    let password = Password::parse(password).ok();
    let username = Username::parse(username).ok();
    let credentials = match &username {
        Some(name) => state
            .store
            .credentials(name)
            .await
            .map_err(AppError::internal)?,
        None => None,
    };
    let (user, hash) = match credentials {
        Some(c) => (Some(c.user), Some(c.password_hash)),
        None => (None, None),
    };
    let candidate = password
        .unwrap_or_else(|| Password::parse("invalid-placeholder".into()).expect("valid length"));
    let matched = verify_password(hash, candidate).await?;
    match user {
        Some(user) if matched && username.is_some() => Ok(user),
        _ => Err(AppError::invalid_credentials()),
    }
}
