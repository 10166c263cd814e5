//! Validated model: the input, checked, in the per-cell form every step of the planner works
//! on, with the helpers that place tenants greedily and assemble a [`Plan`].

use super::{Move, Plan, PlanError, PlanInput, refuse};

/// The input, checked, with each pool's shares turned into the utilisation one phone adds to
/// each (scenario, server) cell it loads. Cell `k` is `scenario * servers + server`.
pub(super) struct Model {
    pub(super) cells: usize,
    /// Per pool: `(cell, share / capacity)` for every cell the pool loads, by cell.
    pub(super) columns: Vec<Vec<(usize, f64)>>,
    /// Per cell: `(pool, share / capacity)` for every pool that loads it, by pool.
    pub(super) loaders: Vec<Vec<(usize, f64)>>,
    pub(super) phones: Vec<u64>,
    pub(super) current: Vec<Option<usize>>,
    pub(super) pinned: Vec<bool>,
    /// Per pool: tenants may be placed in or moved into it ([`PlanPool::closed`] is false).
    pub(super) open: Vec<bool>,
}

pub(super) fn validate(input: &PlanInput) -> Result<Model, PlanError> {
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
    pub(super) fn pools(&self) -> usize {
        self.columns.len()
    }

    /// A tenant the optimiser may move: not pinned, and moving it would change something.
    pub(super) fn movable(&self, tenant: usize) -> bool {
        !self.pinned[tenant] && self.phones[tenant] > 0
    }

    /// Whether `tenant` may end up in `pool`: the pool is open, or the tenant started there.
    pub(super) fn allowed(&self, tenant: usize, pool: usize) -> bool {
        self.open.get(pool).copied().unwrap_or(false) || self.current[tenant] == Some(pool)
    }

    /// Pools `tenant` may end up in, the one it started in first.
    pub(super) fn destinations(&self, tenant: usize) -> Vec<usize> {
        let mut pools: Vec<usize> = self.current[tenant].into_iter().collect();
        pools
            .extend((0..self.pools()).filter(|&p| self.open[p] && self.current[tenant] != Some(p)));
        pools
    }

    pub(super) fn utilisation(&self, assignment: &[Option<usize>]) -> Vec<f64> {
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

    pub(super) fn pool_phones(&self, assignment: &[Option<usize>]) -> Vec<u64> {
        let mut totals = vec![0u64; self.pools()];
        for (&phones, pool) in self.phones.iter().zip(assignment) {
            if let Some(pool) = *pool {
                totals[pool] = totals[pool].saturating_add(phones);
            }
        }
        totals
    }

    /// Tenants passing `keep`, by phones descending, ties in tenant order.
    pub(super) fn largest_first(&self, keep: impl Fn(usize) -> bool) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.phones.len()).filter(|&t| keep(t)).collect();
        order.sort_by(|&a, &b| self.phones[b].cmp(&self.phones[a]).then(a.cmp(&b)));
        order
    }

    /// Phones of tenants that sit in a pool other than the one they started in.
    pub(super) fn moved_phones(&self, assignment: &[usize]) -> u64 {
        self.current
            .iter()
            .zip(assignment)
            .zip(&self.phones)
            .filter(|((home, pool), _)| matches!(home, Some(h) if h != *pool))
            .fold(0u64, |sum, (_, &phones)| sum.saturating_add(phones))
    }
}

pub(super) fn complete(assignment: Vec<Option<usize>>) -> Vec<usize> {
    // Every caller has placed all tenants by now; 0 is never used.
    assignment.into_iter().map(|p| p.unwrap_or(0)).collect()
}

pub(super) fn peak_of(util: &[f64]) -> (usize, f64) {
    let mut worst = (0, f64::NEG_INFINITY);
    for (cell, &u) in util.iter().enumerate() {
        if u > worst.1 {
            worst = (cell, u);
        }
    }
    worst
}

pub(super) fn project(
    input: &PlanInput,
    assignment: &[Option<usize>],
) -> (f64, (usize, usize), Vec<Vec<f64>>) {
    let servers = input.servers.len();
    let scenarios = input.scenarios.len();
    let mut loads = vec![vec![0.0; servers]; scenarios];
    // Each pool's non-zero shares, in row order, built when a tenant first uses the pool: a
    // tenant adds to exactly these cells in exactly this order, as a scan of every share would
    // (which cost scenarios × servers per tenant), so every sum is the same to the last bit.
    let mut nonzero: Vec<Option<Vec<(usize, usize, f64)>>> = vec![None; input.pools.len()];
    for (tenant, pool) in input.tenants.iter().zip(assignment) {
        let Some((index, shares)) = pool.and_then(|p| Some((p, &input.pools.get(p)?.shares)))
        else {
            continue;
        };
        let cells = nonzero[index].get_or_insert_with(|| {
            let mut cells = Vec::new();
            for (s, row) in shares.iter().enumerate().take(scenarios) {
                for (j, &share) in row.iter().enumerate().take(servers) {
                    if share != 0.0 {
                        cells.push((s, j, share));
                    }
                }
            }
            cells
        });
        let phones = tenant.phones as f64;
        for &(s, j, share) in cells.iter() {
            loads[s][j] += phones * share;
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

pub(super) fn assemble(
    input: &PlanInput,
    model: &Model,
    assignment: Vec<usize>,
    bound: f64,
) -> Plan {
    assemble_partial(
        input,
        model,
        assignment.into_iter().map(Some).collect(),
        bound,
    )
}

/// A [`Plan`] from an assignment that may leave tenants without a pool (`None`).
pub(super) fn assemble_partial(
    input: &PlanInput,
    model: &Model,
    assignment: Vec<Option<usize>>,
    bound: f64,
) -> Plan {
    let moves: Vec<Move> = assignment
        .iter()
        .enumerate()
        .filter_map(|(t, &to)| {
            let to = to?;
            (model.current[t] != Some(to)).then_some(Move {
                tenant: t,
                from: model.current[t],
                to,
                phones: model.phones[t],
            })
        })
        .collect();
    let moved_phones = moves
        .iter()
        .filter(|m| m.from.is_some())
        .fold(0u64, |sum, m| sum.saturating_add(m.phones));
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
pub(super) fn place_greedily(
    model: &Model,
    util: &mut [f64],
    pool_phones: &mut [u64],
    order: &[usize],
    assignment: &mut [Option<usize>],
) {
    // A pool's cells grouped by the utilisation one phone adds to them (`a`), each group with
    // the highest utilisation among its cells. Float addition is monotone, so the highest
    // `util + w·a` of a group is `top + w·a`, bit for bit: the peak of a pool is a fold over its
    // groups (about two for a pool of two equal servers) instead of over its cells (one per
    // scenario). Cells only rise here, so each group's top is kept as they do.
    let mut groups: Vec<Vec<(f64, f64)>> = Vec::with_capacity(model.pools());
    let mut cell_groups: Vec<Vec<(usize, usize)>> = vec![Vec::new(); model.cells];
    for (pool, column) in model.columns.iter().enumerate() {
        let mut index: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
        let mut own: Vec<(f64, f64)> = Vec::new();
        for &(cell, a) in column {
            let g = *index.entry(a.to_bits()).or_insert_with(|| {
                own.push((a, 0.0));
                own.len() - 1
            });
            own[g].1 = own[g].1.max(util[cell]);
            cell_groups[cell].push((pool, g));
        }
        groups.push(own);
    }
    for &tenant in order {
        let phones = model.phones[tenant];
        let w = phones as f64;
        let mut best: Option<(f64, u64, usize)> = None;
        for (pool, own) in groups.iter().enumerate() {
            if !model.open[pool] {
                continue;
            }
            let peak = own.iter().fold(0.0_f64, |m, &(a, top)| m.max(top + w * a));
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
                let now = util[cell];
                for &(other, g) in &cell_groups[cell] {
                    let top = &mut groups[other][g].1;
                    if now > *top {
                        *top = now;
                    }
                }
            }
            pool_phones[pool] = pool_phones[pool].saturating_add(phones);
            assignment[tenant] = Some(pool);
        }
    }
}
