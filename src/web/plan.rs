//! The rebalance plan page and API: parameters, the plan as a diff with per-server
//! before/after, applying all or chosen moves (the use case is `app::plan`).

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::api::{ApiJson, ApiQuery};
use super::auth::Principal;
use super::extract::{Form, Query};
use super::filters;
use super::forms::{all, one};
use super::{ApiError, AppState, Error, Flash, PageCtx, Result, Routes, page, render_page};
use crate::app::plan::{MoveRow, PlanOutcome, PlanRequest, apply, compute};
use crate::domain::FieldErrors;

pub fn router() -> Routes {
    Routes::new()
        .get("/plan", plan_page)
        .post("/plan/apply", apply_page)
        .post("/api/v1/plan", api_plan)
        .post("/api/v1/plan/apply", api_apply)
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
    place_all: Option<String>,
    #[serde(default)]
    run: Option<String>,
}

fn request_from(
    budget: Option<&str>,
    counts: Option<&str>,
    pins: Option<&str>,
    place_all: bool,
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
        place_all,
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
        p.place_all.as_deref().is_some_and(|v| !v.is_empty()),
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
    match compute(&st.app, &request).await {
        Ok(outcome) => Ok(page(&PlanPage {
            ctx,
            request,
            outcome: Some(outcome),
            error: None,
        })),
        Err(crate::app::Error::Invalid(f)) => Ok(render_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &PlanPage {
                ctx,
                request,
                outcome: None,
                error: Some(f.to_string()),
            },
        )),
        Err(e) => Err(e.into()),
    }
}

/// The impact of the chosen moves, as every change of placement previews it.
async fn chosen_impact(
    st: &AppState,
    chosen: &[MoveRow],
    seen: crate::app::Seen,
) -> Result<crate::domain::impact::Impact> {
    let changes: Vec<_> = chosen
        .iter()
        .map(|m| (m.tenant_id, Some(m.to_pool)))
        .collect();
    Ok(crate::app::impact::preview_assign(&st.app, &changes, seen).await?)
}

async fn apply_page(
    State(st): State<AppState>,
    principal: Principal,
    seen: crate::app::Seen,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let req = request_from(
        Some(one(&pairs, "budget_pct")),
        Some(one(&pairs, "counts")),
        Some(one(&pairs, "pins")),
        !one(&pairs, "place_all").is_empty(),
    )?;
    let id = one(&pairs, "plan");
    let fresh = compute(&st.app, &req).await?;
    let chosen: Vec<MoveRow> = all(&pairs, "move")
        .filter_map(|code| fresh.moves.iter().find(|m| m.tenant == code).cloned())
        .collect();
    if chosen.is_empty() {
        return Err(Error::BadRequest("no move was selected".into()));
    }
    fresh.still(id)?;
    let impact = chosen_impact(&st, &chosen, seen).await?;
    if impact.needs_confirmation() && !super::impact::apply_anyway(&pairs) {
        return Err(Error::Conflict(super::impact::refusal(
            &impact,
            "Go back, tick “Apply anyway” under the moves and apply again to apply them all the same.",
        )));
    }
    let n = apply(&st.app, id, &req, &chosen, &principal.actor()).await?;
    Ok(
        Flash::redirect("/tenants", format!("Plan {id} applied: {n} tenants moved."))
            .into_response(),
    )
}

async fn api_plan(
    State(st): State<AppState>,
    ApiJson(req): ApiJson<PlanRequest>,
) -> Result<Json<PlanOutcome>, ApiError> {
    Ok(Json(compute(&st.app, &req).await?))
}

/// `plan` is the id `POST /api/v1/plan` returned for the same `request`; a plan computed on
/// other data is refused with 409.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"plan": "c049618285d4", "request": {"budget_pct": 30.0}, "moves": ["ROSSI"]}))]
pub(super) struct ApplyBody {
    plan: String,
    #[serde(default)]
    request: PlanRequest,
    /// Tenant codes of the moves to apply; all of the plan's moves when absent.
    #[serde(default)]
    moves: Option<Vec<String>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Applied {
    plan: String,
    moved: u64,
}

/// `?dry_run=1` answers the impact of the chosen moves and changes nothing; moves that push a
/// server over the warning level or its capacity need `?force=1` (else 409 with the preview).
async fn api_apply(
    State(st): State<AppState>,
    principal: Principal,
    seen: crate::app::Seen,
    ApiQuery(flags): ApiQuery<super::impact::DryRunParams>,
    ApiJson(body): ApiJson<ApplyBody>,
) -> Result<Response, ApiError> {
    let fresh = compute(&st.app, &body.request).await?;
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
    fresh.still(&body.plan)?;
    let impact = chosen_impact(&st, &chosen, seen).await?;
    if let Some(answer) = flags.answer(&impact) {
        return Ok(answer);
    }
    let moved = apply(
        &st.app,
        &body.plan,
        &body.request,
        &chosen,
        &principal.actor(),
    )
    .await?;
    Ok(Json(Applied {
        plan: body.plan,
        moved,
    })
    .into_response())
}
