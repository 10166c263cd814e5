//! Tenant moves (see [`crate::domain::moves`]): started, superseded and ended in the same
//! transaction as the pool change that causes them, so every placement write (single and bulk
//! assign, tenant edit, plan apply, CSV import) keeps them right; completed or stalled by the
//! tracker; cancelled by an admin.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{AuditedTx, snapshot};
use super::versioned::TENANTS;
use super::{Bind, Error, Fields, Result, Store, now};
use crate::domain::ids::{MoveId, PoolId, TenantId};
use crate::domain::model::Tenant;
use crate::domain::moves::{
    MoveProgress, MoveState, OpenMove, on_pool_change, reason as end_reason,
};

/// The actor of the transitions nobody asked for (done, stalled).
pub const SYSTEM_ACTOR: &str = "system";

const MOVE_SELECT: &str = "SELECT m.*, t.code AS tenant_code FROM tenant_moves m \
     JOIN tenants t ON t.id = m.tenant_id";

/// One tenant move as stored.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TenantMove {
    pub id: MoveId,
    pub tenant_id: TenantId,
    pub tenant: String,
    pub from_pool_id: Option<PoolId>,
    pub to_pool_id: Option<PoolId>,
    pub from_pool: String,
    pub to_pool: String,
    pub started_at: i64,
    pub started_by: String,
    pub phones_at_start: u64,
    pub state: MoveState,
    pub end_reason: Option<String>,
    pub ended_at: Option<i64>,
    pub ended_by: Option<String>,
    /// Progress as last measured by the tracker.
    pub progress: MoveProgress,
    pub version: i64,
}

fn move_from_row(r: &AnyRow) -> Result<TenantMove> {
    let f = Fields::new(r, "tenant_moves")?;
    Ok(TenantMove {
        id: MoveId::new(f.id()),
        tenant_id: f.get("tenant_id")?,
        tenant: f.get("tenant_code")?,
        from_pool_id: f.get("from_pool_id")?,
        to_pool_id: f.get("to_pool_id")?,
        from_pool: f.get("from_pool")?,
        to_pool: f.get("to_pool")?,
        started_at: f.get("started_at")?,
        started_by: f.get("started_by")?,
        phones_at_start: f.int("phones_at_start", f.get("phones_at_start")?)?,
        state: f.parse("state", MoveState::parse)?,
        end_reason: f.get("end_reason")?,
        ended_at: f.get("ended_at")?,
        ended_by: f.get("ended_by")?,
        progress: MoveProgress {
            at_new_home: f.int("at_new_home", f.get("at_new_home")?)?,
            registered: f.int("registered", f.get("registered")?)?,
        },
        version: f.get("version")?,
    })
}

#[derive(Serialize)]
struct MoveSnapshot<'a> {
    from: &'a str,
    to: &'a str,
    state: &'a str,
    reason: Option<&'a str>,
    phones: u64,
}

fn move_snapshot(
    from: &str,
    to: &str,
    state: MoveState,
    reason: Option<&str>,
    phones: u64,
) -> Option<String> {
    snapshot(&MoveSnapshot {
        from,
        to,
        state: state.as_str(),
        reason,
        phones,
    })
}

async fn open_move(conn: &mut sqlx::AnyConnection, tenant: TenantId) -> Result<Option<TenantMove>> {
    let row = sqlx::query(&format!(
        "{MOVE_SELECT} WHERE m.tenant_id = $1 AND m.state IN ('moving', 'stalled')"
    ))
    .bind(tenant)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(move_from_row).transpose()
}

async fn pool_name(conn: &mut sqlx::AnyConnection, id: PoolId) -> Result<String> {
    let row = sqlx::query("SELECT name FROM pools WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::NotFound {
            kind: "pool",
            name: id.to_string(),
        })?;
    Ok(row.try_get("name")?)
}

/// Ends `m` as cancelled for `reason`, audited on its tenant.
async fn end_move(tx: &mut AuditedTx, m: &TenantMove, reason: &str) -> Result<()> {
    sqlx::query(
        "UPDATE tenant_moves SET state = 'cancelled', end_reason = $1, ended_at = $2, \
         ended_by = $3, version = version + 1 WHERE id = $4",
    )
    .bind(reason)
    .bind(now())
    .bind(tx.actor().to_string())
    .bind(m.id)
    .execute(&mut **tx)
    .await?;
    tx.record(
        "move-cancelled",
        "tenant",
        &m.tenant,
        move_snapshot(&m.from_pool, &m.to_pool, m.state, None, m.phones_at_start),
        move_snapshot(
            &m.from_pool,
            &m.to_pool,
            MoveState::Cancelled,
            Some(reason),
            m.phones_at_start,
        ),
    )
    .await
}

/// Starts, supersedes or ends the moves of tenant `tenant_id` (`code`) whose pool just changed
/// from `before` to `after` in `tx` (see [`on_pool_change`]). Every placement write calls it
/// in its own transaction, after writing the pool.
pub(super) async fn pool_changed(
    tx: &mut AuditedTx,
    tenant_id: TenantId,
    code: &str,
    before: Option<PoolId>,
    after: Option<PoolId>,
) -> Result<()> {
    if before == after {
        return Ok(());
    }
    let open = open_move(tx, tenant_id).await?;
    let registered: i64 = sqlx::query(
        "SELECT CAST(COALESCE(SUM(phones), 0) AS BIGINT) AS n FROM tenant_server_counts \
         WHERE tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_one(&mut **tx)
    .await?
    .try_get("n")?;
    let registered = registered.max(0) as u64;
    let decision = on_pool_change(
        before,
        after,
        open.as_ref().map(|m| OpenMove {
            from_pool: m.from_pool_id,
        }),
        registered,
    );
    if let (Some(reason), Some(m)) = (decision.end_open, &open) {
        end_move(tx, m, reason).await?;
    }
    if let Some((from, to)) = decision.start {
        let from_name = match open.as_ref().filter(|m| m.from_pool_id == Some(from)) {
            Some(m) => m.from_pool.clone(),
            None => pool_name(tx, from).await?,
        };
        let to_name = pool_name(tx, to).await?;
        let actor = tx.actor().to_string();
        sqlx::query(
            "INSERT INTO tenant_moves (tenant_id, from_pool_id, to_pool_id, from_pool, to_pool, \
             started_at, started_by, phones_at_start, state, registered) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'moving', $8)",
        )
        .bind(tenant_id)
        .bind(from)
        .bind(to)
        .bind(&from_name)
        .bind(&to_name)
        .bind(now())
        .bind(&actor)
        .bind(registered as i64)
        .execute(&mut **tx)
        .await?;
        tx.record(
            "move-started",
            "tenant",
            code,
            None,
            move_snapshot(&from_name, &to_name, MoveState::Moving, None, registered),
        )
        .await?;
    }
    Ok(())
}

/// Which moves a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MoveFilter {
    #[default]
    InFlight,
    State(MoveState),
    All,
}

impl Store {
    /// A page of moves (newest first) and how many match.
    pub async fn moves(
        &self,
        filter: MoveFilter,
        page: u32,
        per_page: u32,
    ) -> Result<(Vec<TenantMove>, u64)> {
        let (clause, bind) = match filter {
            MoveFilter::InFlight => ("m.state IN ('moving', 'stalled')", None),
            MoveFilter::State(s) => ("m.state = $1", Some(s.as_str())),
            MoveFilter::All => ("1 = 1", None),
        };
        let per_page = per_page.clamp(1, 500);
        let offset = u64::from(page.max(1) - 1) * u64::from(per_page);
        let list = format!(
            "{MOVE_SELECT} WHERE {clause} ORDER BY m.started_at DESC, m.id DESC \
             LIMIT {per_page} OFFSET {offset}"
        );
        let count = format!("SELECT COUNT(*) AS n FROM tenant_moves m WHERE {clause}");
        let mut q = sqlx::query(&list);
        let mut c = sqlx::query(&count);
        if let Some(s) = bind {
            q = q.bind(s);
            c = c.bind(s);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let total: i64 = c.fetch_one(&self.pool).await?.try_get("n")?;
        let moves = rows.iter().map(move_from_row).collect::<Result<_>>()?;
        Ok((moves, total.max(0) as u64))
    }

    /// Every move in flight (moving or stalled).
    pub async fn moves_in_flight(&self) -> Result<Vec<TenantMove>> {
        let rows = sqlx::query(&format!(
            "{MOVE_SELECT} WHERE m.state IN ('moving', 'stalled') ORDER BY m.id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(move_from_row).collect()
    }

    /// How many moves there are in each state.
    pub async fn move_counts(&self) -> Result<Vec<(MoveState, u64)>> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM tenant_moves GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        let mut counts: Vec<(MoveState, u64)> = MoveState::ALL.iter().map(|s| (*s, 0)).collect();
        for r in &rows {
            let state: String = r.try_get("state")?;
            let n: i64 = r.try_get("n")?;
            if let Ok(state) = MoveState::parse(&state)
                && let Some(slot) = counts.iter_mut().find(|(s, _)| *s == state)
            {
                slot.1 = n.max(0) as u64;
            }
        }
        Ok(counts)
    }

    /// The tenant's newest move (in flight or ended), if it ever moved.
    pub async fn latest_move(&self, tenant_id: TenantId) -> Result<Option<TenantMove>> {
        let row = sqlx::query(&format!(
            "{MOVE_SELECT} WHERE m.tenant_id = $1 ORDER BY m.id DESC LIMIT 1"
        ))
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(move_from_row).transpose()
    }

    pub async fn tenant_move_by_id(&self, id: MoveId) -> Result<TenantMove> {
        let row = sqlx::query(&format!("{MOVE_SELECT} WHERE m.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "move",
                name: id.to_string(),
            })?;
        move_from_row(&row)
    }

    /// Records the tracker's measure of a move in flight and, when `next` is given, its new
    /// state (done or stalled; audited on the tenant by [`SYSTEM_ACTOR`]). Written only if the
    /// move is still at `version`: returns whether it was.
    pub async fn record_move_progress(
        &self,
        m: &TenantMove,
        progress: MoveProgress,
        next: Option<MoveState>,
    ) -> Result<bool> {
        let Some(next) = next else {
            if progress == m.progress {
                return Ok(true);
            }
            // Figures only: nothing cached depends on them, no audit entry.
            let n = sqlx::query(
                "UPDATE tenant_moves SET at_new_home = $1, registered = $2 \
                 WHERE id = $3 AND version = $4",
            )
            .bind(progress.at_new_home as i64)
            .bind(progress.registered as i64)
            .bind(m.id)
            .bind(m.version)
            .execute(&self.pool)
            .await?
            .rows_affected();
            return Ok(n > 0);
        };
        let mut tx = self.audited(SYSTEM_ACTOR).await?;
        let ended = next == MoveState::Done;
        let n = sqlx::query(
            "UPDATE tenant_moves SET state = $1, at_new_home = $2, registered = $3, \
             end_reason = $4, ended_at = $5, ended_by = $6, version = version + 1 \
             WHERE id = $7 AND version = $8",
        )
        .bind(next.as_str())
        .bind(progress.at_new_home as i64)
        .bind(progress.registered as i64)
        .bind(ended.then_some(end_reason::DONE))
        .bind(ended.then(now))
        .bind(ended.then_some(SYSTEM_ACTOR))
        .bind(m.id)
        .bind(m.version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        tx.record(
            &format!("move-{}", next.as_str()),
            "tenant",
            &m.tenant,
            move_snapshot(
                &m.from_pool,
                &m.to_pool,
                m.state,
                None,
                m.progress.registered,
            ),
            move_snapshot(
                &m.from_pool,
                &m.to_pool,
                next,
                ended.then_some(end_reason::DONE),
                progress.registered,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Cancels the move `id` in flight: its tenant goes back to the move's old pool, if the
    /// tenant is still at `tenant_version` (audited). Returns the tenant as it is now.
    pub async fn cancel_move(
        &self,
        id: MoveId,
        tenant_version: i64,
        actor: &str,
    ) -> Result<(TenantMove, Tenant)> {
        let mut tx = self.audited(actor).await?;
        let row = sqlx::query(&format!("{MOVE_SELECT} WHERE m.id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "move",
                name: id.to_string(),
            })?;
        let m = move_from_row(&row)?;
        if !m.state.in_flight() {
            return Err(Error::Conflict(format!(
                "the move of tenant {} from {} to {} is already {}; nothing was changed",
                m.tenant,
                m.from_pool,
                m.to_pool,
                m.state.label()
            )));
        }
        let Some(back) = m.from_pool_id else {
            return Err(Error::Conflict(format!(
                "pool {} was deleted since the move of tenant {} started: there is no pool to \
                 put it back in; assign it a pool on its page instead",
                m.from_pool, m.tenant
            )));
        };
        let before = super::tenants::current_tenant(&mut tx, m.tenant_id).await?;
        TENANTS
            .update(
                &mut tx,
                &Bind::Int(m.tenant_id.get()),
                tenant_version,
                actor,
                &[("pool_id", Bind::Int(back.get()))],
            )
            .await?;
        end_move(&mut tx, &m, end_reason::CANCELLED).await?;
        let after = super::tenants::current_tenant(&mut tx, m.tenant_id).await?;
        tx.record(
            "assign",
            "tenant",
            &after.code,
            super::tenants::tenant_snapshot(&before),
            super::tenants::tenant_snapshot(&after),
        )
        .await?;
        tx.commit().await?;
        let m = self.tenant_move_by_id(id).await?;
        Ok((m, after))
    }
}
