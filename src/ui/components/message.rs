use super::Timestamp;
use crate::domain::{rfc3339_millis, ChatMessage};
use crate::ui::links::{pieces, Piece};
use leptos::either::Either;
use leptos::prelude::*;

/// One stored message. Its text is rendered as text (Leptos escapes it), never as HTML; CSS keeps
/// its line breaks, and http(s) addresses in it become links that open apart from the app and tell
/// the site nothing about where they came from. Own messages say "sent" or, once the peer's read
/// pointer passes them, "read". A message that `continues` the group above it (same sender, a
/// few minutes apart) leaves the time to the group's first message and sits closer to it. A
/// screen reader hears who sent it (`sender`) before the text.
///
/// An edited message says so (when, on hover); a deleted one says "Message deleted" and nothing
/// else. With `on_edit` / `on_delete`, my message offers Edit (while the edit window is open, as
/// the browser's clock sees it when the page comes alive) and Delete, once hydrated: both need
/// JavaScript.
#[component]
pub fn MessageBubble(
    message: ChatMessage,
    mine: bool,
    read_up_to: Signal<i64>,
    #[prop(optional)] continues: bool,
    /// "You" or the peer's name.
    sender: String,
    #[prop(optional, into)] on_edit: Option<Callback<ChatMessage>>,
    #[prop(optional, into)] on_delete: Option<Callback<ChatMessage>>,
    /// The message a search opened the conversation at: marked.
    #[prop(optional)]
    found: bool,
) -> impl IntoView {
    let deleted = message.is_deleted();
    let side = if mine { "mine" } else { "theirs" };
    let class = format!(
        "bubble {side}{}{}{}",
        if continues { " continues" } else { "" },
        if deleted { " deleted" } else { "" },
        if found { " found" } else { "" }
    );
    let id = message.id;
    let state = move || match (mine, read_up_to.get() >= id) {
        (false, _) => "received",
        (true, true) => "read",
        (true, false) => "sent",
    };
    let edited = message.edited_at.filter(|_| !deleted).map(|at| {
        view! {
            <span class="edited" data-testid="message-edited" title=rfc3339_millis::format(&at)>"edited"</span>
        }
    });
    let text = if deleted {
        Either::Left(view! { <em>"Message deleted"</em> })
    } else {
        Either::Right(view! { <MessageText text=message.message.clone() /> })
    };
    let hydrated = crate::ui::hydrated();
    let actions = (mine && !deleted).then(|| {
        let editable = message.clone();
        let deletable = message.clone();
        let date = message.date;
        move || {
            hydrated.get().then(|| {
                let edit = on_edit
                    .filter(|_| editable.is_editable_at(now(date)))
                    .map(|on_edit| {
                        let editable = editable.clone();
                        view! {
                            <button type="button" class="link-button" data-testid="edit-message"
                                on:click=move |_| on_edit.run(editable.clone())>"Edit"</button>
                        }
                    });
                let delete = on_delete.map(|on_delete| {
                    let deletable = deletable.clone();
                    view! {
                        <button type="button" class="link-button" data-testid="delete-message"
                            on:click=move |_| on_delete.run(deletable.clone())>"Delete"</button>
                    }
                });
                view! { <span class="message-actions">{edit}{delete}</span> }
            })
        }
    });
    view! {
        <li class=class data-testid="message" data-id=id data-mine=mine.to_string() data-state=state data-deleted=deleted.to_string()>
            <span class="visually-hidden">{format!("{sender}:")}</span>
            <p class="text" data-testid="message-text">{text}</p>
            {(!continues).then(|| view! { <Timestamp date=message.date with_date=false /> })}
            {edited}
            {mine.then(|| view! { <span class="state" data-testid="message-state">{state}</span> })}
            {actions}
        </li>
    }
}

/// Now, by the browser's clock (after hydration only); `fallback` where there is none.
fn now(fallback: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    #[cfg(feature = "hydrate")]
    {
        let _ = fallback;
        chrono::Utc::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        fallback
    }
}

/// Message text with its web addresses as links.
#[component]
fn MessageText(text: String) -> impl IntoView {
    pieces(&text)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(text) => Either::Left(text.to_owned()),
            Piece::Link(address) => Either::Right(view! {
                <a href=address.to_owned() rel="noopener noreferrer nofollow" target="_blank">{address.to_owned()}</a>
            }),
        })
        .collect_view()
}
