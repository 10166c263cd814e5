use super::*;
use crate::domain::placement::model::peak_of;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn plan_is_the_brute_force_optimum_on_tiny_clusters(seed in any::<u64>()) {
        let input = small_cluster(seed, 7, 4);
        let best = brute_force(&input);
        let plan = plan(&input).unwrap();
        check_invariants(&input, &plan);
        prop_assert!(
            (plan.value - best.value).abs() <= 1e-9,
            "value {} optimum {}",
            plan.value,
            best.value
        );
        prop_assert_eq!(plan.moved_phones, best.moved);
        prop_assert!(plan.lower_bound <= best.unbudgeted + 1e-9);
        let lpt = lpt_baseline(&input).unwrap();
        prop_assert!(lpt.value >= best.unbudgeted - 1e-9);
    }

    #[test]
    fn local_search_alone_respects_the_rules_on_tiny_clusters(seed in any::<u64>()) {
        // The heuristic path that large inputs take, checked against brute force.
        let input = small_cluster(seed, 7, 4);
        let best = brute_force(&input);
        let model = validate(&input).unwrap();
        let start = place_newcomers(&model);
        let placed: Vec<Option<usize>> = start.iter().map(|&p| Some(p)).collect();
        let start_value = peak_of(&model.utilisation(&placed)).1.max(0.0);
        let bound = bound_of(&model);
        let assignment = local_search(&model, start, input.move_budget, bound);
        let heuristic = assemble(&input, &model, assignment, bound);
        check_invariants(&input, &heuristic);
        prop_assert!(heuristic.value >= best.value - 1e-9);
        prop_assert!(heuristic.value <= start_value + 1e-9);
    }

    #[test]
    fn plans_keep_the_rules_on_random_clusters(seed in any::<u64>(), tenants in 15usize..120) {
        let mut rng = Rng(seed);
        let pairs = 2 + rng.below(4) as usize;
        let mut input = pair_cluster(seed, tenants, pairs, rng.below(2) == 0);
        input.move_budget = rng.below(input.move_budget + 1);
        let plan = plan(&input).unwrap();
        check_invariants(&input, &plan);
        prop_assert_eq!(&super::plan(&input).unwrap(), &plan, "deterministic");
        let lpt = lpt_baseline(&input).unwrap();
        prop_assert!(lpt.value >= plan.lower_bound);
        let newcomers = input.tenants.iter().any(|t| t.current_pool.is_none());
        prop_assert!(plan.value <= plan.before_value || newcomers);
    }

    #[test]
    fn plan_is_the_brute_force_optimum_with_closed_pools(seed in any::<u64>()) {
        let mut input = small_cluster(seed, 7, 4);
        close_some_pools(&mut input, seed);
        if newcomer_is_stranded(&input) {
            prop_assert!(plan(&input).is_err());
            prop_assert!(lpt_baseline(&input).is_err());
            return Ok(());
        }
        let best = brute_force(&input);
        let plan = plan(&input).unwrap();
        check_invariants(&input, &plan);
        prop_assert!(
            (plan.value - best.value).abs() <= 1e-9,
            "value {} optimum {}",
            plan.value,
            best.value
        );
        prop_assert_eq!(plan.moved_phones, best.moved);
        prop_assert!(plan.lower_bound <= best.unbudgeted + 1e-9);
        // The heuristic path alone keeps out of closed pools too.
        let model = validate(&input).unwrap();
        let bound = bound_of(&model);
        let start = place_newcomers(&model);
        let assignment = local_search(&model, start, input.move_budget, bound);
        let heuristic = assemble(&input, &model, assignment, bound);
        check_invariants(&input, &heuristic);
        match lpt_baseline(&input) {
            Ok(lpt) => {
                for (t, &pool) in input.tenants.iter().zip(&lpt.assignment) {
                    let closed = pool.is_some_and(|p| input.pools[p].closed);
                    prop_assert!(!closed || t.pinned, "lpt put {} in a closed pool", t.code);
                }
                prop_assert!(lpt.value >= best.unbudgeted - 1e-9);
            }
            Err(_) => prop_assert!(input.pools.iter().all(|p| p.closed)),
        }
    }

    #[test]
    fn plans_stay_out_of_closed_pools_on_random_clusters(
        seed in any::<u64>(),
        tenants in 15usize..120,
    ) {
        let mut rng = Rng(seed);
        let pairs = 2 + rng.below(4) as usize;
        let mut input = pair_cluster(seed, tenants, pairs, rng.below(2) == 0);
        input.move_budget = rng.below(input.move_budget + 1);
        close_some_pools(&mut input, seed);
        if newcomer_is_stranded(&input) {
            prop_assert!(plan(&input).is_err());
            return Ok(());
        }
        let plan = plan(&input).unwrap();
        check_invariants(&input, &plan);
        prop_assert!(respects_closed(&input, &plan.assignment));
        if let Ok(lpt) = lpt_baseline(&input) {
            prop_assert!(lpt.value >= plan.lower_bound);
        }
    }

    #[test]
    fn bound_never_exceeds_the_optimum_with_closed_pools(seed in any::<u64>()) {
        let mut input = small_cluster(seed, 6, 3);
        close_some_pools(&mut input, seed);
        if newcomer_is_stranded(&input) {
            prop_assert_eq!(lower_bound(&input), 0.0);
            return Ok(());
        }
        let best = brute_force(&input);
        prop_assert!(lower_bound(&input) <= best.unbudgeted + 1e-9);
    }

    #[test]
    fn bound_never_exceeds_the_optimum(seed in any::<u64>()) {
        let input = small_cluster(seed, 6, 3);
        let best = brute_force(&input);
        prop_assert!(lower_bound(&input) <= best.unbudgeted + 1e-9);
    }
}
