//! `/api/auth/*` and `/api/me`: thin adapters over `accounts` and the session (`auth`).

use super::json::JsonBody;
use crate::domain::User;
use crate::error::AppError;
use crate::server::accounts;
use crate::server::auth::{device_of, end_session, start_session, Caller};
use crate::server::client_addr::ClientAddr;
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Extension;
use axum::Json;
use serde::Deserialize;
use tower_sessions::Session;

#[derive(Deserialize)]
pub struct CredentialsBody {
    username: String,
    password: String,
}

pub async fn signup(
    State(state): State<AppState>,
    Extension(from): Extension<ClientAddr>,
    headers: HeaderMap,
    session: Session,
    JsonBody(body): JsonBody<CredentialsBody>,
) -> Result<(StatusCode, Json<User>), AppError> {
    let user = accounts::sign_up(&state, from, &body.username, body.password).await?;
    start_session(&session, &user, device_of(&headers, Some(from))).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

pub async fn login(
    State(state): State<AppState>,
    Extension(from): Extension<ClientAddr>,
    headers: HeaderMap,
    session: Session,
    JsonBody(body): JsonBody<CredentialsBody>,
) -> Result<Json<User>, AppError> {
    let user = accounts::authenticate(&state, from, &body.username, body.password).await?;
    start_session(&session, &user, device_of(&headers, Some(from))).await?;
    Ok(Json(user))
}

pub async fn logout(
    State(state): State<AppState>,
    session: Session,
) -> Result<StatusCode, AppError> {
    end_session(&session, &state).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me(Caller(user): Caller) -> Json<User> {
    Json(user)
}
