//! Tenant moves: the Moves page (in flight, done, stalled, cancelled, with progress and age),
//! the cancel button's target, and the moves API (`GET /api/v1/moves`,
//! `POST /api/v1/moves/{id}/cancel`). The tenant page's move panel is in `tenants`.

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::api::{ApiJson, ApiQuery, ApiResult};
use super::auth::{AdminOnly, Principal};
use super::extract::{Form, Path, Query};
use super::forms::{PageLink, pager, version};
use super::impact::{DryRunParams, apply_anyway, refusal};
use super::{AppState, Error, Flash, PageCtx, Result, Routes, filters, page, render_page};
use crate::app::Seen;
use crate::app::moves::{self, TenantMovePage, TenantMoveRow};
use crate::domain::FieldErrors;
use crate::domain::ids::MoveId;
use crate::domain::impact::Impact;
use crate::domain::model::Tenant;
use crate::domain::moves::MoveState;
use crate::store::{MoveFilter, TenantMove};
use axum::http::StatusCode;

pub fn router() -> Routes {
    Routes::new()
        .get("/moves", list)
        .get("/moves/{id}", detail)
        .get("/moves/{id}/cancel", cancel_preview)
        .post("/moves/{id}/cancel", cancel)
        .get("/api/v1/moves", api_list)
        .post("/api/v1/moves/{id}/cancel", api_cancel)
}

/// Moves a page lists; the API allows up to [`API_MAX_PER_PAGE`].
const PER_PAGE: u32 = 50;
const API_MAX_PER_PAGE: u32 = 200;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    state: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    per_page: String,
}

/// The `state` filter: `moving` (the default: every move in flight, stalled ones too),
/// `done`, `stalled`, `cancelled` or `all`.
fn filter_of(state: &str) -> std::result::Result<MoveFilter, String> {
    match state.trim() {
        "" | "moving" => Ok(MoveFilter::InFlight),
        "all" => Ok(MoveFilter::All),
        s => MoveState::parse(s).map(MoveFilter::State).map_err(|_| {
            format!("unknown state {s:?}: use moving, done, stalled, cancelled or all")
        }),
    }
}

fn number(field: &str, v: &str, default: u32, max: u32) -> std::result::Result<u32, FieldErrors> {
    match v.trim() {
        "" => Ok(default),
        v => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| FieldErrors::single(field, format!("must be a number from 1 to {max}"))),
    }
}

fn parse(p: &ListParams, max_per_page: u32) -> Result<(MoveFilter, u32, u32)> {
    let filter =
        filter_of(&p.state).map_err(|e| Error::Invalid(FieldErrors::single("state", e)))?;
    let page = number("page", &p.page, 1, u32::MAX).map_err(Error::Invalid)?;
    let per_page =
        number("per_page", &p.per_page, PER_PAGE, max_per_page).map_err(Error::Invalid)?;
    Ok((filter, page, per_page))
}

#[derive(Template)]
#[template(path = "moves/list.html")]
struct ListPage {
    ctx: PageCtx,
    state: String,
    moves: TenantMovePage,
    pages: Vec<PageLink>,
}

impl ListPage {
    const STATES: [(&'static str, &'static str); 5] = [
        ("moving", "in flight"),
        ("stalled", "stalled"),
        ("done", "done"),
        ("cancelled", "cancelled"),
        ("all", "all"),
    ];
    fn states(&self) -> &'static [(&'static str, &'static str)] {
        &Self::STATES
    }
    fn is_state(&self, s: &&str) -> bool {
        let current = if self.state.is_empty() {
            "moving"
        } else {
            self.state.as_str()
        };
        current == *s
    }
}

async fn list(
    State(st): State<AppState>,
    ctx: PageCtx,
    Query(p): Query<ListParams>,
) -> Result<Response> {
    let (filter, page_no, per_page) = parse(&p, PER_PAGE)?;
    let moves = moves::list(&st.app, filter, page_no, per_page).await?;
    let pages_total = moves.total.div_ceil(u64::from(per_page)).max(1) as u32;
    let state = p.state.trim().to_string();
    let pages = pager(page_no, pages_total, |n| {
        format!(
            "/moves?state={}&page={n}",
            if state.is_empty() { "moving" } else { &state }
        )
    });
    Ok(page(&ListPage {
        ctx,
        state,
        moves,
        pages,
    }))
}

#[derive(Template)]
#[template(path = "moves/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    row: TenantMoveRow,
    /// The tenant's phones per server since the move started (issue 18).
    chart: super::charts::ChartPanel,
}

/// One move: its facts, progress and the tenant's phones per server since it started.
async fn detail(
    State(st): State<AppState>,
    ctx: PageCtx,
    seen: Seen,
    Path(id): Path<MoveId>,
) -> Result<Response> {
    let row = moves::one(&st.app, id, seen).await?;
    let svg = crate::app::charts::move_progress(
        &st.app,
        row.m.tenant_id,
        &row.m.tenant,
        row.m.started_at,
        row.m.ended_at,
    )
    .await?;
    Ok(page(&DetailPage {
        ctx,
        chart: super::charts::ChartPanel::fixed(
            "chart-move",
            "The tenant's phones per server since the move started",
            svg,
        ),
        row,
    }))
}

#[derive(Template)]
#[template(path = "moves/cancel_preview.html")]
struct CancelPreview {
    ctx: PageCtx,
    m: TenantMove,
    tenant: Tenant,
    /// The tenant's version as the admin saw it (the cancel applies at that version).
    version: i64,
    impact: Impact,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CancelParams {
    #[serde(default)]
    version: Option<i64>,
}

const APPLY_ANYWAY: &str = "Tick “Apply anyway” to cancel the move all the same.";

/// The preview of cancelling a move: the tenant back in its old pool, per server.
async fn cancel_preview(
    _admin: AdminOnly,
    State(st): State<AppState>,
    ctx: PageCtx,
    seen: Seen,
    Path(id): Path<MoveId>,
    Query(p): Query<CancelParams>,
) -> Result<Response> {
    let (m, tenant, impact) = moves::cancel_preview(&st.app, id, seen).await?;
    Ok(page(&CancelPreview {
        ctx,
        version: p.version.unwrap_or(tenant.version),
        m,
        tenant,
        impact,
        error: None,
    }))
}

/// Cancels the move at the tenant version the admin saw; a crossing needs "apply anyway".
async fn cancel(
    State(st): State<AppState>,
    principal: Principal,
    ctx: PageCtx,
    seen: Seen,
    Path(id): Path<MoveId>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let version = version(&pairs)?;
    let (m, tenant, impact) = moves::cancel_preview(&st.app, id, seen).await?;
    if impact.needs_confirmation() && !apply_anyway(&pairs) {
        let error = Some(refusal(&impact, APPLY_ANYWAY));
        return Ok(render_page(
            StatusCode::CONFLICT,
            &CancelPreview {
                ctx,
                m,
                tenant,
                version,
                impact,
                error,
            },
        ));
    }
    let (m, t) = moves::cancel(&st.app, id, version, &principal.actor()).await?;
    Ok(Flash::redirect(
        super::named::tenant_href(t.code.as_ref()),
        format!(
            "The move of tenant {} to {} was cancelled: it is back in pool {}.",
            t.code,
            m.to_pool,
            t.pool_name.as_deref().unwrap_or(&m.from_pool)
        ),
    )
    .into_response())
}

async fn api_list(
    State(st): State<AppState>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<TenantMovePage> {
    let (filter, page_no, per_page) = parse(&p, API_MAX_PER_PAGE)?;
    Ok(Json(moves::list(&st.app, filter, page_no, per_page).await?))
}

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"version": 3}))]
pub(super) struct CancelBody {
    /// The tenant's version as last read; a stale one is refused with 409.
    version: i64,
}

/// A cancelled move and its tenant, back in the old pool.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Cancelled {
    #[serde(rename = "move")]
    m: TenantMove,
    tenant: Tenant,
}

/// `?dry_run=1` answers the preview of the tenant back in its old pool and changes nothing; a
/// cancel that pushes a server over a level needs `?force=1` (else 409 with the preview).
async fn api_cancel(
    State(st): State<AppState>,
    principal: Principal,
    seen: Seen,
    Path(id): Path<MoveId>,
    ApiQuery(flags): ApiQuery<DryRunParams>,
    ApiJson(body): ApiJson<CancelBody>,
) -> std::result::Result<Response, super::ApiError> {
    let (_, _, impact) = moves::cancel_preview(&st.app, id, seen).await?;
    if let Some(answer) = flags.answer(&impact) {
        return Ok(answer);
    }
    let (m, tenant) = moves::cancel(&st.app, id, body.version, &principal.actor()).await?;
    Ok(Json(Cancelled { m, tenant }).into_response())
}

/// Width of a progress bar of `width` pixels at `percent`.
pub fn progress_width(row: &TenantMoveRow, width: f64) -> String {
    format!("{:.1}", f64::from(row.percent.min(100)) / 100.0 * width)
}
