//! Block and Unblock: a plain form that posts without JavaScript (the server sends the browser back
//! to the page it came from) and, inside a live island, sends the same request from the page so the
//! page changes in place.
//!
//! Not an `ActionForm`: that decodes the form's fields into the server function's arguments in the
//! browser, and its decoder (`serde_qs`) and form machinery would be loaded by every island that
//! holds one, for a form whose only field is the peer's id, known here already.

use crate::api::blocks::{BlockUser, UnblockUser};
use crate::domain::UserId;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockChange {
    Block,
    Unblock,
}

#[component]
pub fn BlockForm<F>(
    change: BlockChange,
    peer: UserId,
    #[prop(optional)] class: Option<&'static str>,
    /// What the page does with the server's answer (the block is in place, or why not).
    on_done: F,
    /// The submit button.
    children: Children,
) -> impl IntoView
where
    F: Fn(Result<(), AppError>) + Clone + Send + Sync + 'static,
{
    let action = match change {
        BlockChange::Block => <BlockUser as ServerFn>::PATH,
        BlockChange::Unblock => <UnblockUser as ServerFn>::PATH,
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            use crate::api::blocks::{block_user, unblock_user};
            let on_done = on_done.clone();
            leptos::task::spawn_local(async move {
                on_done(match change {
                    BlockChange::Block => block_user(peer).await,
                    BlockChange::Unblock => unblock_user(peer).await,
                });
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &on_done;
    };
    view! {
        <form method="post" action=action class=class on:submit=on_submit>
            <input type="hidden" name="user" value=peer.get() />
            {children()}
        </form>
    }
}
