//! Which backend a `DATABASE_URL` names, decided by its scheme alone. Anything but a known scheme
//! is refused at start-up: a URL that names a server must never quietly become a local file.

use anyhow::bail;

/// The storage backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:` (the embedded default): a file on this machine.
    Sqlite,
    /// `postgres:` or `postgresql:`: a shared PostgreSQL database.
    Postgres,
}

impl Backend {
    pub fn for_url(url: &str) -> anyhow::Result<Self> {
        let scheme = url
            .split_once(':')
            .map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("sqlite") => Ok(Self::Sqlite),
            Some("postgres" | "postgresql") => Ok(Self::Postgres),
            // Only the scheme is repeated: the rest of a URL may hold a password.
            Some(other) => bail!(
                "DATABASE_URL names an unknown backend {other:?}: it must start with \
                 sqlite:// or postgres://"
            ),
            None => bail!("DATABASE_URL must start with sqlite:// or postgres://"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Backend;

    #[test]
    fn the_scheme_alone_chooses() {
        for (url, backend) in [
            ("sqlite://data/parley.db", Backend::Sqlite),
            ("sqlite::memory:", Backend::Sqlite),
            ("SQLite://x.db", Backend::Sqlite),
            ("postgres://parley@127.0.0.1:5432/parley", Backend::Postgres),
            ("postgresql://parley:secret@db/parley", Backend::Postgres),
        ] {
            assert_eq!(Backend::for_url(url).unwrap(), backend, "{url}");
        }
    }

    #[test]
    fn anything_else_is_refused_without_repeating_the_url() {
        for url in [
            "mysql://root:hunter2@db/parley",
            "data/parley.db",
            "",
            "http://x",
        ] {
            let err = Backend::for_url(url).unwrap_err().to_string();
            assert!(err.contains("sqlite://"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}
