//! The admin console under `/admin`, one page per file. The page guard answers anyone but an admin
//! with the not-found page before these render; every page also loads through an admin server
//! function, which answers 404 to anyone else. This module holds what the pages share: the frame
//! with the admin navigation, the pager, and reading the query string.

mod audit;
mod chats;
mod conversation;
mod search;
mod users;

pub use audit::AdminAuditPage;
pub use chats::AdminChatsPage;
pub use conversation::AdminConversationPage;
pub use search::AdminSearchPage;
pub use users::AdminUsersPage;

use crate::domain::admin::ADMIN_PAGE;
use crate::domain::{rfc3339_millis, User};
use crate::ui::components::TopBar;
use crate::ui::url::query_param;
use leptos::prelude::*;
use leptos_meta::Title;

fn page_param() -> impl Fn() -> u32 + Copy + Send + Sync {
    let raw = query_param("page");
    move || raw().parse().unwrap_or(1).max(1)
}

/// A full page of `rows` rows may have a next one; the server pages by [`ADMIN_PAGE`].
fn has_next_page(rows: usize) -> bool {
    rows as u32 == ADMIN_PAGE
}

fn exact(date: &chrono::DateTime<chrono::Utc>) -> String {
    rfc3339_millis::format(date)
}

/// Top bar, admin navigation, and the page's content.
#[component]
fn AdminFrame(me: User, title: &'static str, children: Children) -> impl IntoView {
    view! {
        <Title text=format!("{title} · Admin · Parley") />
        <TopBar me />
        <main class="page admin">
            <nav class="admin-nav" aria-label="Admin">
                <a href="/admin">"Users"</a>
                <a href="/admin/chats">"Chats"</a>
                <a href="/admin/search">"Search"</a>
                <a href="/admin/audit">"Audit log"</a>
            </nav>
            <h1>{title}</h1>
            {children()}
        </main>
    }
}

/// Previous / next links that keep the other query parameters.
#[component]
fn Pager(page: u32, has_next: bool, base: String) -> impl IntoView {
    let sep = if base.contains('?') { "&" } else { "?" };
    view! {
        <nav class="pager" aria-label="Pages">
            {(page > 1).then(|| view! { <a href=format!("{base}{sep}page={}", page - 1)>"← Newer / previous"</a> })}
            <span>{format!("Page {page}")}</span>
            {has_next.then(|| view! { <a href=format!("{base}{sep}page={}", page + 1)>"Next →"</a> })}
        </nav>
    }
}
