//! Askama filters for what pages show besides plain text: times in the viewer's time zone, ages
//! and durations, and percentages.
//!
//! Askama looks a filter `{{ x|name(args) }}` up as `filters::name` from the module that
//! defines the template struct, so each page module using one has `use super::filters;`.
//! Every filter is a thin wrapper over a `format_*` function, which the tests (and Rust code
//! such as [`PageCtx::time`](super::PageCtx::time)) call directly.
//!
//! | filter | input | example |
//! |---|---|---|
//! | `at\|datetime(ctx.tz)` | Unix seconds | `2026-03-01 14:05 CET` |
//! | `at\|ago(ctx.tz)` | Unix seconds, or `Option` (`never`) | `3 min ago` |
//! | `secs\|duration` | seconds | `2 h 5 min` |
//! | `share\|pct(1)` | a 0..=1 share, or `Option` (`—`) | `12.3%` |
//! | `name\|seg` | a name for a path segment | `/tenants/{{ code\|seg }}` |
//!
//! The inputs may be values or references of any depth (`&&i64` from a loop), or `Option`s.

use askama::Values;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A Unix time in seconds, or none, as the time filters take it.
pub trait UnixTime {
    fn unix_time(&self) -> Option<i64>;
}

impl UnixTime for i64 {
    fn unix_time(&self) -> Option<i64> {
        Some(*self)
    }
}

impl UnixTime for Option<i64> {
    fn unix_time(&self) -> Option<i64> {
        *self
    }
}

impl<T: UnixTime + ?Sized> UnixTime for &T {
    fn unix_time(&self) -> Option<i64> {
        (**self).unix_time()
    }
}

/// A share (0..=1), or none, as [`pct`] takes it.
pub trait Share {
    fn share(&self) -> Option<f64>;
}

impl Share for f64 {
    fn share(&self) -> Option<f64> {
        Some(*self)
    }
}

impl Share for Option<f64> {
    fn share(&self) -> Option<f64> {
        *self
    }
}

impl<T: Share + ?Sized> Share for &T {
    fn share(&self) -> Option<f64> {
        (**self).share()
    }
}

/// `YYYY-MM-DD HH:MM TZ`: a Unix time in the time zone `tz`, with the zone's abbreviation
/// (`CET`, `JST`, `UTC`). Empty for a time jiff cannot represent.
pub fn format_datetime(at: i64, tz: &TimeZone) -> String {
    Timestamp::from_second(at)
        .map(|t| {
            t.to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string()
        })
        .unwrap_or_default()
}

/// How long ago `at` was at `now`, coarsely: `12 s ago`, `3 min ago`, `5 h ago` (up to two
/// days), then `3 days ago (` the time in `tz` `)`. A time in the future counts as now.
pub fn format_age(at: i64, now: i64, tz: &TimeZone) -> String {
    let secs = (now - at).max(0);
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=172_799 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago ({})", secs / 86_400, format_datetime(at, tz)),
    }
}

/// A duration in seconds: `45 s`, `47 min`, `2 h 5 min`, `3 d 4 h` (negative counts as 0),
/// as the alert texts write them.
pub fn format_duration(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        3600..=86_399 => match (secs / 3600, secs % 3600 / 60) {
            (hours, 0) => format!("{hours} h"),
            (hours, minutes) => format!("{hours} h {minutes} min"),
        },
        _ => match (secs / 86_400, secs % 86_400 / 3600) {
            (days, 0) => format!("{days} d"),
            (days, hours) => format!("{days} d {hours} h"),
        },
    }
}

/// A share (0..=1) as a percentage with `decimals` decimals: `0.1234` with 1 is `12.3%`.
/// A share that is not a number (an infinite ratio, 0/0) shows as `—`.
pub fn format_pct(share: f64, decimals: usize) -> String {
    if share.is_finite() {
        format!("{:.*}%", decimals, share * 100.0)
    } else {
        "—".into()
    }
}

/// `{{ at|datetime(ctx.tz) }}`: [`format_datetime`]; empty for `None`.
#[askama::filter_fn]
pub fn datetime<T: UnixTime>(at: T, _: &dyn Values, tz: &TimeZone) -> askama::Result<String> {
    Ok(at
        .unix_time()
        .map(|at| format_datetime(at, tz))
        .unwrap_or_default())
}

/// `{{ at|ago(ctx.tz) }}`: [`format_age`] at the time of rendering; `never` for `None`.
#[askama::filter_fn]
pub fn ago<T: UnixTime>(at: T, _: &dyn Values, tz: &TimeZone) -> askama::Result<String> {
    Ok(match at.unix_time() {
        Some(at) => format_age(at, Timestamp::now().as_second(), tz),
        None => "never".into(),
    })
}

/// `{{ secs|duration }}`: [`format_duration`].
#[askama::filter_fn]
pub fn duration(secs: i64, _: &dyn Values) -> askama::Result<String> {
    Ok(format_duration(secs))
}

/// `{{ share|pct(2) }}`: [`format_pct`]; `—` for `None`.
#[askama::filter_fn]
pub fn pct<T: Share>(share: T, _: &dyn Values, decimals: usize) -> askama::Result<String> {
    Ok(share
        .share()
        .map(|s| format_pct(s, decimals))
        .unwrap_or_else(|| "—".into()))
}

/// `/tenants/{{ t.code|seg }}`: a name percent-encoded for one path segment, as
/// [`super::named`] reads it back.
#[askama::filter_fn]
pub fn seg<T: std::fmt::Display>(name: T, _: &dyn Values) -> askama::Result<String> {
    Ok(super::forms::q(&name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-15 12:30:00 UTC (winter: Rome is UTC+1, CET).
    const WINTER: i64 = 1_768_480_200;
    /// 2026-07-15 12:30:00 UTC (summer: Rome is UTC+2, CEST).
    const SUMMER: i64 = 1_784_118_600;

    fn rome() -> TimeZone {
        TimeZone::get("Europe/Rome").unwrap()
    }

    #[test]
    fn times_show_in_the_given_zone_with_its_abbreviation() {
        assert_eq!(
            format_datetime(WINTER, &TimeZone::UTC),
            "2026-01-15 12:30 UTC"
        );
        assert_eq!(format_datetime(WINTER, &rome()), "2026-01-15 13:30 CET");
        assert_eq!(format_datetime(SUMMER, &rome()), "2026-07-15 14:30 CEST");
        // The day changes with the zone too.
        let late = WINTER + 11 * 3600; // 23:30 UTC
        assert_eq!(format_datetime(late, &rome()), "2026-01-16 00:30 CET");
    }

    #[test]
    fn ages_are_coarse_and_old_ones_carry_the_local_time() {
        let utc = &TimeZone::UTC;
        assert_eq!(format_age(WINTER, WINTER, utc), "0 s ago");
        assert_eq!(format_age(WINTER, WINTER + 59, utc), "59 s ago");
        assert_eq!(format_age(WINTER, WINTER + 60, utc), "1 min ago");
        assert_eq!(format_age(WINTER, WINTER + 3599, utc), "59 min ago");
        assert_eq!(format_age(WINTER, WINTER + 3600, utc), "1 h ago");
        assert_eq!(format_age(WINTER, WINTER + 172_799, utc), "47 h ago");
        assert_eq!(
            format_age(WINTER, WINTER + 3 * 86_400, &rome()),
            "3 days ago (2026-01-15 13:30 CET)"
        );
        assert_eq!(
            format_age(WINTER + 10, WINTER, utc),
            "0 s ago",
            "clock skew"
        );
    }

    #[test]
    fn durations_name_the_two_largest_units() {
        assert_eq!(format_duration(0), "0 s");
        assert_eq!(format_duration(59), "59 s");
        assert_eq!(format_duration(900), "15 min");
        assert_eq!(format_duration(3600), "1 h");
        assert_eq!(format_duration(7500), "2 h 5 min");
        assert_eq!(format_duration(3 * 86_400), "3 d");
        assert_eq!(format_duration(3 * 86_400 + 4 * 3600 + 59), "3 d 4 h");
        assert_eq!(format_duration(-5), "0 s");
    }

    #[test]
    fn percentages_take_the_decimals_asked_for() {
        assert_eq!(format_pct(0.1234, 0), "12%");
        assert_eq!(format_pct(0.1234, 1), "12.3%");
        assert_eq!(format_pct(0.1234, 2), "12.34%");
        assert_eq!(format_pct(0.5, 2), "50.00%");
        assert_eq!(format_pct(1.5, 0), "150%");
        assert_eq!(format_pct(f64::INFINITY, 1), "—");
        assert_eq!(format_pct(f64::NAN, 1), "—");
    }

    /// The filters as templates call them: references of any depth, `Option`s, and the zone.
    #[test]
    fn the_filters_render_in_templates() {
        use crate::web::filters;
        use askama::Template;

        #[derive(Template)]
        #[template(
            ext = "html",
            source = "{{ at|datetime(tz) }}|{{ old|ago(tz) }}|{{ none|ago(tz) }}|\
                      {% for s in shares %}{{ s|pct(1) }} {% endfor %}|{{ missing|pct(2) }}|\
                      {{ 7500|duration }}"
        )]
        struct Probe {
            at: i64,
            old: Option<i64>,
            none: Option<i64>,
            tz: TimeZone,
            shares: Vec<f64>,
            missing: Option<f64>,
        }

        let html = Probe {
            at: WINTER,
            old: Some(1_600_000_000),
            none: None,
            tz: rome(),
            shares: vec![0.1234, 1.0],
            missing: None,
        }
        .render()
        .unwrap();
        let parts: Vec<&str> = html.split('|').collect();
        assert_eq!(parts[0], "2026-01-15 13:30 CET");
        assert!(
            parts[1].ends_with(" days ago (2020-09-13 14:26 CEST)"),
            "{html}"
        );
        assert_eq!(parts[2], "never");
        assert_eq!(parts[3], "12.3% 100.0% ");
        assert_eq!(parts[4], "—");
        assert_eq!(parts[5], "2 h 5 min");
    }
}
