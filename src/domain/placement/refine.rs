//! Stages 2 to 4 of the lexicographic objective (issue 17): with stage 1's worst utilisation
//! fixed as a cap, a local search that minimises, in this order, the number of (server, scenario)
//! cells above the warning level, their total excess above it, and the phones moved.
//!
//! Heuristic (stage 1 keeps its certified bound; these stages have none): single-tenant
//! relocations out of pools that load a cell above the warning level, into any pool the tenant
//! may enter, and homecomings of moved tenants. A step is taken only
//! when it lowers the vector (count, excess, phones moved) and raises no cell above the cap, so
//! the worst utilisation never rises. Work is counted, not timed, so results stay
//! deterministic.

use super::model::{Model, validate};
use super::{Plan, PlanError, PlanInput, assemble};

/// A cell is above the warning level only when it exceeds it by more than this (float noise).
const ABOVE: f64 = 1e-9;
/// Excess changes smaller than this count as no change.
const EXCESS_TIE: f64 = 1e-12;
/// Distinct tenant sizes tried per pair of pools.
const SIZES: usize = 48;
/// Cap on cell updates looked at (a deterministic guard, about a few tenths of a second).
const WORK_LIMIT: u64 = 400_000_000;

/// Where stage 1 left the cells, and the vector objective of stages 2 to 4.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WarningScore {
    /// (server, scenario) cells above the warning level.
    pub cells_above: usize,
    /// Σ (utilisation − warning level) over those cells.
    pub excess: f64,
}

/// Scores the cells of `loads` (`loads[scenario][server]`, phones) against `warning`.
pub fn warning_score(input: &PlanInput, loads: &[Vec<f64>], warning: f64) -> WarningScore {
    let mut score = WarningScore {
        cells_above: 0,
        excess: 0.0,
    };
    for row in loads {
        for (load, server) in row.iter().zip(&input.servers) {
            let u = load / server.capacity;
            if u > warning + ABOVE {
                score.cells_above += 1;
                score.excess += u - warning;
            }
        }
    }
    score
}

/// Refines `stage1` (a plan of `input` by [`plan`](super::plan)) on stages 2 to 4 with warning
/// level `warning` (a fraction of capacity). Keeps `stage1`'s lower bound; never raises its worst
/// utilisation; keeps moved phones within the budget.
pub fn refine(input: &PlanInput, stage1: &Plan, warning: f64) -> Result<Plan, PlanError> {
    let model = validate(input)?;
    let assignment: Vec<usize> = stage1.assignment.iter().map(|p| p.unwrap_or(0)).collect();
    let cap = stage1.value * (1.0 + 1e-12);
    let mut search = Refine::new(&model, assignment, input.move_budget, warning, cap);
    search.run();
    Ok(assemble(input, &model, search.assign, stage1.lower_bound))
}

struct Refine<'a> {
    model: &'a Model,
    assign: Vec<usize>,
    util: Vec<f64>,
    /// Movable tenants per pool.
    members: Vec<Vec<usize>>,
    moved: u64,
    budget: u64,
    warning: f64,
    cap: f64,
    work: u64,
}

/// What a candidate move changes: (cells above, excess, phones moved).
type Delta = (i64, f64, i64);

fn better(a: Delta, b: Delta) -> bool {
    if a.0 != b.0 {
        return a.0 < b.0;
    }
    if (a.1 - b.1).abs() > EXCESS_TIE {
        return a.1 < b.1;
    }
    a.2 < b.2
}

impl<'a> Refine<'a> {
    fn new(model: &'a Model, assign: Vec<usize>, budget: u64, warning: f64, cap: f64) -> Self {
        let as_options: Vec<Option<usize>> = assign.iter().map(|&p| Some(p)).collect();
        let util = model.utilisation(&as_options);
        let mut members = vec![Vec::new(); model.pools()];
        for (t, &p) in assign.iter().enumerate() {
            if model.movable(t) {
                members[p].push(t);
            }
        }
        for list in &mut members {
            list.sort_by(|&a, &b| model.phones[b].cmp(&model.phones[a]).then(a.cmp(&b)));
        }
        let moved = model.moved_phones(&assign);
        Self {
            model,
            assign,
            util,
            members,
            moved,
            budget,
            warning,
            cap,
            work: 0,
        }
    }

    fn above(&self, u: f64) -> (i64, f64) {
        if u > self.warning + ABOVE {
            (1, u - self.warning)
        } else {
            (0, 0.0)
        }
    }

    /// Phones moved by `tenant` sitting in `pool`.
    fn cost(&self, tenant: usize, pool: usize) -> i64 {
        match self.model.current[tenant] {
            Some(home) if home != pool => self.model.phones[tenant] as i64,
            _ => 0,
        }
    }

    /// `(cell, change per phone)` of every cell a phone moving from `from` to `to` touches.
    fn lines(&self, from: usize, to: usize) -> Vec<(usize, f64)> {
        let (out, into) = (&self.model.columns[from], &self.model.columns[to]);
        let mut lines = Vec::with_capacity(out.len() + into.len());
        let (mut i, mut j) = (0, 0);
        while i < out.len() || j < into.len() {
            match (out.get(i), into.get(j)) {
                (Some(&(ka, a)), Some(&(kb, b))) if ka == kb => {
                    lines.push((ka, b - a));
                    i += 1;
                    j += 1;
                }
                (Some(&(ka, a)), Some(&(kb, _))) if ka < kb => {
                    lines.push((ka, -a));
                    i += 1;
                }
                (Some(&(ka, a)), None) => {
                    lines.push((ka, -a));
                    i += 1;
                }
                (_, Some(&(kb, b))) => {
                    lines.push((kb, b));
                    j += 1;
                }
                (None, None) => break,
            }
        }
        lines
    }

    /// The change of moving `tenant` along `lines` from `from` to `to`, or `None` when it would
    /// raise a cell above the cap or exceed the budget.
    fn delta(
        &mut self,
        tenant: usize,
        from: usize,
        to: usize,
        lines: &[(usize, f64)],
    ) -> Option<Delta> {
        let moved = self.cost(tenant, to) - self.cost(tenant, from);
        if moved > 0 && self.moved + moved as u64 > self.budget {
            return None;
        }
        let w = self.model.phones[tenant] as f64;
        self.work += lines.len() as u64;
        let (mut count, mut excess) = (0i64, 0.0);
        for &(cell, d) in lines {
            let before = self.util[cell];
            let after = before + d * w;
            if d > 0.0 && after > self.cap && after > before {
                return None;
            }
            let (c0, e0) = self.above(before);
            let (c1, e1) = self.above(after);
            count += c1 - c0;
            excess += e1 - e0;
        }
        Some((count, excess, moved))
    }

    fn apply(&mut self, tenant: usize, to: usize) {
        let from = self.assign[tenant];
        let w = self.model.phones[tenant] as f64;
        for &(cell, a) in &self.model.columns[from] {
            self.util[cell] -= w * a;
        }
        for &(cell, a) in &self.model.columns[to] {
            self.util[cell] += w * a;
        }
        let moved = self.cost(tenant, to) - self.cost(tenant, from);
        self.moved = (self.moved as i64 + moved) as u64;
        self.assign[tenant] = to;
        self.members[from].retain(|&t| t != tenant);
        let phones = self.model.phones[tenant];
        let list = &mut self.members[to];
        let at = list
            .iter()
            .position(|&t| {
                let p = self.model.phones[t];
                p < phones || (p == phones && t > tenant)
            })
            .unwrap_or(list.len());
        list.insert(at, tenant);
    }

    /// Up to [`SIZES`] tenants of `pool`, one per size, spread over its sizes; of equal sizes,
    /// one already away from home first (moving it again costs nothing).
    fn representatives(&self, pool: usize) -> Vec<usize> {
        let list = &self.members[pool];
        let mut reps: Vec<usize> = Vec::new();
        for &t in list {
            match reps.last() {
                Some(&r) if self.model.phones[r] == self.model.phones[t] => {
                    if self.cost(r, pool) == 0 && self.cost(t, pool) > 0 {
                        *reps.last_mut().expect("just checked") = t;
                    }
                }
                _ => reps.push(t),
            }
        }
        if reps.len() > SIZES {
            let n = reps.len();
            reps = (0..SIZES)
                .map(|i| reps[i * (n - 1) / (SIZES - 1)])
                .collect();
        }
        reps
    }

    fn run(&mut self) {
        loop {
            let mut improved = false;
            let mut hot: Vec<usize> = (0..self.model.cells)
                .filter(|&c| self.util[c] > self.warning + ABOVE)
                .collect();
            hot.sort_by(|&a, &b| self.util[b].total_cmp(&self.util[a]).then(a.cmp(&b)));
            for cell in hot {
                if self.work > WORK_LIMIT {
                    return;
                }
                if self.util[cell] <= self.warning + ABOVE {
                    continue;
                }
                if self.relieve(cell) {
                    improved = true;
                }
            }
            if self.send_home() {
                improved = true;
            }
            if !improved || self.work > WORK_LIMIT {
                return;
            }
        }
    }

    /// The best single relocation out of a pool loading `cell`; applied when it lowers the
    /// objective.
    fn relieve(&mut self, cell: usize) -> bool {
        let loaders: Vec<usize> = self.model.loaders[cell].iter().map(|&(p, _)| p).collect();
        let mut best: Option<(Delta, usize, usize)> = None;
        for from in loaders {
            let reps = self.representatives(from);
            if reps.is_empty() {
                continue;
            }
            for to in 0..self.model.pools() {
                if to == from {
                    continue;
                }
                let some_home = reps.iter().any(|&t| self.model.current[t] == Some(to));
                if !self.model.open[to] && !some_home {
                    continue;
                }
                let lines = self.lines(from, to);
                for &t in &reps {
                    if !self.model.allowed(t, to) {
                        continue;
                    }
                    if let Some(d) = self.delta(t, from, to, &lines)
                        && better(d, (0, 0.0, 0))
                        && best.is_none_or(|(b, _, _)| better(d, b))
                    {
                        best = Some((d, t, to));
                    }
                }
            }
        }
        match best {
            Some((_, t, to)) => {
                self.apply(t, to);
                true
            }
            None => false,
        }
    }

    /// Moved tenants go back home, largest first, where that lowers the objective.
    fn send_home(&mut self) -> bool {
        let mut any = false;
        let away = self
            .model
            .largest_first(|t| matches!(self.model.current[t], Some(h) if h != self.assign[t]));
        for t in away {
            let (from, home) = (self.assign[t], self.model.current[t].expect("away"));
            if !self.model.movable(t) {
                continue;
            }
            let lines = self.lines(from, home);
            if let Some(d) = self.delta(t, from, home, &lines)
                && better(d, (0, 0.0, 0))
            {
                self.apply(t, home);
                any = true;
            }
        }
        any
    }
}
