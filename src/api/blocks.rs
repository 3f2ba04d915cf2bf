//! Blocking, for the pages: the conversation view and the inbox block, the settings page lists and
//! unblocks. Thin adapters over `server::messaging`, like `/api/blocks`.

use crate::domain::{BlockedUser, User, UserId};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {super::context, crate::server::messaging as svc};

/// Everything the settings page shows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    pub me: User,
    pub blocks: Vec<BlockedUser>,
}

#[server(prefix = "/_app", endpoint = "settings")]
pub async fn load_settings() -> Result<Settings, AppError> {
    context::respond(async move {
        let (state, me) = context::logged_in().await?;
        let blocks = svc::blocks(&state, &me).await?;
        Ok(Settings { me, blocks })
    })
    .await
}

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
