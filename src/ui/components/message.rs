use super::Timestamp;
use crate::domain::ChatMessage;
use leptos::prelude::*;

/// One stored message. Its text is rendered as text (Leptos escapes it), never as HTML; CSS keeps
/// its line breaks. Own messages say "sent" or, once the peer's read pointer passes them, "read".
#[component]
pub fn MessageBubble(message: ChatMessage, mine: bool, read_up_to: Signal<i64>) -> impl IntoView {
    let class = if mine { "bubble mine" } else { "bubble theirs" };
    let id = message.id;
    let state = move || match (mine, read_up_to.get() >= id) {
        (false, _) => "received",
        (true, true) => "read",
        (true, false) => "sent",
    };
    view! {
        <li class=class data-testid="message" data-id=id data-mine=mine.to_string() data-state=state>
            <p class="text" data-testid="message-text">{message.message}</p>
            <Timestamp date=message.date />
            {mine.then(|| view! { <span class="state" data-testid="message-state">{state}</span> })}
        </li>
    }
}
