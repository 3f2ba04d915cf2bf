use super::json::{JsonBody, QueryParams};
use crate::domain::{ChatMessage, ClientId, ConversationSummary, User, UserId};
use crate::error::AppError;
use crate::server::auth::CurrentUser;
use crate::server::messaging::{self, unknown_peer};
use crate::server::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

/// A peer id from the path; anything that is not a number names nobody, so it is 404.
fn peer_id(raw: &str) -> Result<UserId, AppError> {
    raw.parse::<i64>()
        .map(UserId::new)
        .map_err(|_| unknown_peer())
}

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
    CurrentUser(me): CurrentUser,
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
    CurrentUser(me): CurrentUser,
) -> Result<Json<Conversations>, AppError> {
    Ok(Json(Conversations {
        conversations: messaging::conversations(&state, &me).await?,
    }))
}

#[derive(Deserialize)]
pub struct HistoryQuery {
    before: Option<i64>,
    limit: Option<u32>,
}

#[derive(Serialize)]
pub struct Messages {
    messages: Vec<ChatMessage>,
    has_more: bool,
}

pub async fn history(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(peer): Path<String>,
    QueryParams(query): QueryParams<HistoryQuery>,
) -> Result<Json<Messages>, AppError> {
    let page = messaging::history(&state, &me, peer_id(&peer)?, query.before, query.limit).await?;
    Ok(Json(Messages {
        messages: page.messages,
        has_more: page.has_more,
    }))
}

#[derive(Deserialize)]
pub struct SendBody {
    message: String,
    client_id: Option<ClientId>,
}

pub async fn send(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(peer): Path<String>,
    JsonBody(body): JsonBody<SendBody>,
) -> Result<Response, AppError> {
    let stored =
        messaging::send_message(&state, &me, peer_id(&peer)?, &body.message, body.client_id)
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
