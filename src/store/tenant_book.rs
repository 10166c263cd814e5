//! The reads behind the in-memory tenant book ([`crate::domain::tenant_book`]): every tenant,
//! or a few, with their phones per server and their away phones, each read as one JSON array
//! in one row (thousands of rows through the driver cost about 3 µs each in copying), and the
//! tenant journal (migration 0021) that says which tenants changed since a reader's mark.

use serde::de::DeserializeOwned;
use sqlx::Row;

use super::registrations::id_list;
use super::{Backend, Result, Store};
use crate::domain::ids::{PoolId, ServerId, TenantId};
use crate::domain::tenant_book::{AwayPhone, BookTenant};

/// Where a reader stands in the tenant journal: on SQLite the last `seq` it read, on
/// PostgreSQL the oldest transaction still running when it read (see migration 0021).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalMark(i64);

/// More journalled tenants than this since a mark: the whole book is read again instead.
pub const JOURNAL_REREAD_LIMIT: usize = 2_000;

/// Journal rows older than this are pruned (by the ingest, see `ingest::recount`).
pub const JOURNAL_KEEP_SECS: i64 = 600;

impl Store {
    /// The journal mark now: read it before the data it stands for.
    pub async fn journal_mark(&self) -> Result<JournalMark> {
        let sql = match self.backend {
            Backend::Sqlite => "SELECT COALESCE(MAX(seq), 0) AS mark FROM tenant_journal",
            Backend::Postgres => "SELECT txid_snapshot_xmin(txid_current_snapshot()) AS mark",
        };
        let mark: i64 = sqlx::query(sql)
            .fetch_one(&self.pool)
            .await?
            .try_get("mark")?;
        Ok(JournalMark(mark))
    }

    /// The tenants journalled since `mark` (at most [`JOURNAL_REREAD_LIMIT`] + 1 distinct ones:
    /// more than the limit means the caller reads everything), and the mark to read from next
    /// time. Read the new mark's data after this call.
    pub async fn journal_since(&self, mark: JournalMark) -> Result<(Vec<TenantId>, JournalMark)> {
        let limit = JOURNAL_REREAD_LIMIT + 1;
        // The new mark first, then the distinct tenants between the two marks: a limit on
        // distinct tenants, never on rows, so a cut-off list always means "read everything"
        // (more than the limit) and never a partial patch.
        let next = self.journal_mark().await?;
        let rows =
            match self.backend {
                // One writer at a time: every row up to the new mark has committed.
                Backend::Sqlite => sqlx::query(&format!(
                    "SELECT DISTINCT tenant_id FROM tenant_journal WHERE seq > $1 AND seq <= $2 \
                     LIMIT {limit}"
                ))
                .bind(mark.0)
                .bind(next.0)
                .fetch_all(&self.pool)
                .await?,
                // Every transaction older than the new mark has ended, so the rows read after it
                // include all of theirs; rows of later ones are read again next time.
                Backend::Postgres => sqlx::query(&format!(
                    "SELECT DISTINCT tenant_id FROM tenant_journal WHERE xact >= $1 LIMIT {limit}"
                ))
                .bind(mark.0)
                .fetch_all(&self.pool)
                .await?,
            };
        let mut ids = rows
            .iter()
            .map(|r| r.try_get::<TenantId, _>("tenant_id"))
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        ids.sort_unstable();
        Ok((ids, next))
    }

    /// Tenants (all, or `ids`) as the book keeps them.
    pub async fn book_tenants(&self, ids: Option<&[TenantId]>) -> Result<Vec<BookTenant>> {
        let rows: Vec<(i64, String, String, i64, Option<i64>, i64)> = self
            .json_array(
                "id, code, code_key, expected_phones, pool_id, version",
                "FROM tenants",
                &filter("id", ids),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, code, code_key, expected, pool, version)| BookTenant {
                id: TenantId::new(id),
                code,
                code_key,
                expected_phones: expected.clamp(0, u32::MAX as i64) as u32,
                pool_id: pool.map(PoolId::new),
                version,
            })
            .collect())
    }

    /// Maintained phone counts of tenants (all, or `ids`) per server.
    pub async fn book_counts(
        &self,
        ids: Option<&[TenantId]>,
    ) -> Result<Vec<(TenantId, ServerId, u64)>> {
        let rows: Vec<(i64, i64, i64)> = self
            .json_array(
                "tenant_id, server_id, phones",
                "FROM tenant_server_counts",
                &filter("tenant_id", ids),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(t, s, n)| (TenantId::new(t), ServerId::new(s), n.max(0) as u64))
            .collect())
    }

    /// The registered contacts of each (server, tenant) pair whose phone counts on that server
    /// (its last server), by user agent and arrival time (see [`AwayPhone`]).
    pub async fn book_away_phones(
        &self,
        pairs: &[(ServerId, TenantId)],
    ) -> Result<Vec<(TenantId, AwayPhone)>> {
        let mut out = Vec::new();
        let mut by_server: std::collections::BTreeMap<ServerId, Vec<TenantId>> =
            std::collections::BTreeMap::new();
        for (s, t) in pairs {
            by_server.entry(*s).or_default().push(*t);
        }
        for (server, tenants) in by_server {
            for chunk in tenants.chunks(super::registrations::ID_CHUNK) {
                // Integers from the book (read from the database): safe in the statement.
                let rows: Vec<(i64, Option<String>, i64, i64, String)> = self
                    .json_array(
                        "tenant_id, user_agent, since, phones, example",
                        &format!(
                            "FROM (SELECT r.tenant_id, r.user_agent, p.since, \
                             COUNT(*) AS phones, MIN(r.endpoint) AS example \
                             FROM registrations r JOIN phones p \
                             ON p.endpoint_key = r.endpoint_key AND p.server_id = r.server_id \
                             WHERE r.server_id = {} AND r.registered = 1 AND r.tenant_id IN ({}) \
                             GROUP BY r.tenant_id, r.user_agent, p.since) g",
                            server.get(),
                            id_list(chunk.iter().map(|t| t.get()))
                        ),
                        "",
                    )
                    .await?;
                out.extend(rows.into_iter().map(
                    |(tenant, user_agent, since, phones, endpoint)| {
                        (
                            TenantId::new(tenant),
                            AwayPhone {
                                server_id: server,
                                user_agent,
                                since,
                                phones: phones.max(0) as u64,
                                endpoint,
                            },
                        )
                    },
                ));
            }
        }
        Ok(out)
    }

    /// `SELECT columns rest filter` as one JSON array of arrays in one row, decoded.
    async fn json_array<T: DeserializeOwned>(
        &self,
        columns: &str,
        rest: &str,
        filter: &str,
    ) -> Result<Vec<T>> {
        let sql = self.json_array_sql(columns, &format!("{rest} {filter}"));
        super::fetch_json_array(sqlx::query(&sql), &self.pool).await
    }
}

/// `WHERE column IN (ids)`, or nothing for every row.
fn filter(column: &str, ids: Option<&[TenantId]>) -> String {
    match ids {
        // Integers from the journal (read from the database): safe in the statement.
        Some(ids) if !ids.is_empty() => {
            format!(
                "WHERE {column} IN ({})",
                id_list(ids.iter().map(|t| t.get()))
            )
        }
        Some(_) => "WHERE 1 = 0".to_string(),
        None => String::new(),
    }
}
