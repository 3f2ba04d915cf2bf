//! The one way a page shows data it loads through a resource: "Loading…" while it is on its way,
//! the error notice (with its HTTP status on the server) if the load failed, and the page's own
//! view of the value otherwise. Pages pass only the Ok view, so every page fails the same way.

use super::ErrorNotice;
use crate::error::AppError;
use leptos::prelude::*;

/// Waits for `resource` inside a `<Suspense>` and shows `render(value)` once it has loaded.
#[component]
pub fn Loaded<T, V>(
    resource: Resource<Result<T, AppError>>,
    render: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    // Each run of the Suspend below moves a handle on `render` into its future.
    let render = std::sync::Arc::new(render);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match resource.await {
                        Ok(data) => render(data).into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}
