//! Registration snapshots: a server's newest report replaces its current picture in one
//! transaction, and the counts pages read (per tenant and server), the phones' last servers and
//! their moves are maintained right there, set-based, so no page has to scan registrations.

use crate::domain::ids::{PoolId, ServerId, TenantId};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;

use super::{LockKind, Result, Store, now};
use crate::domain::registrations::{Registration, TenantMatcher, normalise_tenant_code};

/// Newest ids of the audit log, snapshots and DNS checks: it moves with every change.
/// The data version: a counter every committed change of inventory, settings, registrations or
/// DNS checks moves (by trigger, in commit order; migration 0008). Views computed from the data
/// are cached under it.
pub type DataVersion = i64;

/// Rows per multi-row INSERT (8 parameters each): far below both backends' limits.
const BATCH: usize = 500;

/// How a snapshot is read and kept: the tenant rule, when a silence counts as a gap in the
/// server's reports, and how long history is kept.
#[derive(Debug, Clone)]
pub struct IngestPolicy {
    pub matcher: TenantMatcher,
    pub stale_after_secs: i64,
    pub retention_secs: i64,
}

impl IngestPolicy {
    pub fn from_settings(s: &crate::domain::settings::Settings) -> Self {
        Self {
            matcher: s.matcher(),
            stale_after_secs: s.alerts.stale_after_secs,
            retention_secs: s.retention_secs(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct IngestSummary {
    pub snapshot_id: i64,
    pub contacts: u64,
    pub registered: u64,
    pub matched: u64,
    pub unmatched: u64,
    pub moves: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub id: i64,
    pub server_id: ServerId,
    pub received_at: i64,
    pub format: String,
    pub contacts: i64,
    pub registered: i64,
    pub unmatched: i64,
    pub actor: String,
}

fn snapshot_from_row(r: &AnyRow) -> Result<Snapshot, sqlx::Error> {
    Ok(Snapshot {
        id: r.try_get("id")?,
        server_id: r.try_get("server_id")?,
        received_at: r.try_get("received_at")?,
        format: r.try_get("format")?,
        contacts: r.try_get("contacts")?,
        registered: r.try_get("registered")?,
        unmatched: r.try_get("unmatched")?,
        actor: r.try_get("actor")?,
    })
}

/// One registered contact, as the tenant and server pages list them.
#[derive(Debug, Clone, Serialize)]
pub struct PhoneRow {
    pub endpoint: String,
    pub server_id: ServerId,
    pub server: String,
    pub tenant_id: Option<TenantId>,
    pub contact: String,
    pub user_agent: Option<String>,
    pub status: String,
    /// Since when the phone is on this server.
    pub since: Option<i64>,
}

fn phone_from_row(r: &AnyRow) -> Result<PhoneRow, sqlx::Error> {
    Ok(PhoneRow {
        endpoint: r.try_get("endpoint")?,
        server_id: r.try_get("server_id")?,
        server: r.try_get("server_name")?,
        tenant_id: r.try_get("tenant_id")?,
        contact: r.try_get("contact")?,
        user_agent: r.try_get("user_agent")?,
        status: r.try_get("status")?,
        since: r.try_get("since")?,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct PhoneMove {
    pub endpoint_key: String,
    pub tenant_id: Option<TenantId>,
    pub from_server_id: Option<ServerId>,
    pub to_server_id: Option<ServerId>,
    pub at: i64,
}

const PHONE_SELECT: &str = "SELECT r.endpoint, r.server_id, s.name AS server_name, r.tenant_id, r.contact, r.user_agent, r.status, p.since \
     FROM registrations r JOIN servers s ON s.id = r.server_id \
     LEFT JOIN phones p ON p.endpoint_key = r.endpoint_key AND p.server_id = r.server_id";

/// When a server last reported, and since when it has been reporting without a gap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportTimes {
    pub last_report_at: Option<i64>,
    pub reporting_since: Option<i64>,
}

/// Registered phones of one tenant on one server (maintained at ingest).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TenantServerCount {
    pub tenant_id: TenantId,
    pub server_id: ServerId,
    pub phones: u64,
}

/// Registered phones of one pool's tenants on one server; `pool_id` is `None` for unplaced
/// tenants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolServerCount {
    pub pool_id: Option<PoolId>,
    pub server_id: ServerId,
    pub phones: u64,
}

/// A tenant's registered phones on one server, as the server page lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantPhones {
    pub tenant_id: TenantId,
    pub code: String,
    pub pool_id: Option<PoolId>,
    pub phones: u64,
}

/// A phone that changed servers often in a window: its moves and the servers involved.
#[derive(Debug, Clone, PartialEq)]
pub struct FlappingMoves {
    pub endpoint: String,
    pub tenant_id: Option<TenantId>,
    pub moves: u32,
    pub server_ids: Vec<ServerId>,
}

impl Store {
    /// Replaces `server_id`'s current picture with `rows`, all or nothing.
    pub async fn ingest(
        &self,
        server_id: ServerId,
        format: &str,
        rows: &[Registration],
        policy: &IngestPolicy,
        actor: &str,
    ) -> Result<IngestSummary> {
        let at = now();
        let mut tx = self.begin_write().await?;
        // One push per server at a time, the later one replacing the earlier whole: without it
        // two READ COMMITTED transactions each delete the (still empty) old picture and both
        // insert, leaving the union. SQLite's BEGIN IMMEDIATE already serialises all writers.
        self.serialise(&mut tx, LockKind::Ingest, server_id.get())
            .await?;
        let last: Option<i64> = sqlx::query("SELECT last_report_at FROM servers WHERE id = $1")
            .bind(server_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| super::Error::NotFound {
                kind: "server",
                name: server_id.to_string(),
            })?
            .try_get("last_report_at")?;
        sqlx::query("DELETE FROM registrations WHERE server_id = $1")
            .bind(server_id)
            .execute(&mut *tx)
            .await?;
        for chunk in rows.chunks(BATCH) {
            let mut sql = String::with_capacity(64 + chunk.len() * 48);
            sql.push_str(
                "INSERT INTO registrations (server_id, endpoint, endpoint_key, tenant_key, contact, user_agent, status, registered) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 7 + 1;
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "({server_id}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b,
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6
                ));
            }
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(r.endpoint.as_str())
                    .bind(r.endpoint.to_lowercase())
                    .bind(
                        r.tenant_code(&policy.matcher)
                            .map(|c| normalise_tenant_code(&c)),
                    )
                    .bind(r.contact.as_str())
                    .bind(r.user_agent.as_deref())
                    .bind(r.status.as_str().to_string())
                    .bind(i64::from(r.status.is_registered()));
            }
            q.execute(&mut *tx).await?;
        }
        sqlx::query(
            "UPDATE registrations SET tenant_id = (SELECT t.id FROM tenants t WHERE t.code_key = registrations.tenant_key) \
             WHERE server_id = $1 AND tenant_key IS NOT NULL",
        )
        .bind(server_id)
        .execute(&mut *tx)
        .await?;
        // A registered phone whose last known server was another one has moved here.
        let moves = sqlx::query(
            "INSERT INTO phone_moves (endpoint_key, tenant_id, from_server_id, to_server_id, at) \
             SELECT r.endpoint_key, MIN(r.tenant_id), p.server_id, $1, $2 FROM registrations r \
             JOIN phones p ON p.endpoint_key = r.endpoint_key \
             WHERE r.server_id = $1 AND r.registered = 1 AND p.server_id <> $1 \
             GROUP BY r.endpoint_key, p.server_id",
        )
        .bind(server_id)
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(
            "INSERT INTO phones (endpoint_key, server_id, since) \
             SELECT DISTINCT endpoint_key, $1, $2 FROM registrations WHERE server_id = $1 AND registered = 1 \
             ON CONFLICT (endpoint_key) DO UPDATE SET \
               since = CASE WHEN phones.server_id = excluded.server_id THEN phones.since ELSE excluded.since END, \
               server_id = excluded.server_id",
        )
        .bind(server_id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM tenant_server_counts WHERE server_id = $1")
            .bind(server_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO tenant_server_counts (tenant_id, server_id, phones) \
             SELECT tenant_id, $1, COUNT(DISTINCT endpoint_key) FROM registrations \
             WHERE server_id = $1 AND tenant_id IS NOT NULL AND registered = 1 GROUP BY tenant_id",
        )
        .bind(server_id)
        .execute(&mut *tx)
        .await?;
        let counts = sqlx::query(
            "SELECT COUNT(DISTINCT endpoint_key) AS registered, \
               COUNT(DISTINCT CASE WHEN tenant_id IS NULL THEN endpoint_key END) AS unmatched \
             FROM registrations WHERE server_id = $1 AND registered = 1",
        )
        .bind(server_id)
        .fetch_one(&mut *tx)
        .await?;
        let registered: i64 = counts.try_get("registered")?;
        let unmatched: i64 = counts.try_get("unmatched")?;
        let snapshot_id: i64 = sqlx::query(
            "INSERT INTO snapshots (server_id, received_at, format, contacts, registered, unmatched, actor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(server_id)
        .bind(at)
        .bind(format)
        .bind(rows.len() as i64)
        .bind(registered)
        .bind(unmatched)
        .bind(actor)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        // A report after a silence longer than the stale age starts a new run of reports.
        let resumed = last.is_none_or(|l| at - l > policy.stale_after_secs);
        sqlx::query(
            "UPDATE servers SET last_report_at = $1, \
             reporting_since = CASE WHEN $2 = 1 OR reporting_since IS NULL THEN $1 ELSE reporting_since END WHERE id = $3",
        )
        .bind(at)
        .bind(i64::from(resumed))
        .bind(server_id)
        .execute(&mut *tx)
        .await?;
        let cutoff = at - policy.retention_secs;
        sqlx::query("DELETE FROM phone_moves WHERE at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM snapshots WHERE server_id = $1 AND received_at < $2 AND id <> $3")
            .bind(server_id)
            .bind(cutoff)
            .bind(snapshot_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(IngestSummary {
            snapshot_id,
            contacts: rows.len() as u64,
            registered: registered as u64,
            matched: (registered - unmatched) as u64,
            unmatched: unmatched as u64,
            moves,
        })
    }

    /// Changes whenever anything alerts depend on changes: every edit writes an audit entry and
    /// every report a snapshot. Cheap enough to ask on every page.
    pub async fn data_version(&self) -> Result<DataVersion> {
        let r = sqlx::query("SELECT version FROM data_version WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get("version")?)
    }

    /// The newest snapshot of every server that has reported.
    pub async fn latest_snapshots(&self) -> Result<Vec<Snapshot>> {
        let rows = sqlx::query(
            "SELECT * FROM snapshots WHERE id IN (SELECT MAX(id) FROM snapshots GROUP BY server_id) ORDER BY server_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(snapshot_from_row)
            .collect::<Result<_, _>>()?)
    }

    pub async fn snapshots_of(&self, server_id: ServerId, limit: u32) -> Result<Vec<Snapshot>> {
        let rows = sqlx::query(&format!(
            "SELECT * FROM snapshots WHERE server_id = $1 ORDER BY id DESC LIMIT {limit}"
        ))
        .bind(server_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(snapshot_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Registered phones per (tenant id, server id).
    pub async fn tenant_server_counts(&self) -> Result<Vec<TenantServerCount>> {
        let rows = sqlx::query("SELECT tenant_id, server_id, phones FROM tenant_server_counts")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TenantServerCount {
                    tenant_id: r.try_get("tenant_id")?,
                    server_id: r.try_get("server_id")?,
                    phones: r.try_get::<i64, _>("phones")? as u64,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Registered phones per (pool id, server id), summed over the pool's tenants in SQL.
    pub async fn pool_server_counts(&self) -> Result<Vec<PoolServerCount>> {
        let rows = sqlx::query(
            "SELECT t.pool_id, c.server_id, CAST(SUM(c.phones) AS BIGINT) AS phones \
             FROM tenant_server_counts c JOIN tenants t ON t.id = c.tenant_id GROUP BY t.pool_id, c.server_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PoolServerCount {
                    pool_id: r.try_get("pool_id")?,
                    server_id: r.try_get("server_id")?,
                    phones: r.try_get::<i64, _>("phones")? as u64,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Phones of one tenant per server.
    pub async fn tenant_phones_by_server(
        &self,
        tenant_id: TenantId,
    ) -> Result<HashMap<ServerId, u64>> {
        let rows =
            sqlx::query("SELECT server_id, phones FROM tenant_server_counts WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("server_id")?,
                    r.try_get::<i64, _>("phones")? as u64,
                ))
            })
            .collect::<Result<HashMap<_, _>, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Tenants with phones on a server, most phones first.
    pub async fn tenants_on(&self, server_id: ServerId, limit: u32) -> Result<Vec<TenantPhones>> {
        let rows = sqlx::query(&format!(
            "SELECT t.id, t.code, t.pool_id, c.phones FROM tenant_server_counts c JOIN tenants t ON t.id = c.tenant_id \
             WHERE c.server_id = $1 ORDER BY c.phones DESC, t.code_key LIMIT {limit}"
        ))
        .bind(server_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TenantPhones {
                    tenant_id: r.try_get("id")?,
                    code: r.try_get("code")?,
                    pool_id: r.try_get("pool_id")?,
                    phones: r.try_get::<i64, _>("phones")? as u64,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Registered contacts of a tenant, optionally excluding one server (its home).
    pub async fn tenant_phones(
        &self,
        tenant_id: TenantId,
        not_on: Option<ServerId>,
        limit: u32,
    ) -> Result<Vec<PhoneRow>> {
        let rows = sqlx::query(&format!(
            "{PHONE_SELECT} WHERE r.tenant_id = $1 AND r.registered = 1 AND r.server_id <> $2 ORDER BY r.endpoint_key LIMIT {limit}"
        ))
        .bind(tenant_id)
        .bind(not_on.map(ServerId::get).unwrap_or(-1))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(phone_from_row).collect::<Result<_, _>>()?)
    }

    /// Registrations on a server that match no tenant.
    pub async fn unmatched_on(&self, server_id: ServerId, limit: u32) -> Result<Vec<PhoneRow>> {
        let rows = sqlx::query(&format!(
            "{PHONE_SELECT} WHERE r.server_id = $1 AND r.tenant_id IS NULL AND r.registered = 1 ORDER BY r.endpoint_key LIMIT {limit}"
        ))
        .bind(server_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(phone_from_row).collect::<Result<_, _>>()?)
    }

    /// Registered phones of `tenant_ids` on `server_id` that have been there since before
    /// `before` (the failback candidates), with their tenant's code. Reads only those tenants'
    /// rows of that server (index on server and tenant).
    pub async fn away_phones(
        &self,
        server_id: ServerId,
        tenant_ids: &[TenantId],
        before: i64,
        limit: u32,
    ) -> Result<Vec<(PhoneRow, String)>> {
        let mut out = Vec::new();
        for chunk in tenant_ids.chunks(500) {
            let ids = chunk
                .iter()
                .map(|t| t.get().to_string())
                .collect::<Vec<_>>()
                .join(",");
            let rows = sqlx::query(&format!(
                "SELECT r.endpoint, r.server_id, s.name AS server_name, r.tenant_id, r.contact, r.user_agent, r.status, p.since, t.code \
                 FROM registrations r JOIN tenants t ON t.id = r.tenant_id JOIN servers s ON s.id = r.server_id \
                 JOIN phones p ON p.endpoint_key = r.endpoint_key AND p.server_id = r.server_id \
                 WHERE r.server_id = $1 AND r.tenant_id IN ({ids}) AND r.registered = 1 AND p.since < $2 LIMIT {limit}"
            ))
            .bind(server_id)
            .bind(before)
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                out.push((phone_from_row(r)?, r.try_get("code")?));
            }
        }
        out.truncate(limit as usize);
        Ok(out)
    }

    /// Phones that moved at least `min_moves` times since `since`.
    pub async fn flapping_phones(&self, since: i64, min_moves: u32) -> Result<Vec<FlappingMoves>> {
        let rows = sqlx::query(
            "SELECT endpoint_key, MIN(tenant_id) AS tenant_id, COUNT(*) AS moves FROM phone_moves \
             WHERE at >= $1 GROUP BY endpoint_key HAVING COUNT(*) >= $2 ORDER BY endpoint_key LIMIT 1000",
        )
        .bind(since)
        .bind(min_moves as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let endpoint: String = r.try_get("endpoint_key")?;
            let servers: Vec<ServerId> = sqlx::query(
                "SELECT DISTINCT to_server_id AS s FROM phone_moves WHERE endpoint_key = $1 AND at >= $2 AND to_server_id IS NOT NULL \
                 UNION SELECT DISTINCT from_server_id FROM phone_moves WHERE endpoint_key = $1 AND at >= $2 AND from_server_id IS NOT NULL",
            )
            .bind(&endpoint)
            .bind(since)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get::<ServerId, _>(0))
            .collect::<Result<_, _>>()?;
            out.push(FlappingMoves {
                endpoint,
                tenant_id: r.try_get("tenant_id")?,
                moves: r.try_get::<i64, _>("moves")? as u32,
                server_ids: servers,
            });
        }
        Ok(out)
    }

    /// The newest moves of a tenant's phones.
    pub async fn tenant_moves(&self, tenant_id: TenantId, limit: u32) -> Result<Vec<PhoneMove>> {
        let rows = sqlx::query(&format!(
            "SELECT * FROM phone_moves WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT {limit}"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PhoneMove {
                    endpoint_key: r.try_get("endpoint_key")?,
                    tenant_id: r.try_get("tenant_id")?,
                    from_server_id: r.try_get("from_server_id")?,
                    to_server_id: r.try_get("to_server_id")?,
                    at: r.try_get("at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Server report times: (id, last_report_at, reporting_since).
    pub async fn report_times(&self) -> Result<HashMap<ServerId, ReportTimes>> {
        let rows = sqlx::query("SELECT id, last_report_at, reporting_since FROM servers")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    ReportTimes {
                        last_report_at: r.try_get("last_report_at")?,
                        reporting_since: r.try_get("reporting_since")?,
                    },
                ))
            })
            .collect::<Result<HashMap<_, _>, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Test and demo support: shifts every recorded time back by `secs`, as if the history
    /// had happened that much earlier.
    pub async fn age_history(&self, server_id: Option<ServerId>, secs: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let (filter, id) = match server_id {
            Some(id) => ("WHERE server_id = $2", id),
            None => ("WHERE $2 = $2", ServerId::new(0)),
        };
        for (table, col) in [("snapshots", "received_at"), ("phones", "since")] {
            sqlx::query(&format!("UPDATE {table} SET {col} = {col} - $1 {filter}"))
                .bind(secs)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let sfilter = if server_id.is_some() {
            "WHERE id = $2"
        } else {
            "WHERE $2 = $2"
        };
        sqlx::query(&format!(
            "UPDATE servers SET last_report_at = last_report_at - $1, reporting_since = reporting_since - $1 {sfilter}"
        ))
        .bind(secs)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let mfilter = if server_id.is_some() {
            "WHERE to_server_id = $2"
        } else {
            "WHERE $2 = $2"
        };
        sqlx::query(&format!("UPDATE phone_moves SET at = at - $1 {mfilter}"))
            .bind(secs)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
