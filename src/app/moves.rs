//! Tenant moves as use cases: their progress against the new pool's home servers, the tracker
//! that ends them done or marks them stalled, cancelling, the lists, and the facts the alert
//! rules read (see [`crate::domain::moves`]). Moves start in the store, in the transaction of
//! every pool change.

use std::collections::HashMap;

use serde::Serialize;

use super::cluster::{self, ClusterView};
use super::{App, Result, Seen};
use crate::domain::ids::{MoveId, ServerId, TenantId};
use crate::domain::model::{Pool, Tenant};
use crate::domain::moves::{MoveFacts, MoveProgress, MoveState, next_state, past_deadline};
use crate::store::{MoveFilter, PhoneRow, TenantMove};

/// How many phones still on the old servers a stalled move's alert names.
const NAMED_WAITING: u32 = 20;

/// The figures of a move measured now: phones on the new pool's home servers and registered.
fn measure(view: &ClusterView, m: &TenantMove, counts: &HashMap<ServerId, u64>) -> MoveProgress {
    let home: &[ServerId] = m
        .to_pool_id
        .and_then(|p| view.home_sets.get(&p))
        .map(Vec::as_slice)
        .unwrap_or_default();
    MoveProgress {
        at_new_home: counts
            .iter()
            .filter(|(s, _)| home.contains(s))
            .map(|(_, n)| *n)
            .sum(),
        registered: counts.values().sum(),
    }
}

/// What one pass of the tracker changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tracked {
    pub done: u64,
    pub stalled: u64,
}

/// Measures every move in flight at `now`: ends those complete as done and marks those past
/// the deadline (Settings) stalled. Each write is conditional on the move's version, so two
/// instances tracking at once change a move once.
pub async fn track(app: &App, now: i64) -> Result<Tracked> {
    let moves = app.store().moves_in_flight().await?;
    let mut out = Tracked::default();
    if moves.is_empty() {
        return Ok(out);
    }
    let view = cluster::load(app, Seen::default()).await?;
    let deadline = view.settings.move_deadline_secs();
    let normal = view.settings.alerts.normal_away_share;
    for m in &moves {
        let counts = app.store().tenant_phones_by_server(m.tenant_id).await?;
        let progress = measure(&view, m, &counts);
        let next = next_state(m.state, m.started_at, progress, now, deadline, normal);
        if app.store().record_move_progress(m, progress, next).await? {
            match next {
                Some(MoveState::Done) => out.done += 1,
                Some(MoveState::Stalled) => out.stalled += 1,
                _ => {}
            }
        }
    }
    Ok(out)
}

/// [`track`] after a change that may move phones (a report stored): failures are logged, never
/// the caller's.
pub async fn track_quietly(app: &App) {
    if let Err(e) = track(app, jiff::Timestamp::now().as_second()).await {
        tracing::warn!(error = %e, "tracking tenant moves failed");
    }
}

/// Cancels move `id`: its tenant goes back to the old pool if still at `tenant_version`.
pub async fn cancel(
    app: &App,
    id: MoveId,
    tenant_version: i64,
    actor: &str,
) -> Result<(TenantMove, Tenant)> {
    Ok(app.store().cancel_move(id, tenant_version, actor).await?)
}

/// The impact preview of cancelling move `id`: its tenant put back in the move's old pool.
/// A move no longer in flight, or whose old pool was deleted, is refused (409) as cancelling
/// it would be.
pub async fn cancel_preview(
    app: &App,
    id: MoveId,
    seen: Seen,
) -> Result<(TenantMove, Tenant, crate::domain::impact::Impact)> {
    let m = app.store().tenant_move_by_id(id).await?;
    if !m.state.in_flight() {
        return Err(super::Error::Conflict(format!(
            "the move of tenant {} from {} to {} is already {}; nothing was changed",
            m.tenant,
            m.from_pool,
            m.to_pool,
            m.state.label()
        )));
    }
    let Some(back) = m.from_pool_id else {
        return Err(super::Error::Conflict(format!(
            "pool {} was deleted since the move of tenant {} started: there is no pool to put \
             it back in; assign it a pool on its page instead",
            m.from_pool, m.tenant
        )));
    };
    let tenant = app.store().tenant(m.tenant_id).await?;
    let impact = super::impact::preview_assign(app, &[(tenant.id, Some(back))], seen).await?;
    Ok((m, tenant, impact))
}

/// The moves in flight as the alert rules see them, by tenant: the old pool's home servers,
/// whether the move is stalled (its state, or past the deadline at `now`) and, when stalled,
/// some of the phones still on the old servers.
pub async fn facts(
    app: &App,
    view: &ClusterView,
    now: i64,
) -> Result<HashMap<TenantId, MoveFacts>> {
    let mut out = HashMap::new();
    let deadline = view.settings.move_deadline_secs();
    for m in app.store().moves_in_flight().await? {
        let stalled = m.state == MoveState::Stalled || past_deadline(m.started_at, now, deadline);
        let old_home: Vec<ServerId> = m
            .from_pool_id
            .and_then(|p| view.home_sets.get(&p))
            .cloned()
            .unwrap_or_default();
        let waiting = if stalled {
            waiting_phones(app, view, &m, NAMED_WAITING)
                .await?
                .into_iter()
                .filter(|p| old_home.contains(&p.server_id))
                .map(|p| p.endpoint)
                .collect()
        } else {
            Vec::new()
        };
        out.insert(
            m.tenant_id,
            MoveFacts {
                from_pool: m.from_pool.clone(),
                old_home_servers: view.home_names(m.from_pool_id),
                started_at: m.started_at,
                stalled,
                deadline_secs: deadline,
                waiting,
            },
        );
    }
    Ok(out)
}

/// The tenant's move in flight as the placement rules see it (without naming phones).
pub async fn tenant_facts(
    app: &App,
    view: &ClusterView,
    tenant: TenantId,
) -> Result<Option<MoveFacts>> {
    let Some(m) = app
        .store()
        .latest_move(tenant)
        .await?
        .filter(|m| m.state.in_flight())
    else {
        return Ok(None);
    };
    let deadline = view.settings.move_deadline_secs();
    Ok(Some(MoveFacts {
        from_pool: m.from_pool.clone(),
        old_home_servers: view.home_names(m.from_pool_id),
        started_at: m.started_at,
        stalled: m.state == MoveState::Stalled,
        deadline_secs: deadline,
        waiting: Vec::new(),
    }))
}

/// Phones of the move's tenant not on a home server of the new pool (at most `limit`).
async fn waiting_phones(
    app: &App,
    view: &ClusterView,
    m: &TenantMove,
    limit: u32,
) -> Result<Vec<PhoneRow>> {
    let home: Vec<ServerId> = m
        .to_pool_id
        .and_then(|p| view.home_sets.get(&p))
        .cloned()
        .unwrap_or_default();
    Ok(app.store().tenant_phones(m.tenant_id, &home, limit).await?)
}

/// A move with its progress (measured now for a move in flight, as recorded for one ended).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TenantMoveRow {
    #[serde(flatten)]
    pub m: TenantMove,
    /// Seconds since it started (until it ended, for one ended).
    pub age_secs: i64,
    pub percent: u32,
}

impl TenantMoveRow {
    fn new(m: TenantMove, now: i64) -> Self {
        let until = m.ended_at.unwrap_or(now);
        Self {
            age_secs: until.saturating_sub(m.started_at).max(0),
            percent: m.progress.percent(),
            m,
        }
    }
}

/// One page of moves, as the Moves page and the API list them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TenantMovePage {
    pub rows: Vec<TenantMoveRow>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// A page of moves (newest first); the progress of those in flight is measured now.
pub async fn list(
    app: &App,
    filter: MoveFilter,
    page: u32,
    per_page: u32,
) -> Result<TenantMovePage> {
    let now = jiff::Timestamp::now().as_second();
    let (moves, total) = app.store().moves(filter, page, per_page).await?;
    let view = if moves.iter().any(|m| m.state.in_flight()) {
        Some(cluster::load(app, Seen::default()).await?)
    } else {
        None
    };
    let mut rows = Vec::with_capacity(moves.len());
    for mut m in moves {
        if let (true, Some(view)) = (m.state.in_flight(), &view) {
            let counts = app.store().tenant_phones_by_server(m.tenant_id).await?;
            m.progress = measure(view, &m, &counts);
        }
        rows.push(TenantMoveRow::new(m, now));
    }
    Ok(TenantMovePage {
        rows,
        total,
        page: page.max(1),
        per_page,
    })
}

/// One move with its progress (measured now for a move in flight), for its own page.
pub async fn one(app: &App, id: MoveId, seen: Seen) -> Result<TenantMoveRow> {
    let mut m = app.store().tenant_move_by_id(id).await?;
    if m.state.in_flight() {
        let view = cluster::load(app, seen).await?;
        let counts = app.store().tenant_phones_by_server(m.tenant_id).await?;
        m.progress = measure(&view, &m, &counts);
    }
    Ok(TenantMoveRow::new(m, jiff::Timestamp::now().as_second()))
}

/// What to configure on the phones: an SRV owner name of the new pool per transport.
#[derive(Debug, Clone, Serialize)]
pub struct SrvToConfigure {
    pub transport: String,
    /// The name the phone's SIP server is set to (the pool's owner).
    pub name: String,
    /// The SRV record that name resolves through.
    pub srv: String,
}

/// A tenant's move as its page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct MovePanel {
    pub row: TenantMoveRow,
    /// The tenant's version, for the cancel form.
    pub tenant_version: i64,
    pub configure: Vec<SrvToConfigure>,
    /// Phones not on the new pool's home servers yet (at most 200).
    pub waiting: Vec<PhoneRow>,
    /// Server name → its newest report (Unix seconds): when the waiting phones were last seen.
    pub last_seen: HashMap<String, i64>,
}

/// The tenant's move in flight, or its newest move if that ended within the last week.
pub async fn panel(
    app: &App,
    tenant: &Tenant,
    pools: &[Pool],
    seen: Seen,
) -> Result<Option<MovePanel>> {
    let Some(mut m) = app.store().latest_move(tenant.id).await? else {
        return Ok(None);
    };
    let now = jiff::Timestamp::now().as_second();
    if !m.state.in_flight() && m.ended_at.is_some_and(|at| now - at > 7 * 86_400) {
        return Ok(None);
    }
    let view = cluster::load(app, seen).await?;
    let mut waiting = Vec::new();
    if m.state.in_flight() {
        let counts = app.store().tenant_phones_by_server(m.tenant_id).await?;
        m.progress = measure(&view, &m, &counts);
        waiting = waiting_phones(app, &view, &m, 200).await?;
    }
    let configure = m
        .to_pool_id
        .and_then(|id| pools.iter().find(|p| p.id == id))
        .map(|p| {
            p.transports
                .iter()
                .map(|t| SrvToConfigure {
                    transport: t.to_string(),
                    name: p.srv_name.to_string(),
                    srv: format!("{}.{}", t.service_prefix(), p.srv_name),
                })
                .collect()
        })
        .unwrap_or_default();
    let last_seen = view
        .stats
        .iter()
        .filter_map(|s| s.last_report_at.map(|at| (s.server.clone(), at)))
        .collect();
    Ok(Some(MovePanel {
        row: TenantMoveRow::new(m, now),
        tenant_version: tenant.version,
        configure,
        waiting,
        last_seen,
    }))
}

/// Moves in flight per state and phones awaiting re-provisioning (not at the new home yet),
/// for the metrics.
pub async fn gauges(app: &App) -> Result<(Vec<(MoveState, u64)>, u64)> {
    let counts = app.store().move_counts().await?;
    let moves = app.store().moves_in_flight().await?;
    let mut waiting = 0;
    if !moves.is_empty() {
        let view = cluster::load(app, Seen::default()).await?;
        for m in &moves {
            let counts = app.store().tenant_phones_by_server(m.tenant_id).await?;
            waiting += measure(&view, m, &counts).waiting();
        }
    }
    Ok((counts, waiting))
}

/// A tenant's newest move as the API's tenant shows it (`"move"`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MoveSummary {
    pub id: MoveId,
    pub from: String,
    pub to: String,
    pub state: MoveState,
    /// Unix seconds.
    pub started: i64,
    /// Phones on the new pool's home servers (now, for a move in flight).
    pub at_new_home: u64,
    /// Phones registered (now, for a move in flight).
    pub registered: u64,
}

/// The tenant's newest move, if it ever moved; the progress of one in flight measured now.
pub async fn summary(app: &App, tenant: TenantId, seen: Seen) -> Result<Option<MoveSummary>> {
    let Some(mut m) = app.store().latest_move(tenant).await? else {
        return Ok(None);
    };
    if m.state.in_flight() {
        let view = cluster::load(app, seen).await?;
        let counts = app.store().tenant_phones_by_server(m.tenant_id).await?;
        m.progress = measure(&view, &m, &counts);
    }
    Ok(Some(MoveSummary {
        id: m.id,
        from: m.from_pool,
        to: m.to_pool,
        state: m.state,
        started: m.started_at,
        at_new_home: m.progress.at_new_home,
        registered: m.progress.registered,
    }))
}
