//! Abuse limits: what a stranger (or a runaway client) can make the server do, bounded.
//!
//! Every limit lives in memory on this node, keyed by client address or user, and every map is
//! bounded: a flood of distinct keys prunes what has expired, then forgets the oldest half,
//! rather than grow. A limit configured as 0 is off. The numbers come from `Config`; README.md
//! lists them.

use super::client_addr::ClientAddr;
use super::config::Config;
use super::metrics::Counter;
use crate::domain::UserId;
use crate::error::{AppError, ErrorCode};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Most keys any one limit tracks before it prunes.
const MAX_TRACKED: usize = 100_000;
/// The window login failures are counted in.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// The window signups are counted in.
pub const SIGNUP_WINDOW: Duration = Duration::from_secs(60 * 60);
/// Typing notices from one person to another are relayed at most this often.
pub const TYPING_INTERVAL: Duration = Duration::from_secs(2);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update below is a single insert, remove or field write: a panic elsewhere cannot
    // leave a map half-changed, so a poisoned lock is still sound to use.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Keeps `map` under `MAX_TRACKED`: first drop what `expired` says is gone, then, if that was not
/// enough, the older half by `age` (the newest entries are the ones still being counted).
fn make_room<K: Eq + Hash + Clone, V>(
    map: &mut HashMap<K, V>,
    expired: impl Fn(&V) -> bool,
    age: impl Fn(&V) -> Instant,
) {
    if map.len() < MAX_TRACKED {
        return;
    }
    map.retain(|_, v| !expired(v));
    if map.len() >= MAX_TRACKED / 2 {
        let mut by_age: Vec<(Instant, K)> = map.iter().map(|(k, v)| (age(v), k.clone())).collect();
        by_age.sort_unstable_by_key(|(at, _)| *at);
        for (_, key) in by_age.into_iter().take(map.len() / 2) {
            map.remove(&key);
        }
    }
}

/// Counts events per key in a fixed window that starts with the key's first event.
pub struct WindowCounter<K> {
    limit: u32,
    window: Duration,
    counts: Mutex<HashMap<K, (u32, Instant)>>,
}

impl<K: Eq + Hash + Clone> WindowCounter<K> {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(seconds until the window passes)` if `key` has reached the limit.
    pub fn exceeded(&self, key: &K, now: Instant) -> Option<u64> {
        if self.limit == 0 {
            return None;
        }
        let counts = lock(&self.counts);
        let (count, since) = counts.get(key)?;
        let ends = *since + self.window;
        (*count >= self.limit && ends > now)
            .then(|| ends.duration_since(now).as_secs_f64().ceil() as u64)
    }

    /// Counts one event for `key`.
    pub fn record(&self, key: K, now: Instant) {
        if self.limit == 0 {
            return;
        }
        let mut counts = lock(&self.counts);
        let window = self.window;
        make_room(
            &mut counts,
            |(_, since)| *since + window <= now,
            |(_, since)| *since,
        );
        let entry = counts.entry(key).or_insert((0, now));
        if entry.1 + window <= now {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
    }

    /// Forgets `key` (a correct password clears that name's failures from that address).
    pub fn clear(&self, key: &K) {
        lock(&self.counts).remove(key);
    }
}

/// A token bucket per key: `rate` tokens a second, up to `burst`.
pub struct TokenBuckets<K> {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Eq + Hash + Clone> TokenBuckets<K> {
    pub fn new(rate: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key`, or says in how many seconds one will be there.
    pub fn take(&self, key: K, now: Instant) -> Result<(), u64> {
        if self.rate == 0.0 {
            return Ok(());
        }
        let (rate, burst) = (self.rate, self.burst);
        let mut buckets = lock(&self.buckets);
        // A bucket that has refilled completely holds nothing worth keeping.
        make_room(
            &mut buckets,
            |(tokens, at)| tokens + now.duration_since(*at).as_secs_f64() * rate >= burst,
            |(_, at)| *at,
        );
        let (tokens, at) = buckets.entry(key).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil() as u64)
        }
    }
}

/// Lets an event through for a key at most once per `interval`.
pub struct Throttle<K> {
    interval: Duration,
    last: Mutex<HashMap<K, Instant>>,
}

impl<K: Eq + Hash + Clone> Throttle<K> {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Whether an event for `key` now would be dropped (one went through within the interval).
    pub fn is_throttled(&self, key: &K, now: Instant) -> bool {
        lock(&self.last)
            .get(key)
            .is_some_and(|at| now.duration_since(*at) < self.interval)
    }

    /// Records that an event for `key` went through now. Call it only for events that were valid,
    /// so that keys a client invents never take up room.
    pub fn passed(&self, key: K, now: Instant) {
        let interval = self.interval;
        let mut last = lock(&self.last);
        make_room(
            &mut last,
            |at| now.duration_since(*at) >= interval,
            |at| *at,
        );
        last.insert(key, now);
    }
}

/// Open sockets per user, reserved before the upgrade so concurrent upgrades cannot overshoot.
pub struct ConnectionSlots {
    max: u32,
    open: Arc<Mutex<HashMap<UserId, u32>>>,
}

/// One reserved socket; dropping it gives the slot back.
pub struct ConnectionSlot {
    user: UserId,
    open: Arc<Mutex<HashMap<UserId, u32>>>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

impl ConnectionSlots {
    pub fn new(max: u32) -> Self {
        Self {
            max,
            open: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn try_reserve(&self, user: UserId) -> Option<ConnectionSlot> {
        let mut open = lock(&self.open);
        let count = open.entry(user).or_insert(0);
        if self.max != 0 && *count >= self.max {
            if *count == 0 {
                open.remove(&user);
            }
            return None;
        }
        *count += 1;
        Some(ConnectionSlot {
            user,
            open: Arc::clone(&self.open),
        })
    }
}

/// Every limit of this node, in `AppState`.
pub struct Limits {
    login_failures_by_name: WindowCounter<(IpAddr, String)>,
    login_failures_by_addr: WindowCounter<IpAddr>,
    signups: WindowCounter<IpAddr>,
    sends: TokenBuckets<UserId>,
    pub typing: Throttle<(UserId, UserId)>,
    sockets: ConnectionSlots,
    /// Logins refused for a wrong username or password (`/metrics`).
    pub login_failures: Counter,
    /// Requests each limit refused (`/metrics`).
    pub refused: Refusals,
}

/// How many requests each limit has refused with 429.
#[derive(Default)]
pub struct Refusals {
    pub login: Counter,
    pub signup: Counter,
    pub send: Counter,
    pub sockets: Counter,
}

/// A 429, counted against the limit that refused.
fn refusal(
    counted: &Counter,
    code: ErrorCode,
    message: impl Into<String>,
    retry_after: u64,
) -> AppError {
    counted.increment();
    AppError::too_many_requests(code, message, retry_after)
}

impl Limits {
    pub fn new(config: &Config) -> Self {
        Self {
            login_failures_by_name: WindowCounter::new(
                config.login_failures_per_name,
                LOGIN_WINDOW,
            ),
            login_failures_by_addr: WindowCounter::new(config.login_failures_per_ip, LOGIN_WINDOW),
            signups: WindowCounter::new(config.signups_per_ip_per_hour, SIGNUP_WINDOW),
            sends: TokenBuckets::new(config.send_rate, config.send_burst),
            typing: Throttle::new(TYPING_INTERVAL),
            sockets: ConnectionSlots::new(config.max_sockets_per_user),
            login_failures: Counter::default(),
            refused: Refusals::default(),
        }
    }

    /// Refuses a login attempt from `from` for `username` that failed too often lately. Checked
    /// before any hashing, so a refused guess costs the server nothing. Never a lockout: the same
    /// name from another address is not affected.
    pub fn check_login(&self, from: ClientAddr, username: &str) -> Result<(), AppError> {
        let now = Instant::now();
        let addr = from.limit_key();
        let by_name = self
            .login_failures_by_name
            .exceeded(&(addr, username.to_ascii_lowercase()), now);
        let by_addr = self.login_failures_by_addr.exceeded(&addr, now);
        match by_name.max(by_addr) {
            Some(retry_after) => {
                let minutes = retry_after.div_ceil(60);
                Err(refusal(
                    &self.refused.login,
                    ErrorCode::TooManyAttempts,
                    format!(
                        "too many failed login attempts; try again in {minutes} minute{}",
                        if minutes == 1 { "" } else { "s" }
                    ),
                    retry_after,
                ))
            }
            None => Ok(()),
        }
    }

    pub fn login_failed(&self, from: ClientAddr, username: &str) {
        self.login_failures.increment();
        let now = Instant::now();
        let addr = from.limit_key();
        self.login_failures_by_name
            .record((addr, username.to_ascii_lowercase()), now);
        self.login_failures_by_addr.record(addr, now);
    }

    pub fn login_succeeded(&self, from: ClientAddr, username: &str) {
        self.login_failures_by_name
            .clear(&(from.limit_key(), username.to_ascii_lowercase()));
    }

    pub fn check_signup(&self, from: ClientAddr) -> Result<(), AppError> {
        match self.signups.exceeded(&from.limit_key(), Instant::now()) {
            Some(retry_after) => Err(refusal(
                &self.refused.signup,
                ErrorCode::TooManySignups,
                "too many accounts were created from your network; try again later",
                retry_after,
            )),
            None => Ok(()),
        }
    }

    pub fn signed_up(&self, from: ClientAddr) {
        self.signups.record(from.limit_key(), Instant::now());
    }

    /// One message's worth of `sender`'s sending budget (shared by all their sockets and HTTP).
    pub fn take_send(&self, sender: UserId) -> Result<(), AppError> {
        self.sends
            .take(sender, Instant::now())
            .map_err(|retry_after| {
                refusal(
                    &self.refused.send,
                    ErrorCode::RateLimited,
                    "you are sending too fast; slow down",
                    retry_after,
                )
            })
    }

    /// A place for one more of `user`'s sockets, held until the slot is dropped.
    pub fn reserve_socket(&self, user: UserId) -> Result<ConnectionSlot, AppError> {
        self.sockets.try_reserve(user).ok_or_else(|| {
            refusal(
                &self.refused.sockets,
                ErrorCode::TooManyConnections,
                format!(
                    "at most {} connections per account are open at once",
                    self.sockets.max
                ),
                30,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_counts_to_its_limit_then_refuses_until_it_passes() {
        let counter = WindowCounter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for n in 0..3 {
            assert_eq!(counter.exceeded(&"k", t0), None, "after {n}");
            counter.record("k", t0);
        }
        let retry = counter.exceeded(&"k", t0 + Duration::from_secs(10));
        assert_eq!(retry, Some(50));
        let retry = counter.exceeded(&"k", t0 + Duration::from_millis(10_500));
        assert_eq!(retry, Some(50), "rounded up to whole seconds");
        assert_eq!(counter.exceeded(&"other", t0), None);
        assert_eq!(counter.exceeded(&"k", t0 + Duration::from_secs(60)), None);
        counter.record("k", t0 + Duration::from_secs(61));
        assert_eq!(counter.exceeded(&"k", t0 + Duration::from_secs(61)), None);
        counter.clear(&"k");
    }

    #[test]
    fn a_zero_limit_is_off() {
        let counter = WindowCounter::new(0, Duration::from_secs(60));
        let now = Instant::now();
        for _ in 0..100 {
            counter.record("k", now);
        }
        assert_eq!(counter.exceeded(&"k", now), None);
        let buckets = TokenBuckets::new(0, 0);
        for _ in 0..10_000 {
            assert!(buckets.take(1, now).is_ok());
        }
        let slots = ConnectionSlots::new(0);
        let held: Vec<_> = (0..100)
            .map(|_| slots.try_reserve(UserId::new(1)))
            .collect();
        assert!(held.iter().all(Option::is_some));
    }

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let buckets = TokenBuckets::new(30, 300);
        let t0 = Instant::now();
        for _ in 0..300 {
            assert!(buckets.take(7, t0).is_ok());
        }
        assert_eq!(buckets.take(7, t0), Err(1));
        assert!(buckets.take(8, t0).is_ok(), "buckets are per key");
        // A second later, 30 more.
        let t1 = t0 + Duration::from_secs(1);
        for _ in 0..30 {
            assert!(buckets.take(7, t1).is_ok());
        }
        assert!(buckets.take(7, t1).is_err());
    }

    #[test]
    fn a_throttle_passes_once_per_interval() {
        let throttle = Throttle::new(Duration::from_secs(2));
        let t0 = Instant::now();
        assert!(!throttle.is_throttled(&1, t0));
        throttle.passed(1, t0);
        assert!(throttle.is_throttled(&1, t0 + Duration::from_secs(1)));
        assert!(!throttle.is_throttled(&2, t0));
        assert!(!throttle.is_throttled(&1, t0 + Duration::from_secs(2)));
    }

    #[test]
    fn slots_are_given_back_on_drop() {
        let slots = ConnectionSlots::new(2);
        let user = UserId::new(1);
        let a = slots.try_reserve(user).unwrap();
        let _b = slots.try_reserve(user).unwrap();
        assert!(slots.try_reserve(user).is_none());
        assert!(slots.try_reserve(UserId::new(2)).is_some());
        drop(a);
        assert!(slots.try_reserve(user).is_some());
    }

    #[test]
    fn maps_stay_bounded_under_a_flood_of_keys() {
        let counter = WindowCounter::new(5, Duration::from_secs(60));
        let now = Instant::now();
        for n in 0..(MAX_TRACKED as u32 + 10) {
            counter.record(n, now + Duration::from_micros(u64::from(n)));
        }
        assert!(lock(&counter.counts).len() <= MAX_TRACKED);
        let throttle = Throttle::new(Duration::from_secs(2));
        for n in 0..(MAX_TRACKED as u32 + 10) {
            throttle.passed(n, now);
        }
        assert!(lock(&throttle.last).len() <= MAX_TRACKED);
    }
}
