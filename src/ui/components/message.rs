use super::Timestamp;
use crate::domain::ChatMessage;
use leptos::prelude::*;

/// One message. Its text is rendered as text (Leptos escapes it), never as HTML; CSS keeps its
/// line breaks.
#[component]
pub fn MessageBubble(message: ChatMessage, mine: bool) -> impl IntoView {
    let class = if mine { "bubble mine" } else { "bubble theirs" };
    view! {
        <li class=class data-testid="message" data-id=message.id data-mine=mine.to_string()>
            <p class="text" data-testid="message-text">{message.message}</p>
            <Timestamp date=message.date />
        </li>
    }
}
