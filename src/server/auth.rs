//! Password hashing and the session: who is calling.
//!
//! Hashing runs on the blocking pool (argon2 is deliberately slow). The session holds only the user
//! id; the user is reloaded from the store on every request, so a deleted account is logged out at once.

use super::realtime::hub::Eviction;
use super::state::AppState;
use super::store::{ChatStore, Store};
use crate::domain::{Password, RoomId, User, UserId};
use crate::error::AppError;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use std::sync::LazyLock;
use tower_sessions::Session;

/// The session key holding the logged-in user's id.
pub const USER_ID_KEY: &str = "user_id";

/// argon2id with OWASP's recommended minimum: 19 MiB of memory, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a random password, verified against when the username is unknown, so that a login
/// attempt costs the same whether or not the account exists (no timing oracle).
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(uuid::Uuid::new_v4().as_bytes(), &salt)
        .expect("hashing a constant-size input cannot fail")
        .to_string()
});

/// At most one argon2 computation per core at a time. Each one takes 19 MiB and a core for tens
/// of milliseconds; unbounded, a burst of logins would fill memory and starve everything else.
/// Queued callers wait their turn (asynchronously) instead.
async fn hashing_slot() -> Result<tokio::sync::SemaphorePermit<'static>, AppError> {
    static SLOTS: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    });
    SLOTS.acquire().await.map_err(AppError::internal)
}

pub async fn hash_password(password: Password) -> Result<String, AppError> {
    let _slot = hashing_slot().await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)
}

/// Verifies `password` against `stored`, or against the dummy hash when there is no account.
/// Returns true only for an existing account with the right password.
pub async fn verify_password(stored: Option<String>, password: Password) -> Result<bool, AppError> {
    let _slot = hashing_slot().await?;
    tokio::task::spawn_blocking(move || {
        let exists = stored.is_some();
        let hash = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let parsed = PasswordHash::new(&hash).map_err(AppError::internal)?;
        let matches = hasher()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok();
        Ok(exists && matches)
    })
    .await
    .map_err(AppError::internal)?
}

/// Warms the dummy hash at start-up so the first unknown-user login is not faster than the rest.
pub fn prepare() {
    LazyLock::force(&DUMMY_HASH);
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies() {
        let pw = || Password::parse("correct horse battery".into()).unwrap();
        let hash = hash_password(pw()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password(Some(hash.clone()), pw()).await.unwrap());
        let wrong = Password::parse("incorrect horse".into()).unwrap();
        assert!(!verify_password(Some(hash), wrong).await.unwrap());
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        let pw = Password::parse("whatever-password".into()).unwrap();
        assert!(!verify_password(None, pw).await.unwrap());
    }

    #[tokio::test]
    async fn two_hashes_of_one_password_differ() {
        let pw = || Password::parse("same password".into()).unwrap();
        assert_ne!(
            hash_password(pw()).await.unwrap(),
            hash_password(pw()).await.unwrap()
        );
    }
}
