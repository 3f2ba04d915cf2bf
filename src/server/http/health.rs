//! Health for load balancers and orchestrators, outside `/api` and without a session:
//! `GET /healthz` says the process answers; `GET /readyz` whether this node can serve: its
//! database answers (else 503 `unavailable`) and, with several nodes, its broker is connected
//! (else 200 `degraded`: messages still flow, read from the database every 200 ms).

use crate::server::state::AppState;
use crate::server::store::MessageStore;
use axum::extract::State;
use axum::http::StatusCode;
use std::time::Duration;

/// Longest the database may take to answer before the node counts as unavailable.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn alive() -> &'static str {
    "ok\n"
}

pub async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    // The cheapest question that goes all the way to the database: an index lookup.
    let database = tokio::time::timeout(DATABASE_TIMEOUT, state.store.newest_position()).await;
    if !matches!(database, Ok(Ok(_))) {
        return (StatusCode::SERVICE_UNAVAILABLE, "unavailable\n");
    }
    match &state.cluster {
        Some(cluster) if !cluster.is_connected() => (StatusCode::OK, "degraded\n"),
        _ => (StatusCode::OK, "ready\n"),
    }
}
