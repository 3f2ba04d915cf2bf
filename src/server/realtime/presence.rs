//! Presence: who of a user's activity partners is online, and telling them when the user comes
//! or goes. Called by the socket when its user's first connection here opens or last one closes.
//! Online means a socket on any node (`Roster`); with several nodes, the others hear of each
//! change through the broker (`realtime::cluster`).

use super::fanout;
use crate::domain::UserId;
use crate::error::AppError;
use crate::server::messaging;
use crate::server::state::AppState;
use std::time::Instant;

/// Which of `user`'s activity partners (see `Relation::shares_activity`) are online.
#[tracing::instrument(name = "online partners", skip(state))]
pub async fn online_partners(state: &AppState, user: UserId) -> Result<Vec<UserId>, AppError> {
    let partners = messaging::activity_partners(state, user).await?;
    let now = Instant::now();
    Ok(partners
        .into_iter()
        .filter(|p| fanout::is_online(&state.hub, *p) || state.roster.is_online_elsewhere(*p, now))
        .collect())
}

/// Takes note that `user`'s sockets on this node have come or gone, and tells `user`'s activity
/// partners (and only them) when that changes whether `user` is online at all. Whether `user`
/// has a socket here is read from the hub at this moment, so of two connections that open and
/// close at once, whichever announces last leaves the truth.
#[tracing::instrument(name = "announce presence", skip(state))]
pub async fn announce(state: &AppState, user: UserId) -> Result<(), AppError> {
    let here = fanout::is_online(&state.hub, user);
    let changed = state.roster.set_local(user, here, Instant::now());
    // Who may see it is a database read: only made when someone is to be told.
    if !changed && state.cluster.is_none() {
        return Ok(());
    }
    let partners = messaging::activity_partners(state, user).await?;
    if let Some(cluster) = &state.cluster {
        cluster.publish_presence(user, here, &partners);
    }
    if changed {
        fanout::announce_presence(&state.hub, user, here, &partners);
    }
    Ok(())
}
