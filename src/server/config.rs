//! Settings from the environment (or flags), with defaults that run with no setup at all.
//! `parley --help` prints this list; README.md repeats it.

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand};
use std::net::SocketAddr;

#[derive(Parser, Debug)]
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

#[derive(Subcommand, Debug)]
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
}

#[derive(Args, Debug, Clone)]
pub struct Config {
    /// Database to use. A SQLite file is created, with its folder, on first start.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/parley.db")]
    pub database_url: String,

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
}

impl Config {
    /// Settings for tests and tools: a given database, an ephemeral port, defaults elsewhere.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            site_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            site_root: "target/site".into(),
            secure_cookies: false,
            max_message_chars: crate::domain::DEFAULT_MAX_MESSAGE_CHARS,
        }
    }
}
