//! `/api/admin/*`. One router, one guard: every route added here is behind `admins_only`, which
//! answers everyone else exactly as an unknown API path (404, whatever the method), so a new route
//! cannot forget the check. The audited reads (messages, search) also refuse requests another
//! site started (`check_audited_read`); they stay GETs for clients that are not browsers.

use super::json::{user_id, JsonBody, QueryParams};
use crate::domain::admin::{
    AccountSummary, AuditEntry, ChatSummary, ConversationExcerpt, ConversationRead, Retention,
    SearchHit,
};
use crate::domain::User;
use crate::error::AppError;
use crate::server::admin;
use crate::server::auth::AdminCaller;
use crate::server::csrf::check_audited_read;
use crate::server::reset_links::{self, MadeBy, ResetLink};
use crate::server::state::AppState;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, MethodRouter};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/users", only(get(users)))
        .route("/users/{id}/disable", only(set_disabled(true)))
        .route("/users/{id}/enable", only(set_disabled(false)))
        .route("/users/{id}/reset-link", only(post(reset_link)))
        .route("/chats", only(get(chats)))
        .route("/chats/{user_a}/{user_b}/messages", only(get(messages)))
        .route("/search", only(get(search)))
        .route("/audit", only(get(audit)))
        .route("/retention", only(get(retention)))
        .route_layer(middleware::from_fn_with_state(state, admins_only))
}

/// `methods`, answering every other method exactly as an unknown API path does: 404, where axum
/// would say 405 with an `Allow` header, which tells anyone that the path exists.
fn only(methods: MethodRouter<AppState>) -> MethodRouter<AppState> {
    methods.merge(any(|| async { super::no_such_route() }))
}

async fn admins_only(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    match AdminCaller::from_request_parts(&mut parts, &state).await {
        // The handlers' own `AdminCaller` finds this answer in the request, without a new read.
        Ok(_) => next.run(Request::from_parts(parts, body)).await,
        // Not the pages' "no such page": byte for byte what an unknown API path answers.
        Err(AppError::NotFound { .. }) => super::no_such_route().into_response(),
        Err(err) => err.into_response(),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default = "first_page")]
    page: u32,
}

fn first_page() -> u32 {
    1
}

#[derive(Serialize)]
struct Users {
    users: Vec<AccountSummary>,
}

async fn users(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Users>, AppError> {
    Ok(Json(Users {
        users: admin::accounts(&state, &query.q, query.page).await?,
    }))
}

#[derive(Serialize)]
struct Chats {
    chats: Vec<ChatSummary>,
}

async fn chats(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Chats>, AppError> {
    Ok(Json(Chats {
        chats: admin::chats(&state, query.user.as_deref(), query.page).await?,
    }))
}

async fn messages(
    State(state): State<AppState>,
    AdminCaller(me): AdminCaller,
    headers: HeaderMap,
    Path((a, b)): Path<(String, String)>,
    QueryParams(read): QueryParams<ConversationRead>,
) -> Result<Json<ConversationExcerpt>, AppError> {
    check_audited_read(&headers)?;
    let excerpt =
        admin::read_conversation(&state, &me, (user_id(&a)?, user_id(&b)?), &read).await?;
    Ok(Json(excerpt))
}

#[derive(Serialize)]
struct Hits {
    hits: Vec<SearchHit>,
}

async fn search(
    State(state): State<AppState>,
    AdminCaller(me): AdminCaller,
    headers: HeaderMap,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Hits>, AppError> {
    check_audited_read(&headers)?;
    Ok(Json(Hits {
        hits: admin::search(&state, &me, &query.q).await?,
    }))
}

#[derive(Serialize)]
struct Audit {
    entries: Vec<AuditEntry>,
}

async fn audit(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Audit>, AppError> {
    Ok(Json(Audit {
        entries: admin::audit_log(&state, query.page).await?,
    }))
}

async fn retention(State(state): State<AppState>) -> Result<Json<Retention>, AppError> {
    Ok(Json(admin::retention(&state).await?))
}

#[derive(Serialize)]
struct Disabled {
    user: User,
    disabled: bool,
}

/// `POST /users/{id}/disable` and `/enable`: one handler, told by its route which one it is.
fn set_disabled(disabled: bool) -> MethodRouter<AppState> {
    post(
        move |State(state): State<AppState>,
              AdminCaller(me): AdminCaller,
              Path(id): Path<String>| async move {
            let user = admin::set_disabled(&state, &me, user_id(&id)?, disabled).await?;
            Ok::<_, AppError>(Json(Disabled { user, disabled }))
        },
    )
}

#[derive(Deserialize)]
struct ResetLinkBody {
    #[serde(default)]
    reason: String,
}

/// `POST /users/{id}/reset-link`: a one-time password reset link for the user, shown once.
async fn reset_link(
    State(state): State<AppState>,
    AdminCaller(me): AdminCaller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ResetLinkBody>,
) -> Result<(StatusCode, Json<ResetLink>), AppError> {
    let made_by = MadeBy::Admin {
        admin: &me,
        reason: &body.reason,
    };
    let link = reset_links::create(&state, made_by, user_id(&id)?).await?;
    Ok((StatusCode::CREATED, Json(link)))
}
