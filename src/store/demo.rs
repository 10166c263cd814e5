//! Loading a demo cluster (the source document's, or a generated one) in one transaction.

use serde::Serialize;
use sqlx::Row;
use std::collections::HashMap;

use super::audit::snapshot;
use super::{Error, IngestPolicy, Result, Store, now};
use crate::domain::demo::DemoCluster;
use crate::domain::demo_registrations::Round;
use crate::domain::model::transports_to_string;
use crate::domain::registrations::TenantMatcher;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DemoSummary {
    pub servers: usize,
    pub pools: usize,
    pub tenants: usize,
    pub phones: u64,
}

/// Days of synthesized chart history a demo starts with: the longest range a chart shows.
const DEMO_HISTORY_DAYS: i64 = 14;

/// Rows per multi-row INSERT: well under SQLite's and PostgreSQL's bind-parameter limits.
const BATCH: usize = 400;

impl Store {
    pub async fn is_empty(&self) -> Result<bool> {
        let n: i64 = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM servers) + (SELECT COUNT(*) FROM pools) + (SELECT COUNT(*) FROM tenants) AS n",
        )
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        Ok(n == 0)
    }

    /// Inserts the whole cluster, or nothing. Refused when the inventory is not empty, so demo
    /// data never mixes with real data.
    pub async fn load_demo(&self, cluster: &DemoCluster, actor: &str) -> Result<DemoSummary> {
        if !self.is_empty().await? {
            return Err(Error::InUse(
                "the database already holds servers, pools or tenants; load demo data into an empty database"
                    .into(),
            ));
        }
        let at = now();
        let mut tx = self.audited(actor).await?;
        let mut server_ids = HashMap::new();
        for s in &cluster.servers {
            let id: i64 = sqlx::query(
                "INSERT INTO servers (name, host, sip_port, capacity, site, state, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(&s.name)
            .bind(&s.host)
            .bind(s.sip_port as i64)
            .bind(s.capacity.map(i64::from))
            .bind(s.site.as_deref())
            .bind(s.state.as_str())
            .bind(at)
            .bind(actor)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
            server_ids.insert(s.name.as_str(), id);
        }
        let mut pool_ids = HashMap::new();
        for p in &cluster.pools {
            let id: i64 = sqlx::query(
                "INSERT INTO pools (name, srv_name, ttl, transports, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(&p.name)
            .bind(&p.srv_name)
            .bind(p.ttl as i64)
            .bind(transports_to_string(&p.transports))
            .bind(at)
            .bind(actor)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
            pool_ids.insert(p.name.as_str(), id);
            for (i, m) in p.members.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO pool_members (pool_id, server_id, position, priority, weight, port) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(server_ids[m.server.as_str()])
                .bind(i as i64)
                .bind(m.priority as i64)
                .bind(m.weight as i64)
                .bind(m.port.map(i64::from))
                .execute(&mut *tx)
                .await?;
            }
        }
        for chunk in cluster.tenants.chunks(BATCH) {
            let mut sql = String::from(
                "INSERT INTO tenants (code, code_key, name, expected_phones, pool_id, notes, updated_at, updated_by) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 6;
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${}, '', ${}, $1)",
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7
                ));
            }
            let mut q = sqlx::query(&sql).bind(actor);
            for t in chunk {
                q = q
                    .bind(&t.code)
                    .bind(t.code.to_lowercase())
                    .bind(&t.name)
                    .bind(t.expected_phones as i64)
                    .bind(t.pool.as_deref().map(|p| pool_ids[p]))
                    .bind(at);
            }
            q.execute(&mut *tx).await?;
        }
        let summary = DemoSummary {
            servers: cluster.servers.len(),
            pools: cluster.pools.len(),
            tenants: cluster.tenants.len(),
            phones: cluster.total_phones(),
        };
        tx.record("demo-load", "cluster", "demo", None, snapshot(&summary))
            .await?;
        tx.commit().await?;
        Ok(summary)
    }
}

impl Store {
    /// Stores demo reports: the first round as if received `first_round_age` seconds ago, the
    /// others now. Servers named in a round must exist.
    pub async fn load_demo_registrations(
        &self,
        rounds: &[Round],
        first_round_age: i64,
    ) -> Result<u64> {
        let servers = self.servers().await?;
        let matcher = TenantMatcher::default();
        let mut contacts = 0;
        for (i, round) in rounds.iter().enumerate() {
            for (name, rows) in round {
                let Some(server) = servers.iter().find(|s| &s.name == name) else {
                    return Err(Error::NotFound {
                        kind: "server",
                        name: name.clone(),
                    });
                };
                // The gap between the old round and now is not a silence of the servers.
                let policy = IngestPolicy {
                    matcher: matcher.clone(),
                    stale_after_secs: if i == 0 { 900 } else { first_round_age + 3600 },
                    retention_secs: 30 * 86_400,
                };
                self.ingest(server.id, "demo", &rows[..], &policy, "demo")
                    .await?;
                contacts += rows.len() as u64;
            }
            if i == 0 && first_round_age > 0 {
                self.age_history(None, first_round_age).await?;
            }
        }
        // Two weeks of charts on a fresh start (issue 18), ending with these reports.
        self.load_demo_history(DEMO_HISTORY_DAYS).await?;
        Ok(contacts)
    }
}
