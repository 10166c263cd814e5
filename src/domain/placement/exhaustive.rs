//! Exhaustive search: the enumeration behind the "largest tenants alone" bound, and exact plans
//! for tiny inputs.

use super::model::{Model, peak_of};
use super::{EXACT_NODE_LIMIT, TIE};

pub(super) struct Best {
    pub(super) value: f64,
    pub(super) moved: u64,
    pub(super) pools: Vec<usize>,
}

/// Depth-first enumeration of pools for `order`, on top of the loads already in `util`.
/// Loads only grow going down, so a partial assignment whose worst cell is already no better
/// than the best complete one is cut. With `homes`, moves are charged (lexicographic value,
/// then phones moved, within `budget`).
pub(super) struct Enumeration<'m> {
    pub(super) model: &'m Model,
    pub(super) order: Vec<usize>,
    pub(super) choices: Vec<Vec<usize>>,
    /// Per depth: the pool the tenant starts in, when moves are charged.
    pub(super) homes: Option<Vec<Option<usize>>>,
    pub(super) budget: u64,
    pub(super) tie: f64,
    pub(super) util: Vec<f64>,
    pub(super) saved: Vec<f64>,
    pub(super) chosen: Vec<usize>,
    pub(super) best: Option<Best>,
    pub(super) nodes: u64,
    pub(super) node_limit: u64,
    pub(super) cut_short: bool,
}

impl Enumeration<'_> {
    pub(super) fn run(&mut self, peak: f64, moved: u64) {
        self.descend(0, peak, moved);
    }

    fn improves(&self, value: f64, moved: u64) -> bool {
        match &self.best {
            None => true,
            Some(best) => {
                let slack = self.tie * best.value.abs();
                value < best.value - slack || (value <= best.value + slack && moved < best.moved)
            }
        }
    }

    fn hopeless(&self, peak: f64, moved: u64) -> bool {
        match &self.best {
            None => false,
            Some(best) => {
                let slack = self.tie * best.value.abs();
                peak > best.value + slack || (peak >= best.value - slack && moved >= best.moved)
            }
        }
    }

    fn descend(&mut self, depth: usize, peak: f64, moved: u64) {
        if self.nodes >= self.node_limit {
            self.cut_short = true;
            return;
        }
        self.nodes += 1;
        if depth == self.order.len() {
            if self.improves(peak, moved) {
                self.best = Some(Best {
                    value: peak,
                    moved,
                    pools: self.chosen.clone(),
                });
            }
            return;
        }
        let model = self.model;
        let tenant = self.order[depth];
        let phones = model.phones[tenant];
        let w = phones as f64;
        for c in 0..self.choices[depth].len() {
            let pool = self.choices[depth][c];
            let charge = match &self.homes {
                Some(homes) => match homes[depth] {
                    Some(home) if home != pool => phones,
                    _ => 0,
                },
                None => 0,
            };
            let Some(moved_now) = moved.checked_add(charge) else {
                continue;
            };
            if moved_now > self.budget {
                continue;
            }
            let mark = self.saved.len();
            let mut new_peak = peak;
            for &(cell, a) in &model.columns[pool] {
                self.saved.push(self.util[cell]);
                self.util[cell] += w * a;
                new_peak = new_peak.max(self.util[cell]);
            }
            if !self.hopeless(new_peak, moved_now) {
                self.chosen[depth] = pool;
                self.descend(depth + 1, new_peak, moved_now);
            }
            for (&(cell, _), &old) in model.columns[pool].iter().zip(&self.saved[mark..]) {
                self.util[cell] = old;
            }
            self.saved.truncate(mark);
            if self.cut_short {
                return;
            }
        }
    }
}

/// Replaces `assignment` by the exact lexicographic optimum (worst utilisation, then phones
/// moved) when the capped branch and bound finds a better one; starts from `assignment` as the
/// incumbent, so the result is never worse.
pub(super) fn solve_exactly(model: &Model, assignment: &mut [usize], budget: u64) {
    let order = model.largest_first(|t| model.movable(t));
    let fixed: Vec<Option<usize>> = assignment
        .iter()
        .enumerate()
        .map(|(t, &pool)| if model.movable(t) { None } else { Some(pool) })
        .collect();
    let util = model.utilisation(&fixed);
    let base = peak_of(&util).1.max(0.0);
    let incumbent: Vec<Option<usize>> = assignment.iter().map(|&p| Some(p)).collect();
    let incumbent_value = peak_of(&model.utilisation(&incumbent)).1.max(0.0);
    let choices: Vec<Vec<usize>> = order.iter().map(|&t| model.destinations(t)).collect();
    let mut search = Enumeration {
        model,
        homes: Some(order.iter().map(|&t| model.current[t]).collect()),
        chosen: vec![0; order.len()],
        best: Some(Best {
            value: incumbent_value,
            moved: model.moved_phones(assignment),
            pools: order.iter().map(|&t| assignment[t]).collect(),
        }),
        order,
        choices,
        budget,
        tie: TIE,
        util,
        saved: Vec::new(),
        nodes: 0,
        node_limit: EXACT_NODE_LIMIT,
        cut_short: false,
    };
    search.run(base, 0);
    if let Some(best) = search.best {
        for (&tenant, &pool) in search.order.iter().zip(&best.pools) {
            assignment[tenant] = pool;
        }
    }
}
