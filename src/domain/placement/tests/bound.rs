use super::*;
use crate::domain::placement::bound::simplex_max;

#[test]
fn simplex_solves_a_textbook_lp() {
    // max 3x + 5y, x ≤ 4, 2y ≤ 12, 3x + 2y ≤ 18 → x = 2, y = 6.
    let v = simplex_max(
        &[vec![1.0, 0.0], vec![0.0, 2.0], vec![3.0, 2.0]],
        &[4.0, 12.0, 18.0],
        &[3.0, 5.0],
    );
    assert!(
        (v[0] - 2.0).abs() < 1e-12 && (v[1] - 6.0).abs() < 1e-12,
        "{v:?}"
    );
}

#[test]
fn fractional_bound_matches_the_pair_cluster_formula() {
    // In the pair cluster a pair's N−1 cell carries the whole pair, so the fractional
    // optimum is total phones / Σ over pairs of the smaller capacity (pins aside).
    let mut input = pair_cluster(7, 400, 6, true);
    for t in &mut input.tenants {
        t.pinned = false;
    }
    let total: u64 = input.tenants.iter().map(|t| t.phones).sum();
    let smaller: f64 = input
        .servers
        .chunks(2)
        .map(|pair| pair[0].capacity.min(pair[1].capacity))
        .sum();
    let expected = total as f64 / smaller;
    let bound = lower_bound(&input);
    assert!(bound <= expected);
    assert!(
        (expected - bound) / expected < 1e-9,
        "{bound} vs {expected}"
    );
}

#[test]
fn a_tenant_too_big_for_any_pool_sets_the_bound() {
    let input = two_server_cluster(100.0, 100.0, &[500, 5, 5]);
    let plan = plan(&input).unwrap();
    assert!(
        (plan.lower_bound - 5.1).abs() < 1e-9,
        "{}",
        plan.lower_bound
    );
    assert!((plan.value - 5.1).abs() < 1e-12);
}
