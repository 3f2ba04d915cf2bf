use crate::domain::User;
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {
    super::context,
    crate::server::{accounts, auth as session},
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
