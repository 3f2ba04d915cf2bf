//! The HTML shell, `<App/>` and the route table.

use crate::ui::pages::{
    AdminAuditPage, AdminChatsPage, AdminConversationPage, AdminSearchPage, AdminUsersPage,
    ConversationPage, InboxPage, LoginPage, NotFoundContent, NotFoundPage, ResetPage, SearchPage,
    SettingsPage, SignupPage, NOT_FOUND_TITLE,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{lazy_route, path, Lazy, LazyRoute, SsrMode};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <HeadBasics />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The not-found answer as a whole document, without the app's scripts: nothing on it needs them,
/// and the app, hydrating, would render whatever route this address names (an admin page, for a
/// non-admin) and disagree with it. The same bytes for every path and every caller.
pub fn not_found_document() -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <HeadBasics />
                <link rel="stylesheet" href="/pkg/parley.css" />
                <title>{NOT_FOUND_TITLE}</title>
            </head>
            <body>
                <NotFoundContent />
            </body>
        </html>
    }
}

#[component]
fn HeadBasics() -> impl IntoView {
    view! {
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/parley.css" />
        <Title text="Parley" />
        <Router>
            <Routes fallback=NotFoundPage>
                <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} />
                <Route path=path!("/signup") view={Lazy::<SignupRoute>::new()} />
                <Route path=path!("/reset/:token") view={Lazy::<ResetRoute>::new()} ssr=SsrMode::Async />
                // Async: the whole page is rendered before it is sent, so it is complete without
                // JavaScript (streamed fragments would need a script to be swapped in).
                <Route path=path!("/") view={Lazy::<InboxRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/c/:username") view={Lazy::<ConversationRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/settings") view={Lazy::<SettingsRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/search") view={Lazy::<SearchRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/admin") view={Lazy::<AdminUsersRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/admin/chats") view={Lazy::<AdminChatsRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/admin/chats/:a/:b") view={Lazy::<AdminConversationRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/admin/search") view={Lazy::<AdminSearchRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/admin/audit") view={Lazy::<AdminAuditRoute>::new()} ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}

/// Every page is a lazy route: the release build is split by route (`cargo leptos build --split`,
/// which `make release` runs), so a browser downloads the main module (the framework, the router,
/// this table) and then only the chunks of the page it is on; following a link loads the next
/// page's chunks. On the server a lazy view is an ordinary call. A page loads its data inside its
/// component, as before, so the route's `data` half is empty. The wasm hydrates with
/// `hydrate_lazy` (lib.rs), which loads the current page's chunks before it hydrates.
macro_rules! lazy_page {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        struct $route;
        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }
            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    )*};
}

lazy_page! {
    LoginRoute => LoginPage,
    SignupRoute => SignupPage,
    ResetRoute => ResetPage,
    InboxRoute => InboxPage,
    ConversationRoute => ConversationPage,
    SettingsRoute => SettingsPage,
    SearchRoute => SearchPage,
    AdminUsersRoute => AdminUsersPage,
    AdminChatsRoute => AdminChatsPage,
    AdminConversationRoute => AdminConversationPage,
    AdminSearchRoute => AdminSearchPage,
    AdminAuditRoute => AdminAuditPage,
}
