//! The `weighted` client model: within the chosen priority level, weight w gets w/Σw.

use super::SrvRecord;

/// The `weighted` model for the chosen priority level (which has at least one available record).
pub(super) fn weighted_level(
    records: &[SrvRecord],
    level: &[usize],
    available: &[bool],
    share: &mut [f64],
) {
    let up: Vec<usize> = level.iter().copied().filter(|&i| available[i]).collect();
    let total: u64 = up.iter().map(|&i| u64::from(records[i].weight)).sum();
    if total > 0 {
        // Weight-0 records are only a last resort within the level (RFC 2782: "there SHOULD be
        // a very small chance of selecting" them), so while any weighted record is up they get
        // nothing.
        for &i in &up {
            share[i] = f64::from(records[i].weight) / total as f64;
        }
    } else {
        let each = 1.0 / up.len() as f64;
        for &i in &up {
            share[i] = each;
        }
    }
}
