//! Request-body, query and path extraction whose failures are JSON errors like every other.

use crate::domain::UserId;
use crate::error::{AppError, ErrorCode};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// `axum::Json`, but a malformed body is 400 and a body of the wrong shape is 422, as JSON.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(JsonRejection::JsonDataError(e)) => Err(AppError::unprocessable(
                ErrorCode::InvalidInput,
                e.body_text(),
            )),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::UnsupportedMediaType {
                message: "expected Content-Type: application/json".into(),
            }),
            Err(e) => Err(AppError::bad_request(
                ErrorCode::MalformedJson,
                e.body_text(),
            )),
        }
    }
}

/// `axum::extract::Query`, but a bad query string is 422, as JSON.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e: QueryRejection| {
                AppError::unprocessable(ErrorCode::InvalidQuery, e.body_text())
            })
    }
}

/// A user id from the path. Anything that is not a number names nobody, so it is 404, as an
/// unknown id is.
pub fn user_id(raw: &str) -> Result<UserId, AppError> {
    raw.parse::<i64>()
        .map(UserId::new)
        .map_err(|_| AppError::no_such_user())
}
