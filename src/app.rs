//! The HTML shell, `<App/>` and the route table.

use crate::ui::pages::{
    AdminAuditPage, AdminChatsPage, AdminConversationPage, AdminSearchPage, AdminUsersPage,
    ConversationPage, InboxPage, LoginPage, NotFoundContent, NotFoundPage, ResetPage, SearchPage,
    SettingsPage, SignupPage, NOT_FOUND_TITLE,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <HeadBasics />
                <HydrationScripts options islands=true />
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

/// The route table. It runs on the server only: pages are islands (`docs/ARCHITECTURE.md`), so the
/// browser hydrates the `#[island]` components on a page and nothing else, and a link loads the
/// next page from the server.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/parley.css" />
        <Title text="Parley" />
        <Router>
            <Routes fallback=NotFoundPage>
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/signup") view=SignupPage />
                <Route path=path!("/reset/:token") view=ResetPage ssr=SsrMode::Async />
                // Async: the whole page is rendered before it is sent, so it is complete without
                // JavaScript (streamed fragments would need a script to be swapped in).
                <Route path=path!("/") view=InboxPage ssr=SsrMode::Async />
                <Route path=path!("/c/:username") view=ConversationPage ssr=SsrMode::Async />
                <Route path=path!("/settings") view=SettingsPage ssr=SsrMode::Async />
                <Route path=path!("/search") view=SearchPage ssr=SsrMode::Async />
                <Route path=path!("/admin") view=AdminUsersPage ssr=SsrMode::Async />
                <Route path=path!("/admin/chats") view=AdminChatsPage ssr=SsrMode::Async />
                <Route path=path!("/admin/chats/:a/:b") view=AdminConversationPage ssr=SsrMode::Async />
                <Route path=path!("/admin/search") view=AdminSearchPage ssr=SsrMode::Async />
                <Route path=path!("/admin/audit") view=AdminAuditPage ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}
