//! `AppError`: the one error type at every boundary: server functions, the JSON API and pages.
//!
//! Each variant knows its HTTP status and a stable `code` that clients match on. Internal causes are
//! logged on the server (see `AppError::internal`) and never sent to a client.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppError {
    /// 400: the request is malformed (not the content of a field, which is 422).
    #[error("{message}")]
    BadRequest { code: String, message: String },
    /// 401: not logged in, or wrong credentials.
    #[error("{message}")]
    Unauthorized { code: String, message: String },
    /// 403: refused whatever the credentials (cross-site request, wrong content type).
    #[error("{message}")]
    Forbidden { code: String, message: String },
    /// 404: absent, or present but not yours to see (the two are not told apart).
    #[error("{message}")]
    NotFound { message: String },
    /// 409: the request conflicts with what is stored (a taken username).
    #[error("{message}")]
    Conflict { code: String, message: String },
    /// 415: a JSON endpoint was sent something other than JSON.
    #[error("{message}")]
    UnsupportedMediaType { message: String },
    /// 422: a field failed validation; the message says which and why.
    #[error("{message}")]
    Unprocessable { code: String, message: String },
    /// 429: a rate limit was reached; try again after `retry_after` seconds (`Retry-After`).
    #[error("{message}")]
    TooManyRequests {
        code: String,
        message: String,
        retry_after: u64,
    },
    /// 503: the server is too busy to take this now; try again after `retry_after` seconds.
    #[error("the server is busy; please try again in a moment")]
    Busy { retry_after: u64 },
    /// 500: something failed on our side; the cause is in the server log only.
    #[error("something went wrong on our side; please try again")]
    Internal,
}

impl AppError {
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn unauthorized() -> Self {
        Self::Unauthorized {
            code: "unauthorized".into(),
            message: "you must be logged in".into(),
        }
    }

    pub fn invalid_credentials() -> Self {
        Self::Unauthorized {
            code: "invalid_credentials".into(),
            message: "invalid username or password".into(),
        }
    }

    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound {
            message: message.into(),
        }
    }

    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn unprocessable(code: &str, message: impl Into<String>) -> Self {
        Self::Unprocessable {
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn too_many_requests(code: &str, message: impl Into<String>, retry_after: u64) -> Self {
        Self::TooManyRequests {
            code: code.into(),
            message: message.into(),
            // Never "0": a client told to retry at once would only hit the limit again.
            retry_after: retry_after.max(1),
        }
    }

    /// Seconds a client should wait before trying again, for the `Retry-After` header.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after, .. } | Self::Busy { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    /// Logs the cause once, on the server, and hides it from the client.
    #[cfg(feature = "ssr")]
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::Internal
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest { .. } => 400,
            Self::Unauthorized { .. } => 401,
            Self::Forbidden { .. } => 403,
            Self::NotFound { .. } => 404,
            Self::Conflict { .. } => 409,
            Self::UnsupportedMediaType { .. } => 415,
            Self::Unprocessable { .. } => 422,
            Self::TooManyRequests { .. } => 429,
            Self::Internal => 500,
            Self::Busy { .. } => 503,
        }
    }

    pub fn code(&self) -> &str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::TooManyRequests { code, .. } => code,
            Self::NotFound { .. } => "not_found",
            Self::UnsupportedMediaType { .. } => "unsupported_media_type",
            Self::Internal => "internal",
            Self::Busy { .. } => "busy",
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::Deserialization(m) => {
                Self::bad_request("bad_request", m)
            }
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => Self::BadRequest {
                code: "network".into(),
                message: "could not reach the server; check your connection".into(),
            },
            #[cfg(feature = "ssr")]
            other => Self::internal(other),
            #[cfg(not(feature = "ssr"))]
            _ => Self::Internal,
        }
    }
}

#[cfg(feature = "ssr")]
mod http {
    use super::AppError;
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::Json;

    impl IntoResponse for AppError {
        fn into_response(self) -> Response {
            let status =
                StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = serde_json::json!({ "error": { "code": self.code(), "message": self.to_string() } });
            let mut response = (status, Json(body)).into_response();
            if let Some(seconds) = self.retry_after() {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, seconds.into());
            }
            response
        }
    }
}
