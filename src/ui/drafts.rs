//! Drafts: what someone has typed in a conversation and not sent yet, kept in this browser
//! (`localStorage`, per account and conversation) so that a reload or a look at the inbox loses
//! nothing. Logging out here forgets every draft, so the next person at this browser finds none.

use crate::domain::UserId;

const PREFIX: &str = "parley.draft.";

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

/// Forgets every draft kept in this browser (on logout).
pub fn forget_all_drafts() {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = storage() {
        let keys: Vec<String> = (0..storage.length().unwrap_or(0))
            .filter_map(|index| storage.key(index).ok().flatten())
            .filter(|key| key.starts_with(PREFIX))
            .collect();
        for key in keys {
            let _ = storage.remove_item(&key);
        }
    }
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    leptos::prelude::window().local_storage().ok().flatten()
}
