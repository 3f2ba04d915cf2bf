//! Account services shared by the pages' server functions and the JSON API: parse, then store.
//! Signing up and in, the profile, the password, the devices (sessions) an account is logged in
//! on, and deleting the account.

use super::auth::{current_device, end_session, session_id};
use super::client_addr::ClientAddr;
use super::events::Event;
use super::hashing::{hash_password, verify_password};
use super::state::AppState;
use super::store::{AccountStore, ProfileTable, SessionTable, StoreError};
use crate::domain::{ActiveSession, DisplayName, Password, User, UserId, Username};
use crate::error::{AppError, ErrorCode};
use tower_sessions::Session;

#[tracing::instrument(name = "sign up", skip(state, password))]
pub async fn sign_up(
    state: &AppState,
    from: ClientAddr,
    username: &str,
    password: String,
) -> Result<User, AppError> {
    state.limits.check_signup(from)?;
    let username = Username::parse_new(username)?;
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
    let name = if promote {
        Username::parse(username)?
    } else {
        Username::parse_new(username)?
    };
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

/// Changes `me`'s password, given the current one. Every other session of the account ends at once
/// (their sockets are told `leave` and closed with the logout code); this one stays. A wrong
/// current password counts as a failed login for the limits, so it cannot be guessed faster here
/// than on the login page.
#[tracing::instrument(name = "change password", skip_all, fields(me = %me.id))]
pub async fn change_password(
    state: &AppState,
    session: &Session,
    from: ClientAddr,
    me: &User,
    current: String,
    new: String,
) -> Result<(), AppError> {
    check_current_password(state, from, me, current).await?;
    let hash = hash_password(Password::parse(new)?).await?;
    if !state.store.set_password_hash(me.id, &hash).await? {
        return Err(AppError::unauthorized());
    }
    let keep = session_id(session).unwrap_or_default();
    let ended = state.store.delete_sessions_except(me.id, &keep).await?;
    logged_out(state, me.id, ended);
    Ok(())
}

/// Checks that `current` is `me`'s password. A wrong one counts as a failed login for the limits,
/// so it cannot be guessed faster here than on the login page.
async fn check_current_password(
    state: &AppState,
    from: ClientAddr,
    me: &User,
    current: String,
) -> Result<(), AppError> {
    let name = me.username.as_str();
    state.limits.check_login(from, name)?;
    let stored = state
        .store
        .credentials(&me.username)
        .await?
        .map(|c| c.password_hash);
    // Malformed input still pays for one hash, as at login.
    let candidate = Password::parse(current)
        .unwrap_or_else(|_| Password::parse("invalid-placeholder".into()).expect("valid length"));
    if verify_password(stored, candidate).await? {
        return Ok(());
    }
    state.limits.login_failed(from, name);
    Err(AppError::forbidden(
        ErrorCode::WrongPassword,
        "that is not your current password",
    ))
}

/// Sets `me`'s display name; an empty or missing one removes it. Returns the account as others
/// now see it.
#[tracing::instrument(name = "set display name", skip_all, fields(me = %me.id))]
pub async fn set_display_name(
    state: &AppState,
    me: &User,
    raw: Option<&str>,
) -> Result<User, AppError> {
    let name = DisplayName::parse_optional(raw)?;
    state
        .store
        .set_display_name(me.id, name.as_ref())
        .await?
        .ok_or_else(AppError::unauthorized)
}

/// Deletes `me`'s account, given their password and their username typed again as confirmation.
/// At once: the account can no longer log in or be written to, every session of it ends (sockets
/// close with the logout code), its blocks and reset links go. Then, in the background
/// (`housekeeping`), the text of every message it sent is erased through the ordered stream, and
/// after 30 days its username is freed. The people it wrote to keep their conversations, with
/// the sender shown as "Deleted account".
#[tracing::instrument(name = "delete account", skip_all, fields(me = %me.id))]
pub async fn delete_account(
    state: &AppState,
    session: &Session,
    from: ClientAddr,
    me: &User,
    password: String,
    confirmation: &str,
) -> Result<(), AppError> {
    check_current_password(state, from, me, password).await?;
    if !confirmation
        .trim()
        .eq_ignore_ascii_case(me.username.as_str())
    {
        return Err(AppError::unprocessable(
            ErrorCode::ConfirmationMismatch,
            format!("type your username, {}, to confirm", me.username),
        ));
    }
    let now = chrono::Utc::now().timestamp_millis();
    if state.store.delete_account(me.id, now).await?.is_none() {
        return Err(AppError::unauthorized());
    }
    state.relations.deleted(me.id);
    // Closes every socket of the account, on every node, with the logout code: one event for the
    // whole room rather than one per ended session.
    state.events.publish(Event::AccountDeleted { user: me.id });
    // The row is gone already; this forgets it in the request too, so nothing writes it back.
    session.flush().await?;
    state.housekeeping.wake();
    Ok(())
}

/// The sessions `me` is logged in with, most recently used first, this one marked `current`.
#[tracing::instrument(name = "list devices", skip_all, fields(me = %me.id))]
pub async fn devices(
    state: &AppState,
    session: &Session,
    me: &User,
) -> Result<Vec<ActiveSession>, AppError> {
    let now = chrono::Utc::now().timestamp();
    let current = current_device(session).await?;
    let mut list: Vec<ActiveSession> = state
        .store
        .devices_of(me.id, now)
        .await?
        .into_iter()
        .map(|(_, device)| match &current {
            // This request's view of this session is newer than what is stored.
            Some(here) if here.id == device.id => ActiveSession::of(here.clone(), true),
            _ => ActiveSession::of(device, false),
        })
        .collect();
    // A session whose device this very request made is not stored yet.
    if let Some(here) = current.filter(|here| !list.iter().any(|s| s.id == here.id)) {
        list.insert(0, ActiveSession::of(here, true));
    }
    Ok(list)
}

/// Ends `me`'s session on `device` (its sockets close with the logout code). This device's own
/// session is simply logged out.
#[tracing::instrument(name = "log out device", skip(state, session, me), fields(me = %me.id))]
pub async fn log_out_device(
    state: &AppState,
    session: &Session,
    me: &User,
    device: uuid::Uuid,
) -> Result<(), AppError> {
    if current_device(session)
        .await?
        .is_some_and(|here| here.id == device)
    {
        return end_session(session, state).await;
    }
    let Some(ended) = state.store.delete_device(me.id, device).await? else {
        return Err(AppError::not_found("no such session"));
    };
    logged_out(state, me.id, [ended]);
    Ok(())
}

/// Ends every session of `me`'s but this one; returns how many ended.
#[tracing::instrument(name = "log out other devices", skip_all, fields(me = %me.id))]
pub async fn log_out_other_devices(
    state: &AppState,
    session: &Session,
    me: &User,
) -> Result<usize, AppError> {
    let keep = session_id(session).unwrap_or_default();
    let ended = state.store.delete_sessions_except(me.id, &keep).await?;
    let count = ended.len();
    logged_out(state, me.id, ended);
    Ok(count)
}

/// Closes the sockets of sessions that have just been deleted, on every node.
fn logged_out(state: &AppState, user: UserId, sessions: impl IntoIterator<Item = String>) {
    for session_id in sessions {
        state.events.publish(Event::LoggedOut { user, session_id });
    }
}
