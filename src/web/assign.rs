//! Assigning tenants to pools from the pages, with the impact preview first: the tenant page's
//! "Assign a pool" and the list's "Move selected" open a preview of the change per server; the
//! preview's Apply posts the change. A change that pushes a server over the warning level or its
//! capacity is applied only with "Apply anyway" ticked; without it nothing is stored (409).
//! `POST /api/v1/bulk-assign` is the bulk move for API clients, with the same dry run.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::{AdminOnly, Principal};
use super::extract::{Form, Query};
use super::filters;
use super::forms::{all, one, version};
use super::impact::{apply_anyway, refusal};
use super::named::{TenantAt, tenant_href};
use super::{
    AppState, Error, Flash, PageCtx, Result, Routes, page, render_page, safe_redirect_target,
};
use crate::app::{Seen, impact, tenants};
use crate::domain::ids::{PoolId, TenantId};
use crate::domain::impact::Impact;
use crate::domain::model::Tenant;

pub fn router() -> Routes {
    Routes::new()
        .get("/tenants/{tenant}/assign", assign_preview)
        .post("/tenants/{tenant}/assign", assign)
        .post("/tenants/bulk-assign/preview", bulk_preview)
        .post("/tenants/bulk-assign", bulk_assign)
        .post("/api/v1/bulk-assign", api_bulk_assign)
}

const APPLY_ANYWAY: &str = "Tick “Apply anyway” to apply it all the same.";

/// A pool as a form names it: `-` or empty for no pool.
async fn pool_named(st: &AppState, name: &str) -> Result<(Option<PoolId>, String, String)> {
    Ok(match name.trim() {
        "" | "-" => (None, "-".into(), "no pool".into()),
        name => {
            let p = st.store().pool_by_name(name).await?;
            (Some(p.id), p.name.to_string(), format!("pool {}", p.name))
        }
    })
}

#[derive(Template)]
#[template(path = "tenants/assign_preview.html")]
struct AssignPreview {
    ctx: PageCtx,
    tenant: Tenant,
    /// The pool as the form posts it back (`-` for none) and in words.
    pool: String,
    to: String,
    version: i64,
    impact: Impact,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AssignParams {
    #[serde(default)]
    pool: String,
    #[serde(default)]
    version: Option<i64>,
}

/// The preview of one tenant's new pool, with the form that applies it.
async fn assign_preview(
    _admin: AdminOnly,
    State(st): State<AppState>,
    ctx: PageCtx,
    seen: Seen,
    TenantAt(tenant): TenantAt,
    Query(p): Query<AssignParams>,
) -> Result<Response> {
    let id = tenant.id;
    let (pool_id, pool, to) = pool_named(&st, &p.pool).await?;
    let impact = impact::preview_assign(&st.app, &[(id, pool_id)], seen).await?;
    Ok(page(&AssignPreview {
        ctx,
        version: p.version.unwrap_or(tenant.version),
        tenant,
        pool,
        to,
        impact,
        error: None,
    }))
}

/// Applies one tenant's new pool at the version the admin saw.
async fn assign(
    State(st): State<AppState>,
    principal: Principal,
    ctx: PageCtx,
    seen: Seen,
    TenantAt(tenant): TenantAt,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let id = tenant.id;
    let version = version(&pairs)?;
    let (pool_id, pool, to) = pool_named(&st, one(&pairs, "pool")).await?;
    let impact = impact::preview_assign(&st.app, &[(id, pool_id)], seen).await?;
    if impact.needs_confirmation() && !apply_anyway(&pairs) {
        let error = Some(refusal(&impact, APPLY_ANYWAY));
        return Ok(render_page(
            StatusCode::CONFLICT,
            &AssignPreview {
                ctx,
                tenant,
                pool,
                to,
                version,
                impact,
                error,
            },
        ));
    }
    let t = tenants::assign(&st.app, id, version, pool_id, &principal.actor()).await?;
    let where_ = t
        .pool_name
        .as_deref()
        .map(|p| format!("pool {p}"))
        .unwrap_or_else(|| "no pool".into());
    Ok(Flash::redirect(
        tenant_href(t.code.as_ref()),
        format!("Tenant {} assigned to {where_}.", t.code),
    )
    .into_response())
}

/// One selected tenant as the bulk preview lists it and posts it back.
struct Selected {
    /// `id:version`, exactly as the list posted it: applying uses these versions.
    value: String,
    code: String,
    phones: u32,
    from: String,
    /// Its version now (the list's is in `value`).
    version: i64,
}

#[derive(Template)]
#[template(path = "tenants/bulk_preview.html")]
struct BulkPreview {
    ctx: PageCtx,
    selected: Vec<Selected>,
    pool: String,
    to: String,
    back: String,
    impact: Impact,
    error: Option<String>,
    /// The selection is every tenant matching the list's filter, resolved by the server.
    matching: bool,
}

/// The list's checkboxes: each tenant with the version the list showed.
fn selection(pairs: &[(String, String)]) -> Result<Vec<(TenantId, i64)>> {
    all(pairs, "tenant")
        .map(|v| {
            v.split_once(':')
                .and_then(|(id, version)| {
                    Some((id.parse::<TenantId>().ok()?, version.parse().ok()?))
                })
                .ok_or_else(|| {
                    Error::BadRequest(format!(
                        "{v:?} is not a tenant and its version; reload the list and select again"
                    ))
                })
        })
        .collect()
}

/// The preview of a whole selection's move and the form that applies it (the form carries the
/// selection's ids and versions: applying moves exactly those, or nothing).
async fn bulk_page(
    st: &AppState,
    ctx: PageCtx,
    seen: Seen,
    pairs: &[(String, String)],
    error: Option<String>,
) -> Result<(BulkPreview, Vec<(TenantId, i64)>, Option<PoolId>)> {
    let ids = selection(pairs)?;
    let back = safe_redirect_target(one(pairs, "return")).to_string();
    if one(pairs, "pool").trim().is_empty() {
        return Err(Error::BadRequest(
            "choose the pool to move the selected tenants to".into(),
        ));
    }
    let (pool_id, pool, to) = pool_named(st, one(pairs, "pool")).await?;
    let just_ids: Vec<TenantId> = ids.iter().map(|(id, _)| *id).collect();
    let now = match impact::selected(&st.app, &just_ids).await {
        Err(crate::app::Error::NotFound(_)) => {
            return Err(Error::Conflict(
                "A selected tenant was deleted since the list was shown: nothing was changed; \
                 reload the list and select again."
                    .into(),
            ));
        }
        other => other?,
    };
    let moves: Vec<_> = now
        .iter()
        .map(|t| (u64::from(t.expected_phones), t.pool_id, pool_id))
        .collect();
    let impact = impact::preview_moves(&st.app, &moves, seen).await?;
    let names = st.store().pools().await?;
    let selected = ids
        .iter()
        .zip(&now)
        .map(|((id, v), t)| Selected {
            value: format!("{id}:{v}"),
            code: t.code.clone(),
            phones: t.expected_phones,
            version: t.version,
            from: t
                .pool_id
                .and_then(|p| names.iter().find(|x| x.id == p))
                .map(|p| p.name.to_string())
                .unwrap_or_else(|| "no pool".into()),
        })
        .collect();
    Ok((
        BulkPreview {
            ctx,
            selected,
            pool,
            to,
            back,
            impact,
            error,
            matching: false,
        },
        ids,
        pool_id,
    ))
}

/// "Move all N tenants matching this filter": the list's filter (`filter_q`, `filter_pool`,
/// `filter_status`, `filter_server`, `filter_move`) resolved now to the exact tenants and their
/// versions, which replace any ticked boxes; the preview then freezes them like a selection.
async fn matching_selection(
    st: &AppState,
    seen: Seen,
    mut pairs: Vec<(String, String)>,
) -> Result<(Vec<(String, String)>, bool)> {
    if one(&pairs, "scope") != "matching" {
        return Ok((pairs, false));
    }
    let filter = super::tenants::ListParams::from_filter_fields(&pairs);
    let ids = super::tenants::matching(st, seen, &filter).await?;
    pairs.retain(|(k, _)| k != "tenant");
    pairs.extend(
        ids.into_iter()
            .map(|(id, v)| ("tenant".to_string(), format!("{id}:{v}"))),
    );
    Ok((pairs, true))
}

async fn bulk_preview(
    State(st): State<AppState>,
    ctx: PageCtx,
    seen: Seen,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let (pairs, matching) = matching_selection(&st, seen, pairs).await?;
    if matching && selection(&pairs)?.is_empty() {
        let back = safe_redirect_target(one(&pairs, "return")).to_string();
        return Ok(
            Flash::redirect(back, "Nothing changed: no tenant matches this filter.")
                .into_response(),
        );
    }
    if selection(&pairs)?.is_empty() {
        let back = safe_redirect_target(one(&pairs, "return")).to_string();
        return Ok(
            Flash::redirect(back, "Nothing changed: no tenant was selected.").into_response(),
        );
    }
    let (mut p, ids, _) = bulk_page(&st, ctx, seen, &pairs, None).await?;
    p.matching = matching;
    // A tenant changed between the list and its preview: the preview would not be what applies.
    unchanged_since(&p, &ids)?;
    Ok(page(&p))
}

/// Refuses (409, naming them) when selected tenants changed since the list showed them.
fn unchanged_since(p: &BulkPreview, ids: &[(TenantId, i64)]) -> Result<()> {
    let changed: Vec<&str> = p
        .selected
        .iter()
        .zip(ids)
        .filter(|(t, (_, v))| t.version != *v)
        .map(|(t, _)| t.code.as_str())
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    Err(Error::Conflict(format!(
        "Changed since the list was shown: {}. Nothing was changed; reload the list and select again.",
        changed.join(", ")
    )))
}

/// Bulk assignment: the selected tenants move to one pool in one transaction, each at the
/// version the list (and its preview) showed; a tenant changed since refuses the whole move
/// (409 naming it).
async fn bulk_assign(
    State(st): State<AppState>,
    principal: Principal,
    ctx: PageCtx,
    seen: Seen,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let back = safe_redirect_target(one(&pairs, "return")).to_string();
    if selection(&pairs)?.is_empty() {
        return Ok(
            Flash::redirect(back, "Nothing changed: no tenant was selected.").into_response(),
        );
    }
    let (mut p, ids, pool_id) = bulk_page(&st, ctx, seen, &pairs, None).await?;
    // Stale rows first (the store checks again, in its transaction): the refusal names them.
    unchanged_since(&p, &ids)?;
    if p.impact.needs_confirmation() && !apply_anyway(&pairs) {
        p.error = Some(refusal(&p.impact, APPLY_ANYWAY));
        return Ok(render_page(StatusCode::CONFLICT, &p));
    }
    let moved = tenants::bulk_assign(&st.app, &ids, pool_id, &principal.actor()).await?;
    Ok(Flash::redirect(
        back,
        format!(
            "{moved} of {} selected tenants moved to {}.",
            ids.len(),
            p.to
        ),
    )
    .into_response())
}

/// One tenant of a bulk move, at the version the client read.
#[derive(Debug, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub(super) struct BulkTenant {
    code: String,
    version: i64,
}

/// `POST /api/v1/bulk-assign`: the tenants, each at the version read, move to `pool` (null:
/// unplaced) in one transaction.
#[derive(Debug, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[schema(example = json!({"tenants": [{"code": "ROSSI", "version": 1}], "pool": "pbxB"}))]
pub(super) struct BulkAssignBody {
    tenants: Vec<BulkTenant>,
    /// Pool name, or null to unplace the tenants.
    pool: Option<String>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct BulkAssigned {
    moved: u64,
    selected: usize,
}

/// The API's bulk move: `?dry_run=1` answers the impact of the whole selection and changes
/// nothing; a tenant changed since its version was read refuses the whole move (409 naming it);
/// a move that pushes a server over a level needs `?force=1`.
async fn api_bulk_assign(
    State(st): State<AppState>,
    principal: Principal,
    seen: Seen,
    super::api::ApiQuery(flags): super::api::ApiQuery<super::impact::DryRunParams>,
    super::api::ApiJson(body): super::api::ApiJson<BulkAssignBody>,
) -> std::result::Result<Response, super::ApiError> {
    if body.tenants.is_empty() {
        return Err(Error::Invalid(crate::domain::FieldErrors::single(
            "tenants",
            "select at least one tenant",
        ))
        .into());
    }
    let pool_id = super::api::pool_named(&st, body.pool.as_deref()).await?;
    let mut ids = Vec::with_capacity(body.tenants.len());
    let mut changed = Vec::new();
    for t in &body.tenants {
        let now = st.store().tenant_by_code(&t.code).await.map_err(|_| {
            Error::Invalid(crate::domain::FieldErrors::single(
                "tenants",
                format!("there is no tenant {:?}", t.code),
            ))
        })?;
        if now.version != t.version {
            changed.push(now.code.to_string());
        }
        ids.push((now.id, t.version));
    }
    if !changed.is_empty() {
        return Err(Error::Conflict(format!(
            "Changed since read: {}. Nothing was moved; read them again.",
            changed.join(", ")
        ))
        .into());
    }
    let changes: Vec<_> = ids.iter().map(|(id, _)| (*id, pool_id)).collect();
    let preview = impact::preview_assign(&st.app, &changes, seen).await?;
    if let Some(answer) = flags.answer(&preview) {
        return Ok(answer);
    }
    let moved = tenants::bulk_assign(&st.app, &ids, pool_id, &principal.actor()).await?;
    Ok(axum::Json(BulkAssigned {
        moved,
        selected: ids.len(),
    })
    .into_response())
}
