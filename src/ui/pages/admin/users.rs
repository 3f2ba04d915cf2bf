//! `/admin`: the accounts, filtered by a username prefix, each with a button to disable or enable it.

use super::{exact, has_next_page, page_param, AdminFrame, Pager};
use crate::api::admin::{admin_accounts, AdminAccountsData, AdminResetLink, AdminSetDisabled};
use crate::ui::components::{IslandPreloads, Loaded};
use crate::ui::pages::error_text;
use crate::ui::url::query_param;
use leptos::prelude::*;

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let (q, page) = (query_param("q"), page_param());
    let toggle = ServerAction::<AdminSetDisabled>::new();
    let data = Resource::new(
        move || (q(), page(), toggle.version().get()),
        |(q, page, _)| admin_accounts(q, page),
    );
    view! {
        <Loaded resource=data render=move |AdminAccountsData { me, users }| {
            let has_next = has_next_page(users.len());
            view! {
                <AdminFrame me title="Users">
                    <form method="get" action="/admin" role="search" class="inline-form">
                        <label for="q">"Username starts with"</label>
                        <input id="q" name="q" type="search" value=q() />
                        <button type="submit">"Filter"</button>
                    </form>
                    <table data-testid="admin-users">
                        <thead><tr>
                            <th>"Username"</th><th>"Created"</th><th>"Messages sent"</th>
                            <th>"Last active"</th><th>"Admin"</th><th>"Status"</th><th></th>
                        </tr></thead>
                        <tbody>
                            {users.into_iter().map(|row| {
                                let disabled = row.disabled;
                                view! {
                                    <tr data-testid="admin-user" data-username=row.user.username.to_string()>
                                        <td>{row.user.username.to_string()}</td>
                                        <td><time>{exact(&row.created_at)}</time></td>
                                        <td>{row.messages_sent}</td>
                                        <td>{row.last_active.as_ref().map(exact).unwrap_or_else(|| "never".into())}</td>
                                        <td>{if row.user.is_admin { "admin" } else { "" }}</td>
                                        <td data-testid="admin-user-status">{if disabled { "disabled" } else { "active" }}</td>
                                        <td>
                                            <ActionForm action=toggle>
                                                <input type="hidden" name="user" value=row.user.id.get() />
                                                <input type="hidden" name="disabled" value=(!disabled).to_string() />
                                                <button type="submit" class="small">{if disabled { "Enable" } else { "Disable" }}</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    <Pager page=page() has_next base=format!("/admin?q={}", q()) />
                    <ResetLinkForm />
                    <IslandPreloads island="reset_link_form" />
                </AdminFrame>
            }
        } />
    }
}

/// A one-time password reset link for a user who cannot log in (there is no e-mail here): made
/// with a reason that goes in the audit log, shown once, valid for 24 hours.
#[island(lazy)]
fn ResetLinkForm() -> impl IntoView {
    let make = ServerAction::<AdminResetLink>::new();
    let made = move || {
        make.value().with(|outcome| {
            let Some(Ok(link)) = outcome else { return None };
            let address = format!("{}{}", site_origin(), link.path);
            Some(view! {
                <p class="notice" data-testid="reset-link-made">
                    {format!("Give this link to {}; it works once, until {} (UTC): ", link.username, super::exact(&link.expires_at))}
                    <code data-testid="reset-link">{address}</code>
                </p>
            })
        })
    };
    view! {
        <section class="card" aria-labelledby="reset-heading">
            <h2 id="reset-heading">"Password reset link"</h2>
            <ActionForm action=make attr:class="inline-form" attr:data-testid="reset-link-form">
                <label for="reset-username">"Username"</label>
                <input id="reset-username" name="username" required />
                <label for="reset-reason">"Reason"</label>
                <input id="reset-reason" name="reason" required maxlength="500" placeholder="e.g. forgot password, ticket #42" />
                <button type="submit" class="small">"Make link"</button>
            </ActionForm>
            {made}
            <p class="form-error" role="alert">{move || make.value().with(error_text)}</p>
        </section>
    }
}

/// This site's own address, once in the browser (the server cannot know what users type).
fn site_origin() -> String {
    #[cfg(feature = "hydrate")]
    {
        window().location().origin().unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}
