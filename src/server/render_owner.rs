//! Keeps each page render's late head tags in its own page.
//!
//! With the wasm split by route (`--split`), Leptos's axum integration (leptos_integration_utils
//! 0.8.9, `IntoResponse::from_app`) adds, once a page has rendered, one `<link rel="preload">` per
//! wasm chunk the page's routes need. It does so outside the render's reactive owner, so the links
//! go to whichever owner the worker thread last left current: under concurrent requests a page got
//! none, or those of several other pages, the same chunk many times over (a 42 KB conversation page
//! was served at up to 155 KB, with 946 links). Measured with the load generator's `pages` scenario.
//!
//! The fix from outside: the shell remembers its render's root owner (`remember_render_owner`), and
//! `in_render_owner` polls the page's response future with that owner current, so the links land in
//! their own page's head, once. Only a weak reference is kept: the render's owner must still be
//! dropped, with everything it holds, when the page is done.

use axum::extract::Request;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use leptos::prelude::*;
use leptos::reactive::owner::WeakOwner;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// Where one request's render leaves its root owner (a request extension, read by the shell).
#[derive(Clone, Default)]
struct RenderOwner(Arc<Mutex<Option<WeakOwner>>>);

impl RenderOwner {
    fn owner(&self) -> Option<Owner> {
        let slot = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slot.as_ref().and_then(WeakOwner::upgrade)
    }

    fn remember(&self, owner: &Owner) {
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *slot = Some(owner.downgrade());
    }
}

/// Call at the root of the render (the shell): the current owner is the render's root.
pub fn remember_render_owner() {
    let slot =
        use_context::<Parts>().and_then(|parts| parts.extensions.get::<RenderOwner>().cloned());
    if let (Some(slot), Some(owner)) = (slot, Owner::current()) {
        slot.remember(&owner);
    }
}

/// Middleware for the page routes: runs the rest of the request with its render's owner current.
pub async fn in_render_owner(mut request: Request, next: Next) -> Response {
    let slot = RenderOwner::default();
    request.extensions_mut().insert(slot.clone());
    InRenderOwner {
        slot,
        inner: Box::pin(next.run(request)),
    }
    .await
}

struct InRenderOwner<F> {
    slot: RenderOwner,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for InRenderOwner<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // Until the shell has run, there is no owner yet: the first poll starts the render.
        match self.slot.owner() {
            Some(owner) => owner.with(|| self.inner.as_mut().poll(cx)),
            None => self.inner.as_mut().poll(cx),
        }
    }
}
