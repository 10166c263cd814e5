//! Persistence on SQLite (the embedded default) or PostgreSQL (several dashboard instances behind
//! a load balancer). One [`Store`] API for both: SQL is written once in the dialect both accept
//! (`$n` placeholders, `RETURNING`, BIGINT-compatible integers) and runs through sqlx's `Any`
//! driver. Every SQL statement of the application lives under this module.

mod accounts;
mod audit;
mod bulk;
mod demo;
mod dns;
mod import;
mod migrate;
mod plans;
mod pools;
mod registrations;
mod servers;
mod sessions;
mod settings;
mod tenants;

pub use accounts::{ApiToken, User};
pub use audit::{AuditEntry, AuditQuery};
pub use demo::DemoSummary;
pub use import::ImportOutcome;
pub use plans::PlannedMove;
pub use registrations::{DataVersion, IngestPolicy, IngestSummary, PhoneMove, PhoneRow, Snapshot};
pub use sessions::DbSessionStore;
pub use tenants::{PoolFilter, TenantPage, TenantQuery, TenantSort};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use std::time::Duration;

use crate::domain::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{kind} {name:?} was not found")]
    NotFound { kind: &'static str, name: String },
    /// A stale edit: someone changed the row since the editor loaded it.
    #[error("{0}")]
    Conflict(String),
    /// Input that is well-formed but clashes with stored data (a taken name, say).
    #[error("{0}")]
    Invalid(FieldErrors),
    /// A delete or change refused because other rows depend on the object.
    #[error("{0}")]
    InUse(String),
    #[error("unsupported database URL {0:?}: use sqlite://FILE or postgres://…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Accepts `sqlite://…`, `postgres://…` and a bare file path (taken as a SQLite file).
pub fn normalise_database_url(url: &str) -> Result<(String, Backend)> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((url.to_string(), Backend::Postgres));
    }
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let mut u = url.to_string();
        if !rest.contains("mode=") && !rest.contains(":memory:") {
            u.push(if rest.contains('?') { '&' } else { '?' });
            u.push_str("mode=rwc");
        }
        return Ok((u, Backend::Sqlite));
    }
    if url.contains("://") || url.is_empty() {
        return Err(Error::UnsupportedUrl(url.to_string()));
    }
    Ok((format!("sqlite://{url}?mode=rwc"), Backend::Sqlite))
}

impl Store {
    /// Connects and applies pending migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (url, backend) = normalise_database_url(url)?;
        let options = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10));
        let options = if backend == Backend::Sqlite {
            options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // Foreign keys are per connection in SQLite; busy_timeout lets concurrent
                    // writers queue instead of failing at once.
                    conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;")
                        .await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let pool = options.connect(&url).await?;
        if backend == Backend::Sqlite {
            // WAL lets readers proceed while one writer commits; the mode is stored in the file.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
        }
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn migrate(&self) -> Result<()> {
        migrate::run(&self.pool, self.backend, None).await
    }

    /// Test support: applies the migrations up to and including `version` only, leaving the
    /// database as an older release left it (tests/store_upgrade.rs upgrades such databases).
    #[doc(hidden)]
    pub async fn migrate_to(&self, version: i64) -> Result<()> {
        migrate::run(&self.pool, self.backend, Some(version)).await
    }

    /// Starts a write transaction. SQLite takes its write lock up front (`BEGIN IMMEDIATE`):
    /// upgrading a read transaction later can fail with SQLITE_BUSY without waiting.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

pub(crate) fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Maps a unique-constraint violation to a field error. PostgreSQL names the constraint in its
/// message, SQLite names the table and column; both are checked.
fn unique_violation(err: &sqlx::Error, constraint: &str, column: &str) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                && (db.constraint() == Some(constraint)
                    || db.message().contains(constraint)
                    || db.message().contains(column))
        }
        _ => false,
    }
}

fn get_u16(row: &AnyRow, col: &str) -> Result<u16, sqlx::Error> {
    let v: i64 = row.try_get(col)?;
    u16::try_from(v).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn get_u32(row: &AnyRow, col: &str) -> Result<u32, sqlx::Error> {
    let v: i64 = row.try_get(col)?;
    u32::try_from(v).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn get_opt_u32(row: &AnyRow, col: &str) -> Result<Option<u32>, sqlx::Error> {
    let v: Option<i64> = row.try_get(col)?;
    v.map(|v| u32::try_from(v).map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .transpose()
}

/// Message for a refused stale edit, naming who changed the row and when.
fn stale_message(kind: &str, name: &str, by: &str, at: i64, version: i64) -> String {
    let when = jiff::Timestamp::from_second(at)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| at.to_string());
    format!(
        "{kind} {name} was changed by {by} at {when} (now version {version}) after you opened it; \
         reload to see that change, then make yours again"
    )
}
