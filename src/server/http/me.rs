//! `/api/me/…`: the caller's own account: profile, password, sessions ("devices"), the export of
//! its data and its deletion. Thin adapters over `accounts` and `export`.

use super::json::JsonBody;
use crate::domain::{ActiveSession, User};
use crate::error::AppError;
use crate::server::accounts;
use crate::server::auth::Caller;
use crate::server::client_addr::ClientAddr;
use crate::server::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tower_sessions::Session;

pub async fn profile(Caller(me): Caller) -> Json<User> {
    Json(me)
}

#[derive(Deserialize)]
pub struct ProfileBody {
    /// `null`, missing or empty: no display name.
    #[serde(default)]
    display_name: Option<String>,
}

pub async fn set_profile(
    State(state): State<AppState>,
    Caller(me): Caller,
    JsonBody(body): JsonBody<ProfileBody>,
) -> Result<Json<User>, AppError> {
    let user = accounts::set_display_name(&state, &me, body.display_name.as_deref()).await?;
    Ok(Json(user))
}

#[derive(Deserialize)]
pub struct DeleteBody {
    password: String,
    /// The account's username, typed again.
    confirm: String,
}

pub async fn delete_account(
    State(state): State<AppState>,
    Extension(from): Extension<ClientAddr>,
    Caller(me): Caller,
    session: Session,
    JsonBody(body): JsonBody<DeleteBody>,
) -> Result<StatusCode, AppError> {
    accounts::delete_account(&state, &session, from, &me, body.password, &body.confirm).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct PasswordBody {
    current_password: String,
    new_password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    Extension(from): Extension<ClientAddr>,
    Caller(me): Caller,
    session: Session,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<StatusCode, AppError> {
    accounts::change_password(
        &state,
        &session,
        from,
        &me,
        body.current_password,
        body.new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub struct Sessions {
    sessions: Vec<ActiveSession>,
}

pub async fn sessions(
    State(state): State<AppState>,
    Caller(me): Caller,
    session: Session,
) -> Result<Json<Sessions>, AppError> {
    Ok(Json(Sessions {
        sessions: accounts::devices(&state, &session, &me).await?,
    }))
}

pub async fn log_out_session(
    State(state): State<AppState>,
    Caller(me): Caller,
    session: Session,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let device = id
        .parse()
        .map_err(|_| AppError::not_found("no such session"))?;
    accounts::log_out_device(&state, &session, &me, device).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn log_out_others(
    State(state): State<AppState>,
    Caller(me): Caller,
    session: Session,
) -> Result<Json<Value>, AppError> {
    let ended = accounts::log_out_other_devices(&state, &session, &me).await?;
    Ok(Json(json!({ "logged_out": ended })))
}

/// The export, as a file to save: `parley-<username>-<date>.json`.
pub async fn export(State(state): State<AppState>, Caller(me): Caller) -> Response {
    let file = format!(
        "attachment; filename=\"parley-{}-{}.json\"",
        me.username,
        chrono::Utc::now().format("%Y-%m-%d")
    );
    (
        [
            (CONTENT_TYPE, "application/json".to_owned()),
            (CONTENT_DISPOSITION, file),
        ],
        Body::from_stream(crate::server::export::export(state, me)),
    )
        .into_response()
}
