//! The classic greedy (longest processing time first) baseline plans are measured against.

use super::bound::bound_of;
use super::model::{assemble, complete, place_greedily, validate};
use super::{Plan, PlanError, PlanInput, refuse};

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
