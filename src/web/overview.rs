//! The overview: the cluster at a glance.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{AppState, PageCtx, Result, Routes, page};
use crate::domain::model::{Pool, Server};
use crate::domain::projection::{Projection, Scenario, TenantRef, project, worst_n_minus_one};
use crate::domain::srv::ClientModel;

pub fn router() -> Routes {
    Routes::new().get("/", overview)
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    ctx: PageCtx,
    servers: Vec<Server>,
    pools: Vec<(Pool, u64, u64)>,
    tenants: u64,
    unplaced: u64,
    normal: Projection,
    worst: Option<Projection>,
}

impl OverviewPage {
    fn worst_load(&self, i: &usize) -> Option<&crate::domain::projection::ServerLoad> {
        self.worst.as_ref().and_then(|w| w.servers.get(*i))
    }
}

async fn overview(State(st): State<AppState>, ctx: PageCtx) -> Result<Response> {
    let servers = st.store.servers().await?;
    let counts = st.store.pool_tenant_counts().await?;
    let pools: Vec<(Pool, u64, u64)> = st
        .store
        .pools()
        .await?
        .into_iter()
        .map(|p| {
            let (t, ph) = counts.get(&p.id).copied().unwrap_or((0, 0));
            (p, t, ph)
        })
        .collect();
    let tenants = st.store.tenant_count().await?;
    let placed: u64 = pools.iter().map(|(_, t, _)| t).sum();
    // Projected load is linear in phones, so one stand-in tenant per pool (its expected phones)
    // gives the same per-server figures as every tenant would, without loading them all.
    let refs: Vec<_> = servers.iter().map(Server::projection_ref).collect();
    let pool_refs: Vec<_> = pools.iter().map(|(p, _, _)| p.projection_ref()).collect();
    let per_pool: Vec<TenantRef> = pools
        .iter()
        .enumerate()
        .map(|(i, (p, _, phones))| TenantRef {
            code: p.name.clone(),
            phones: *phones,
            pool: Some(i),
        })
        .collect();
    let model = ClientModel::Weighted;
    let normal = project(&refs, &pool_refs, &per_pool, &Scenario::normal(), model);
    let worst = worst_n_minus_one(&refs, &pool_refs, &per_pool, model);
    Ok(page(&OverviewPage {
        ctx,
        servers,
        pools,
        tenants,
        unplaced: tenants.saturating_sub(placed),
        normal,
        worst,
    }))
}
