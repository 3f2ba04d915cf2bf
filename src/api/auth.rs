use crate::domain::User;
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {
    super::context,
    crate::server::{accounts, auth as session, reset_links},
};

#[server(prefix = "/_app", endpoint = "signup")]
pub async fn sign_up(username: String, password: String) -> Result<User, AppError> {
    context::respond(async move {
        let (state, sess) = context::session().await?;
        let user = accounts::sign_up(&state, context::client_addr()?, &username, password).await?;
        session::start_session(&sess, &user, context::new_device()?).await?;
        leptos_axum::redirect("/");
        Ok(user)
    })
    .await
}

#[server(prefix = "/_app", endpoint = "login")]
pub async fn log_in(username: String, password: String) -> Result<User, AppError> {
    context::respond(async move {
        let (state, sess) = context::session().await?;
        let user =
            accounts::authenticate(&state, context::client_addr()?, &username, password).await?;
        session::start_session(&sess, &user, context::new_device()?).await?;
        leptos_axum::redirect("/");
        Ok(user)
    })
    .await
}

#[server(prefix = "/_app", endpoint = "logout")]
pub async fn log_out() -> Result<(), AppError> {
    context::respond(async move {
        let (state, sess) = context::session().await?;
        session::end_session(&sess, &state).await?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// Whose password a reset link is for (the reset page's greeting), while the link works.
#[server(prefix = "/_app", endpoint = "reset-link")]
pub async fn load_reset_link(token: String) -> Result<String, AppError> {
    context::respond(async move {
        let (state, _) = context::session().await?;
        Ok(reset_links::user_of(&state, &token)
            .await?
            .username
            .to_string())
    })
    .await
}

/// Sets a new password through a reset link; every session of the account ends, and the browser
/// goes to the login page.
#[server(prefix = "/_app", endpoint = "reset-password")]
pub async fn reset_password(token: String, new_password: String) -> Result<(), AppError> {
    context::respond(async move {
        let (state, _) = context::session().await?;
        reset_links::reset_password(&state, &token, new_password).await?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}
