//! The server binary: read the configuration, open (and migrate) the database, serve.

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use clap::Parser;
    use parley::server::config::{Cli, Command};
    use parley::server::{accounts, hashing, memory, router, state::AppState};
    use tracing_subscriber::EnvFilter;

    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            hashing::prepare();
            memory::give_back_freed_memory();
            router::serve(AppState::open(cli.config).await?).await
        }
        Command::CreateAdmin { username, promote } => {
            let password = if promote {
                None
            } else {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                Some(line.trim_end_matches(['\r', '\n']).to_owned())
            };
            let state = AppState::open(cli.config).await?;
            let admin = accounts::create_admin(&state, &username, password, promote)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{} is now an admin (user id {})", admin.username, admin.id);
            Ok(())
        }
        Command::ResetLink { username } => {
            use parley::server::reset_links::{self, MadeBy};
            let state = AppState::open(cli.config).await?;
            let user = parley::server::messaging::peer_by_name(&state, &username)
                .await
                .map_err(|_| anyhow::anyhow!("there is no user called {username}"))?;
            let link = reset_links::create(&state, MadeBy::CommandLine, user.id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", link.path);
            eprintln!(
                "Give {} this path on your Parley site's address (e.g. https://chat.example.com{}). \
                 It works once, until {}.",
                user.username, link.path, link.expires_at
            );
            Ok(())
        }
        Command::CopyDatabase { from, to } => {
            let copied =
                parley::server::store::copy::copy_database(&from, &to, |line| println!("{line}"))
                    .await?;
            println!(
                "copied {} users, {} messages, {} edits and deletions, {} conversation summaries, \
                 {} blocks, {} audit entries and {} sessions",
                copied.users,
                copied.messages,
                copied.changes,
                copied.conversations,
                copied.blocks,
                copied.audit_entries,
                copied.sessions
            );
            Ok(())
        }
    }
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The binary is only built with `ssr`; the browser build enters through `lib.rs`'s `hydrate`.
}
