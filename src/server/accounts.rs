//! Account services shared by the pages' server functions and the JSON API: parse, then store.

use super::client_addr::ClientAddr;
use super::hashing::{hash_password, verify_password};
use super::state::AppState;
use super::store::{AccountStore, StoreError};
use crate::domain::{Password, User, Username};
use crate::error::AppError;

fn parse_username(raw: &str) -> Result<Username, AppError> {
    Username::parse(raw).map_err(|e| AppError::unprocessable("invalid_username", e.to_string()))
}

#[tracing::instrument(name = "sign up", skip(state, password))]
pub async fn sign_up(
    state: &AppState,
    from: ClientAddr,
    username: &str,
    password: String,
) -> Result<User, AppError> {
    state.limits.check_signup(from)?;
    let username = parse_username(username)?;
    let password = Password::parse(password)
        .map_err(|e| AppError::unprocessable("invalid_password", e.to_string()))?;
    let hash = hash_password(password).await?;
    match state.store.create_user(&username, &hash, false).await {
        Ok(user) => {
            state.limits.signed_up(from);
            Ok(user)
        }
        Err(StoreError::Conflict(_)) => Err(AppError::conflict(
            "username_taken",
            "that username is taken",
        )),
        Err(e) => Err(AppError::internal(e)),
    }
}

/// Checks a username and password. Every failure, whatever its cause, is the same
/// "invalid username or password", and costs the same hashing work. Too many recent failures
/// for this name from this address, or from this address at all, are refused before hashing.
#[tracing::instrument(name = "authenticate", skip(state, password))]
pub async fn authenticate(
    state: &AppState,
    from: ClientAddr,
    username: &str,
    password: String,
) -> Result<User, AppError> {
    state.limits.check_login(from, username)?;
    // Malformed input still pays for one hash, so its timing matches a wrong password.
    let password = Password::parse(password).ok();
    let credentials = match &Username::parse(username).ok() {
        Some(name) => state
            .store
            .credentials(name)
            .await
            .map_err(AppError::internal)?,
        None => None,
    };
    let (user, hash) = match &credentials {
        Some(c) => (Some(c.user.clone()), Some(c.password_hash.clone())),
        None => (None, None),
    };
    let disabled = credentials.as_ref().is_some_and(|c| c.disabled);
    let candidate = password
        .unwrap_or_else(|| Password::parse("invalid-placeholder".into()).expect("valid length"));
    let matched = verify_password(hash, candidate).await?;
    match user {
        // Said only to someone who knows the password, so it reveals nothing to a guesser.
        Some(_) if matched && disabled => Err(AppError::forbidden(
            "account_disabled",
            "this account has been disabled",
        )),
        Some(user) if matched => {
            state.limits.login_succeeded(from, username);
            state
                .store
                .record_login(user.id)
                .await
                .map_err(AppError::internal)?;
            Ok(user)
        }
        _ => {
            state.limits.login_failed(from, username);
            Err(AppError::invalid_credentials())
        }
    }
}

/// `parley create-admin`: a new admin account with `password`, or (`promote`) an existing user
/// made admin. There is no default admin; this is the only way one comes to exist.
pub async fn create_admin(
    state: &AppState,
    username: &str,
    password: Option<String>,
    promote: bool,
) -> Result<User, AppError> {
    let name = parse_username(username)?;
    if promote {
        if !state
            .store
            .promote(&name)
            .await
            .map_err(AppError::internal)?
        {
            return Err(AppError::not_found(format!(
                "there is no user called {name}"
            )));
        }
        let promoted = state
            .store
            .credentials(&name)
            .await
            .map_err(AppError::internal)?;
        return promoted
            .map(|c| c.user)
            .ok_or_else(|| AppError::not_found("no such user"));
    }
    let password = password
        .ok_or_else(|| AppError::unprocessable("invalid_password", "a password is required"))?;
    let password = Password::parse(password)
        .map_err(|e| AppError::unprocessable("invalid_password", e.to_string()))?;
    let hash = hash_password(password).await?;
    match state.store.create_user(&name, &hash, true).await {
        Ok(user) => Ok(user),
        Err(StoreError::Conflict(_)) => Err(AppError::conflict(
            "username_taken",
            "that username is taken; use --promote to make it an admin",
        )),
        Err(e) => Err(AppError::internal(e)),
    }
}
