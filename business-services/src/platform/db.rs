//! One relational store per system: SQLite (the embedded default) or PostgreSQL, chosen by URL.
//!
//! Both run the same migrations and the same queries. Queries use `$1`-style parameters, which
//! SQLite binds by number too, and portable SQL (`ON CONFLICT`, `RETURNING`, no vendor types).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Connection, Executor, Transaction};

/// Which engine stands behind a [`Db`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in WAL mode.
    Sqlite,
    /// A schema of a PostgreSQL database.
    Postgres,
}

/// A system's database: a connection pool and the engine behind it.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL names no supported engine.
    #[error("unsupported database URL '{0}': use sqlite://<path> or postgres://<user>@<host>/<database>")]
    UnsupportedUrl(String),
    /// The engine refused or could not be reached.
    #[error("could not open {url}: {source}")]
    Connect {
        /// The URL, with any password removed.
        url: String,
        /// What the driver said.
        source: sqlx::Error,
    },
    /// Migrations failed.
    #[error("could not migrate {url}: {source}")]
    Migrate {
        /// The URL, with any password removed.
        url: String,
        /// What the migrator said.
        source: sqlx::migrate::MigrateError,
    },
}

/// How long to wait for a connection, and for SQLite's write lock, before failing the request.
const WAIT: Duration = Duration::from_secs(5);

impl Db {
    /// Opens the store at `url`, creating it if needed, and brings it to the latest migration.
    ///
    /// On PostgreSQL the system's tables live in their own `schema`, so systems can share a
    /// database without reading each other's tables. A SQLite file is one system's alone.
    pub async fn open(url: &str, schema: &str, migrator: &Migrator) -> Result<Db, OpenError> {
        Db::open_with_pool(url, schema, migrator, None).await
    }

    /// [`Db::open`] with at most `max_connections` connections (the backend's default when
    /// `None`): systems that share one PostgreSQL server share its connection limit.
    pub async fn open_with_pool(
        url: &str,
        schema: &str,
        migrator: &Migrator,
        max_connections: Option<u32>,
    ) -> Result<Db, OpenError> {
        sqlx::any::install_default_drivers();
        let shown = redact(url);
        let connect_error = |source| OpenError::Connect { url: shown.clone(), source };
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(OpenError::UnsupportedUrl(shown));
        };
        let options = AnyConnectOptions::from_str(url).map_err(connect_error)?;
        if backend == Backend::Postgres {
            let mut connection = sqlx::AnyConnection::connect_with(&options).await.map_err(connect_error)?;
            let create = format!("CREATE SCHEMA IF NOT EXISTS {}", quote_identifier(schema));
            connection.execute(sqlx::AssertSqlSafe(create)).await.map_err(connect_error)?;
            connection.close().await.map_err(connect_error)?;
        }
        let session_setup = match backend {
            // WAL lets readers run beside the writer; the busy timeout queues writers instead of
            // failing them; foreign keys are off by default in SQLite.
            Backend::Sqlite => format!(
                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON;",
                WAIT.as_millis()
            ),
            Backend::Postgres => format!("SET search_path TO {}", quote_identifier(schema)),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.unwrap_or(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            }))
            .acquire_timeout(WAIT)
            .after_connect(move |connection, _| {
                let setup = session_setup.clone();
                Box::pin(async move {
                    connection.execute(sqlx::AssertSqlSafe(setup)).await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        migrator.run(&pool).await.map_err(|source| OpenError::Migrate { url: shown.clone(), source })?;
        Ok(Db { pool, backend })
    }

    /// The URL of a SQLite file under `data_dir`, created on first use.
    pub fn sqlite_url(data_dir: &Path, system: &str) -> String {
        format!("sqlite://{}?mode=rwc", data_dir.join(format!("{system}.db")).display())
    }

    /// The connection pool, for queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction that will write.
    ///
    /// On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`): a transaction that reads
    /// first and upgrades later fails with "database is locked" under concurrency instead of
    /// waiting its turn.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Checks that the store answers, for readiness probes.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(drop)
    }

    /// Closes every connection; SQLite checkpoints its WAL into the main file.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Quotes a schema name for PostgreSQL.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A LIKE pattern matching `term` anywhere, with LIKE's wildcards in `term` taken literally
/// (use it with `ESCAPE '\\'`).
pub fn like_pattern(term: &str) -> String {
    let escaped = term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// The URL with its password replaced, fit for logs and error messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(redact("postgres://shop:s3cret@db/shop"), "postgres://shop:***@db/shop");
        assert_eq!(redact("postgres://shop@db/shop"), "postgres://shop@db/shop");
        assert_eq!(redact("sqlite://data/cart.db?mode=rwc"), "sqlite://data/cart.db?mode=rwc");
    }

    #[test]
    fn like_wildcards_in_terms_are_literal() {
        assert_eq!(like_pattern("oak"), "%oak%");
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_identifier("cart"), "\"cart\"");
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }
}
