//! Parley: private one-to-one messaging. One crate, two builds: `ssr` (the server binary) and
//! `hydrate` (the wasm that makes server-rendered pages live).

#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod domain;
pub mod error;
pub mod protocol;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Islands: the page is the server's HTML; only its `#[island(lazy)]` components come alive, each
    // from the props the server wrote beside it (the script in `HydrationScripts` finds them).
    leptos::mount::hydrate_islands();
}
