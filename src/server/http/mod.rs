//! The JSON API for other clients (docs/API.md), nested under `/api`. Thin adapters: extract, call the service in
//! `accounts` / `messaging`, shape the response. Every error is `{"error":{"code","message"}}`.

mod admin;
mod auth;
mod blocks;
mod conversations;
pub(crate) mod health;
pub(crate) mod json;
mod me;

use super::state::AppState;
use axum::routing::{delete, get, patch, post};
use axum::Router;

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/auth/signup", post(auth::signup))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/me/profile", get(me::profile).put(me::set_profile))
        .route("/me/password", post(me::change_password))
        .route("/me/delete", post(me::delete_account))
        .route("/me/export", get(me::export))
        .route("/me/sessions", get(me::sessions))
        .route("/me/sessions/log-out-others", post(me::log_out_others))
        .route("/me/sessions/{id}", delete(me::log_out_session))
        .route("/users", get(conversations::find_people))
        .route("/conversations", get(conversations::list))
        .route("/blocks", get(blocks::list))
        .route(
            "/blocks/{user_id}",
            post(blocks::block).delete(blocks::unblock),
        )
        .route(
            "/conversations/{peer_id}/messages",
            get(conversations::history).post(conversations::send),
        )
        .route(
            "/conversations/{peer_id}/messages/{id}",
            patch(conversations::edit).delete(conversations::delete),
        )
        .route("/search", get(conversations::search))
        .nest("/admin", admin::routes(state))
        .fallback(|| async { no_such_route() })
}

/// The answer to an unknown API path; `/api/admin/*` gives the same to everyone but admins.
fn no_such_route() -> crate::error::AppError {
    crate::error::AppError::not_found("no such API route")
}
