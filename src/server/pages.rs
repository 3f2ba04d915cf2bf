//! The pages' routes: the Leptos routes, and the answers that are not a Leptos render of a GET:
//! - the not-found page: one static document for every unknown path, for every method a page
//!   does not serve, and for the admin console as anyone but an admin sees it (the page guard in
//!   `router` sends it), so none of these can be told apart;
//! - the router's fallback: a file of the built site, else that page.

use super::state::AppState;
use crate::app::{not_found_document, shell, App};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::collections::BTreeSet;
use std::sync::LazyLock;
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// Every page route, and the fallback.
pub fn routes(state: &AppState) -> Router<AppState> {
    let routes = generate_route_list(App);
    let page_paths: BTreeSet<String> = routes.iter().map(|r| r.path().to_owned()).collect();
    let options = state.leptos_options.clone();
    let mut pages = Router::new().leptos_routes_with_context(
        state,
        routes,
        || (),
        move || shell(options.clone()),
    );
    // A page answers a method it does not serve exactly as an unknown address does: the
    // not-found page, not a 405 whose `Allow` header would say the page exists.
    for path in page_paths {
        pages = pages.route(&path, any(|| async { not_found_page() }));
    }
    pages.fallback(files_or_not_found)
}

/// The not-found document, rendered once: it holds nothing per request (not even a script nonce).
static NOT_FOUND_HTML: LazyLock<String> =
    LazyLock::new(|| Owner::new().with(|| not_found_document().to_html()));

/// 404 with the not-found document.
pub fn not_found_page() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        NOT_FOUND_HTML.as_str(),
    )
        .into_response()
}

/// The fallback of the whole router: a file under the site root (the wasm, JS and CSS under
/// `pkg/`, precompressed where the browser accepts it; `public/` files), otherwise the not-found
/// page, for every method (not 405) and for folders (not a redirect to a trailing slash).
pub async fn files_or_not_found(State(state): State<AppState>, request: Request) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return not_found_page();
    }
    let files = ServeDir::new(&*state.leptos_options.site_root)
        .precompressed_gzip()
        .precompressed_br()
        .append_index_html_on_directories(false);
    match files.oneshot(request).await {
        Ok(found) if found.status() != StatusCode::NOT_FOUND => found.into_response(),
        _ => not_found_page(),
    }
}
