//! `/api/blocks`: the people the caller has blocked. Thin adapters over `messaging`. Like every
//! write under `/api/`, POST and DELETE must say `Content-Type: application/json` (see `csrf`);
//! their body is ignored.

use crate::domain::{BlockedUser, UserId};
use crate::error::AppError;
use crate::server::auth::CurrentUser;
use crate::server::messaging::{self, unknown_peer};
use crate::server::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

/// A user id from the path; anything that is not a number names nobody, so it is 404.
fn user_id(raw: &str) -> Result<UserId, AppError> {
    raw.parse::<i64>()
        .map(UserId::new)
        .map_err(|_| unknown_peer())
}

#[derive(Serialize)]
pub struct Blocks {
    blocks: Vec<BlockedUser>,
}

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<Blocks>, AppError> {
    Ok(Json(Blocks {
        blocks: messaging::blocks(&state, &me).await?,
    }))
}

pub async fn block(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    messaging::block(&state, &me, user_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn unblock(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    messaging::unblock(&state, &me, user_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
