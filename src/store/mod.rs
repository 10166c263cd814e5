//! Persistence on SQLite (the embedded default) or PostgreSQL (several dashboard instances behind
//! a load balancer). One [`Store`] API for both: SQL is written once in the dialect both accept
//! (`$n` placeholders, `RETURNING`, BIGINT-compatible integers) and runs through sqlx's `Any`
//! driver. Every SQL statement of the application lives under this module.
//!
//! Writes follow one shape. An audited change runs in an `audit::AuditedTx` (its change and
//! its audit entry commit together); a row that carries a version is written only through the
//! conditional statements of `versioned` (`… WHERE id = $1 AND version = $2`), never through a
//! separate read-then-check; a constraint violation the admin can fix becomes a field error
//! through `ResultExt`. Reading never falls back silently: a stored value the application
//! cannot represent is an [`Error::Corrupt`] naming the table and the row. The database holds
//! the same rules itself (migration 0007).
//!
//! May import [`crate::domain`] (the types it stores) and nothing of `app`, `web` or `cli`.

mod accounts;
mod alert_log;
mod audit;
mod bulk;
mod count_deltas;
mod demo;
mod dns;
mod ids;
mod import;
mod ingest;
mod jobs;
mod migrate;
mod moves;
mod plans;
mod pools;
mod readings;
mod registrations;
mod search;
mod series;
mod servers;
mod sessions;
mod settings;
mod tenant_book;
mod tenants;
mod versioned;

pub use accounts::{ApiToken, User};
pub use audit::{AuditEntry, AuditQuery};
pub use demo::DemoSummary;
pub use dns::StoredCheck;
pub use import::ImportOutcome;
pub use jobs::{JobRecord, JobState, NewJob};
pub use moves::{MoveFilter, SYSTEM_ACTOR, TenantMove};
pub use plans::PlannedMove;
pub use pools::PoolLoad;
pub use registrations::{
    AwayGroup, DataVersion, FlappingMoves, IngestPolicy, IngestSummary, ListedTwice, PhoneMove,
    PhoneRow, PoolServerCount, Snapshot, TenantPhones,
};
pub use search::{ContactHit, ContactKey, TenantHit};
pub use series::{BUCKET_SECS, SeriesOf, SeriesRow, bucket_of};
pub use sessions::{DbSessionStore, SESSION_CONTEXT, SESSION_USER, SessionContext, SessionUser};
pub use tenant_book::{JOURNAL_KEEP_SECS, JOURNAL_REREAD_LIMIT, JournalMark};
pub use tenants::{
    Cursor, MovingFilter, PageMove, PoolFilter, TenantPage, TenantPlacement, TenantQuery,
    TenantSort,
};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// A stored value the application cannot read (an unknown enumeration value, a document
    /// that does not parse, a number out of range). Never papered over with a default: the
    /// row is named so that it can be repaired.
    #[error("corrupt data in table {table}, row {id}: {detail}")]
    Corrupt {
        table: &'static str,
        id: String,
        detail: String,
    },
}

/// A [`Error::Corrupt`] for the row `id` of `table`.
fn corrupt(table: &'static str, id: impl ToString, detail: impl Into<String>) -> Error {
    Error::Corrupt {
        table,
        id: id.to_string(),
        detail: detail.into(),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The first key of the advisory locks [`Store::serialise`] takes; the second is the object's id.
#[derive(Debug, Clone, Copy)]
#[repr(i32)]
pub(crate) enum LockKind {
    Ingest = 7_001,
    DnsCheck = 7_002,
    /// Recording alert transitions (one recorder at a time, whatever the lease says).
    AlertLog = 7_003,
}

/// SQLite page caches, per connection. Every page read that misses them comes from the
/// operating system's file cache (a `pread`), and a reader's cache is dropped whenever another
/// connection commits, which a push does every second: large caches bought no speed and cost
/// resident memory, one cache per connection (issue 14: nine connections at SQLite's default
/// 2 MB and the writer's 16 MB held ~35 MB at the peak of a 100,000-contact ingest). Measured
/// side by side: the push (`examples/push_cpu`) p50 37.5 / 43.9 ms with the writer at 16 MB,
/// 37.1 / 44.5 ms at 4 MB; the 100,000-contact ingest alike; RSS 20 MB lower from the start.
const READER_CACHE: &str = "PRAGMA cache_size = -512;";
const WRITER_CACHE: &str = "PRAGMA cache_size = -4096;";

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where write transactions run. On SQLite one connection of its own: SQLite has one
    /// writer at a time anyway, and a connection that alone writes keeps its page cache
    /// across transactions (a connection that sees another's commit drops its whole cache), so
    /// a push reads the pages it changes from memory instead of from the file. Writers queue
    /// for it in the pool, not in SQLite's busy loop. On PostgreSQL the same pool as reads.
    writer: AnyPool,
    /// Set once a job checkpoints the write-ahead log ([`Store::take_over_checkpoints`]): the
    /// writer's commits then never checkpoint themselves.
    checkpoints_taken_over: Arc<std::sync::atomic::AtomicBool>,
    backend: Backend,
    /// Connections handed out by the pool: every statement run on the pool (outside a
    /// transaction) takes one, so this counts the database round trips of a request.
    checkouts: Arc<AtomicU64>,
    /// Recently loaded sessions and the data version (SQLite only, see [`sessions::SessionCache`]).
    recent: Arc<sessions::SessionCache>,
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
        let checkouts = Arc::new(AtomicU64::new(0));
        let checkpoints_taken_over = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let options = |max: u32| {
            let (on_connect, on_acquire) = (checkouts.clone(), checkouts.clone());
            let taken_over = checkpoints_taken_over.clone();
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(10))
                // A SQLite connection is a file handle: it cannot hang up, and pinging it before
                // each use would double the hand-offs to its worker thread. A PostgreSQL
                // connection can (a restarted server), so it is still tested before use.
                .test_before_acquire(backend == Backend::Postgres)
                .before_acquire(move |_conn, _meta| {
                    on_acquire.fetch_add(1, Ordering::Relaxed);
                    Box::pin(async { Ok(true) })
                })
                .after_connect(move |conn, _meta| {
                    on_connect.fetch_add(1, Ordering::Relaxed);
                    let taken_over = taken_over.load(Ordering::Relaxed);
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            // Foreign keys are per connection in SQLite; busy_timeout lets
                            // concurrent writers queue instead of failing at once.
                            conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;")
                                .await?;
                            conn.execute(if max == 1 { WRITER_CACHE } else { READER_CACHE })
                                .await?;
                            if max == 1 && taken_over {
                                conn.execute("PRAGMA wal_autocheckpoint = 0").await?;
                            }
                        }
                        Ok(())
                    })
                })
        };
        let pool = options(if backend == Backend::Sqlite { 8 } else { 16 })
            .connect(&url)
            .await?;
        if backend == Backend::Sqlite {
            // WAL lets readers proceed while one writer commits; the mode is stored in the file.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
        }
        let writer = match backend {
            Backend::Sqlite => options(1).connect(&url).await?,
            Backend::Postgres => pool.clone(),
        };
        Ok(Self {
            pool,
            writer,
            checkpoints_taken_over,
            backend,
            checkouts,
            recent: Arc::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How many times a connection was taken from the pool since it opened: one per statement
    /// run outside a transaction, one per transaction. Tests read the difference around a
    /// request to count its database round trips.
    pub fn checkouts(&self) -> u64 {
        self.checkouts.load(Ordering::Relaxed)
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

    /// Starts a write transaction whose commit is durable: on SQLite it returns once the
    /// write-ahead log is on disk (`synchronous = FULL`). SQLite takes its write lock up front
    /// (`BEGIN IMMEDIATE`): upgrading a read transaction later can fail with SQLITE_BUSY
    /// without waiting.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        self.begin_on_writer("PRAGMA synchronous = FULL; BEGIN IMMEDIATE")
            .await
    }

    /// Starts a write transaction whose commit may be lost to a power cut (never to a crash of
    /// this process, and never half): for a registration report, which its server sends again
    /// within seconds and which only replaces a picture. On SQLite the commit does not wait for
    /// an fsync (`synchronous = NORMAL`: the log is synced before each checkpoint, and by the
    /// next durable commit). Everything an admin typed goes through [`Self::begin_write`].
    async fn begin_replaceable_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        self.begin_on_writer("PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE")
            .await
    }

    /// `sqlite_begin` on SQLite's writer connection; a plain `BEGIN` on PostgreSQL.
    async fn begin_on_writer(
        &self,
        sqlite_begin: &'static str,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.writer.begin_with(sqlite_begin).await?,
            Backend::Postgres => self.writer.begin().await?,
        })
    }

    /// Serialises one kind of "replace the whole set" write (a server's registration picture,
    /// the DNS-check results) across instances: on PostgreSQL a transaction-scoped advisory lock
    /// taken before anything is read, so the later writer reads what the earlier one committed.
    /// SQLite needs nothing: a write transaction holds the database's one write lock.
    async fn serialise(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        kind: LockKind,
        key: i64,
    ) -> Result<()> {
        if self.backend == Backend::Postgres {
            // The void result is wrapped: the Any driver cannot decode a void column.
            sqlx::query(
                "SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock($1, CAST($2 AS INTEGER))) AS l",
            )
            .bind(kind as i32)
            .bind(key)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// For a long-running process that checkpoints the SQLite write-ahead log itself, off the
    /// writers' path ([`Self::checkpoint`], `jobs::checkpoint_wal`): from now on the writer's
    /// commits never checkpoint (by default the commit that takes the log over 1,000 pages
    /// copies them into the database file and syncs it, which made every third registration
    /// push several times slower). Returns false on PostgreSQL, which has nothing to take over.
    /// A short command leaves them on: it exits without closing its connections, and a log
    /// never checkpointed would hold all it wrote, outside the database file.
    pub async fn take_over_checkpoints(&self) -> Result<bool> {
        if self.backend != Backend::Sqlite {
            return Ok(false);
        }
        self.checkpoints_taken_over.store(true, Ordering::Relaxed);
        sqlx::query("PRAGMA wal_autocheckpoint = 0")
            .execute(&self.writer)
            .await?;
        Ok(true)
    }

    /// Copies what it can of the SQLite write-ahead log into the database file without waiting
    /// for readers or the writer (PASSIVE); the log restarts from its beginning once a
    /// checkpoint caught up with it.
    pub async fn checkpoint(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

impl Store {
    /// `SELECT` of `columns` (any SQL expressions) `rest` (its `FROM` and `WHERE`) as one JSON
    /// array of arrays in one row, in column `j`: thousands of rows through the driver cost
    /// about 3 µs each in copying; one text value and a JSON parse cost a fraction of that.
    pub(crate) fn json_array_sql(&self, columns: &str, rest: &str) -> String {
        match self.backend {
            Backend::Sqlite => {
                format!("SELECT json_group_array(json_array({columns})) AS j {rest}")
            }
            Backend::Postgres => format!(
                "SELECT CAST(COALESCE(json_agg(json_build_array({columns})), '[]') AS TEXT) AS j \
                 {rest}"
            ),
        }
    }
}

/// Runs a [`Store::json_array_sql`] statement (its parameters bound) on `executor` (the pool or
/// a transaction) and decodes the array.
pub(crate) async fn fetch_json_array<'q, 'c, T, E>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    executor: E,
) -> Result<Vec<T>>
where
    T: serde::de::DeserializeOwned,
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    use sqlx::Row;
    let text: String = query.fetch_one(executor).await?.try_get("j")?;
    decode_json_array(&text)
}

/// Decodes what a [`Store::json_array_sql`] statement returned.
pub(crate) fn decode_json_array<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>> {
    serde_json::from_str(text).map_err(|e| Error::Database(sqlx::Error::Decode(e.into())))
}

pub(crate) fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Maps the constraint violations of a failed write to errors the admin can act on, one place for
/// every module (after the realworld example app's `on_constraint`). PostgreSQL names the violated
/// constraint; SQLite names the table and column instead (`UNIQUE constraint failed:
/// servers.name`), so both are recognised.
trait ResultExt<T> {
    /// A unique violation of `constraint` (on `column`, as `table.column`) becomes a field error.
    fn on_unique(
        self,
        constraint: &str,
        column: &str,
        field: &str,
        message: impl FnOnce() -> String,
    ) -> Result<T>;

    /// A foreign-key violation (a referenced row deleted meanwhile) becomes a field error.
    fn on_foreign_key(self, field: &str, message: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn on_unique(
        self,
        constraint: &str,
        column: &str,
        field: &str,
        message: impl FnOnce() -> String,
    ) -> Result<T> {
        self.map_err(|e| match e.into() {
            Error::Database(sqlx::Error::Database(db))
                if db.is_unique_violation()
                    && (db.constraint() == Some(constraint)
                        || db.message().contains(constraint)
                        || db.message().contains(column)) =>
            {
                Error::Invalid(FieldErrors::single(field, message()))
            }
            e => e,
        })
    }

    fn on_foreign_key(self, field: &str, message: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| match e.into() {
            Error::Database(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => {
                Error::Invalid(FieldErrors::single(field, message()))
            }
            e => e,
        })
    }
}

/// One stored row being read: every value the application cannot represent becomes
/// [`Error::Corrupt`] naming the table, the row and the value, never a silent default. `K` is
/// the type of the key that names the row: an integer id, or the text id of a job.
struct Fields<'r, K = i64> {
    row: &'r AnyRow,
    table: &'static str,
    id: K,
}

impl<'r> Fields<'r> {
    /// A row of `table`, identified by its `id` column.
    fn new(row: &'r AnyRow, table: &'static str) -> Result<Self> {
        Self::with_id_column(row, table, "id")
    }

    /// A row of `table` identified by `column` (a query that aliases the id).
    fn with_id_column(row: &'r AnyRow, table: &'static str, column: &str) -> Result<Self> {
        Ok(Self {
            row,
            table,
            id: row.try_get(column)?,
        })
    }

    fn id(&self) -> i64 {
        self.id
    }
}

impl<'r> Fields<'r, String> {
    /// A row of `table` whose key is text (`jobs`): errors name the row by that text.
    fn with_text_id(row: &'r AnyRow, table: &'static str) -> Result<Self> {
        Ok(Self {
            row,
            table,
            id: row.try_get("id")?,
        })
    }
}

impl<'r, K: std::fmt::Display> Fields<'r, K> {
    fn get<T>(&self, column: &str) -> Result<T>
    where
        T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        Ok(self.row.try_get(column)?)
    }

    fn corrupt(&self, detail: impl Into<String>) -> Error {
        corrupt(self.table, &self.id, detail)
    }

    fn int<T: TryFrom<i64>>(&self, column: &str, v: i64) -> Result<T> {
        T::try_from(v).map_err(|_| {
            self.corrupt(format!(
                "{column} is {v}, outside {}",
                std::any::type_name::<T>()
            ))
        })
    }

    fn u16(&self, column: &str) -> Result<u16> {
        self.int(column, self.get(column)?)
    }

    fn u32(&self, column: &str) -> Result<u32> {
        self.int(column, self.get(column)?)
    }

    fn opt_u16(&self, column: &str) -> Result<Option<u16>> {
        let v: Option<i64> = self.get(column)?;
        v.map(|v| self.int(column, v)).transpose()
    }

    fn opt_u32(&self, column: &str) -> Result<Option<u32>> {
        let v: Option<i64> = self.get(column)?;
        v.map(|v| self.int(column, v)).transpose()
    }

    /// A text column holding an enumeration or a list: parsed, or an error naming the value.
    fn parse<T>(&self, column: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Result<T> {
        let text: String = self.get(column)?;
        parse(&text)
            .map_err(|e| self.corrupt(format!("{column} {} is not readable: {e}", excerpt(&text))))
    }

    /// A text column that may be NULL, parsed when present.
    fn parse_opt<T>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>> {
        let text: Option<String> = self.get(column)?;
        text.map(|text| {
            parse(&text).map_err(|e| {
                self.corrupt(format!("{column} {} is not readable: {e}", excerpt(&text)))
            })
        })
        .transpose()
    }
}

/// A stored text as an error message quotes it: a long document by its start.
fn excerpt(text: &str) -> String {
    let start: String = text.chars().take(80).collect();
    if start.len() < text.len() {
        format!("{start:?}…")
    } else {
        format!("{start:?}")
    }
}

/// A value bound to a dynamically built query.
enum Bind {
    Text(String),
    Int(i64),
    OptText(Option<String>),
    OptInt(Option<i64>),
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

impl Bind {
    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        match self {
            Bind::Text(s) => q.bind(s.as_str()),
            Bind::Int(i) => q.bind(*i),
            Bind::OptText(s) => q.bind(s.as_deref()),
            Bind::OptInt(i) => q.bind(*i),
        }
    }
}

impl std::fmt::Display for Bind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bind::Text(s) | Bind::OptText(Some(s)) => f.write_str(s),
            Bind::Int(i) | Bind::OptInt(Some(i)) => write!(f, "{i}"),
            Bind::OptText(None) | Bind::OptInt(None) => f.write_str("NULL"),
        }
    }
}

/// Message for a refused stale edit, naming who changed the row and when.
fn stale_message(kind: &str, name: &str, by: &str, at: i64, version: i64) -> String {
    let when = jiff::Timestamp::from_second(at)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| at.to_string());
    let what = if name.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} {name}")
    };
    format!(
        "{what} was changed by {by} at {when} (now version {version}) after you opened it; \
         reload to see that change, then make yours again"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store on a new SQLite file of its own, and the folder to remove after.
    async fn scratch(name: &str) -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("pbx_pools_{name}_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(&format!("sqlite://{}/store.db", dir.display()))
            .await
            .unwrap();
        (store, dir)
    }

    /// Every SQLite connection's page cache stays small (issue 14: nine connections' caches
    /// held ~35 MB of the server's memory at the peak of a big ingest), the writer's included.
    #[tokio::test]
    async fn sqlite_connections_keep_small_page_caches() {
        let (store, dir) = scratch("caches").await;
        // Negative sizes are KiB; SQLite's default is -2000.
        let kib = |size: i64| if size < 0 { -size } else { size * 4 };
        for (pool, limit_kib) in [(&store.pool, 512), (&store.writer, 4096)] {
            let size: i64 = sqlx::query_scalar("PRAGMA cache_size")
                .fetch_one(pool)
                .await
                .unwrap();
            assert!(
                kib(size) <= limit_kib,
                "a connection's page cache is {size} (limit {limit_kib} KiB)"
            );
        }
        store.close().await;
        std::fs::remove_dir_all(dir).ok();
    }
}
