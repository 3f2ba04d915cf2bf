use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found · Parley" />
        <main class="page narrow">
            <h1>"Not found"</h1>
            <p data-testid="not-found">"There is nothing here."</p>
            <p><a href="/">"Back to your inbox"</a></p>
        </main>
    }
}
