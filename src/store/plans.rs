//! Applying a rebalance plan: the chosen moves in one transaction, each refused if its tenant
//! changed since the plan was computed.

use sqlx::Row;

use super::audit::record;
use super::{Error, Result, Store, now};

/// One move of a plan as applied: the tenant at the version the plan saw, from and to pools.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlannedMove {
    pub tenant_id: i64,
    pub version: i64,
    pub from_pool: Option<i64>,
    pub to_pool: i64,
}

impl Store {
    /// Applies `moves` all together or not at all; the audit entries name the plan.
    pub async fn apply_plan(&self, plan: &str, moves: &[PlannedMove], actor: &str) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let at = now();
        for m in moves {
            let row = sqlx::query(
                "SELECT t.code, t.version, t.pool_id, p.name AS pool_name FROM tenants t LEFT JOIN pools p ON p.id = t.pool_id WHERE t.id = $1",
            )
            .bind(m.tenant_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::Conflict(format!("a tenant of plan {plan} was deleted since it was computed; compute the plan again")))?;
            let code: String = row.try_get("code")?;
            let version: i64 = row.try_get("version")?;
            let pool: Option<i64> = row.try_get("pool_id")?;
            if version != m.version || pool != m.from_pool {
                return Err(Error::Conflict(format!(
                    "tenant {code} changed since plan {plan} was computed (it is now at version {version}); nothing was applied — compute the plan again"
                )));
            }
            let to_name: Option<String> = sqlx::query("SELECT name FROM pools WHERE id = $1")
                .bind(m.to_pool)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("name"))
                .transpose()?;
            let Some(to_name) = to_name else {
                return Err(Error::Conflict(format!(
                    "a pool of plan {plan} was deleted; compute the plan again"
                )));
            };
            sqlx::query("UPDATE tenants SET pool_id = $1, version = version + 1, updated_at = $2, updated_by = $3 WHERE id = $4")
                .bind(m.to_pool)
                .bind(at)
                .bind(actor)
                .bind(m.tenant_id)
                .execute(&mut *tx)
                .await?;
            let before: Option<String> = row.try_get("pool_name")?;
            record(
                &mut tx,
                actor,
                &format!("plan {plan}"),
                "tenant",
                &code,
                Some(serde_json::json!({ "pool": before }).to_string()),
                Some(serde_json::json!({ "pool": to_name, "plan": plan }).to_string()),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(moves.len() as u64)
    }
}
