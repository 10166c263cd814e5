//! Rebalance planner benchmark: generated clusters of 40 servers (20 pairs; per pair (a, b) the
//! pools [a p10, b p20] and [b p10, a p20]), skewed tenant sizes, an unbalanced current
//! assignment, the default 30% move budget. Prints the plan's value, bound, gap and moved phones
//! against the LPT baseline, with wall times. Deterministic: a fixed-seed splitmix64.
//!
//! Run with `cargo bench --bench placement` (release profile); `-- 50000` runs only the rows of
//! that many tenants (the 50,000-tenant rows have 100 servers, as the performance issue's target).

use std::time::Instant;

use pbx_pools::domain::placement::*;

/// The default warning level (Settings): 80% of capacity.
const WARNING: f64 = 0.8;

/// splitmix64 (Steele, Lea, Flood 2014): small, fast, and enough for generating test data.
struct SplitMix64(u64);

impl SplitMix64 {
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

/// Shares of a [primary p10, backup p20] pool: the primary takes every phone unless it is down.
fn failover_shares(servers: usize, primary: usize, backup: usize) -> Vec<Vec<f64>> {
    (0..=servers)
        .map(|scenario| {
            let mut row = vec![0.0; servers];
            if scenario == primary + 1 {
                row[backup] = 1.0;
            } else {
                row[primary] = 1.0;
            }
            row
        })
        .collect()
}

fn cluster(seed: u64, tenants: usize, pairs: usize, mixed: bool) -> PlanInput {
    let mut rng = SplitMix64(seed);
    let server_count = 2 * pairs;
    // Most tenants are small offices, a few are large.
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
    // About 75% utilisation in the worst single failure when balanced.
    let base = total as f64 / pairs as f64 / 0.75;
    let servers: Vec<PlanServer> = (0..server_count)
        .map(|j| {
            let factor = if mixed {
                [0.6, 1.0, 1.4][rng.below(3) as usize]
            } else {
                1.0
            };
            PlanServer {
                name: format!("voip{:02}", j + 1),
                capacity: (base * factor).round(),
            }
        })
        .collect();
    let mut scenarios = vec!["normal".to_string()];
    scenarios.extend(servers.iter().map(|s| format!("{} down", s.name)));
    let mut pools = Vec::new();
    for pair in 0..pairs {
        let (a, b) = (2 * pair, 2 * pair + 1);
        for (primary, backup) in [(a, b), (b, a)] {
            pools.push(PlanPool {
                name: format!("pbx{:02}", pools.len() + 1),
                shares: failover_shares(server_count, primary, backup),
                closed: false,
            });
        }
    }
    // Unbalanced: pools drawn with weights between 0.5 and 1.5; 2% new tenants, 3% pinned.
    let weights: Vec<f64> = (0..pools.len()).map(|_| 0.5 + rng.unit()).collect();
    let weight_sum: f64 = weights.iter().sum();
    let tenants: Vec<PlanTenant> = sizes
        .iter()
        .enumerate()
        .map(|(t, &phones)| {
            let current_pool = if rng.unit() < 0.02 {
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
            PlanTenant {
                code: format!("T{t:05}"),
                phones,
                pinned: current_pool.is_some() && rng.unit() < 0.03,
                current_pool,
            }
        })
        .collect();
    PlanInput {
        servers,
        scenarios,
        pools,
        tenants,
        move_budget: default_budget(total),
    }
}

/// FNV-1a over the plan's and the baseline's assignments, values, bounds and loads: equal digests
/// in two builds mean the planner's results did not change (say, after a speed-up).
fn digest(plan: &Plan, lpt: &Plan) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |x: u64| {
        for b in x.to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for p in [plan, lpt] {
        for a in &p.assignment {
            eat(a.map_or(u64::MAX, |a| a as u64));
        }
        for x in [p.value, p.lower_bound, p.before_value] {
            eat(x.to_bits());
        }
        eat(p.moved_phones);
        for row in p.loads.iter().chain(&p.before_loads) {
            for x in row {
                eat(x.to_bits());
            }
        }
    }
    h
}

fn main() {
    println!(
        "{:>7} {:>7} {:>5} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9} {:>16} {:>6} {:>6} {:>6} {:>6} {:>8} {:>9} {:>7} {:>7} {:>9} {:>8} {:>5}",
        "tenants",
        "servers",
        "caps",
        "phones",
        "before",
        "value",
        "bound",
        "gap%",
        "lpt",
        "lpt_gap%",
        "moved%",
        "plan_ms",
        "lpt_ms",
        "digest",
        "c_now",
        "c_lpt",
        "c_s1",
        "c_new",
        "moved2%",
        "refine_ms",
        "c_floor",
        "s_above",
        "s_forced",
        "floor_ms",
        "rose"
    );
    let only: Option<usize> = std::env::args().skip(1).find_map(|a| a.parse().ok());
    let sizes = [(1_000, 20), (10_000, 20), (50_000, 50)];
    for (tenants, pairs) in sizes
        .into_iter()
        .filter(|&(t, _)| only.is_none_or(|o| o == t))
    {
        for (seed, mixed) in [(42, false), (43, true), (44, false), (45, true)] {
            let input = cluster(seed, tenants, pairs, mixed);
            let total: u64 = input.tenants.iter().map(|t| t.phones).sum();
            let started = Instant::now();
            let plan = match plan(&input) {
                Ok(plan) => plan,
                Err(e) => {
                    eprintln!("plan refused the generated cluster: {e}");
                    return;
                }
            };
            let plan_time = started.elapsed();
            let started = Instant::now();
            let lpt = match lpt_baseline(&input) {
                Ok(lpt) => lpt,
                Err(e) => {
                    eprintln!("lpt refused the generated cluster: {e}");
                    return;
                }
            };
            let lpt_time = started.elapsed();
            let moved_percent = 100.0 * plan.moved_phones as f64 / total as f64;
            // Stages 2 to 4 at the default warning level of 80%: cells above it now, with the
            // LPT baseline, after stage 1 alone and after the refinement.
            let started = Instant::now();
            let refined = match refine(&input, &plan, WARNING) {
                Ok(refined) => refined,
                Err(e) => {
                    eprintln!("refine refused the generated cluster: {e}");
                    return;
                }
            };
            let refine_time = started.elapsed();
            assert!(
                refined.value <= plan.value,
                "the refinement keeps the worst"
            );
            let cells = |loads: &[Vec<f64>]| warning_score(&input, loads, WARNING).cells_above;
            let started = Instant::now();
            let floor = warning_floor(&input, &refined, WARNING);
            let floor_time = started.elapsed();
            assert!(
                floor.cells <= cells(&refined.loads),
                "the floor is below the plan's own count"
            );
            let above = floor.servers.iter().filter(|f| f.is_some()).count();
            // Servers whose worst single failure rose (normal operation not counted).
            let worst_of = |loads: &[Vec<f64>], j: usize| {
                loads.iter().skip(1).map(|row| row[j]).fold(0.0, f64::max)
            };
            let rose = (0..input.servers.len())
                .filter(|&j| {
                    worst_of(&refined.loads, j) > worst_of(&refined.before_loads, j) * (1.0 + 1e-9)
                })
                .count();
            let forced = (0..input.servers.len())
                .filter(|&j| floor.forces(j, WARNING))
                .count();
            println!(
                "{:>7} {:>7} {:>5} {:>8} {:>9.5} {:>9.5} {:>9.5} {:>9.4} {:>9.5} {:>8.4} {:>8.2} {:>9.1} {:>9.1} {:016x} {:>6} {:>6} {:>6} {:>6} {:>8.2} {:>9.1} {:>7} {:>7} {:>9} {:>8.1} {:>5}",
                tenants,
                2 * pairs,
                if mixed { "mixed" } else { "equal" },
                total,
                plan.before_value,
                plan.value,
                plan.lower_bound,
                100.0 * plan.gap,
                lpt.value,
                100.0 * (lpt.value - plan.lower_bound) / plan.lower_bound,
                moved_percent,
                plan_time.as_secs_f64() * 1e3,
                lpt_time.as_secs_f64() * 1e3,
                digest(&plan, &lpt),
                cells(&plan.before_loads),
                cells(&lpt.loads),
                cells(&plan.loads),
                cells(&refined.loads),
                100.0 * refined.moved_phones as f64 / total as f64,
                refine_time.as_secs_f64() * 1e3,
                floor.cells,
                above,
                forced,
                floor_time.as_secs_f64() * 1e3,
                rose,
            );
        }
    }
}
