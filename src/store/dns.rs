//! Stored DNS check results, and job leases for background work shared by several instances.

use sqlx::Row;

use super::{Fields, Result, Store, now};
use crate::domain::dnscheck::CheckReport;

/// How many check results are kept.
const KEEP_CHECKS: i64 = 500;

impl Store {
    pub async fn save_dns_check(&self, report: &CheckReport, actor: &str) -> Result<i64> {
        let json =
            serde_json::to_string(report).map_err(|e| super::Error::Conflict(e.to_string()))?;
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query("INSERT INTO dns_checks (at, exit_code, report, actor) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(report.at)
            .bind(report.exit_code() as i64)
            .bind(json)
            .bind(actor)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
        sqlx::query("DELETE FROM dns_checks WHERE id <= $1")
            .bind(id - KEEP_CHECKS)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The newest check and who ran it.
    pub async fn latest_dns_check(&self) -> Result<Option<(CheckReport, String)>> {
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
        Ok(Some((report, f.get("actor")?)))
    }

    /// Takes or renews the lease `name` for `holder` for `secs` seconds. True when this holder
    /// has it: with several instances on one database only the holder runs the job.
    pub async fn try_lease(&self, name: &str, holder: &str, secs: i64) -> Result<bool> {
        let at = now();
        let mut tx = self.begin_write().await?;
        let current = sqlx::query("SELECT holder, expires_at FROM job_leases WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        let mine = match current {
            None => {
                sqlx::query(
                    "INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, $2, $3)",
                )
                .bind(name)
                .bind(holder)
                .bind(at + secs)
                .execute(&mut *tx)
                .await?;
                true
            }
            Some(r) => {
                let h: String = r.try_get("holder")?;
                let exp: i64 = r.try_get("expires_at")?;
                if h == holder || exp < at {
                    sqlx::query(
                        "UPDATE job_leases SET holder = $1, expires_at = $2 WHERE name = $3",
                    )
                    .bind(holder)
                    .bind(at + secs)
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                    true
                } else {
                    false
                }
            }
        };
        tx.commit().await?;
        Ok(mine)
    }
}
