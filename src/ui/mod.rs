//! Pages (one per route) and the components they share. No I/O here but through server
//! functions (`crate::api`) and the realtime client.

pub mod components;
pub mod drafts;
pub mod format;
pub mod intl;
pub mod links;
pub mod notify;
pub mod pages;
pub mod realtime;
pub mod schedule;
pub mod timeline;
pub mod url;

use leptos::prelude::*;

/// False while the component renders as the server did (on the server, and for its first render
/// in the browser, which must match the server's HTML), true once it is live in the browser.
/// What depends on the reader's clock, zone or locale, or on JavaScript, waits for it.
pub fn hydrated() -> ReadSignal<bool> {
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    hydrated
}
