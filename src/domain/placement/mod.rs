//! Rebalance planner: which SRV pool each tenant should use.
//!
//! Given the servers (capacity in phones), the pools (each pool's share of its phones per server
//! in the normal case and in every single-server failure, precomputed by the share engine), the
//! tenants (phones, current pool, pinned or not) and a move budget, this module owns:
//! - [`plan`], the optimiser. Lexicographically: (a) the lowest worst utilisation over every
//!   scenario and server, (b) the fewest phones moved, (c) every unplaced tenant placed. Tenants
//!   stay whole, pinned tenants stay where they are, moved phones stay within the budget, and
//!   no tenant enters a closed pool it was not already in.
//! - [`lpt_baseline`], the classic greedy the plan is measured against.
//! - [`lower_bound`], a certified bound on (a) that the plan's quality is reported against.
//! - [`evaluate`], the projected load of any assignment ("Projected load" in DESIGN.md).
//!
//! Everything is pure arithmetic and deterministic: no randomness, no clocks, stable iteration
//! order, so the same input always gives the same plan.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A server as the planner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanServer {
    pub name: String,
    /// Phones the server can carry; must be > 0.
    pub capacity: f64,
}

/// A pool as the planner sees it: where its phones go in each scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanPool {
    pub name: String,
    /// `shares[scenario][server]`: that server's share of the pool's phones in that scenario.
    /// Each row sums to at most 1 (less when every member of the pool is down).
    pub shares: Vec<Vec<f64>>,
    /// No tenant may be placed in or moved into this pool (a pool without failover, say one
    /// server or no members). Tenants already in it may stay, and may come back to it.
    #[serde(default)]
    pub closed: bool,
}

/// A tenant as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTenant {
    pub code: String,
    pub phones: u64,
    /// Index into [`PlanInput::pools`]; `None` while the tenant has no pool yet.
    pub current_pool: Option<usize>,
    /// A pinned tenant never moves (its phones are configured by hand, say).
    pub pinned: bool,
}

/// Everything [`plan`] needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanInput {
    pub servers: Vec<PlanServer>,
    /// Scenario names: `[0]` is "normal", then one per single server down.
    pub scenarios: Vec<String>,
    pub pools: Vec<PlanPool>,
    pub tenants: Vec<PlanTenant>,
    /// At most this many phones may change pool ([`default_budget`] gives the usual cap).
    pub move_budget: u64,
}

/// One line of the plan's diff: a tenant changes pool (or gets its first one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    /// Index into [`PlanInput::tenants`].
    pub tenant: usize,
    /// `None` when the tenant had no pool: placing it does not count against the budget.
    pub from: Option<usize>,
    pub to: usize,
    pub phones: u64,
}

/// A proposed assignment with its projected loads and its quality against the lower bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Pool of every tenant after the plan (always `Some` for plans built here).
    pub assignment: Vec<Option<usize>>,
    /// Tenants whose pool changes, in tenant order.
    pub moves: Vec<Move>,
    /// Phones of tenants that leave a pool they were in (placements are free).
    pub moved_phones: u64,
    /// Worst utilisation (projected phones / capacity) over every scenario and server.
    pub value: f64,
    /// Certified lower bound on `value` (see [`lower_bound`]).
    pub lower_bound: f64,
    /// `(value - lower_bound) / lower_bound`; 0 when both are 0, infinite (JSON `null`) when
    /// only the bound is 0.
    pub gap: f64,
    /// `loads[scenario][server]`: projected phones after the plan.
    pub loads: Vec<Vec<f64>>,
    /// `(scenario, server)` where `value` is reached.
    pub worst: (usize, usize),
    /// Worst utilisation of the current assignment (tenants without a pool not counted).
    pub before_value: f64,
    /// `before_loads[scenario][server]`: projected phones before the plan.
    pub before_loads: Vec<Vec<f64>>,
}

/// Input the planner refuses, with a message that names the offending server, pool or tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanError(pub String);

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlanError {}

fn refuse(message: impl Into<String>) -> PlanError {
    PlanError(message.into())
}

/// Share of all phones one plan may move by default: the kind of safety cap DNS-as-code tools
/// put on a single change (DESIGN.md, "Placement").
const DEFAULT_BUDGET_PERCENT: u64 = 30;

/// Two utilisations closer than this (relative) count as equal, so that float noise from
/// summing in a different order never passes for an improvement or blocks a cheaper tie.
const TIE: f64 = 1e-9;

/// The certified bounds are lowered by this relative amount to absorb the rounding of their own
/// few sums, so they can never exceed the optimum through float noise alone.
const BOUND_SHAVE: f64 = 1e-12;

/// Relative slack of the send-home pass over the worst utilisation reached, so that rounding
/// in incremental loads does not block a homecoming that lands exactly on it (far below
/// [`TIE`], under which values count as equal anyway).
const HOME_SLACK: f64 = 1e-12;

/// Branch and bound replaces the local search's answer when at most this many tenants can move.
const EXACT_MAX_TENANTS: usize = 14;
/// Node cap of that branch and bound; counted, not timed, so plans stay deterministic.
const EXACT_NODE_LIMIT: u64 = 400_000;
/// Leaves enumerated for the "largest tenants alone" bound.
const BOUND_ENUMERATION_LEAVES: u64 = 100_000;
/// Distinct tenant sizes of the receiving pool tried per swap.
const SWAP_SIZES: usize = 64;
/// Cap on the cells the local search may look at (well under a second of work): a
/// deterministic guard for pathological inputs. The generated 10,000-tenant benchmark clusters
/// use under a tenth of it.
const SEARCH_WORK_LIMIT: u64 = 1_000_000_000;
/// Pivot cap of the simplex; stopping early only weakens the (still certified) bound.
const MAX_PIVOTS: usize = 20_000;

/// Phones one plan may move by default: 30% of all phones, rounded down.
pub fn default_budget(total_phones: u64) -> u64 {
    let budget = u128::from(total_phones) * u128::from(DEFAULT_BUDGET_PERCENT) / 100;
    u64::try_from(budget).unwrap_or(u64::MAX)
}

/// Projected load of an assignment: `(worst utilisation, loads[scenario][server])`, loads in
/// phones (Σ tenants phones × the share of the server in the tenant's pool).
///
/// Total on any input: tenants beyond `assignment`, or whose pool index does not exist, count as
/// unplaced; missing shares count as 0; a server without a positive capacity is infinitely
/// utilised as soon as it carries a phone.
pub fn evaluate(input: &PlanInput, assignment: &[Option<usize>]) -> (f64, Vec<Vec<f64>>) {
    let (value, _, loads) = project(input, assignment);
    (value, loads)
}

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

/// The classic greedy baseline: the pinned tenants stay, then every other tenant, largest first
/// (ties in tenant order), goes to the open pool that minimises the resulting worst utilisation
/// (ties to the pool with the fewest phones so far, then the lowest index). Refused when some
/// tenant is unpinned and every pool is closed. It ignores the
/// current assignment and the move budget, so its `moved_phones` may exceed the budget: it is a
/// yardstick, not a proposal.
pub fn lpt_baseline(input: &PlanInput) -> Result<Plan, PlanError> {
    let model = validate(input)?;
    if !model.open.contains(&true)
        && let Some(t) = (0..model.phones.len()).find(|&t| !model.pinned[t])
    {
        return Err(refuse(format!(
            "tenant {}: not pinned, and every pool is closed to tenants (the baseline reassigns every unpinned tenant)",
            input.tenants[t].code
        )));
    }
    let mut assignment: Vec<Option<usize>> = model
        .current
        .iter()
        .zip(&model.pinned)
        .map(|(&pool, &pinned)| if pinned { pool } else { None })
        .collect();
    let mut util = model.utilisation(&assignment);
    let mut pool_phones = model.pool_phones(&assignment);
    let order = model.largest_first(|t| !model.pinned[t]);
    place_greedily(&model, &mut util, &mut pool_phones, &order, &mut assignment);
    let bound = bound_of(&model);
    Ok(assemble(input, &model, complete(assignment), bound))
}

/// The optimiser. Starting from the current assignment:
/// 1. tenants without a pool are placed in open pools, largest first, where they raise the worst
///    utilisation least (placing is free);
/// 2. drain: while the worst (scenario, server) cell is above the [`lower_bound`], move the
///    largest tenant out of a pool loading it that neither takes that cell below the bound nor
///    lifts any cell of the receiving pool above it. No phone moves further than it has to, which
///    keeps the phones moved close to the least any plan at that level needs;
/// 3. local search on the true objective: while some move helps, take the worst cell and the
///    best single-tenant relocation out of a pool that loads it, else the best two-tenant swap
///    (which shifts the difference of two sizes, for fine adjustment). A step is taken only if
///    every cell it raises stays below the current worst, so each step lowers the worst or the
///    number of cells at it. Moving a tenant touches the cells of two pools only, so loads are
///    kept incrementally, and the transfer that best evens two pools out is found by bisection
///    on a convex piecewise-linear function. Tenants per pool sit in ordered sets by size, split
///    into "still at home" (moving costs its phones) and "already away" (moving again is free,
///    going home refunds); cheaper kinds of move are preferred;
/// 4. moved tenants go back home, largest first, wherever that does not raise the worst
///    utilisation reached: directly, or with a cheaper helper move that makes room;
/// 5. when at most 14 tenants can move, a branch and bound starting from that answer looks for
///    a better one; when it finishes within its node cap (400,000 nodes: always for, say, 8
///    tenants on 4 pools) the plan is the exact lexicographic optimum.
///
/// Tenants stay whole, pinned tenants stay, moved phones never exceed the budget. No step puts
/// a tenant in a closed pool unless it started there (going home to it, or staying, is fine).
/// Refused when a tenant without a pool has nowhere to go because every pool is closed.
pub fn plan(input: &PlanInput) -> Result<Plan, PlanError> {
    let model = validate(input)?;
    let bound = bound_of(&model);
    let start = place_newcomers(&model);
    let mut assignment = local_search(&model, start, input.move_budget, bound);
    let movable = (0..model.phones.len())
        .filter(|&t| model.movable(t))
        .count();
    if movable <= EXACT_MAX_TENANTS {
        solve_exactly(&model, &mut assignment, input.move_budget);
    }
    Ok(assemble(input, &model, assignment, bound))
}

/// The current assignment with every tenant that has no pool placed greedily (step 1 of
/// [`plan`]).
fn place_newcomers(model: &Model) -> Vec<usize> {
    let mut assignment = model.current.clone();
    let mut util = model.utilisation(&assignment);
    let mut pool_phones = model.pool_phones(&assignment);
    let unplaced = model.largest_first(|t| model.current[t].is_none());
    place_greedily(
        model,
        &mut util,
        &mut pool_phones,
        &unplaced,
        &mut assignment,
    );
    complete(assignment)
}

/// Steps 2 to 4 of [`plan`]: drain towards the bound, improve, send unneeded moves home.
fn local_search(model: &Model, start: Vec<usize>, budget: u64, bound: f64) -> Vec<usize> {
    let mut search = Search::new(model, start, budget);
    search.drain(bound);
    search.improve();
    search.send_home();
    search.assign
}

// ---------------------------------------------------------------------------------------------
// Validated model

/// The input, checked, with each pool's shares turned into the utilisation one phone adds to
/// each (scenario, server) cell it loads. Cell `k` is `scenario * servers + server`.
struct Model {
    cells: usize,
    /// Per pool: `(cell, share / capacity)` for every cell the pool loads, by cell.
    columns: Vec<Vec<(usize, f64)>>,
    /// Per cell: `(pool, share / capacity)` for every pool that loads it, by pool.
    loaders: Vec<Vec<(usize, f64)>>,
    phones: Vec<u64>,
    current: Vec<Option<usize>>,
    pinned: Vec<bool>,
    /// Per pool: tenants may be placed in or moved into it ([`PlanPool::closed`] is false).
    open: Vec<bool>,
}

fn validate(input: &PlanInput) -> Result<Model, PlanError> {
    if input.servers.is_empty() {
        return Err(refuse("the cluster has no servers to plan for"));
    }
    for server in &input.servers {
        if !(server.capacity.is_finite() && server.capacity > 0.0) {
            return Err(refuse(format!(
                "server {}: capacity must be a positive number of phones, got {}",
                server.name, server.capacity
            )));
        }
    }
    if input.scenarios.is_empty() {
        return Err(refuse(
            "no scenarios: the first one must be the normal case",
        ));
    }
    if input.pools.is_empty() {
        return Err(refuse("there are no pools to place tenants on"));
    }
    let servers = input.servers.len();
    let scenarios = input.scenarios.len();
    let cells = scenarios
        .checked_mul(servers)
        .ok_or_else(|| refuse("too many scenarios × servers"))?;
    let mut columns = Vec::with_capacity(input.pools.len());
    for pool in &input.pools {
        if pool.shares.len() != scenarios {
            return Err(refuse(format!(
                "pool {}: shares has {} scenario rows, expected {} (one per scenario)",
                pool.name,
                pool.shares.len(),
                scenarios
            )));
        }
        let mut column = Vec::new();
        for (s, (row, scenario)) in pool.shares.iter().zip(&input.scenarios).enumerate() {
            if row.len() != servers {
                return Err(refuse(format!(
                    "pool {}: scenario {scenario} has {} server shares, expected {servers} (one per server)",
                    pool.name,
                    row.len()
                )));
            }
            let mut sum = 0.0;
            for (j, (&share, server)) in row.iter().zip(&input.servers).enumerate() {
                if !(share.is_finite() && (0.0..=1.0 + 1e-9).contains(&share)) {
                    return Err(refuse(format!(
                        "pool {}: share of server {} in scenario {scenario} is {share}, expected a fraction between 0 and 1",
                        pool.name, server.name
                    )));
                }
                sum += share;
                if share > 0.0 {
                    column.push((s * servers + j, share / server.capacity));
                }
            }
            if sum > 1.0 + 1e-9 {
                return Err(refuse(format!(
                    "pool {}: shares in scenario {scenario} add up to {sum}, more than all of its phones",
                    pool.name
                )));
            }
        }
        columns.push(column);
    }
    let mut total: u64 = 0;
    for tenant in &input.tenants {
        if let Some(pool) = tenant.current_pool
            && pool >= input.pools.len()
        {
            return Err(refuse(format!(
                "tenant {}: current pool {pool} does not exist (there are {} pools)",
                tenant.code,
                input.pools.len()
            )));
        }
        if tenant.pinned && tenant.current_pool.is_none() {
            return Err(refuse(format!(
                "tenant {}: pinned, but has no pool to stay in",
                tenant.code
            )));
        }
        if tenant.current_pool.is_none() && input.pools.iter().all(|p| p.closed) {
            return Err(refuse(format!(
                "tenant {}: has no pool yet, and every pool is closed to new tenants",
                tenant.code
            )));
        }
        total = total
            .checked_add(tenant.phones)
            .ok_or_else(|| refuse("the total number of phones does not fit in 64 bits"))?;
    }
    let mut loaders = vec![Vec::new(); cells];
    for (pool, column) in columns.iter().enumerate() {
        for &(cell, per_phone) in column {
            loaders[cell].push((pool, per_phone));
        }
    }
    Ok(Model {
        cells,
        columns,
        loaders,
        phones: input.tenants.iter().map(|t| t.phones).collect(),
        current: input.tenants.iter().map(|t| t.current_pool).collect(),
        pinned: input.tenants.iter().map(|t| t.pinned).collect(),
        open: input.pools.iter().map(|p| !p.closed).collect(),
    })
}

impl Model {
    fn pools(&self) -> usize {
        self.columns.len()
    }

    /// A tenant the optimiser may move: not pinned, and moving it would change something.
    fn movable(&self, tenant: usize) -> bool {
        !self.pinned[tenant] && self.phones[tenant] > 0
    }

    /// Whether `tenant` may end up in `pool`: the pool is open, or the tenant started there.
    fn allowed(&self, tenant: usize, pool: usize) -> bool {
        self.open.get(pool).copied().unwrap_or(false) || self.current[tenant] == Some(pool)
    }

    /// Pools `tenant` may end up in, the one it started in first.
    fn destinations(&self, tenant: usize) -> Vec<usize> {
        let mut pools: Vec<usize> = self.current[tenant].into_iter().collect();
        pools
            .extend((0..self.pools()).filter(|&p| self.open[p] && self.current[tenant] != Some(p)));
        pools
    }

    fn utilisation(&self, assignment: &[Option<usize>]) -> Vec<f64> {
        let mut util = vec![0.0; self.cells];
        for (&phones, pool) in self.phones.iter().zip(assignment) {
            if let Some(pool) = *pool {
                let phones = phones as f64;
                for &(cell, per_phone) in &self.columns[pool] {
                    util[cell] += phones * per_phone;
                }
            }
        }
        util
    }

    fn pool_phones(&self, assignment: &[Option<usize>]) -> Vec<u64> {
        let mut totals = vec![0u64; self.pools()];
        for (&phones, pool) in self.phones.iter().zip(assignment) {
            if let Some(pool) = *pool {
                totals[pool] = totals[pool].saturating_add(phones);
            }
        }
        totals
    }

    /// Tenants passing `keep`, by phones descending, ties in tenant order.
    fn largest_first(&self, keep: impl Fn(usize) -> bool) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.phones.len()).filter(|&t| keep(t)).collect();
        order.sort_by(|&a, &b| self.phones[b].cmp(&self.phones[a]).then(a.cmp(&b)));
        order
    }

    /// Phones of tenants that sit in a pool other than the one they started in.
    fn moved_phones(&self, assignment: &[usize]) -> u64 {
        self.current
            .iter()
            .zip(assignment)
            .zip(&self.phones)
            .filter(|((home, pool), _)| matches!(home, Some(h) if h != *pool))
            .fold(0u64, |sum, (_, &phones)| sum.saturating_add(phones))
    }
}

fn complete(assignment: Vec<Option<usize>>) -> Vec<usize> {
    // Every caller has placed all tenants by now; 0 is never used.
    assignment.into_iter().map(|p| p.unwrap_or(0)).collect()
}

fn peak_of(util: &[f64]) -> (usize, f64) {
    let mut worst = (0, f64::NEG_INFINITY);
    for (cell, &u) in util.iter().enumerate() {
        if u > worst.1 {
            worst = (cell, u);
        }
    }
    worst
}

fn project(
    input: &PlanInput,
    assignment: &[Option<usize>],
) -> (f64, (usize, usize), Vec<Vec<f64>>) {
    let servers = input.servers.len();
    let mut loads = vec![vec![0.0; servers]; input.scenarios.len()];
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
    let mut value = 0.0;
    let mut worst = (0, 0);
    for (s, row) in loads.iter().enumerate() {
        for (j, (&load, server)) in row.iter().zip(&input.servers).enumerate() {
            let util = if server.capacity > 0.0 && server.capacity.is_finite() {
                load / server.capacity
            } else if load > 0.0 {
                f64::INFINITY
            } else {
                0.0
            };
            if util > value {
                value = util;
                worst = (s, j);
            }
        }
    }
    (value, worst, loads)
}

fn assemble(input: &PlanInput, model: &Model, assignment: Vec<usize>, bound: f64) -> Plan {
    let moves: Vec<Move> = assignment
        .iter()
        .enumerate()
        .filter(|&(t, &to)| model.current[t] != Some(to))
        .map(|(t, &to)| Move {
            tenant: t,
            from: model.current[t],
            to,
            phones: model.phones[t],
        })
        .collect();
    let moved_phones = model.moved_phones(&assignment);
    let assignment: Vec<Option<usize>> = assignment.into_iter().map(Some).collect();
    let (value, worst, loads) = project(input, &assignment);
    let (before_value, _, before_loads) = project(input, &model.current);
    let gap = if bound > 0.0 {
        (value - bound) / bound
    } else if value > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    Plan {
        assignment,
        moves,
        moved_phones,
        value,
        lower_bound: bound,
        gap,
        loads,
        worst,
        before_value,
        before_loads,
    }
}

/// Places `order` one by one, in open pools only, where the worst utilisation of the pool's
/// cells ends lowest (which also minimises the worst overall, since placing only raises cells);
/// ties go to the pool with the fewest phones, then the lowest index. A tenant stays unplaced
/// when no pool is open (callers refuse that input first).
fn place_greedily(
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

// ---------------------------------------------------------------------------------------------
// Lower bound

fn bound_of(model: &Model) -> f64 {
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
    let open: Vec<usize> = (0..model.pools()).filter(|&p| model.open[p]).collect();
    let mut phones = vec![0.0; model.pools() + 1];
    for t in (0..model.phones.len()).filter(|&t| !model.pinned[t]) {
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
fn undominated_cells(model: &Model) -> Vec<usize> {
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
fn simplex_max(rows: &[Vec<f64>], limits: &[f64], objective: &[f64]) -> Vec<f64> {
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

// ---------------------------------------------------------------------------------------------
// Exhaustive search (the enumeration bound, and exact plans for tiny inputs)

struct Best {
    value: f64,
    moved: u64,
    pools: Vec<usize>,
}

/// Depth-first enumeration of pools for `order`, on top of the loads already in `util`.
/// Loads only grow going down, so a partial assignment whose worst cell is already no better
/// than the best complete one is cut. With `homes`, moves are charged (lexicographic value,
/// then phones moved, within `budget`).
struct Enumeration<'m> {
    model: &'m Model,
    order: Vec<usize>,
    choices: Vec<Vec<usize>>,
    /// Per depth: the pool the tenant starts in, when moves are charged.
    homes: Option<Vec<Option<usize>>>,
    budget: u64,
    tie: f64,
    util: Vec<f64>,
    saved: Vec<f64>,
    chosen: Vec<usize>,
    best: Option<Best>,
    nodes: u64,
    node_limit: u64,
    cut_short: bool,
}

impl Enumeration<'_> {
    fn run(&mut self, peak: f64, moved: u64) {
        self.descend(0, peak, moved);
    }

    fn improves(&self, value: f64, moved: u64) -> bool {
        match &self.best {
            None => true,
            Some(best) => {
                let slack = self.tie * best.value.abs();
                value < best.value - slack || (value <= best.value + slack && moved < best.moved)
            }
        }
    }

    fn hopeless(&self, peak: f64, moved: u64) -> bool {
        match &self.best {
            None => false,
            Some(best) => {
                let slack = self.tie * best.value.abs();
                peak > best.value + slack || (peak >= best.value - slack && moved >= best.moved)
            }
        }
    }

    fn descend(&mut self, depth: usize, peak: f64, moved: u64) {
        if self.nodes >= self.node_limit {
            self.cut_short = true;
            return;
        }
        self.nodes += 1;
        if depth == self.order.len() {
            if self.improves(peak, moved) {
                self.best = Some(Best {
                    value: peak,
                    moved,
                    pools: self.chosen.clone(),
                });
            }
            return;
        }
        let model = self.model;
        let tenant = self.order[depth];
        let phones = model.phones[tenant];
        let w = phones as f64;
        for c in 0..self.choices[depth].len() {
            let pool = self.choices[depth][c];
            let charge = match &self.homes {
                Some(homes) => match homes[depth] {
                    Some(home) if home != pool => phones,
                    _ => 0,
                },
                None => 0,
            };
            let Some(moved_now) = moved.checked_add(charge) else {
                continue;
            };
            if moved_now > self.budget {
                continue;
            }
            let mark = self.saved.len();
            let mut new_peak = peak;
            for &(cell, a) in &model.columns[pool] {
                self.saved.push(self.util[cell]);
                self.util[cell] += w * a;
                new_peak = new_peak.max(self.util[cell]);
            }
            if !self.hopeless(new_peak, moved_now) {
                self.chosen[depth] = pool;
                self.descend(depth + 1, new_peak, moved_now);
            }
            for (&(cell, _), &old) in model.columns[pool].iter().zip(&self.saved[mark..]) {
                self.util[cell] = old;
            }
            self.saved.truncate(mark);
            if self.cut_short {
                return;
            }
        }
    }
}

/// Replaces `assignment` by the exact lexicographic optimum (worst utilisation, then phones
/// moved) when the capped branch and bound finds a better one; starts from `assignment` as the
/// incumbent, so the result is never worse.
fn solve_exactly(model: &Model, assignment: &mut [usize], budget: u64) {
    let order = model.largest_first(|t| model.movable(t));
    let fixed: Vec<Option<usize>> = assignment
        .iter()
        .enumerate()
        .map(|(t, &pool)| if model.movable(t) { None } else { Some(pool) })
        .collect();
    let util = model.utilisation(&fixed);
    let base = peak_of(&util).1.max(0.0);
    let incumbent: Vec<Option<usize>> = assignment.iter().map(|&p| Some(p)).collect();
    let incumbent_value = peak_of(&model.utilisation(&incumbent)).1.max(0.0);
    let choices: Vec<Vec<usize>> = order.iter().map(|&t| model.destinations(t)).collect();
    let mut search = Enumeration {
        model,
        homes: Some(order.iter().map(|&t| model.current[t]).collect()),
        chosen: vec![0; order.len()],
        best: Some(Best {
            value: incumbent_value,
            moved: model.moved_phones(assignment),
            pools: order.iter().map(|&t| assignment[t]).collect(),
        }),
        order,
        choices,
        budget,
        tie: TIE,
        util,
        saved: Vec::new(),
        nodes: 0,
        node_limit: EXACT_NODE_LIMIT,
        cut_short: false,
    };
    search.run(base, 0);
    if let Some(best) = search.best {
        for (&tenant, &pool) in search.order.iter().zip(&best.pools) {
            assignment[tenant] = pool;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Local search

/// The worst of the lines `util + delta · w` at transfer `w`.
fn peak_at(lines: &[(f64, f64)], w: f64) -> f64 {
    lines
        .iter()
        .fold(f64::NEG_INFINITY, |m, &(u, d)| m.max(u + d * w))
}

/// The integer transfer in `1..=largest` that minimises [`peak_at`] (convex in `w`, so the
/// smallest `w` from which it stops falling).
fn best_transfer(lines: &[(f64, f64)], largest: u64) -> u64 {
    let (mut lo, mut hi) = (1u64, largest.max(1));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if peak_at(lines, (mid + 1) as f64) >= peak_at(lines, mid as f64) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// Fills `lines` with `(utilisation, change per phone)` of every cell touched when phones go
/// from pool `from` to pool `to`; returns the change per phone of `cell`.
fn load_lines(
    model: &Model,
    util: &[f64],
    from: usize,
    to: usize,
    cell: usize,
    lines: &mut Vec<(f64, f64)>,
) -> Option<f64> {
    lines.clear();
    let (out, into) = (&model.columns[from], &model.columns[to]);
    let (mut i, mut j) = (0, 0);
    let mut at_cell = None;
    loop {
        let (k, delta) = match (out.get(i), into.get(j)) {
            (Some(&(ka, a)), Some(&(kb, b))) => {
                if ka < kb {
                    i += 1;
                    (ka, -a)
                } else if kb < ka {
                    j += 1;
                    (kb, b)
                } else {
                    i += 1;
                    j += 1;
                    (ka, b - a)
                }
            }
            (Some(&(ka, a)), None) => {
                i += 1;
                (ka, -a)
            }
            (None, Some(&(kb, b))) => {
                j += 1;
                (kb, b)
            }
            (None, None) => break,
        };
        if k == cell {
            at_cell = Some(delta);
        }
        lines.push((util[k], delta));
    }
    at_cell
}

/// Up to two tenants of `set` passing `keep` whose size is nearest `around`: the largest at
/// most `around.min(cap)` and the smallest at least `around` (if at most `cap`).
fn neighbours(
    set: &BTreeSet<(u64, usize)>,
    around: u64,
    cap: u64,
    keep: impl Fn(usize) -> bool,
) -> [Option<(u64, usize)>; 2] {
    let below = set
        .range(..=(around.min(cap), usize::MAX))
        .rev()
        .find(|&&(_, t)| keep(t))
        .copied();
    let above = set
        .range((around, 0)..)
        .take_while(|&&(w, _)| w <= cap)
        .find(|&&(_, t)| keep(t))
        .copied();
    [below, above]
}

/// Candidate ranking: cheaper class of move first (refund, free, paid), then lower peak.
fn ranks_before(cost: i128, peak: f64, best: Option<(i128, f64)>) -> bool {
    match best {
        None => true,
        Some((c, p)) => cost.signum() < c.signum() || (cost.signum() == c.signum() && peak < p),
    }
}

struct Search<'m> {
    model: &'m Model,
    assign: Vec<usize>,
    util: Vec<f64>,
    moved: u64,
    budget: u64,
    /// Per pool, movable tenants still in the pool they started in: moving one costs its phones.
    at_home: Vec<BTreeSet<(u64, usize)>>,
    /// Per pool, movable tenants away from where they started, or newly placed: moving one again
    /// is free, sending it home refunds its phones.
    away: Vec<BTreeSet<(u64, usize)>>,
    lines: Vec<(f64, f64)>,
    /// Cells looked at so far, against [`SEARCH_WORK_LIMIT`].
    work: Cell<u64>,
}

impl<'m> Search<'m> {
    fn new(model: &'m Model, assign: Vec<usize>, budget: u64) -> Self {
        let placed: Vec<Option<usize>> = assign.iter().map(|&p| Some(p)).collect();
        let mut search = Search {
            model,
            util: model.utilisation(&placed),
            moved: model.moved_phones(&assign),
            budget,
            at_home: vec![BTreeSet::new(); model.pools()],
            away: vec![BTreeSet::new(); model.pools()],
            lines: Vec::new(),
            work: Cell::new(0),
            assign,
        };
        for tenant in 0..model.phones.len() {
            if model.movable(tenant) {
                search.file(tenant);
            }
        }
        search
    }

    fn file(&mut self, tenant: usize) {
        let pool = self.assign[tenant];
        let key = (self.model.phones[tenant], tenant);
        if self.model.current[tenant] == Some(pool) {
            self.at_home[pool].insert(key);
        } else {
            self.away[pool].insert(key);
        }
    }

    fn unfile(&mut self, tenant: usize) {
        let pool = self.assign[tenant];
        let key = (self.model.phones[tenant], tenant);
        self.at_home[pool].remove(&key);
        self.away[pool].remove(&key);
    }

    /// Change in phones moved if `tenant` goes to `to`.
    fn cost(&self, tenant: usize, to: usize) -> i128 {
        match self.model.current[tenant] {
            None => 0,
            Some(home) => {
                let was_away = i128::from(self.assign[tenant] != home);
                let will_be_away = i128::from(to != home);
                (will_be_away - was_away) * i128::from(self.model.phones[tenant])
            }
        }
    }

    /// Counts `cells` looked at, `times` over; false once the work limit is reached.
    fn charge(&self, cells: usize, times: u64) -> bool {
        let spent = self
            .work
            .get()
            .saturating_add((cells as u64).saturating_mul(times));
        self.work.set(spent);
        spent <= SEARCH_WORK_LIMIT
    }

    /// Whether `tenant` may go to `to` (see [`Model::allowed`]). Into a closed pool only its own
    /// tenants come back, so scans for them are counted against the work limit.
    fn admits(&self, tenant: usize, to: usize) -> bool {
        if !self.model.open[to] {
            self.charge(1, 1);
        }
        self.model.allowed(tenant, to)
    }

    /// The tenants of `pool` still at home that may go to `to`: none when `to` is closed (they
    /// started in `pool`, not there), else all of them.
    fn at_home_for(&self, pool: usize, to: usize) -> Option<&BTreeSet<(u64, usize)>> {
        self.model.open[to].then(|| &self.at_home[pool])
    }

    fn affordable(&self, cost: i128) -> bool {
        i128::from(self.moved) + cost <= i128::from(self.budget)
    }

    fn relocate(&mut self, tenant: usize, to: usize) {
        let from = self.assign[tenant];
        if from == to {
            return;
        }
        let cost = self.cost(tenant, to);
        let w = self.model.phones[tenant] as f64;
        for &(cell, a) in &self.model.columns[from] {
            self.util[cell] -= w * a;
        }
        for &(cell, a) in &self.model.columns[to] {
            self.util[cell] += w * a;
        }
        self.unfile(tenant);
        self.assign[tenant] = to;
        self.file(tenant);
        self.moved = u64::try_from(i128::from(self.moved) + cost).unwrap_or(0);
    }

    fn largest_in(&self, pool: usize) -> u64 {
        let home = self.at_home[pool].last().map_or(0, |&(w, _)| w);
        let away = self.away[pool].last().map_or(0, |&(w, _)| w);
        home.max(away)
    }

    /// Moves phones from cells above `level` (the lower bound) into pools that stay at or below
    /// it, never taking a cell below it: no phone moves further than needed, which is what keeps
    /// the plan cheap. Largest tenants first (fewest moves), already-away ones before those still
    /// at home. Stops when the worst cell cannot be drained this way; [`Search::improve`] then
    /// finishes.
    fn drain(&mut self, level: f64) {
        let model = self.model;
        let mut lines = std::mem::take(&mut self.lines);
        let limit = 4 * self.assign.len() + 1_000;
        for _ in 0..limit {
            let (cell, peak) = peak_of(&self.util);
            if peak <= level + TIE * level {
                break;
            }
            let room = self.budget.saturating_sub(self.moved);
            let mut best: Option<(i128, u64, usize, usize)> = None;
            for &(from, _) in &model.loaders[cell] {
                if self.largest_in(from) == 0 {
                    continue;
                }
                for to in 0..model.pools() {
                    if to == from {
                        continue;
                    }
                    let delta = match load_lines(model, &self.util, from, to, cell, &mut lines) {
                        Some(delta) if delta < 0.0 => delta,
                        _ => continue,
                    };
                    if !self.charge(lines.len(), 2) {
                        break;
                    }
                    let fits = headroom(&lines, level);
                    let excess = ((peak - level) / -delta).floor();
                    let cap = fits.min(excess as u64);
                    let candidates = [
                        self.away[from]
                            .range(..=(cap, usize::MAX))
                            .rev()
                            .find(|&&(_, t)| self.admits(t, to)),
                        self.at_home_for(from, to)
                            .and_then(|set| set.range(..=(cap.min(room), usize::MAX)).next_back()),
                    ];
                    for &(w, tenant) in candidates.into_iter().flatten() {
                        let cost = self.cost(tenant, to);
                        let better = best.is_none_or(|(c, bw, _, _)| {
                            cost.signum() < c.signum() || (cost.signum() == c.signum() && w > bw)
                        });
                        if self.affordable(cost) && better {
                            best = Some((cost, w, tenant, to));
                        }
                    }
                }
            }
            match best {
                Some((_, _, tenant, to)) => self.relocate(tenant, to),
                None => break,
            }
        }
        self.lines = lines;
    }

    fn improve(&mut self) {
        let limit = 20 * self.assign.len() + 1_000;
        for _ in 0..limit {
            let (cell, peak) = peak_of(&self.util);
            if peak <= 0.0 {
                break;
            }
            let target = peak - TIE * peak;
            if let Some((tenant, to)) = self.best_relocation(cell, target) {
                self.relocate(tenant, to);
                continue;
            }
            if let Some((a, b)) = self.best_swap(cell, target) {
                let (p, q) = (self.assign[a], self.assign[b]);
                self.relocate(a, q);
                self.relocate(b, p);
                continue;
            }
            break;
        }
    }

    /// The best single move out of a pool loading `cell` that keeps every cell it raises below
    /// `target`.
    fn best_relocation(&mut self, cell: usize, target: f64) -> Option<(usize, usize)> {
        let model = self.model;
        let mut lines = std::mem::take(&mut self.lines);
        let mut best: Option<(i128, f64)> = None;
        let mut choice = None;
        let room = self.budget.saturating_sub(self.moved);
        for &(from, _) in &model.loaders[cell] {
            let largest = self.largest_in(from);
            if largest == 0 {
                continue;
            }
            for to in 0..model.pools() {
                if to == from {
                    continue;
                }
                match load_lines(model, &self.util, from, to, cell, &mut lines) {
                    Some(delta) if delta < 0.0 => {}
                    _ => continue,
                }
                if !self.charge(lines.len(), 80) {
                    break;
                }
                let ideal = best_transfer(&lines, largest);
                let at_home = match self.at_home_for(from, to) {
                    Some(set) => neighbours(set, ideal, room, |_| true),
                    None => [None, None],
                };
                let candidates = at_home
                    .into_iter()
                    .chain(neighbours(&self.away[from], ideal, u64::MAX, |t| {
                        self.admits(t, to)
                    }))
                    .flatten();
                for (w, tenant) in candidates {
                    let peak = peak_at(&lines, w as f64);
                    if peak >= target {
                        continue;
                    }
                    let cost = self.cost(tenant, to);
                    if self.affordable(cost) && ranks_before(cost, peak, best) {
                        best = Some((cost, peak));
                        choice = Some((tenant, to));
                    }
                }
            }
        }
        self.lines = lines;
        choice
    }

    /// The best exchange of a tenant `a` out of a pool loading `cell` with a smaller tenant `b`
    /// of another pool: it shifts `phones(a) - phones(b)`, finer than any single tenant.
    fn best_swap(&mut self, cell: usize, target: f64) -> Option<(usize, usize)> {
        let model = self.model;
        let mut lines = std::mem::take(&mut self.lines);
        let mut best: Option<(i128, f64)> = None;
        let mut choice = None;
        for &(p, _) in &model.loaders[cell] {
            let largest = self.largest_in(p);
            if largest == 0 {
                continue;
            }
            for q in 0..model.pools() {
                if q == p {
                    continue;
                }
                match load_lines(model, &self.util, p, q, cell, &mut lines) {
                    Some(delta) if delta < 0.0 => {}
                    _ => continue,
                }
                if !self.charge(lines.len(), 80 + 8 * SWAP_SIZES as u64) {
                    break;
                }
                let ideal = best_transfer(&lines, largest);
                // `b` goes to `p`, `a` to `q`: either may be closed to all but its own tenants.
                let admitted_b = |&&(_, b): &&(u64, usize)| self.admits(b, p);
                let a_at_home = self.at_home_for(p, q);
                for set_b in [self.at_home_for(q, p), Some(&self.away[q])]
                    .into_iter()
                    .flatten()
                {
                    let mut cursor = set_b.iter().find(admitted_b).copied();
                    let mut sizes = 0;
                    while let Some((wb, b)) = cursor {
                        sizes += 1;
                        if sizes > SWAP_SIZES {
                            break;
                        }
                        let wanted = wb.saturating_add(ideal);
                        let at_home = match a_at_home {
                            Some(set) => neighbours(set, wanted, u64::MAX, |_| true),
                            None => [None, None],
                        };
                        let candidates = at_home
                            .into_iter()
                            .chain(neighbours(&self.away[p], wanted, u64::MAX, |a| {
                                self.admits(a, q)
                            }))
                            .flatten();
                        for (wa, a) in candidates {
                            if wa <= wb {
                                continue;
                            }
                            let peak = peak_at(&lines, (wa - wb) as f64);
                            if peak >= target {
                                continue;
                            }
                            let cost = self.cost(a, q) + self.cost(b, p);
                            if self.affordable(cost)
                                && (best.is_none_or(|(c, p)| cost < c || (cost == c && peak < p)))
                            {
                                best = Some((cost, peak));
                                choice = Some((a, b));
                            }
                        }
                        cursor = wb
                            .checked_add(1)
                            .and_then(|next| set_b.range((next, 0)..).find(admitted_b).copied());
                    }
                }
            }
        }
        self.lines = lines;
        choice
    }

    /// Sends moved tenants back where they started, largest first, wherever that does not raise
    /// the worst utilisation reached: directly, or together with a cheaper helper move that makes
    /// room in the home pool (a tenant of the home pool going to any other pool, free if it is
    /// already away, else costing fewer phones than the homecoming saves).
    fn send_home(&mut self) {
        let model = self.model;
        let placed: Vec<Option<usize>> = self.assign.iter().map(|&p| Some(p)).collect();
        self.util = model.utilisation(&placed);
        let (_, peak) = peak_of(&self.util);
        // Float noise only: a homecoming may not raise the worst cell by more than rounding.
        let ceiling = peak + peak.abs() * HOME_SLACK;
        let mut lines = std::mem::take(&mut self.lines);
        for _ in 0..3 {
            let order = model.largest_first(|t| {
                model.movable(t) && matches!(model.current[t], Some(h) if h != self.assign[t])
            });
            let mut changed = false;
            for tenant in order {
                let Some(home) = model.current[tenant] else {
                    continue;
                };
                let from = self.assign[tenant];
                if from == home {
                    continue;
                }
                let phones = model.phones[tenant];
                load_lines(model, &self.util, from, home, usize::MAX, &mut lines);
                if !self.charge(lines.len(), 2) {
                    break;
                }
                if peak_at(&lines, phones as f64) <= ceiling {
                    self.relocate(tenant, home);
                    changed = true;
                    continue;
                }
                let saved = self.snapshot(from, home);
                self.relocate(tenant, home);
                match self.best_helper(tenant, ceiling, &mut lines) {
                    Some((helper, to)) => {
                        self.relocate(helper, to);
                        changed = true;
                    }
                    None => {
                        self.relocate(tenant, from);
                        for (cell, u) in saved {
                            self.util[cell] = u;
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
        self.lines = lines;
    }

    /// After `tenant` went home (possibly over the ceiling there): the cheapest move of another
    /// tenant, out of a pool loading the worst cell of the home pool, that brings every cell back
    /// under `ceiling` and costs fewer phones than the homecoming saved.
    fn best_helper(
        &self,
        tenant: usize,
        ceiling: f64,
        lines: &mut Vec<(f64, f64)>,
    ) -> Option<(usize, usize)> {
        let model = self.model;
        let home = self.assign[tenant];
        let saving = i128::from(model.phones[tenant]);
        let (cell, _) = model.columns[home]
            .iter()
            .map(|&(cell, _)| (cell, self.util[cell]))
            .fold((usize::MAX, f64::NEG_INFINITY), |w, c| {
                if c.1 > w.1 { c } else { w }
            });
        let sources = model.loaders.get(cell)?;
        let mut best: Option<(i128, usize, usize)> = None;
        for &(from, _) in sources {
            for to in 0..model.pools() {
                if to == from {
                    continue;
                }
                match load_lines(model, &self.util, from, to, cell, lines) {
                    Some(delta) if delta < 0.0 => {}
                    _ => continue,
                }
                if !self.charge(lines.len(), 2) {
                    break;
                }
                let Some((lo, hi)) = feasible_transfers(lines, ceiling) else {
                    continue;
                };
                for set in [Some(&self.away[from]), self.at_home_for(from, to)]
                    .into_iter()
                    .flatten()
                {
                    let Some(&(w, helper)) = set
                        .range((lo, 0)..)
                        .find(|&&(_, b)| b != tenant && self.admits(b, to))
                    else {
                        continue;
                    };
                    if w > hi || peak_at(lines, w as f64) > ceiling {
                        continue;
                    }
                    let cost = self.cost(helper, to);
                    if cost < saving && best.is_none_or(|(c, _, _)| cost < c) {
                        best = Some((cost, helper, to));
                    }
                }
            }
        }
        best.map(|(_, helper, to)| (helper, to))
    }

    /// Current utilisation of every cell of two pools, to undo a tentative move exactly.
    fn snapshot(&self, a: usize, b: usize) -> Vec<(usize, f64)> {
        let model = self.model;
        model.columns[a]
            .iter()
            .chain(&model.columns[b])
            .map(|&(cell, _)| (cell, self.util[cell]))
            .collect()
    }
}

/// The most whole phones that can go along `lines` before a cell they raise passes `ceiling`.
fn headroom(lines: &[(f64, f64)], ceiling: f64) -> u64 {
    let most = lines
        .iter()
        .filter(|&&(_, d)| d > 0.0)
        .map(|&(u, d)| (ceiling - u) / d)
        .fold(f64::INFINITY, f64::min);
    // Saturating cast: negative → 0, unbounded → u64::MAX.
    most.floor() as u64
}

/// The whole-phone transfers `w ≥ 1` along `lines` that leave every cell at most `ceiling`,
/// as an inclusive range, if any.
fn feasible_transfers(lines: &[(f64, f64)], ceiling: f64) -> Option<(u64, u64)> {
    let mut lo = 1.0_f64;
    let mut hi = f64::INFINITY;
    for &(u, d) in lines {
        if d > 0.0 {
            hi = hi.min((ceiling - u) / d);
        } else if d < 0.0 {
            if u > ceiling {
                lo = lo.max((u - ceiling) / -d);
            }
        } else if u > ceiling {
            return None;
        }
    }
    if hi.is_nan() || hi < lo {
        return None;
    }
    // Float to integer casts saturate, which is what an unbounded range wants.
    let (lo, hi) = (lo.ceil() as u64, hi.floor() as u64);
    (lo <= hi).then_some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        input.tenants.iter().zip(assignment).all(|(t, &pool)| {
            pool.is_none_or(|p| !input.pools[p].closed || t.current_pool == Some(p))
        })
    }

    /// Whether [`plan`] must refuse the input for having nowhere to put a newcomer.
    fn newcomer_is_stranded(input: &PlanInput) -> bool {
        input.pools.iter().all(|p| p.closed)
            && input.tenants.iter().any(|t| t.current_pool.is_none())
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
}
