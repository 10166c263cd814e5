//! What if some servers were down: every server's projected phones (expected phones × its share
//! of each tenant's pool) with a chosen set of servers down, next to normal operation.

use super::{App, Error, Result};
use crate::domain::model::{Pool, Server};
use crate::domain::projection::{Projection, Scenario, TenantRef, project};
use crate::domain::srv::ClientModel;

/// A what-if answer: the servers, and the projection with nothing down and with `down` down.
pub struct WhatIf {
    pub servers: Vec<Server>,
    pub normal: Projection,
    pub projection: Projection,
}

/// Refuses a down set that names an unknown server.
pub fn check_down(servers: &[Server], down: &[String]) -> Result<()> {
    match down.iter().find(|d| !servers.iter().any(|s| &s.name == *d)) {
        Some(d) => Err(Error::field(
            "down",
            format!("there is no server named {d:?}"),
        )),
        None => Ok(()),
    }
}

/// Projects every tenant's expected phones with the servers `down` unavailable.
pub async fn whatif(app: &App, down: &[String], model: ClientModel) -> Result<WhatIf> {
    let servers = app.store().servers().await?;
    check_down(&servers, down)?;
    let pools = app.store().pools().await?;
    let tenants = app.store().tenant_placements().await?;
    let refs: Vec<_> = servers.iter().map(Server::projection_ref).collect();
    let pool_refs: Vec<_> = pools.iter().map(Pool::projection_ref).collect();
    let tenant_refs: Vec<TenantRef> = tenants
        .into_iter()
        .map(|t| TenantRef {
            phones: u64::from(t.expected_phones),
            pool: t
                .pool_id
                .and_then(|id| pools.iter().position(|p| p.id == id)),
            code: t.code,
        })
        .collect();
    let scenario = if down.is_empty() {
        Scenario::normal()
    } else {
        Scenario {
            name: format!("{} down", down.join(" + ")),
            down: down.to_vec(),
        }
    };
    let normal = project(&refs, &pool_refs, &tenant_refs, &Scenario::normal(), model);
    let projection = project(&refs, &pool_refs, &tenant_refs, &scenario, model);
    Ok(WhatIf {
        servers,
        normal,
        projection,
    })
}
