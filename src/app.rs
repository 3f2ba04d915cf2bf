//! The HTML shell, `<App/>` and the route table.

use crate::ui::pages::{
    AdminAuditPage, AdminChatsPage, AdminConversationPage, AdminSearchPage, AdminUsersPage,
    ConversationPage, InboxPage, LoginPage, NotFoundPage, SignupPage,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The Content-Security-Policy header lets one inline-script nonce through, chosen for this
    // request before the render started; the hydration script must carry that one.
    #[cfg(feature = "ssr")]
    crate::server::headers::provide_request_nonce();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
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
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/signup") view=SignupPage />
                // Async: the whole page is rendered before it is sent, so it is complete without
                // JavaScript (streamed fragments would need a script to be swapped in).
                <Route path=path!("/") view=InboxPage ssr=SsrMode::Async />
                <Route path=path!("/c/:username") view=ConversationPage ssr=SsrMode::Async />
                <Route path=path!("/admin") view=AdminUsersPage ssr=SsrMode::Async />
                <Route path=path!("/admin/chats") view=AdminChatsPage ssr=SsrMode::Async />
                <Route path=path!("/admin/chats/:a/:b") view=AdminConversationPage ssr=SsrMode::Async />
                <Route path=path!("/admin/search") view=AdminSearchPage ssr=SsrMode::Async />
                <Route path=path!("/admin/audit") view=AdminAuditPage ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}
