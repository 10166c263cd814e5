//! The whole lexicographic plan of issue 17 in one call: stage 1 ([`plan`]), stages 2 to 4
//! ([`refine`]), and the tenants without a pool placed either with everyone else (the old
//! behaviour) or, by default, only where they keep every cell under the warning level.

use super::model::{Model, validate};
use super::{Plan, PlanError, PlanInput, plan, refine};

/// A cell stays under the warning level when it exceeds it by no more than this (float noise),
/// as `refine` counts.
const ABOVE: f64 = 1e-9;

/// How tenants without a pool are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Newcomers {
    /// Largest first, each only in a pool where every (server, scenario) cell it loads stays
    /// under the warning level, after the others are planned; the rest stay without a pool.
    #[default]
    UnderWarning,
    /// All of them, wherever they raise the worst utilisation least, before the others are
    /// planned (stage 1's step 1).
    All,
}

/// A tenant the plan leaves without a pool: no pool has room for it under the warning level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotPlaced {
    /// Index into [`PlanInput::tenants`].
    pub tenant: usize,
    pub phones: u64,
    /// Phones of capacity to add to the servers of the pool where the least is needed, so that
    /// this tenant alone fits there under the warning level beside every tenant the plan places
    /// (so it includes what those servers already lack when they are above it).
    pub capacity_missing_phones: u64,
}

/// Stage 1 alone and the full plan, over the same tenants.
#[derive(Debug, Clone, PartialEq)]
pub struct Staged {
    /// Stage 1 alone (the worst utilisation only), tenants without a pool as in `plan`.
    pub worst_only: Plan,
    /// Stages 1 to 4; `assignment[t]` is `None` for the tenants in `not_placed`.
    pub plan: Plan,
    /// Largest first.
    pub not_placed: Vec<NotPlaced>,
}

/// Plans `input` on stages 1 to 4 with warning level `warning` (a fraction of capacity), placing
/// the tenants without a pool as `newcomers` says.
pub fn plan_staged(
    input: &PlanInput,
    warning: f64,
    newcomers: Newcomers,
) -> Result<Staged, PlanError> {
    let waiting: Vec<usize> = (0..input.tenants.len())
        .filter(|&t| input.tenants[t].current_pool.is_none())
        .collect();
    if newcomers == Newcomers::All || waiting.is_empty() {
        let worst_only = plan(input)?;
        let refined = refine(input, &worst_only, warning)?;
        return Ok(Staged {
            worst_only,
            plan: refined,
            not_placed: Vec::new(),
        });
    }
    let model = validate(input)?;
    // The tenants that have a pool, planned on their own.
    let kept: Vec<usize> = (0..input.tenants.len())
        .filter(|&t| input.tenants[t].current_pool.is_some())
        .collect();
    let settled = PlanInput {
        tenants: kept.iter().map(|&t| input.tenants[t].clone()).collect(),
        ..input.clone()
    };
    let stage1 = plan(&settled)?;
    let refined = refine(&settled, &stage1, warning)?;
    let spread = |p: &Plan| {
        let mut full: Vec<Option<usize>> = vec![None; input.tenants.len()];
        for (&t, &pool) in kept.iter().zip(&p.assignment) {
            full[t] = pool;
        }
        full
    };
    let mut assignment = spread(&refined);
    let mut util = model.utilisation(&assignment);
    let mut not_placed = Vec::new();
    for t in model.largest_first(|t| model.current[t].is_none()) {
        let w = model.phones[t] as f64;
        let mut best: Option<(f64, usize)> = None;
        for pool in (0..model.pools()).filter(|&p| model.open[p]) {
            let peak = model.columns[pool]
                .iter()
                .map(|&(cell, a)| util[cell] + w * a)
                .fold(0.0, f64::max);
            if peak <= warning + ABOVE && best.is_none_or(|(b, _)| peak < b) {
                best = Some((peak, pool));
            }
        }
        match best {
            Some((_, pool)) => {
                for &(cell, a) in &model.columns[pool] {
                    util[cell] += w * a;
                }
                assignment[t] = Some(pool);
            }
            None => not_placed.push(t),
        }
    }
    // Against the final loads: the capacity that would let each in beside everyone placed.
    let not_placed = not_placed
        .into_iter()
        .map(|t| NotPlaced {
            tenant: t,
            phones: model.phones[t],
            capacity_missing_phones: missing_for(input, &model, &util, t, warning),
        })
        .collect();
    Ok(Staged {
        worst_only: super::model::assemble_partial(
            input,
            &model,
            spread(&stage1),
            stage1.lower_bound,
        ),
        plan: super::model::assemble_partial(input, &model, assignment, refined.lower_bound),
        not_placed,
    })
}

/// Least phones of capacity, over the open pools, that would let tenant `t` into a pool with
/// every cell under the warning level (each server of the pool grown until its fullest cell fits).
fn missing_for(input: &PlanInput, model: &Model, util: &[f64], t: usize, warning: f64) -> u64 {
    let servers = input.servers.len();
    let w = model.phones[t] as f64;
    let mut least = u64::MAX;
    // Per server of the pool: its fullest cell's phones with the tenant in (a pool has few).
    let mut fullest: Vec<(usize, f64)> = Vec::new();
    for pool in (0..model.pools()).filter(|&p| model.open[p]) {
        fullest.clear();
        for &(cell, a) in &model.columns[pool] {
            let j = cell % servers;
            let load = (util[cell] + w * a) * input.servers[j].capacity;
            match fullest.iter_mut().find(|(k, _)| *k == j) {
                Some((_, top)) => *top = top.max(load),
                None => fullest.push((j, load)),
            }
        }
        let total: f64 = fullest
            .iter()
            .map(|&(j, load)| (load / warning - input.servers[j].capacity).ceil().max(0.0))
            .sum();
        least = least.min(total as u64);
    }
    if least == u64::MAX { 0 } else { least }
}
