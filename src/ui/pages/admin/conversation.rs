//! `/admin/chats/{a}/{b}`: one conversation's messages, read-only. Reading them is audited: a GET
//! shows the reason form, and only the server's render of that form's POST loads the messages.

use super::{exact, AdminFrame};
use crate::api::admin::{admin_check, admin_conversation, AdminConversationData};
use crate::domain::admin::ConversationRead;
use crate::domain::UserId;
use crate::error::AppError;
use crate::ui::components::{ErrorNotice, Loaded};
use crate::ui::url::{path_param, query_param};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AdminConversationPage() -> impl IntoView {
    let (a, b) = (path_param("a"), path_param("b"));
    let user_id = |raw: String| raw.parse::<i64>().ok().map(UserId::new);
    let pair = move || (user_id(a()), user_id(b()));
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
        <Loaded resource=data render=move |convo| match (convo, pair()) {
            (None, (Some(a), Some(b))) => view! {
                <ReasonForm action=conversation_address(a, b) before=message_id(before()) through=message_id(through()) />
            }.into_any(),
            (Some(convo), _) => view! { <AdminConversationView convo /> }.into_any(),
            (None, _) => {
                let error = AppError::not_found("no such user");
                view! { <ErrorNotice error /> }.into_any()
            }
        } />
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

/// That a message was edited or deleted, and when: never the text it had before (nothing keeps it).
fn change_mark(m: &crate::domain::ChatMessage) -> Option<impl IntoView> {
    let (what, at) = match (m.deleted_at, m.edited_at) {
        (Some(at), _) => ("deleted", at),
        (None, Some(at)) => ("edited", at),
        (None, None) => return None,
    };
    Some(view! {
        <span class="change-mark" data-testid="admin-change-mark">{format!("[{what} {}] ", exact(&at))}</span>
    })
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
                            <td class="text" data-testid="admin-message-text">
                                {change_mark(&m)}
                                {m.message}
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </AdminFrame>
    }
}
