//! The conversation's header: back link, the peer's name, whether they are online, the state of
//! the realtime link, and "Block" (a plain form, so it works without JavaScript).

use super::live::LiveState;
use crate::api::blocks::BlockUser;
use crate::domain::User;
use crate::ui::components::{LinkStatusLabel, PersonName};
use crate::ui::realtime::Realtime;
use leptos::prelude::*;

#[component]
pub(super) fn ConversationHeader(live: LiveState, realtime: Realtime, peer: User) -> impl IntoView {
    let deleted = peer.deleted;
    let block_action = ServerAction::<BlockUser>::new();
    // A block ends presence both ways (the server also sends `online: false`): show the peer offline.
    Effect::new(move |_| {
        if let Some(Ok(())) = block_action.value().get() {
            live.blocked.set(true);
            live.peer_online.set(false);
        }
    });
    view! {
        <header class="conversation-head">
            <a href="/" class="back" aria-label="Back to inbox">"←"</a>
            <h1 data-testid="conversation-peer"><PersonName person=peer /></h1>
            <span class="presence" data-testid="peer-presence" data-online=move || live.peer_online.get().to_string()>
                {move || if live.peer_online.get() { "online" } else { "offline" }}
            </span>
            <LinkStatusLabel realtime />
            <Show when=move || !live.blocked.get() && !deleted>
                <ActionForm action=block_action attr:class="block-form">
                    <input type="hidden" name="user" value=live.peer.get() />
                    <button type="submit" class="link-button" data-testid="block">"Block"</button>
                </ActionForm>
            </Show>
        </header>
    }
}
