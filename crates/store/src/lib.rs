//! Persistence for datahall over SQLite (the embedded default) and PostgreSQL (production).
//!
//! Architecture invariant: this is the only crate that writes SQL. Every query is written
//! once, with `$n` placeholders (which SQLite accepts too), and runs on either backend
//! through [`on_pool!`]. What truly differs between the dialects lives in [`Dialect`] and
//! in the two migration directories, which may differ only in column types.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub mod audit;
pub mod departments;
mod error;
pub mod resources;
pub mod sessions;
pub mod users;

pub use audit::{now_for_audit, AuditContext};
pub use error::{StoreError, StoreResult};

/// The connection pool of one backend.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The few statements that differ between SQLite and PostgreSQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Opens a transaction that will write. SQLite must take its write lock up front:
    /// a deferred transaction that reads first and writes later fails with `SQLITE_BUSY`
    /// (not retried by the busy timeout) when another writer committed in between.
    pub fn begin_write(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        }
    }

    /// The statement that takes the write lock after `BEGIN`, where `BEGIN` does not.
    pub fn write_lock(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("SELECT pg_advisory_xact_lock(7340100)"),
        }
    }
}

/// Opens a write transaction that holds the database's write lock from its first
/// statement: `BEGIN IMMEDIATE` on SQLite; on PostgreSQL a transaction-scoped advisory lock,
/// so that read-then-write steps (the next 后段码, the next branch number) cannot race.
#[macro_export]
#[doc(hidden)]
macro_rules! begin_write {
    ($pool:expr, $dialect:expr) => {{
        let mut tx = $pool.begin_with($dialect.begin_write()).await?;
        if let Some(lock) = $dialect.write_lock() {
            sqlx::query(lock).execute(&mut *tx).await?;
        }
        tx
    }};
}

/// Runs `$body` with `$pool` bound to the backend's pool and `$dialect` to its [`Dialect`].
/// The body is written once and compiled for each backend.
#[macro_export]
macro_rules! on_pool {
    ($store:expr, $pool:ident, $dialect:ident => $body:expr) => {
        match $store.backend() {
            $crate::Backend::Sqlite($pool) => {
                #[allow(unused_variables)]
                let $dialect = $crate::Dialect::Sqlite;
                $body
            }
            $crate::Backend::Postgres($pool) => {
                #[allow(unused_variables)]
                let $dialect = $crate::Dialect::Postgres;
                $body
            }
        }
    };
    ($store:expr, $pool:ident => $body:expr) => {
        $crate::on_pool!($store, $pool, _dialect => $body)
    };
}

/// The datahall database.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
}

/// A database URL with its password hidden, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Store {
    /// Connects by URL scheme: `sqlite://path` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            Backend::Postgres(
                PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?,
            )
        } else if url.starts_with("sqlite:") {
            // WAL lets readers proceed during a write; synchronous=FULL makes every commit,
            // and so every audit record, durable before the request is answered.
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // 32 MiB of page cache per connection (the default is 2 MiB): catalogue
                // listings and counts stay in memory at 100k entries.
                .pragma("cache_size", "-32768")
                // Reads through a shared memory map of the file: every connection sees the
                // pages one of them has read, instead of warming its own cache.
                .pragma("mmap_size", "268435456");
            Backend::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(8)
                    .connect_with(options)
                    .await?,
            )
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        tracing::info!(database = %redact_url(url), "connected");
        Ok(Self { backend })
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Applies pending migrations of the backend's dialect.
    pub async fn migrate(&self) -> StoreResult<()> {
        match &self.backend {
            Backend::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Backend::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.is_ok())
    }

    /// Refreshes the planner's statistics (and, on PostgreSQL, the visibility map that
    /// index-only scans rely on) after a bulk load. Autovacuum does this in time on
    /// PostgreSQL; SQLite never does it by itself.
    pub async fn analyze(&self) -> StoreResult<()> {
        match &self.backend {
            Backend::Sqlite(pool) => {
                sqlx::query("ANALYZE").execute(pool).await?;
            }
            Backend::Postgres(pool) => {
                sqlx::query("VACUUM ANALYZE").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// True when nothing has been set up yet (no department and no user).
    pub async fn is_empty(&self) -> StoreResult<bool> {
        let count: i64 = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT (SELECT COUNT(*) FROM departments) + (SELECT COUNT(*) FROM users)").fetch_one(pool).await?
        });
        Ok(count == 0)
    }
}

/// The current time at the database's resolution (microseconds).
pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    domain::audit::chain_time(chrono::Utc::now())
}

/// Converts a stored enumeration code back to its type; a bad code means the database was
/// changed outside the product.
pub(crate) fn decode<T>(text: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown code {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/dh"),
            "postgres://app:***@db:5432/dh"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(redact_url("sqlite://datahall.db"), "sqlite://datahall.db");
    }
}
