//! `/admin`: the accounts, filtered by a username prefix, each with a button to disable or enable it.

use super::{exact, has_next_page, page_param, AdminFrame, Pager};
use crate::api::admin::{admin_accounts, AdminAccountsData, AdminSetDisabled};
use crate::ui::components::Loaded;
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
                </AdminFrame>
            }
        } />
    }
}
