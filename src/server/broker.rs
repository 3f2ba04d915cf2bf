//! Which broker links this node to the others, chosen by `BROKER_URL`: none (`local`, the
//! default: one node, messages fan out in this process) or NATS (`nats://host:port`, several
//! separated by commas: several nodes on one PostgreSQL database; see `realtime::cluster`).

use super::store::Backend;
use anyhow::bail;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Broker {
    /// One node: the in-process hub is the whole fan-out.
    Local,
    /// Several nodes, linked by the NATS servers at these URLs (comma-separated).
    Nats(String),
}

impl Broker {
    /// The broker `url` names, refused when the database cannot be shared by several nodes.
    pub fn for_url(url: &str, database: Backend) -> anyhow::Result<Self> {
        let url = url.trim();
        if url.is_empty() || url.eq_ignore_ascii_case("local") {
            return Ok(Self::Local);
        }
        let all_nats = url.split(',').all(|one| {
            let one = one.trim().to_ascii_lowercase();
            one.starts_with("nats://") && one.len() > "nats://".len()
        });
        if !all_nats {
            // Only the scheme rules are repeated: a broker URL may hold credentials.
            bail!("BROKER_URL must be `local` or nats://host:port (several separated by commas)");
        }
        if database == Backend::Sqlite {
            bail!(
                "BROKER_URL names NATS, which links several nodes, but DATABASE_URL is SQLite, a \
                 file that several nodes cannot share: use a postgres:// DATABASE_URL with a \
                 broker, or leave BROKER_URL unset for one node"
            );
        }
        Ok(Self::Nats(url.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_or_local_is_one_node_on_either_database() {
        for url in ["", "local", "LOCAL"] {
            assert_eq!(
                Broker::for_url(url, Backend::Sqlite).unwrap(),
                Broker::Local
            );
            assert_eq!(
                Broker::for_url(url, Backend::Postgres).unwrap(),
                Broker::Local
            );
        }
    }

    #[test]
    fn nats_needs_postgres() {
        let url = "nats://127.0.0.1:4222,nats://10.0.0.2:4222";
        assert_eq!(
            Broker::for_url(url, Backend::Postgres).unwrap(),
            Broker::Nats(url.to_owned())
        );
        let refusal = Broker::for_url(url, Backend::Sqlite)
            .unwrap_err()
            .to_string();
        assert!(refusal.contains("SQLite"), "{refusal}");
    }

    #[test]
    fn anything_else_is_refused_without_repeating_it() {
        for url in ["redis://secret@host", "nats://", "nats://a:1,redis://b"] {
            let refusal = Broker::for_url(url, Backend::Postgres)
                .unwrap_err()
                .to_string();
            assert!(
                !refusal.contains("secret") && !refusal.contains("redis"),
                "{refusal}"
            );
        }
    }
}
