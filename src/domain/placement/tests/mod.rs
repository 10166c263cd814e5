//! Tests of the planner. The test clusters, the brute force and the invariant checks live here;
//! the tests are grouped by what they exercise.

mod bound;
mod floor;
mod lpt;
mod plan;
mod properties;
mod refine;
mod speedups;

use super::*;

/// splitmix64: a tiny deterministic generator for test clusters.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn scenario_names(servers: &[PlanServer]) -> Vec<String> {
    let mut names = vec!["normal".to_string()];
    names.extend(servers.iter().map(|s| format!("{} down", s.name)));
    names
}

/// Shares of a pool under the `weighted` client model: among the members that are up, the
/// lowest priority value takes everything, split by weight.
fn weighted_shares(servers: usize, members: &[(usize, u16, u16)]) -> Vec<Vec<f64>> {
    (0..=servers)
        .map(|scenario| {
            let down = scenario.checked_sub(1);
            let up: Vec<&(usize, u16, u16)> =
                members.iter().filter(|m| Some(m.0) != down).collect();
            let mut row = vec![0.0; servers];
            if let Some(top) = up.iter().map(|m| m.1).min() {
                let chosen: Vec<_> = up.iter().filter(|m| m.1 == top).collect();
                let total: f64 = chosen.iter().map(|m| f64::from(m.2)).sum();
                for m in chosen {
                    row[m.0] += f64::from(m.2) / total;
                }
            }
            row
        })
        .collect()
}

fn server(name: &str, capacity: f64) -> PlanServer {
    PlanServer {
        name: name.into(),
        capacity,
    }
}

fn tenant(code: &str, phones: u64, current_pool: Option<usize>, pinned: bool) -> PlanTenant {
    PlanTenant {
        code: code.into(),
        phones,
        current_pool,
        pinned,
    }
}

/// The benchmark's cluster shape: per server pair (a, b) the pools [a p10, b p20] and
/// [b p10, a p20]; sizes skewed; the current assignment unbalanced.
fn pair_cluster(seed: u64, tenants: usize, pairs: usize, mixed: bool) -> PlanInput {
    let mut rng = Rng(seed);
    let servers_n = 2 * pairs;
    let sizes: Vec<u64> = (0..tenants)
        .map(|_| {
            let r = rng.unit();
            if r < 0.90 {
                5 + rng.below(26)
            } else if r < 0.98 {
                31 + rng.below(169)
            } else {
                200 + rng.below(601)
            }
        })
        .collect();
    let total: u64 = sizes.iter().sum();
    let base = total as f64 / pairs as f64 / 0.75;
    let servers: Vec<PlanServer> = (0..servers_n)
        .map(|j| {
            let factor = if mixed {
                [0.6, 1.0, 1.4][rng.below(3) as usize]
            } else {
                1.0
            };
            server(&format!("voip{:02}", j + 1), (base * factor).round())
        })
        .collect();
    let mut pools = Vec::new();
    for pair in 0..pairs {
        let (a, b) = (2 * pair, 2 * pair + 1);
        for (primary, backup) in [(a, b), (b, a)] {
            pools.push(PlanPool {
                name: format!("pbx{}", pools.len() + 1),
                shares: weighted_shares(servers_n, &[(primary, 10, 10), (backup, 20, 10)]),
                closed: false,
            });
        }
    }
    let weights: Vec<f64> = (0..pools.len()).map(|_| 0.5 + rng.unit()).collect();
    let weight_sum: f64 = weights.iter().sum();
    let tenants: Vec<PlanTenant> = sizes
        .iter()
        .enumerate()
        .map(|(t, &phones)| {
            let r = rng.unit();
            let current = if r < 0.02 {
                None
            } else {
                let mut x = rng.unit() * weight_sum;
                let mut pick = weights.len() - 1;
                for (p, w) in weights.iter().enumerate() {
                    if x < *w {
                        pick = p;
                        break;
                    }
                    x -= w;
                }
                Some(pick)
            };
            let pinned = current.is_some() && rng.unit() < 0.03;
            tenant(&format!("T{t}"), phones, current, pinned)
        })
        .collect();
    PlanInput {
        scenarios: scenario_names(&servers),
        servers,
        pools,
        tenants,
        move_budget: default_budget(total),
    }
}

/// A small random cluster with coarse shares (so distinct values are far apart).
fn small_cluster(seed: u64, max_tenants: u64, max_pools: u64) -> PlanInput {
    let mut rng = Rng(seed);
    let servers_n = 2 + rng.below(2) as usize;
    let servers: Vec<PlanServer> = (0..servers_n)
        .map(|j| {
            server(
                &format!("voip{}", j + 1),
                [50.0, 100.0, 150.0][rng.below(3) as usize],
            )
        })
        .collect();
    let pools_n = 2 + rng.below(max_pools - 1) as usize;
    let pools: Vec<PlanPool> = (0..pools_n)
        .map(|p| {
            let members_n = 1 + rng.below(servers_n as u64) as usize;
            let mut members = Vec::new();
            for m in 0..members_n {
                let server = (p + m) % servers_n;
                let priority = [10, 20][rng.below(2) as usize];
                let weight = 1 + rng.below(3) as u16;
                members.push((server, priority, weight));
            }
            PlanPool {
                name: format!("pbx{p}"),
                shares: weighted_shares(servers_n, &members),
                closed: false,
            }
        })
        .collect();
    let tenants_n = 1 + rng.below(max_tenants) as usize;
    let tenants: Vec<PlanTenant> = (0..tenants_n)
        .map(|t| {
            let current = if rng.below(5) == 0 {
                None
            } else {
                Some(rng.below(pools_n as u64) as usize)
            };
            let pinned = current.is_some() && rng.below(5) == 0;
            tenant(&format!("T{t}"), 1 + rng.below(50), current, pinned)
        })
        .collect();
    let total: u64 = tenants.iter().map(|t| t.phones).sum();
    let move_budget = rng.below(total + 1);
    PlanInput {
        scenarios: scenario_names(&servers),
        servers,
        pools,
        tenants,
        move_budget,
    }
}

/// Closes each pool with probability 1/3 (all of them now and then: unplaced tenants then
/// make the input invalid, which the callers check).
fn close_some_pools(input: &mut PlanInput, seed: u64) {
    let mut rng = Rng(seed ^ 0xC105_ED00);
    let all = rng.below(8) == 0;
    for pool in &mut input.pools {
        pool.closed = all || rng.below(3) == 0;
    }
}

/// Whether every tenant's pool respects the closed flags.
fn respects_closed(input: &PlanInput, assignment: &[Option<usize>]) -> bool {
    input
        .tenants
        .iter()
        .zip(assignment)
        .all(|(t, &pool)| pool.is_none_or(|p| !input.pools[p].closed || t.current_pool == Some(p)))
}

/// Whether [`plan`] must refuse the input for having nowhere to put a newcomer.
fn newcomer_is_stranded(input: &PlanInput) -> bool {
    input.pools.iter().all(|p| p.closed) && input.tenants.iter().any(|t| t.current_pool.is_none())
}

struct BruteForce {
    /// Best worst-utilisation within the budget.
    value: f64,
    /// Fewest phones moved among assignments at that value.
    moved: u64,
    /// Best worst-utilisation ignoring the budget.
    unbudgeted: f64,
}

fn brute_force(input: &PlanInput) -> BruteForce {
    let pools = input.pools.len();
    let n = input.tenants.len();
    let mut choice = vec![0usize; n];
    let mut all = Vec::new();
    loop {
        let valid = input.tenants.iter().zip(&choice).all(|(t, &c)| {
            let stays = t.current_pool == Some(c);
            stays || (!t.pinned && !input.pools[c].closed)
        });
        if valid {
            let assignment: Vec<Option<usize>> = choice.iter().map(|&c| Some(c)).collect();
            let (value, _) = evaluate(input, &assignment);
            let moved: u64 = input
                .tenants
                .iter()
                .zip(&choice)
                .filter(|(t, c)| matches!(t.current_pool, Some(h) if h != **c))
                .map(|(t, _)| t.phones)
                .sum();
            all.push((value, moved));
        }
        let mut i = 0;
        while i < n {
            choice[i] += 1;
            if choice[i] < pools {
                break;
            }
            choice[i] = 0;
            i += 1;
        }
        if i == n {
            break;
        }
    }
    let unbudgeted = all.iter().map(|a| a.0).fold(f64::INFINITY, f64::min);
    let within: Vec<&(f64, u64)> = all.iter().filter(|a| a.1 <= input.move_budget).collect();
    let value = within.iter().map(|a| a.0).fold(f64::INFINITY, f64::min);
    let moved = within
        .iter()
        .filter(|a| a.0 <= value + 1e-9)
        .map(|a| a.1)
        .min()
        .unwrap_or(u64::MAX);
    BruteForce {
        value,
        moved,
        unbudgeted,
    }
}

fn check_invariants(input: &PlanInput, plan: &Plan) {
    assert_eq!(plan.assignment.len(), input.tenants.len());
    assert!(
        plan.assignment.iter().all(|p| p.is_some()),
        "every tenant placed"
    );
    for (t, tenant) in input.tenants.iter().enumerate() {
        if tenant.pinned {
            assert_eq!(
                plan.assignment[t], tenant.current_pool,
                "pinned {} moved",
                tenant.code
            );
        }
        if let Some(pool) = plan.assignment[t]
            && input.pools[pool].closed
        {
            assert_eq!(
                tenant.current_pool,
                Some(pool),
                "{} put in closed pool {}",
                tenant.code,
                input.pools[pool].name
            );
        }
    }
    assert!(plan.moved_phones <= input.move_budget, "budget exceeded");
    let moved: u64 = plan
        .moves
        .iter()
        .filter(|m| m.from.is_some())
        .map(|m| m.phones)
        .sum();
    assert_eq!(moved, plan.moved_phones);
    for m in &plan.moves {
        assert_eq!(plan.assignment[m.tenant], Some(m.to));
        assert_eq!(input.tenants[m.tenant].current_pool, m.from);
        assert_ne!(m.from, Some(m.to));
    }
    let changed = (0..input.tenants.len())
        .filter(|&t| plan.assignment[t] != input.tenants[t].current_pool)
        .count();
    assert_eq!(changed, plan.moves.len());
    let (value, loads) = evaluate(input, &plan.assignment);
    assert_eq!(value, plan.value);
    assert_eq!(loads, plan.loads);
    assert!(
        plan.value >= plan.lower_bound,
        "value {} below bound {}",
        plan.value,
        plan.lower_bound
    );
    assert_eq!(plan.lower_bound, lower_bound(input));
    let (s, j) = plan.worst;
    assert_eq!(plan.loads[s][j] / input.servers[j].capacity, plan.value);
}

/// Two servers, pbxA [voip1 p10, voip2 p20] and pbxB [voip2 p10, voip1 p20].
fn two_server_cluster(cap1: f64, cap2: f64, phones: &[u64]) -> PlanInput {
    let servers = vec![server("voip1", cap1), server("voip2", cap2)];
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
        ],
        servers,
        tenants: phones
            .iter()
            .enumerate()
            .map(|(t, &p)| tenant(&format!("T{t}"), p, Some(0), false))
            .collect(),
        move_budget: 1_000,
    }
}
