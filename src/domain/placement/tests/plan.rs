use super::*;

#[test]
fn default_budget_is_thirty_percent_rounded_down() {
    assert_eq!(default_budget(0), 0);
    assert_eq!(default_budget(10), 3);
    assert_eq!(default_budget(1_001), 300);
    assert_eq!(default_budget(u64::MAX), 5_534_023_222_112_865_484);
}

#[test]
fn evaluate_projects_phones_per_scenario_and_server() {
    let input = two_server_cluster(100.0, 50.0, &[30, 10]);
    let (value, loads) = evaluate(&input, &[Some(0), Some(1)]);
    // normal: voip1 30, voip2 10; voip1 down: voip2 40; voip2 down: voip1 40.
    assert_eq!(
        loads,
        vec![vec![30.0, 10.0], vec![0.0, 40.0], vec![40.0, 0.0]]
    );
    assert_eq!(value, 0.8);
    // Unplaced and unknown pools carry nothing.
    let (value, loads) = evaluate(&input, &[None, Some(7)]);
    assert_eq!(value, 0.0);
    assert_eq!(loads, vec![vec![0.0; 2]; 3]);
}

#[test]
fn invalid_input_is_refused_with_the_culprit_named() {
    let good = two_server_cluster(100.0, 50.0, &[30, 10]);
    type Breakage = Box<dyn Fn(&mut PlanInput)>;
    let cases: Vec<(Breakage, &str)> = vec![
        (Box::new(|i| i.pools.clear()), "no pools"),
        (Box::new(|i| i.servers.clear()), "no servers"),
        (Box::new(|i| i.scenarios.clear()), "no scenarios"),
        (
            Box::new(|i| i.servers[1].capacity = 0.0),
            "server voip2: capacity",
        ),
        (
            Box::new(|i| i.servers[0].capacity = f64::NAN),
            "server voip1: capacity",
        ),
        (
            Box::new(|i| {
                i.pools[1].shares.pop();
            }),
            "pool pbxB: shares has 2 scenario rows, expected 3",
        ),
        (
            Box::new(|i| i.pools[0].shares[2].push(0.0)),
            "pool pbxA: scenario voip2 down has 3 server shares, expected 2",
        ),
        (
            Box::new(|i| i.pools[0].shares[0][1] = f64::NAN),
            "pool pbxA: share of server voip2 in scenario normal is NaN",
        ),
        (
            Box::new(|i| i.pools[0].shares[0][1] = 0.5),
            "pool pbxA: shares in scenario normal add up to 1.5",
        ),
        (
            Box::new(|i| i.tenants[1].current_pool = Some(2)),
            "tenant T1: current pool 2 does not exist",
        ),
        (
            Box::new(|i| {
                i.tenants[0].current_pool = None;
                i.tenants[0].pinned = true;
            }),
            "tenant T0: pinned, but has no pool",
        ),
    ];
    for (break_it, expected) in cases {
        let mut input = good.clone();
        break_it(&mut input);
        let err = plan(&input).expect_err(expected);
        assert!(
            err.to_string().contains(expected),
            "{err} should contain {expected}"
        );
        assert_eq!(lpt_baseline(&input).expect_err(expected), err);
        assert_eq!(lower_bound(&input), 0.0);
    }
    assert!(plan(&good).is_ok());
}

#[test]
fn no_tenants_gives_an_empty_plan() {
    let input = two_server_cluster(100.0, 50.0, &[]);
    let plan = plan(&input).unwrap();
    assert!(plan.moves.is_empty());
    assert_eq!((plan.value, plan.lower_bound, plan.gap), (0.0, 0.0, 0.0));
}

#[test]
fn n_minus_one_overload_of_two_mirrored_pools_cannot_be_moved_away() {
    // Every tenant on pbxA and voip2 small: when voip1 fails, all phones of both pools land
    // on voip2 whatever pool they use, so no plan helps; the bound proves it and the plan
    // moves nothing.
    let input = two_server_cluster(1_000.0, 300.0, &[120, 80, 60, 40, 30, 20]);
    let plan = plan(&input).unwrap();
    assert!(plan.before_value > 1.0);
    assert_eq!(plan.value, plan.before_value);
    assert!(plan.moves.is_empty());
    assert!((plan.value - plan.lower_bound).abs() <= 1e-9 * plan.value);
    assert_eq!(plan.worst, (1, 1));
}

#[test]
fn overloaded_n_minus_one_is_fixed_by_spreading_the_failover() {
    // voip1 (big) carries everything through pbxA, whose backup voip2 is small: "voip1
    // down" puts 400 phones on voip2 (capacity 300). pbxC fails voip1 over to voip3.
    let servers = vec![
        server("voip1", 1_000.0),
        server("voip2", 300.0),
        server("voip3", 300.0),
    ];
    let input = PlanInput {
        scenarios: scenario_names(&servers),
        pools: vec![
            PlanPool {
                name: "pbxA".into(),
                shares: weighted_shares(3, &[(0, 10, 10), (1, 20, 10)]),
                closed: false,
            },
            PlanPool {
                name: "pbxC".into(),
                shares: weighted_shares(3, &[(0, 10, 10), (2, 20, 10)]),
                closed: false,
            },
        ],
        servers,
        tenants: [120, 80, 60, 40, 40, 30, 20, 10]
            .iter()
            .enumerate()
            .map(|(t, &p)| tenant(&format!("T{t}"), p, Some(0), false))
            .collect(),
        move_budget: default_budget(400),
    };
    let plan = plan(&input).unwrap();
    check_invariants(&input, &plan);
    assert!((plan.before_value - 400.0 / 300.0).abs() < 1e-12);
    // Best split is 200/200 → 2/3 on both backups, but 30% of 400 = 120 phones may move.
    assert!(
        (plan.value - 280.0 / 300.0).abs() < 1e-12,
        "value {}",
        plan.value
    );
    assert_eq!(plan.moved_phones, 120);
    assert!(plan.value < 1.0, "no server overloaded after the plan");
    // Without a budget the even split is reached and matches the bound.
    let free = PlanInput {
        move_budget: 400,
        ..input.clone()
    };
    let plan = super::plan(&free).unwrap();
    assert!((plan.value - 200.0 / 300.0).abs() < 1e-12);
    assert_eq!(plan.moved_phones, 200);
    assert!(plan.gap.abs() < 1e-9);
}

#[test]
fn a_zero_budget_moves_nothing_but_still_places_newcomers() {
    let mut input = two_server_cluster(100.0, 100.0, &[50, 40, 30]);
    input.move_budget = 0;
    input.tenants.push(tenant("NEW", 20, None, false));
    let plan = plan(&input).unwrap();
    check_invariants(&input, &plan);
    assert_eq!(plan.moved_phones, 0);
    assert_eq!(plan.moves.len(), 1);
    assert_eq!(plan.moves[0].from, None);
    assert_eq!(plan.moves[0].tenant, 3);
}

#[test]
fn pair_cluster_plan_is_within_one_percent_and_beats_lpt() {
    for (seed, mixed) in [(1, false), (2, true)] {
        let input = pair_cluster(seed, 3_000, 10, mixed);
        let plan = plan(&input).unwrap();
        check_invariants(&input, &plan);
        let lpt = lpt_baseline(&input).unwrap();
        assert!(plan.gap < 0.01, "gap {}", plan.gap);
        assert!(
            plan.value < lpt.value,
            "plan {} lpt {}",
            plan.value,
            lpt.value
        );
        assert!(plan.value < plan.before_value);
    }
}

#[test]
fn a_pool_that_loads_nothing_is_handled() {
    // A pool with no members: its phones register nowhere, so it loads no cell. Nothing
    // breaks; by the objective's own terms every tenant belongs there (phones that cannot
    // register weigh nothing), which is why callers mark such pools closed (see
    // `a_closed_memberless_pool_stays_empty`).
    let mut input = two_server_cluster(100.0, 100.0, &[50, 40]);
    input.pools.push(PlanPool {
        name: "empty".into(),
        shares: vec![vec![0.0; 2]; 3],
        closed: false,
    });
    input.tenants.push(tenant("NEW", 10, None, false));
    let plan = plan(&input).unwrap();
    check_invariants(&input, &plan);
    assert_eq!(plan.lower_bound, 0.0);
    assert_eq!(
        plan.assignment[2],
        Some(2),
        "the newcomer goes where it loads nothing"
    );
    assert_eq!(plan.moved_phones, 90);
    assert_eq!((plan.value, plan.gap), (0.0, 0.0));
}

#[test]
fn a_closed_memberless_pool_stays_empty() {
    // The same memberless pool, now closed as the web layer marks it: nobody goes there.
    let mut input = two_server_cluster(100.0, 100.0, &[50, 40]);
    input.pools.push(PlanPool {
        name: "empty".into(),
        shares: vec![vec![0.0; 2]; 3],
        closed: true,
    });
    input.tenants.push(tenant("NEW", 10, None, false));
    let plan = plan(&input).unwrap();
    check_invariants(&input, &plan);
    assert!(plan.assignment.iter().all(|&p| p != Some(2)), "{plan:?}");
    // Both open pools are mirrors: whoever fails, the other server carries all 100 phones.
    assert!((plan.value - 1.0).abs() < 1e-12, "value {}", plan.value);
    assert!(
        (plan.lower_bound - 1.0).abs() < 1e-9,
        "bound {}",
        plan.lower_bound
    );
    assert_eq!(plan.moved_phones, 0);
    let lpt = lpt_baseline(&input).unwrap();
    assert!(lpt.assignment.iter().all(|&p| p != Some(2)), "{lpt:?}");
}

/// voip1 (200) and voip2 (100); pbxA and pbxB mirrored, pbxS on voip1 alone (its phones
/// vanish when voip1 fails, which makes it the objective's favourite) holding tenant S.
fn cluster_with_a_single_server_pool(closed: bool) -> PlanInput {
    let servers = vec![server("voip1", 200.0), server("voip2", 100.0)];
    PlanInput {
        scenarios: scenario_names(&servers),
        pools: vec![
            PlanPool {
                name: "pbxA".into(),
                shares: weighted_shares(2, &[(0, 10, 10), (1, 20, 10)]),
                closed: false,
            },
            PlanPool {
                name: "pbxB".into(),
                shares: weighted_shares(2, &[(1, 10, 10), (0, 20, 10)]),
                closed: false,
            },
            PlanPool {
                name: "pbxS".into(),
                shares: weighted_shares(2, &[(0, 10, 10)]),
                closed,
            },
        ],
        servers,
        tenants: vec![
            tenant("S", 60, Some(2), false),
            tenant("T1", 30, Some(0), false),
            tenant("T2", 30, Some(0), false),
            tenant("T3", 20, Some(0), false),
            tenant("T4", 20, Some(1), false),
            tenant("NEW", 10, None, false),
        ],
        move_budget: 1_000,
    }
}

#[test]
fn nobody_joins_a_closed_pool_but_its_own_tenant_stays_counted() {
    // Open, pbxS takes phones off the pair until "voip2 down" (all 170 phones on voip1,
    // 0.85) is the worst cell, which it is whatever the plan does.
    let input = cluster_with_a_single_server_pool(false);
    let open = plan(&input).unwrap();
    check_invariants(&input, &open);
    assert!(open.assignment[1..].contains(&Some(2)), "{open:?}");
    assert!((open.value - 0.85).abs() < 1e-12);
    // Closed, S stays (leaving would only load voip2 more) and the 110 others stay on the
    // mirrored pair: when voip1 fails, voip2 carries them all.
    let input = cluster_with_a_single_server_pool(true);
    let closed = plan(&input).unwrap();
    check_invariants(&input, &closed);
    assert_eq!(closed.assignment[0], Some(2));
    assert!(closed.assignment[1..].iter().all(|&p| p != Some(2)));
    assert!((closed.value - 1.1).abs() < 1e-12, "value {}", closed.value);
    assert!(
        (closed.lower_bound - 1.1).abs() < 1e-9,
        "{}",
        closed.lower_bound
    );
    assert_eq!(closed.moved_phones, 0);
    let lpt = lpt_baseline(&input).unwrap();
    assert!(lpt.assignment.iter().all(|&p| p != Some(2)), "{lpt:?}");
    assert!(lpt.value >= closed.lower_bound);
}

#[test]
fn a_newcomer_with_every_pool_closed_is_refused() {
    let mut input = two_server_cluster(100.0, 100.0, &[50, 40]);
    for pool in &mut input.pools {
        pool.closed = true;
    }
    // Without newcomers the plan is to stay put; the baseline cannot reassign anyone.
    let stay = plan(&input).unwrap();
    check_invariants(&input, &stay);
    assert!(stay.moves.is_empty());
    let err = lpt_baseline(&input).unwrap_err();
    assert!(err.to_string().contains("tenant T0: not pinned"), "{err}");
    input.tenants.push(tenant("NEW", 10, None, false));
    let err = plan(&input).unwrap_err();
    assert!(
        err.to_string()
            .contains("tenant NEW: has no pool yet, and every pool is closed"),
        "{err}"
    );
    assert_eq!(lpt_baseline(&input).unwrap_err(), err);
    assert_eq!(lower_bound(&input), 0.0);
}

#[test]
fn a_balanced_cluster_is_left_alone() {
    let mut input = two_server_cluster(100.0, 100.0, &[30, 30, 20, 20]);
    input.tenants[1].current_pool = Some(1);
    input.tenants[3].current_pool = Some(1);
    let plan = plan(&input).unwrap();
    assert!(plan.moves.is_empty());
    assert_eq!(plan.value, 1.0);
}
