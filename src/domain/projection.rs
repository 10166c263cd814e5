//! Projected load: where the tenants' phones would register if some servers were down, using the
//! SRV share engine. A pool is given by its SRV records; servers by name and host.

use serde::Serialize;

use super::srv::{ClientModel, Shares, SrvRecord, srv_shares};

/// A server as the projection sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerRef {
    pub name: String,
    pub host: String,
    pub capacity: Option<u32>,
}

/// A pool's SRV records (targets are server hosts).
#[derive(Debug, Clone, PartialEq)]
pub struct PoolRef {
    pub name: String,
    pub records: Vec<SrvRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TenantRef {
    pub code: String,
    pub phones: u64,
    /// Index into the pools.
    pub pool: Option<usize>,
}

/// A failure scenario: which servers are down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Scenario {
    pub name: String,
    pub down: Vec<String>,
}

impl Scenario {
    pub fn normal() -> Self {
        Self {
            name: "normal".into(),
            down: Vec::new(),
        }
    }
}

/// The normal scenario, then each single server down (N−1).
pub fn n_minus_one(servers: &[ServerRef]) -> Vec<Scenario> {
    std::iter::once(Scenario::normal())
        .chain(servers.iter().map(|s| Scenario {
            name: format!("{} down", s.name),
            down: vec![s.name.clone()],
        }))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ServerLoad {
    pub server: String,
    pub phones: f64,
    pub capacity: Option<u32>,
    /// phones / capacity, when a capacity is set.
    pub utilisation: Option<f64>,
    pub down: bool,
    pub overloaded: bool,
}

/// A tenant whose phones change server in the scenario.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TenantShift {
    pub tenant: String,
    pub phones: u64,
    /// Phones per server in normal operation and in the scenario.
    pub before: Vec<(String, f64)>,
    pub after: Vec<(String, f64)>,
    /// Phones that find no server at all.
    pub stranded: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Projection {
    pub scenario: Scenario,
    pub servers: Vec<ServerLoad>,
    /// Phones that cannot register anywhere in this scenario.
    pub stranded: f64,
    pub shifts: Vec<TenantShift>,
}

impl Projection {
    pub fn overloaded(&self) -> impl Iterator<Item = &ServerLoad> {
        self.servers.iter().filter(|s| s.overloaded)
    }

    /// The highest utilisation in this scenario, with its server.
    pub fn worst(&self) -> Option<(&ServerLoad, f64)> {
        self.servers
            .iter()
            .filter_map(|s| s.utilisation.map(|u| (s, u)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// Each server's share of each pool in one scenario: `[pool][server]`.
pub fn pool_server_shares(
    servers: &[ServerRef],
    pools: &[PoolRef],
    down: &[String],
    model: ClientModel,
) -> Vec<Vec<f64>> {
    let down_hosts: Vec<&str> = servers
        .iter()
        .filter(|s| down.contains(&s.name))
        .map(|s| s.host.as_str())
        .collect();
    pools
        .iter()
        .map(|p| {
            let shares = srv_shares(&p.records, &down_hosts, model);
            servers
                .iter()
                .map(|s| shares.server_share(&s.host))
                .collect()
        })
        .collect()
}

fn per_server(
    servers: &[ServerRef],
    tenants: &[TenantRef],
    shares: &[Vec<f64>],
) -> (Vec<f64>, f64) {
    let mut load = vec![0.0; servers.len()];
    let mut stranded = 0.0;
    for t in tenants {
        let Some(p) = t.pool else { continue };
        let row = &shares[p];
        let mut placed = 0.0;
        for (j, share) in row.iter().enumerate() {
            load[j] += t.phones as f64 * share;
            placed += share;
        }
        stranded += t.phones as f64 * (1.0 - placed).max(0.0);
    }
    (load, stranded)
}

/// Projects the tenants' phones onto the servers for `scenario`.
pub fn project(
    servers: &[ServerRef],
    pools: &[PoolRef],
    tenants: &[TenantRef],
    scenario: &Scenario,
    model: ClientModel,
) -> Projection {
    let normal = pool_server_shares(servers, pools, &[], model);
    let shares = pool_server_shares(servers, pools, &scenario.down, model);
    let (load, stranded) = per_server(servers, tenants, &shares);
    let loads = servers
        .iter()
        .zip(load)
        .map(|(s, phones)| {
            let utilisation = s.capacity.filter(|c| *c > 0).map(|c| phones / c as f64);
            ServerLoad {
                server: s.name.clone(),
                phones,
                capacity: s.capacity,
                utilisation,
                down: scenario.down.contains(&s.name),
                overloaded: utilisation.is_some_and(|u| u > 1.0 + 1e-9),
            }
        })
        .collect();
    let spread = |row: &[f64], phones: u64| -> Vec<(String, f64)> {
        servers
            .iter()
            .zip(row)
            .filter(|(_, share)| **share > 1e-12)
            .map(|(s, share)| (s.name.clone(), phones as f64 * share))
            .collect()
    };
    let mut shifts = Vec::new();
    if !scenario.down.is_empty() {
        for t in tenants {
            let Some(p) = t.pool else { continue };
            if normal[p] == shares[p] {
                continue;
            }
            let placed: f64 = shares[p].iter().sum();
            shifts.push(TenantShift {
                tenant: t.code.clone(),
                phones: t.phones,
                before: spread(&normal[p], t.phones),
                after: spread(&shares[p], t.phones),
                stranded: t.phones as f64 * (1.0 - placed).max(0.0),
            });
        }
        shifts.sort_by(|a, b| {
            b.phones
                .cmp(&a.phones)
                .then_with(|| a.tenant.cmp(&b.tenant))
        });
    }
    Projection {
        scenario: scenario.clone(),
        servers: loads,
        stranded,
        shifts,
    }
}

/// The N−1 scenario with the highest utilisation anywhere: the failure the cluster absorbs worst.
pub fn worst_n_minus_one(
    servers: &[ServerRef],
    pools: &[PoolRef],
    tenants: &[TenantRef],
    model: ClientModel,
) -> Option<Projection> {
    n_minus_one(servers)
        .into_iter()
        .skip(1)
        .map(|sc| project(servers, pools, tenants, &sc, model))
        .filter(|p| p.worst().is_some())
        .max_by(|a, b| {
            let ua = a.worst().map(|w| w.1).unwrap_or(0.0);
            let ub = b.worst().map(|w| w.1).unwrap_or(0.0);
            ua.total_cmp(&ub)
        })
}

/// The home server of a pool: the one its phones go to when nothing is down (the largest share;
/// ties go to the server listed first).
pub fn home_server<'a>(servers: &'a [ServerRef], shares: &Shares) -> Option<&'a ServerRef> {
    let mut best: Option<(&ServerRef, f64)> = None;
    for s in servers {
        let share = shares.server_share(&s.host);
        if share > 1e-12 && best.is_none_or(|(_, b)| share > b + 1e-12) {
            best = Some((s, share));
        }
    }
    best.map(|(s, _)| s)
}

/// Where a pool's phones belong with nothing down (the one definition of home used by every
/// page, alert, metric and API): its *home servers* are those with a normal share above zero;
/// the *primary* is the one with the largest share (the first listed on a tie). For a
/// one-primary pool (pbxA) the set is just the primary; for a multi-primary pool (60/20/20) it
/// holds every server of the top priority.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolHome {
    /// Index into the servers given to [`pool_home`].
    pub primary: Option<usize>,
    /// Indices into the servers given to [`pool_home`], in their order.
    pub servers: Vec<usize>,
    /// The primary's normal share (0 without one): `1 − primary_share` of a multi-primary
    /// pool's phones are expected off its fullest server, the split it causes by design.
    pub primary_share: f64,
}

impl PoolHome {
    pub fn contains(&self, server: usize) -> bool {
        self.servers.contains(&server)
    }
}

/// Computes a pool's [`PoolHome`] from its SRV records under the `weighted` client model.
pub fn pool_home(servers: &[ServerRef], records: &[SrvRecord]) -> PoolHome {
    let shares = srv_shares(records, &[], ClientModel::Weighted);
    let primary =
        home_server(servers, &shares).and_then(|h| servers.iter().position(|s| std::ptr::eq(s, h)));
    let primary_share = primary
        .map(|i| shares.server_share(&servers[i].host))
        .unwrap_or(0.0);
    let servers = servers
        .iter()
        .enumerate()
        .filter(|(_, s)| shares.server_share(&s.host) > 1e-12)
        .map(|(i, _)| i)
        .collect();
    PoolHome {
        primary,
        servers,
        primary_share,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers() -> Vec<ServerRef> {
        ["voip1", "voip2", "voip3"]
            .iter()
            .map(|n| ServerRef {
                name: n.to_string(),
                host: format!("{n}.example.com"),
                capacity: Some(100),
            })
            .collect()
    }

    fn pool(name: &str, primary: &str, secondary: &str) -> PoolRef {
        PoolRef {
            name: name.into(),
            records: vec![
                SrvRecord::new(10, 10, 5060, format!("{primary}.example.com")),
                SrvRecord::new(20, 10, 5060, format!("{secondary}.example.com")),
            ],
        }
    }

    fn tenants() -> Vec<TenantRef> {
        vec![
            TenantRef {
                code: "A".into(),
                phones: 60,
                pool: Some(0),
            },
            TenantRef {
                code: "B".into(),
                phones: 50,
                pool: Some(1),
            },
            TenantRef {
                code: "C".into(),
                phones: 10,
                pool: None,
            },
        ]
    }

    #[test]
    fn normal_and_failure_loads() {
        let s = servers();
        let pools = vec![
            pool("pbxA", "voip1", "voip2"),
            pool("pbxB", "voip2", "voip1"),
        ];
        let normal = project(
            &s,
            &pools,
            &tenants(),
            &Scenario::normal(),
            ClientModel::Weighted,
        );
        let phones: Vec<f64> = normal.servers.iter().map(|l| l.phones).collect();
        assert_eq!(phones, vec![60.0, 50.0, 0.0]);
        assert!(normal.shifts.is_empty());
        let down = Scenario {
            name: "voip1 down".into(),
            down: vec!["voip1".into()],
        };
        let p = project(&s, &pools, &tenants(), &down, ClientModel::Weighted);
        assert_eq!(p.servers[1].phones, 110.0);
        assert!(p.servers[1].overloaded);
        assert!(p.servers[0].down);
        assert_eq!(p.shifts.len(), 1);
        assert_eq!(p.shifts[0].tenant, "A");
        assert_eq!(p.shifts[0].after, vec![("voip2".to_string(), 60.0)]);
        let worst = worst_n_minus_one(&s, &pools, &tenants(), ClientModel::Weighted).unwrap();
        assert_eq!(worst.worst().unwrap().1, 1.1);
    }

    #[test]
    fn phones_with_nowhere_to_go_are_stranded() {
        let s = servers();
        let pools = vec![PoolRef {
            name: "solo".into(),
            records: vec![SrvRecord::new(10, 10, 5060, "voip3.example.com")],
        }];
        let t = vec![TenantRef {
            code: "A".into(),
            phones: 30,
            pool: Some(0),
        }];
        let sc = Scenario {
            name: "voip3 down".into(),
            down: vec!["voip3".into()],
        };
        let p = project(&s, &pools, &t, &sc, ClientModel::Weighted);
        assert_eq!(p.stranded, 30.0);
        assert_eq!(p.shifts[0].stranded, 30.0);
    }

    #[test]
    fn home_is_the_largest_normal_share() {
        let s = servers();
        let p = pool("pbxB", "voip2", "voip1");
        let shares = srv_shares(&p.records, &[], ClientModel::Weighted);
        assert_eq!(home_server(&s, &shares).unwrap().name, "voip2");
        let none = srv_shares(&[], &[], ClientModel::Weighted);
        assert!(home_server(&s, &none).is_none());
    }

    #[test]
    fn pool_home_is_the_primary_alone_or_every_top_priority_server() {
        let s = servers();
        let one = pool_home(&s, &pool("pbxA", "voip2", "voip1").records);
        assert_eq!(one.primary, Some(1));
        assert_eq!(one.servers, vec![1]);
        let multi = pool_home(
            &s,
            &[
                SrvRecord::new(10, 60, 5060, "voip3.example.com"),
                SrvRecord::new(10, 20, 5060, "voip1.example.com"),
                SrvRecord::new(10, 20, 5060, "voip2.example.com"),
            ],
        );
        assert_eq!(multi.primary, Some(2));
        assert_eq!(multi.servers, vec![0, 1, 2]);
        assert!(multi.contains(0) && !one.contains(0));
        assert!((multi.primary_share - 0.6).abs() < 1e-9);
        assert!((one.primary_share - 1.0).abs() < 1e-9);
        assert_eq!(pool_home(&s, &[]), PoolHome::default());
    }
}
