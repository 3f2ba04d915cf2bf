//! The session: who is calling.
//!
//! The session holds only the user id; the user is reloaded from the store on every request, so a
//! deleted or disabled account is logged out at once. (Password hashing is in `hashing`.)

use super::realtime::hub::Eviction;
use super::state::AppState;
use super::store::{AccountStore, Store};
use crate::domain::{RoomId, User, UserId};
use crate::error::AppError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tower_sessions::Session;

/// The session key holding the logged-in user's id.
pub const USER_ID_KEY: &str = "user_id";

/// Binds the session to `user`, under a fresh session id (no session fixation).
pub async fn start_session(session: &Session, user: &User) -> Result<(), AppError> {
    session.cycle_id().await.map_err(AppError::internal)?;
    session
        .insert(USER_ID_KEY, user.id.get())
        .await
        .map_err(AppError::internal)
}

/// Ends the session and deletes it from the store.
/// Ends the session: its open sockets are told `leave` and closed, then it is deleted.
pub async fn end_session(session: &Session, state: &AppState) -> Result<(), AppError> {
    let user = session
        .get::<i64>(USER_ID_KEY)
        .await
        .map_err(AppError::internal)?;
    if let (Some(user), Some(id)) = (user, session.id()) {
        let room = RoomId::for_user(UserId::new(user));
        state
            .hub
            .close_session(&room, &id.to_string(), Eviction::LoggedOut);
    }
    session.flush().await.map_err(AppError::internal)
}

/// The caller of this request as the page guard resolved it (a request extension), so the page's
/// server functions need not read the account again.
#[derive(Clone, Debug)]
pub struct ResolvedUser(pub Option<User>);

/// The logged-in user of this session, if any.
pub async fn session_user(session: &Session, store: &Store) -> Result<Option<User>, AppError> {
    let Some(id) = session
        .get::<i64>(USER_ID_KEY)
        .await
        .map_err(AppError::internal)?
    else {
        return Ok(None);
    };
    let account = store
        .account(UserId::new(id))
        .await
        .map_err(AppError::internal)?;
    match account {
        Some(account) if !account.disabled => Ok(Some(account.user)),
        // Gone or disabled: end the stale session rather than keep answering "logged in".
        _ => {
            session.flush().await.map_err(AppError::internal)?;
            Ok(None)
        }
    }
}

async fn session_from_parts(parts: &mut Parts, state: &AppState) -> Result<Session, AppError> {
    Session::from_request_parts(parts, state)
        .await
        .map_err(|(_, why)| AppError::internal(format!("session layer missing: {why}")))
}

/// Extractor: the caller must be logged in (401 otherwise).
pub struct CurrentUser(pub User);

/// Extractor: the caller may or may not be logged in.
pub struct MaybeUser(pub Option<User>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = session_from_parts(parts, state).await?;
        Ok(Self(session_user(&session, &state.store).await?))
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let MaybeUser(user) = MaybeUser::from_request_parts(parts, state).await?;
        user.map(Self).ok_or_else(AppError::unauthorized)
    }
}
