//! The impact preview of a change of placement, before it is applied: tenants assigned to other
//! pools (one, a bulk selection, a plan, a CSV import) or a pool's members edited. The figures are
//! those of the overview (the cluster view's servers and pools, tenants' expected phones),
//! before and after the change ([`crate::domain::impact`]).

use std::collections::HashMap;

use super::{App, Result, Seen, cluster};
use crate::domain::ids::{PoolId, TenantId};
use crate::domain::impact::{Impact, Side, impact};
use crate::domain::model::{NewMember, Pool, Server};
use crate::domain::projection::{PoolRef, TenantRef};
use crate::domain::srv::{ClientModel, SrvRecord};
use crate::store::TenantPlacement;

/// Past this many tenants, their pools and phones are read in one query rather than one by one.
const READ_ALL_ABOVE: usize = 20;

/// The cluster as the preview projects it: one stand-in tenant per pool carrying the expected
/// phones of the pool's tenants (projection is linear in phones, as in the cluster view).
struct Basis {
    servers: Vec<Server>,
    pools: Vec<Pool>,
    /// Expected phones per pool, in the order of `pools`.
    phones: Vec<u64>,
    warning_level: f64,
}

async fn basis(app: &App, seen: Seen) -> Result<Basis> {
    // A preview is what the admin confirms: it is computed on the newest data, never on an older
    // view kept for readers that have not written.
    let seen = seen.max(Seen(app.store().data_version().await?));
    let view = cluster::load(app, seen).await?;
    let counts = app.store().pool_tenant_counts().await?;
    let phones = view
        .pools
        .iter()
        .map(|p| counts.get(&p.id).map(|c| c.expected_phones).unwrap_or(0))
        .collect();
    Ok(Basis {
        servers: view.servers.clone(),
        pools: view.pools.clone(),
        phones,
        warning_level: view.settings.alerts.capacity_warning,
    })
}

impl Basis {
    fn stand_ins(&self, phones: &[u64]) -> Vec<TenantRef> {
        self.pools
            .iter()
            .zip(phones)
            .enumerate()
            .map(|(i, (p, n))| TenantRef {
                code: p.name.to_string(),
                phones: *n,
                pool: Some(i),
            })
            .collect()
    }

    fn impact(&self, after_pools: &[PoolRef], after_phones: &[u64]) -> Impact {
        let servers: Vec<_> = self.servers.iter().map(Server::projection_ref).collect();
        let pools: Vec<_> = self.pools.iter().map(Pool::projection_ref).collect();
        let before = self.stand_ins(&self.phones);
        let after = self.stand_ins(after_phones);
        impact(
            &servers,
            Side {
                pools: &pools,
                tenants: &before,
            },
            Side {
                pools: after_pools,
                tenants: &after,
            },
            self.warning_level,
            ClientModel::Weighted,
        )
    }

    fn index(&self, pool: Option<PoolId>) -> Option<usize> {
        pool.and_then(|id| self.pools.iter().position(|p| p.id == id))
    }

    /// Expected phones per pool after moving `(phones, from, to)`.
    fn moved(
        &self,
        moves: impl IntoIterator<Item = (u64, Option<PoolId>, Option<PoolId>)>,
    ) -> Vec<u64> {
        let mut phones = self.phones.clone();
        for (n, from, to) in moves {
            if from == to {
                continue;
            }
            if let Some(i) = self.index(from) {
                phones[i] = phones[i].saturating_sub(n);
            }
            if let Some(i) = self.index(to) {
                phones[i] += n;
            }
        }
        phones
    }
}

/// The tenants of a selection as they are now (one query for a large selection), in the order
/// asked; an unknown tenant is refused as not found.
pub async fn selected(app: &App, ids: &[TenantId]) -> Result<Vec<TenantPlacement>> {
    let mut current: HashMap<TenantId, TenantPlacement> = HashMap::new();
    if ids.len() > READ_ALL_ABOVE {
        for t in app.store().tenant_placements().await? {
            current.insert(t.id, t);
        }
    } else {
        for id in ids {
            let t = app.store().tenant(*id).await?;
            current.insert(
                t.id,
                TenantPlacement {
                    id: t.id,
                    code: t.code.to_string(),
                    expected_phones: t.expected_phones,
                    pool_id: t.pool_id,
                    version: t.version,
                },
            );
        }
    }
    ids.iter()
        .map(|id| {
            current
                .remove(id)
                .ok_or_else(|| super::Error::NotFound(format!("there is no tenant #{id}")))
        })
        .collect()
}

/// The impact of assigning tenants to pools (`None`: unplaced), each to its own pool; tenants
/// already there change nothing. An unknown tenant is refused as not found.
pub async fn preview_assign(
    app: &App,
    changes: &[(TenantId, Option<PoolId>)],
    seen: Seen,
) -> Result<Impact> {
    let ids: Vec<TenantId> = changes.iter().map(|c| c.0).collect();
    let tenants = selected(app, &ids).await?;
    let moves: Vec<_> = tenants
        .iter()
        .zip(changes)
        .map(|(t, (_, to))| (u64::from(t.expected_phones), t.pool_id, *to))
        .collect();
    preview_moves(app, &moves, seen).await
}

/// The impact of moves whose phones and pools are known already (a plan's moves, a CSV
/// import's lines): `(expected phones, from pool, to pool)`.
pub async fn preview_moves(
    app: &App,
    moves: &[(u64, Option<PoolId>, Option<PoolId>)],
    seen: Seen,
) -> Result<Impact> {
    let b = basis(app, seen).await?;
    let after = b.moved(moves.iter().copied());
    let pools: Vec<_> = b.pools.iter().map(Pool::projection_ref).collect();
    Ok(b.impact(&pools, &after))
}

/// The impact of replacing `pool_id`'s members by `members` (weights, priorities, members added
/// or removed): the same tenants, other SRV records.
pub async fn preview_pool_members(
    app: &App,
    pool_id: PoolId,
    members: &[NewMember],
    seen: Seen,
) -> Result<Impact> {
    let b = basis(app, seen).await?;
    let Some(i) = b.index(Some(pool_id)) else {
        return Err(super::Error::NotFound(format!(
            "there is no pool #{pool_id}"
        )));
    };
    let mut pools: Vec<_> = b.pools.iter().map(Pool::projection_ref).collect();
    pools[i].records = members
        .iter()
        .filter_map(|m| {
            let s = b.servers.iter().find(|s| s.id == m.server_id)?;
            Some(SrvRecord::new(
                m.priority,
                m.weight,
                m.port.unwrap_or(5060),
                s.host.to_string(),
            ))
        })
        .collect();
    Ok(b.impact(&pools, &b.phones))
}

/// The impact of a tenants CSV import: each row replaces the tenant of its code (its expected
/// phones and pool) or adds a new one.
pub async fn preview_tenant_rows(
    app: &App,
    rows: &[crate::domain::model::NewTenant],
    seen: Seen,
) -> Result<Impact> {
    let existing: HashMap<String, (u64, Option<PoolId>)> = app
        .store()
        .all_tenants()
        .await?
        .into_iter()
        .map(|t| {
            (
                t.code.to_lowercase(),
                (u64::from(t.expected_phones), t.pool_id),
            )
        })
        .collect();
    let mut moves = Vec::with_capacity(rows.len() * 2);
    for row in rows {
        if let Some(&(phones, pool)) = existing.get(&row.code.to_lowercase()) {
            moves.push((phones, pool, None));
        }
        moves.push((u64::from(row.expected_phones), None, row.pool_id));
    }
    preview_moves(app, &moves, seen).await
}
