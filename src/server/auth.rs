//! Who is calling: the one place that decides it. Sessions start and end here, and the three
//! extractors answer "who is this request from, and may they?" for every adapter: the JSON API's
//! handlers, the pages' guard and server functions (`api::context`), and the WebSocket upgrade.
//!
//! - `MaybeCaller`: the logged-in, enabled user, if any.
//! - `Caller`: must be logged in (401 otherwise).
//! - `AdminCaller`: must be an admin (404 otherwise: to anyone else the console does not exist).
//!
//! The session holds the user id and the device it is used from (`domain::Device`: browser,
//! address, when first and last seen, for the devices list); the account is read on every request,
//! so a deleted or disabled account is logged out at once. It is read once per request, together
//! with the session in one statement, and the answer is kept in the request's extensions, where a
//! page render's several server functions find it.
//! (Password hashing is in `hashing`.)

use super::client_addr::ClientAddr;
use super::events::Event;
use super::state::AppState;
use super::store::{AccountStore, SessionTable};
use crate::domain::{Device, User, UserId};
use crate::error::AppError;
use axum::extract::FromRequestParts;
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use tower_sessions::Session;

/// The session key holding the logged-in user's id.
pub const USER_ID_KEY: &str = super::store::SESSION_USER_ID_KEY;
/// The session key holding the device it is used from.
pub const DEVICE_KEY: &str = super::store::SESSION_DEVICE_KEY;

/// Binds the session to `user`, under a fresh session id (no session fixation), as a new
/// `device` (see `device_of`).
pub async fn start_session(session: &Session, user: &User, device: Device) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.insert(DEVICE_KEY, device).await?;
    Ok(session.insert(USER_ID_KEY, user.id.get()).await?)
}

/// The device a request comes from, as a session first sees it: its browser, its address, now.
pub fn device_of(headers: &HeaderMap, from: Option<ClientAddr>) -> Device {
    let agent = headers
        .get(USER_AGENT)
        .and_then(|agent| agent.to_str().ok())
        .unwrap_or_default();
    let addr = from.map(|addr| addr.0.to_string()).unwrap_or_default();
    Device::new(agent, addr, chrono::Utc::now().timestamp())
}

/// The id of this request's session, when it has been stored.
pub fn session_id(session: &Session) -> Option<String> {
    session.id().map(|id| id.to_string())
}

/// The device this session is used from, as its latest request left it.
pub async fn current_device(session: &Session) -> Result<Option<Device>, AppError> {
    Ok(session.get::<Device>(DEVICE_KEY).await?)
}

/// Keeps the session's device (`known`, as stored) up to date: the address and time it was last
/// seen, written at most every `SEEN_EVERY_SECS` (or on a new address), since each is a session
/// write. A session from before devices were kept gets one here.
async fn note_device(
    session: &Session,
    parts: &Parts,
    known: Option<Device>,
) -> Result<(), AppError> {
    let from = parts.extensions.get::<ClientAddr>().copied();
    let device = match known {
        Some(known) => {
            let addr = from.map(|addr| addr.0.to_string()).unwrap_or_default();
            match known.seen(&addr, chrono::Utc::now().timestamp()) {
                Some(seen) => seen,
                None => return Ok(()),
            }
        }
        None => device_of(&parts.headers, from),
    };
    Ok(session.insert(DEVICE_KEY, device).await?)
}

/// Ends the session: its open sockets are told `leave` and closed, then it is deleted.
pub async fn end_session(session: &Session, state: &AppState) -> Result<(), AppError> {
    if let (Some(user), Some(id)) = (session.get::<i64>(USER_ID_KEY).await?, session.id()) {
        state.events.publish(Event::LoggedOut {
            user: UserId::new(user),
            session_id: id.to_string(),
        });
    }
    Ok(session.flush().await?)
}

/// The request's session, as the session layer put it there.
pub async fn session_of(parts: &mut Parts, state: &AppState) -> Result<Session, AppError> {
    Session::from_request_parts(parts, state)
        .await
        .map_err(|(_, why)| AppError::internal(format!("session layer missing: {why}")))
}

/// The caller as already resolved for this request.
#[derive(Clone, Debug)]
struct Resolved(Option<User>);

/// The logged-in user of this session, if any; a session whose account is gone or disabled is
/// ended here. A stored session is read together with its account and device in one statement;
/// its record is loaded only when something in it must change (the device seen again, or ending
/// it). A session this request has already changed (a login under way) is read from memory.
async fn session_user(
    session: &Session,
    parts: &Parts,
    state: &AppState,
) -> Result<Option<User>, AppError> {
    let stored = session.id().filter(|_| !session.is_modified());
    let (account, device) = match stored {
        Some(id) => {
            let now = chrono::Utc::now().timestamp();
            match state.store.session_caller(&id.to_string(), now).await? {
                Some(caller) => (caller.account, caller.device),
                None => return Ok(None),
            }
        }
        None => {
            let Some(id) = session.get::<i64>(USER_ID_KEY).await? else {
                return Ok(None);
            };
            let device = current_device(session).await?;
            (state.store.account(UserId::new(id)).await?, device)
        }
    };
    match account {
        Some(account) if !account.disabled => {
            note_device(session, parts, device).await?;
            Ok(Some(account.user))
        }
        // Gone or disabled: end the stale session rather than keep answering "logged in".
        _ => {
            session.flush().await?;
            Ok(None)
        }
    }
}

/// Extractor: the caller may or may not be logged in.
pub struct MaybeCaller(pub Option<User>);

/// Extractor: the caller must be logged in (401 otherwise).
pub struct Caller(pub User);

/// Extractor: the caller must be an admin. Everyone else, anonymous or not, is answered 404
/// `no such page`; the JSON API and the pages answer it in their own 404 shape.
pub struct AdminCaller(pub User);

/// What a non-admin learns about the admin console: that it does not exist.
pub fn not_admin() -> AppError {
    AppError::not_found("no such page")
}

/// The caller of this request: from the request itself when an earlier extractor (or the page
/// guard) already resolved it, else from the session, and then kept in the request.
async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Option<User>, AppError> {
    if let Some(Resolved(user)) = parts.extensions.get::<Resolved>() {
        return Ok(user.clone());
    }
    let session = session_of(parts, state).await?;
    let user = session_user(&session, parts, state).await?;
    parts.extensions.insert(Resolved(user.clone()));
    Ok(user)
}

/// Each extractor is one rule over the resolved caller.
macro_rules! caller_extractor {
    ($extractor:ident, |$user:ident| $rule:expr) => {
        impl FromRequestParts<AppState> for $extractor {
            type Rejection = AppError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, AppError> {
                let $user = resolve(parts, state).await?;
                $rule
            }
        }
    };
}

caller_extractor!(MaybeCaller, |user| Ok(MaybeCaller(user)));
caller_extractor!(Caller, |user| user
    .map(Caller)
    .ok_or_else(AppError::unauthorized));
caller_extractor!(AdminCaller, |user| user
    .filter(|u| u.is_admin)
    .map(AdminCaller)
    .ok_or_else(not_admin));
