//! Drafts: what someone has typed in a conversation and not sent yet, kept in this browser
//! (`localStorage`, per account and conversation) so that a reload or a look at the inbox loses
//! nothing. Logging out here forgets every draft, so the next person at this browser finds none.

use crate::domain::UserId;

/// Every draft's key starts with this (a macro, so the script below can be one `concat!`).
macro_rules! prefix {
    () => {
        "parley.draft."
    };
}
const PREFIX: &str = prefix!();

/// The script that forgets the drafts when a form marked `data-forget-drafts` is sent (log out,
/// `ui::components::top_bar`): every key under `PREFIX` goes. Plain JavaScript, so the pages that
/// only need this load no wasm for it; storage that throws (private mode) has nothing to forget.
/// A module script, so it never holds up the parsing of the page (a classic inline script would
/// wait for the stylesheet before the rest of the page could show); it runs before the wasm,
/// which is what saves drafts.
pub const FORGET_DRAFTS_ON_SUBMIT: &str = concat!(
    "for(const f of document.querySelectorAll('form[data-forget-drafts]'))",
    "f.addEventListener('submit',()=>{try{",
    "for(let i=localStorage.length;i--;){const k=localStorage.key(i);",
    "if(k&&k.startsWith('",
    prefix!(),
    "'))localStorage.removeItem(k)}}catch(e){}})"
);

/// Where the draft of one account's conversation with `peer` is kept.
pub fn draft_key(me: UserId, peer: UserId) -> String {
    format!("{PREFIX}{}.{}", me.get(), peer.get())
}

pub fn load_draft(key: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let storage = storage()?;
        storage
            .get_item(key)
            .ok()
            .flatten()
            .filter(|text| !text.is_empty())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = key;
        None
    }
}

/// Keeps `text` as the draft under `key`; a blank text removes it. A browser that refuses
/// storage (private mode, a full quota) only loses the draft.
pub fn save_draft(key: &str, text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = storage() {
        let _ = if text.trim().is_empty() {
            storage.remove_item(key)
        } else {
            storage.set_item(key, text)
        };
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (key, text);
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    leptos::prelude::window().local_storage().ok().flatten()
}
