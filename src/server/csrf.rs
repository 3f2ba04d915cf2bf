//! Cross-site request forgery and cross-site WebSocket hijacking defences.
//!
//! Three layers, documented in docs/API.md:
//! 1. The session cookie is `SameSite=Lax`: browsers do not attach it to cross-site POSTs.
//! 2. Every state-changing request, and every WebSocket upgrade, whose `Origin` header is present
//!    must come from this host; `Sec-Fetch-Site: cross-site` is refused outright.
//! 3. State-changing JSON API calls must be `Content-Type: application/json`, which a cross-site
//!    HTML form cannot send and which `fetch` cannot send cross-site without a CORS preflight
//!    (and we grant none).
//!
//! Audited admin reads are stricter still (`check_audited_read`), since some of them are GETs.

use crate::error::{AppError, ErrorCode};
use axum::extract::Request;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

fn cross_site() -> AppError {
    AppError::forbidden(
        ErrorCode::CrossSiteRequest,
        "cross-site requests are not allowed",
    )
}

/// Refuses a request that a browser says comes from another site.
pub fn check_origin(headers: &HeaderMap) -> Result<(), AppError> {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return Err(cross_site());
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Not a browser, or a same-origin GET: nothing to compare. Cookies still need SameSite.
        return Ok(());
    };
    let origin = origin.to_str().map_err(|_| cross_site())?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or_else(cross_site)?;
    // `Origin` is `scheme://host[:port]`; the part after the scheme must be exactly the Host we
    // were reached at. An opaque origin ("null") never matches.
    let authority = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .ok_or_else(cross_site)?;
    if authority.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(cross_site())
    }
}

/// For audited admin reads (a conversation, a search), which write an audit row: only this
/// origin, or the admin themselves (`Sec-Fetch-Site: none`: typed, bookmarked), may start one; a
/// client that is not a browser sends no `Sec-Fetch-Site` and passes. A sibling subdomain
/// (`same-site`) is refused as well as another site: it is another origin all the same.
pub fn check_audited_read(headers: &HeaderMap) -> Result<(), AppError> {
    match headers.get("sec-fetch-site").map(|v| v.as_bytes()) {
        None | Some(b"same-origin") | Some(b"none") => check_origin(headers),
        Some(_) => Err(cross_site()),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// Middleware over the whole app: origin checks for every unsafe method, and JSON-only writes
/// under `/api/`.
pub async fn reject_cross_site(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe {
        if let Err(refusal) = check_origin(request.headers()) {
            return refusal.into_response();
        }
        if request.uri().path().starts_with("/api/") && !is_json(request.headers()) {
            return AppError::UnsupportedMediaType {
                message:
                    "state-changing API requests must be sent as Content-Type: application/json"
                        .into(),
            }
            .into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn same_origin_passes() {
        assert!(check_origin(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000")
        ]))
        .is_ok());
        assert!(check_origin(&headers(&[
            ("host", "chat.example"),
            ("origin", "https://chat.example")
        ]))
        .is_ok());
    }

    #[test]
    fn no_origin_passes() {
        assert!(check_origin(&headers(&[("host", "127.0.0.1:3000")])).is_ok());
    }

    #[test]
    fn foreign_and_opaque_origins_fail() {
        for origin in [
            "http://evil.example",
            "null",
            "http://127.0.0.1:3001",
            "http://127.0.0.1:3000.evil",
        ] {
            let mut h = headers(&[("host", "127.0.0.1:3000")]);
            h.insert("origin", HeaderValue::from_str(origin).unwrap());
            assert!(check_origin(&h).is_err(), "{origin}");
        }
    }

    #[test]
    fn sec_fetch_site_cross_site_fails() {
        assert!(
            check_origin(&headers(&[("host", "a"), ("sec-fetch-site", "cross-site")])).is_err()
        );
        assert!(check_origin(&headers(&[
            ("host", "a"),
            ("sec-fetch-site", "same-origin")
        ]))
        .is_ok());
    }

    #[test]
    fn audited_reads_come_from_this_origin_the_admin_or_a_non_browser() {
        for passes in [
            headers(&[("host", "a")]),
            headers(&[("host", "a"), ("sec-fetch-site", "same-origin")]),
            headers(&[("host", "a"), ("sec-fetch-site", "none")]),
        ] {
            assert!(check_audited_read(&passes).is_ok(), "{passes:?}");
        }
        for refused in [
            headers(&[("host", "a"), ("sec-fetch-site", "cross-site")]),
            headers(&[("host", "a"), ("sec-fetch-site", "same-site")]),
            headers(&[("host", "a"), ("origin", "http://evil.example")]),
        ] {
            assert!(check_audited_read(&refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn content_type_json_with_charset_counts() {
        assert!(is_json(&headers(&[(
            "content-type",
            "application/json; charset=utf-8"
        )])));
        assert!(!is_json(&headers(&[("content-type", "text/plain")])));
        assert!(!is_json(&HeaderMap::new()));
    }
}
