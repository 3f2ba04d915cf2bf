//! Settings from the environment (or flags), with defaults that run with no setup at all.
//! `parley --help` prints this list; README.md repeats it.

use super::client_addr::TrustedProxies;
use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand};
use std::net::SocketAddr;

#[derive(Parser)]
#[command(
    name = "parley",
    version,
    about = "Private one-to-one messaging over the web."
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

// Not `Debug`: `copy-database` holds database URLs, which may hold passwords.
#[derive(Subcommand)]
pub enum Command {
    /// Serve the web application (the default).
    Serve,
    /// Create an admin account, reading its password from the first line of standard input;
    /// or, with --promote, make an existing user an admin.
    CreateAdmin {
        /// The admin's username.
        #[arg(long)]
        username: String,
        /// Make the existing user an admin instead of creating one (no password is read).
        #[arg(long)]
        promote: bool,
    },
    /// Make a one-time password reset link for a user (valid 24 hours) and print it. There is no
    /// e-mail: give the link to its owner some other way.
    ResetLink {
        /// Whose password is to be reset.
        #[arg(long)]
        username: String,
    },
    /// Copy a SQLite database into an empty PostgreSQL database (moving a deployment):
    /// everything, ids and dates kept, sessions included. Stop the server first.
    CopyDatabase {
        /// The SQLite database to copy, e.g. sqlite://data/parley.db.
        #[arg(long)]
        from: String,
        /// The empty PostgreSQL database to copy into, e.g. postgres://parley@db/parley.
        #[arg(long)]
        to: String,
    },
}

// Not `Debug`: the database URL may hold a password, and nothing should print it by accident.
#[derive(Args, Clone)]
pub struct Config {
    /// Database to use: `sqlite://…` (a file, created with its folder on first start) or
    /// `postgres://…` (a shared PostgreSQL database). Never logged: it may hold a password.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/parley.db")]
    pub database_url: String,

    /// How app nodes hear of each other: `local` (one node, the default) or
    /// `nats://host:port` (several separated by commas) for several nodes sharing one PostgreSQL
    /// database. Refused with a SQLite database. Never logged: it may hold credentials.
    #[arg(long, env = "BROKER_URL", default_value = "local")]
    pub broker_url: String,

    /// Address and port to listen on.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    pub site_addr: SocketAddr,

    /// Folder holding the built site (the wasm, JS and CSS under pkg/, and public/ files).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,

    /// Mark the session cookie `Secure` (send it over HTTPS only). Turn on behind TLS.
    #[arg(long, env = "PARLEY_SECURE_COOKIES", default_value = "false",
          action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub secure_cookies: bool,

    /// Longest chat message accepted, in characters.
    #[arg(long, env = "PARLEY_MAX_MESSAGE_CHARS", default_value_t = crate::domain::DEFAULT_MAX_MESSAGE_CHARS)]
    pub max_message_chars: usize,

    /// Failed logins for one username from one client address within 15 minutes before further
    /// attempts get 429 until the window passes (0: no limit).
    #[arg(long, env = "PARLEY_LOGIN_FAILURES_PER_NAME", default_value_t = 10)]
    pub login_failures_per_name: u32,

    /// Failed logins from one client address within 15 minutes, whatever the names (0: no limit).
    #[arg(long, env = "PARLEY_LOGIN_FAILURES_PER_IP", default_value_t = 50)]
    pub login_failures_per_ip: u32,

    /// Accounts created from one client address per hour (0: no limit).
    #[arg(long, env = "PARLEY_SIGNUPS_PER_IP_PER_HOUR", default_value_t = 20)]
    pub signups_per_ip_per_hour: u32,

    /// Messages a second one user may send, sustained, across all sockets and HTTP (0: no limit).
    #[arg(long, env = "PARLEY_SEND_RATE", default_value_t = 30)]
    pub send_rate: u32,

    /// Messages one user may send in a burst above the sustained rate.
    #[arg(long, env = "PARLEY_SEND_BURST", default_value_t = 300)]
    pub send_burst: u32,

    /// Open WebSockets per user (0: no limit).
    #[arg(long, env = "PARLEY_MAX_SOCKETS_PER_USER", default_value_t = 20)]
    pub max_sockets_per_user: u32,

    /// Messages older than this many days are removed, by a background task, in small batches
    /// (unset: kept forever).
    #[arg(long, env = "PARLEY_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub retention_days: Option<u32>,

    /// Address and port for `GET /metrics` (Prometheus text format), apart from the site so that
    /// only operators reach it, e.g. 127.0.0.1:9100. Unset: no metrics endpoint.
    #[arg(long, env = "PARLEY_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// Reverse proxies (addresses or CIDR blocks, comma-separated) whose X-Forwarded-For names the
    /// client. Empty: the TCP peer is the client, and X-Forwarded-For is ignored.
    #[arg(long, env = "PARLEY_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: TrustedProxies,

    /// With several nodes: seconds between checks, on each socket, that its session and account
    /// are still valid. Each logout and disable closes the sockets at once through an event; this
    /// check catches one whose event was lost on the way between nodes.
    #[arg(
        long,
        env = "PARLEY_SESSION_CHECK_SECS",
        default_value_t = 30,
        hide = true
    )]
    pub session_check_secs: u64,

    /// Seconds between the server's pings on each socket.
    #[arg(
        long,
        env = "PARLEY_PING_INTERVAL_SECS",
        default_value_t = 30,
        hide = true
    )]
    pub ping_interval_secs: u64,

    /// Seconds without any frame (a pong included) after which a socket counts as dead.
    #[arg(
        long,
        env = "PARLEY_PING_TIMEOUT_SECS",
        default_value_t = 60,
        hide = true
    )]
    pub ping_timeout_secs: u64,
}

impl Config {
    /// Settings for tests and tools: a given database, an ephemeral port, defaults elsewhere.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            broker_url: "local".into(),
            site_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            site_root: "target/site".into(),
            secure_cookies: false,
            max_message_chars: crate::domain::DEFAULT_MAX_MESSAGE_CHARS,
            login_failures_per_name: 10,
            login_failures_per_ip: 50,
            signups_per_ip_per_hour: 20,
            send_rate: 30,
            send_burst: 300,
            max_sockets_per_user: 20,
            retention_days: None,
            metrics_addr: None,
            trusted_proxies: TrustedProxies::default(),
            session_check_secs: 30,
            ping_interval_secs: 30,
            ping_timeout_secs: 60,
        }
    }

    /// These settings with every abuse limit switched off (load tests, floods in tests).
    pub fn without_limits(mut self) -> Self {
        self.login_failures_per_name = 0;
        self.login_failures_per_ip = 0;
        self.signups_per_ip_per_hour = 0;
        self.send_rate = 0;
        self.max_sockets_per_user = 0;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults `parley` runs with are the ones tests start from (and README documents).
    #[test]
    fn test_settings_match_the_command_line_defaults() {
        let cli = Cli::parse_from(["parley"]);
        let ours = Config::for_database("sqlite://data/parley.db");
        assert_eq!(
            format!("{:?}", cli.config.trusted_proxies),
            format!("{:?}", ours.trusted_proxies)
        );
        let pick = |c: &Config| {
            (
                c.login_failures_per_name,
                c.login_failures_per_ip,
                c.signups_per_ip_per_hour,
                c.send_rate,
                c.send_burst,
                c.max_sockets_per_user,
                c.ping_interval_secs,
                c.ping_timeout_secs,
                c.max_message_chars,
            )
        };
        assert_eq!(pick(&cli.config), pick(&ours));
    }
}
