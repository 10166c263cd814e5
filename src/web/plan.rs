//! The rebalance planner: parameters, the plan as a diff with per-server before/after, applying
//! all or chosen moves in one transaction; and its API.

use askama::Template;
use axum::Form;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt::Write as _;

use super::api::ApiJson;
use super::auth::Principal;
use super::cluster::invalidate;
use super::filters;
use super::forms::{all, one};
use super::{ApiError, AppState, Error, Flash, PageCtx, Result, Routes, page, render_page};
use crate::domain::FieldErrors;
use crate::domain::model::{Pool, Server};
use crate::domain::placement::{
    Plan, PlanInput, PlanPool, PlanServer, PlanTenant, default_budget, lpt_baseline, plan,
};
use crate::domain::projection::{PoolRef, ServerRef, n_minus_one, pool_server_shares};
use crate::domain::srv::ClientModel;
use crate::store::PlannedMove;

pub fn router() -> Routes {
    Routes::new()
        .get("/plan", plan_page)
        .post("/plan/apply", apply_page)
        .post("/api/v1/plan", api_plan)
        .post("/api/v1/plan/apply", api_apply)
}

/// What the admin asks for.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct PlanRequest {
    /// Phones moved at most, as a percentage of all phones.
    pub budget_pct: f64,
    /// `expected` (the tenants' expected phones) or `registered` (phones in the latest reports).
    pub counts: String,
    /// Tenant codes that must stay in their pool.
    pub pins: Vec<String>,
}

impl Default for PlanRequest {
    fn default() -> Self {
        Self {
            budget_pct: 30.0,
            counts: "expected".into(),
            pins: Vec::new(),
        }
    }
}

/// A computed plan with everything needed to show and apply it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanOutcome {
    /// Names the plan in the audit log; also proves on apply that the inventory is unchanged.
    pub id: String,
    pub request: PlanRequest,
    pub servers: Vec<String>,
    pub capacities: Vec<f64>,
    pub scenarios: Vec<String>,
    /// Servers left out of the objective because they have no capacity.
    pub uncapped: Vec<String>,
    pub closed_pools: Vec<String>,
    pub plan: Plan,
    pub lpt_value: f64,
    pub total_phones: u64,
    pub budget: u64,
    pub moves: Vec<MoveRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MoveRow {
    pub tenant: String,
    pub tenant_id: i64,
    pub version: i64,
    pub from: Option<String>,
    pub to: String,
    pub from_pool: Option<i64>,
    pub to_pool: i64,
    pub phones: u64,
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
}

impl PlanOutcome {
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
                }
            })
            .collect()
    }
}

fn fingerprint(
    servers: &[Server],
    pools: &[Pool],
    tenants: &[(i64, String, i64, Option<i64>, i64)],
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
        let _ = write!(text, "t{}:{}:{:?};", t.0, t.4, t.3);
    }
    let _ = write!(
        text,
        "{}:{}:{}",
        req.budget_pct,
        req.counts,
        req.pins.join(",")
    );
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Builds the planner's input from the store and runs the planner and the LPT baseline.
pub async fn compute(st: &AppState, req: &PlanRequest) -> Result<PlanOutcome> {
    let mut errors = FieldErrors::default();
    if !(0.0..=100.0).contains(&req.budget_pct) || !req.budget_pct.is_finite() {
        errors.add("budget_pct", "must be a percentage from 0 to 100");
    }
    if req.counts != "expected" && req.counts != "registered" {
        errors.add("counts", "must be expected or registered");
    }
    let servers_all = st.store.servers().await?;
    let pools = st.store.pools().await?;
    let tenants = st.store.tenant_versions().await?;
    for pin in &req.pins {
        if !tenants.iter().any(|t| t.1.eq_ignore_ascii_case(pin)) {
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
    // A pool without failover (fewer than two servers) must not receive tenants.
    let closed: Vec<bool> = pools.iter().map(|p| p.server_names().len() < 2).collect();
    let plan_pools: Vec<PlanPool> = pools
        .iter()
        .enumerate()
        .map(|(i, p)| PlanPool {
            name: p.name.clone(),
            shares: shares.iter().map(|per_pool| per_pool[i].clone()).collect(),
            closed: closed[i],
        })
        .collect();
    let registered: HashMap<i64, u64> = if req.counts == "registered" {
        let mut m = HashMap::new();
        for (t, _, n) in st.store.tenant_server_counts().await? {
            *m.entry(t).or_default() += n;
        }
        m
    } else {
        HashMap::new()
    };
    let index_of =
        |pool_id: Option<i64>| pool_id.and_then(|id| pools.iter().position(|p| p.id == id));
    let plan_tenants: Vec<PlanTenant> = tenants
        .iter()
        .map(|(id, code, phones, pool_id, _)| {
            let current = index_of(*pool_id);
            PlanTenant {
                code: code.clone(),
                phones: if req.counts == "registered" {
                    registered.get(id).copied().unwrap_or(0)
                } else {
                    *phones as u64
                },
                current_pool: current,
                // An unplaced tenant has nowhere to stay: a pin on it is moot, it gets placed.
                pinned: current.is_some()
                    && (req.pins.iter().any(|p| p.eq_ignore_ascii_case(code))
                        || current.is_some_and(|c| closed[c])),
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
                name: s.name.clone(),
                capacity: s.capacity.unwrap_or(1) as f64,
            })
            .collect(),
        scenarios: scenarios.iter().map(|s| s.name.clone()).collect(),
        pools: plan_pools,
        tenants: plan_tenants,
        move_budget: budget,
    };
    let result =
        plan(&input).map_err(|e| Error::Invalid(FieldErrors::single("plan", e.to_string())))?;
    let lpt = lpt_baseline(&input)
        .map_err(|e| Error::Invalid(FieldErrors::single("plan", e.to_string())))?;
    let moves = result
        .moves
        .iter()
        .map(|m| {
            let (tid, code, _, pool_id, version) = &tenants[m.tenant];
            MoveRow {
                tenant: code.clone(),
                tenant_id: *tid,
                version: *version,
                from: m.from.map(|f| pools[f].name.clone()),
                to: pools[m.to].name.clone(),
                from_pool: *pool_id,
                to_pool: pools[m.to].id,
                phones: m.phones,
            }
        })
        .collect();
    Ok(PlanOutcome {
        id,
        request: req.clone(),
        servers: servers.iter().map(|s| s.name.clone()).collect(),
        capacities: input.servers.iter().map(|s| s.capacity).collect(),
        scenarios: input.scenarios.clone(),
        uncapped: servers_all
            .iter()
            .filter(|s| s.capacity.is_none())
            .map(|s| s.name.clone())
            .collect(),
        closed_pools: pools
            .iter()
            .zip(&closed)
            .filter(|(_, c)| **c)
            .map(|(p, _)| p.name.clone())
            .collect(),
        lpt_value: lpt.value,
        plan: result,
        total_phones: total,
        budget,
        moves,
    })
}

/// Applies the chosen moves of plan `id`, refusing when the inventory changed since.
pub async fn apply(
    st: &AppState,
    id: &str,
    req: &PlanRequest,
    chosen: &[MoveRow],
    actor: &str,
) -> Result<u64> {
    let fresh = compute(st, req).await?;
    if fresh.id != id {
        return Err(Error::Conflict(format!(
            "the servers, pools or tenants changed since plan {id} was computed; nothing was applied — compute the plan again"
        )));
    }
    let moves: Vec<PlannedMove> = chosen
        .iter()
        .map(|m| PlannedMove {
            tenant_id: m.tenant_id,
            version: m.version,
            from_pool: m.from_pool,
            to_pool: m.to_pool,
        })
        .collect();
    let n = st.store.apply_plan(id, &moves, actor).await?;
    invalidate(st);
    Ok(n)
}

#[derive(Debug, Default, Deserialize)]
struct PageParams {
    #[serde(default)]
    budget_pct: Option<String>,
    #[serde(default)]
    counts: Option<String>,
    #[serde(default)]
    pins: Option<String>,
    #[serde(default)]
    run: Option<String>,
}

fn request_from(
    budget: Option<&str>,
    counts: Option<&str>,
    pins: Option<&str>,
) -> Result<PlanRequest> {
    let budget_pct = match budget.map(str::trim).filter(|s| !s.is_empty()) {
        None => 30.0,
        Some(b) => b.parse().map_err(|_| {
            Error::Invalid(FieldErrors::single(
                "budget_pct",
                "must be a percentage from 0 to 100",
            ))
        })?,
    };
    Ok(PlanRequest {
        budget_pct,
        counts: counts
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("expected")
            .to_string(),
        pins: pins
            .unwrap_or("")
            .split([',', ' ', '\n', '\r'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    ctx: PageCtx,
    request: PlanRequest,
    outcome: Option<PlanOutcome>,
    error: Option<String>,
}

impl PlanPage {
    fn pins_text(&self) -> String {
        self.request.pins.join(", ")
    }
}

async fn plan_page(
    State(st): State<AppState>,
    ctx: PageCtx,
    Query(p): Query<PageParams>,
) -> Result<Response> {
    let request = match request_from(
        p.budget_pct.as_deref(),
        p.counts.as_deref(),
        p.pins.as_deref(),
    ) {
        Ok(r) => r,
        Err(e) => {
            let page_ = PlanPage {
                ctx,
                request: PlanRequest::default(),
                outcome: None,
                error: Some(e.to_string()),
            };
            return Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &page_));
        }
    };
    if p.run.is_none() {
        return Ok(page(&PlanPage {
            ctx,
            request,
            outcome: None,
            error: None,
        }));
    }
    match compute(&st, &request).await {
        Ok(outcome) => Ok(page(&PlanPage {
            ctx,
            request,
            outcome: Some(outcome),
            error: None,
        })),
        Err(Error::Invalid(f)) => Ok(render_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &PlanPage {
                ctx,
                request,
                outcome: None,
                error: Some(f.to_string()),
            },
        )),
        Err(e) => Err(e),
    }
}

async fn apply_page(
    State(st): State<AppState>,
    principal: Principal,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let req = request_from(
        Some(one(&pairs, "budget_pct")),
        Some(one(&pairs, "counts")),
        Some(one(&pairs, "pins")),
    )?;
    let id = one(&pairs, "plan");
    let fresh = compute(&st, &req).await?;
    let chosen: Vec<MoveRow> = all(&pairs, "move")
        .filter_map(|code| fresh.moves.iter().find(|m| m.tenant == code).cloned())
        .collect();
    if chosen.is_empty() {
        return Err(Error::BadRequest("no move was selected".into()));
    }
    let n = apply(&st, id, &req, &chosen, &principal.actor()).await?;
    Ok(
        Flash::redirect("/tenants", format!("Plan {id} applied: {n} tenants moved."))
            .into_response(),
    )
}

async fn api_plan(
    State(st): State<AppState>,
    ApiJson(req): ApiJson<PlanRequest>,
) -> Result<Json<PlanOutcome>, ApiError> {
    Ok(Json(compute(&st, &req).await?))
}

#[derive(Debug, Deserialize)]
struct ApplyBody {
    plan: String,
    #[serde(default)]
    request: PlanRequest,
    /// Tenant codes of the moves to apply; all of the plan's moves when absent.
    #[serde(default)]
    moves: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
struct Applied {
    plan: String,
    moved: u64,
}

async fn api_apply(
    State(st): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<ApplyBody>,
) -> Result<Json<Applied>, ApiError> {
    let fresh = compute(&st, &body.request).await?;
    let chosen: Vec<MoveRow> = match &body.moves {
        None => fresh.moves.clone(),
        Some(codes) => codes
            .iter()
            .map(|c| {
                fresh
                    .moves
                    .iter()
                    .find(|m| &m.tenant == c)
                    .cloned()
                    .ok_or_else(|| {
                        Error::Invalid(FieldErrors::single(
                            "moves",
                            format!("tenant {c} is not moved by this plan"),
                        ))
                    })
            })
            .collect::<Result<_>>()?,
    };
    let moved = apply(&st, &body.plan, &body.request, &chosen, &principal.actor()).await?;
    Ok(Json(Applied {
        plan: body.plan,
        moved,
    }))
}
