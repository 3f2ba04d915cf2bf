//! Server functions the pages call. Each body is a thin adapter over the services in
//! `crate::server` (the same ones the JSON API uses), so a page and an API client can never
//! disagree about a rule.

pub mod admin;
pub mod auth;
pub mod blocks;
pub mod messaging;
pub mod settings;

/// Where the server functions below are served: each `#[server(prefix = "/_app", ...)]` says it
/// again, because an attribute cannot name a constant.
pub const SERVER_FN_PREFIX: &str = "/_app";

#[cfg(feature = "ssr")]
mod context {
    use crate::error::{AppError, ErrorCode};
    use crate::server::auth::{session_of, AdminCaller, Caller};
    use crate::server::state::AppState;
    use axum::extract::FromRequestParts;
    use axum::http::request::Parts;
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
            let accepts_html = use_context::<Parts>().is_some_and(|parts| {
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

    fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| AppError::internal("AppState not provided"))
    }

    fn request_parts() -> Result<Parts, AppError> {
        use_context::<Parts>().ok_or_else(|| AppError::internal("request parts not provided"))
    }

    /// Runs the same extractor a JSON handler would (`auth::Caller`, `auth::AdminCaller`, the
    /// session) on the request being served, keeping its rejection as it is (401, 404, ...).
    async fn extract<T: FromRequestParts<AppState, Rejection = AppError>>(
    ) -> Result<(AppState, T), AppError> {
        let state = state()?;
        let extracted = T::from_request_parts(&mut request_parts()?, &state).await?;
        Ok((state, extracted))
    }

    /// The shared state and the caller's session, for signing up, in and out.
    pub async fn session() -> Result<(AppState, Session), AppError> {
        let state = state()?;
        let session = session_of(&mut request_parts()?, &state).await?;
        Ok((state, session))
    }

    /// The caller must be logged in (401 otherwise).
    pub async fn logged_in() -> Result<(AppState, crate::domain::User), AppError> {
        let (state, Caller(me)) = extract::<Caller>().await?;
        Ok((state, me))
    }

    /// The caller must be an admin; everyone else gets 404.
    pub async fn admin() -> Result<(AppState, crate::domain::User), AppError> {
        let (state, AdminCaller(me)) = extract::<AdminCaller>().await?;
        Ok((state, me))
    }

    /// The device the request being served comes from, as a new session sees it.
    pub fn new_device() -> Result<crate::domain::Device, AppError> {
        Ok(crate::server::auth::device_of(
            &request_parts()?.headers,
            Some(client_addr()?),
        ))
    }

    /// The client address of the request being served (see `server::client_addr`).
    pub fn client_addr() -> Result<crate::server::client_addr::ClientAddr, AppError> {
        request_parts()?
            .extensions
            .get()
            .copied()
            .ok_or_else(|| AppError::internal("no client address for this request"))
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
                ErrorCode::ReasonFormRequired,
                "open a conversation through the reason form",
            ))
        }
    }
}
