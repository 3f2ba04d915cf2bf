use leptos::prelude::*;

/// A page title that follows live state (unread counts). The server renders it once, as a plain
/// string: `<Title>` is rendered into `<head>` after the page body, when the page's signals may be
/// gone, so it must not read them then. In the browser an effect keeps `document.title` current
/// (the head is the server's HTML there, outside every island).
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
    // Made, not rendered: `<Title>` takes its text into the server's head as it is made, and
    // renders nothing itself. What this component renders is the same empty placeholder on the
    // server and in the browser, as hydrating an island needs.
    #[cfg(feature = "ssr")]
    let _ = view! { <leptos_meta::Title text=initial /> };
    #[cfg(not(feature = "ssr"))]
    let _ = initial;
}
