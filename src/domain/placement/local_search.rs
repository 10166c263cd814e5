//! Local search: steps 2 to 4 of [`plan`](super::plan), drain towards the bound, improve, send
//! unneeded moves home.

use std::cell::Cell;
use std::collections::BTreeSet;

use super::model::{Model, peak_of};
use super::{HOME_SLACK, SEARCH_WORK_LIMIT, SWAP_SIZES, TIE};

/// Steps 2 to 4 of [`plan`]: drain towards the bound, improve, send unneeded moves home.
pub(super) fn local_search(
    model: &Model,
    start: Vec<usize>,
    budget: u64,
    bound: f64,
) -> Vec<usize> {
    let mut search = Search::new(model, start, budget);
    search.drain(bound);
    search.improve();
    search.send_home();
    search.assign
}

/// The worst of the lines `util + delta · w` at transfer `w`.
fn peak_at(lines: &[(f64, f64)], w: f64) -> f64 {
    lines
        .iter()
        .fold(f64::NEG_INFINITY, |m, &(u, d)| m.max(u + d * w))
}

/// The integer transfer in `1..=largest` that minimises [`peak_at`] (convex in `w`, so the
/// smallest `w` from which it stops falling).
fn best_transfer(lines: &[(f64, f64)], largest: u64) -> u64 {
    let (mut lo, mut hi) = (1u64, largest.max(1));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if peak_at(lines, (mid + 1) as f64) >= peak_at(lines, mid as f64) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// Fills `lines` with `(utilisation, change per phone)` of every cell touched when phones go
/// from pool `from` to pool `to`; returns the change per phone of `cell`.
fn load_lines(
    model: &Model,
    util: &[f64],
    from: usize,
    to: usize,
    cell: usize,
    lines: &mut Vec<(f64, f64)>,
) -> Option<f64> {
    lines.clear();
    let (out, into) = (&model.columns[from], &model.columns[to]);
    let (mut i, mut j) = (0, 0);
    let mut at_cell = None;
    loop {
        let (k, delta) = match (out.get(i), into.get(j)) {
            (Some(&(ka, a)), Some(&(kb, b))) => {
                if ka < kb {
                    i += 1;
                    (ka, -a)
                } else if kb < ka {
                    j += 1;
                    (kb, b)
                } else {
                    i += 1;
                    j += 1;
                    (ka, b - a)
                }
            }
            (Some(&(ka, a)), None) => {
                i += 1;
                (ka, -a)
            }
            (None, Some(&(kb, b))) => {
                j += 1;
                (kb, b)
            }
            (None, None) => break,
        };
        if k == cell {
            at_cell = Some(delta);
        }
        lines.push((util[k], delta));
    }
    at_cell
}

/// Up to two tenants of `set` passing `keep` whose size is nearest `around`: the largest at
/// most `around.min(cap)` and the smallest at least `around` (if at most `cap`).
fn neighbours(
    set: &BTreeSet<(u64, usize)>,
    around: u64,
    cap: u64,
    keep: impl Fn(usize) -> bool,
) -> [Option<(u64, usize)>; 2] {
    let below = set
        .range(..=(around.min(cap), usize::MAX))
        .rev()
        .find(|&&(_, t)| keep(t))
        .copied();
    let above = set
        .range((around, 0)..)
        .take_while(|&&(w, _)| w <= cap)
        .find(|&&(_, t)| keep(t))
        .copied();
    [below, above]
}

/// Candidate ranking: cheaper class of move first (refund, free, paid), then lower peak.
fn ranks_before(cost: i128, peak: f64, best: Option<(i128, f64)>) -> bool {
    match best {
        None => true,
        Some((c, p)) => cost.signum() < c.signum() || (cost.signum() == c.signum() && peak < p),
    }
}

struct Search<'m> {
    model: &'m Model,
    assign: Vec<usize>,
    util: Vec<f64>,
    moved: u64,
    budget: u64,
    /// Per pool, movable tenants still in the pool they started in: moving one costs its phones.
    at_home: Vec<BTreeSet<(u64, usize)>>,
    /// Per pool, movable tenants away from where they started, or newly placed: moving one again
    /// is free, sending it home refunds its phones.
    away: Vec<BTreeSet<(u64, usize)>>,
    lines: Vec<(f64, f64)>,
    /// Cells looked at so far, against [`SEARCH_WORK_LIMIT`].
    work: Cell<u64>,
}

impl<'m> Search<'m> {
    fn new(model: &'m Model, assign: Vec<usize>, budget: u64) -> Self {
        let placed: Vec<Option<usize>> = assign.iter().map(|&p| Some(p)).collect();
        let mut search = Search {
            model,
            util: model.utilisation(&placed),
            moved: model.moved_phones(&assign),
            budget,
            at_home: vec![BTreeSet::new(); model.pools()],
            away: vec![BTreeSet::new(); model.pools()],
            lines: Vec::new(),
            work: Cell::new(0),
            assign,
        };
        for tenant in 0..model.phones.len() {
            if model.movable(tenant) {
                search.file(tenant);
            }
        }
        search
    }

    fn file(&mut self, tenant: usize) {
        let pool = self.assign[tenant];
        let key = (self.model.phones[tenant], tenant);
        if self.model.current[tenant] == Some(pool) {
            self.at_home[pool].insert(key);
        } else {
            self.away[pool].insert(key);
        }
    }

    fn unfile(&mut self, tenant: usize) {
        let pool = self.assign[tenant];
        let key = (self.model.phones[tenant], tenant);
        self.at_home[pool].remove(&key);
        self.away[pool].remove(&key);
    }

    /// Change in phones moved if `tenant` goes to `to`.
    fn cost(&self, tenant: usize, to: usize) -> i128 {
        match self.model.current[tenant] {
            None => 0,
            Some(home) => {
                let was_away = i128::from(self.assign[tenant] != home);
                let will_be_away = i128::from(to != home);
                (will_be_away - was_away) * i128::from(self.model.phones[tenant])
            }
        }
    }

    /// Counts `cells` looked at, `times` over; false once the work limit is reached.
    fn charge(&self, cells: usize, times: u64) -> bool {
        let spent = self
            .work
            .get()
            .saturating_add((cells as u64).saturating_mul(times));
        self.work.set(spent);
        spent <= SEARCH_WORK_LIMIT
    }

    /// Whether `tenant` may go to `to` (see [`Model::allowed`]). Into a closed pool only its own
    /// tenants come back, so scans for them are counted against the work limit.
    fn admits(&self, tenant: usize, to: usize) -> bool {
        if !self.model.open[to] {
            self.charge(1, 1);
        }
        self.model.allowed(tenant, to)
    }

    /// The tenants of `pool` still at home that may go to `to`: none when `to` is closed (they
    /// started in `pool`, not there), else all of them.
    fn at_home_for(&self, pool: usize, to: usize) -> Option<&BTreeSet<(u64, usize)>> {
        self.model.open[to].then(|| &self.at_home[pool])
    }

    fn affordable(&self, cost: i128) -> bool {
        i128::from(self.moved) + cost <= i128::from(self.budget)
    }

    fn relocate(&mut self, tenant: usize, to: usize) {
        let from = self.assign[tenant];
        if from == to {
            return;
        }
        let cost = self.cost(tenant, to);
        let w = self.model.phones[tenant] as f64;
        for &(cell, a) in &self.model.columns[from] {
            self.util[cell] -= w * a;
        }
        for &(cell, a) in &self.model.columns[to] {
            self.util[cell] += w * a;
        }
        self.unfile(tenant);
        self.assign[tenant] = to;
        self.file(tenant);
        self.moved = u64::try_from(i128::from(self.moved) + cost).unwrap_or(0);
    }

    fn largest_in(&self, pool: usize) -> u64 {
        let home = self.at_home[pool].last().map_or(0, |&(w, _)| w);
        let away = self.away[pool].last().map_or(0, |&(w, _)| w);
        home.max(away)
    }

    /// Moves phones from cells above `level` (the lower bound) into pools that stay at or below
    /// it, never taking a cell below it: no phone moves further than needed, which is what keeps
    /// the plan cheap. Largest tenants first (fewest moves), already-away ones before those still
    /// at home. Stops when the worst cell cannot be drained this way; [`Search::improve`] then
    /// finishes.
    fn drain(&mut self, level: f64) {
        let model = self.model;
        let mut lines = std::mem::take(&mut self.lines);
        let limit = 4 * self.assign.len() + 1_000;
        for _ in 0..limit {
            let (cell, peak) = peak_of(&self.util);
            if peak <= level + TIE * level {
                break;
            }
            let room = self.budget.saturating_sub(self.moved);
            let mut best: Option<(i128, u64, usize, usize)> = None;
            for &(from, _) in &model.loaders[cell] {
                if self.largest_in(from) == 0 {
                    continue;
                }
                for to in 0..model.pools() {
                    if to == from {
                        continue;
                    }
                    let delta = match load_lines(model, &self.util, from, to, cell, &mut lines) {
                        Some(delta) if delta < 0.0 => delta,
                        _ => continue,
                    };
                    if !self.charge(lines.len(), 2) {
                        break;
                    }
                    let fits = headroom(&lines, level);
                    let excess = ((peak - level) / -delta).floor();
                    let cap = fits.min(excess as u64);
                    let candidates = [
                        self.away[from]
                            .range(..=(cap, usize::MAX))
                            .rev()
                            .find(|&&(_, t)| self.admits(t, to)),
                        self.at_home_for(from, to)
                            .and_then(|set| set.range(..=(cap.min(room), usize::MAX)).next_back()),
                    ];
                    for &(w, tenant) in candidates.into_iter().flatten() {
                        let cost = self.cost(tenant, to);
                        let better = best.is_none_or(|(c, bw, _, _)| {
                            cost.signum() < c.signum() || (cost.signum() == c.signum() && w > bw)
                        });
                        if self.affordable(cost) && better {
                            best = Some((cost, w, tenant, to));
                        }
                    }
                }
            }
            match best {
                Some((_, _, tenant, to)) => self.relocate(tenant, to),
                None => break,
            }
        }
        self.lines = lines;
    }

    fn improve(&mut self) {
        let limit = 20 * self.assign.len() + 1_000;
        for _ in 0..limit {
            let (cell, peak) = peak_of(&self.util);
            if peak <= 0.0 {
                break;
            }
            let target = peak - TIE * peak;
            if let Some((tenant, to)) = self.best_relocation(cell, target) {
                self.relocate(tenant, to);
                continue;
            }
            if let Some((a, b)) = self.best_swap(cell, target) {
                let (p, q) = (self.assign[a], self.assign[b]);
                self.relocate(a, q);
                self.relocate(b, p);
                continue;
            }
            break;
        }
    }

    /// The best single move out of a pool loading `cell` that keeps every cell it raises below
    /// `target`.
    fn best_relocation(&mut self, cell: usize, target: f64) -> Option<(usize, usize)> {
        let model = self.model;
        let mut lines = std::mem::take(&mut self.lines);
        let mut best: Option<(i128, f64)> = None;
        let mut choice = None;
        let room = self.budget.saturating_sub(self.moved);
        for &(from, _) in &model.loaders[cell] {
            let largest = self.largest_in(from);
            if largest == 0 {
                continue;
            }
            for to in 0..model.pools() {
                if to == from {
                    continue;
                }
                match load_lines(model, &self.util, from, to, cell, &mut lines) {
                    Some(delta) if delta < 0.0 => {}
                    _ => continue,
                }
                if !self.charge(lines.len(), 80) {
                    break;
                }
                let ideal = best_transfer(&lines, largest);
                let at_home = match self.at_home_for(from, to) {
                    Some(set) => neighbours(set, ideal, room, |_| true),
                    None => [None, None],
                };
                let candidates = at_home
                    .into_iter()
                    .chain(neighbours(&self.away[from], ideal, u64::MAX, |t| {
                        self.admits(t, to)
                    }))
                    .flatten();
                for (w, tenant) in candidates {
                    let peak = peak_at(&lines, w as f64);
                    if peak >= target {
                        continue;
                    }
                    let cost = self.cost(tenant, to);
                    if self.affordable(cost) && ranks_before(cost, peak, best) {
                        best = Some((cost, peak));
                        choice = Some((tenant, to));
                    }
                }
            }
        }
        self.lines = lines;
        choice
    }

    /// The best exchange of a tenant `a` out of a pool loading `cell` with a smaller tenant `b`
    /// of another pool: it shifts `phones(a) - phones(b)`, finer than any single tenant.
    fn best_swap(&mut self, cell: usize, target: f64) -> Option<(usize, usize)> {
        let model = self.model;
        let mut lines = std::mem::take(&mut self.lines);
        let mut best: Option<(i128, f64)> = None;
        let mut choice = None;
        for &(p, _) in &model.loaders[cell] {
            let largest = self.largest_in(p);
            if largest == 0 {
                continue;
            }
            for q in 0..model.pools() {
                if q == p {
                    continue;
                }
                match load_lines(model, &self.util, p, q, cell, &mut lines) {
                    Some(delta) if delta < 0.0 => {}
                    _ => continue,
                }
                if !self.charge(lines.len(), 80 + 8 * SWAP_SIZES as u64) {
                    break;
                }
                let ideal = best_transfer(&lines, largest);
                // `b` goes to `p`, `a` to `q`: either may be closed to all but its own tenants.
                let admitted_b = |&&(_, b): &&(u64, usize)| self.admits(b, p);
                let a_at_home = self.at_home_for(p, q);
                for set_b in [self.at_home_for(q, p), Some(&self.away[q])]
                    .into_iter()
                    .flatten()
                {
                    let mut cursor = set_b.iter().find(admitted_b).copied();
                    let mut sizes = 0;
                    while let Some((wb, b)) = cursor {
                        sizes += 1;
                        if sizes > SWAP_SIZES {
                            break;
                        }
                        let wanted = wb.saturating_add(ideal);
                        let at_home = match a_at_home {
                            Some(set) => neighbours(set, wanted, u64::MAX, |_| true),
                            None => [None, None],
                        };
                        let candidates = at_home
                            .into_iter()
                            .chain(neighbours(&self.away[p], wanted, u64::MAX, |a| {
                                self.admits(a, q)
                            }))
                            .flatten();
                        for (wa, a) in candidates {
                            if wa <= wb {
                                continue;
                            }
                            let peak = peak_at(&lines, (wa - wb) as f64);
                            if peak >= target {
                                continue;
                            }
                            let cost = self.cost(a, q) + self.cost(b, p);
                            if self.affordable(cost)
                                && (best.is_none_or(|(c, p)| cost < c || (cost == c && peak < p)))
                            {
                                best = Some((cost, peak));
                                choice = Some((a, b));
                            }
                        }
                        cursor = wb
                            .checked_add(1)
                            .and_then(|next| set_b.range((next, 0)..).find(admitted_b).copied());
                    }
                }
            }
        }
        self.lines = lines;
        choice
    }

    /// Sends moved tenants back where they started, largest first, wherever that does not raise
    /// the worst utilisation reached: directly, or together with a cheaper helper move that makes
    /// room in the home pool (a tenant of the home pool going to any other pool, free if it is
    /// already away, else costing fewer phones than the homecoming saves).
    fn send_home(&mut self) {
        let model = self.model;
        let placed: Vec<Option<usize>> = self.assign.iter().map(|&p| Some(p)).collect();
        self.util = model.utilisation(&placed);
        let (_, peak) = peak_of(&self.util);
        // Float noise only: a homecoming may not raise the worst cell by more than rounding.
        let ceiling = peak + peak.abs() * HOME_SLACK;
        let mut lines = std::mem::take(&mut self.lines);
        for _ in 0..3 {
            let order = model.largest_first(|t| {
                model.movable(t) && matches!(model.current[t], Some(h) if h != self.assign[t])
            });
            let mut changed = false;
            for tenant in order {
                let Some(home) = model.current[tenant] else {
                    continue;
                };
                let from = self.assign[tenant];
                if from == home {
                    continue;
                }
                let phones = model.phones[tenant];
                load_lines(model, &self.util, from, home, usize::MAX, &mut lines);
                if !self.charge(lines.len(), 2) {
                    break;
                }
                if peak_at(&lines, phones as f64) <= ceiling {
                    self.relocate(tenant, home);
                    changed = true;
                    continue;
                }
                let saved = self.snapshot(from, home);
                self.relocate(tenant, home);
                match self.best_helper(tenant, ceiling, &mut lines) {
                    Some((helper, to)) => {
                        self.relocate(helper, to);
                        changed = true;
                    }
                    None => {
                        self.relocate(tenant, from);
                        for (cell, u) in saved {
                            self.util[cell] = u;
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
        self.lines = lines;
    }

    /// After `tenant` went home (possibly over the ceiling there): the cheapest move of another
    /// tenant, out of a pool loading the worst cell of the home pool, that brings every cell back
    /// under `ceiling` and costs fewer phones than the homecoming saved.
    fn best_helper(
        &self,
        tenant: usize,
        ceiling: f64,
        lines: &mut Vec<(f64, f64)>,
    ) -> Option<(usize, usize)> {
        let model = self.model;
        let home = self.assign[tenant];
        let saving = i128::from(model.phones[tenant]);
        let (cell, _) = model.columns[home]
            .iter()
            .map(|&(cell, _)| (cell, self.util[cell]))
            .fold((usize::MAX, f64::NEG_INFINITY), |w, c| {
                if c.1 > w.1 { c } else { w }
            });
        let sources = model.loaders.get(cell)?;
        let mut best: Option<(i128, usize, usize)> = None;
        for &(from, _) in sources {
            for to in 0..model.pools() {
                if to == from {
                    continue;
                }
                match load_lines(model, &self.util, from, to, cell, lines) {
                    Some(delta) if delta < 0.0 => {}
                    _ => continue,
                }
                if !self.charge(lines.len(), 2) {
                    break;
                }
                let Some((lo, hi)) = feasible_transfers(lines, ceiling) else {
                    continue;
                };
                for set in [Some(&self.away[from]), self.at_home_for(from, to)]
                    .into_iter()
                    .flatten()
                {
                    let Some(&(w, helper)) = set
                        .range((lo, 0)..)
                        .find(|&&(_, b)| b != tenant && self.admits(b, to))
                    else {
                        continue;
                    };
                    if w > hi || peak_at(lines, w as f64) > ceiling {
                        continue;
                    }
                    let cost = self.cost(helper, to);
                    if cost < saving && best.is_none_or(|(c, _, _)| cost < c) {
                        best = Some((cost, helper, to));
                    }
                }
            }
        }
        best.map(|(_, helper, to)| (helper, to))
    }

    /// Current utilisation of every cell of two pools, to undo a tentative move exactly.
    fn snapshot(&self, a: usize, b: usize) -> Vec<(usize, f64)> {
        let model = self.model;
        model.columns[a]
            .iter()
            .chain(&model.columns[b])
            .map(|&(cell, _)| (cell, self.util[cell]))
            .collect()
    }
}

/// The most whole phones that can go along `lines` before a cell they raise passes `ceiling`.
fn headroom(lines: &[(f64, f64)], ceiling: f64) -> u64 {
    let most = lines
        .iter()
        .filter(|&&(_, d)| d > 0.0)
        .map(|&(u, d)| (ceiling - u) / d)
        .fold(f64::INFINITY, f64::min);
    // Saturating cast: negative → 0, unbounded → u64::MAX.
    most.floor() as u64
}

/// The whole-phone transfers `w ≥ 1` along `lines` that leave every cell at most `ceiling`,
/// as an inclusive range, if any.
fn feasible_transfers(lines: &[(f64, f64)], ceiling: f64) -> Option<(u64, u64)> {
    let mut lo = 1.0_f64;
    let mut hi = f64::INFINITY;
    for &(u, d) in lines {
        if d > 0.0 {
            hi = hi.min((ceiling - u) / d);
        } else if d < 0.0 {
            if u > ceiling {
                lo = lo.max((u - ceiling) / -d);
            }
        } else if u > ceiling {
            return None;
        }
    }
    if hi.is_nan() || hi < lo {
        return None;
    }
    // Float to integer casts saturate, which is what an unbounded range wants.
    let (lo, hi) = (lo.ceil() as u64, hi.floor() as u64);
    (lo <= hi).then_some((lo, hi))
}
