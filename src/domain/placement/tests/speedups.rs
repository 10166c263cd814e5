//! The shortcuts taken for speed give exactly what the plain computations give: the greedy
//! placement that skips pools which cannot win, and the projection that visits only non-zero
//! shares. Compared bit for bit with straightforward versions kept here.

use super::*;
use crate::domain::placement::model::{Model, complete, validate};
use proptest::prelude::*;

/// The greedy placement as first written: every open pool scanned, every cell of each.
fn greedy_by_full_scan(
    model: &Model,
    util: &mut [f64],
    pool_phones: &mut [u64],
    order: &[usize],
    assignment: &mut [Option<usize>],
) {
    for &tenant in order {
        let phones = model.phones[tenant];
        let w = phones as f64;
        let mut best: Option<(f64, u64, usize)> = None;
        for (pool, column) in model.columns.iter().enumerate() {
            if !model.open[pool] {
                continue;
            }
            let peak = column
                .iter()
                .fold(0.0_f64, |m, &(cell, a)| m.max(util[cell] + w * a));
            let better = match best {
                None => true,
                Some((p, phones_there, _)) => {
                    peak < p || (peak == p && pool_phones[pool] < phones_there)
                }
            };
            if better {
                best = Some((peak, pool_phones[pool], pool));
            }
        }
        if let Some((_, _, pool)) = best {
            for &(cell, a) in &model.columns[pool] {
                util[cell] += w * a;
            }
            pool_phones[pool] = pool_phones[pool].saturating_add(phones);
            assignment[tenant] = Some(pool);
        }
    }
}

/// The LPT baseline's assignment computed with [`greedy_by_full_scan`].
fn lpt_by_full_scan(input: &PlanInput) -> Vec<usize> {
    let model = validate(input).unwrap();
    let mut assignment: Vec<Option<usize>> = model
        .current
        .iter()
        .zip(&model.pinned)
        .map(|(&pool, &pinned)| if pinned { pool } else { None })
        .collect();
    let mut util = model.utilisation(&assignment);
    let mut pool_phones = model.pool_phones(&assignment);
    let order = model.largest_first(|t| !model.pinned[t]);
    greedy_by_full_scan(&model, &mut util, &mut pool_phones, &order, &mut assignment);
    complete(assignment)
}

/// The projection as first written: every share of every scenario looked at.
fn loads_by_full_scan(input: &PlanInput, assignment: &[Option<usize>]) -> Vec<Vec<f64>> {
    let mut loads = vec![vec![0.0; input.servers.len()]; input.scenarios.len()];
    for (tenant, pool) in input.tenants.iter().zip(assignment) {
        let Some(pool) = pool.and_then(|p| input.pools.get(p)) else {
            continue;
        };
        let phones = tenant.phones as f64;
        for (row, shares) in loads.iter_mut().zip(&pool.shares) {
            for (load, &share) in row.iter_mut().zip(shares) {
                if share != 0.0 {
                    *load += phones * share;
                }
            }
        }
    }
    loads
}

fn bits(loads: &[Vec<f64>]) -> Vec<Vec<u64>> {
    loads
        .iter()
        .map(|row| row.iter().map(|x| x.to_bits()).collect())
        .collect()
}

/// A random cluster: pairs of failover pools or small mixed ones, some pools closed.
fn any_cluster(seed: u64, tenants: usize) -> PlanInput {
    let mut rng = Rng(seed);
    let mut input = if rng.below(2) == 0 {
        pair_cluster(seed, tenants, 2 + rng.below(6) as usize, rng.below(2) == 0)
    } else {
        small_cluster(seed, tenants as u64, 6)
    };
    if rng.below(3) == 0 {
        close_some_pools(&mut input, seed);
    }
    input
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn lpt_places_as_the_full_scan_does(seed in any::<u64>(), tenants in 1usize..400) {
        let input = any_cluster(seed, tenants);
        let Ok(lpt) = lpt_baseline(&input) else {
            return Ok(());
        };
        let expected: Vec<Option<usize>> = lpt_by_full_scan(&input).into_iter().map(Some).collect();
        prop_assert_eq!(&lpt.assignment, &expected);
    }

    #[test]
    fn newcomers_are_placed_as_the_full_scan_places_them(
        seed in any::<u64>(),
        tenants in 1usize..400,
    ) {
        let mut input = any_cluster(seed, tenants);
        // Many newcomers, so that the greedy step of the plan does real work.
        let mut rng = Rng(seed ^ 0x4E57);
        for t in &mut input.tenants {
            if !t.pinned && rng.below(3) == 0 {
                t.current_pool = None;
            }
        }
        let Ok(model) = validate(&input) else {
            return Ok(());
        };
        if newcomer_is_stranded(&input) {
            return Ok(());
        }
        let mut expected = model.current.clone();
        let mut util = model.utilisation(&expected);
        let mut pool_phones = model.pool_phones(&expected);
        let order = model.largest_first(|t| model.current[t].is_none());
        greedy_by_full_scan(&model, &mut util, &mut pool_phones, &order, &mut expected);
        prop_assert_eq!(place_newcomers(&model), complete(expected));
    }

    #[test]
    fn evaluate_adds_up_as_the_full_scan_does(
        seed in any::<u64>(),
        tenants in 0usize..300,
        holes in 0u64..4,
    ) {
        let input = any_cluster(seed, tenants.max(1));
        let mut rng = Rng(seed ^ 0xE7A1);
        let pools = input.pools.len() as u64;
        // Any assignment, unplaced tenants and pools that do not exist included, possibly short.
        let assignment: Vec<Option<usize>> = (0..input.tenants.len().saturating_sub(holes as usize))
            .map(|_| match rng.below(pools + 2) {
                p if p < pools => Some(p as usize),
                p if p == pools => None,
                _ => Some(pools as usize + 3),
            })
            .collect();
        let (_, loads) = evaluate(&input, &assignment);
        prop_assert_eq!(bits(&loads), bits(&loads_by_full_scan(&input, &assignment)));
    }
}
