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
//!
//! Layout: this file holds the input and plan types, the tuning constants and [`plan`] itself;
//! `model` validates the input into the per-cell form every step works on (and holds the greedy
//! placement and plan assembly), `lpt` the baseline, `bound` the lower bound, `exhaustive` the
//! branch and bound (used by the bound and for tiny inputs), and `local_search` steps 2 to 4 of
//! [`plan`]. Everything here may import only `crate::domain` siblings, std and pure crates (serde);
//! no web framework, database or async runtime crates.

mod bound;
mod exhaustive;
mod floor;
mod local_search;
mod lpt;
mod model;
mod refine;
mod staged;
#[cfg(test)]
mod tests;

pub use bound::lower_bound;
pub use floor::{WarningFloor, warning_floor};
pub use lpt::lpt_baseline;
pub use refine::{WarningScore, refine, warning_score};
pub use staged::{Newcomers, NotPlaced, Staged, plan_staged};

use bound::bound_of;
use exhaustive::solve_exactly;
use local_search::local_search;
use model::{Model, assemble, complete, place_greedily, project, validate};

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Move {
    /// Index into [`PlanInput::tenants`].
    pub tenant: usize,
    /// `None` when the tenant had no pool: placing it does not count against the budget.
    pub from: Option<usize>,
    pub to: usize,
    pub phones: u64,
}

/// A proposed assignment with its projected loads and its quality against the lower bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
    #[schema(value_type = Option<f64>)]
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
