//! The security headers every answer carries: a Content-Security-Policy with a fresh nonce, framing,
//! sniffing, referrer and caching rules, and HSTS behind TLS (docs/API.md, "Headers").
//!
//! The nonce is chosen here, before the request is handled, and travels to the page render as a
//! request extension (`provide_request_nonce`), so the header and the page always carry the same
//! value. This module labels answers; it must not decide who may see what.

use super::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use leptos::nonce::Nonce;
use leptos::prelude::{provide_context, use_context};

/// What the policy allows, besides the one inline script the nonce lets through (the hydration
/// script, and any script Leptos streams into the page):
/// - scripts, styles, images, fetches and the WebSocket only from this origin (CSP3 `'self'` also
///   matches `ws:`/`wss:` to the same host and port);
/// - `'wasm-unsafe-eval'` to compile the app's WebAssembly, and nothing else `eval`-like;
/// - no plugins, no `<base>` elsewhere, forms only to this origin, no framing by anyone.
fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The same policy without a nonce: no inline script runs (pages still work, unhydrated). Only
/// used if a nonce ever failed to make a header value, which base64url text cannot.
const POLICY_WITHOUT_INLINE_SCRIPTS: &str = "default-src 'self'; \
    script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'; \
    object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// HSTS for a year, subdomains included; sent only when the cookies are `Secure` (served over TLS).
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000; includeSubDomains";

/// Middleware over the whole app (outermost, so refusals and not-found pages get the headers too).
pub async fn security_headers(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = Nonce::new();
    let asset_path = is_static_asset(request.uri().path());
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let status = response.status();
    let shared_file = asset_path && (status.is_success() || status == StatusCode::NOT_MODIFIED);
    let headers = response.headers_mut();
    let policy = HeaderValue::from_str(&content_security_policy(&nonce))
        .unwrap_or_else(|_| HeaderValue::from_static(POLICY_WITHOUT_INLINE_SCRIPTS));
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    set_fixed_headers(headers, state.config.secure_cookies);
    // Pages and API answers hold someone's messages, names or session state: no cache (a shared
    // proxy's or the browser's disk) may keep them. The built site's files, when found, are the
    // same for everyone.
    if !shared_file {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn set_fixed_headers(headers: &mut HeaderMap, behind_tls: bool) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Older browsers ignore CSP's frame-ancestors; they still honour this.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if behind_tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    }
}

/// Whether `path` names a file of the built site (`/pkg/…`, or a `public/` file such as
/// `/favicon.svg`): the same bytes for everyone. The API and server functions never are.
fn is_static_asset(path: &str) -> bool {
    if path.starts_with("/api/") || path.starts_with(crate::api::SERVER_FN_PREFIX) {
        return false;
    }
    let names_a_file = path
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'));
    path.starts_with("/pkg/") || names_a_file
}

/// Makes this request's nonce (chosen by `security_headers`) the one Leptos writes on the inline
/// scripts of the page. Call at the root of the render (the shell), before anything that reads
/// `use_nonce`; without the middleware (nothing to match), Leptos keeps its own.
pub fn provide_request_nonce() {
    let nonce = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Nonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(nonce);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_its_nonce_and_no_unsafe_inline() {
        let policy = content_security_policy("abc_-123");
        assert!(policy.contains("script-src 'self' 'nonce-abc_-123' 'wasm-unsafe-eval'"));
        assert!(!policy.contains("unsafe-inline"));
        for directive in [
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
        ] {
            assert!(policy.contains(directive), "{directive}");
            assert!(
                POLICY_WITHOUT_INLINE_SCRIPTS.contains(directive),
                "{directive}"
            );
        }
    }

    #[test]
    fn only_built_files_are_shared() {
        for asset in ["/pkg/parley.wasm", "/pkg/parley.css", "/favicon.svg"] {
            assert!(is_static_asset(asset), "{asset}");
        }
        for private in [
            "/",
            "/c/bob",
            "/admin",
            "/api/me",
            "/api/users/a.b",
            "/_app/admin/search",
            "/ws",
        ] {
            assert!(!is_static_asset(private), "{private}");
        }
    }
}
