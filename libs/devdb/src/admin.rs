//! Admin SQL on a PostgreSQL server: creating, cloning, renaming, dropping and listing
//! databases, template databases and advisory locks, over a connection to the server's
//! `postgres` database ([`Admin`]); and database URLs ([`url_with_database`]).
//!
//! Any server works (the private one or `OPERANT_TEST_DATABASE_URL`); the caller needs the right
//! to create databases. Names are always quoted ([`quote_ident`]), so any name is safe.

use std::fmt::Write as _;
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};

/// How often a statement that needs a database nobody uses is retried while a session
/// lingers on it, 100 ms apart.
const CLONE_ATTEMPTS: u32 = 50;
const RENAME_ATTEMPTS: u32 = 100;
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// What [`Admin::create_database_from_template`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloned {
    /// The database was created as a copy of the template.
    Created,
    /// The template does not exist (nothing was created).
    TemplateMissing,
}

/// A connection to a server's `postgres` database for admin statements. It is closed
/// deliberately ([`Admin::close`]) so that no session outlives its use: a session on a template
/// would make `CREATE DATABASE … TEMPLATE` fail.
pub struct Admin {
    client: Client,
    task: JoinHandle<Result<(), tokio_postgres::Error>>,
}

impl Admin {
    /// Connects to the `postgres` database of the server at `server_url` (any database in the
    /// URL is ignored), waiting at most 10 s.
    pub async fn connect(server_url: &str) -> anyhow::Result<Self> {
        let mut config =
            Config::from_str(server_url).with_context(|| format!("parsing database URL {server_url}"))?;
        config.dbname("postgres").connect_timeout(Duration::from_secs(10));
        Self::open(&config)
            .await
            .with_context(|| format!("connecting to the postgres database of {server_url}"))
    }

    /// Connects as `config` says.
    pub(crate) async fn open(config: &Config) -> Result<Self, tokio_postgres::Error> {
        let (client, connection) = config.connect(NoTls).await?;
        Ok(Self { client, task: tokio::spawn(connection) })
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Ends the session and waits until the connection is gone.
    pub async fn close(self) {
        drop(self.client);
        let _ = self.task.await;
    }

    /// Whether database `name` exists.
    pub async fn database_exists(&self, name: &str) -> anyhow::Result<bool> {
        Ok(self
            .client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .await
            .with_context(|| format!("looking up database {name}"))?
            .is_some())
    }

    /// The databases whose name starts with `prefix`.
    pub async fn list_databases(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let pattern = format!("{}%", prefix.replace('_', "\\_"));
        let rows = self
            .client
            .query("SELECT datname::text FROM pg_database WHERE datname LIKE $1", &[&pattern])
            .await
            .context("listing databases")?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// `CREATE DATABASE name`.
    pub async fn create_database(&self, name: &str) -> anyhow::Result<()> {
        self.exec(&format!("CREATE DATABASE {}", quote_ident(name))).await
    }

    /// Creates database `name` unless it exists; one created concurrently by someone else
    /// counts as existing.
    pub async fn create_database_if_missing(&self, name: &str) -> anyhow::Result<()> {
        if self.database_exists(name).await.context("looking up the database")? {
            return Ok(());
        }
        let sql = format!("CREATE DATABASE {}", quote_ident(name));
        match self.client.batch_execute(&sql).await {
            Ok(()) => tracing::info!(database = name, "created database"),
            // Created concurrently by someone else: that is what we wanted.
            Err(e) if e.code() == Some(&SqlState::DUPLICATE_DATABASE) => {}
            // CREATE DATABASE can also lose the race on the catalog's unique index.
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {}
            Err(e) => return Err(anyhow::Error::new(e).context(sql)),
        }
        Ok(())
    }

    /// `CREATE DATABASE name TEMPLATE template`, a file-level copy. Retried while someone is
    /// connected to the template (e.g. a build's lingering backend), up to 5 s.
    pub async fn create_database_from_template(&self, name: &str, template: &str) -> anyhow::Result<Cloned> {
        let create = format!("CREATE DATABASE {} TEMPLATE {}", quote_ident(name), quote_ident(template));
        for attempt in 1.. {
            match self.client.batch_execute(&create).await {
                Ok(()) => break,
                Err(e) if e.code() == Some(&SqlState::INVALID_CATALOG_NAME) => {
                    return Ok(Cloned::TemplateMissing);
                }
                Err(e) if e.code() == Some(&SqlState::OBJECT_IN_USE) && attempt < CLONE_ATTEMPTS => {
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
                Err(e) => return Err(anyhow::Error::new(e).context(create)),
            }
        }
        Ok(Cloned::Created)
    }

    /// `DROP DATABASE IF EXISTS name WITH (FORCE)`: sessions still connected to it (a test's
    /// leftover connections) are ended rather than blocking the drop.
    pub async fn drop_database(&self, name: &str) -> anyhow::Result<()> {
        self.exec(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name))).await
    }

    /// Drops a database that may be marked as a template (those cannot be dropped as they are).
    pub async fn drop_template_database(&self, name: &str) -> anyhow::Result<()> {
        if !self.database_exists(name).await? {
            return Ok(());
        }
        let q = quote_ident(name);
        if let Err(e) = self.exec(&format!("ALTER DATABASE {q} WITH IS_TEMPLATE false")).await {
            // Dropped concurrently is fine; anything else will show in the DROP below.
            if self.database_exists(name).await? {
                tracing::warn!("{e:#}");
            }
        }
        self.exec(&format!("DROP DATABASE IF EXISTS {q} WITH (FORCE)")).await
    }

    /// Marks `name` as a template nobody may connect to, because `CREATE DATABASE … TEMPLATE`
    /// fails while anyone is connected to the template.
    pub async fn seal_template(&self, name: &str) -> anyhow::Result<()> {
        self.exec(&format!(
            "ALTER DATABASE {} WITH ALLOW_CONNECTIONS false IS_TEMPLATE true",
            quote_ident(name)
        ))
        .await
    }

    /// Renames database `from` to `to`. A rename needs the database unused, so every other
    /// session on `from` is ended first, again on each retry while one lingers (up to 10 s).
    pub async fn rename_database(&self, from: &str, to: &str) -> anyhow::Result<()> {
        let rename = format!("ALTER DATABASE {} RENAME TO {}", quote_ident(from), quote_ident(to));
        for attempt in 1.. {
            let _ = self
                .client
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = $1 AND pid <> pg_backend_pid()",
                    &[&from],
                )
                .await;
            match self.client.batch_execute(&rename).await {
                Ok(()) => break,
                Err(e) if e.code() == Some(&SqlState::OBJECT_IN_USE) && attempt < RENAME_ATTEMPTS => {
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
                Err(e) => return Err(anyhow::Error::new(e).context(rename)),
            }
        }
        Ok(())
    }

    /// Takes the session-level advisory lock `key`, waiting for its holder. It is released by
    /// [`Admin::advisory_unlock`] or, at the latest, when this connection closes.
    pub async fn advisory_lock(&self, key: i64) -> anyhow::Result<()> {
        self.client
            .execute("SELECT pg_advisory_lock($1)", &[&key])
            .await
            .with_context(|| format!("taking the advisory lock {key:#x}"))?;
        Ok(())
    }

    /// Releases the advisory lock `key` (best effort: closing the session releases it too).
    pub async fn advisory_unlock(&self, key: i64) {
        let _ = self.client.execute("SELECT pg_advisory_unlock($1)", &[&key]).await;
    }

    async fn exec(&self, sql: &str) -> anyhow::Result<()> {
        self.client.batch_execute(sql).await.with_context(|| sql.to_owned())
    }
}

/// Creates database `name` if missing (connects to the `postgres` database of the URL's
/// server).
pub async fn ensure_database(server_url: &str, name: &str) -> anyhow::Result<()> {
    let admin = Admin::connect(server_url).await?;
    let result = admin.create_database_if_missing(name).await;
    admin.close().await;
    result.with_context(|| format!("ensuring database {name:?} exists"))
}

/// `server_url` with its database replaced by `database`, keeping user, host, port and query
/// parameters: `postgres://u@h:5432/postgres?sslmode=disable` → `postgres://u@h:5432/db?sslmode=disable`.
pub fn url_with_database(server_url: &str, database: &str) -> anyhow::Result<String> {
    let (scheme, rest) = server_url.split_once("://").ok_or_else(|| {
        anyhow!("{server_url:?} is not a postgres://… URL (key=value strings are not supported)")
    })?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |i| &tail[i..]);
    Ok(format!("{scheme}://{authority}/{}{query}", percent_encode(database)))
}

/// Quotes an SQL identifier (`"` doubled inside double quotes).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Percent-encodes everything but RFC 3986 unreserved characters, for a URL path segment.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_ident("plain"), "\"plain\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn encodes_database_names() {
        assert_eq!(percent_encode("operant_test_1"), "operant_test_1");
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn replaces_the_database_of_a_url() -> anyhow::Result<()> {
        assert_eq!(
            url_with_database("postgres://postgres@127.0.0.1:5432/postgres", "x")?,
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            url_with_database("postgresql://u:p@h/db?sslmode=disable", "y z")?,
            "postgresql://u:p@h/y%20z?sslmode=disable"
        );
        assert_eq!(url_with_database("postgres://h:1", "d")?, "postgres://h:1/d");
        assert_eq!(url_with_database("postgres://h?x=1", "d")?, "postgres://h/d?x=1");
        assert!(url_with_database("host=h dbname=d", "d").is_err());
        Ok(())
    }
}
