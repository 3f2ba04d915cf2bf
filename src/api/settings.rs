//! The settings page: what it shows, and its forms (profile, password, devices, deletion). Thin adapters over
//! `server::accounts` and `server::messaging`, like `/api/me/…`. Every form works without
//! JavaScript: the post returns to the page it came from.

use crate::domain::{ActiveSession, BlockedUser, User};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    super::context,
    crate::server::{accounts, messaging},
};

/// Everything the settings page shows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    pub me: User,
    pub blocks: Vec<BlockedUser>,
    pub devices: Vec<ActiveSession>,
}

#[server(prefix = "/_app", endpoint = "settings")]
pub async fn load_settings() -> Result<Settings, AppError> {
    context::respond(async move {
        let (state, me) = context::logged_in().await?;
        let (_, session) = context::session().await?;
        let blocks = messaging::blocks(&state, &me).await?;
        let devices = accounts::devices(&state, &session, &me).await?;
        Ok(Settings {
            me,
            blocks,
            devices,
        })
    })
    .await
}

/// Sets the display name (empty: none). Returns the account as others now see it.
#[server(prefix = "/_app", endpoint = "profile")]
pub async fn set_display_name(display_name: String) -> Result<User, AppError> {
    context::respond(async move {
        let (state, me) = context::logged_in().await?;
        accounts::set_display_name(&state, &me, Some(&display_name)).await
    })
    .await
}

/// Deletes the account, given the password and the username typed again; the browser goes to the
/// login page, which says so.
#[server(prefix = "/_app", endpoint = "delete-account")]
pub async fn delete_account(password: String, confirm: String) -> Result<(), AppError> {
    context::respond(async move {
        let (state, me) = context::logged_in().await?;
        let (_, session) = context::session().await?;
        let from = context::client_addr()?;
        accounts::delete_account(&state, &session, from, &me, password, &confirm).await?;
        leptos_axum::redirect(ACCOUNT_DELETED_PAGE);
        Ok(())
    })
    .await
}

/// Where a deleted account's browser is sent: the login page, saying the account is gone.
pub const ACCOUNT_DELETED_PAGE: &str = "/login?account=deleted";

/// Changes the password; every other device is logged out.
#[server(prefix = "/_app", endpoint = "password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    context::respond(async move {
        let (state, me) = context::logged_in().await?;
        let (_, session) = context::session().await?;
        let from = context::client_addr()?;
        accounts::change_password(&state, &session, from, &me, current_password, new_password).await
    })
    .await
}

/// Logs one of my devices out (this one: a plain logout).
#[server(prefix = "/_app", endpoint = "log-out-device")]
pub async fn log_out_device(device: String) -> Result<(), AppError> {
    context::respond(async move {
        let (state, me) = context::logged_in().await?;
        let (_, session) = context::session().await?;
        let device = device
            .parse()
            .map_err(|_| AppError::not_found("no such session"))?;
        accounts::log_out_device(&state, &session, &me, device).await
    })
    .await
}

/// Logs every device but this one out; returns how many.
#[server(prefix = "/_app", endpoint = "log-out-others")]
pub async fn log_out_other_devices() -> Result<usize, AppError> {
    context::respond(async move {
        let (state, me) = context::logged_in().await?;
        let (_, session) = context::session().await?;
        accounts::log_out_other_devices(&state, &session, &me).await
    })
    .await
}
