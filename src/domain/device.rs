//! The browsers an account is logged in on ("devices"): what a session remembers about where it is
//! used, and how a User-Agent reads to a person ("Firefox on Linux").

use super::rfc3339_millis;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The longest User-Agent kept; real ones are far shorter, and a session must stay small.
pub const MAX_USER_AGENT_CHARS: usize = 256;

/// What a logged-in session remembers about the browser it is used from. Kept in the session
/// record, and in columns of the session table so the devices list is one query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Names this session in the devices list (and in `DELETE /api/me/sessions/{id}`). Never the
    /// session's own id, which is the secret in the cookie.
    pub id: uuid::Uuid,
    pub user_agent: String,
    /// The address its latest request came from (as `PARLEY_TRUSTED_PROXIES` resolves it).
    pub client_addr: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; updated at most every `SEEN_EVERY_SECS`.
    pub last_seen_at: i64,
}

/// How stale "last seen" may get before a request updates it (each update is a session write).
pub const SEEN_EVERY_SECS: i64 = 60;

impl Device {
    pub fn new(user_agent: &str, client_addr: String, now: i64) -> Self {
        Self {
            id: uuid::Uuid::new_v4(),
            user_agent: user_agent.chars().take(MAX_USER_AGENT_CHARS).collect(),
            client_addr,
            created_at: now,
            last_seen_at: now,
        }
    }

    /// This device as seen by a request from `client_addr` at `now`, if that is news worth a
    /// session write: another address, or "last seen" older than `SEEN_EVERY_SECS`.
    pub fn seen(&self, client_addr: &str, now: i64) -> Option<Self> {
        (self.client_addr != client_addr || now - self.last_seen_at >= SEEN_EVERY_SECS).then(|| {
            Self {
                client_addr: client_addr.to_owned(),
                last_seen_at: now,
                ..self.clone()
            }
        })
    }
}

/// One active session of mine, as the devices list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveSession {
    pub id: uuid::Uuid,
    /// "Firefox", "Chrome", …, or "Unknown browser".
    pub browser: String,
    /// "Linux", "Android", …, or "Unknown system".
    pub os: String,
    pub user_agent: String,
    pub client_addr: String,
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339_millis")]
    pub last_seen_at: DateTime<Utc>,
    /// The session this list was asked for from.
    pub current: bool,
}

impl ActiveSession {
    pub fn of(device: Device, current: bool) -> Self {
        let (browser, os) = describe(&device.user_agent);
        let date = |secs: i64| DateTime::from_timestamp(secs, 0).unwrap_or_default();
        Self {
            id: device.id,
            browser: browser.to_owned(),
            os: os.to_owned(),
            created_at: date(device.created_at),
            last_seen_at: date(device.last_seen_at),
            user_agent: device.user_agent,
            client_addr: device.client_addr,
            current,
        }
    }
}

/// The browser and the operating system a User-Agent names, as a person would say them. Good
/// enough to tell one's own devices apart; a User-Agent can say anything, so nothing relies on it.
pub fn describe(user_agent: &str) -> (&'static str, &'static str) {
    let has = |needle: &str| user_agent.contains(needle);
    // Order matters: Edge and Opera also say Chrome; Chrome also says Safari.
    let browser = if has("Edg/") {
        "Edge"
    } else if has("OPR/") || has("Opera") {
        "Opera"
    } else if has("Firefox/") {
        "Firefox"
    } else if has("Chromium/") {
        "Chromium"
    } else if has("Chrome/") || has("CriOS/") {
        "Chrome"
    } else if has("Safari/") {
        "Safari"
    } else if has("curl/") {
        "curl"
    } else {
        "Unknown browser"
    };
    // iPhones say "like Mac OS X"; Android says Linux.
    let os = if has("iPhone") || has("iPad") {
        "iOS"
    } else if has("Android") {
        "Android"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Windows") {
        "Windows"
    } else if has("Mac OS X") || has("Macintosh") {
        "macOS"
    } else if has("Linux") || has("X11") {
        "Linux"
    } else {
        "Unknown system"
    };
    (browser, os)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_browsers_read_as_people_say_them() {
        for (agent, expected) in [
            ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", ("Firefox", "Linux")),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", ("Chrome", "Windows")),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", ("Edge", "Windows")),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", ("Safari", "macOS")),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", ("Safari", "iOS")),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", ("Chrome", "Android")),
            ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", ("Chrome", "ChromeOS")),
            ("curl/8.5.0", ("curl", "Unknown system")),
            ("", ("Unknown browser", "Unknown system")),
        ] {
            assert_eq!(describe(agent), expected, "{agent}");
        }
    }

    #[test]
    fn a_device_is_written_again_only_when_it_moved_or_time_passed() {
        let device = Device::new(&"x".repeat(1000), "10.0.0.1".into(), 1_000);
        assert_eq!(device.user_agent.chars().count(), MAX_USER_AGENT_CHARS);
        assert_eq!(device.seen("10.0.0.1", 1_000 + SEEN_EVERY_SECS - 1), None);
        let later = device.seen("10.0.0.1", 1_000 + SEEN_EVERY_SECS).unwrap();
        assert_eq!(
            (later.last_seen_at, later.created_at),
            (1_000 + SEEN_EVERY_SECS, 1_000)
        );
        let moved = device.seen("10.0.0.2", 1_001).unwrap();
        assert_eq!(
            (moved.client_addr.as_str(), moved.id),
            ("10.0.0.2", device.id)
        );
    }
}
