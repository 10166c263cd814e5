//! The certified lower bound on the worst utilisation that plans are measured against.

use super::exhaustive::Enumeration;
use super::model::{Model, peak_of, validate};
use super::{BOUND_ENUMERATION_LEAVES, BOUND_SHAVE, MAX_PIVOTS, PlanInput};

/// A certified lower bound on the worst utilisation any assignment can reach while keeping the
/// pinned tenants where they are and every other tenant out of closed pools it was not already
/// in. It ignores the move budget (a budget can only make the optimum worse, so the bound stays
/// valid, only weaker when the budget binds). Returns 0 for input [`plan`] would refuse.
///
/// It is the larger of two bounds:
///
/// 1. **Fractional.** Let tenants be divisible: `x_p` free phones go to pool `p` (Σ x_p = R, the
///    phones of unpinned tenants), pinned phones stay. Closed pools are respected: unpinned
///    phones fall into groups `g` of `R_g` phones that may use the pools `P_g` (the open pools,
///    plus the closed pool they sit in, if any). For any weights `w ≥ 0` over the
///    (scenario, server) cells with Σ w ≤ 1, the worst utilisation `t` of any assignment
///    satisfies `t ≥ Σ_k w_k u_k` (a weighted mean of the cell utilisations `u_k` is at most
///    their maximum). `u_k` is linear in the phones per pool, so
///    `Σ_k w_k u_k = Σ_k w_k b_k + Σ_t phones_t c_{pool(t)}(w)
///    ≥ Σ_k w_k b_k + Σ_g R_g · min_{p ∈ P_g} c_p(w)`, where `b_k` is the pinned tenants'
///    utilisation of cell `k` and `c_p(w) = Σ_k w_k share_kp / cap_k`, since every tenant of
///    group `g` ends in a pool of `P_g`. That right-hand side is computed in closed form for
///    whatever `w` is used, so it is a valid bound regardless of how `w` was found. `w` comes
///    from a small dense simplex on the LP dual of the fractional min-max problem (`maximise
///    Σ_k w_k b_k + Σ_g R_g z_g` subject to `z_g ≤ c_p(w)` for every group and pool of `P_g`,
///    Σ w ≤ 1, over the cells no other cell dominates), whose optimum equals the fractional
///    optimum; the simplex's own float error can only make the bound weaker, never invalid.
/// 2. **Largest tenants alone.** Loads only grow as tenants are added (shares are ≥ 0), so the
///    exact optimum of the sub-problem holding the pinned tenants plus the `k` largest unpinned
///    ones is a bound too (each tenant tried only in the pools it may end in, so closed pools
///    are respected here too). It is found by exhaustive enumeration with pruning, `k` as large as
///    keeps the enumeration at about 100,000 leaves. On tiny inputs this is the exact optimum;
///    on large ones it catches a single tenant too big for any pool.
///
/// Both are lowered by 1e-12 (relative) to absorb the rounding of their own sums.
pub fn lower_bound(input: &PlanInput) -> f64 {
    validate(input).map_or(0.0, |model| bound_of(&model))
}

pub(super) fn bound_of(model: &Model) -> f64 {
    let pinned: Vec<Option<usize>> = model
        .current
        .iter()
        .zip(&model.pinned)
        .map(|(&pool, &pinned)| if pinned { pool } else { None })
        .collect();
    let pinned_util = model.utilisation(&pinned);
    let groups = free_groups(model);
    let fractional = fractional_bound(model, &pinned_util, &groups);
    let enumerated = enumeration_bound(model, &pinned_util);
    fractional.max(enumerated).max(0.0)
}

/// Unpinned phones grouped by where they may go: `(phones, pools)`. Group 0 is every tenant
/// that may only use open pools (no pool yet, or in an open one); then one group per closed pool
/// holding unpinned tenants, who may also stay there. Empty groups are left out.
fn free_groups(model: &Model) -> Vec<(f64, Vec<usize>)> {
    free_groups_of(model, |_| true)
}

/// [`free_groups`] of the unpinned tenants `include` takes.
pub(super) fn free_groups_of(
    model: &Model,
    include: impl Fn(usize) -> bool,
) -> Vec<(f64, Vec<usize>)> {
    let open: Vec<usize> = (0..model.pools()).filter(|&p| model.open[p]).collect();
    let mut phones = vec![0.0; model.pools() + 1];
    for t in (0..model.phones.len()).filter(|&t| !model.pinned[t] && include(t)) {
        let slot = match model.current[t] {
            Some(pool) if !model.open[pool] => pool + 1,
            _ => 0,
        };
        phones[slot] += model.phones[t] as f64;
    }
    let mut groups = Vec::new();
    for (slot, &free) in phones.iter().enumerate() {
        if free <= 0.0 {
            continue;
        }
        let mut pools = open.clone();
        if let Some(closed) = slot.checked_sub(1) {
            pools.push(closed);
        }
        groups.push((free, pools));
    }
    groups
}

/// Bound 1 of [`lower_bound`]: the certified value of the simplex's dual weights.
fn fractional_bound(model: &Model, pinned_util: &[f64], groups: &[(f64, Vec<usize>)]) -> f64 {
    let cells = undominated_cells(model);
    if cells.is_empty() {
        // No pool loads any cell: every phone can vanish (pools whose members are all down).
        return 0.0;
    }
    // A weight per cell, then z'_g = R_g·z_g per group; a row `z'_g ≤ R_g · c_p(w)` per group
    // and pool it may use, then Σ w ≤ 1.
    let n = cells.len() + groups.len();
    let mut rows = Vec::new();
    for (g, (free, pools)) in groups.iter().enumerate() {
        for &pool in pools {
            let mut row = vec![0.0; n];
            for &(cell, a) in &model.columns[pool] {
                if let Ok(c) = cells.binary_search(&cell) {
                    row[c] = -free * a;
                }
            }
            row[cells.len() + g] = 1.0;
            rows.push(row);
        }
    }
    let mut total_row = vec![0.0; n];
    total_row[..cells.len()].fill(1.0);
    rows.push(total_row);
    let mut limits = vec![0.0; rows.len()];
    if let Some(last) = limits.last_mut() {
        *last = 1.0;
    }
    let mut objective: Vec<f64> = cells.iter().map(|&cell| pinned_util[cell]).collect();
    objective.extend(std::iter::repeat_n(1.0, groups.len()));
    let values = simplex_max(&rows, &limits, &objective);
    certified_bound(model, &cells, &values, pinned_util, groups)
}

/// `Σ_k w_k b_k + Σ_g R_g · min_{p ∈ P_g} c_p(w)` for the weights found, made non-negative and
/// scaled so they sum to at most 1: valid for any such weights (see [`lower_bound`]).
fn certified_bound(
    model: &Model,
    cells: &[usize],
    values: &[f64],
    pinned_util: &[f64],
    groups: &[(f64, Vec<usize>)],
) -> f64 {
    let mut weights: Vec<f64> = cells
        .iter()
        .enumerate()
        .map(|(c, _)| match values.get(c) {
            Some(&w) if w.is_finite() && w > 0.0 => w,
            _ => 0.0,
        })
        .collect();
    let total: f64 = weights.iter().sum();
    if total > 1.0 {
        for w in &mut weights {
            *w /= total;
        }
    }
    let pinned_part: f64 = weights
        .iter()
        .zip(cells)
        .map(|(&w, &cell)| w * pinned_util[cell])
        .sum();
    let mut price = vec![0.0; model.pools()];
    for (&w, &cell) in weights.iter().zip(cells) {
        for &(pool, a) in &model.loaders[cell] {
            price[pool] += w * a;
        }
    }
    let free_part: f64 = groups
        .iter()
        .map(|(free, pools)| {
            // A group with nowhere to go cannot occur after validation; 0 keeps it valid anyway.
            let cheapest = pools
                .iter()
                .map(|&p| price[p])
                .fold(f64::INFINITY, f64::min);
            if cheapest.is_finite() {
                free * cheapest
            } else {
                0.0
            }
        })
        .sum();
    let bound = pinned_part + free_part;
    if bound.is_finite() {
        bound * (1.0 - BOUND_SHAVE)
    } else {
        0.0
    }
}

/// Cells no other cell dominates (loaded at least as much by every pool). A dominated cell's
/// constraint is implied by its dominator's, so dropping it changes no optimum; of identical
/// cells the lowest index stays. For the usual two-member pools this keeps about one cell per
/// server out of `scenarios` many.
pub(super) fn undominated_cells(model: &Model) -> Vec<usize> {
    let mut keep = Vec::new();
    for (cell, column) in model.loaders.iter().enumerate() {
        // Any dominating cell is loaded by every pool loading this one, so by its anchor too.
        let Some(&(anchor, _)) = column
            .iter()
            .min_by_key(|&&(pool, _)| (model.columns[pool].len(), pool))
        else {
            continue;
        };
        let dominated = model.columns[anchor].iter().any(|&(other, _)| {
            other != cell
                && dominates(&model.loaders[other], column)
                && (other < cell || !dominates(column, &model.loaders[other]))
        });
        if !dominated {
            keep.push(cell);
        }
    }
    keep
}

/// Whether every pool in `small` loads `big` at least as much (both sorted by pool).
fn dominates(big: &[(usize, f64)], small: &[(usize, f64)]) -> bool {
    let mut rest = big.iter();
    small.iter().all(|&(pool, a)| {
        rest.by_ref()
            .find(|&&(p, _)| p >= pool)
            .is_some_and(|&(p, b)| p == pool && b >= a)
    })
}

/// Maximises `objective · v` subject to `rows[i] · v ≤ limits[i]` and `v ≥ 0`, where every limit
/// is ≥ 0 so the origin is a feasible start (no phase one). Dense tableau; Dantzig's rule,
/// switching for good to Bland's rule (which cannot cycle) after a run of degenerate pivots.
/// Returns the structural values at the last basis reached.
pub(super) fn simplex_max(rows: &[Vec<f64>], limits: &[f64], objective: &[f64]) -> Vec<f64> {
    const REDUCED_EPS: f64 = 1e-11;
    const PIVOT_EPS: f64 = 1e-9;
    let m = rows.len();
    let n = objective.len();
    let width = n + m + 1;
    let rhs = width - 1;
    // Row 0 holds the reduced costs; rows 1..=m the constraints with their slack columns.
    let mut tab = vec![0.0; (m + 1) * width];
    tab[..n].copy_from_slice(objective);
    for (i, (row, &limit)) in rows.iter().zip(limits).enumerate() {
        let start = (i + 1) * width;
        for (slot, &a) in tab[start..start + n].iter_mut().zip(row) {
            *slot = a;
        }
        tab[start + n + i] = 1.0;
        tab[start + rhs] = limit.max(0.0);
    }
    let mut basis: Vec<usize> = (n..n + m).collect();
    let mut bland = false;
    let mut degenerate_run = 0;
    let mut pivot_row = vec![0.0; width];
    for _ in 0..MAX_PIVOTS {
        let reduced = &tab[..rhs];
        let entering = if bland {
            reduced.iter().position(|&d| d > REDUCED_EPS)
        } else {
            let mut best: Option<(usize, f64)> = None;
            for (j, &d) in reduced.iter().enumerate() {
                if d > REDUCED_EPS && best.is_none_or(|(_, b)| d > b) {
                    best = Some((j, d));
                }
            }
            best.map(|(j, _)| j)
        };
        let Some(col) = entering else { break };
        let mut leaving: Option<(usize, f64)> = None;
        for i in 0..m {
            let start = (i + 1) * width;
            let a = tab[start + col];
            if a > PIVOT_EPS {
                let ratio = tab[start + rhs].max(0.0) / a;
                let better = match leaving {
                    None => true,
                    Some((li, lr)) => ratio < lr || (ratio == lr && basis[i] < basis[li]),
                };
                if better {
                    leaving = Some((i, ratio));
                }
            }
        }
        // Unbounded cannot happen for the bound's LP (Σ w ≤ 1, z ≤ every price); stop anyway.
        let Some((row, ratio)) = leaving else { break };
        if ratio <= 0.0 {
            degenerate_run += 1;
            if degenerate_run > 50 {
                bland = true;
            }
        } else {
            degenerate_run = 0;
        }
        let start = (row + 1) * width;
        let pivot = tab[start + col];
        for (dst, &src) in pivot_row.iter_mut().zip(&tab[start..start + width]) {
            *dst = src / pivot;
        }
        tab[start..start + width].copy_from_slice(&pivot_row);
        for r in 0..=m {
            if r == row + 1 {
                continue;
            }
            let line = &mut tab[r * width..(r + 1) * width];
            let factor = line[col];
            if factor != 0.0 {
                for (x, &p) in line.iter_mut().zip(&pivot_row) {
                    *x -= factor * p;
                }
                line[col] = 0.0;
            }
        }
        basis[row] = col;
    }
    let mut values = vec![0.0; n];
    for (i, &var) in basis.iter().enumerate() {
        if var < n {
            values[var] = tab[(i + 1) * width + rhs].max(0.0);
        }
    }
    values
}

/// Bound 2 of [`lower_bound`]: the exact optimum for the pinned tenants plus the `k` largest
/// unpinned ones.
fn enumeration_bound(model: &Model, pinned_util: &[f64]) -> f64 {
    let base = peak_of(pinned_util).1.max(0.0);
    let order = model.largest_first(|t| model.movable(t));
    let choices: Vec<Vec<usize>> = order.iter().map(|&t| model.destinations(t)).collect();
    let mut depth = 0;
    let mut leaves: u64 = 1;
    while depth < order.len() && depth < 64 {
        let next = leaves.saturating_mul(choices[depth].len() as u64);
        if next > BOUND_ENUMERATION_LEAVES {
            break;
        }
        leaves = next;
        depth += 1;
    }
    if depth == 0 {
        return base * (1.0 - BOUND_SHAVE);
    }
    let mut search = Enumeration {
        model,
        order: order[..depth].to_vec(),
        choices: choices[..depth].to_vec(),
        homes: None,
        budget: u64::MAX,
        tie: 0.0,
        util: pinned_util.to_vec(),
        saved: Vec::new(),
        chosen: vec![0; depth],
        best: None,
        nodes: 0,
        node_limit: 4 * BOUND_ENUMERATION_LEAVES + 64,
        cut_short: false,
    };
    search.run(base, 0);
    match (&search.best, search.cut_short) {
        (Some(best), false) => best.value.max(base) * (1.0 - BOUND_SHAVE),
        _ => base * (1.0 - BOUND_SHAVE),
    }
}
