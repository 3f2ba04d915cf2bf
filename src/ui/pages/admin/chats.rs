//! `/admin/chats`: the conversations, optionally only one user's, each linking to its audited read.

use super::{exact, has_next_page, page_param, AdminFrame, Pager};
use crate::api::admin::{admin_chats, AdminChatsData};
use crate::ui::components::Loaded;
use crate::ui::url::query_param;
use leptos::prelude::*;

#[component]
pub fn AdminChatsPage() -> impl IntoView {
    let (user, page) = (query_param("user"), page_param());
    let data = Resource::new(
        move || (user(), page()),
        |(user, page)| admin_chats(user, page),
    );
    view! {
        <Loaded resource=data render=move |AdminChatsData { me, chats }| {
            let has_next = has_next_page(chats.len());
            view! {
                <AdminFrame me title="Chats">
                    <form method="get" action="/admin/chats" class="inline-form">
                        <label for="user">"Only chats of user"</label>
                        <input id="user" name="user" value=user() />
                        <button type="submit">"Filter"</button>
                    </form>
                    <table data-testid="admin-chats">
                        <thead><tr><th>"Between"</th><th>"Messages"</th><th>"Last activity"</th><th></th></tr></thead>
                        <tbody>
                            {chats.into_iter().map(|chat| {
                                let between = format!("{} – {}", chat.user_a.username, chat.user_b.username);
                                view! {
                                    <tr data-testid="admin-chat" data-between=between.clone()>
                                        <td>{between.clone()}</td>
                                        <td>{chat.messages}</td>
                                        <td>{exact(&chat.last_activity)}</td>
                                        <td><a href=format!("/admin/chats/{}/{}", chat.user_a.id, chat.user_b.id)>"Open"</a></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    <Pager page=page() has_next base=format!("/admin/chats?user={}", user()) />
                </AdminFrame>
            }
        } />
    }
}
