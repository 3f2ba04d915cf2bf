//! Reading the current address. Each reader is a reactive closure, so a resource whose source it
//! is loads again when the address changes (a new search, another conversation).

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The query parameter `name` (`?name=…`), or "" when the address has none.
pub fn query_param(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync {
    let query = use_query_map();
    move || query.read().get(name).unwrap_or_default()
}

/// The route's path parameter `name` (`/c/{name}`), or "" when the route has none.
pub fn path_param(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync {
    let params = use_params_map();
    move || params.read().get(name).unwrap_or_default()
}
