//! The admin console under `/admin`. The page guard answers anyone but an admin with the
//! not-found page before these render; every page also loads through an admin server function,
//! which answers 404 to anyone else.

use crate::api::admin::{
    admin_accounts, admin_audit, admin_chats, admin_check, admin_conversation, admin_search,
    AdminAccountsData, AdminAuditData, AdminChatsData, AdminConversationData, AdminSearchData,
    AdminSetDisabled, ConversationRead,
};
use crate::domain::admin::{AuditEntry, SearchHit};
use crate::domain::{rfc3339_millis, User, UserId};
use crate::error::AppError;
use crate::ui::components::{ErrorNotice, TopBar};
use crate::ui::format::snippet;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

fn query_param(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync {
    let query = use_query_map();
    move || query.read().get(name).unwrap_or_default()
}

fn page_param() -> impl Fn() -> u32 + Copy + Send + Sync {
    let raw = query_param("page");
    move || raw().parse().unwrap_or(1).max(1)
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

fn load_error(error: AppError) -> AnyView {
    view! { <ErrorNotice error /> }.into_any()
}

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let (q, page) = (query_param("q"), page_param());
    let toggle = ServerAction::<AdminSetDisabled>::new();
    let data = Resource::new(
        move || (q(), page(), toggle.version().get()),
        |(q, page, _)| admin_accounts(q, page),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(AdminAccountsData { me, users }) => {
                        let has_next = users.len() as u32 == crate::domain::admin::ADMIN_PAGE;
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
                        }.into_any()
                    }
                    Err(error) => load_error(error),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn AdminChatsPage() -> impl IntoView {
    let (user, page) = (query_param("user"), page_param());
    let data = Resource::new(
        move || (user(), page()),
        |(user, page)| admin_chats(user, page),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(AdminChatsData { me, chats }) => {
                        let has_next = chats.len() as u32 == crate::domain::admin::ADMIN_PAGE;
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
                        }.into_any()
                    }
                    Err(error) => load_error(error),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn AdminConversationPage() -> impl IntoView {
    let params = use_params_map();
    let pair = move || {
        let id = |k| {
            params
                .read()
                .get(k)
                .and_then(|v| v.parse::<i64>().ok())
                .map(UserId::new)
        };
        (id("a"), id("b"))
    };
    // Only the server's render of the reason form's POST has one (`server::pages`): a GET of this
    // address, from a link anywhere, shows the form and reads nothing.
    let posted = use_context::<ConversationRead>();
    // Where the page should end (a search hit links with `?through=`), carried into the form.
    let (before, through) = (query_param("before"), query_param("through"));
    let message_id = |raw: String| raw.parse::<i64>().ok();
    let data = Resource::new(pair, move |(a, b)| {
        let posted = posted.clone();
        async move {
            let (Some(a), Some(b)) = (a, b) else {
                return Err(AppError::not_found("no such user"));
            };
            match posted {
                Some(read) => admin_conversation(a, b, read).await.map(Some),
                // The reason form comes first, but only for an admin: to anyone else this
                // page, like every admin page, does not exist.
                None => admin_check().await.map(|_| None),
            }
        }
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (data.await, pair()) {
                    (Ok(None), (Some(a), Some(b))) => view! {
                        <ReasonForm action=conversation_address(a, b) before=message_id(before()) through=message_id(through()) />
                    }.into_any(),
                    (Ok(Some(convo)), _) => view! { <AdminConversationView convo /> }.into_any(),
                    (Ok(None), _) => load_error(AppError::not_found("no such user")),
                    (Err(error), _) => load_error(error),
                }
            })}
        </Suspense>
    }
}

fn conversation_address(a: UserId, b: UserId) -> String {
    format!("/admin/chats/{a}/{b}")
}

/// Opening a conversation's content needs a reason, which goes into the audit log. The form
/// posts (an audited read must not be a link another site can make the admin follow).
#[component]
fn ReasonForm(action: String, before: Option<i64>, through: Option<i64>) -> impl IntoView {
    view! {
        <Title text="Open a conversation · Admin · Parley" />
        <main class="page narrow">
            <h1>"Why are you opening this conversation?"</h1>
            <p>"Your reason is recorded in the audit log with your name and the time."</p>
            <form method="post" action=action class="card" data-testid="reason-form">
                <label for="reason">"Reason"</label>
                <input id="reason" name="reason" required maxlength="500" placeholder="e.g. abuse report #123" />
                {before.map(|id| view! { <input type="hidden" name="before" value=id /> })}
                {through.map(|id| view! { <input type="hidden" name="through" value=id /> })}
                <button type="submit">"Open conversation"</button>
            </form>
            <p><a href="/admin/chats">"Back to chats"</a></p>
        </main>
    }
}

#[component]
fn AdminConversationView(convo: AdminConversationData) -> impl IntoView {
    let AdminConversationData {
        me,
        reason,
        user_a,
        user_b,
        messages,
        has_more,
    } = convo;
    let name_of = {
        let (a, b) = (user_a.clone(), user_b.clone());
        move |id: UserId| {
            if id == a.id {
                a.username.to_string()
            } else {
                b.username.to_string()
            }
        }
    };
    // Each older page is another audited read with the same reason: posted again, like the first.
    let older = messages.first().filter(|_| has_more).map(|first| {
        view! {
            <form method="post" action=conversation_address(user_a.id, user_b.id) class="inline-form">
                <input type="hidden" name="reason" value=reason.clone() />
                <input type="hidden" name="before" value=first.id />
                <button type="submit" data-testid="admin-older">"Older messages"</button>
            </form>
        }
    });
    view! {
        <AdminFrame me title="Conversation">
            <p data-testid="admin-conversation-pair">{format!("{} – {}", user_a.username, user_b.username)}</p>
            <p class="muted">"Read-only. Reason recorded: " <q data-testid="admin-reason">{reason.clone()}</q></p>
            {older}
            <table data-testid="admin-messages">
                <thead><tr><th>"Id"</th><th>"Date (UTC)"</th><th>"From"</th><th>"To"</th><th>"Message"</th></tr></thead>
                <tbody>
                    {messages.into_iter().map(|m| view! {
                        <tr data-testid="admin-message" data-id=m.id>
                            <td>{m.id}</td>
                            <td><time>{exact(&m.date)}</time></td>
                            <td>{name_of(m.sender)}</td>
                            <td>{name_of(m.receiver)}</td>
                            <td class="text" data-testid="admin-message-text">{m.message}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </AdminFrame>
    }
}

#[component]
pub fn AdminSearchPage() -> impl IntoView {
    let q = query_param("q");
    let data = Resource::new(q, admin_search);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(AdminSearchData { me, hits }) => view! {
                        <AdminFrame me title="Search messages">
                            <p class="muted">"Every search is recorded in the audit log."</p>
                            <form method="get" action="/admin/search" role="search" class="inline-form">
                                <label for="q">"Words"</label>
                                <input id="q" name="q" type="search" value=q() required />
                                <button type="submit">"Search"</button>
                            </form>
                            <SearchHits hits searched=!q().trim().is_empty() />
                        </AdminFrame>
                    }.into_any(),
                    Err(error) => load_error(error),
                }
            })}
        </Suspense>
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

#[component]
pub fn AdminAuditPage() -> impl IntoView {
    let page = page_param();
    let data = Resource::new(page, admin_audit);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(AdminAuditData { me, entries }) => {
                        let has_next = entries.len() as u32 == crate::domain::admin::ADMIN_PAGE;
                        view! {
                            <AdminFrame me title="Audit log">
                                <table data-testid="admin-audit">
                                    <thead><tr><th>"Date (UTC)"</th><th>"Admin"</th><th>"Action"</th><th>"About"</th><th>"Reason / query"</th></tr></thead>
                                    <tbody>{entries.into_iter().map(audit_row).collect_view()}</tbody>
                                </table>
                                <Pager page=page() has_next base="/admin/audit".to_owned() />
                            </AdminFrame>
                        }.into_any()
                    }
                    Err(error) => load_error(error),
                }
            })}
        </Suspense>
    }
}

fn audit_row(entry: AuditEntry) -> impl IntoView {
    let about = [entry.user_a, entry.user_b]
        .into_iter()
        .flatten()
        .map(|u| u.username.to_string())
        .collect::<Vec<_>>()
        .join(" – ");
    view! {
        <tr data-testid="audit-entry" data-action=entry.action.as_str()>
            <td><time>{exact(&entry.date)}</time></td>
            <td>{entry.admin.username.to_string()}</td>
            <td>{entry.action.as_str()}</td>
            <td>{about}</td>
            <td>{entry.reason.or(entry.detail).unwrap_or_default()}</td>
        </tr>
    }
}
