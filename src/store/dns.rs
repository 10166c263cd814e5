//! Stored DNS check results, and job leases for background work shared by several instances.

use sqlx::Row;

use super::{Fields, Result, Store, now};
use crate::domain::dnscheck::CheckReport;

/// A stored DNS check: its report and who ran it.
#[derive(Debug, Clone)]
pub struct StoredCheck {
    pub report: CheckReport,
    pub actor: String,
}

/// How many check results are kept.
const KEEP_CHECKS: i64 = 500;

impl Store {
    pub async fn save_dns_check(&self, report: &CheckReport, actor: &str) -> Result<i64> {
        let json =
            serde_json::to_string(report).map_err(|e| super::Error::Conflict(e.to_string()))?;
        let mut tx = self.begin_write().await?;
        // Ids in commit order, so "the newest check" is the last one to commit.
        self.serialise(&mut tx, super::LockKind::DnsCheck, 0)
            .await?;
        let id: i64 = sqlx::query("INSERT INTO dns_checks (at, exit_code, report, actor) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(report.at)
            .bind(report.exit_code() as i64)
            .bind(json)
            .bind(actor)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
        // A pool seen in sync has its new records out: the wait for the old ones' TTL starts.
        for pool in report
            .pools
            .iter()
            .filter(|p| p.status == crate::domain::dnscheck::PoolStatus::InSync)
        {
            sqlx::query(
                "UPDATE pool_changes SET synced_at = $1 WHERE synced_at IS NULL AND changed_at <= $1 \
                 AND pool_id = (SELECT id FROM pools WHERE name = $2)",
            )
            .bind(report.at)
            .bind(&pool.pool)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM dns_checks WHERE id <= $1")
            .bind(id - KEEP_CHECKS)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The newest check and who ran it.
    pub async fn latest_dns_check(&self) -> Result<Option<StoredCheck>> {
        let row = sqlx::query("SELECT id, report, actor FROM dns_checks ORDER BY id DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let f = Fields::new(&row, "dns_checks")?;
        // A report that no longer parses is not "no check yet": that would hide the DNS drift
        // alert the newest check feeds.
        let report = f.parse("report", |text| {
            serde_json::from_str(text).map_err(|e| e.to_string())
        })?;
        Ok(Some(StoredCheck {
            report,
            actor: f.get("actor")?,
        }))
    }

    /// Takes or renews the lease `name` for `holder` for `secs` seconds. True when this holder
    /// has it: with several instances on one database only the holder runs the job.
    pub async fn try_lease(&self, name: &str, holder: &str, secs: i64) -> Result<bool> {
        let at = now();
        // One conditional statement: the row is taken only when it is free, expired or already
        // ours. A read followed by an update would let two instances both see the same expired
        // lease under READ COMMITTED and both take it.
        let taken = sqlx::query(
            "INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE job_leases.expires_at < $4 OR job_leases.holder = excluded.holder",
        )
        .bind(name)
        .bind(holder)
        .bind(at + secs)
        .bind(at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(taken == 1)
    }
}
