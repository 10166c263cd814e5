//! The `rfc2782` client model: RFC 2782's ordering process taken literally, computed exactly
//! as a Markov chain over the level's down records (approximated past [`MAX_RFC2782_STATES`]).

use super::SrvRecord;
use super::weighted::weighted_level;

/// The largest number of states the exact `rfc2782` computation of one priority level may use.
///
/// The states are the multisets of down records still unpicked, with down records of equal
/// weight interchangeable, so this allows 20 down records of 20 distinct weights in one level
/// (and far more when weights repeat) before an approximation is used.
pub const MAX_RFC2782_STATES: usize = 1 << 20;

/// Down records of one weight within a priority level: interchangeable for the ordering process.
#[derive(Debug, Clone, Copy)]
struct DownClass {
    weight: f64,
    count: usize,
    zero: bool,
}

/// How a phone's landing probability on an available record of the level depends on its weight:
/// `per_weight * w + (if w == 0 { zero_bonus } else { shared_bonus })`.
#[derive(Debug, Default, Clone, Copy)]
struct Landing {
    per_weight: f64,
    zero_bonus: f64,
    shared_bonus: f64,
}

/// The `rfc2782` model for the chosen priority level; returns whether the result is exact.
///
/// RFC 2782's selection: arrange the unordered records with weight-0 ones first, take running
/// sums, draw R uniformly from [0, T] inclusive, pick the first record whose running sum is at
/// least R, remove it and repeat. With the arrangement uniformly random, R = 0 picks the
/// first-placed record and every other R picks the record whose interval of length w covers it,
/// so from the remaining set S record i is picked with probability (w_i + f_i)/(T_S + 1), where
/// f_i is 1/z for each of the z weight-0 records if S has any and 1/|S| for every record if not.
/// Conditioned on the pick, the relative order of the rest is again uniform (each order of the
/// rest arises from the same set of insert positions of the picked record, exactly one of them
/// first), so the process is a Markov chain on the remaining set. A phone lands on the first
/// available pick; only down records are ever removed before that, so the chain lives on subsets
/// of the level's down records, and down records of equal weight are interchangeable.
pub(super) fn rfc2782_level(
    records: &[SrvRecord],
    level: &[usize],
    available: &[bool],
    share: &mut [f64],
    max_states: usize,
) -> bool {
    let up: Vec<usize> = level.iter().copied().filter(|&i| available[i]).collect();
    let up_total: f64 = up.iter().map(|&i| f64::from(records[i].weight)).sum();
    let up_zero = up.iter().filter(|&&i| records[i].weight == 0).count();

    let mut down_weights: Vec<u16> = level
        .iter()
        .copied()
        .filter(|&i| !available[i])
        .map(|i| records[i].weight)
        .collect();
    if up_zero > 0 {
        // While a weight-0 record remains, the odds between any two remaining picks do not
        // depend on which weighted records are still there (a weighted pick is w/(T+1), a
        // weight-0 pick (1/z)/(T+1)): removing a down weighted record only rescales the
        // denominator. An available weight-0 record keeps the zero group from emptying before
        // the phone lands, so the down weighted records never change the outcome.
        down_weights.retain(|&w| w == 0);
    }
    down_weights.sort_unstable();
    let mut classes: Vec<DownClass> = Vec::new();
    for w in down_weights {
        match classes.last_mut() {
            Some(class) if class.weight == f64::from(w) => class.count += 1,
            _ => classes.push(DownClass {
                weight: f64::from(w),
                count: 1,
                zero: w == 0,
            }),
        }
    }

    let Some(exact) = fit_state_budget(&mut classes, max_states) else {
        // Hundreds of down records of both kinds in one level: no tractable exact answer, and
        // the `weighted` split is the closest cheap stand-in.
        weighted_level(records, level, available, share);
        return false;
    };
    let landing = landing_coefficients(up_total, up.len(), up_zero, &classes);
    for &i in &up {
        let weight = records[i].weight;
        let bonus = if weight == 0 {
            landing.zero_bonus
        } else {
            landing.shared_bonus
        };
        // Clamped only against rounding: a lone survivor can come out at 1 + 2⁻⁵².
        share[i] = (landing.per_weight * f64::from(weight) + bonus).clamp(0.0, 1.0);
    }
    exact
}

fn state_count(classes: &[DownClass]) -> usize {
    classes.iter().fold(1usize, |states, class| {
        states.saturating_mul(class.count + 1)
    })
}

/// Shrinks the state space to at most `max_states` by merging the weighted classes whose weights
/// are closest (by ratio) into one class of their mean weight. Returns `Some(true)` when nothing
/// had to be merged, `Some(false)` when the result is approximate, `None` when even one weighted
/// class is too many.
fn fit_state_budget(classes: &mut Vec<DownClass>, max_states: usize) -> Option<bool> {
    let mut exact = true;
    while state_count(classes) > max_states {
        let closest = classes
            .windows(2)
            .enumerate()
            .filter(|(_, pair)| !pair[0].zero && !pair[1].zero)
            .map(|(i, pair)| (i, pair[1].weight / pair[0].weight))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)?;
        let (low, high) = (classes[closest], classes[closest + 1]);
        let count = low.count + high.count;
        classes[closest] = DownClass {
            weight: (low.weight * low.count as f64 + high.weight * high.count as f64)
                / count as f64,
            count,
            zero: false,
        };
        classes.remove(closest + 1);
        exact = false;
    }
    Some(exact)
}

/// Runs the ordering chain forward over the states (how many down records of each class are
/// still unpicked), accumulating how much landing probability flows to the available records.
fn landing_coefficients(
    up_total: f64,
    up_count: usize,
    up_zero: usize,
    classes: &[DownClass],
) -> Landing {
    let radices: Vec<usize> = classes.iter().map(|class| class.count + 1).collect();
    let mut strides = Vec::with_capacity(classes.len());
    let mut states = 1usize;
    for radix in &radices {
        strides.push(states);
        states *= radix;
    }
    // reach[s]: probability that the chain passes through state s before the phone lands.
    // Every pick lowers the mixed-radix index, so a descending sweep sees each state complete.
    let mut reach = vec![0.0f64; states];
    reach[states - 1] = 1.0;
    let mut remaining = vec![0usize; classes.len()];
    let mut landing = Landing::default();
    for index in (0..states).rev() {
        let here = reach[index];
        if here <= 0.0 {
            continue;
        }
        let mut total = up_total;
        let mut count = up_count;
        let mut zeros = up_zero;
        for (c, class) in classes.iter().enumerate() {
            let left = (index / strides[c]) % radices[c];
            remaining[c] = left;
            total += class.weight * left as f64;
            count += left;
            if class.zero {
                zeros += left;
            }
        }
        let step = here / (total + 1.0);
        landing.per_weight += step;
        if zeros > 0 {
            landing.zero_bonus += step / zeros as f64;
        } else {
            landing.shared_bonus += step / count as f64;
        }
        for (c, class) in classes.iter().enumerate() {
            let left = remaining[c];
            if left == 0 {
                continue;
            }
            let first_placed = if zeros > 0 {
                if class.zero { 1.0 / zeros as f64 } else { 0.0 }
            } else {
                1.0 / count as f64
            };
            reach[index - strides[c]] += step * left as f64 * (class.weight + first_placed);
        }
    }
    landing
}
