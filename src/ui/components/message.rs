use super::Timestamp;
use crate::domain::ChatMessage;
use crate::ui::links::{pieces, Piece};
use leptos::prelude::*;

/// One stored message. Its text is rendered as text (Leptos escapes it), never as HTML; CSS keeps
/// its line breaks, and http(s) addresses in it become links that open apart from the app and tell
/// the site nothing about where they came from. Own messages say "sent" or, once the peer's read
/// pointer passes them, "read". A message that `continues` the group above it (same sender, a
/// few minutes apart) leaves the time to the group's first message and sits closer to it. A
/// screen reader hears who sent it (`sender`) before the text.
#[component]
pub fn MessageBubble(
    message: ChatMessage,
    mine: bool,
    read_up_to: Signal<i64>,
    #[prop(optional)] continues: bool,
    /// "You" or the peer's name.
    sender: String,
) -> impl IntoView {
    let class = match (mine, continues) {
        (true, false) => "bubble mine",
        (true, true) => "bubble mine continues",
        (false, false) => "bubble theirs",
        (false, true) => "bubble theirs continues",
    };
    let id = message.id;
    let state = move || match (mine, read_up_to.get() >= id) {
        (false, _) => "received",
        (true, true) => "read",
        (true, false) => "sent",
    };
    view! {
        <li class=class data-testid="message" data-id=id data-mine=mine.to_string() data-state=state>
            <span class="visually-hidden">{format!("{sender}:")}</span>
            <p class="text" data-testid="message-text"><MessageText text=message.message /></p>
            {(!continues).then(|| view! { <Timestamp date=message.date /> })}
            {mine.then(|| view! { <span class="state" data-testid="message-state">{state}</span> })}
        </li>
    }
}

/// Message text with its web addresses as links.
#[component]
fn MessageText(text: String) -> impl IntoView {
    pieces(&text)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.to_owned().into_any(),
            Piece::Link(address) => view! {
                <a href=address.to_owned() rel="noopener noreferrer nofollow" target="_blank">{address.to_owned()}</a>
            }
            .into_any(),
        })
        .collect_view()
}
