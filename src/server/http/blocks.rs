//! `/api/blocks`: the people the caller has blocked. Thin adapters over `messaging`. Like every
//! write under `/api/`, POST and DELETE must say `Content-Type: application/json` (see `csrf`);
//! their body is ignored.

use super::json::user_id;
use crate::domain::BlockedUser;
use crate::error::AppError;
use crate::server::auth::Caller;
use crate::server::messaging;
use crate::server::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

#[derive(Serialize)]
pub struct Blocks {
    blocks: Vec<BlockedUser>,
}

pub async fn list(
    State(state): State<AppState>,
    Caller(me): Caller,
) -> Result<Json<Blocks>, AppError> {
    Ok(Json(Blocks {
        blocks: messaging::blocks(&state, &me).await?,
    }))
}

pub async fn block(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    messaging::block(&state, &me, user_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn unblock(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    messaging::unblock(&state, &me, user_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
