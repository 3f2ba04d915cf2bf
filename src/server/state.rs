//! `AppState`: what every handler, server function and socket shares.

use super::config::Config;
use super::realtime::Hub;
use super::store::Store;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub hub: Arc<Hub>,
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// Opens the store (creating and migrating it) and builds the state for `config`.
    pub async fn open(config: Config) -> anyhow::Result<Self> {
        let store = Store::open(&config.database_url).await?;
        let leptos_options = LeptosOptions::builder()
            .output_name("parley")
            .site_root(config.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(config.site_addr)
            .env(leptos::config::Env::PROD)
            .build();
        Ok(Self {
            store,
            hub: Arc::new(Hub::default()),
            config: Arc::new(config),
            leptos_options,
        })
    }
}
