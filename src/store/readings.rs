//! What the maintained counts and phones say, as the cluster view, the alerts and the pages
//! read them: the data version, snapshots, counts per tenant/pool and server, a tenant's or a
//! server's phones, away and flapping phones, report times. The write side (ingest and the
//! counts it maintains) is in `registrations`.

use crate::domain::ids::{ServerId, TenantId};
use sqlx::Row;
use std::collections::HashMap;

use super::registrations::{
    AwayGroup, DataVersion, FlappingMoves, ListedTwice, PHONE_SELECT, PhoneMove, PhoneRow,
    PoolServerCount, ReportTimes, Snapshot, TenantPhones, TenantServerCount, phone_from_row,
    snapshot_from_row,
};
use super::{Result, Store};

impl Store {
    /// Changes whenever anything alerts depend on changes: every edit writes an audit entry and
    /// every report a snapshot. Cheap enough to ask on every page.
    pub async fn data_version(&self) -> Result<DataVersion> {
        let r = sqlx::query("SELECT version FROM data_version WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let version = r.try_get("version")?;
        self.recent.saw_version(version);
        Ok(version)
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

    /// Registered contacts of a tenant, excluding the servers `not_on` (its home servers).
    pub async fn tenant_phones(
        &self,
        tenant_id: TenantId,
        not_on: &[ServerId],
        limit: u32,
    ) -> Result<Vec<PhoneRow>> {
        // Server ids are integers: formatting them in keeps one statement for any number.
        let excluded = not_on
            .iter()
            .map(|s| s.get().to_string())
            .chain(std::iter::once("-1".to_string()))
            .collect::<Vec<_>>()
            .join(",");
        let rows = sqlx::query(&format!(
            "{PHONE_SELECT} WHERE r.tenant_id = $1 AND r.registered = 1 AND r.server_id NOT IN ({excluded}) ORDER BY r.endpoint_key LIMIT {limit}"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(phone_from_row).collect::<Result<_, _>>()?)
    }

    /// A tenant's endpoints registered on more than one server (a handover whose old contact
    /// has not expired yet), at most `limit`, by endpoint: where each counts (its newest
    /// registered contact) and the other servers listing it.
    pub async fn tenant_listed_twice(
        &self,
        tenant_id: TenantId,
        limit: u32,
    ) -> Result<Vec<ListedTwice>> {
        let rows = sqlx::query(&format!(
            "SELECT r.endpoint_key, MIN(r.endpoint) AS endpoint, s.name AS server_name, MAX(r.id) AS newest \
             FROM registrations r JOIN servers s ON s.id = r.server_id \
             WHERE r.tenant_id = $1 AND r.registered = 1 AND r.endpoint_key IN ( \
               SELECT endpoint_key FROM registrations WHERE tenant_id = $1 AND registered = 1 \
               GROUP BY endpoint_key HAVING COUNT(DISTINCT server_id) > 1 ORDER BY endpoint_key LIMIT {limit}) \
             GROUP BY r.endpoint_key, s.name ORDER BY r.endpoint_key, newest DESC"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<(String, ListedTwice)> = Vec::new();
        for r in &rows {
            let key: String = r.try_get("endpoint_key")?;
            let server: String = r.try_get("server_name")?;
            match out.last_mut() {
                Some((k, l)) if *k == key => l.also_on.push(server),
                _ => out.push((
                    key,
                    ListedTwice {
                        endpoint: r.try_get("endpoint")?,
                        counted_on: server,
                        also_on: Vec::new(),
                    },
                )),
            }
        }
        Ok(out.into_iter().map(|(_, l)| l).collect())
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

    /// The phones of `tenant_ids` registered on `server_id` since before `before`, grouped by
    /// tenant and user agent: how many, since when (the earliest), and one endpoint as an
    /// example. The definition in SQL of the failback groups the tenant book computes in memory
    /// ([`crate::domain::tenant_book::TenantBook::away_groups`]); its test compares the two.
    pub async fn away_groups(
        &self,
        server_id: ServerId,
        tenant_ids: &[TenantId],
        before: i64,
    ) -> Result<Vec<AwayGroup>> {
        let mut out = Vec::new();
        for chunk in tenant_ids.chunks(500) {
            let ids = chunk
                .iter()
                .map(|t| t.get().to_string())
                .collect::<Vec<_>>()
                .join(",");
            let rows = sqlx::query(&format!(
                "SELECT t.code, r.user_agent, COUNT(*) AS phones, MIN(p.since) AS since, \
                 MIN(r.endpoint) AS example \
                 FROM registrations r JOIN tenants t ON t.id = r.tenant_id \
                 JOIN phones p ON p.endpoint_key = r.endpoint_key AND p.server_id = r.server_id \
                 WHERE r.server_id = $1 AND r.tenant_id IN ({ids}) AND r.registered = 1 AND p.since < $2 \
                 GROUP BY t.code, r.user_agent"
            ))
            .persistent(false)
            .bind(server_id)
            .bind(before)
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                out.push(AwayGroup {
                    tenant: r.try_get("code")?,
                    user_agent: r.try_get("user_agent")?,
                    phones: r.try_get::<i64, _>("phones")?.max(0) as u64,
                    since: r.try_get("since")?,
                    example: r.try_get("example")?,
                });
            }
        }
        Ok(out)
    }

    /// Phones that moved at least `min_moves` times since `since` (at most 1,000, by endpoint),
    /// read in one statement: the moves of those phones in the window, grouped here.
    pub async fn flapping_phones(&self, since: i64, min_moves: u32) -> Result<Vec<FlappingMoves>> {
        let rows = sqlx::query(
            "SELECT m.endpoint_key, m.tenant_id, m.from_server_id, m.to_server_id FROM phone_moves m \
             WHERE m.at >= $1 AND m.endpoint_key IN ( \
               SELECT endpoint_key FROM phone_moves WHERE at >= $1 \
               GROUP BY endpoint_key HAVING COUNT(*) >= $2 ORDER BY endpoint_key LIMIT 1000) \
             ORDER BY m.endpoint_key",
        )
        .bind(since)
        .bind(min_moves as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<FlappingMoves> = Vec::new();
        for r in &rows {
            let endpoint: String = r.try_get("endpoint_key")?;
            let tenant: Option<TenantId> = r.try_get("tenant_id")?;
            let servers = [
                r.try_get::<Option<ServerId>, _>("from_server_id")?,
                r.try_get::<Option<ServerId>, _>("to_server_id")?,
            ];
            let current = match out.last_mut() {
                Some(f) if f.endpoint == endpoint => f,
                _ => {
                    out.push(FlappingMoves {
                        endpoint,
                        tenant_id: None,
                        moves: 0,
                        server_ids: Vec::new(),
                    });
                    out.last_mut().expect("just pushed")
                }
            };
            current.moves += 1;
            // The smallest tenant id, as MIN() gave before: one answer whatever the row order.
            current.tenant_id = match (current.tenant_id, tenant) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            for s in servers.into_iter().flatten() {
                if !current.server_ids.contains(&s) {
                    current.server_ids.push(s);
                }
            }
        }
        for f in &mut out {
            f.server_ids.sort();
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
}
