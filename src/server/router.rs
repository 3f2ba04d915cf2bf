//! `build_router`: the whole HTTP surface in one place, shared by `main` and the tests.

use super::auth::{AdminCaller, MaybeCaller};
use super::client_addr::resolve_client_addr;
use super::csrf::reject_cross_site;
use super::headers::security_headers;
use super::pages::not_found_page;
use super::realtime::ws::ws_handler;
use super::state::AppState;
use crate::api::SERVER_FN_PREFIX;
use crate::error::AppError;
use anyhow::Context;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use std::time::Duration;
use tower_sessions::cookie::{time, SameSite};
use tower_sessions::{Expiry, SessionManagerLayer};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "parley_session";

pub async fn build_router(state: AppState) -> anyhow::Result<Router> {
    // Sessions live in the application database, so a restart logs nobody out.
    let sessions = state.store.session_records();
    tokio::spawn(
        sessions
            .clone()
            .delete_expired_every(Duration::from_secs(60)),
    );
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(30)));

    let trusted_proxies = state.config.trusted_proxies.clone();
    Ok(Router::new()
        .route("/ws", get(ws_handler))
        .route("/healthz", get(super::http::health::alive))
        .route("/readyz", get(super::http::health::ready))
        .nest("/api", super::http::routes(state.clone()))
        .merge(super::pages::routes(&state))
        .layer(middleware::from_fn_with_state(state.clone(), guard_pages))
        .layer(session_layer)
        .layer(middleware::from_fn(reject_cross_site))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(middleware::from_fn(move |request, next| {
            resolve_client_addr(trusted_proxies.clone(), request, next)
        }))
        .with_state(state))
}

/// Pages need a login, except the login and signup pages, which a logged-in visitor skips.
/// The admin console is, to everyone but admins, exactly an unknown path: the not-found page.
/// Who is calling is resolved here once (`auth`), and the page's server functions reuse it.
async fn guard_pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let (mut parts, body) = request.into_parts();
    if path == "/admin" || path.starts_with("/admin/") {
        // Every method, anonymous visitors included: no redirect to the login page and no 405,
        // either of which would say the console exists.
        return match AdminCaller::from_request_parts(&mut parts, &state).await {
            Ok(_) => next.run(Request::from_parts(parts, body)).await,
            Err(AppError::NotFound { .. }) => not_found_page(),
            Err(err) => err.into_response(),
        };
    }
    // A path no page route matched goes on to the fallback's not-found page, logged in or not.
    let routed = parts.extensions.get::<MatchedPath>().is_some();
    if !matches!(parts.method, Method::GET | Method::HEAD) || !is_page(&path) || !routed {
        return next.run(Request::from_parts(parts, body)).await;
    }
    // A reset link works for whoever holds it, logged in or not.
    if path.starts_with("/reset/") {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let logged_in = match MaybeCaller::from_request_parts(&mut parts, &state).await {
        Ok(MaybeCaller(user)) => user.is_some(),
        Err(err) => return err.into_response(),
    };
    let public = path == "/login" || path == "/signup";
    match (public, logged_in) {
        (true, true) => Redirect::to("/").into_response(),
        (false, false) => Redirect::to("/login").into_response(),
        _ => next.run(Request::from_parts(parts, body)).await,
    }
}

/// Whether `path` is a page (rendered by Leptos) rather than an asset, the API or the socket.
fn is_page(path: &str) -> bool {
    let is_file = path
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'));
    !(is_file
        || path == "/ws"
        || path == "/healthz"
        || path == "/readyz"
        || path.starts_with("/api/")
        || path.starts_with("/pkg/")
        || path.starts_with(SERVER_FN_PREFIX))
}

/// Serves until Ctrl-C or SIGTERM. Then: stop accepting, let in-flight requests and sends
/// commit, tell every socket `leave` and close it with 1001, and return once they are closed.
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let addr = state.config.site_addr;
    let shutdown = state.shutdown.clone();
    if let Some(metrics_addr) = state.config.metrics_addr {
        let bound = super::metrics::serve(state.clone(), metrics_addr).await?;
        tracing::info!("metrics at http://{bound}/metrics");
        // Before the line that says the site is up, which tools wait for.
        println!("parley metrics at http://{bound}/metrics");
    }
    let router = build_router(state).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listen on {addr}"))?;
    let bound = listener.local_addr()?;
    tracing::info!("listening on http://{bound}");
    println!("parley is serving at http://{bound}");
    // Small frames (an ack, then the echo) must not wait for Nagle's algorithm: measured, it
    // delayed the sender's echo by ~40 ms (docs/BENCHMARKS.md).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let stopping = shutdown.clone();
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        stopping.trigger();
    })
    .await
    .context("serve")?;
    if !shutdown.drain(Duration::from_secs(10)).await {
        tracing::warn!("some sockets did not close within 10 s");
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::is_page;

    #[test]
    fn tells_pages_from_everything_else() {
        for page in ["/", "/login", "/c/bob", "/nowhere"] {
            assert!(is_page(page), "{page}");
        }
        for other in [
            "/ws",
            "/api/me",
            "/pkg/parley.wasm",
            "/favicon.ico",
            "/_app/login",
        ] {
            assert!(!is_page(other), "{other}");
        }
    }
}
