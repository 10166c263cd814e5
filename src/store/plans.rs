//! Applying a rebalance plan: the chosen moves in one transaction, each refused if its tenant
//! changed since the plan was computed.

use crate::domain::ids::{PoolId, TenantId};
use sqlx::Row;

use super::versioned::{Refused, TENANTS};
use super::{Bind, Error, Result, Store};

/// One move of a plan as applied: the tenant at the version the plan saw, from and to pools.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlannedMove {
    pub tenant_id: TenantId,
    pub version: i64,
    pub from_pool: Option<PoolId>,
    pub to_pool: PoolId,
}

impl Store {
    /// Applies `moves` all together or not at all; the audit entries name the plan. Each move
    /// is a conditional write at the version the plan saw.
    pub async fn apply_plan(&self, plan: &str, moves: &[PlannedMove], actor: &str) -> Result<u64> {
        let deleted = || {
            Error::Conflict(format!(
                "a tenant of plan {plan} was deleted since it was computed; compute the plan again"
            ))
        };
        let changed = |code: &str, version: i64| {
            Error::Conflict(format!(
                "tenant {code} changed since plan {plan} was computed (it is now at version {version}); nothing was applied — compute the plan again"
            ))
        };
        let mut tx = self.audited(actor).await?;
        for m in moves {
            let row = sqlx::query(
                "SELECT t.code, t.version, t.pool_id, p.name AS pool_name FROM tenants t LEFT JOIN pools p ON p.id = t.pool_id WHERE t.id = $1",
            )
            .bind(m.tenant_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(deleted)?;
            let code: String = row.try_get("code")?;
            let pool: Option<PoolId> = row.try_get("pool_id")?;
            if pool != m.from_pool {
                return Err(changed(&code, row.try_get("version")?));
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
            let refused = TENANTS
                .try_update(
                    &mut tx,
                    &Bind::Int(m.tenant_id.get()),
                    m.version,
                    actor,
                    &[("pool_id", Bind::Int(m.to_pool.get()))],
                )
                .await?;
            match refused {
                None => {}
                Some(Refused::Stale { version, .. }) => return Err(changed(&code, version)),
                Some(Refused::Gone) => return Err(deleted()),
            }
            super::moves::pool_changed(&mut tx, m.tenant_id, &code, pool, Some(m.to_pool)).await?;
            let before: Option<String> = row.try_get("pool_name")?;
            tx.record(
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
