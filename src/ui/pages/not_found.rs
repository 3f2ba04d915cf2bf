//! The not-found page. The server answers every unknown path, and the admin console to anyone but
//! an admin, with `crate::app::not_found_document` (the same content, as a static document), so
//! those answers cannot be told apart; `NotFoundPage` is the router's fallback for in-app navigation.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text=NOT_FOUND_TITLE />
        <NotFoundContent />
    }
}

pub const NOT_FOUND_TITLE: &str = "Not found · Parley";

#[component]
pub fn NotFoundContent() -> impl IntoView {
    view! {
        <main class="page narrow">
            <h1>"Not found"</h1>
            <p data-testid="not-found">"There is nothing here."</p>
            <p><a href="/">"Back to your inbox"</a></p>
        </main>
    }
}
