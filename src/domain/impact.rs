//! The impact of a change of placement, computed before it is applied: per server, the projected
//! phones and utilisation with nothing down and in its worst single failure, before → after, and
//! the servers the change pushes over the warning level or their capacity.
//!
//! Both sides are projections of a whole cluster by the one projection engine
//! ([`super::projection`]), in the way the overview computes its figures: a server's worst is the
//! most phones it gets while any one *other* server is down. A change is any pair of clusters
//! over the same servers: tenants moved between pools (same pools, other tenants' pools) or a
//! pool's members edited (other records, same tenants).

use serde::Serialize;

use super::projection::{PoolRef, Scenario, ServerRef, TenantRef, project};
use super::srv::ClientModel;

/// Loads within this of a level are not above it (float noise from the share math).
const EPS: f64 = 1e-9;

/// One side of a change: the pools (SRV records) and the tenants' phones with their pool.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    pub pools: &'a [PoolRef],
    pub tenants: &'a [TenantRef],
}

/// A server's projected load on one side of the change.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Figures {
    /// Utilisation (phones / capacity) with nothing down; `null` without a capacity.
    pub normal: Option<f64>,
    /// Utilisation in the single failure that loads this server most; `null` without a capacity.
    pub worst: Option<f64>,
    pub normal_phones: f64,
    pub worst_phones: f64,
    /// The failure behind `worst`, e.g. `voip1 down` (`null` with a single server).
    pub worst_scenario: Option<String>,
}

/// One server before → after.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ServerImpact {
    pub server: String,
    pub capacity: Option<u32>,
    pub before: Figures,
    pub after: Figures,
    /// Set by the rebalance plan for a server it leaves above the warning level: whether every
    /// plan keeping its worst must (`forced`), and why, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above_warning: Option<AboveWarning>,
}

/// Why a plan leaves a server above the warning level.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AboveWarning {
    /// True when a certified floor puts it there in every plan that keeps the plan's worst
    /// utilisation; false when the search left it there (another plan might not).
    pub forced: bool,
    pub why: String,
    /// Certified floor on the server's worst utilisation over every plan keeping the worst
    /// (a fraction; `null` when not computed).
    pub floor: Option<f64>,
}

/// Which level a server crosses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Warning,
    Capacity,
}

/// Which figure crosses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Case {
    Normal,
    Worst,
}

/// A server the change raises to above a level (the highest level it ends above, per case).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Crossing {
    pub server: String,
    pub level: Level,
    pub case: Case,
    pub before: f64,
    pub after: f64,
}

impl Crossing {
    /// In an admin's words: "voip2 goes above its capacity in its worst single failure (92% → 104%)".
    pub fn sentence(&self) -> String {
        let level = match self.level {
            Level::Warning => "the warning level",
            Level::Capacity => "its capacity",
        };
        let case = match self.case {
            Case::Normal => "with nothing down",
            Case::Worst => "in its worst single failure",
        };
        format!(
            "{} goes above {level} {case} ({:.0}% → {:.0}%)",
            self.server,
            self.before * 100.0,
            self.after * 100.0
        )
    }
}

/// The whole preview: the shape shared by every dry run and by the plan's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Impact {
    pub per_server: Vec<ServerImpact>,
    /// The warning level as a fraction of capacity (Settings).
    pub warning_level: f64,
    /// The servers the change raises above the warning level or their capacity: applying then
    /// needs an explicit "apply anyway".
    pub crossings: Vec<Crossing>,
}

impl Impact {
    /// Whether applying needs an explicit "apply anyway".
    pub fn needs_confirmation(&self) -> bool {
        !self.crossings.is_empty()
    }

    /// Whether `server` crosses a level (the row is highlighted).
    pub fn crosses(&self, server: &str) -> bool {
        self.crossings.iter().any(|c| c.server == server)
    }

    /// Whether a utilisation is above the warning level (for highlighting a cell).
    pub fn above_warning(&self, utilisation: Option<f64>) -> bool {
        utilisation.is_some_and(|u| u > self.warning_level + EPS)
    }

    /// Whether a utilisation is above capacity (for highlighting a cell).
    pub fn above_capacity(&self, utilisation: Option<f64>) -> bool {
        utilisation.is_some_and(|u| u > 1.0 + EPS)
    }

    /// The CSS class of a utilisation cell: above capacity, above the warning level, or none.
    pub fn level_class(&self, utilisation: &Option<f64>) -> &'static str {
        if self.above_capacity(*utilisation) {
            "over-capacity"
        } else if self.above_warning(*utilisation) {
            "over-warning"
        } else {
            ""
        }
    }

    /// Whether anything changes on any server.
    pub fn changes_anything(&self) -> bool {
        self.per_server.iter().any(|s| {
            (s.before.normal_phones - s.after.normal_phones).abs() > EPS
                || (s.before.worst_phones - s.after.worst_phones).abs() > EPS
        })
    }
}

/// Each server's figures for one cluster, computed as the overview does: phones with nothing
/// down, and the most phones it gets while one other server is down.
pub fn server_figures(servers: &[ServerRef], side: Side<'_>, model: ClientModel) -> Vec<Figures> {
    let normal = project(
        servers,
        side.pools,
        side.tenants,
        &Scenario::normal(),
        model,
    );
    let failures: Vec<_> = servers
        .iter()
        .map(|s| {
            let sc = Scenario {
                name: format!("{} down", s.name),
                down: vec![s.name.clone()],
            };
            project(servers, side.pools, side.tenants, &sc, model)
        })
        .collect();
    servers
        .iter()
        .enumerate()
        .map(|(j, s)| {
            let worst = failures
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != j)
                .map(|(_, p)| (p.scenario.name.clone(), p.servers[j].phones))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            let util = |phones: f64| s.capacity.filter(|c| *c > 0).map(|c| phones / c as f64);
            let normal_phones = normal.servers[j].phones;
            let worst_phones = worst.as_ref().map(|w| w.1).unwrap_or(0.0);
            Figures {
                normal: util(normal_phones),
                worst: worst.as_ref().and(util(worst_phones)),
                normal_phones,
                worst_phones,
                worst_scenario: worst.map(|w| w.0),
            }
        })
        .collect()
}

/// The impact of going from `before` to `after` on `servers`. A server *crosses* a level when
/// its utilisation (nothing down, or its worst single failure) ends above the level and either
/// was not above it before or rises: a change that leaves an overloaded server as it was, or
/// relieves it, needs no confirmation; one that loads it further does.
pub fn impact(
    servers: &[ServerRef],
    before: Side<'_>,
    after: Side<'_>,
    warning_level: f64,
    model: ClientModel,
) -> Impact {
    let b = server_figures(servers, before, model);
    let a = server_figures(servers, after, model);
    let mut crossings = Vec::new();
    let per_server: Vec<ServerImpact> = servers
        .iter()
        .zip(b.into_iter().zip(a))
        .map(|(s, (before, after))| {
            for (case, was, is) in [
                (Case::Normal, before.normal, after.normal),
                (Case::Worst, before.worst, after.worst),
            ] {
                let (Some(was), Some(is)) = (was, is) else {
                    continue;
                };
                let rises = is > was + EPS;
                let crossed = |level: f64| is > level + EPS && (was <= level + EPS || rises);
                let level = if crossed(1.0) {
                    Some(Level::Capacity)
                } else if crossed(warning_level) {
                    Some(Level::Warning)
                } else {
                    None
                };
                if let Some(level) = level {
                    crossings.push(Crossing {
                        server: s.name.clone(),
                        level,
                        case,
                        before: was,
                        after: is,
                    });
                }
            }
            ServerImpact {
                server: s.name.clone(),
                capacity: s.capacity,
                before,
                after,
                above_warning: None,
            }
        })
        .collect();
    Impact {
        per_server,
        warning_level,
        crossings,
    }
}

/// The impact of moving tenants: `changes` are (index into `tenants`, new pool index).
pub fn impact_of_moves(
    servers: &[ServerRef],
    pools: &[PoolRef],
    tenants: &[TenantRef],
    changes: &[(usize, Option<usize>)],
    warning_level: f64,
    model: ClientModel,
) -> Impact {
    let mut after = tenants.to_vec();
    for &(i, pool) in changes {
        if let Some(t) = after.get_mut(i) {
            t.pool = pool;
        }
    }
    impact(
        servers,
        Side { pools, tenants },
        Side {
            pools,
            tenants: &after,
        },
        warning_level,
        model,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::projection::worst_n_minus_one;
    use crate::domain::srv::SrvRecord;

    fn servers() -> Vec<ServerRef> {
        [("voip1", Some(100)), ("voip2", Some(100)), ("voip3", None)]
            .iter()
            .map(|(n, c)| ServerRef {
                name: n.to_string(),
                host: format!("{n}.example.com"),
                capacity: *c,
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

    fn pools() -> Vec<PoolRef> {
        vec![
            pool("pbxA", "voip1", "voip2"),
            pool("pbxB", "voip2", "voip1"),
        ]
    }

    fn tenant(code: &str, phones: u64, pool: Option<usize>) -> TenantRef {
        TenantRef {
            code: code.into(),
            phones,
            pool,
        }
    }

    fn tenants() -> Vec<TenantRef> {
        vec![
            tenant("A", 40, Some(0)),
            tenant("B", 30, Some(1)),
            tenant("C", 20, Some(0)),
        ]
    }

    #[test]
    fn figures_before_and_after_a_move() {
        let s = servers();
        let i = impact_of_moves(
            &s,
            &pools(),
            &tenants(),
            &[(2, Some(1))],
            0.8,
            ClientModel::Weighted,
        );
        let v1 = &i.per_server[0];
        assert_eq!(v1.before.normal_phones, 60.0);
        assert_eq!(v1.after.normal_phones, 40.0);
        assert_eq!(v1.before.normal, Some(0.6));
        // voip1's worst is voip2 down: every phone lands on it, before and after.
        assert_eq!(v1.before.worst_phones, 90.0);
        assert_eq!(v1.after.worst_phones, 90.0);
        assert_eq!(v1.after.worst_scenario.as_deref(), Some("voip2 down"));
        let v2 = &i.per_server[1];
        assert_eq!(v2.after.normal, Some(0.5));
        // voip3 has no capacity: phones but no utilisation.
        let v3 = &i.per_server[2];
        assert_eq!(v3.capacity, None);
        assert_eq!(v3.after.normal, None);
        assert_eq!(v3.after.worst, None);
        assert!(i.changes_anything());
    }

    #[test]
    fn a_server_pushed_over_a_level_is_a_crossing() {
        let s = servers();
        let t = vec![
            tenant("A", 50, Some(0)),
            tenant("B", 45, Some(1)),
            tenant("X", 40, None),
        ];
        // Placing X in pbxB puts voip2 at 85% normally (warning) and voip1 at 135% when voip2 fails.
        let i = impact_of_moves(
            &s,
            &pools(),
            &t,
            &[(2, Some(1))],
            0.8,
            ClientModel::Weighted,
        );
        assert!(i.needs_confirmation());
        let c: Vec<_> = i
            .crossings
            .iter()
            .map(|c| (c.server.as_str(), c.level, c.case))
            .collect();
        assert!(
            c.contains(&("voip2", Level::Warning, Case::Normal)),
            "{c:?}"
        );
        assert!(
            c.contains(&("voip1", Level::Capacity, Case::Worst)),
            "{c:?}"
        );
        assert!(i.crosses("voip2") && !i.crosses("voip3"));
        assert!(i.crossings[0].sentence().contains("goes above"));
    }

    #[test]
    fn a_change_that_relieves_or_leaves_an_overloaded_server_needs_no_confirmation() {
        let s = servers();
        let t = vec![tenant("A", 120, Some(0)), tenant("B", 10, Some(1))];
        // voip1 is above capacity before; moving B (off voip1's normal load) lowers nothing on
        // voip1 normally and does not raise its worst.
        let i = impact_of_moves(&s, &pools(), &t, &[(1, None)], 0.8, ClientModel::Weighted);
        assert!(!i.needs_confirmation(), "{:?}", i.crossings);
        assert!(i.above_capacity(i.per_server[0].after.normal));
        // Moving a tenant back where it is changes nothing.
        let same = impact_of_moves(
            &s,
            &pools(),
            &t,
            &[(0, Some(0))],
            0.8,
            ClientModel::Weighted,
        );
        assert!(!same.changes_anything());
        assert!(!same.needs_confirmation());
    }

    #[test]
    fn the_after_figures_equal_a_projection_of_the_changed_cluster() {
        let s = servers();
        let p = pools();
        let i = impact_of_moves(
            &s,
            &p,
            &tenants(),
            &[(0, Some(1)), (2, None)],
            0.8,
            ClientModel::Weighted,
        );
        let changed = vec![
            tenant("A", 40, Some(1)),
            tenant("B", 30, Some(1)),
            tenant("C", 20, None),
        ];
        let normal = project(&s, &p, &changed, &Scenario::normal(), ClientModel::Weighted);
        for (row, load) in i.per_server.iter().zip(&normal.servers) {
            assert_eq!(row.after.normal_phones, load.phones);
            assert_eq!(row.after.normal, load.utilisation);
        }
        // Each server's worst is its highest load over the N−1 scenarios where it is up.
        for (j, row) in i.per_server.iter().enumerate() {
            let highest = s
                .iter()
                .filter(|x| x.name != row.server)
                .map(|x| {
                    let sc = Scenario {
                        name: format!("{} down", x.name),
                        down: vec![x.name.clone()],
                    };
                    project(&s, &p, &changed, &sc, ClientModel::Weighted).servers[j].phones
                })
                .fold(0.0, f64::max);
            assert_eq!(row.after.worst_phones, highest);
        }
        // The cluster's worst failure is the largest of the servers' worsts.
        let worst = worst_n_minus_one(&s, &p, &changed, ClientModel::Weighted).unwrap();
        let top = i
            .per_server
            .iter()
            .filter_map(|r| r.after.worst)
            .fold(0.0, f64::max);
        assert_eq!(worst.worst().unwrap().1, top);
    }

    #[test]
    fn a_member_edit_is_a_change_of_records() {
        let s = servers();
        let before = pools();
        // pbxA's primary becomes voip2.
        let after = vec![pool("pbxA", "voip2", "voip1"), before[1].clone()];
        let t = tenants();
        let i = impact(
            &s,
            Side {
                pools: &before,
                tenants: &t,
            },
            Side {
                pools: &after,
                tenants: &t,
            },
            0.8,
            ClientModel::Weighted,
        );
        assert_eq!(i.per_server[0].after.normal_phones, 0.0);
        assert_eq!(i.per_server[1].after.normal_phones, 90.0);
        assert!(i.crosses("voip2"));
    }

    #[test]
    fn the_json_has_the_shared_shape() {
        let s = servers();
        let i = impact_of_moves(&s, &pools(), &tenants(), &[], 0.8, ClientModel::Weighted);
        let v = serde_json::to_value(&i).unwrap();
        assert_eq!(v["warning_level"], 0.8);
        let row = &v["per_server"][0];
        for key in ["server", "capacity", "before", "after"] {
            assert!(row.get(key).is_some(), "{key} missing: {row}");
        }
        for key in ["normal", "worst"] {
            assert!(row["before"].get(key).is_some());
            assert!(row["after"].get(key).is_some());
        }
        assert!(v["per_server"][2]["after"]["normal"].is_null());
        assert!(v["crossings"].as_array().unwrap().is_empty());
    }
}
