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
    // Lazy: the page's own chunk of the wasm is loaded before it hydrates (app.rs, lazy routes).
    leptos::mount::hydrate_lazy(app::App);
}
