//! Tenants as use cases: where a tenant's phones are (per server, split status, the phones away
//! from home, their moves), which tenants a server carries, and (bulk) assignment to pools.

use serde::Serialize;

use super::{App, Result, Seen, cluster};
use crate::domain::alerts::{TenantFacts, TenantPlacement, tenant_placement};
use crate::domain::ids::{PoolId, ServerId, TenantId};
use crate::domain::model::{Pool, Tenant};
use crate::store::{ListedTwice, PhoneRow};

/// Where a tenant's phones are: per server, at home, within normal, split or away (the one
/// definition of home the alerts use), the away phones, the moves.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TenantRegistrations {
    pub home: Option<String>,
    /// Its pool's home servers: every server with a normal share above zero.
    pub home_servers: Vec<String>,
    pub phones_by_server: Vec<(String, u64)>,
    pub registered: u64,
    /// `None` while none of its phones is registered.
    pub placement: Option<TenantPlacement>,
    /// The away share still normal (Settings): up to it a tenant is "within normal".
    pub normal_away_share: f64,
    pub away: Vec<PhoneRow>,
    pub moves: Vec<PhoneMoveRow>,
    /// Servers whose phones of this tenant await re-provisioning (its move in flight: home
    /// servers of the old pool that are not home servers of the new one).
    #[serde(default)]
    pub awaiting_servers: Vec<String>,
    /// Its endpoints listed on two servers at once (a handover's old contact not expired yet):
    /// each counts once, where it registered last.
    #[serde(default)]
    pub listed_twice: Vec<ListedTwice>,
}

/// One server change of one phone, as shown on the tenant page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PhoneMoveRow {
    pub endpoint: String,
    pub from: String,
    pub to: String,
    pub at: i64,
}

/// Where `tenant`'s phones are registered, judged against its pool's home (the cluster view's
/// one home computation).
pub async fn registrations(
    app: &App,
    tenant: &Tenant,
    pools: &[Pool],
    seen: Seen,
) -> Result<TenantRegistrations> {
    let view = cluster::load(app, seen).await?;
    let name = |id: Option<ServerId>| {
        id.map(|id| view.server_name(id))
            .unwrap_or_else(|| "?".into())
    };
    let pool = tenant
        .pool_id
        .and_then(|id| pools.iter().find(|p| p.id == id));
    let home_server = view.home_of(tenant.pool_id);
    let home = home_server.map(|s| s.name.to_string());
    let counts = app.store().tenant_phones_by_server(tenant.id).await?;
    let mut phones_by_server: Vec<(String, u64)> =
        counts.iter().map(|(s, n)| (name(Some(*s)), *n)).collect();
    phones_by_server.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let facts = TenantFacts {
        code: tenant.code.to_string(),
        pool: pool.map(|p| p.name.to_string()),
        home: home.clone(),
        home_servers: view.home_names(tenant.pool_id),
        pool_changing: view.pool_changing(tenant.pool_id),
        pool_servers: pool.map(|p| p.server_names()).unwrap_or_default(),
        expected_phones: tenant.expected_phones,
        phones_by_server: phones_by_server.clone(),
        moving: super::moves::tenant_facts(app, &view, tenant.id).await?,
    };
    let placement = tenant_placement(&facts, &view.settings.alerts);
    let awaiting_servers = match &facts.moving {
        Some(m) => phones_by_server
            .iter()
            .filter(|(s, _)| m.awaiting_on(s, &facts.home_servers))
            .map(|(s, _)| s.clone())
            .collect(),
        None => Vec::new(),
    };
    let home_ids: Vec<ServerId> = tenant
        .pool_id
        .and_then(|p| view.home_sets.get(&p))
        .cloned()
        .unwrap_or_default();
    let away = if placement.as_ref().is_some_and(|p| p.away_phones > 0) {
        // A tenant without a pool is measured against its fullest server.
        let not_on = if home_ids.is_empty() {
            counts
                .iter()
                .max_by_key(|(id, n)| (**n, std::cmp::Reverse(**id)))
                .map(|(id, _)| vec![*id])
                .unwrap_or_default()
        } else {
            home_ids
        };
        app.store().tenant_phones(tenant.id, &not_on, 200).await?
    } else {
        Vec::new()
    };
    let moves = app
        .store()
        .tenant_moves(tenant.id, 50)
        .await?
        .into_iter()
        .map(|m| PhoneMoveRow {
            endpoint: m.endpoint_key,
            from: name(m.from_server_id),
            to: name(m.to_server_id),
            at: m.at,
        })
        .collect();
    let listed_twice = app.store().tenant_listed_twice(tenant.id, 200).await?;
    Ok(TenantRegistrations {
        registered: phones_by_server.iter().map(|(_, n)| n).sum(),
        placement,
        normal_away_share: view.settings.alerts.normal_away_share,
        home_servers: facts.home_servers,
        home,
        phones_by_server,
        away,
        moves,
        awaiting_servers,
        listed_twice,
    })
}

/// A tenant with phones on one server, as the server page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct TenantOnServer {
    pub code: String,
    pub phones: u64,
    /// Whether this server is a home server of the tenant's pool; `None` for an unplaced tenant.
    pub home_here: Option<bool>,
}

/// The tenants with phones on `server_id` (at most `limit`), most phones first.
pub async fn on_server(
    app: &App,
    server_id: ServerId,
    limit: u32,
    seen: Seen,
) -> Result<Vec<TenantOnServer>> {
    let view = cluster::load(app, seen).await?;
    Ok(app
        .store()
        .tenants_on(server_id, limit)
        .await?
        .into_iter()
        .map(|t| TenantOnServer {
            // At home on any home server of its pool (several for a multi-primary pool).
            home_here: t
                .pool_id
                .and_then(|p| view.home_sets.get(&p))
                .map(|set| set.contains(&server_id)),
            code: t.code,
            phones: t.phones,
        })
        .collect())
}

/// Moves the tenants to `pool_id` (`None`: unplaced) in one transaction, each at the version
/// the admin saw; any tenant changed since refuses the whole move. Returns how many changed.
pub async fn bulk_assign(
    app: &App,
    tenants: &[(TenantId, i64)],
    pool_id: Option<PoolId>,
    actor: &str,
) -> Result<u64> {
    let moved = app
        .store()
        .bulk_assign_versions(tenants, pool_id, actor)
        .await?;
    Ok(moved)
}

/// Assigns one tenant to `pool_id` (`None`: unplaced), refusing a stale `version`.
pub async fn assign(
    app: &App,
    id: TenantId,
    version: i64,
    pool_id: Option<PoolId>,
    actor: &str,
) -> Result<Tenant> {
    let tenant = app
        .store()
        .assign_tenant(id, version, pool_id, actor)
        .await?;
    Ok(tenant)
}
