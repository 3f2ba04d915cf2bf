//! Server functions the pages call. Each body is a thin adapter over the services in
//! `crate::server` (the same ones the JSON API uses), so a page and an API client can never
//! disagree about a rule.

pub mod admin;
pub mod auth;
pub mod blocks;
pub mod messaging;

#[cfg(feature = "ssr")]
mod context {
    use crate::domain::User;
    use crate::error::AppError;
    use crate::server::auth::{session_user, ResolvedUser};
    use crate::server::state::AppState;
    use leptos::prelude::*;
    use tower_sessions::Session;

    /// Gives a failed server-function call its real HTTP status (401, 404, 422, ...) instead of
    /// server_fn's default 500. Not for a plain form post without JavaScript (it accepts HTML):
    /// that one must stay a redirect back to the form, which shows the error.
    pub async fn respond<T>(
        result: impl std::future::Future<Output = Result<T, AppError>>,
    ) -> Result<T, AppError> {
        let result = result.await;
        if let Err(err) = &result {
            let accepts_html = use_context::<axum::http::request::Parts>().is_some_and(|parts| {
                parts
                    .headers
                    .get(axum::http::header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("text/html"))
            });
            if let (false, Some(response)) =
                (accepts_html, use_context::<leptos_axum::ResponseOptions>())
            {
                if let Ok(status) = axum::http::StatusCode::from_u16(err.status()) {
                    response.set_status(status);
                }
                if let Some(seconds) = err.retry_after() {
                    response.insert_header(axum::http::header::RETRY_AFTER, seconds.into());
                }
            }
        }
        result
    }

    /// The shared state and the caller's session, from the request being served.
    pub async fn request() -> Result<(AppState, Session), AppError> {
        let state =
            use_context::<AppState>().ok_or_else(|| AppError::internal("AppState not provided"))?;
        let session = leptos_axum::extract::<Session>()
            .await
            .map_err(AppError::internal)?;
        Ok((state, session))
    }

    /// The client address of the request being served (see `server::client_addr`).
    pub fn client_addr() -> Result<crate::server::client_addr::ClientAddr, AppError> {
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get().copied())
            .ok_or_else(|| AppError::internal("no client address for this request"))
    }

    /// As `request`, but the caller must be an admin; everyone else gets 404.
    pub async fn admin() -> Result<(AppState, User), AppError> {
        let (state, session) = request().await?;
        let user = crate::server::admin::require_admin(caller(&state, &session).await?)?;
        Ok((state, user))
    }

    /// Audited reads (a conversation, a search) refuse a request another site started, by the
    /// headers of the request being served: the page's, when a render calls this in-process.
    pub fn refuse_cross_site_read() -> Result<(), AppError> {
        crate::server::csrf::check_audited_read(&request_parts()?.headers)
    }

    /// The request being served must be a POST: a page GET (any link) must not read a
    /// conversation, only the reason form's POST may.
    pub fn require_post() -> Result<(), AppError> {
        if request_parts()?.method == axum::http::Method::POST {
            Ok(())
        } else {
            Err(AppError::bad_request(
                "reason_form_required",
                "open a conversation through the reason form",
            ))
        }
    }

    fn request_parts() -> Result<axum::http::request::Parts, AppError> {
        use_context::<axum::http::request::Parts>()
            .ok_or_else(|| AppError::internal("request parts not provided"))
    }

    /// As `request`, but the caller must be logged in.
    pub async fn logged_in() -> Result<(AppState, User), AppError> {
        let (state, session) = request().await?;
        let user = caller(&state, &session)
            .await?
            .ok_or_else(AppError::unauthorized)?;
        Ok((state, user))
    }

    /// Who is calling: as the page guard already found out for this request (a page render
    /// calls several server functions, each of which would otherwise read the account again),
    /// or else from the session.
    async fn caller(state: &AppState, session: &Session) -> Result<Option<User>, AppError> {
        let resolved = use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<ResolvedUser>().cloned());
        match resolved {
            Some(ResolvedUser(user)) => Ok(user),
            None => session_user(session, &state.store).await,
        }
    }
}
