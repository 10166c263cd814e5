use super::*;

#[test]
fn lpt_places_largest_first_on_the_least_loaded_pool_ignoring_the_current_one() {
    // Two equal pools of one server each: LPT gives 50 → A, 40 → B, 30 → B, 20 → A.
    let servers = vec![server("voip1", 100.0), server("voip2", 100.0)];
    let input = PlanInput {
        scenarios: scenario_names(&servers),
        pools: vec![
            PlanPool {
                name: "pbxA".into(),
                shares: weighted_shares(2, &[(0, 10, 10)]),
                closed: false,
            },
            PlanPool {
                name: "pbxB".into(),
                shares: weighted_shares(2, &[(1, 10, 10)]),
                closed: false,
            },
        ],
        servers,
        tenants: vec![
            tenant("T20", 20, Some(1), false),
            tenant("T50", 50, Some(1), false),
            tenant("T30", 30, Some(0), false),
            tenant("T40", 40, None, false),
        ],
        move_budget: 0,
    };
    let lpt = lpt_baseline(&input).unwrap();
    assert_eq!(lpt.assignment, vec![Some(0), Some(0), Some(1), Some(1)]);
    assert_eq!(lpt.value, 0.7);
    // It ignores the budget; the optimiser does not.
    assert_eq!(lpt.moved_phones, 100);
    let plan = plan(&input).unwrap();
    check_invariants(&input, &plan);
    assert_eq!(plan.moved_phones, 0);
    assert_eq!(plan.assignment, vec![Some(1), Some(1), Some(0), Some(0)]);
    assert_eq!(plan.value, 0.7);
}

#[test]
fn lpt_keeps_pinned_tenants() {
    let mut input = two_server_cluster(100.0, 100.0, &[50, 40, 30]);
    input.tenants[0].pinned = true;
    let lpt = lpt_baseline(&input).unwrap();
    assert_eq!(lpt.assignment[0], Some(0));
    assert!(lpt.value >= lpt.lower_bound);
}
