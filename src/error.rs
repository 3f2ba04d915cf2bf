//! `AppError`: the one error type at every boundary: server functions, the JSON API and pages.
//! `ErrorCode`: the one table of stable codes a client can see, over HTTP (docs/API.md) and over
//! the socket (docs/PROTOCOL.md); a unit test holds both documents to it.
//!
//! Each variant knows its HTTP status and a stable `code` that clients match on. Internal causes are
//! logged on the server (see `AppError::internal`) and never sent to a client. Domain and store
//! errors convert themselves (`From`), so services use `?` and say only what is special.

use crate::domain::{
    ChangeRefusal, DisplayNameError, MessageTextError, PasswordError, SendRefusal, UsernameError,
};
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Every stable error code, in one place. Serialized as its snake_case name (`as_str`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    // 400: the request itself is malformed.
    BadRequest,
    /// Said by the browser's own server-function client when the server cannot be reached.
    Network,
    MalformedJson,
    InvalidForm,
    ReasonFormRequired,
    ReasonRequired,
    QueryRequired,
    // 401
    Unauthorized,
    InvalidCredentials,
    // 403
    CrossSiteRequest,
    AccountDisabled,
    Blocked,
    NotYours,
    WrongPassword,
    // 404
    NotFound,
    // 409
    UsernameTaken,
    EditWindowPassed,
    AlreadyDeleted,
    // 415
    UnsupportedMediaType,
    // 422: a field failed validation.
    InvalidInput,
    InvalidQuery,
    InvalidUsername,
    InvalidPassword,
    InvalidDisplayName,
    ConfirmationMismatch,
    InvalidClientId,
    InvalidLimit,
    EmptyMessage,
    MessageTooLong,
    InvalidText,
    CannotBlockSelf,
    CannotDisableSelf,
    ReasonTooLong,
    // 429
    TooManyAttempts,
    TooManySignups,
    RateLimited,
    TooManyConnections,
    // 5xx
    Busy,
    Internal,
    // Over the socket only (docs/PROTOCOL.md).
    InvalidFrame,
    UnknownType,
    BinaryNotSupported,
    UnknownReceiver,
}

impl ErrorCode {
    /// Every code, for the tests that hold the documents to this table.
    pub const ALL: [ErrorCode; 43] = [
        Self::BadRequest,
        Self::Network,
        Self::MalformedJson,
        Self::InvalidForm,
        Self::ReasonFormRequired,
        Self::ReasonRequired,
        Self::QueryRequired,
        Self::Unauthorized,
        Self::InvalidCredentials,
        Self::CrossSiteRequest,
        Self::AccountDisabled,
        Self::Blocked,
        Self::NotYours,
        Self::WrongPassword,
        Self::NotFound,
        Self::UsernameTaken,
        Self::EditWindowPassed,
        Self::AlreadyDeleted,
        Self::UnsupportedMediaType,
        Self::InvalidInput,
        Self::InvalidQuery,
        Self::InvalidUsername,
        Self::InvalidPassword,
        Self::InvalidDisplayName,
        Self::ConfirmationMismatch,
        Self::InvalidClientId,
        Self::InvalidLimit,
        Self::EmptyMessage,
        Self::MessageTooLong,
        Self::InvalidText,
        Self::CannotBlockSelf,
        Self::CannotDisableSelf,
        Self::ReasonTooLong,
        Self::TooManyAttempts,
        Self::TooManySignups,
        Self::RateLimited,
        Self::TooManyConnections,
        Self::Busy,
        Self::Internal,
        Self::InvalidFrame,
        Self::UnknownType,
        Self::BinaryNotSupported,
        Self::UnknownReceiver,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Network => "network",
            Self::MalformedJson => "malformed_json",
            Self::InvalidForm => "invalid_form",
            Self::ReasonFormRequired => "reason_form_required",
            Self::ReasonRequired => "reason_required",
            Self::QueryRequired => "query_required",
            Self::Unauthorized => "unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::CrossSiteRequest => "cross_site_request",
            Self::AccountDisabled => "account_disabled",
            Self::Blocked => "blocked",
            Self::NotYours => "not_yours",
            Self::WrongPassword => "wrong_password",
            Self::NotFound => "not_found",
            Self::UsernameTaken => "username_taken",
            Self::EditWindowPassed => "edit_window_passed",
            Self::AlreadyDeleted => "already_deleted",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::InvalidInput => "invalid_input",
            Self::InvalidQuery => "invalid_query",
            Self::InvalidUsername => "invalid_username",
            Self::InvalidDisplayName => "invalid_display_name",
            Self::ConfirmationMismatch => "confirmation_mismatch",
            Self::InvalidPassword => "invalid_password",
            Self::InvalidClientId => "invalid_client_id",
            Self::InvalidLimit => "invalid_limit",
            Self::EmptyMessage => "empty_message",
            Self::MessageTooLong => "message_too_long",
            Self::InvalidText => "invalid_text",
            Self::CannotBlockSelf => "cannot_block_self",
            Self::CannotDisableSelf => "cannot_disable_self",
            Self::ReasonTooLong => "reason_too_long",
            Self::TooManyAttempts => "too_many_attempts",
            Self::TooManySignups => "too_many_signups",
            Self::RateLimited => "rate_limited",
            Self::TooManyConnections => "too_many_connections",
            Self::Busy => "busy",
            Self::Internal => "internal",
            Self::InvalidFrame => "invalid_frame",
            Self::UnknownType => "unknown_type",
            Self::BinaryNotSupported => "binary_not_supported",
            Self::UnknownReceiver => "unknown_receiver",
        }
    }
}

// By hand rather than derived: `as_str` is then the one list of names, and the browser's wasm
// carries one lookup instead of the derive's matchers for strings and for bytes (7 KiB).
impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Self::ALL
            .into_iter()
            .find(|code| code.as_str() == name)
            .ok_or_else(|| serde::de::Error::custom(format_args!("unknown error code `{name}`")))
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppError {
    /// 400: the request is malformed (not the content of a field, which is 422).
    #[error("{message}")]
    BadRequest { code: ErrorCode, message: String },
    /// 401: not logged in, or wrong credentials.
    #[error("{message}")]
    Unauthorized { code: ErrorCode, message: String },
    /// 403: refused whatever the credentials (cross-site request, wrong content type).
    #[error("{message}")]
    Forbidden { code: ErrorCode, message: String },
    /// 404: absent, or present but not yours to see (the two are not told apart).
    #[error("{message}")]
    NotFound { message: String },
    /// 409: the request conflicts with what is stored (a taken username).
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// 415: a JSON endpoint was sent something other than JSON.
    #[error("{message}")]
    UnsupportedMediaType { message: String },
    /// 422: a field failed validation; the message says which and why.
    #[error("{message}")]
    Unprocessable { code: ErrorCode, message: String },
    /// 429: a rate limit was reached; try again after `retry_after` seconds (`Retry-After`).
    #[error("{message}")]
    TooManyRequests {
        code: ErrorCode,
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
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized() -> Self {
        Self::Unauthorized {
            code: ErrorCode::Unauthorized,
            message: "you must be logged in".into(),
        }
    }

    pub fn invalid_credentials() -> Self {
        Self::Unauthorized {
            code: ErrorCode::InvalidCredentials,
            message: "invalid username or password".into(),
        }
    }

    pub fn forbidden(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound {
            message: message.into(),
        }
    }

    /// The 404 for a user id or name that names nobody (or nobody the caller may see).
    pub fn no_such_user() -> Self {
        Self::not_found("no such user")
    }

    /// The 400 for a search with no words in it.
    pub fn query_required() -> Self {
        Self::bad_request(ErrorCode::QueryRequired, "type something to search for")
    }

    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn unprocessable(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Unprocessable {
            code,
            message: message.into(),
        }
    }

    pub fn too_many_requests(
        code: ErrorCode,
        message: impl Into<String>,
        retry_after: u64,
    ) -> Self {
        Self::TooManyRequests {
            code,
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

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::TooManyRequests { code, .. } => *code,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::UnsupportedMediaType { .. } => ErrorCode::UnsupportedMediaType,
            Self::Internal => ErrorCode::Internal,
            Self::Busy { .. } => ErrorCode::Busy,
        }
    }
}

impl From<UsernameError> for AppError {
    fn from(err: UsernameError) -> Self {
        Self::unprocessable(ErrorCode::InvalidUsername, err.to_string())
    }
}

impl From<DisplayNameError> for AppError {
    fn from(err: DisplayNameError) -> Self {
        Self::unprocessable(ErrorCode::InvalidDisplayName, err.to_string())
    }
}

impl From<PasswordError> for AppError {
    fn from(err: PasswordError) -> Self {
        Self::unprocessable(ErrorCode::InvalidPassword, err.to_string())
    }
}

impl From<ChangeRefusal> for AppError {
    fn from(refusal: ChangeRefusal) -> Self {
        let message = refusal.to_string();
        match refusal {
            ChangeRefusal::NoSuchMessage => Self::not_found(message),
            ChangeRefusal::NotYours => Self::forbidden(ErrorCode::NotYours, message),
            ChangeRefusal::EditWindowPassed => Self::conflict(ErrorCode::EditWindowPassed, message),
            ChangeRefusal::AlreadyDeleted => Self::conflict(ErrorCode::AlreadyDeleted, message),
            ChangeRefusal::Blocked => Self::forbidden(ErrorCode::Blocked, message),
        }
    }
}

impl From<MessageTextError> for AppError {
    fn from(err: MessageTextError) -> Self {
        let code = match err {
            MessageTextError::Empty => ErrorCode::EmptyMessage,
            MessageTextError::TooLong { .. } => ErrorCode::MessageTooLong,
            MessageTextError::ControlCharacter { .. } => ErrorCode::InvalidText,
        };
        Self::unprocessable(code, err.to_string())
    }
}

/// Why a send was refused, as the sender may hear it.
impl From<SendRefusal> for AppError {
    fn from(why: SendRefusal) -> Self {
        match why {
            SendRefusal::IBlocked => Self::forbidden(
                ErrorCode::Blocked,
                "you have blocked this person; unblock them to write",
            ),
            // Nothing more: not whether, when or why.
            SendRefusal::PeerBlocked => {
                Self::forbidden(ErrorCode::Blocked, "you can't message this person")
            }
            // As for an account that never existed: there is nobody to write to.
            SendRefusal::PeerDeleted => Self::not_found("that account was deleted"),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::Deserialization(m) => {
                Self::bad_request(ErrorCode::BadRequest, m)
            }
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => Self::BadRequest {
                code: ErrorCode::Network,
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
mod server {
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

    /// Failures with no meaning for the client: logged once, answered as 500.
    macro_rules! internal_from {
        ($($cause:ty),* $(,)?) => {$(
            impl From<$cause> for AppError {
                fn from(cause: $cause) -> Self {
                    Self::internal(cause)
                }
            }
        )*};
    }

    internal_from!(anyhow::Error, tower_sessions::session::Error);
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;
    use std::collections::HashSet;

    #[test]
    fn each_code_is_its_serialized_name_and_unique() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert!(seen.insert(code.as_str()), "{code} twice");
            let json = format!("\"{code}\"");
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
        let unknown = serde_json::from_str::<ErrorCode>("\"no_such_code\"").unwrap_err();
        assert!(unknown
            .to_string()
            .contains("unknown error code `no_such_code`"));
    }

    #[test]
    fn message_text_errors_keep_their_codes() {
        use crate::domain::MessageText;
        for (raw, code) in [
            ("", ErrorCode::EmptyMessage),
            ("0123456789x", ErrorCode::MessageTooLong),
            ("\u{0}", ErrorCode::InvalidText),
        ] {
            let err = super::AppError::from(MessageText::parse(raw, 10).unwrap_err());
            assert_eq!((err.code(), err.status()), (code, 422), "{raw:?}");
        }
    }

    /// The table here is the contract; the documents must name every code a client can meet.
    #[test]
    fn the_api_and_protocol_documents_name_every_code() {
        let docs = [
            include_str!("../docs/API.md"),
            include_str!("../docs/PROTOCOL.md"),
        ]
        .concat();
        let missing: Vec<_> = ErrorCode::ALL
            .iter()
            .filter(|code| !docs.contains(&format!("`{code}`")))
            .collect();
        assert!(missing.is_empty(), "not documented: {missing:?}");
    }
}
