//! The JSON API under `/api/v1/`: bearer tokens with scopes (see `auth`), RFC 9457 problems.

use axum::Json;
use axum::extract::{FromRequest, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::auth::Principal;
use super::extract::Path;
use super::{ApiError, AppState, Error, Routes};
use crate::domain::ids::TenantId;
use crate::domain::model::{Pool, Server, Tenant};
use crate::store::{Cursor, PoolFilter, TenantPage, TenantQuery, TenantSort};

pub fn router() -> Routes {
    Routes::new()
        .get("/api/v1/servers", servers)
        .get("/api/v1/pools", pools)
        .get("/api/v1/tenants", tenants)
        .get("/api/v1/tenants/{code}", tenant)
        .put("/api/v1/tenants/{code}/pool", assign)
}

pub type ApiResult<T> = Result<Json<T>, ApiError>;

/// An error as a problem document.
pub fn problem(e: Error) -> Response {
    ApiError(e).into_response()
}

/// `Json` whose rejections are problem documents that say what was wrong with the body (the
/// mapping is in [`super::extract`]). Every body of the API is a JSON object: serde would also
/// fill a struct from an array of its fields in order (`[null, 3]` for `{"pool": null,
/// "version": 3}`, `[]` for a request whose fields all have defaults), so anything but an
/// object is refused.
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        // The body limit layer has already bounded the body.
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .map_err(|_| Error::BadRequest("The request body could not be read.".into()))?;
        let is_object = bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{');
        let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
        let axum::Json(value) = axum::Json::<T>::from_request(req, state)
            .await
            .map_err(Error::from)?;
        if !is_object {
            return Err(Error::BadRequest(
                "The request body must be a JSON object ({...}).".into(),
            )
            .into());
        }
        Ok(ApiJson(value))
    }
}

/// `Query` whose rejections are problem documents.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

async fn servers(State(st): State<AppState>) -> ApiResult<Vec<Server>> {
    Ok(Json(st.store().servers().await?))
}

async fn pools(State(st): State<AppState>) -> ApiResult<Vec<Pool>> {
    Ok(Json(st.store().pools().await?))
}

#[derive(Deserialize)]
struct TenantParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    pool: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    desc: bool,
    page: Option<u32>,
    per_page: Option<u32>,
    /// Keyset cursors, as `next_after` / `prev_before` of a page return them.
    after: Option<TenantId>,
    before: Option<TenantId>,
}

async fn tenants(
    State(st): State<AppState>,
    ApiQuery(p): ApiQuery<TenantParams>,
) -> ApiResult<TenantPage> {
    // The page sorts leniently (a stale link still shows tenants); the API refuses what it would
    // otherwise silently read as something else, so that a client's typo is seen.
    let mut errors = crate::domain::FieldErrors::default();
    if !p.sort.is_empty() && TenantSort::parse(&p.sort).as_str() != p.sort {
        errors.add(
            "sort",
            format!("unknown sort {:?}: use code, name, phones or pool", p.sort),
        );
    }
    for (field, value) in [("page", p.page), ("per_page", p.per_page)] {
        if value == Some(0) {
            errors.add(field, "must be at least 1");
        }
    }
    for (field, value) in [("after", p.after), ("before", p.before)] {
        if value.is_some_and(|id| id.get() < 1) {
            errors.add(field, "must be a tenant id (at least 1)");
        }
    }
    errors.finish().map_err(Error::Invalid)?;
    let pool = match p.pool.as_str() {
        "" => PoolFilter::Any,
        "-" => PoolFilter::Unplaced,
        name => PoolFilter::Pool(st.store().pool_by_name(name).await?.id),
    };
    let page = st
        .store()
        .tenants(&TenantQuery {
            search: Some(p.q),
            pool,
            sort: TenantSort::parse(&p.sort),
            desc: p.desc,
            page: p.page.unwrap_or(1),
            per_page: p.per_page.unwrap_or(100),
            cursor: match (p.after, p.before) {
                (Some(id), _) => Some(Cursor::After(id)),
                (None, Some(id)) => Some(Cursor::Before(id)),
                (None, None) => None,
            },
            codes: None,
            moving: Default::default(),
        })
        .await?;
    Ok(Json(page))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct TenantDetail {
    #[serde(flatten)]
    tenant: Tenant,
    registrations: crate::app::tenants::TenantRegistrations,
    /// Its newest move (null when it never moved).
    #[serde(rename = "move")]
    move_: Option<crate::app::moves::MoveSummary>,
}

async fn tenant(
    State(st): State<AppState>,
    seen: crate::app::Seen,
    Path(code): Path<String>,
) -> ApiResult<TenantDetail> {
    let tenant = st.store().tenant_by_code(&code).await?;
    let pools = st.store().pools().await?;
    let registrations = crate::app::tenants::registrations(&st.app, &tenant, &pools, seen).await?;
    let move_ = crate::app::moves::summary(&st.app, tenant.id, seen).await?;
    Ok(Json(TenantDetail {
        move_,
        tenant,
        registrations,
    }))
}

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"pool": "pbxB", "version": 1}))]
pub(super) struct AssignBody {
    /// Pool name, or null to unplace the tenant.
    pool: Option<String>,
    /// The tenant's version as last read; a stale one is refused with 409.
    version: i64,
}

/// `?dry_run=1` answers the impact preview and changes nothing; a change that pushes a server
/// over the warning level or its capacity needs `?force=1` (else 409 with the preview).
async fn assign(
    State(st): State<AppState>,
    principal: Principal,
    seen: crate::app::Seen,
    Path(code): Path<String>,
    ApiQuery(flags): ApiQuery<super::impact::DryRunParams>,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<Response, ApiError> {
    let t = st.store().tenant_by_code(&code).await?;
    let pool_id = pool_named(&st, body.pool.as_deref()).await?;
    let impact = crate::app::impact::preview_assign(&st.app, &[(t.id, pool_id)], seen).await?;
    if let Some(answer) = flags.answer(&impact) {
        return Ok(answer);
    }
    Ok(Json(
        crate::app::tenants::assign(&st.app, t.id, body.version, pool_id, &principal.actor())
            .await?,
    )
    .into_response())
}

/// The pool an API body names (`None`: no pool), or a field error naming `pool` when there is
/// none by that name; other store errors stay what they are.
pub(super) async fn pool_named(
    st: &AppState,
    name: Option<&str>,
) -> std::result::Result<Option<crate::domain::ids::PoolId>, Error> {
    let Some(name) = name else {
        return Ok(None);
    };
    match st.store().pool_by_name(name).await {
        Ok(pool) => Ok(Some(pool.id)),
        Err(crate::store::Error::NotFound { .. }) => Err(Error::Invalid(
            crate::domain::FieldErrors::single("pool", format!("no pool named {name:?}")),
        )),
        Err(e) => Err(e.into()),
    }
}
