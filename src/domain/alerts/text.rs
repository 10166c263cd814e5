//! Phrasing for people: percentages, phone counts, lists of names and servers, durations and
//! odds, as the alert summaries, explanations and advice use them.

use super::{MAX_EXAMPLES, ServerPhones};

/// "only 0.2% of the time" / "only about 1 time in 512": odds a reader can picture.
pub(super) fn describe_chance(chance: f64) -> String {
    if !chance.is_finite() || chance <= 0.0 {
        "practically never".to_string()
    } else if chance >= 0.01 {
        format!("only {} of the time", percent(chance))
    } else {
        let one_in = (1.0 / chance).round();
        if one_in > 1e9 {
            "practically never".to_string()
        } else {
            format!("only about 1 time in {one_in:.0}")
        }
    }
}

/// "50%", "10.1%": one decimal, dropped when it is zero.
pub(super) fn percent(share: f64) -> String {
    if !share.is_finite() {
        return "?%".to_string();
    }
    let tenths = (share * 1000.0).round();
    if tenths % 10.0 == 0.0 {
        format!("{:.0}%", tenths / 10.0)
    } else {
        format!("{:.1}%", tenths / 10.0)
    }
}

/// " (85%)" of a capacity, or nothing for a capacity of 0 (no meaningful percentage).
pub(super) fn of_capacity(load: f64, capacity: u32) -> String {
    if capacity == 0 {
        String::new()
    } else {
        format!(" ({})", percent(load / f64::from(capacity)))
    }
}

pub(super) fn phones(n: u64) -> String {
    if n == 1 {
        "1 phone".to_string()
    } else {
        format!("{n} phones")
    }
}

pub(super) fn count_of(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "a", "a and b", "a, b and c".
pub(super) fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// "voip2" for one server; "voip2 (20) and voip3 (4)" for several; long lists shortened.
pub(super) fn server_list(rows: &[ServerPhones]) -> String {
    match rows {
        [] => String::new(),
        [one] => one.server.clone(),
        _ => {
            let mut items: Vec<String> = rows
                .iter()
                .take(MAX_EXAMPLES)
                .map(|row| format!("{} ({})", row.server, row.phones))
                .collect();
            if rows.len() > MAX_EXAMPLES {
                items.push(format!("{} more servers", rows.len() - MAX_EXAMPLES));
            }
            join_and(&items)
        }
    }
}

pub(super) fn names_only(rows: &[ServerPhones]) -> String {
    let names: Vec<String> = rows.iter().map(|row| row.server.clone()).collect();
    join_and(&names)
}

/// "45 s", "47 min", "2 h 5 min", "3 d 4 h".
pub(super) fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    if secs < 60 {
        format!("{secs} s")
    } else if secs < 3600 {
        format!("{} min", secs / 60)
    } else if secs < 86_400 {
        let (hours, minutes) = (secs / 3600, secs % 3600 / 60);
        if minutes == 0 {
            format!("{hours} h")
        } else {
            format!("{hours} h {minutes} min")
        }
    } else {
        let (days, hours) = (secs / 86_400, secs % 86_400 / 3600);
        if hours == 0 {
            format!("{days} d")
        } else {
            format!("{days} d {hours} h")
        }
    }
}
