//! SRV shares and failure what-if: the pool share table, the what-if page, and their JSON API.

use askama::Template;
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde::Serialize;

use super::api::{ApiJson, ApiResult};
use super::extract::Path;
use super::filters;
use super::{AppState, Error, PageCtx, Result, Routes, page};
use crate::app::whatif::{WhatIf, check_down, whatif};
use crate::domain::FieldErrors;
use crate::domain::model::{Pool, Server};
use crate::domain::projection::{Projection, Scenario};
use crate::domain::srv::{ClientModel, PoolLint, Shares, SharesRequest, pool_lint, srv_shares};

pub fn router() -> Routes {
    Routes::new()
        .get("/whatif", whatif_page)
        .post("/api/v1/srv/shares", api_shares)
        .get("/api/v1/pools/{name}/shares", api_pool_shares)
        .get("/api/v1/whatif", api_whatif)
}

/// `down=a&down=b` or `down=a,b`, and `model=`, from a raw query string.
#[derive(Debug, Default)]
pub struct ScenarioParams {
    pub down: Vec<String>,
    pub model: ClientModel,
}

pub fn scenario_params(query: Option<&str>) -> Result<ScenarioParams> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| Error::BadRequest("the query string could not be read".into()))?;
    let mut out = ScenarioParams::default();
    for (k, v) in pairs {
        match k.as_str() {
            "down" => out.down.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            ),
            "model" if !v.is_empty() => {
                out.model = v
                    .parse()
                    .map_err(|e| Error::Invalid(FieldErrors::single("model", format!("{e}"))))?
            }
            _ => {}
        }
    }
    out.down.sort();
    out.down.dedup();
    Ok(out)
}

/// One column of the share table.
pub struct ShareColumn {
    pub title: String,
    pub weighted: Shares,
    pub rfc2782: Shares,
}

/// The pool page's share table: normal, each member server down, and the admin's own set.
pub struct ShareTable {
    pub columns: Vec<ShareColumn>,
    pub lint: Vec<PoolLint>,
    pub whole_chance: Vec<(u32, f64)>,
}

impl ShareTable {
    pub fn differs(a: f64, b: f64) -> bool {
        (a - b).abs() > 5e-7
    }
}

pub fn share_table(pool: &Pool, servers: &[Server], custom: &[String]) -> ShareTable {
    let records = pool.srv_records();
    let host_of = |name: &str| {
        servers
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.host.to_string())
    };
    let column = |title: String, down: Vec<String>| {
        let hosts: Vec<String> = down.iter().filter_map(|d| host_of(d)).collect();
        let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
        ShareColumn {
            title,
            weighted: srv_shares(&records, &hosts, ClientModel::Weighted),
            rfc2782: srv_shares(&records, &hosts, ClientModel::Rfc2782),
        }
    };
    let mut columns = vec![column("Normal".into(), vec![])];
    for name in pool.server_names() {
        columns.push(column(format!("{name} down"), vec![name]));
    }
    // A single server down already has its own column.
    if custom.len() > 1 {
        columns.push(column(
            format!("{} down", custom.join(" + ")),
            custom.to_vec(),
        ));
    }
    let out_of_service: Vec<(String, String)> = pool
        .members
        .iter()
        .filter_map(|m| servers.iter().find(|s| s.id == m.server_id))
        .filter(|s| s.state != crate::domain::model::ServerState::Active)
        .map(|s| (s.host.to_string(), s.state.to_string()))
        .collect();
    let oos: Vec<(&str, &str)> = out_of_service
        .iter()
        .map(|(h, s)| (h.as_str(), s.as_str()))
        .collect();
    let normal: Vec<f64> = columns[0]
        .weighted
        .servers
        .iter()
        .map(|s| s.share)
        .collect();
    let whole_chance = [1u32, 5, 10, 50]
        .iter()
        .map(|k| (*k, crate::domain::srv::whole_tenant_chance(&normal, *k)))
        .collect();
    ShareTable {
        columns,
        lint: pool_lint(&records, &oos),
        whole_chance,
    }
}

#[derive(Template)]
#[template(path = "whatif.html")]
struct WhatIfPage {
    ctx: PageCtx,
    servers: Vec<Server>,
    params: ScenarioParams,
    normal: Projection,
    projection: Projection,
}

impl WhatIfPage {
    fn is_down(&self, name: &str) -> bool {
        self.params.down.iter().any(|d| d == name)
    }
    fn normal_phones(&self, i: &usize) -> f64 {
        self.normal.servers.get(*i).map(|s| s.phones).unwrap_or(0.0)
    }
}

async fn whatif_page(
    State(st): State<AppState>,
    ctx: PageCtx,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let params = scenario_params(q.as_deref())?;
    let WhatIf {
        servers,
        normal,
        projection,
    } = whatif(&st.app, &params.down, params.model).await?;
    Ok(page(&WhatIfPage {
        ctx,
        servers,
        params,
        normal,
        projection,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SharesResponse {
    pub model: ClientModel,
    pub targets: Vec<TargetOut>,
    pub servers: Vec<ServerOut>,
    pub unreachable: f64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TargetOut {
    pub target: String,
    pub port: u16,
    pub priority: u16,
    pub weight: u16,
    pub share: f64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServerOut {
    pub target: String,
    pub share: f64,
}

fn shares_response(model: ClientModel, shares: Shares) -> SharesResponse {
    SharesResponse {
        model,
        targets: shares
            .targets
            .into_iter()
            .map(|t| TargetOut {
                target: t.target,
                port: t.port,
                priority: t.priority,
                weight: t.weight,
                share: t.share,
            })
            .collect(),
        servers: shares
            .servers
            .into_iter()
            .map(|s| ServerOut {
                target: s.target,
                share: s.share,
            })
            .collect(),
        unreachable: shares.unreachable,
    }
}

async fn api_shares(ApiJson(req): ApiJson<SharesRequest>) -> ApiResult<SharesResponse> {
    let req = req.validate().map_err(Error::Invalid)?;
    let down: Vec<&str> = req.down.iter().map(String::as_str).collect();
    Ok(Json(shares_response(
        req.model,
        srv_shares(&req.records, &down, req.model),
    )))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct PoolSharesResponse {
    pool: String,
    down: Vec<String>,
    #[serde(flatten)]
    shares: SharesResponse,
}

async fn api_pool_shares(
    State(st): State<AppState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<PoolSharesResponse> {
    let params = scenario_params(q.as_deref())?;
    let pool = st.store().pool_by_name(&name).await?;
    let servers = st.store().servers().await?;
    check_down(&servers, &params.down)?;
    let hosts: Vec<&str> = servers
        .iter()
        .filter(|s| params.down.iter().any(|d| d == s.name.as_str()))
        .map(|s| s.host.as_str())
        .collect();
    let shares = srv_shares(&pool.srv_records(), &hosts, params.model);
    Ok(Json(PoolSharesResponse {
        pool: pool.name.into_string(),
        down: params.down,
        shares: shares_response(params.model, shares),
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct WhatIfResponse {
    model: ClientModel,
    scenario: Scenario,
    servers: Vec<crate::domain::projection::ServerLoad>,
    stranded: f64,
    overloaded: Vec<String>,
    shifts: Vec<crate::domain::projection::TenantShift>,
}

async fn api_whatif(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<WhatIfResponse> {
    let params = scenario_params(q.as_deref())?;
    let p = whatif(&st.app, &params.down, params.model)
        .await?
        .projection;
    Ok(Json(WhatIfResponse {
        model: params.model,
        overloaded: p.overloaded().map(|s| s.server.clone()).collect(),
        scenario: p.scenario,
        servers: p.servers,
        stranded: p.stranded,
        shifts: p.shifts,
    }))
}
