//! Preloads for the parts of the split wasm that an island loads.
//!
//! A lazy island's parts are fetched only once the main module has run and found the island: on a
//! slow network, round trips one after another. The page that renders an island names it here,
//! after the island, and the browser fetches its parts alongside the main module instead. Which
//! files those are only the build knows: `cargo leptos build --split` writes them to a manifest,
//! which the server reads at start (`IslandChunks::from_manifest`) and gives every render.
//!
//! The links go in the body, after the island, and ask for low priority: on a slow line the page's
//! own HTML, its stylesheet and the main module should not share it with a dozen chunks.

use leptos::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

/// The files each island loads, by the island's name in snake case (as the manifest spells it).
#[derive(Clone, Debug, Default)]
pub struct IslandChunks(Arc<HashMap<String, Vec<String>>>);

impl IslandChunks {
    /// Reads the manifest (`{"<island>_loader_<hash>": ["chunk_7", …, "split_<island>_loader_<hash>"]}`)
    /// into the URLs, under `pkg_url`, that each island loads. A build without `--split` has no
    /// manifest, and nothing to preload.
    #[cfg(feature = "ssr")]
    pub fn from_manifest(json: &str, pkg_url: &str) -> Self {
        let manifest: HashMap<String, Vec<String>> = serde_json::from_str(json).unwrap_or_default();
        let by_island = manifest
            .into_iter()
            .filter_map(|(loader, parts)| {
                let (island, _hash) = loader.rsplit_once("_loader_")?;
                let files = parts
                    .iter()
                    .map(|part| format!("{pkg_url}/{part}.wasm"))
                    .collect();
                Some((island.to_owned(), files))
            })
            .collect();
        Self(Arc::new(by_island))
    }

    fn files(&self, island: &str) -> Vec<String> {
        self.0.get(island).cloned().unwrap_or_default()
    }
}

/// A `<link rel="preload">` for each part of the wasm that `island` (in snake case) loads; in the
/// form the island's loader fetches them (`fetch`, same-origin credentials), so the browser uses
/// the preloaded answer.
#[component]
pub fn IslandPreloads(island: &'static str) -> impl IntoView {
    let files = use_context::<IslandChunks>()
        .map(|chunks| chunks.files(island))
        .unwrap_or_default();
    files
        .into_iter()
        .map(|href| {
            view! { <link rel="preload" href=href r#as="fetch" crossorigin="anonymous" fetchpriority="low" /> }
        })
        .collect_view()
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::IslandChunks;

    #[test]
    fn each_island_gets_its_own_parts_from_the_manifest() {
        let manifest = r#"{
            "conversations_loader_24": ["chunk_7", "split_conversations_loader_24"],
            "live_conversation_loader_26": ["chunk_7", "chunk_22", "split_live_conversation_loader_26"]
        }"#;
        let chunks = IslandChunks::from_manifest(manifest, "/pkg");
        assert_eq!(
            chunks.files("live_conversation"),
            [
                "/pkg/chunk_7.wasm",
                "/pkg/chunk_22.wasm",
                "/pkg/split_live_conversation_loader_26.wasm"
            ]
        );
        assert_eq!(
            chunks.files("conversations"),
            [
                "/pkg/chunk_7.wasm",
                "/pkg/split_conversations_loader_24.wasm"
            ]
        );
        assert!(chunks.files("conversation").is_empty());
        assert!(IslandChunks::from_manifest("not json", "/pkg")
            .files("conversations")
            .is_empty());
    }
}
