//! `AppState`: what every handler, server function and socket shares, and the one place that
//! wires the parts together (`open`): the store's committed messages and the services' events both
//! go to the realtime fan-out.

use super::broker::Broker;
use super::config::Config;
use super::events::Events;
use super::housekeeping::Housekeeping;
use super::limits::Limits;
use super::metrics::Metrics;
use super::realtime::cluster::Cluster;
use super::realtime::roster::Roster;
use super::realtime::{fanout, Hub};
use super::relations::RelationCache;
use super::store::{Backend, CommitListener, Store};
use crate::domain::StreamEntry;
use crate::ui::components::IslandChunks;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio_util::task::task_tracker::TaskTrackerToken;
use tokio_util::task::TaskTracker;

/// Graceful shutdown: a signal every socket watches, and a count of the sockets still open.
#[derive(Clone)]
pub struct Shutdown {
    signal: Arc<watch::Sender<bool>>,
    sockets: TaskTracker,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self {
            signal: Arc::new(watch::Sender::new(false)),
            sockets: TaskTracker::new(),
        }
    }
}

impl Shutdown {
    /// Tells every socket to stop reading, finish what it is doing and close with 1001.
    pub fn trigger(&self) {
        self.signal.send_replace(true);
    }

    /// Resolves once `trigger` has been called.
    pub async fn triggered(&self) {
        let mut watching = self.signal.subscribe();
        let _ = watching.wait_for(|down| *down).await;
    }

    /// Held by each open socket; `drain` waits for all of them to be dropped.
    pub fn track_socket(&self) -> TaskTrackerToken {
        self.sockets.token()
    }

    /// Waits (at most `limit`) until every socket has closed.
    pub async fn drain(&self, limit: Duration) -> bool {
        self.sockets.close();
        tokio::time::timeout(limit, self.sockets.wait())
            .await
            .is_ok()
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// This node's rooms: the WebSocket endpoint joins them; services never touch them.
    pub hub: Arc<Hub>,
    /// Where services publish what connected clients must hear (`events::Event`).
    pub events: Events,
    /// The link to the other nodes, when there are several (`BROKER_URL=nats://…`).
    pub cluster: Option<Cluster>,
    /// Who is online, here and (with several nodes) on the others.
    pub roster: Arc<Roster>,
    pub config: Arc<Config>,
    pub limits: Arc<Limits>,
    pub relations: Arc<RelationCache>,
    /// What this node counts for `/metrics` beyond what its parts count themselves.
    pub metrics: Arc<Metrics>,
    /// The background work (finishing account deletions); woken when there is some.
    pub housekeeping: Housekeeping,
    pub leptos_options: LeptosOptions,
    /// What each island's page preloads (from the build's manifest; empty without a split build).
    pub island_chunks: IslandChunks,
    pub shutdown: Shutdown,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// Opens the store (creating and migrating it), links this node to the others if there are
    /// several, and builds the state for `config`. Committed messages and service events go to
    /// this node's sockets through the fan-out, and with several nodes through the broker too.
    pub async fn open(config: Config) -> anyhow::Result<Self> {
        let broker = Broker::for_url(&config.broker_url, Backend::for_url(&config.database_url)?)?;
        let hub = Arc::new(Hub::default());
        let roster = Arc::new(Roster::default());
        let cluster = match broker {
            Broker::Local => None,
            Broker::Nats(urls) => Some(Cluster::connect(&urls).await?),
        };
        let (fan_out_to, who, tell_others) =
            (Arc::clone(&hub), Arc::clone(&roster), cluster.clone());
        let events = Events::new(move |event| {
            if let Some(cluster) = &tell_others {
                cluster.publish_event(&event);
            }
            fanout::publish(&fan_out_to, &who, event);
        });
        let metrics = Arc::new(Metrics::default());
        let counted = Arc::clone(&metrics);
        // One node delivers its commits itself; with several, the cluster's relay delivers them
        // among everyone else's.
        let (on_commit, committed): (CommitListener, _) = if cluster.is_some() {
            let (commits, committed) = tokio::sync::mpsc::unbounded_channel();
            let on_commit = Arc::new(move |entries: &[StreamEntry]| {
                counted.committed(entries);
                let _ = commits.send((SystemTime::now(), entries.to_vec()));
            });
            (on_commit, Some(committed))
        } else {
            let deliver_to = Arc::clone(&hub);
            let on_commit = Arc::new(move |entries: &[StreamEntry]| {
                counted.committed(entries);
                let now = SystemTime::now();
                for entry in entries {
                    fanout::deliver_committed(&deliver_to, entry, now);
                }
            });
            (on_commit, None)
        };
        let store = Store::open(&config.database_url, on_commit).await?;
        let relations = Arc::new(RelationCache::load(&store).await?);
        if let (Some(cluster), Some(committed)) = (&cluster, committed) {
            cluster
                .start(
                    Arc::clone(&hub),
                    Arc::clone(&roster),
                    Arc::clone(&relations),
                    store.clone(),
                    Arc::clone(&metrics),
                    committed,
                )
                .await?;
        }
        let leptos_options = LeptosOptions::builder()
            .output_name("parley")
            .site_root(config.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(config.site_addr)
            .env(leptos::config::Env::PROD)
            .build();
        let island_chunks = read_island_chunks(&leptos_options);
        let housekeeping = Housekeeping::start(store.clone(), config.retention_days);
        Ok(Self {
            store,
            hub,
            events,
            cluster,
            roster,
            limits: Arc::new(Limits::new(&config)),
            relations,
            metrics,
            housekeeping,
            config: Arc::new(config),
            leptos_options,
            island_chunks,
            shutdown: Shutdown::default(),
        })
    }
}

/// The split build's manifest, beside the wasm. Tests and `cargo leptos watch` without `--split`
/// have none: pages then preload no island parts, and islands still load them when they start.
fn read_island_chunks(options: &LeptosOptions) -> IslandChunks {
    let pkg = format!("/{}", options.site_pkg_dir);
    let path = std::path::Path::new(&*options.site_root)
        .join(&*options.site_pkg_dir)
        .join("__wasm_split_manifest.json");
    match std::fs::read_to_string(&path) {
        Ok(json) => IslandChunks::from_manifest(&json, &pkg),
        Err(_) => IslandChunks::default(),
    }
}
