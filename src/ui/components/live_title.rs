use leptos::prelude::*;
use leptos_meta::Title;

/// A page title that follows live state (unread counts). The server renders it once, as a plain
/// string: `<Title>` is rendered into `<head>` after the page body, when the page's signals may be
/// gone, so it must not read them then. In the browser an effect keeps `document.title` current.
#[component]
pub fn LiveTitle(text: impl Fn() -> String + Send + Sync + 'static) -> impl IntoView {
    let initial = untrack(&text);
    Effect::new(move |_| {
        let current = text();
        #[cfg(feature = "hydrate")]
        document().set_title(&current);
        #[cfg(not(feature = "hydrate"))]
        let _ = current;
    });
    view! { <Title text=initial /> }
}
