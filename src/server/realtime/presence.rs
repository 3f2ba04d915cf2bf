//! Presence: who of a user's activity partners is online, and telling them when the user comes
//! or goes. Called by the socket when its user's first connection opens or last one closes.

use super::fanout;
use crate::domain::UserId;
use crate::error::AppError;
use crate::server::messaging;
use crate::server::state::AppState;

/// Which of `user`'s activity partners (see `Relation::shares_activity`) are online.
#[tracing::instrument(name = "online partners", skip(state))]
pub async fn online_partners(state: &AppState, user: UserId) -> Result<Vec<UserId>, AppError> {
    let partners = messaging::activity_partners(state, user).await?;
    Ok(partners
        .into_iter()
        .filter(|p| fanout::is_online(&state.hub, *p))
        .collect())
}

/// Tells `user`'s activity partners (and only them) that `user` came online or went offline.
#[tracing::instrument(name = "announce presence", skip(state))]
pub async fn announce(state: &AppState, user: UserId, online: bool) -> Result<(), AppError> {
    let partners = messaging::activity_partners(state, user).await?;
    fanout::announce_presence(&state.hub, user, online, &partners);
    Ok(())
}
