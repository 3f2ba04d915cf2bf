use crate::api::auth::LogOut;
use crate::domain::User;
use crate::ui::drafts::FORGET_DRAFTS_ON_SUBMIT;
use leptos::nonce::use_nonce;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// The bar above every logged-in page: home link, settings, who you are, and log out.
#[component]
pub fn TopBar(me: User) -> impl IntoView {
    view! {
        <header class="top-bar">
            <a class="brand" href="/">"Parley"</a>
            {me.is_admin.then(|| view! { <a href="/admin" data-testid="admin-link">"Admin"</a> })}
            <a href="/settings" data-testid="settings-link">"Settings"</a>
            <span class="who" data-testid="current-user">{me.username.to_string()}</span>
            <LogOutButton />
        </header>
    }
}

/// Log out: a plain form, and beside it a few lines of script (allowed by the page's nonce) that
/// forget the drafts kept in this browser as the form is sent (`ui::drafts`). Not an island: that
/// is all it does, and as one, every logged-in page loaded a part of the wasm for it (7 KiB gzip).
#[component]
fn LogOutButton() -> impl IntoView {
    let action = <LogOut as ServerFn>::PATH;
    view! {
        <form method="post" action=action data-forget-drafts="">
            <button type="submit" class="link-button" data-testid="logout">"Log out"</button>
        </form>
        <script type="module" nonce=use_nonce() inner_html=FORGET_DRAFTS_ON_SUBMIT></script>
    }
}
