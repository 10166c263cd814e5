//! The cluster as the overview, alerts, stats API and metrics see it: servers with their
//! registered, home, away and projected phones, pools with home/away, and the facts the alert
//! rules run on. Built from maintained counts (never by scanning registrations); the view is
//! cached per data version and the alerts for a few seconds more, dropped on every change.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

use super::cache::{Seen, ViewKey};
use super::{App, Result};
use crate::domain::alerts::{
    AlertBook, AwayPhones, ClusterFacts, FlappingPhone, PoolFacts, ServerFacts, TenantFacts,
    evaluate,
};
use crate::domain::ids::{PoolId, ServerId, TenantId};
use crate::domain::model::{Pool, Server, ServerState};
use crate::domain::pool_change::{ChangeState, PoolChange};
use crate::domain::projection::{
    Projection, Scenario, TenantRef, pool_home, project, worst_n_minus_one,
};
use crate::domain::settings::Settings;
use crate::domain::srv::{ClientModel, pool_lint};
use crate::store::{DataVersion, PoolLoad, PoolServerCount};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ServerStats {
    pub server: String,
    pub state: ServerState,
    pub registered: u64,
    pub home: u64,
    /// Phones away from home, moving tenants' phones awaiting re-provisioning left out.
    pub away: u64,
    /// Phones of moving tenants still on a home server of their old pool (not of the new one):
    /// expected there until the phones are re-provisioned, so not away.
    pub awaiting: u64,
    pub unmatched: u64,
    pub projected: f64,
    pub capacity: Option<u32>,
    pub last_report_at: Option<i64>,
    pub reporting_since: Option<i64>,
    /// The single failure that loads it most: (server down, phones projected here).
    pub worst_n1: Option<(String, f64)>,
}

impl ServerStats {
    pub fn utilisation(&self) -> Option<f64> {
        self.capacity
            .filter(|c| *c > 0)
            .map(|c| self.registered as f64 / c as f64)
    }

    /// Utilisation in the single failure that loads this server most.
    pub fn worst_n1_utilisation(&self) -> Option<f64> {
        let (_, phones) = self.worst_n1.as_ref()?;
        self.capacity.filter(|c| *c > 0).map(|c| phones / c as f64)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PoolStats {
    pub pool: String,
    pub pool_id: PoolId,
    pub home: Option<String>,
    /// Every server with a normal share above zero: phones there are at home.
    pub home_servers: Vec<String>,
    pub registered: u64,
    pub home_phones: u64,
    /// Moving tenants' phones awaiting re-provisioning left out (see `awaiting_phones`).
    pub away_phones: u64,
    /// Phones of its tenants that moved here and still sit on the old pool's home servers.
    pub awaiting_phones: u64,
    /// Registered phones of the pool per server, home servers first.
    pub by_server: Vec<(String, u64)>,
}

impl PoolStats {
    pub fn away_share(&self) -> f64 {
        if self.registered == 0 {
            0.0
        } else {
            self.away_phones as f64 / self.registered as f64
        }
    }

    /// Where the pool's phones are, by the one definition of home: at home, within the normal
    /// away share (not an alert), or drifting.
    pub fn status(&self, normal_away_share: f64) -> &'static str {
        if self.away_phones == 0 {
            "at home"
        } else if self.away_share() <= normal_away_share {
            "within normal"
        } else {
            "drifting"
        }
    }
}

#[derive(Clone)]
pub struct ClusterView {
    /// The data version it includes, at least.
    pub version: DataVersion,
    /// When it was computed (Unix seconds): a page served an older view while a new one builds
    /// can say how old its figures are.
    pub as_of: i64,
    pub servers: Vec<Server>,
    pub pools: Vec<Pool>,
    pub settings: Settings,
    /// Home server id of each pool (its largest normal share).
    pub homes: HashMap<PoolId, Option<ServerId>>,
    /// Servers that get phones of the pool with nothing down: phones there are "at home"
    /// (several for a pool that shares its top priority).
    pub home_sets: HashMap<PoolId, Vec<ServerId>>,
    /// For a multi-primary pool, the share of a tenant's phones expected off its fullest server
    /// (1 − the primary's normal share): the split it causes by design.
    pub expected_split: HashMap<PoolId, f64>,
    /// Pools whose member change has not settled at `as_of` (see `domain::pool_change`): what
    /// each waits for, with the change.
    pub changing: HashMap<PoolId, (PoolChange, ChangeState)>,
    pub stats: Vec<ServerStats>,
    pub pool_stats: Vec<PoolStats>,
    pub worst: Option<Projection>,
    pub any_registrations: bool,
    pub tenants: u64,
    pub unplaced: u64,
}

impl ClusterView {
    pub fn server_name(&self, id: ServerId) -> String {
        self.servers
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.to_string())
            .unwrap_or_else(|| format!("#{id}"))
    }
    /// The names of a pool's home servers (every server with a normal share above zero).
    pub fn home_names(&self, pool_id: Option<PoolId>) -> Vec<String> {
        pool_id
            .and_then(|p| self.home_sets.get(&p))
            .map(|ids| ids.iter().map(|id| self.server_name(*id)).collect())
            .unwrap_or_default()
    }
    pub fn server_ids(&self) -> Vec<ServerId> {
        self.servers.iter().map(|s| s.id).collect()
    }
    /// Whether the pool's member change is still settling.
    pub fn pool_changing(&self, pool_id: Option<PoolId>) -> bool {
        pool_id.is_some_and(|p| self.changing.contains_key(&p))
    }
    pub fn home_of(&self, pool_id: Option<PoolId>) -> Option<&Server> {
        let home = self.homes.get(&pool_id?).copied().flatten()?;
        self.servers.iter().find(|s| s.id == home)
    }
}

/// The view of the current data and clock tick (see [`super::cache`]): one rebuild per change
/// however many requests ask, the previous view served meanwhile to readers that have not
/// written since. Report ages are computed when a page is rendered.
pub async fn load(app: &App, seen: Seen) -> Result<Arc<ClusterView>> {
    let key = ViewKey::now(app.store.data_version().await?);
    load_at(app, key, seen).await
}

/// The view and the alerts together, for a page that shows both: the data version is read once.
pub async fn load_with_alerts(app: &App, seen: Seen) -> Result<(Arc<ClusterView>, Arc<AlertBook>)> {
    let key = ViewKey::now(app.store.data_version().await?);
    let view = load_at(app, key, seen).await?;
    let alerts = alerts_at(app, key, seen).await?;
    Ok((view, alerts))
}

/// [`load`] for a caller that read the data version earlier in the same request (the web layer
/// reads it with the session, in one statement); `None` reads it here.
pub async fn load_known(
    app: &App,
    version: Option<DataVersion>,
    seen: Seen,
) -> Result<Arc<ClusterView>> {
    let version = match version {
        // A version read before the reader's own last write (a recently read one) is not enough.
        Some(v) if v >= seen.0 => v,
        _ => app.store.data_version().await?,
    };
    load_at(app, ViewKey::now(version), seen).await
}

/// [`load_with_alerts`] for a caller that read the data version already (see [`load_known`]).
pub async fn load_with_alerts_known(
    app: &App,
    version: Option<DataVersion>,
    seen: Seen,
) -> Result<(Arc<ClusterView>, Arc<AlertBook>)> {
    let version = match version {
        // A version read before the reader's own last write (a recently read one) is not enough.
        Some(v) if v >= seen.0 => v,
        _ => app.store.data_version().await?,
    };
    let key = ViewKey::now(version);
    let view = load_at(app, key, seen).await?;
    let alerts = alerts_at(app, key, seen).await?;
    Ok((view, alerts))
}

async fn load_at(app: &App, key: ViewKey, seen: Seen) -> Result<Arc<ClusterView>> {
    let builder = app.clone();
    let cached = app
        .shared
        .view
        .get(key, seen, move || async move { build(&builder, key).await })
        .await?;
    Ok(cached.value)
}

/// Builds the view: a handful of small queries, whatever the number of phones.
async fn build(app: &App, key: ViewKey) -> Result<ClusterView> {
    let started = std::time::Instant::now();
    let view = build_view(app, key).await?;
    tracing::debug!(
        version = key.version,
        ms = started.elapsed().as_millis() as u64,
        "cluster view built"
    );
    Ok(view)
}

async fn build_view(app: &App, key: ViewKey) -> Result<ClusterView> {
    let as_of = jiff::Timestamp::now().as_second();
    let servers = app.store.servers().await?;
    let pools = app.store.pools().await?;
    let (settings, _) = app.store.settings().await?;
    let snapshots = app.store.latest_snapshots().await?;
    let report_times = app.store.report_times().await?;
    let changing: HashMap<PoolId, (PoolChange, ChangeState)> = app
        .store
        .pool_changes()
        .await?
        .into_iter()
        .map(|(id, change)| {
            let state = change.state(as_of);
            (id, (change, state))
        })
        .filter(|(_, (_, state))| *state != ChangeState::Settled)
        .collect();
    let moves = app.store.moves_in_flight().await?;
    let refs: Vec<_> = servers.iter().map(Server::projection_ref).collect();
    let mut homes: HashMap<PoolId, Option<ServerId>> = HashMap::new();
    let mut home_sets: HashMap<PoolId, Vec<ServerId>> = HashMap::new();
    let mut expected_split: HashMap<PoolId, f64> = HashMap::new();
    for p in &pools {
        let home = pool_home(&refs, &p.srv_records());
        homes.insert(p.id, home.primary.map(|i| servers[i].id));
        if home.servers.len() > 1 {
            expected_split.insert(p.id, (1.0 - home.primary_share).max(0.0));
        }
        home_sets.insert(p.id, home.servers.iter().map(|i| servers[*i].id).collect());
    }
    // The tenants' counts come from the tenant book, patched with the tenants changed since
    // (see [`super::tenant_book`]): no aggregate over every tenant per rebuild.
    let server_ids: Vec<ServerId> = servers.iter().map(|s| s.id).collect();
    let (kept, _) = super::tenant_book::refreshed(
        app,
        &home_sets,
        &server_ids,
        super::tenant_book::Need::Counts,
    )
    .await?;
    let book = &kept.book;
    let mut expected: HashMap<PoolId, PoolLoad> = HashMap::new();
    for e in book.iter() {
        if let Some(pool) = e.tenant.pool_id {
            let load = expected.entry(pool).or_default();
            load.tenants += 1;
            load.expected_phones += u64::from(e.tenant.expected_phones);
        }
    }
    let counts: Vec<PoolServerCount> = book
        .pool_server_phones()
        .into_iter()
        .map(|((pool_id, server_id), phones)| PoolServerCount {
            pool_id,
            server_id,
            phones,
        })
        .collect();
    // Projected load is linear in phones: one stand-in per pool gives the per-server figures.
    let pool_refs: Vec<_> = pools.iter().map(Pool::projection_ref).collect();
    let per_pool: Vec<TenantRef> = pools
        .iter()
        .enumerate()
        .map(|(i, p)| TenantRef {
            code: p.name.to_string(),
            phones: expected.get(&p.id).map(|e| e.expected_phones).unwrap_or(0),
            pool: Some(i),
        })
        .collect();
    let normal = project(
        &refs,
        &pool_refs,
        &per_pool,
        &Scenario::normal(),
        ClientModel::Weighted,
    );
    let scenarios: Vec<Projection> = servers
        .iter()
        .map(|s| {
            let sc = Scenario {
                name: format!("{} down", s.name),
                down: vec![s.name.to_string()],
            };
            project(&refs, &pool_refs, &per_pool, &sc, ClientModel::Weighted)
        })
        .collect();
    let worst = worst_n_minus_one(&refs, &pool_refs, &per_pool, ClientModel::Weighted);
    // Moving tenants' phones on a home server of their old pool that is not one of the new pool's
    // await re-provisioning: expected where they are until the phones are reconfigured.
    let mut awaiting: HashMap<(PoolId, ServerId), u64> = HashMap::new();
    if !moves.is_empty() {
        let counts_of_moving: Vec<(TenantId, ServerId, u64)> = moves
            .iter()
            .filter_map(|m| book.get(m.tenant_id))
            .flat_map(|e| e.phones.iter().map(|(s, n)| (e.tenant.id, *s, *n)))
            .collect();
        for m in &moves {
            let (Some(to), Some(old_home)) =
                (m.to_pool_id, m.from_pool_id.and_then(|p| home_sets.get(&p)))
            else {
                continue;
            };
            let new_home = home_sets.get(&to).cloned().unwrap_or_default();
            for (_, server, n) in counts_of_moving.iter().filter(|c| c.0 == m.tenant_id) {
                if old_home.contains(server) && !new_home.contains(server) {
                    *awaiting.entry((to, *server)).or_default() += n;
                }
            }
        }
    }
    let mut stats = Vec::with_capacity(servers.len());
    for (j, s) in servers.iter().enumerate() {
        let snap = snapshots.iter().find(|x| x.server_id == s.id);
        let (mut home, mut away, mut waiting, mut matched) = (0, 0, 0, 0);
        for c in counts.iter().filter(|c| c.server_id == s.id) {
            matched += c.phones;
            match c
                .pool_id
                .and_then(|p| home_sets.get(&p).map(|set| (p, set)))
            {
                Some((_, set)) if set.contains(&s.id) => home += c.phones,
                Some((p, _)) => {
                    let w = awaiting.get(&(p, s.id)).copied().unwrap_or(0).min(c.phones);
                    waiting += w;
                    away += c.phones - w;
                }
                None => {}
            }
        }
        let worst_n1 = scenarios
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != j)
            .map(|(i, p)| (servers[i].name.to_string(), p.servers[j].phones))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let times = report_times.get(&s.id).copied().unwrap_or_default();
        stats.push(ServerStats {
            server: s.name.to_string(),
            state: s.state,
            // The maintained counts (which another server's newer report of a phone listed on
            // both changes after this server's snapshot) plus the snapshot's unmatched phones.
            registered: matched + snap.map(|x| x.unmatched as u64).unwrap_or(0),
            home,
            away,
            awaiting: waiting,
            unmatched: snap.map(|x| x.unmatched as u64).unwrap_or(0),
            projected: normal.servers[j].phones,
            capacity: s.capacity,
            last_report_at: times.last_report_at,
            reporting_since: times.reporting_since,
            worst_n1,
        });
    }
    let pool_stats = pools
        .iter()
        .map(|p| {
            let home = homes.get(&p.id).copied().flatten();
            let set = home_sets.get(&p.id).cloned().unwrap_or_default();
            let (mut registered, mut home_phones, mut awaiting_phones) = (0, 0, 0);
            let mut by_server = Vec::new();
            for c in counts.iter().filter(|c| c.pool_id == Some(p.id)) {
                registered += c.phones;
                if set.contains(&c.server_id) {
                    home_phones += c.phones;
                } else {
                    awaiting_phones += awaiting
                        .get(&(p.id, c.server_id))
                        .copied()
                        .unwrap_or(0)
                        .min(c.phones);
                }
                if let Some(s) = servers.iter().find(|s| s.id == c.server_id) {
                    by_server.push((s.name.to_string(), c.phones));
                }
            }
            by_server.sort_by_key(|(name, n)| {
                (
                    !servers
                        .iter()
                        .any(|s| &s.name == name && set.contains(&s.id)),
                    std::cmp::Reverse(*n),
                )
            });
            PoolStats {
                pool: p.name.to_string(),
                pool_id: p.id,
                home: home
                    .and_then(|h| servers.iter().find(|s| s.id == h))
                    .map(|s| s.name.to_string()),
                home_servers: set
                    .iter()
                    .filter_map(|id| servers.iter().find(|s| s.id == *id))
                    .map(|s| s.name.to_string())
                    .collect(),
                registered,
                home_phones,
                away_phones: registered - home_phones - awaiting_phones,
                awaiting_phones,
                by_server,
            }
        })
        .collect();
    let tenants = book.len() as u64;
    drop(kept);
    let placed: u64 = expected.values().map(|e| e.tenants).sum();
    Ok(ClusterView {
        version: key.version,
        as_of,
        any_registrations: !snapshots.is_empty(),
        tenants,
        unplaced: tenants.saturating_sub(placed),
        servers,
        pools,
        settings,
        homes,
        home_sets,
        expected_split,
        changing,
        stats,
        pool_stats,
        worst,
    })
}

/// The facts the alert rules need: the tenants from this instance's tenant book (patched with
/// the tenants changed since its last use, see [`super::tenant_book`]), the move history.
pub async fn facts(app: &App, view: &ClusterView) -> Result<ClusterFacts> {
    let now = jiff::Timestamp::now().as_second();
    let started = std::time::Instant::now();
    let ms = |t: std::time::Instant| t.elapsed().as_secs_f64() * 1e3;
    let names: HashMap<ServerId, String> = view
        .servers
        .iter()
        .map(|s| (s.id, s.name.to_string()))
        .collect();
    let name = |id: ServerId| names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
    let (kept, refresh) = super::tenant_book::refreshed(
        app,
        &view.home_sets,
        &view.server_ids(),
        super::tenant_book::Need::AwayPhones,
    )
    .await?;
    // What the rules need of the book, taken out so that its lock is not held across the
    // store calls below.
    let book = &kept.book;
    let mut by_tenant: HashMap<TenantId, Vec<(String, u64)>> = book
        .iter()
        .map(|e| {
            let phones = e.phones.iter().map(|(s, n)| (name(*s), *n)).collect();
            (e.tenant.id, phones)
        })
        .collect();
    let tenants: Vec<crate::domain::tenant_book::BookTenant> =
        book.iter().map(|e| e.tenant.clone()).collect();
    let groups: Vec<(crate::domain::tenant_book::AwayGroup, Option<PoolId>)> = book
        .away_groups(now - view.settings.alerts.failback_after_secs)
        .into_iter()
        .map(|g| {
            let pool = book.get(g.tenant_id).and_then(|e| e.tenant.pool_id);
            (g, pool)
        })
        .collect();
    drop(kept);
    let book_ms = ms(started);
    let pool_by_id: HashMap<PoolId, &Pool> = view.pools.iter().map(|p| (p.id, p)).collect();
    // Moves in flight: their phones still on the old pool's home servers await
    // re-provisioning, so they are not the new pool's drift either.
    let mut moving = super::moves::facts(app, view, now).await?;
    let moves_ms = ms(started);
    let mut awaiting: HashMap<PoolId, HashMap<String, u64>> = HashMap::new();
    for t in &tenants {
        let (Some(m), Some(pool)) = (moving.get(&t.id), t.pool_id) else {
            continue;
        };
        let new_home = view.home_names(Some(pool));
        for (server, n) in by_tenant.get(&t.id).into_iter().flatten() {
            if m.awaiting_on(server, &new_home) {
                *awaiting
                    .entry(pool)
                    .or_default()
                    .entry(server.clone())
                    .or_default() += n;
            }
        }
    }
    let tenant_facts = tenants
        .iter()
        .map(|t| {
            let pool = t.pool_id.and_then(|p| pool_by_id.get(&p).copied());
            TenantFacts {
                code: t.code.clone(),
                pool: pool.map(|p| p.name.to_string()),
                home: view.home_of(t.pool_id).map(|s| s.name.to_string()),
                home_servers: view.home_names(t.pool_id),
                pool_changing: view.pool_changing(t.pool_id),
                pool_servers: pool.map(|p| p.server_names()).unwrap_or_default(),
                expected_phones: t.expected_phones,
                phones_by_server: by_tenant.remove(&t.id).unwrap_or_default(),
                moving: moving.remove(&t.id),
            }
        })
        .collect();
    let servers = view
        .servers
        .iter()
        .zip(&view.stats)
        .map(|(s, stat)| ServerFacts {
            name: s.name.to_string(),
            state: s.state.to_string(),
            capacity: s.capacity,
            last_report_at: stat.last_report_at,
            reporting_since: stat.reporting_since,
            registered: stat.registered,
            unmatched: stat.unmatched,
            projected_normal: stat.projected,
            worst_n1: stat.worst_n1.clone(),
        })
        .collect();
    let pools = view
        .pools
        .iter()
        .map(|p| {
            let oos: Vec<(String, String)> = p
                .members
                .iter()
                .filter_map(|m| view.servers.iter().find(|s| s.id == m.server_id))
                .filter(|s| s.state != ServerState::Active)
                .map(|s| (s.host.to_string(), s.state.to_string()))
                .collect();
            let oos: Vec<(&str, &str)> =
                oos.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            let stat = view.pool_stats.iter().find(|x| x.pool_id == p.id);
            PoolFacts {
                name: p.name.to_string(),
                home: stat.and_then(|x| x.home.clone()),
                home_servers: view.home_names(Some(p.id)),
                expected_split_share: view.expected_split.get(&p.id).copied(),
                changing: view.pool_changing(Some(p.id)),
                member_servers: p.server_names(),
                phones_by_server: Vec::new(),
                lint: pool_lint(&p.srv_records(), &oos),
            }
            .with_phones(stat, &view.home_names(Some(p.id)))
            .without(awaiting.get(&p.id))
        })
        .collect();
    let assembled_ms = ms(started);
    let mut unmatched = Vec::new();
    for stat in view.stats.iter().filter(|s| s.unmatched > 0) {
        if let Some(s) = view.servers.iter().find(|x| x.name == stat.server) {
            for p in app.store.unmatched_on(s.id, 5).await? {
                unmatched.push((s.name.to_string(), p.endpoint));
            }
        }
    }
    let unmatched_ms = ms(started);
    let a = &view.settings.alerts;
    let code_of: HashMap<TenantId, &str> =
        tenants.iter().map(|t| (t.id, t.code.as_str())).collect();
    let flapping = app
        .store
        .flapping_phones(now - a.flap_window_secs, a.flap_moves.max(1))
        .await?
        .into_iter()
        .map(|f| FlappingPhone {
            tenant: f
                .tenant_id
                .and_then(|t| code_of.get(&t).map(|c| c.to_string())),
            moves: f.moves,
            servers: f.server_ids.into_iter().map(name).collect(),
            endpoint: f.endpoint,
        })
        .collect();
    let flapping_ms = ms(started);
    // Failback candidates: phones away from home since before the grace period, grouped by
    // server, tenant and user agent (servers in the view's order).
    let order: HashMap<ServerId, usize> = view
        .servers
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id, i))
        .collect();
    let mut groups = groups;
    groups.sort_by_key(|(g, _)| order.get(&g.server_id).copied().unwrap_or(usize::MAX));
    let mut away = Vec::new();
    for (group, pool_id) in groups {
        let Some(home) = view.home_of(pool_id) else {
            continue;
        };
        away.push(AwayPhones {
            tenant: group.tenant,
            server: name(group.server_id),
            home: home.name.to_string(),
            user_agent: group.user_agent,
            phones: group.phones,
            away_since: group.since,
            examples: vec![group.example],
        });
    }
    tracing::debug!(
        ?refresh,
        book_ms,
        moves_ms,
        assembled_ms,
        unmatched_ms,
        flapping_ms,
        away_ms = ms(started),
        "alert facts gathered (ms since the start)"
    );
    Ok(ClusterFacts {
        now,
        servers,
        pools,
        tenants: tenant_facts,
        unmatched,
        flapping,
        away,
        any_registrations: view.any_registrations,
    })
}

trait WithPhones {
    fn with_phones(self, stat: Option<&PoolStats>, home_set: &[String]) -> Self;
    fn without(self, awaiting: Option<&HashMap<String, u64>>) -> Self;
}

impl WithPhones for PoolFacts {
    /// The pool's phones per server for the drift rule. A pool that shares its top priority
    /// sends phones to several servers by design (its lint says so); phones on any of them are
    /// counted under the home server, so only phones off the whole home set count as drift.
    fn with_phones(mut self, stat: Option<&PoolStats>, home_set: &[String]) -> Self {
        let (Some(stat), Some(home)) = (stat, self.home.clone()) else {
            return self;
        };
        let mut at_home = 0;
        for (server, n) in &stat.by_server {
            if home_set.contains(server) {
                at_home += n;
            } else {
                self.phones_by_server.push((server.clone(), *n));
            }
        }
        self.phones_by_server.insert(0, (home, at_home));
        self
    }

    /// Leaves out the phones of moving tenants that await re-provisioning (per server).
    fn without(mut self, awaiting: Option<&HashMap<String, u64>>) -> Self {
        if let Some(awaiting) = awaiting {
            for (server, n) in &mut self.phones_by_server {
                if let Some(w) = awaiting.get(server.as_str()) {
                    *n = n.saturating_sub(*w);
                }
            }
            self.phones_by_server.retain(|(_, n)| *n > 0);
        }
        self
    }
}

/// The current alerts, cached like the view (see [`load`]).
pub async fn alerts(app: &App, seen: Seen) -> Result<Arc<AlertBook>> {
    let key = ViewKey::now(app.store.data_version().await?);
    alerts_at(app, key, seen).await
}

async fn alerts_at(app: &App, key: ViewKey, seen: Seen) -> Result<Arc<AlertBook>> {
    let builder = app.clone();
    let cached = app
        .shared
        .alerts
        .get(key, seen, move || async move {
            evaluate_alerts(&builder, key).await
        })
        .await?;
    Ok(cached.value)
}

/// Evaluates every rule over the view of `key`'s version (or newer) and the newest DNS check.
async fn evaluate_alerts(app: &App, key: ViewKey) -> Result<AlertBook> {
    let started = std::time::Instant::now();
    let view = load_at(app, key, Seen(key.version)).await?;
    let viewed = started.elapsed();
    let facts = facts(app, &view).await?;
    let gathered = started.elapsed();
    let mut book = evaluate(&facts, &view.settings.alerts);
    tracing::debug!(
        version = key.version,
        view_ms = viewed.as_millis() as u64,
        facts_ms = (gathered - viewed).as_millis() as u64,
        rules_ms = (started.elapsed() - gathered).as_millis() as u64,
        alerts = book.alerts.len(),
        "alerts evaluated"
    );
    if let Some(crate::store::StoredCheck { report, .. }) = app.store.latest_dns_check().await? {
        // The DNS check does not know phones: a pool's drift affects every phone of the pool.
        book.alerts
            .extend(report.alerts().into_iter().map(|mut alert| {
                if let Some(pool) = view
                    .pool_stats
                    .iter()
                    .find(|p| alert.concerns(crate::domain::alerts::ObjectKind::Pool, &p.pool))
                {
                    alert.impact_phones = pool.registered;
                }
                alert
            }));
        crate::domain::alerts::sort(&mut book.alerts);
    }
    Ok(book)
}
