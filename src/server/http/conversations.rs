//! `/api/users` and `/api/conversations/...`: thin adapters over `messaging`.

use super::json::{user_id, JsonBody, QueryParams};
use crate::domain::admin::SearchHit;
use crate::domain::{ChatMessage, ClientId, ConversationSummary, HistoryPage, User};
use crate::error::AppError;
use crate::server::auth::Caller;
use crate::server::messaging;
use crate::server::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct PeopleQuery {
    #[serde(default)]
    q: String,
}

#[derive(Serialize)]
pub struct People {
    users: Vec<User>,
}

pub async fn find_people(
    State(state): State<AppState>,
    Caller(me): Caller,
    QueryParams(query): QueryParams<PeopleQuery>,
) -> Result<Json<People>, AppError> {
    Ok(Json(People {
        users: messaging::find_people(&state, &me, &query.q).await?,
    }))
}

#[derive(Serialize)]
pub struct Conversations {
    conversations: Vec<ConversationSummary>,
}

pub async fn list(
    State(state): State<AppState>,
    Caller(me): Caller,
) -> Result<Json<Conversations>, AppError> {
    Ok(Json(Conversations {
        conversations: messaging::conversations(&state, &me).await?.summaries,
    }))
}

#[derive(Deserialize)]
pub struct HistoryQuery {
    before: Option<i64>,
    limit: Option<u32>,
}

pub async fn history(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(peer): Path<String>,
    QueryParams(query): QueryParams<HistoryQuery>,
) -> Result<Json<HistoryPage>, AppError> {
    let page = messaging::history(&state, &me, user_id(&peer)?, query.before, query.limit).await?;
    Ok(Json(page))
}

#[derive(Deserialize)]
pub struct SendBody {
    message: String,
    client_id: Option<ClientId>,
}

pub async fn send(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(peer): Path<String>,
    JsonBody(body): JsonBody<SendBody>,
) -> Result<Response, AppError> {
    let stored =
        messaging::send_message(&state, &me, user_id(&peer)?, &body.message, body.client_id)
            .await?;
    // A retry answers exactly as the first send did, and says it was a replay.
    let replayed = if stored.is_new { "false" } else { "true" };
    Ok((
        StatusCode::CREATED,
        [("idempotent-replayed", replayed)],
        Json(stored.message),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct EditBody {
    message: String,
}

/// A message id from the path; anything but a number names no message.
fn message_id(raw: &str) -> Result<i64, AppError> {
    raw.parse()
        .map_err(|_| AppError::not_found("no such message"))
}

pub async fn edit(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path((peer, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<EditBody>,
) -> Result<Json<ChatMessage>, AppError> {
    let (peer, id) = (user_id(&peer)?, message_id(&id)?);
    Ok(Json(
        messaging::edit_message(&state, &me, Some(peer), id, &body.message).await?,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path((peer, id)): Path<(String, String)>,
) -> Result<Json<ChatMessage>, AppError> {
    let (peer, id) = (user_id(&peer)?, message_id(&id)?);
    Ok(Json(
        messaging::delete_message(&state, &me, Some(peer), id).await?,
    ))
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

#[derive(Serialize)]
pub struct SearchResults {
    hits: Vec<SearchHit>,
}

pub async fn search(
    State(state): State<AppState>,
    Caller(me): Caller,
    QueryParams(query): QueryParams<SearchQuery>,
) -> Result<Json<SearchResults>, AppError> {
    Ok(Json(SearchResults {
        hits: messaging::search_messages(&state, &me, &query.q).await?,
    }))
}
