//! `/admin/search`: a full-text search over every message (each search is audited), each hit
//! linking to the conversation's audited read, ending at that message.

use super::{exact, AdminFrame};
use crate::api::admin::{admin_search, AdminSearchData};
use crate::domain::admin::SearchHit;
use crate::ui::components::Loaded;
use crate::ui::format::snippet;
use crate::ui::url::query_param;
use leptos::prelude::*;

#[component]
pub fn AdminSearchPage() -> impl IntoView {
    let q = query_param("q");
    let data = Resource::new(q, admin_search);
    view! {
        <Loaded resource=data render=move |AdminSearchData { me, hits }| view! {
            <AdminFrame me title="Search messages">
                <p class="muted">"Every search is recorded in the audit log."</p>
                <form method="get" action="/admin/search" role="search" class="inline-form">
                    <label for="q">"Words"</label>
                    <input id="q" name="q" type="search" value=q() required />
                    <button type="submit">"Search"</button>
                </form>
                <SearchHits hits searched=!q().trim().is_empty() />
            </AdminFrame>
        } />
    }
}

#[component]
fn SearchHits(hits: Vec<SearchHit>, searched: bool) -> impl IntoView {
    if !searched {
        return ().into_any();
    }
    if hits.is_empty() {
        return view! { <p class="empty" data-testid="admin-search-empty">"No messages match."</p> }.into_any();
    }
    view! {
        <ul class="hits" data-testid="admin-search-hits">
            {hits.into_iter().map(|hit| {
                let (lo, hi) = (hit.sender.id.min(hit.receiver.id), hit.sender.id.max(hit.receiver.id));
                view! {
                    <li data-testid="admin-search-hit">
                        <a href=format!("/admin/chats/{lo}/{hi}?through={}", hit.message.id)>
                            {format!("{} → {}", hit.sender.username, hit.receiver.username)}
                        </a>
                        " " <time>{exact(&hit.message.date)}</time>
                        <p class="text">{snippet(&hit.message.message, 200)}</p>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}
