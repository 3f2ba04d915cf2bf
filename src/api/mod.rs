//! Server functions the pages call. Each body is a thin adapter over the services in
//! `crate::server` (the same ones the JSON API uses), so a page and an API client can never
//! disagree about a rule.

pub mod admin;
pub mod auth;
pub mod messaging;

#[cfg(feature = "ssr")]
mod context {
    use crate::domain::User;
    use crate::error::AppError;
    use crate::server::auth::session_user;
    use crate::server::state::AppState;
    use leptos::prelude::*;
    use tower_sessions::Session;

    /// The shared state and the caller's session, from the request being served.
    pub async fn request() -> Result<(AppState, Session), AppError> {
        let state =
            use_context::<AppState>().ok_or_else(|| AppError::internal("AppState not provided"))?;
        let session = leptos_axum::extract::<Session>()
            .await
            .map_err(AppError::internal)?;
        Ok((state, session))
    }

    /// As `request`, but the caller must be an admin; everyone else gets 404.
    pub async fn admin() -> Result<(AppState, User), AppError> {
        let (state, session) = request().await?;
        let user =
            crate::server::admin::require_admin(session_user(&session, &state.store).await?)?;
        Ok((state, user))
    }

    /// As `request`, but the caller must be logged in.
    pub async fn logged_in() -> Result<(AppState, User), AppError> {
        let (state, session) = request().await?;
        let user = session_user(&session, &state.store)
            .await?
            .ok_or_else(AppError::unauthorized)?;
        Ok((state, user))
    }
}
