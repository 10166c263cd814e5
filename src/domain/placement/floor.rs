//! Certified floors under the warning level (issue 17): for a plan whose worst utilisation is
//! `V`, what every plan with a worst of at most `V` must leave above the warning level. Stage 2
//! of the objective (fewer cells above the warning level) is a local search without a bound of
//! its own; these floors say which of the cells it leaves are forced by stage 1 and which the
//! search merely left.
//!
//! Both floors are weak-duality certificates of small linear relaxations, recomputed in closed
//! form from whatever multipliers the simplex found (as the stage 1 bound in `bound` is), so the
//! simplex's float error can only weaken them:
//!
//! - **Cells.** Let `y_k ∈ {0, 1}` say whether cell `k` is above the warning level `w`. In any
//!   plan with every cell at most `V`: `(V − w)·y_k ≥ u_k − w` and `V − u_k ≥ 0`. So for any
//!   `λ_k ∈ [0, m_k/(V − w)]` (cells with identical loaders grouped, `m_k` of them) and `ν_k ≥ 0`,
//!   `cells above ≥ Σ λ_k (u_k − w) − Σ ν_k (V − u_k)`, and the right-hand side is linear in the
//!   phones per pool: at least its value with every free group of phones in its cheapest pool.
//! - **Servers.** For server `j`, any `λ ≥ 0` over its cells with `Σ λ ≤ 1` and `ν ≥ 0`:
//!   `max_k u_k ≥ Σ λ_k u_k − Σ ν_k (V − u_k)`, bounded below the same way. (`ν` is where stage
//!   1's cap enters: phones pushed out of a pool must land in cells that have room under `V`.) A server whose floor
//!   is above the warning level is above it in every plan that keeps stage 1's worst.
//!
//! Only the tenants a plan places count (a tenant it leaves without a pool adds no load), with
//! the pinned ones where they are and the others free among the pools they may use.

use std::collections::HashMap;

use super::bound::{simplex_max, undominated_cells};
use super::model::{Model, validate};
use super::{Plan, PlanInput};

/// A cell is above the warning level when it exceeds it by more than this (as `refine` counts).
const ABOVE: f64 = 1e-9;
/// Relative slack on the cap, so that a plan reaching `V` through another summation order stays
/// inside the relaxation.
const CAP_SLACK: f64 = 1e-9;
/// A real-valued floor on a whole number of cells is rounded up after this much is taken off
/// (the rounding of its own sums).
const COUNT_SLACK: f64 = 1e-6;
/// Cells with a weight in the count relaxation at most (beyond it, only the undominated ones and
/// those the plan leaves above the warning level: still valid, perhaps weaker).
const MAX_CLASSES: usize = 1_500;

/// What any plan keeping `plan`'s worst must leave above the warning level.
#[derive(Debug, Clone, PartialEq)]
pub struct WarningFloor {
    /// Certified: every plan whose worst utilisation is at most this plan's has at least this many
    /// (server, scenario) cells above the warning level.
    pub cells: usize,
    /// Per server: a certified floor on its worst utilisation (over every scenario) in every plan
    /// whose worst is at most this plan's; computed for the servers this plan leaves above the
    /// warning level, `None` for the others.
    pub servers: Vec<Option<f64>>,
}

impl WarningFloor {
    /// Whether server `j` is above the warning level `warning` in every plan keeping the worst.
    pub fn forces(&self, j: usize, warning: f64) -> bool {
        self.servers
            .get(j)
            .copied()
            .flatten()
            .is_some_and(|f| f > warning + ABOVE)
    }
}

/// The floors for `plan` (a plan of `input`, tenants it leaves without a pool not counted) and
/// warning level `warning`. Total: an input the planner refuses gets zero floors.
pub fn warning_floor(input: &PlanInput, plan: &Plan, warning: f64) -> WarningFloor {
    let none = WarningFloor {
        cells: 0,
        servers: vec![None; input.servers.len()],
    };
    let Ok(model) = validate(input) else {
        return none;
    };
    let cap = plan.value * (1.0 + CAP_SLACK);
    let w = warning + ABOVE;
    if !(cap.is_finite() && cap > w) {
        // No cell of such a plan is above the warning level.
        return none;
    }
    let placed: Vec<bool> = (0..model.phones.len())
        .map(|t| plan.assignment.get(t).copied().flatten().is_some())
        .collect();
    let pinned: Vec<Option<usize>> = (0..model.phones.len())
        .map(|t| {
            if model.pinned[t] && placed[t] {
                model.current[t]
            } else {
                None
            }
        })
        .collect();
    let base = model.utilisation(&pinned);
    let groups = free_groups(&model, &placed);
    let servers_n = input.servers.len();
    let after = model.utilisation(&plan.assignment);
    let classes = classes(&model, servers_n, &after, w);
    let mut undominated = undominated_cells(&model);
    undominated.truncate(MAX_CLASSES);
    let lp = Relaxation {
        model: &model,
        base: &base,
        groups: &groups,
        caps: &undominated,
        cap,
    };
    let cells = {
        let limit = |c: &Class| c.count as f64 / (cap - w);
        let raw = lp.solve(&classes, |c| base[c.cell] - w, limit, false);
        let floor = (raw - COUNT_SLACK * raw.abs().max(1.0)).ceil();
        if floor.is_finite() && floor > 0.0 {
            floor as usize
        } else {
            0
        }
    };
    let mut servers = vec![None; servers_n];
    for (j, slot) in servers.iter_mut().enumerate() {
        let peak = (0..input.scenarios.len())
            .map(|s| after[s * servers_n + j])
            .fold(0.0, f64::max);
        if peak <= w {
            continue;
        }
        let own: Vec<Class> = classes.iter().filter(|c| c.server == j).cloned().collect();
        let raw = lp.solve(&own, |c| base[c.cell], |_| 1.0, true);
        *slot = Some((raw * (1.0 - COUNT_SLACK)).max(0.0));
    }
    WarningFloor { cells, servers }
}

/// Cells with the same loaders (and so the same utilisation in every plan), once, with how many
/// there are.
#[derive(Debug, Clone)]
struct Class {
    cell: usize,
    server: usize,
    count: usize,
}

fn classes(model: &Model, servers: usize, after: &[f64], w: f64) -> Vec<Class> {
    let mut index: HashMap<(usize, Vec<(usize, u64)>), usize> = HashMap::new();
    let mut out: Vec<Class> = Vec::new();
    for (cell, loaders) in model.loaders.iter().enumerate() {
        if loaders.is_empty() {
            continue;
        }
        let server = cell % servers;
        let key = (
            server,
            loaders.iter().map(|&(p, a)| (p, a.to_bits())).collect(),
        );
        match index.get(&key) {
            Some(&c) => out[c].count += 1,
            None => {
                index.insert(key, out.len());
                out.push(Class {
                    cell,
                    server,
                    count: 1,
                });
            }
        }
    }
    if out.len() > MAX_CLASSES {
        let undominated = undominated_cells(model);
        out.retain(|c| after[c.cell] > w || undominated.binary_search(&c.cell).is_ok());
        out.truncate(MAX_CLASSES);
    }
    out
}

/// Phones of placed, unpinned tenants grouped by the pools they may end in (as in `bound`).
fn free_groups(model: &Model, placed: &[bool]) -> Vec<(f64, Vec<usize>)> {
    super::bound::free_groups_of(model, |t| placed[t])
}

struct Relaxation<'a> {
    model: &'a Model,
    /// Utilisation of every cell from the pinned tenants alone.
    base: &'a [f64],
    groups: &'a [(f64, Vec<usize>)],
    /// Cells whose `u ≤ V` is used (the undominated ones imply the rest).
    caps: &'a [usize],
    cap: f64,
}

impl Relaxation<'_> {
    /// Maximises `Σ λ_c·gain(c) − Σ ν_k (V − b_k) + Σ_g R_g min_{p ∈ P_g} price_p` with
    /// `price_p = Σ λ_c a_cp + Σ ν_k a_kp`, `0 ≤ λ_c ≤ limit(c)` (and `Σ λ ≤ 1` when `unit_sum`),
    /// `ν ≥ 0`, then recomputes that value from the multipliers found: valid for any of them.
    fn solve(
        &self,
        classes: &[Class],
        gain: impl Fn(&Class) -> f64,
        limit: impl Fn(&Class) -> f64,
        unit_sum: bool,
    ) -> f64 {
        if classes.is_empty() {
            return 0.0;
        }
        let (nl, nn, ng) = (classes.len(), self.caps.len(), self.groups.len());
        let n = nl + nn + ng;
        let at: HashMap<usize, usize> = classes
            .iter()
            .enumerate()
            .map(|(c, class)| (class.cell, c))
            .collect();
        let mut rows: Vec<Vec<f64>> = Vec::new();
        let mut limits: Vec<f64> = Vec::new();
        for (g, (free, pools)) in self.groups.iter().enumerate() {
            for &pool in pools {
                // z'_g − R_g·price_p ≤ 0, with z'_g = R_g·z_g.
                let mut row = vec![0.0; n];
                for &(cell, a) in &self.model.columns[pool] {
                    if let Some(&c) = at.get(&cell) {
                        row[c] -= free * a;
                    }
                    if let Ok(k) = self.caps.binary_search(&cell) {
                        row[nl + k] -= free * a;
                    }
                }
                row[nl + nn + g] = 1.0;
                rows.push(row);
                limits.push(0.0);
            }
        }
        if unit_sum {
            let mut row = vec![0.0; n];
            row[..nl].fill(1.0);
            rows.push(row);
            limits.push(1.0);
        } else {
            for (c, class) in classes.iter().enumerate() {
                let mut row = vec![0.0; n];
                row[c] = 1.0;
                rows.push(row);
                limits.push(limit(class).max(0.0));
            }
        }
        let mut objective: Vec<f64> = classes.iter().map(&gain).collect();
        objective.extend(self.caps.iter().map(|&k| self.base[k] - self.cap));
        objective.extend(std::iter::repeat_n(1.0, ng));
        let values = simplex_max(&rows, &limits, &objective);
        // The certificate: clip the multipliers into their domain, then evaluate.
        let mut lambda: Vec<f64> = classes
            .iter()
            .enumerate()
            .map(|(c, class)| {
                let v = values.get(c).copied().unwrap_or(0.0);
                if v.is_finite() && v > 0.0 {
                    v.min(limit(class).max(0.0))
                } else {
                    0.0
                }
            })
            .collect();
        if unit_sum {
            let total: f64 = lambda.iter().sum();
            if total > 1.0 {
                lambda.iter_mut().for_each(|l| *l /= total);
            }
        }
        let nu: Vec<f64> = (0..nn)
            .map(|k| match values.get(nl + k) {
                Some(&v) if v.is_finite() && v > 0.0 => v,
                _ => 0.0,
            })
            .collect();
        let mut price = vec![0.0; self.model.pools()];
        let mut fixed = 0.0;
        for (class, &l) in classes.iter().zip(&lambda) {
            if l > 0.0 {
                fixed += l * gain(class);
                for &(pool, a) in &self.model.loaders[class.cell] {
                    price[pool] += l * a;
                }
            }
        }
        for (&k, &v) in self.caps.iter().zip(&nu) {
            if v > 0.0 {
                fixed += v * (self.base[k] - self.cap);
                for &(pool, a) in &self.model.loaders[k] {
                    price[pool] += v * a;
                }
            }
        }
        let free: f64 = self
            .groups
            .iter()
            .map(|(phones, pools)| {
                let cheapest = pools
                    .iter()
                    .map(|&p| price[p])
                    .fold(f64::INFINITY, f64::min);
                if cheapest.is_finite() {
                    phones * cheapest
                } else {
                    0.0
                }
            })
            .sum();
        let value = fixed + free;
        if value.is_finite() { value } else { 0.0 }
    }
}
