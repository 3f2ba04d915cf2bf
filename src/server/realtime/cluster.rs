//! Several app nodes on one PostgreSQL, linked by NATS (`BROKER_URL=nats://…`).
//!
//! The database is the truth; the broker only makes things fast. Each node:
//! - publishes every batch its writer commits (subject `parley.committed`), and every service
//!   event (`parley.events`: typing, read marks, logout, disable);
//! - delivers committed messages to its own sockets through a `Sequencer`, from its own writer,
//!   from the broker and from the database, in id order with no gap and no duplicate: a hole
//!   that holds messages back for `HOLE_PATIENCE` is read from the database, and the database is
//!   asked every `POLL` for anything newer, whatever the broker's state, so a message the broker
//!   lost (or every message, while it is down) arrives a few milliseconds later, never not at all;
//! - applies the events it hears to its own sockets. Events are hints, at most once: read
//!   pointers are in the database, and blocks, which the send path must never miss, are also
//!   reloaded from the database every 30 s.
//!
//! Publishing goes through a bounded queue to one task, so a broker that is away can never hold
//! up local delivery or a request: when the queue is full, the newest news is the broker's loss,
//! which the other nodes repair from the database.
//!
//! Events missed while the link was down (a logout, a disable) are caught by every socket
//! checking its session against the database soon after the link comes back (`reconnected`).

use super::roster::{self, Roster};
use super::sequencer::{Sequenced, Sequencer};
use super::{fanout, Hub};
use crate::domain::{Change, StreamEntry, UserId};
use crate::server::events::Event;
use crate::server::metrics::Metrics;
use crate::server::relations::RelationCache;
use crate::server::store::{MessageStore, Store};
use anyhow::Context;
use async_nats::connection::State;
use async_nats::{Client, ConnectOptions, ServerAddr};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};

const COMMITTED: &str = "parley.committed";
const EVENTS: &str = "parley.events";
const PRESENCE: &str = "parley.presence";
/// How long a hole in the ids may hold later messages back before it is read from the database.
const HOLE_PATIENCE: Duration = Duration::from_millis(25);
/// How often the database is asked for messages newer than the last delivered.
const POLL: Duration = Duration::from_millis(200);
/// Most messages read from the database at a time.
const FILL_BATCH: u32 = 1000;
/// How often every block is reloaded from the database, in case the broker lost a block event.
const RELOAD_BLOCKS: Duration = Duration::from_secs(30);
/// Publications waiting for the broker before new ones are dropped.
const PUBLISH_QUEUE: usize = 4096;

/// This node's link to the others.
#[derive(Clone)]
pub struct Cluster {
    client: Client,
    outbox: mpsc::Sender<(&'static str, Vec<u8>)>,
    /// This process's name among the nodes, new at every start.
    node: Arc<str>,
    /// Counts the times the link to the broker came (back) up.
    reconnections: watch::Receiver<u64>,
}

/// A committed batch as the broker carries it (`parley.committed`).
#[derive(Serialize, Deserialize)]
struct CommittedBatch {
    /// When the committing node committed it, in microseconds since the Unix epoch.
    committed_at_us: u64,
    entries: Vec<StreamEntry>,
}

/// A committed stream entry on its way to this node's sockets: when it was committed, and whether
/// it had to be read from the database.
struct Committed {
    entry: StreamEntry,
    at: SystemTime,
    from_database: bool,
}

impl Sequenced for Committed {
    fn position(&self) -> i64 {
        self.entry.position
    }
}

/// What a node says about who is online on it (`parley.presence`).
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum PresenceNews {
    /// `user`'s first socket on `node` opened (`online`) or its last one closed; `partners` are
    /// the people who may see it (the node that saw it knows, so no other node reads them).
    Changed {
        node: String,
        user: UserId,
        online: bool,
        partners: Vec<UserId>,
    },
    /// Everyone with a socket on `node`, repeated every few seconds (`roster::REPEAT_EVERY`).
    Everyone { node: String, users: Vec<UserId> },
}

impl Cluster {
    /// Connects to the NATS servers in `urls` (comma-separated `nats://host:port`). A broker that
    /// is not up yet is not an error: the node starts degraded and connects when it can.
    pub async fn connect(urls: &str) -> anyhow::Result<Self> {
        let servers = urls
            .split(',')
            .map(|url| url.trim().parse::<ServerAddr>())
            .collect::<Result<Vec<_>, _>>()
            .context("BROKER_URL must be nats://host:port, or several separated by commas")?;
        let client = ConnectOptions::new()
            // A node's own publications come back to it through its writer already.
            .no_echo()
            .retry_on_initial_connect()
            .max_reconnects(None)
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis((100 * attempts as u64).min(1000))
            })
            .connection_timeout(Duration::from_secs(2))
            .connect(servers)
            .await
            .context("connect to the broker")?;
        let (outbox, queued) = mpsc::channel(PUBLISH_QUEUE);
        tokio::spawn(publish_all(client.clone(), queued));
        let (connections, reconnections) = watch::channel(0u64);
        tokio::spawn(watch_connection(client.clone(), connections));
        Ok(Self {
            client,
            outbox,
            node: uuid::Uuid::new_v4().simple().to_string().into(),
            reconnections,
        })
    }

    /// Changes each time the link to the broker comes back after it was lost (or connects late).
    pub fn reconnected(&self) -> watch::Receiver<u64> {
        self.reconnections.clone()
    }

    /// Publications waiting to be sent to the broker.
    pub fn queued_publications(&self) -> u64 {
        (self.outbox.max_capacity() - self.outbox.capacity()) as u64
    }

    /// Whether the broker is reachable right now.
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == State::Connected
    }

    /// Tells the other nodes about a service event (this node has applied it already).
    pub fn publish_event(&self, event: &Event) {
        self.publish(EVENTS, event);
    }

    /// Tells the other nodes that `user`'s sockets here came (`online`) or went.
    pub fn publish_presence(&self, user: UserId, online: bool, partners: &[UserId]) {
        self.publish_news(&PresenceNews::Changed {
            node: self.node.to_string(),
            user,
            online,
            partners: partners.to_vec(),
        });
    }

    fn publish_news(&self, news: &PresenceNews) {
        self.publish(PRESENCE, news);
    }

    /// Queues `value`, as JSON, for `subject`.
    fn publish(&self, subject: &'static str, value: &impl Serialize) {
        let payload = match serde_json::to_vec(value) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::error!(error = %err, subject, "could not encode a publication");
                return;
            }
        };
        if self.outbox.try_send((subject, payload)).is_err() {
            // The other nodes read what they missed from the database.
            tracing::debug!("the broker's queue is full; a publication is dropped");
        }
    }

    /// Starts delivering committed messages to this node's sockets: this node's own (`own`, fed
    /// by its writer's commit listener) and every other node's. Also applies other nodes' events
    /// to this node's sockets and blocks.
    pub async fn start(
        &self,
        hub: Arc<Hub>,
        roster: Arc<Roster>,
        relations: Arc<RelationCache>,
        store: Store,
        metrics: Arc<Metrics>,
        own: mpsc::UnboundedReceiver<(SystemTime, Vec<StreamEntry>)>,
    ) -> anyhow::Result<()> {
        let committed = self.client.subscribe(COMMITTED).await?;
        let events = self.client.subscribe(EVENTS).await?;
        let presence_news = self.client.subscribe(PRESENCE).await?;
        // Subscribed first, then the starting point: anything committed in between is at worst
        // heard twice, and the sequencer drops the second copy. Nobody is connected yet, so
        // nothing older is owed to anyone here.
        let start = store.newest_position().await?;
        let relay = Relay {
            cluster: self.clone(),
            hub: Arc::clone(&hub),
            store: store.clone(),
            metrics,
            sequencer: Sequencer::after(start),
        };
        tokio::spawn(relay.run(own, committed));
        tokio::spawn(reload_blocks(Arc::clone(&relations), store.clone()));
        let presence = Presence {
            cluster: self.clone(),
            hub: Arc::clone(&hub),
            roster: Arc::clone(&roster),
            store,
        };
        tokio::spawn(presence.run(presence_news));
        tokio::spawn(apply_events(hub, roster, relations, events));
        Ok(())
    }
}

/// Waits until `due`, or for ever when there is nothing due.
async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due.into()).await,
        None => std::future::pending().await,
    }
}

/// How often the connection's state is looked at, besides the client's own events.
const CONNECTION_CHECK: Duration = Duration::from_millis(100);

/// Counts a connection whenever the link is seen up after being seen down. Read from the
/// connection's state rather than from the client's events, which pass through a bounded channel
/// and may be dropped.
async fn watch_connection(client: Client, connected: watch::Sender<u64>) {
    let mut was_up = client.connection_state() == State::Connected;
    let mut checks = tokio::time::interval(CONNECTION_CHECK);
    loop {
        checks.tick().await;
        let up = client.connection_state() == State::Connected;
        if up && !was_up {
            connected.send_modify(|count| *count += 1);
        }
        was_up = up;
    }
}

/// Sends queued publications, one at a time, for as long as the node runs.
async fn publish_all(client: Client, mut queued: mpsc::Receiver<(&'static str, Vec<u8>)>) {
    while let Some((subject, payload)) = queued.recv().await {
        if let Err(err) = client.publish(subject, payload.into()).await {
            tracing::debug!(error = %err, "could not publish to the broker");
        }
    }
}

async fn apply_events(
    hub: Arc<Hub>,
    roster: Arc<Roster>,
    relations: Arc<RelationCache>,
    mut events: async_nats::Subscriber,
) {
    while let Some(message) = events.next().await {
        match serde_json::from_slice::<Event>(&message.payload) {
            Ok(event) => {
                match event {
                    Event::BlockChanged {
                        blocker,
                        blocked,
                        now_blocked: true,
                    } => relations.blocked(blocker, blocked),
                    Event::BlockChanged {
                        blocker,
                        blocked,
                        now_blocked: false,
                    } => relations.unblocked(blocker, blocked),
                    Event::AccountDeleted { user } => relations.deleted(user),
                    _ => {}
                }
                fanout::publish(&hub, &roster, event);
            }
            Err(err) => tracing::warn!(error = %err, "an event from the broker could not be read"),
        }
    }
}

/// Keeps this node's view of who is online on the others, and tells this node's sockets when
/// someone comes online or goes offline there.
struct Presence {
    cluster: Cluster,
    hub: Arc<Hub>,
    roster: Arc<Roster>,
    store: Store,
}

impl Presence {
    async fn run(self, mut news: async_nats::Subscriber) {
        let mut repeat = tokio::time::interval(roster::REPEAT_EVERY);
        let mut expiry = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                Some(message) = news.next() => {
                    match serde_json::from_slice::<PresenceNews>(&message.payload) {
                        Ok(news) => self.apply(news).await,
                        Err(err) => tracing::warn!(error = %err, "presence from the broker could not be read"),
                    }
                }
                _ = repeat.tick() => self.cluster.publish_news(&PresenceNews::Everyone {
                    node: self.cluster.node.to_string(),
                    users: self.roster.local_users(),
                }),
                _ = expiry.tick() => {
                    for user in self.roster.expire(Instant::now()) {
                        self.announce(user, false, None).await;
                    }
                }
            }
        }
    }

    async fn apply(&self, news: PresenceNews) {
        let now = Instant::now();
        match news {
            PresenceNews::Changed {
                node,
                user,
                online,
                partners,
            } => {
                if self.roster.set_remote(&node, user, online, now) {
                    self.announce(user, online, Some(partners)).await;
                }
            }
            PresenceNews::Everyone { node, users } => {
                for (user, online) in self.roster.set_remote_list(&node, users, now) {
                    self.announce(user, online, None).await;
                }
            }
        }
    }

    /// Tells `user`'s partners with a socket here that `user` is now `online` or not; the
    /// partners are read from the database when the news did not carry them.
    async fn announce(&self, user: UserId, online: bool, partners: Option<Vec<UserId>>) {
        if !self.roster.has_local_users() {
            return; // Nobody here to tell.
        }
        let partners = match partners {
            Some(partners) => partners,
            None => match self.store.activity_partners(user).await {
                Ok(partners) => partners,
                Err(err) => {
                    tracing::warn!(error = %err, "could not read who may see a presence change");
                    return;
                }
            },
        };
        fanout::announce_presence(&self.hub, user, online, &partners);
    }
}

/// Reloads every block now and then: the events that carry them are at most once.
async fn reload_blocks(relations: Arc<RelationCache>, store: Store) {
    let mut rounds = tokio::time::interval(RELOAD_BLOCKS);
    rounds.tick().await;
    loop {
        rounds.tick().await;
        if let Err(err) = relations.reload(&store).await {
            tracing::warn!(error = %err, "could not reload blocks");
        }
    }
}

/// Puts every node's committed messages onto this node's sockets, in id order.
struct Relay {
    cluster: Cluster,
    hub: Arc<Hub>,
    store: Store,
    metrics: Arc<Metrics>,
    sequencer: Sequencer<Committed>,
}

impl Relay {
    async fn run(
        mut self,
        mut own: mpsc::UnboundedReceiver<(SystemTime, Vec<StreamEntry>)>,
        mut committed: async_nats::Subscriber,
    ) {
        let mut poll = tokio::time::interval(POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let fill_due = self.sequencer.fill_due(HOLE_PATIENCE);
            tokio::select! {
                batch = own.recv() => {
                    let Some((at, entries)) = batch else { return };
                    let batch = CommittedBatch { committed_at_us: micros_since_epoch(at), entries };
                    self.cluster.publish(COMMITTED, &batch);
                    self.deliver_batch(batch);
                }
                Some(message) = committed.next() => {
                    match serde_json::from_slice::<CommittedBatch>(&message.payload) {
                        Ok(batch) => self.deliver_batch(batch),
                        Err(err) => tracing::warn!(error = %err, "a batch from the broker could not be read"),
                    }
                }
                _ = sleep_until(fill_due), if fill_due.is_some() => self.fill().await,
                _ = poll.tick() => self.fill().await,
            }
        }
    }

    fn deliver_batch(&mut self, batch: CommittedBatch) {
        let at = UNIX_EPOCH + Duration::from_micros(batch.committed_at_us);
        self.deliver(batch.entries.into_iter().map(|entry| Committed {
            entry,
            at,
            from_database: false,
        }));
    }

    fn deliver(&mut self, messages: impl IntoIterator<Item = Committed>) {
        for ready in self.sequencer.accept(Instant::now(), messages) {
            if ready.from_database {
                self.metrics.gap_fills.increment();
            }
            fanout::deliver_committed(&self.hub, &ready.entry, ready.at);
        }
    }

    /// Reads from the database whatever came after the last delivered message.
    async fn fill(&mut self) {
        loop {
            let after = self.sequencer.delivered();
            match self.store.committed_after(after, FILL_BATCH).await {
                Ok(batch) => {
                    let complete = batch.len() < FILL_BATCH as usize;
                    // Its commit time is not kept; the date of the message (or of its latest
                    // change), taken as its batch was written, is the nearest thing.
                    self.deliver(batch.into_iter().map(|entry| Committed {
                        at: SystemTime::from(entry_date(&entry)),
                        entry,
                        from_database: true,
                    }));
                    if complete {
                        return;
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "could not read new messages from the database");
                    return;
                }
            }
        }
    }
}

/// When an entry was written, as far as the database says: the message's date for a send, else
/// the date of its latest change (the entry's own date is not kept on the message).
fn entry_date(entry: &StreamEntry) -> chrono::DateTime<chrono::Utc> {
    let message = &entry.message;
    match entry.change {
        Change::Sent => message.date,
        Change::Edited | Change::Deleted => message
            .deleted_at
            .or(message.edited_at)
            .unwrap_or(message.date),
    }
}

fn micros_since_epoch(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_micros() as u64)
}
