//! Charts over time (issue 18), rendered on the server as SVG: axes with units, a legend, a
//! hover `<title>` for every point in time (naming each series' value there), and at most
//! [`TOP_N`] series plus "others" so that 40 servers stay readable.
//!
//! Hand-written rather than drawn with `plotters`: its SVG backend draws through the
//! `DrawingBackend` trait, whose primitives (pixel, line, rect, path, circle, polygon, text)
//! carry no metadata, so there is no way to give a point a `<title>` child without
//! post-processing its output. The page's CSP is `style-src 'self'`: no `style=` attribute is
//! written, only presentation attributes (`fill=`, `stroke=`) and classes styled in
//! `static/style.css`.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::names::natural_cmp;

/// Series drawn by name at most; the rest are summed into "others".
pub const TOP_N: usize = 8;

/// The name of the series that stands for the ones beyond the top N.
pub const OTHERS: &str = "others";

/// Line colours (Tableau 10, distinguishable in colour-blind vision); "others" is grey.
const PALETTE: [&str; 9] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f",
];
const OTHERS_COLOUR: &str = "#8c8c8c";

/// The time ranges a chart can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Range {
    H6,
    #[default]
    H24,
    D7,
    D14,
}

impl Range {
    pub const ALL: [Range; 4] = [Range::H6, Range::H24, Range::D7, Range::D14];

    /// `6h`, `24h`, `7d`, `14d`: the query parameter's values.
    pub fn as_str(self) -> &'static str {
        match self {
            Range::H6 => "6h",
            Range::H24 => "24h",
            Range::D7 => "7d",
            Range::D14 => "14d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Range::H6 => "6 h",
            Range::H24 => "24 h",
            Range::D7 => "7 d",
            Range::D14 => "14 d",
        }
    }

    pub fn secs(self) -> i64 {
        match self {
            Range::H6 => 6 * 3600,
            Range::H24 => 86_400,
            Range::D7 => 7 * 86_400,
            Range::D14 => 14 * 86_400,
        }
    }

    /// Seconds per point: a few hundred points per series at most (288 at 24 h, 336 at 7 and
    /// 14 days).
    pub fn step(self) -> i64 {
        step_for(self.secs())
    }
}

impl std::str::FromStr for Range {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Range::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown range {s:?}: use 6h, 24h, 7d or 14d"))
    }
}

/// Seconds per point for a window of `secs`: 5 minutes up to a day, then 30 minutes up to a
/// week, then an hour.
pub fn step_for(secs: i64) -> i64 {
    if secs <= 86_400 {
        300
    } else if secs <= 7 * 86_400 {
        1800
    } else {
        3600
    }
}

/// What the values measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Registered phones (whole numbers).
    Phones,
    /// A share in percent (0 to 100).
    Percent,
}

impl Unit {
    fn axis(self) -> &'static str {
        match self {
            Unit::Phones => "phones",
            Unit::Percent => "% away",
        }
    }

    fn format(self, v: f64) -> String {
        match self {
            Unit::Phones => format!("{} phones", thousands(v.round() as i64)),
            Unit::Percent => format!("{v:.1}% away"),
        }
    }

    fn tick(self, v: f64) -> String {
        match self {
            Unit::Phones => thousands(v.round() as i64),
            Unit::Percent => format!("{}%", trim(v)),
        }
    }
}

/// One line: its points (Unix seconds, value) in time order and its size, which ranks it for
/// the top N (phones; for a share, the phones it is a share of).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(i64, f64)>,
    pub size: f64,
}

/// A chart: its title (the SVG's accessible name), unit, window and lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub unit: Unit,
    pub from: i64,
    pub to: i64,
    pub series: Vec<Series>,
}

/// The value at every `step` in `[from, to]` (aligned to multiples of `step`), carrying the
/// last known value forward: `rows` are (time, value) in time order and may start before
/// `from` (the value carried into the window). No points before the first known value.
pub fn carry_forward(rows: &[(i64, f64)], from: i64, to: i64, step: i64) -> Vec<(i64, f64)> {
    let step = step.max(1);
    let mut out = Vec::new();
    let mut i = 0;
    let mut current: Option<f64> = None;
    let mut t = from - from.rem_euclid(step);
    if t < from {
        t += step;
    }
    while t <= to {
        while i < rows.len() && rows[i].0 <= t {
            current = Some(rows[i].1);
            i += 1;
        }
        if let Some(v) = current {
            out.push((t, v));
        }
        t += step;
    }
    out
}

/// Keeps the `n` largest series (by size; ties by name) and sums the rest into one [`OTHERS`]
/// series, point by point; for a share, the others' shares weighted by their sizes. The kept
/// series come in natural order of their names, "others" last.
pub fn top_n(mut series: Vec<Series>, n: usize, unit: Unit) -> Vec<Series> {
    if series.len() > n {
        series.sort_by(|a, b| {
            b.size
                .total_cmp(&a.size)
                .then_with(|| natural_cmp(&a.name, &b.name))
        });
        let rest = series.split_off(n);
        let size: f64 = rest.iter().map(|s| s.size).sum();
        let mut sums: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
        for s in &rest {
            for (t, v) in &s.points {
                let e = sums.entry(*t).or_default();
                match unit {
                    Unit::Phones => e.0 += v,
                    Unit::Percent => {
                        e.0 += v * s.size;
                        e.1 += s.size;
                    }
                }
            }
        }
        let points = sums
            .into_iter()
            .map(|(t, (v, w))| match unit {
                Unit::Phones => (t, v),
                Unit::Percent => (t, if w > 0.0 { v / w } else { 0.0 }),
            })
            .collect();
        series.sort_by(|a, b| natural_cmp(&a.name, &b.name));
        series.push(Series {
            name: format!("{OTHERS} ({})", rest.len()),
            points,
            size,
        });
    } else {
        series.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    }
    series
}

/// Round tick values from 0 to at least `max`: steps of 1, 2 or 5 times a power of ten, at most
/// six ticks.
pub fn value_ticks(max: f64) -> Vec<f64> {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let pow = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * pow)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * pow);
    // Whole phones: never a step below 1.
    let step = if max >= 1.0 { step.max(1.0) } else { step };
    let count = (max / step).ceil() as usize;
    (0..=count).map(|i| i as f64 * step).collect()
}

/// Time ticks for `[from, to]` (UTC): every 1, 2, 3, 4, 6 or 12 hours, or 1, 2 or 7 days,
/// whichever gives at most eight; labelled `HH:MM` below a day, `Mon D` from a day.
pub fn time_ticks(from: i64, to: i64) -> Vec<(i64, String)> {
    let span = (to - from).max(1);
    let every = [1, 2, 3, 4, 6, 12, 24, 48, 168]
        .into_iter()
        .map(|h| h * 3600)
        .find(|e| span / e <= 8)
        .unwrap_or(168 * 3600);
    let mut t = from - from.rem_euclid(every);
    if t < from {
        t += every;
    }
    let mut out = Vec::new();
    while t <= to {
        out.push((t, time_label(t, every >= 86_400)));
        t += every;
    }
    out
}

fn time_label(t: i64, days: bool) -> String {
    match jiff::Timestamp::from_second(t) {
        Ok(ts) if days => ts.strftime("%b %-d").to_string(),
        Ok(ts) => ts.strftime("%H:%M").to_string(),
        Err(_) => t.to_string(),
    }
}

fn full_time(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| ts.strftime("%a %b %-d, %H:%M UTC").to_string())
        .unwrap_or_else(|_| t.to_string())
}

fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// Text for an SVG text node or attribute.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const WIDTH: f64 = 600.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 22.0;
const PLOT_H: f64 = 190.0;
const LEGEND_COLS: usize = 3;
const LEGEND_ROW: f64 = 20.0;

/// The chart as an `<svg>` element. Every series is a `<polyline>` (`data-points` counts its
/// points); every point in time has a transparent column whose `<title>` lists the value of each
/// series there, so hovering anywhere over the chart reads the exact figures.
pub fn render_svg(chart: &Chart) -> String {
    let series: Vec<&Series> = chart
        .series
        .iter()
        .filter(|s| !s.points.is_empty())
        .collect();
    let plot_w = WIDTH - LEFT - RIGHT;
    let axis_y = TOP + PLOT_H;
    let legend_rows = series.len().div_ceil(LEGEND_COLS);
    let height = axis_y + 40.0 + legend_rows as f64 * LEGEND_ROW + 4.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{title}" data-series="{n}"><title>{title}</title>"#,
        title = esc(&chart.title),
        n = series.len(),
    );
    let span = (chart.to - chart.from).max(1) as f64;
    let x = |t: i64| LEFT + (t - chart.from) as f64 / span * plot_w;
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0f64, f64::max);
    let ticks = value_ticks(max);
    let top = ticks.last().copied().unwrap_or(1.0).max(f64::MIN_POSITIVE);
    let y = |v: f64| axis_y - v / top * PLOT_H;
    // Axes: horizontal grid lines with their values, time ticks below.
    for v in &ticks {
        let yy = y(*v);
        let _ = write!(
            svg,
            r##"<line class="chart-grid" x1="{LEFT}" x2="{x2}" y1="{yy:.1}" y2="{yy:.1}" stroke="#d9dee4"/><text class="chart-tick" x="{tx}" y="{ty:.1}" text-anchor="end">{label}</text>"##,
            x2 = LEFT + plot_w,
            tx = LEFT - 6.0,
            ty = yy + 4.0,
            label = esc(&chart.unit.tick(*v)),
        );
    }
    for (t, label) in time_ticks(chart.from, chart.to) {
        let xx = x(t);
        let _ = write!(
            svg,
            r##"<line class="chart-axis" x1="{xx:.1}" x2="{xx:.1}" y1="{axis_y}" y2="{y2}" stroke="#5d6875"/><text class="chart-tick" x="{xx:.1}" y="{ty}" text-anchor="middle">{label}</text>"##,
            y2 = axis_y + 4.0,
            ty = axis_y + 17.0,
            label = esc(&label),
        );
    }
    let _ = write!(
        svg,
        r##"<line class="chart-axis" x1="{LEFT}" x2="{x2}" y1="{axis_y}" y2="{axis_y}" stroke="#5d6875"/><text class="chart-unit" x="4" y="{uy}">{unit}</text><text class="chart-unit" x="{ux}" y="{ty}" text-anchor="end">time (UTC)</text>"##,
        x2 = LEFT + plot_w,
        uy = TOP - 10.0,
        unit = chart.unit.axis(),
        ux = LEFT + plot_w,
        ty = axis_y + 32.0,
    );
    if series.is_empty() {
        let _ = write!(
            svg,
            r#"<text class="chart-empty" x="{cx}" y="{cy}" text-anchor="middle">No data in this range yet</text></svg>"#,
            cx = LEFT + plot_w / 2.0,
            cy = TOP + PLOT_H / 2.0,
        );
        return svg;
    }
    let colour = |i: usize, s: &Series| {
        if s.name.starts_with(OTHERS) && i == series.len() - 1 {
            OTHERS_COLOUR
        } else {
            PALETTE[i % PALETTE.len()]
        }
    };
    for (i, s) in series.iter().enumerate() {
        let mut points = String::new();
        for (t, v) in &s.points {
            let _ = write!(points, "{:.1},{:.1} ", x(*t), y(*v));
        }
        let _ = write!(
            svg,
            r#"<polyline class="chart-line" fill="none" stroke="{c}" stroke-width="2" points="{p}" data-name="{name}" data-points="{n}"/>"#,
            c = colour(i, s),
            p = points.trim_end(),
            name = esc(&s.name),
            n = s.points.len(),
        );
    }
    // One hover column per point in time: its title names every series' value there.
    let mut times: BTreeMap<i64, Vec<(usize, f64)>> = BTreeMap::new();
    for (i, s) in series.iter().enumerate() {
        for (t, v) in &s.points {
            times.entry(*t).or_default().push((i, *v));
        }
    }
    let ts: Vec<i64> = times.keys().copied().collect();
    let _ = write!(svg, r#"<g class="chart-hover">"#);
    for (k, (t, values)) in times.iter().enumerate() {
        let left = if k == 0 {
            LEFT
        } else {
            (x(ts[k - 1]) + x(*t)) / 2.0
        };
        let right = if k + 1 == ts.len() {
            LEFT + plot_w
        } else {
            (x(*t) + x(ts[k + 1])) / 2.0
        };
        let mut title = full_time(*t);
        for (i, v) in values {
            let _ = write!(title, "\n{}: {}", series[*i].name, chart.unit.format(*v));
        }
        let _ = write!(
            svg,
            r#"<rect class="chart-point" x="{left:.1}" y="{TOP}" width="{w:.1}" height="{PLOT_H}" fill="transparent"><title>{title}</title></rect>"#,
            w = (right - left).max(0.5),
            title = esc(&title),
        );
    }
    svg.push_str("</g>");
    // The legend: a swatch, the name and the newest value of each series.
    let col_w = (WIDTH - LEFT) / LEGEND_COLS as f64;
    for (i, s) in series.iter().enumerate() {
        let lx = LEFT + (i % LEGEND_COLS) as f64 * col_w;
        let ly = axis_y + 40.0 + (i / LEGEND_COLS) as f64 * LEGEND_ROW;
        let latest = s.points.last().map(|p| p.1).unwrap_or(0.0);
        let _ = write!(
            svg,
            r#"<g class="chart-legend"><rect x="{lx:.1}" y="{ry:.1}" width="12" height="12" fill="{c}"/><text x="{tx:.1}" y="{ly:.1}">{name} ({value})</text></g>"#,
            ry = ly - 10.0,
            c = colour(i, s),
            tx = lx + 17.0,
            name = esc(&s.name),
            value = esc(&chart.unit.tick(latest)),
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, size: f64, points: &[(i64, f64)]) -> Series {
        Series {
            name: name.into(),
            points: points.to_vec(),
            size,
        }
    }

    #[test]
    fn ranges_parse_and_keep_a_few_hundred_points() {
        for r in Range::ALL {
            assert_eq!(r.as_str().parse::<Range>(), Ok(r));
            assert!(r.secs() / r.step() <= 400, "{r:?}");
        }
        assert_eq!(Range::D14.secs() / Range::D14.step(), 336);
        assert!(
            "1y".parse::<Range>()
                .unwrap_err()
                .contains("6h, 24h, 7d or 14d")
        );
        assert_eq!(Range::default(), Range::H24);
    }

    #[test]
    fn value_ticks_are_round_and_cover_the_maximum() {
        assert_eq!(value_ticks(0.0), vec![0.0, 1.0]);
        assert_eq!(value_ticks(3.0), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(value_ticks(97.0), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(value_ticks(1234.0), vec![0.0, 500.0, 1000.0, 1500.0]);
        for max in [0.3, 7.0, 55.5, 999.0, 12_345.0, 270_000.0] {
            let t = value_ticks(max);
            assert!(*t.last().unwrap() >= max, "{max}: {t:?}");
            assert!(t.len() <= 7, "{max}: {t:?}");
        }
    }

    #[test]
    fn time_ticks_fit_the_range() {
        let from = 1_800_000_000 - 6 * 3600;
        let to = 1_800_000_000;
        let t = time_ticks(from, to);
        assert_eq!(t.len(), 7, "hourly over 6 hours: {t:?}");
        assert_eq!(t[0].1, "02:00");
        assert!(
            t.iter()
                .all(|(x, _)| *x >= from && *x <= to && x % 3600 == 0)
        );
        let d = time_ticks(to - 14 * 86_400, to);
        assert!(d.len() <= 8 && d.len() >= 6, "{d:?}");
        assert_eq!(d[0].1, "Jan 2", "midnight UTC, every two days");
    }

    #[test]
    fn carry_forward_fills_the_grid_from_the_seed() {
        // A seed before the window, a change inside, then nothing (unchanged).
        let rows = [(0, 5.0), (900, 7.0)];
        assert_eq!(
            carry_forward(&rows, 300, 1500, 300),
            vec![(300, 5.0), (600, 5.0), (900, 7.0), (1200, 7.0), (1500, 7.0)]
        );
        // Nothing known before 900: no points before it.
        assert_eq!(
            carry_forward(&[(900, 1.0)], 0, 1200, 300),
            vec![(900, 1.0), (1200, 1.0)]
        );
        assert!(carry_forward(&[], 0, 1200, 300).is_empty());
    }

    #[test]
    fn forty_servers_become_the_top_eight_and_others_in_natural_order() {
        let series: Vec<Series> = (1..=40)
            .map(|i| s(&format!("voip{i}"), i as f64, &[(0, i as f64), (300, 1.0)]))
            .collect();
        let top = top_n(series, TOP_N, Unit::Phones);
        let names: Vec<&str> = top.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "voip33",
                "voip34",
                "voip35",
                "voip36",
                "voip37",
                "voip38",
                "voip39",
                "voip40",
                "others (32)"
            ]
        );
        // The others are summed point by point: 1 + 2 + … + 32 at 0, 32 × 1 at 300.
        assert_eq!(top[8].points, vec![(0, 528.0), (300, 32.0)]);
        assert_eq!(top[8].size, 528.0);
        // Few series: all kept, natural order (voip2 before voip10), no "others".
        let few = top_n(
            vec![s("voip10", 9.0, &[]), s("voip2", 1.0, &[])],
            TOP_N,
            Unit::Phones,
        );
        assert_eq!(few[0].name, "voip2");
        assert_eq!(few.len(), 2);
    }

    #[test]
    fn others_of_shares_are_weighted_by_size() {
        let series = vec![
            s("big", 1000.0, &[(0, 50.0)]),
            s("a", 100.0, &[(0, 10.0)]),
            s("b", 300.0, &[(0, 30.0)]),
        ];
        let top = top_n(series, 1, Unit::Percent);
        assert_eq!(top[0].name, "big");
        assert_eq!(top[1].name, "others (2)");
        assert_eq!(top[1].points, vec![(0, 25.0)]);
    }

    #[test]
    fn an_empty_chart_says_so() {
        let svg = render_svg(&Chart {
            title: "Registered phones per server".into(),
            unit: Unit::Phones,
            from: 0,
            to: 3600,
            series: vec![s("voip1", 0.0, &[])],
        });
        assert!(svg.contains(r#"data-series="0""#));
        assert!(svg.contains("No data in this range yet"));
        assert!(!svg.contains("<polyline"));
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn every_point_has_a_readable_title_and_no_style_attribute() {
        let svg = render_svg(&Chart {
            title: "Registered <phones>".into(),
            unit: Unit::Phones,
            from: 1_800_000_000 - 600,
            to: 1_800_000_000,
            series: vec![
                s(
                    "voip2",
                    2.0,
                    &[(1_800_000_000 - 300, 1234.0), (1_800_000_000, 1240.0)],
                ),
                s("voip10", 1.0, &[(1_800_000_000, 7.0)]),
            ],
        });
        assert!(svg.starts_with("<svg "));
        assert!(svg.contains(r#"data-series="2""#));
        assert!(svg.contains("Registered &lt;phones&gt;"), "escaped title");
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(r#"data-name="voip2" data-points="2""#));
        assert_eq!(svg.matches(r#"class="chart-point""#).count(), 2);
        assert!(svg.contains(
            "<title>Fri Jan 15, 08:00 UTC\nvoip2: 1,240 phones\nvoip10: 7 phones</title>"
        ));
        assert!(
            svg.contains("voip2 (1,240)"),
            "legend with the newest value"
        );
        assert!(
            svg.contains(">phones<") && svg.contains("time (UTC)"),
            "units"
        );
        assert!(!svg.contains("style="), "CSP style-src 'self'");
    }

    #[test]
    fn shares_read_as_percent() {
        let svg = render_svg(&Chart {
            title: "Away share per pool".into(),
            unit: Unit::Percent,
            from: 0,
            to: 300,
            series: vec![s("pbxA", 10.0, &[(0, 12.5), (300, 40.0)])],
        });
        assert!(svg.contains("pbxA: 12.5% away"));
        assert!(svg.contains(">40%<"));
        assert!(svg.contains(">% away<"));
    }
}
