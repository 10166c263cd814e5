//! The certified floors under the warning level, and the plan with newcomers kept under it.

use super::*;

/// Every assignment of `input` (pins kept, closed pools respected, tenants without a pool
/// placed), as `f(assignment)`.
fn each_assignment(input: &PlanInput, mut f: impl FnMut(&[Option<usize>])) {
    let choices: Vec<Vec<usize>> = input
        .tenants
        .iter()
        .map(|t| {
            if t.pinned {
                t.current_pool.into_iter().collect()
            } else {
                (0..input.pools.len())
                    .filter(|&p| !input.pools[p].closed || t.current_pool == Some(p))
                    .collect()
            }
        })
        .collect();
    let mut at = vec![0usize; choices.len()];
    loop {
        let assignment: Vec<Option<usize>> = at
            .iter()
            .zip(&choices)
            .map(|(&i, c)| c.get(i).copied())
            .collect();
        f(&assignment);
        let mut k = 0;
        loop {
            if k == at.len() {
                return;
            }
            at[k] += 1;
            if at[k] < choices[k].len() {
                break;
            }
            at[k] = 0;
            k += 1;
        }
    }
}

#[test]
fn the_floors_never_exceed_what_the_best_plan_keeping_the_worst_reaches_on_random_clusters() {
    let (mut checked, mut needed, mut tight) = (0, 0, 0);
    for seed in 0..300 {
        let mut input = small_cluster(seed, 6, 4);
        close_some_pools(&mut input, seed);
        if newcomer_is_stranded(&input) {
            continue;
        }
        let Ok(stage1) = plan(&input) else { continue };
        let warning = 0.5;
        let refined = refine(&input, &stage1, warning).unwrap();
        let floor = warning_floor(&input, &refined, warning);
        let cap = refined.value * (1.0 + 1e-9);
        let servers = input.servers.len();
        let mut fewest = usize::MAX;
        let mut lowest = vec![f64::INFINITY; servers];
        each_assignment(&input, |assignment| {
            let (value, loads) = evaluate(&input, assignment);
            if value > cap {
                return;
            }
            fewest = fewest.min(warning_score(&input, &loads, warning).cells_above);
            for (j, low) in lowest.iter_mut().enumerate() {
                let peak = loads
                    .iter()
                    .map(|row| row[j] / input.servers[j].capacity)
                    .fold(0.0, f64::max);
                *low = low.min(peak);
            }
        });
        assert!(
            fewest < usize::MAX,
            "seed {seed}: the plan itself qualifies"
        );
        assert!(
            floor.cells <= fewest,
            "seed {seed}: floor {} above the fewest cells {fewest}",
            floor.cells
        );
        for (j, f) in floor.servers.iter().enumerate() {
            if let Some(f) = f {
                assert!(
                    *f <= lowest[j] + 1e-9,
                    "seed {seed}: server {j} floor {f} above the lowest {}",
                    lowest[j]
                );
            }
        }
        checked += 1;
        if fewest > 0 {
            needed += 1;
            if floor.cells == fewest {
                tight += 1;
            }
        }
    }
    assert!(checked > 100, "{checked}");
    // Not vacuous: where some cell must stay above, the floor usually finds exactly how many.
    assert!(
        needed > 20 && 2 * tight > needed,
        "{tight} tight of {needed}"
    );
}

/// Two pairs: voip1 (60) / voip2 (100) and voip3 / voip4 (100 each), each pair with pools
/// [a p10, b p20] and [b p10, a p20]; 200 phones in tenants of 10. Through a failure a pair's
/// survivor carries the whole pair; under a warning level of 80% the pairs hold 48 and 80, 128
/// phones in all: at least one pair must go above it, whatever the plan.
fn short_of_capacity() -> PlanInput {
    let servers = vec![
        server("voip1", 60.0),
        server("voip2", 100.0),
        server("voip3", 100.0),
        server("voip4", 100.0),
    ];
    let mut pools = Vec::new();
    for (a, b) in [(0, 1), (2, 3)] {
        for (primary, backup) in [(a, b), (b, a)] {
            pools.push(PlanPool {
                name: format!("pbx{}", pools.len() + 1),
                shares: weighted_shares(4, &[(primary, 10, 10), (backup, 20, 10)]),
                closed: false,
            });
        }
    }
    let tenants = (0..20)
        .map(|t| tenant(&format!("T{t}"), 10, Some(t % 4), false))
        .collect();
    PlanInput {
        scenarios: scenario_names(&servers),
        servers,
        pools,
        tenants,
        move_budget: 1_000,
    }
}

#[test]
fn cells_the_cluster_lacks_the_capacity_for_are_certified_as_forced() {
    let input = short_of_capacity();
    let warning = 0.8;
    let stage1 = plan(&input).unwrap();
    let refined = refine(&input, &stage1, warning).unwrap();
    let after = warning_score(&input, &refined.loads, warning).cells_above;
    let floor = warning_floor(&input, &refined, warning);
    assert!(after >= 1, "{:?}", refined.loads);
    assert!(floor.cells >= 1, "the missing capacity forces a cell above");
    assert!(floor.cells <= after);
}

#[test]
fn a_pinned_tenant_that_alone_overloads_its_pair_forces_that_server_and_no_other() {
    // The case: a pinned tenant of 95 on voip1/voip2 (100 each).
    let servers: Vec<PlanServer> = (1..=4)
        .map(|j| server(&format!("voip{j}"), 100.0))
        .collect();
    let pools = vec![
        PlanPool {
            name: "pbx1".into(),
            shares: weighted_shares(4, &[(0, 10, 10), (1, 20, 10)]),
            closed: false,
        },
        PlanPool {
            name: "pbx2".into(),
            shares: weighted_shares(4, &[(2, 10, 10), (3, 20, 10)]),
            closed: false,
        },
    ];
    let input = PlanInput {
        scenarios: scenario_names(&servers),
        servers,
        pools,
        tenants: vec![
            tenant("PINNED", 95, Some(0), true),
            tenant("T1", 30, Some(0), false),
            tenant("T2", 30, Some(0), false),
        ],
        move_budget: 1_000,
    };
    let warning = 0.8;
    let refined = refine(&input, &plan(&input).unwrap(), warning).unwrap();
    let floor = warning_floor(&input, &refined, warning);
    assert!(floor.forces(0, warning), "{floor:?}");
    assert!(
        floor.forces(1, warning),
        "voip2 takes all 95 when voip1 is down"
    );
    assert!(!floor.forces(2, warning) && !floor.forces(3, warning));
    assert!(floor.servers[0].unwrap() >= 0.95 - 1e-6 && floor.servers[0].unwrap() <= 0.95);
    assert_eq!(
        floor.cells,
        warning_score(&input, &refined.loads, warning).cells_above
    );
}

#[test]
fn newcomers_go_only_where_every_cell_stays_under_the_warning_level_by_default() {
    // One pair of 100 each, already carrying 60; a newcomer of 15 fits under 80%, the next of
    // 30 does not (the pair's survivor would carry 105): it is listed with the capacity that
    // would let it in.
    let servers = vec![server("voip1", 100.0), server("voip2", 100.0)];
    let pools = vec![PlanPool {
        name: "pbx1".into(),
        shares: weighted_shares(2, &[(0, 10, 10), (1, 20, 10)]),
        closed: false,
    }];
    let input = PlanInput {
        scenarios: scenario_names(&servers),
        servers,
        pools,
        tenants: vec![
            tenant("OLD", 60, Some(0), false),
            tenant("BIG", 30, None, false),
            tenant("SMALL", 15, None, false),
        ],
        move_budget: 1_000,
    };
    let staged = plan_staged(&input, 0.8, Newcomers::UnderWarning).unwrap();
    assert_eq!(staged.plan.assignment, vec![Some(0), None, Some(0)]);
    assert_eq!(
        staged.not_placed,
        vec![NotPlaced {
            tenant: 1,
            phones: 30,
            // 105 phones under 80%: 132 phones of capacity on each server, 32 more each.
            capacity_missing_phones: 64,
        }]
    );
    assert_eq!(
        warning_score(&input, &staged.plan.loads, 0.8).cells_above,
        0
    );
    assert!(staged.plan.moves.iter().all(|m| m.tenant != 1));

    let all = plan_staged(&input, 0.8, Newcomers::All).unwrap();
    assert!(all.not_placed.is_empty());
    assert!(all.plan.assignment.iter().all(Option::is_some));
    assert!(warning_score(&input, &all.plan.loads, 0.8).cells_above > 0);
}
