//! Charts over time (issue 18): downsampled series written at ingest, in buckets of
//! [`BUCKET_SECS`] (migration 0020), and read back for the charts.
//!
//! - per server: registered phones and those away from their pool's home servers, one row per
//!   server and bucket, rewritten by every report of the server within the bucket that changes
//!   anything (an identical report leaves it: see `Store::ingest`);
//! - per pool: its tenants' registered and away phones (the away share is derived), written for
//!   the pools whose tenants a report touched;
//! - per tenant and server: registered phones, written only when the count changed, so a report
//!   that leaves a tenant alone costs it no row. Readers carry the last value forward.
//!
//! Written by [`record`] at the end of every recount of a server's tenants (the ingest, and the
//! recount of pairs another server's report marked), in that transaction; pruned with the
//! registration history ([`prune`]), keeping the newest row at or before the cut-off so the
//! first value of a window is still known.

use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::pools::{MEMBER_SELECT, POOL_COLUMNS, member_from_row, pool_from_row};
use super::registrations::{ID_CHUNK, id_list};
use super::servers::server_from_row;
use super::{Result, Store, now};
use crate::domain::demo_registrations::{HistoryCell, HistoryInput, synthesize_history};
use crate::domain::ids::{PoolId, ServerId, TenantId};
use crate::domain::model::{Pool, Server};
use crate::domain::projection::pool_home;

/// The length of a bucket: 5 minutes.
pub const BUCKET_SECS: i64 = 300;

/// The start of the bucket `at` falls in.
pub fn bucket_of(at: i64) -> i64 {
    at - at.rem_euclid(BUCKET_SECS)
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// One value of a series as read back: `key` is the server, pool or (for a tenant's series) the
/// server id; `bucket` the start of its step; `value` registered phones and `away` the away
/// phones (0 where the series has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesRow {
    pub key: i64,
    pub bucket: i64,
    pub value: i64,
    pub away: i64,
}

/// Which series to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesOf {
    /// Registered and away phones of every server, or of one.
    Servers(Option<ServerId>),
    /// Registered and away phones of every pool's tenants, or of one pool's.
    Pools(Option<PoolId>),
    /// One tenant's phones per server.
    Tenant(TenantId),
}

/// Servers that get phones of each pool (of the `wanted` ones; all: `None`) with nothing down:
/// phones elsewhere are away (the cluster view's definition, `domain::projection::pool_home`).
/// A report asks only for the few pools it touches: this runs on every report.
async fn home_sets(
    tx: &mut Tx,
    wanted: Option<&BTreeSet<PoolId>>,
) -> Result<HashMap<PoolId, HashSet<ServerId>>> {
    let (pool_filter, member_filter) = match wanted {
        Some(w) if w.is_empty() => return Ok(HashMap::new()),
        Some(w) => {
            // Integers from the database itself: safe to write into the statement.
            let list = id_list(w.iter().map(|p| p.get()));
            (
                format!("WHERE id IN ({list})"),
                format!("WHERE m.pool_id IN ({list})"),
            )
        }
        None => (String::new(), String::new()),
    };
    let servers = sqlx::query("SELECT * FROM servers ORDER BY id")
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(server_from_row)
        .collect::<Result<Vec<Server>>>()?;
    let mut pools = sqlx::query(&format!("SELECT {POOL_COLUMNS} FROM pools {pool_filter}"))
        .persistent(false)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(pool_from_row)
        .collect::<Result<Vec<Pool>>>()?;
    let members = sqlx::query(&format!(
        "{MEMBER_SELECT} {member_filter} ORDER BY m.pool_id, m.position"
    ))
    .persistent(false)
    .fetch_all(&mut **tx)
    .await?;
    for r in &members {
        let (pool_id, m) = member_from_row(r)?;
        if let Some(p) = pools.iter_mut().find(|p| p.id == pool_id) {
            p.members.push(m);
        }
    }
    let refs: Vec<_> = servers.iter().map(Server::projection_ref).collect();
    Ok(pools
        .iter()
        .map(|p| {
            let home = pool_home(&refs, &p.srv_records());
            (p.id, home.servers.iter().map(|i| servers[*i].id).collect())
        })
        .collect())
}

fn is_home(homes: &HashMap<PoolId, HashSet<ServerId>>, pool: PoolId, server: ServerId) -> bool {
    homes.get(&pool).is_some_and(|set| set.contains(&server))
}

/// Writes the current bucket of the series of each server in `changed`, of the pools of its
/// tenants there, and of those tenants' series on it (only where their count changed). Called
/// after those counts were recounted or moved, in that transaction; all servers at once, so
/// that the pools and their home servers are read once per report, not once per server.
pub(super) async fn record(tx: &mut Tx, changed: &BTreeMap<ServerId, Vec<TenantId>>) -> Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let bucket = bucket_of(now());
    let mut pools: BTreeSet<PoolId> = BTreeSet::new();
    for (server_id, tenants) in changed {
        for chunk in tenants.chunks(ID_CHUNK) {
            let ids = id_list(chunk.iter().map(|t| t.get()));
            // Integers from the database itself: safe to write into the statement.
            sqlx::query(&format!(
                "INSERT INTO series_tenant (tenant_id, server_id, bucket, phones) \
                 SELECT t.id, $1, $2, COALESCE(c.phones, 0) FROM tenants t \
                 LEFT JOIN tenant_server_counts c ON c.tenant_id = t.id AND c.server_id = $1 \
                 WHERE t.id IN ({ids}) AND COALESCE(c.phones, 0) <> COALESCE((SELECT s.phones FROM series_tenant s \
                   WHERE s.tenant_id = t.id AND s.server_id = $1 ORDER BY s.bucket DESC LIMIT 1), 0) \
                 ON CONFLICT (tenant_id, server_id, bucket) DO UPDATE SET phones = excluded.phones"
            ))
            .persistent(false)
            .bind(*server_id)
            .bind(bucket)
            .execute(&mut **tx)
            .await?;
        }
    }
    let all_tenants: BTreeSet<i64> = changed.values().flatten().map(|t| t.get()).collect();
    let all_tenants: Vec<i64> = all_tenants.into_iter().collect();
    for chunk in all_tenants.chunks(ID_CHUNK) {
        for r in sqlx::query(&format!(
            "SELECT DISTINCT pool_id FROM tenants WHERE id IN ({}) AND pool_id IS NOT NULL",
            id_list(chunk.iter().copied())
        ))
        .persistent(false)
        .fetch_all(&mut **tx)
        .await?
        {
            pools.insert(r.try_get("pool_id")?);
        }
    }
    // The servers: matched phones per pool, plus the unmatched ones.
    let server_list = id_list(changed.keys().map(|s| s.get()));
    let mut on_servers: Vec<(ServerId, Option<PoolId>, i64)> = Vec::new();
    for r in sqlx::query(&format!(
        "SELECT c.server_id, t.pool_id, CAST(SUM(c.phones) AS BIGINT) AS phones FROM tenant_server_counts c \
         JOIN tenants t ON t.id = c.tenant_id WHERE c.server_id IN ({server_list}) GROUP BY c.server_id, t.pool_id"
    ))
    .persistent(false)
    .fetch_all(&mut **tx)
    .await?
    {
        on_servers.push((
            r.try_get("server_id")?,
            r.try_get("pool_id")?,
            r.try_get("phones")?,
        ));
    }
    let wanted: BTreeSet<PoolId> = pools
        .iter()
        .copied()
        .chain(on_servers.iter().filter_map(|(_, p, _)| *p))
        .collect();
    let homes = home_sets(tx, Some(&wanted)).await?;
    // (registered, away) per server, starting from its unmatched phones.
    let mut per_server: BTreeMap<ServerId, (i64, i64)> =
        changed.keys().map(|s| (*s, (0, 0))).collect();
    for r in sqlx::query(&format!(
        "SELECT server_id, COUNT(DISTINCT endpoint_key) AS n FROM registrations \
         WHERE server_id IN ({server_list}) AND tenant_id IS NULL AND registered = 1 GROUP BY server_id"
    ))
    .persistent(false)
    .fetch_all(&mut **tx)
    .await?
    {
        let server: ServerId = r.try_get("server_id")?;
        per_server.entry(server).or_default().0 += r.try_get::<i64, _>("n")?;
    }
    for (server, pool, phones) in on_servers {
        let s = per_server.entry(server).or_default();
        s.0 += phones;
        if let Some(pool) = pool
            && !is_home(&homes, pool, server)
        {
            s.1 += phones;
        }
    }
    let rows: Vec<(i64, i64, i64)> = per_server
        .into_iter()
        .map(|(server, (registered, away))| (server.get(), registered, away))
        .collect();
    upsert_values(
        tx,
        "series_server (server_id, bucket, registered, away)",
        "(server_id, bucket)",
        bucket,
        &rows,
    )
    .await?;
    if pools.is_empty() {
        return Ok(());
    }
    // The pools of the touched tenants, over every server.
    let list = id_list(pools.iter().map(|p| p.get()));
    let mut totals: BTreeMap<PoolId, (i64, i64)> = pools.iter().map(|p| (*p, (0, 0))).collect();
    for r in sqlx::query(&format!(
        "SELECT t.pool_id, c.server_id, CAST(SUM(c.phones) AS BIGINT) AS phones \
         FROM tenant_server_counts c JOIN tenants t ON t.id = c.tenant_id \
         WHERE t.pool_id IN ({list}) GROUP BY t.pool_id, c.server_id"
    ))
    .persistent(false)
    .fetch_all(&mut **tx)
    .await?
    {
        let pool: PoolId = r.try_get("pool_id")?;
        let server: ServerId = r.try_get("server_id")?;
        let phones: i64 = r.try_get("phones")?;
        let t = totals.entry(pool).or_default();
        t.0 += phones;
        if !is_home(&homes, pool, server) {
            t.1 += phones;
        }
    }
    let rows: Vec<(i64, i64, i64)> = totals
        .into_iter()
        .map(|(pool, (registered, away))| (pool.get(), registered, away))
        .collect();
    upsert_values(
        tx,
        "series_pool (pool_id, bucket, registered, away)",
        "(pool_id, bucket)",
        bucket,
        &rows,
    )
    .await
}

/// Upserts `(key, bucket, registered, away)` rows into `table` (with its columns) in one
/// statement per thousand rows: a report touches dozens of pools, and a statement each was a
/// round trip each. The values are integers computed here, written into the statement.
async fn upsert_values(
    tx: &mut Tx,
    table: &str,
    conflict: &str,
    bucket: i64,
    rows: &[(i64, i64, i64)],
) -> Result<()> {
    for chunk in rows.chunks(1000) {
        let values: Vec<String> = chunk
            .iter()
            .map(|(key, registered, away)| format!("({key}, {bucket}, {registered}, {away})"))
            .collect();
        sqlx::query(&format!(
            "INSERT INTO {table} VALUES {} ON CONFLICT {conflict} DO UPDATE SET \
             registered = excluded.registered, away = excluded.away",
            values.join(", ")
        ))
        .persistent(false)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Drops `server_id`'s and the pools' rows older than `cutoff`, except the newest at or before
/// it (the value carried into the window); a tenant's 0 older than the cut-off goes too (no row
/// reads as 0).
pub(super) async fn prune(tx: &mut Tx, server_id: ServerId, cutoff: i64) -> Result<()> {
    sqlx::query(
        "DELETE FROM series_server WHERE server_id = $1 AND bucket < \
         (SELECT MAX(m.bucket) FROM series_server m WHERE m.server_id = $1 AND m.bucket <= $2)",
    )
    .bind(server_id)
    .bind(cutoff)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "DELETE FROM series_pool WHERE bucket < $1 AND bucket < \
         (SELECT MAX(m.bucket) FROM series_pool m WHERE m.pool_id = series_pool.pool_id AND m.bucket <= $1)",
    )
    .bind(cutoff)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "DELETE FROM series_tenant WHERE server_id = $1 AND bucket < $2 AND (phones = 0 OR EXISTS \
         (SELECT 1 FROM series_tenant n WHERE n.tenant_id = series_tenant.tenant_id \
          AND n.server_id = series_tenant.server_id AND n.bucket > series_tenant.bucket AND n.bucket <= $2))",
    )
    .bind(server_id)
    .bind(cutoff)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Test and demo support ([`Store::age_history`]): shifts the series of `server_id` (all of
/// them: `None`; the pools' too) back by `secs`, whole buckets only.
pub(super) async fn age(tx: &mut Tx, server_id: Option<ServerId>, secs: i64) -> Result<()> {
    let secs = secs - secs.rem_euclid(BUCKET_SECS);
    let (filter, id) = match server_id {
        Some(id) => ("WHERE server_id = $2", id.get()),
        None => ("WHERE $2 = $2", 0),
    };
    let mut tables = vec![("series_server", filter), ("series_tenant", filter)];
    if server_id.is_none() {
        tables.push(("series_pool", "WHERE $2 = $2"));
    }
    // Through negative buckets: both databases check the primary key row by row, and a shift
    // in place would collide with the neighbouring bucket not yet shifted.
    for (table, filter) in tables {
        sqlx::query(&format!(
            "UPDATE {table} SET bucket = -(bucket - $1) {filter}"
        ))
        .bind(secs)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        sqlx::query(&format!(
            "UPDATE {table} SET bucket = -bucket WHERE bucket < 0 AND $1 = $1 AND $2 = $2"
        ))
        .bind(secs)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// A series in `(from, to]`, grouped in steps of `step` seconds (a multiple of
    /// [`BUCKET_SECS`]; the peak of each step, for a pool the sums of its registered and away
    /// phones), preceded by each key's newest row at or before `from` (the value carried into
    /// the window). Rows by key, then time.
    pub async fn series(
        &self,
        of: SeriesOf,
        from: i64,
        to: i64,
        step: i64,
    ) -> Result<Vec<SeriesRow>> {
        let step = step.max(BUCKET_SECS);
        // `step` is an integer of ours, never input: written into the statement so that both
        // databases see the same expression in SELECT and GROUP BY.
        let b = format!("(bucket - bucket % {step})");
        let (window, seed, key) = match of {
            SeriesOf::Servers(one) => (
                format!(
                    "SELECT server_id AS k, {b} AS b, MAX(registered) AS v, MAX(away) AS a FROM series_server \
                     WHERE bucket > $1 AND bucket <= $2 {} GROUP BY server_id, {b}",
                    if one.is_some() { "AND server_id = $3" } else { "AND $3 = $3" }
                ),
                // Each key's newest bucket at or before the window, by one descent of the
                // primary key per server (a scan of every older bucket took 13-15 ms at 40
                // servers over 14 days, a subquery per row of the series 80-110 ms). CROSS
                // JOIN keeps SQLite's planner from scanning the series first (78 ms).
                format!(
                    "SELECT s.server_id AS k, s.bucket AS b, s.registered AS v, s.away AS a FROM servers x \
                     CROSS JOIN series_server s WHERE s.server_id = x.id AND s.bucket = (SELECT MAX(m.bucket) \
                       FROM series_server m WHERE m.server_id = x.id AND m.bucket <= $1) \
                     AND $2 = $2 {}",
                    if one.is_some() { "AND x.id = $3" } else { "AND $3 = $3" }
                ),
                one.map(|s| s.get()).unwrap_or(0),
            ),
            SeriesOf::Pools(one) => (
                format!(
                    "SELECT pool_id AS k, {b} AS b, CAST(SUM(registered) AS BIGINT) AS v, CAST(SUM(away) AS BIGINT) AS a \
                     FROM series_pool WHERE bucket > $1 AND bucket <= $2 {} GROUP BY pool_id, {b}",
                    if one.is_some() { "AND pool_id = $3" } else { "AND $3 = $3" }
                ),
                format!(
                    "SELECT s.pool_id AS k, s.bucket AS b, s.registered AS v, s.away AS a FROM pools x \
                     CROSS JOIN series_pool s WHERE s.pool_id = x.id AND s.bucket = (SELECT MAX(m.bucket) \
                       FROM series_pool m WHERE m.pool_id = x.id AND m.bucket <= $1) \
                     AND $2 = $2 {}",
                    if one.is_some() { "AND x.id = $3" } else { "AND $3 = $3" }
                ),
                one.map(|p| p.get()).unwrap_or(0),
            ),
            SeriesOf::Tenant(t) => (
                format!(
                    "SELECT server_id AS k, {b} AS b, MAX(phones) AS v, CAST(0 AS BIGINT) AS a FROM series_tenant \
                     WHERE tenant_id = $3 AND bucket > $1 AND bucket <= $2 GROUP BY server_id, {b}"
                ),
                "SELECT s.server_id AS k, s.bucket AS b, s.phones AS v, CAST(0 AS BIGINT) AS a FROM servers x \
                 JOIN series_tenant s ON s.tenant_id = $3 AND s.server_id = x.id AND s.bucket = (SELECT MAX(m.bucket) \
                   FROM series_tenant m WHERE m.tenant_id = $3 AND m.server_id = x.id AND m.bucket <= $1) \
                 WHERE $2 = $2"
                    .to_string(),
                t.get(),
            ),
        };
        let mut out = Vec::new();
        for sql in [seed, window] {
            // As one JSON array: a day of 40 servers is 11,200 rows, which the driver copies
            // one by one at about 3 µs each (a cold start draws two such charts).
            let rows: Vec<(i64, i64, i64, i64)> = super::fetch_json_array(
                sqlx::query(&self.json_array_sql("k, b, v, a", &format!("FROM ({sql}) q")))
                    .bind(from)
                    .bind(to)
                    .bind(key),
                &self.pool,
            )
            .await?;
            out.extend(
                rows.into_iter()
                    .map(|(key, bucket, value, away)| SeriesRow {
                        key,
                        bucket,
                        value,
                        away,
                    }),
            );
        }
        out.sort_by_key(|r| (r.key, r.bucket));
        Ok(out)
    }

    /// Demo support: replaces every series with `days` of synthesized history ending with the
    /// current counts (see [`synthesize_history`]), so that every chart has points on a fresh
    /// start.
    pub async fn load_demo_history(&self, days: i64) -> Result<u64> {
        let at = now();
        let mut tx = self.begin_write().await?;
        let homes = home_sets(&mut tx, None).await?;
        let servers: Vec<(i64, String)> = sqlx::query("SELECT id, name FROM servers ORDER BY id")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let pools: Vec<i64> = sqlx::query("SELECT id FROM pools ORDER BY id")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, sqlx::Error>>()?;
        let mut cells = Vec::new();
        for r in sqlx::query(
            "SELECT c.tenant_id, t.pool_id, c.server_id, c.phones FROM tenant_server_counts c \
             JOIN tenants t ON t.id = c.tenant_id ORDER BY c.tenant_id, c.server_id",
        )
        .fetch_all(&mut *tx)
        .await?
        {
            cells.push(HistoryCell {
                tenant: r.try_get("tenant_id")?,
                pool: r.try_get("pool_id")?,
                server: r.try_get("server_id")?,
                phones: r.try_get::<i64, _>("phones")?,
            });
        }
        let mut unmatched = HashMap::new();
        for r in sqlx::query(
            "SELECT server_id, COUNT(DISTINCT endpoint_key) AS n FROM registrations \
             WHERE tenant_id IS NULL AND registered = 1 GROUP BY server_id",
        )
        .fetch_all(&mut *tx)
        .await?
        {
            unmatched.insert(r.try_get::<i64, _>("server_id")?, r.try_get::<i64, _>("n")?);
        }
        let home_pairs: HashSet<(i64, i64)> = homes
            .iter()
            .flat_map(|(p, set)| set.iter().map(move |s| (p.get(), s.get())))
            .collect();
        let history = synthesize_history(&HistoryInput {
            cells: &cells,
            servers: &servers,
            pools: &pools,
            homes: &home_pairs,
            unmatched: &unmatched,
            now_bucket: bucket_of(at),
            bucket_secs: BUCKET_SECS,
            days,
        });
        for table in ["series_server", "series_pool", "series_tenant"] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await?;
        }
        let mut written = 0u64;
        written += insert_rows(
            &mut tx,
            "series_server (server_id, bucket, registered, away)",
            &history.servers,
        )
        .await?;
        written += insert_rows(
            &mut tx,
            "series_pool (pool_id, bucket, registered, away)",
            &history.pools,
        )
        .await?;
        written += insert_rows(
            &mut tx,
            "series_tenant (tenant_id, server_id, bucket, phones)",
            &history.tenants,
        )
        .await?;
        tx.commit().await?;
        Ok(written)
    }
}

/// Multi-row inserts of 4-integer rows, 250 rows (1,000 parameters) per statement.
async fn insert_rows(tx: &mut Tx, into: &str, rows: &[[i64; 4]]) -> Result<u64> {
    for chunk in rows.chunks(250) {
        let mut sql = format!("INSERT INTO {into} VALUES ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            let b = i * 4;
            sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
        }
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for v in row {
                q = q.bind(*v);
            }
        }
        q.execute(&mut **tx).await?;
    }
    Ok(rows.len() as u64)
}
