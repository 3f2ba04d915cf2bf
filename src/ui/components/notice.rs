use crate::error::AppError;
use leptos::prelude::*;

/// A failed load, said plainly. Sets the HTTP status when rendered on the server.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(
            axum::http::StatusCode::from_u16(error.status())
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    let message = match &error {
        AppError::NotFound { .. } => "Not found: there is no such page or person.".to_owned(),
        other => other.to_string(),
    };
    view! {
        <main class="page narrow">
            <p class="notice" role="alert" data-testid="error-notice">{message}</p>
            <p><a href="/">"Back to your inbox"</a></p>
        </main>
    }
}
