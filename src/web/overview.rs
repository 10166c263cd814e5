//! The overview: the cluster at a glance.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{AppState, PageCtx, Result, Routes, page};
use crate::domain::model::{Pool, Server};

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
    Ok(page(&OverviewPage {
        ctx,
        servers,
        pools,
        tenants,
        unplaced: tenants.saturating_sub(placed),
    }))
}
