use crate::api::auth::LogOut;
use crate::domain::User;
use crate::ui::drafts::forget_all_drafts;
use leptos::prelude::*;

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

/// Log out: a plain form, which once live also forgets the drafts kept in this browser.
#[island(lazy)]
fn LogOutButton() -> impl IntoView {
    let log_out = ServerAction::<LogOut>::new();
    view! {
        <ActionForm action=log_out>
            <button type="submit" class="link-button" data-testid="logout" on:click=|_| forget_all_drafts()>"Log out"</button>
        </ActionForm>
    }
}
