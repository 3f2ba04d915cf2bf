//! The pages' routes: the Leptos routes, and the answers that are not a Leptos render of a GET:
//! - the not-found page: one static document for every unknown path, for every method a page
//!   does not serve, and for the admin console as anyone but an admin sees it (the page guard in
//!   `router` sends it), so none of these can be told apart;
//! - the router's fallback: a file of the built site, else that page;
//! - the reason form's POST to `/admin/chats/{a}/{b}`: one audited read of the conversation,
//!   rendered as its page.

use super::headers::provide_request_nonce;
use super::state::AppState;
use crate::app::{not_found_document, shell, App};
use crate::domain::admin::ConversationRead;
use crate::error::{AppError, ErrorCode};
use axum::body::Body;
use axum::extract::rejection::FormRejection;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Form, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::collections::BTreeSet;
use std::sync::LazyLock;
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// Every page route, the reason form's POST, and the fallback.
pub fn routes(state: &AppState) -> Router<AppState> {
    let routes = generate_route_list(App);
    let page_paths: BTreeSet<String> = routes.iter().map(|r| r.path().to_owned()).collect();
    let options = state.leptos_options.clone();
    let chunks = state.island_chunks.clone();
    let mut pages = Router::new()
        .leptos_routes_with_context(
            state,
            routes,
            move || provide_context(chunks.clone()),
            move || page_shell(&options),
        )
        .route(CONVERSATION_PATH, post(read_conversation_page));
    // A page answers a method it does not serve exactly as an unknown address does: the
    // not-found page, not a 405 whose `Allow` header would say the page exists.
    for path in page_paths {
        pages = pages.route(&path, any(|| async { not_found_page() }));
    }
    pages.fallback(files_or_not_found)
}

/// The document of every rendered page. The Content-Security-Policy header lets one inline-script
/// nonce through, chosen for this request before the render started (`headers`); the hydration
/// script must carry that one.
fn page_shell(options: &LeptosOptions) -> impl IntoView {
    provide_request_nonce();
    shell(options.clone())
}

/// The admin's view of one conversation (`ui::pages::AdminConversationPage`), in axum's syntax.
const CONVERSATION_PATH: &str = "/admin/chats/{a}/{b}";

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

/// `POST /admin/chats/{a}/{b}`: the reason form, or an "Older messages" button, asks for one page
/// of the conversation. Renders the conversation page with the posted read as context; the page's
/// server function writes the audit row, then reads. The page guard has let only admins this far,
/// and the cross-site layer has refused posts from other sites.
pub async fn read_conversation_page(
    State(state): State<AppState>,
    parts: Parts,
    form: Result<Form<ConversationRead>, FormRejection>,
) -> Response {
    let read = match form {
        Ok(Form(read)) => read,
        Err(rejection) => {
            return AppError::bad_request(ErrorCode::InvalidForm, rejection.body_text())
                .into_response()
        }
    };
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_async_with_context(
        move || {
            provide_context(state.island_chunks.clone());
            provide_context(state.clone());
            provide_context(read.clone());
        },
        move || page_shell(&options),
    );
    render(Request::from_parts(parts, Body::empty())).await
}
