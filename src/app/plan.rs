//! The rebalance planner as a use case: build the planner's input from the inventory, run it
//! and the LPT baseline, and apply all or chosen moves in one transaction, refusing a plan
//! whose inventory changed since it was computed.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt::Write as _;

use super::{App, Error, Result};
use crate::domain::FieldErrors;
use crate::domain::ids::{PoolId, TenantId};
use crate::domain::impact::{AboveWarning, Impact};
use crate::domain::model::{Pool, Server};
use crate::domain::placement::{
    Newcomers, Plan, PlanInput, PlanPool, PlanServer, PlanTenant, WarningFloor, default_budget,
    lpt_baseline, plan_staged, warning_floor, warning_score,
};
use crate::domain::projection::{
    PoolHome, PoolRef, ServerRef, n_minus_one, pool_home, pool_server_shares,
};
use crate::domain::srv::ClientModel;
use crate::store::{PlannedMove, TenantPlacement};

/// What the admin asks for.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
#[schema(example = json!({"budget_pct": 30.0, "counts": "expected", "pins": ["CANISTRACCI"], "place_all": false}))]
pub struct PlanRequest {
    /// Phones moved at most, as a percentage of all phones.
    #[schema(minimum = 0.0, maximum = 100.0)]
    pub budget_pct: f64,
    /// `expected` (the tenants' expected phones) or `registered` (phones in the latest reports).
    #[schema(value_type = PlanCounts)]
    pub counts: String,
    /// Tenant codes that must stay in their pool.
    pub pins: Vec<String>,
    /// Place every tenant without a pool, wherever it raises the worst utilisation least (the
    /// old behaviour). By default (false) they are placed largest first, each only where every
    /// server stays under the warning level in every single failure; the rest are listed in
    /// `not_placed`.
    pub place_all: bool,
}

impl Default for PlanRequest {
    fn default() -> Self {
        Self {
            budget_pct: 30.0,
            counts: "expected".into(),
            pins: Vec::new(),
            place_all: false,
        }
    }
}

/// The values of [`PlanRequest::counts`], for the OpenAPI document.
pub struct PlanCounts;

impl utoipa::PartialSchema for PlanCounts {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(["expected", "registered"]))
            .into()
    }
}

impl utoipa::ToSchema for PlanCounts {}

/// A computed plan with everything needed to show and apply it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanOutcome {
    /// Names the plan in the audit log; also proves on apply that the inventory is unchanged.
    pub id: String,
    pub request: PlanRequest,
    pub servers: Vec<String>,
    pub capacities: Vec<f64>,
    pub scenarios: Vec<String>,
    /// Servers left out of the objective because they have no capacity.
    pub uncapped: Vec<String>,
    /// Pools that receive no tenants, each with the reason (no failover, or multi-primary while
    /// Settings does not allow those). Tenants already in one may stay.
    pub closed_pools: Vec<ClosedPool>,
    /// Whether Settings lets the plan move tenants into multi-primary pools.
    pub multi_primary_allowed: bool,
    /// (server, scenario) cells above the warning level.
    pub cells_above: CellsAbove,
    /// What the plan could not bring under the warning level, and why, in words (one entry per
    /// server or pair of servers that back each other up).
    pub could_not_fix: Vec<CouldNotFix>,
    /// Phones of capacity missing to bring every server under the warning level with this plan
    /// (Σ of `could_not_fix`; 0 when it leaves none above).
    pub capacity_missing_phones: u64,
    /// Tenants without a pool that the plan leaves without one: no pool has room for them under
    /// the warning level (empty with `place_all`).
    pub not_placed: Vec<NotPlacedRow>,
    pub plan: Plan,
    pub lpt_value: f64,
    pub total_phones: u64,
    pub budget: u64,
    pub moves: Vec<MoveRow>,
    /// The plan's impact per server with the tenants' expected phones, as the overview shows it
    /// (`per_server`, `warning_level`, `crossings`: the shape every impact preview shares).
    #[serde(flatten)]
    pub impact: Impact,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MoveRow {
    pub tenant: String,
    pub tenant_id: TenantId,
    pub version: i64,
    pub from: Option<String>,
    pub to: String,
    pub from_pool: Option<PoolId>,
    pub to_pool: PoolId,
    pub phones: u64,
    /// When `to` is a multi-primary pool (only with Settings' permission): the expected share
    /// of the tenant's phones off its fullest server, the split the pool causes by design.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_share: Option<f64>,
}

/// (server, scenario) cells above the warning level: now, after a plan that minimises only the
/// worst utilisation (stage 1), and after the plan (stage 1, then fewer cells above the warning
/// level, less excess, fewer phones moved).
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct CellsAbove {
    pub before: usize,
    pub worst_only: usize,
    pub after: usize,
    /// Certified: every plan that keeps this plan's worst utilisation leaves at least this many
    /// cells above the warning level (so `after - forced` at most were left by the search).
    pub forced: usize,
}

/// Servers the plan leaves above the warning level, with the reason and the capacity missing.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CouldNotFix {
    /// One server, or two that take each other's phones when one of them is down.
    pub servers: Vec<String>,
    pub reason: String,
    /// Phones of capacity to add to these servers to bring them under the warning level.
    pub capacity_missing_phones: u64,
    /// Whether a certified floor puts (one of) them above the warning level in every plan that
    /// keeps the worst utilisation (see `per_server[].above_warning`).
    pub forced: bool,
}

/// A tenant left without a pool.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NotPlacedRow {
    pub tenant: String,
    pub phones: u64,
    /// Phones of capacity that would let this tenant in under the warning level (added to the
    /// servers of the pool that needs least, including what they lack already).
    pub capacity_missing_phones: u64,
    pub reason: String,
}

/// A pool the plan moves no tenant into, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClosedPool {
    pub pool: String,
    pub reason: String,
}

/// Why a pool takes no tenants under the source document's advice, or `None` when it may: a pool
/// without failover never does; a multi-primary pool (several top-priority servers with a
/// weight) only when `allow_multi_primary`. `split` is the pool's expected split share.
pub fn pool_policy(
    servers: usize,
    home_servers: usize,
    split: f64,
    allow_multi_primary: bool,
) -> Option<String> {
    if servers < 2 {
        Some("no failover: a tenant there has no backup server".into())
    } else if home_servers > 1 && !allow_multi_primary {
        Some(format!(
            "multi-primary: splits each tenant across {home_servers} servers ({:.0}% of its phones off its fullest server); allow it in Settings",
            split * 100.0
        ))
    } else {
        None
    }
}

/// One server's utilisation with nothing down and in its worst single failure, before and
/// after the plan.
#[derive(Debug, Clone, Serialize)]
pub struct ServerChange {
    pub server: String,
    pub normal_before: Option<f64>,
    pub normal_after: Option<f64>,
    pub worst_before: Option<f64>,
    pub worst_after: Option<f64>,
    /// When the plan leaves it above the warning level: forced or left by the search, and why.
    pub above_warning: Option<AboveWarning>,
}

impl PlanOutcome {
    /// Refuses (409) when this plan, computed now, is not plan `id`: the servers, pools or
    /// tenants changed since `id` was computed.
    pub fn still(&self, id: &str) -> Result<()> {
        if self.id != id {
            return Err(Error::Conflict(format!(
                "the servers, pools or tenants changed since plan {id} was computed; nothing was applied — compute the plan again"
            )));
        }
        Ok(())
    }

    /// Whether no plan at all can bring every server under the warning level (the certified
    /// bound is above it).
    pub fn warning_out_of_reach(&self) -> bool {
        self.plan.lower_bound > self.impact.warning_level + 1e-9
    }

    pub fn per_server(&self) -> Vec<ServerChange> {
        self.servers
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let cap = self.capacities[j];
                let normal = |loads: &[Vec<f64>]| loads.first().map(|r| r[j] / cap);
                let worst = |loads: &[Vec<f64>]| {
                    Some(loads.iter().skip(1).map(|row| row[j]).fold(0.0, f64::max) / cap)
                };
                ServerChange {
                    server: name.clone(),
                    normal_before: normal(&self.plan.before_loads),
                    normal_after: normal(&self.plan.loads),
                    worst_before: worst(&self.plan.before_loads),
                    worst_after: worst(&self.plan.loads),
                    above_warning: self
                        .impact
                        .per_server
                        .iter()
                        .find(|s| s.server == *name)
                        .and_then(|s| s.above_warning.clone()),
                }
            })
            .collect()
    }
}

fn fingerprint(
    servers: &[Server],
    pools: &[Pool],
    tenants: &[TenantPlacement],
    req: &PlanRequest,
) -> String {
    let mut text = String::new();
    for s in servers {
        let _ = write!(text, "s{}:{};", s.id, s.version);
    }
    for p in pools {
        let _ = write!(text, "p{}:{};", p.id, p.version);
    }
    for t in tenants {
        let _ = write!(text, "t{}:{}:{:?};", t.id, t.version, t.pool_id);
    }
    let _ = write!(
        text,
        "{}:{}:{}",
        req.budget_pct,
        req.counts,
        req.pins.join(",")
    );
    if req.place_all {
        // Only then, so that the ids of plans computed without the option stay as they were.
        text.push_str(":all");
    }
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Builds the planner's input from the store and runs the planner and the LPT baseline.
pub async fn compute(app: &App, req: &PlanRequest) -> Result<PlanOutcome> {
    let mut errors = FieldErrors::default();
    if !(0.0..=100.0).contains(&req.budget_pct) || !req.budget_pct.is_finite() {
        errors.add("budget_pct", "must be a percentage from 0 to 100");
    }
    if req.counts != "expected" && req.counts != "registered" {
        errors.add("counts", "must be expected or registered");
    }
    let servers_all = app.store().servers().await?;
    let pools = app.store().pools().await?;
    let tenants = app.store().tenant_placements().await?;
    for pin in &req.pins {
        if !tenants.iter().any(|t| t.code.eq_ignore_ascii_case(pin)) {
            errors.add("pins", format!("there is no tenant {pin:?}"));
        }
    }
    errors.finish().map_err(Error::Invalid)?;
    let id = fingerprint(&servers_all, &pools, &tenants, req);
    // Servers without a capacity cannot have a utilisation: they are left out of the objective.
    let servers: Vec<&Server> = servers_all
        .iter()
        .filter(|s| s.capacity.is_some_and(|c| c > 0))
        .collect();
    if servers.is_empty() {
        return Err(Error::Invalid(FieldErrors::single(
            "servers",
            "no server has a capacity: set capacities first",
        )));
    }
    let refs: Vec<ServerRef> = servers.iter().map(|s| s.projection_ref()).collect();
    let pool_refs: Vec<PoolRef> = pools.iter().map(Pool::projection_ref).collect();
    let scenarios = n_minus_one(&refs);
    // shares[scenario][pool][server]
    let shares: Vec<Vec<Vec<f64>>> = scenarios
        .iter()
        .map(|sc| pool_server_shares(&refs, &pool_refs, &sc.down, ClientModel::Weighted))
        .collect();
    // The source document's advice: tenants go only into pools that keep them whole on one
    // server with a backup; multi-primary pools only when Settings allows, and pools without
    // failover never.
    let (settings, _) = app.store().settings().await?;
    let allow_multi = settings.plan_multi_primary;
    let all_refs: Vec<ServerRef> = servers_all.iter().map(|s| s.projection_ref()).collect();
    let homes: Vec<PoolHome> = pools
        .iter()
        .map(|p| pool_home(&all_refs, &p.srv_records()))
        .collect();
    let reasons: Vec<Option<String>> = pools
        .iter()
        .zip(&homes)
        .map(|(p, h)| {
            pool_policy(
                p.server_names().len(),
                h.servers.len(),
                1.0 - h.primary_share,
                allow_multi,
            )
        })
        .collect();
    let closed: Vec<bool> = reasons.iter().map(Option::is_some).collect();
    // Tenants already in a pool without failover stay there (it is set up that way on purpose);
    // tenants of a multi-primary pool may leave it.
    let no_failover: Vec<bool> = pools.iter().map(|p| p.server_names().len() < 2).collect();
    let plan_pools: Vec<PlanPool> = pools
        .iter()
        .enumerate()
        .map(|(i, p)| PlanPool {
            name: p.name.to_string(),
            shares: shares.iter().map(|per_pool| per_pool[i].clone()).collect(),
            closed: closed[i],
        })
        .collect();
    let registered: HashMap<TenantId, u64> = if req.counts == "registered" {
        let mut m = HashMap::new();
        for c in app.store().tenant_server_counts().await? {
            *m.entry(c.tenant_id).or_default() += c.phones;
        }
        m
    } else {
        HashMap::new()
    };
    let index_of =
        |pool_id: Option<PoolId>| pool_id.and_then(|id| pools.iter().position(|p| p.id == id));
    let plan_tenants: Vec<PlanTenant> = tenants
        .iter()
        .map(|t| {
            let current = index_of(t.pool_id);
            PlanTenant {
                code: t.code.clone(),
                phones: if req.counts == "registered" {
                    registered.get(&t.id).copied().unwrap_or(0)
                } else {
                    u64::from(t.expected_phones)
                },
                current_pool: current,
                // An unplaced tenant has nowhere to stay: a pin on it is moot, it gets placed.
                pinned: current.is_some()
                    && (req.pins.iter().any(|p| p.eq_ignore_ascii_case(&t.code))
                        || current.is_some_and(|c| no_failover[c])),
            }
        })
        .collect();
    let total: u64 = plan_tenants.iter().map(|t| t.phones).sum();
    let budget = ((total as f64) * req.budget_pct / 100.0).floor() as u64;
    let budget = if (req.budget_pct - 30.0).abs() < 1e-9 {
        default_budget(total)
    } else {
        budget
    };
    let input = PlanInput {
        servers: servers
            .iter()
            .map(|s| PlanServer {
                name: s.name.to_string(),
                capacity: s.capacity.unwrap_or(1) as f64,
            })
            .collect(),
        scenarios: scenarios.iter().map(|s| s.name.clone()).collect(),
        pools: plan_pools,
        tenants: plan_tenants,
        move_budget: budget,
    };
    // Stage 1 (the worst utilisation), then with it as a cap stages 2 to 4: fewer cells above
    // the warning level, less excess above it, fewer phones moved. Tenants without a pool go
    // only where they keep every cell under the warning level, unless asked otherwise.
    let warning = settings.alerts.capacity_warning;
    let newcomers = if req.place_all {
        Newcomers::All
    } else {
        Newcomers::UnderWarning
    };
    let staged = plan_staged(&input, warning, newcomers)
        .map_err(|e| Error::Invalid(FieldErrors::single("plan", e.to_string())))?;
    let result = staged.plan;
    let floor = warning_floor(&input, &result, warning);
    let cells_above = CellsAbove {
        before: warning_score(&input, &result.before_loads, warning).cells_above,
        worst_only: warning_score(&input, &staged.worst_only.loads, warning).cells_above,
        after: warning_score(&input, &result.loads, warning).cells_above,
        forced: floor.cells,
    };
    let names: Vec<String> = input.servers.iter().map(|s| s.name.clone()).collect();
    let diagnosis = diagnose(
        &names,
        &input.servers.iter().map(|s| s.capacity).collect::<Vec<_>>(),
        &result,
        warning,
        &floor,
        cells_above,
    );
    let not_placed: Vec<NotPlacedRow> = staged
        .not_placed
        .iter()
        .map(|n| NotPlacedRow {
            tenant: tenants[n.tenant].code.clone(),
            phones: n.phones,
            capacity_missing_phones: n.capacity_missing_phones,
            reason: "not placed: no pool has room under the warning level".into(),
        })
        .collect();
    let lpt = lpt_baseline(&input)
        .map_err(|e| Error::Invalid(FieldErrors::single("plan", e.to_string())))?;
    let moves: Vec<MoveRow> = result
        .moves
        .iter()
        .map(|m| {
            let t = &tenants[m.tenant];
            MoveRow {
                tenant: t.code.clone(),
                tenant_id: t.id,
                version: t.version,
                from: m.from.map(|f| pools[f].name.to_string()),
                to: pools[m.to].name.to_string(),
                from_pool: t.pool_id,
                to_pool: pools[m.to].id,
                phones: m.phones,
                split_share: (homes[m.to].servers.len() > 1)
                    .then_some(1.0 - homes[m.to].primary_share),
            }
        })
        .collect();
    let expected: Vec<_> = result
        .moves
        .iter()
        .map(|m| {
            let t = &tenants[m.tenant];
            (
                u64::from(t.expected_phones),
                t.pool_id,
                Some(pools[m.to].id),
            )
        })
        .collect();
    let mut impact = super::impact::preview_moves(app, &expected, super::Seen::default()).await?;
    for row in &mut impact.per_server {
        if let Some(j) = names.iter().position(|n| *n == row.server) {
            row.above_warning = diagnosis.per_server[j].clone();
        }
    }
    Ok(PlanOutcome {
        impact,
        id,
        request: req.clone(),
        servers: servers.iter().map(|s| s.name.to_string()).collect(),
        capacities: input.servers.iter().map(|s| s.capacity).collect(),
        scenarios: input.scenarios.clone(),
        uncapped: servers_all
            .iter()
            .filter(|s| s.capacity.is_none())
            .map(|s| s.name.to_string())
            .collect(),
        closed_pools: pools
            .iter()
            .zip(reasons)
            .filter_map(|(p, r)| {
                r.map(|reason| ClosedPool {
                    pool: p.name.to_string(),
                    reason,
                })
            })
            .collect(),
        multi_primary_allowed: allow_multi,
        cells_above,
        capacity_missing_phones: diagnosis
            .could_not_fix
            .iter()
            .map(|c| c.capacity_missing_phones)
            .sum(),
        could_not_fix: diagnosis.could_not_fix,
        not_placed,
        lpt_value: lpt.value,
        plan: result,
        total_phones: total,
        budget,
        moves,
    })
}

/// Applies the chosen moves of plan `id`, refusing when the inventory changed since.
pub async fn apply(
    app: &App,
    id: &str,
    req: &PlanRequest,
    chosen: &[MoveRow],
    actor: &str,
) -> Result<u64> {
    let fresh = compute(app, req).await?;
    fresh.still(id)?;
    let moves: Vec<PlannedMove> = chosen
        .iter()
        .map(|m| PlannedMove {
            tenant_id: m.tenant_id,
            version: m.version,
            from_pool: m.from_pool,
            to_pool: m.to_pool,
        })
        .collect();
    let n = app.store().apply_plan(id, &moves, actor).await?;
    Ok(n)
}

/// What [`diagnose`] finds.
struct Diagnosis {
    could_not_fix: Vec<CouldNotFix>,
    /// Per server of the plan input: why it is left above the warning level, if it is.
    per_server: Vec<Option<AboveWarning>>,
}

/// The servers `plan` leaves above the warning level, in an admin's words: each with the case
/// that loads it most (a server is diagnosed with the one whose failure loads it, the two
/// together when each is above while the other is down), the capacity missing, and whether a
/// certified floor forces it.
fn diagnose(
    names: &[String],
    capacities: &[f64],
    plan: &Plan,
    warning: f64,
    floor: &WarningFloor,
    cells: CellsAbove,
) -> Diagnosis {
    const ABOVE: f64 = 1e-9;
    let n = names.len();
    // Per server: (scenario, phones) of its fullest case, nothing down winning ties.
    let peaks: Vec<(usize, f64)> = (0..n)
        .map(|j| {
            let mut peak = (0, 0.0_f64);
            for (s, row) in plan.loads.iter().enumerate() {
                if row[j] > peak.1 {
                    peak = (s, row[j]);
                }
            }
            peak
        })
        .collect();
    let above = |j: usize| peaks[j].1 / capacities[j] > warning + ABOVE;
    let missing = |j: usize| (peaks[j].1 / warning - capacities[j]).ceil().max(0.0) as u64;
    let carries = |j: usize| {
        format!(
            "{} carries {:.0} phones {}, more than the {:.0} it holds under the warning level",
            names[j],
            peaks[j].1,
            match peaks[j].0 {
                0 => "with nothing down".to_string(),
                s => format!("while {} is down", names[s - 1]),
            },
            warning * capacities[j]
        )
    };
    let mut could_not_fix = Vec::new();
    let mut done = vec![false; n];
    for j in 0..n {
        if done[j] || !above(j) {
            continue;
        }
        done[j] = true;
        let entry = match peaks[j].0 {
            0 => CouldNotFix {
                servers: vec![names[j].clone()],
                reason: format!(
                    "{}: add capacity, or move tenants to servers with room",
                    carries(j)
                ),
                capacity_missing_phones: missing(j),
                forced: floor.forces(j, warning),
            },
            s => {
                let d = s - 1;
                let mutual = !done[d] && above(d) && peaks[d].0 == j + 1;
                let mut reason = format!(
                    "{} and {} together carry more than either can hold alone: {}",
                    names[j],
                    names[d],
                    carries(j)
                );
                let servers = vec![names[j].clone(), names[d].clone()];
                let mut need = missing(j);
                let mut forced = floor.forces(j, warning);
                if mutual {
                    done[d] = true;
                    reason.push_str(&format!("; and {}", carries(d)));
                    need += missing(d);
                    forced |= floor.forces(d, warning);
                }
                reason.push_str(": add capacity or a third server");
                CouldNotFix {
                    servers,
                    reason,
                    capacity_missing_phones: need,
                    forced,
                }
            }
        };
        could_not_fix.push(entry);
    }
    let worst = plan.value * 100.0;
    let per_server = (0..n)
        .map(|j| {
            if !above(j) {
                return None;
            }
            let floor_j = floor.servers.get(j).copied().flatten();
            let forced = floor.forces(j, warning);
            let why = if forced {
                format!(
                    "forced: every plan that keeps the worst at {worst:.1}% leaves it at {:.1}% or more in its fullest case (certified), above the warning level of {:.0}%",
                    floor_j.unwrap_or(0.0) * 100.0,
                    warning * 100.0
                )
            } else if cells.forced >= cells.after {
                format!(
                    "not this server as such, but the number: every plan that keeps the worst at {worst:.1}% leaves at least {} server-failure cases above the warning level (certified), and this plan leaves no more",
                    cells.forced
                )
            } else {
                format!(
                    "left by the search: no certified floor puts it above the warning level; at least {} of the plan's {} cases above it are forced, another plan might bring this one under",
                    cells.forced, cells.after
                )
            };
            Some(AboveWarning {
                forced,
                why,
                floor: floor_j,
            })
        })
        .collect();
    Diagnosis {
        could_not_fix,
        per_server,
    }
}

#[cfg(test)]
mod tests {
    use super::pool_policy;

    #[test]
    fn a_pool_without_failover_never_takes_tenants() {
        for allow in [false, true] {
            let reason = pool_policy(1, 1, 0.0, allow).expect("closed");
            assert!(reason.starts_with("no failover"), "{reason}");
        }
        assert!(pool_policy(0, 0, 0.0, true).is_some(), "no members at all");
    }

    #[test]
    fn a_pool_that_keeps_tenants_whole_with_a_backup_is_open() {
        assert_eq!(pool_policy(2, 1, 0.0, false), None);
        assert_eq!(pool_policy(3, 1, 0.0, false), None);
    }

    #[test]
    fn a_multi_primary_pool_takes_tenants_only_when_settings_allow_and_says_the_split() {
        let reason = pool_policy(2, 2, 0.4, false).expect("closed by default");
        assert_eq!(
            reason,
            "multi-primary: splits each tenant across 2 servers (40% of its phones off its fullest server); allow it in Settings"
        );
        assert_eq!(pool_policy(2, 2, 0.4, true), None);
    }
}
