//! Account services shared by the pages' server functions and the JSON API: parse, then store.

use super::client_addr::ClientAddr;
use super::hashing::{hash_password, verify_password};
use super::state::AppState;
use super::store::{AccountStore, StoreError};
use crate::domain::{Password, User, Username};
use crate::error::{AppError, ErrorCode};

#[tracing::instrument(name = "sign up", skip(state, password))]
pub async fn sign_up(
    state: &AppState,
    from: ClientAddr,
    username: &str,
    password: String,
) -> Result<User, AppError> {
    state.limits.check_signup(from)?;
    let username = Username::parse(username)?;
    let password = Password::parse(password)?;
    let hash = hash_password(password).await?;
    let user = state.store.create_user(&username, &hash, false).await?;
    state.limits.signed_up(from);
    Ok(user)
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
        Some(name) => state.store.credentials(name).await?,
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
            ErrorCode::AccountDisabled,
            "this account has been disabled",
        )),
        Some(user) if matched => {
            state.limits.login_succeeded(from, username);
            state.store.record_login(user.id).await?;
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
#[tracing::instrument(name = "create admin", skip(state, password))]
pub async fn create_admin(
    state: &AppState,
    username: &str,
    password: Option<String>,
    promote: bool,
) -> Result<User, AppError> {
    let name = Username::parse(username)?;
    if promote {
        if !state.store.promote(&name).await? {
            return Err(AppError::not_found(format!(
                "there is no user called {name}"
            )));
        }
        let promoted = state.store.credentials(&name).await?;
        return promoted.map(|c| c.user).ok_or_else(AppError::no_such_user);
    }
    let password = password.ok_or_else(|| {
        AppError::unprocessable(ErrorCode::InvalidPassword, "a password is required")
    })?;
    let hash = hash_password(Password::parse(password)?).await?;
    match state.store.create_user(&name, &hash, true).await {
        Err(StoreError::Conflict(_)) => Err(AppError::conflict(
            ErrorCode::UsernameTaken,
            "that username is taken; use --promote to make it an admin",
        )),
        created => Ok(created?),
    }
}
