//! Blocking, for the pages: the conversation view and the inbox block, the settings page lists and
//! unblocks. Thin adapters over `server::messaging`, like `/api/blocks`.

use crate::domain::UserId;
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {super::context, crate::server::messaging as svc};

/// Blocks `user`. Without JavaScript the form post returns to the page it came from.
#[server(prefix = "/_app", endpoint = "block")]
pub async fn block_user(user: UserId) -> Result<(), AppError> {
    context::respond(async move {
        let (state, me) = context::logged_in().await?;
        svc::block(&state, &me, user).await
    })
    .await
}

#[server(prefix = "/_app", endpoint = "unblock")]
pub async fn unblock_user(user: UserId) -> Result<(), AppError> {
    context::respond(async move {
        let (state, me) = context::logged_in().await?;
        svc::unblock(&state, &me, user).await
    })
    .await
}
