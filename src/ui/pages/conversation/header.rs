//! The conversation's header: back link, the peer's name, whether they are online, the state of
//! the realtime link, and "Block" (a plain form, so it works without JavaScript).

use super::live::LiveState;
use crate::domain::User;
use crate::error::AppError;
use crate::ui::components::{BlockChange, BlockForm, LinkStatusLabel, PersonName};
use crate::ui::realtime::Realtime;
use leptos::prelude::*;

#[component]
pub(super) fn ConversationHeader(live: LiveState, realtime: Realtime, peer: User) -> impl IntoView {
    let deleted = peer.deleted;
    // A block ends presence both ways (the server also sends `online: false`): show the peer offline.
    let blocked = move |result: Result<(), AppError>| match result {
        Ok(()) => {
            live.blocked.set(true);
            live.peer_online.set(false);
        }
        Err(err) => live.send_error.set(Some(err.to_string())),
    };
    view! {
        <header class="conversation-head">
            <a href="/" class="back" aria-label="Back to inbox">"←"</a>
            <h1 data-testid="conversation-peer"><PersonName person=peer /></h1>
            <span class="presence" data-testid="peer-presence" data-online=move || live.peer_online.get().to_string()>
                {move || if live.peer_online.get() { "online" } else { "offline" }}
            </span>
            <LinkStatusLabel realtime />
            <Show when=move || !live.blocked.get() && !deleted>
                <BlockForm change=BlockChange::Block peer=live.peer class="block-form" on_done=blocked>
                    <button type="submit" class="link-button" data-testid="block">"Block"</button>
                </BlockForm>
            </Show>
        </header>
    }
}
