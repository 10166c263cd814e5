//! Charts over time (issue 18): the series written at ingest (`store::series`), carried forward
//! onto a grid of points and drawn by [`crate::domain::chart`]. Each function returns the SVG.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::cache::ViewKey;
use super::{App, Result, Seen};
use crate::domain::chart::{
    Chart, Range, Series, TOP_N, Unit, carry_forward, render_svg, step_for, top_n,
};
use crate::domain::ids::{PoolId, ServerId, TenantId};
use crate::store::{SeriesOf, SeriesRow, bucket_of};

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The overview's charts over `range`: drawn by one task at a time per range and served from
/// the cache meanwhile (see [`super::cache::Slot`]), keyed by the 5-minute bucket the window
/// ends in. Drawing reads the series: were every
/// request after a report to draw them itself, 64 concurrent readers would each run the same
/// slow queries (a stall of tens of seconds, measured).
pub async fn overview(app: &App, range: Range) -> Result<Arc<(String, String)>> {
    // Redrawn once per 5-minute bucket, not at every report: the charts' resolution is the
    // bucket, and a redraw per report (one a second in the load bench) cost the overview's p99
    // 25 -> 73 ms. A report shows in the charts within 5 minutes.
    let key = ViewKey {
        version: bucket_of(now()),
        tick: 0,
    };
    let slot = &app.shared.charts[Range::ALL.iter().position(|r| *r == range).unwrap_or(0)];
    let drawer = app.clone();
    let cached = slot
        .get(key, Seen::default(), move || async move {
            let started = std::time::Instant::now();
            let drawn = (
                servers(&drawer, range, None).await?,
                pools(&drawer, range, None).await?,
            );
            tracing::debug!(
                ?range,
                ms = started.elapsed().as_millis() as u64,
                "overview charts drawn"
            );
            Ok(drawn)
        })
        .await?;
    Ok(cached.value)
}

/// Rows by key, each key's (time, value) in time order.
fn by_key(rows: &[SeriesRow], value: impl Fn(&SeriesRow) -> f64) -> BTreeMap<i64, Vec<(i64, f64)>> {
    let mut out: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
    for r in rows {
        out.entry(r.key).or_default().push((r.bucket, value(r)));
    }
    out
}

/// The series of `of` over the `range` that ends now, at the range's step.
struct Window {
    from: i64,
    to: i64,
    step: i64,
    rows: Vec<SeriesRow>,
}

async fn window(app: &App, range: Range, of: SeriesOf) -> Result<Window> {
    let to = now();
    let from = to - range.secs();
    let step = range.step();
    let rows = app.store().series(of, from, to, step).await?;
    Ok(Window {
        from,
        to,
        step,
        rows,
    })
}

/// Registered phones per server (all of them: top N and others), or, for one server, its
/// registered and away phones.
pub async fn servers(app: &App, range: Range, one: Option<ServerId>) -> Result<String> {
    let Window {
        from,
        to,
        step,
        rows,
    } = window(app, range, SeriesOf::Servers(one)).await?;
    let names: HashMap<i64, String> = app
        .store()
        .servers()
        .await?
        .into_iter()
        .map(|s| (s.id.get(), s.name.to_string()))
        .collect();
    let chart = if let Some(id) = one {
        let name = names.get(&id.get()).cloned().unwrap_or_default();
        let mut series = Vec::new();
        for (label, value) in [
            (
                "registered",
                (|r: &SeriesRow| r.value as f64) as fn(&SeriesRow) -> f64,
            ),
            ("away", |r: &SeriesRow| r.away as f64),
        ] {
            let points = by_key(&rows, value)
                .remove(&id.get())
                .map(|p| carry_forward(&p, from, to, step))
                .unwrap_or_default();
            series.push(Series {
                name: label.to_string(),
                size: 0.0,
                points,
            });
        }
        Chart {
            title: format!("Phones on {name} over {}", range.label()),
            unit: Unit::Phones,
            from,
            to,
            series,
        }
    } else {
        let series = by_key(&rows, |r| r.value as f64)
            .into_iter()
            .filter_map(|(k, p)| {
                let name = names.get(&k)?.clone();
                let points = carry_forward(&p, from, to, step);
                Some(Series {
                    name,
                    size: points.last().map(|p| p.1).unwrap_or(0.0),
                    points,
                })
            })
            .collect();
        Chart {
            title: format!("Registered phones per server over {}", range.label()),
            unit: Unit::Phones,
            from,
            to,
            series: top_n(series, TOP_N, Unit::Phones),
        }
    };
    Ok(render_svg(&chart))
}

/// The away share per pool (all of them: top N by phones and others), or of one pool.
pub async fn pools(app: &App, range: Range, one: Option<PoolId>) -> Result<String> {
    let Window {
        from,
        to,
        step,
        rows,
    } = window(app, range, SeriesOf::Pools(one)).await?;
    let names: HashMap<i64, String> = app
        .store()
        .pools()
        .await?
        .into_iter()
        .map(|p| (p.id.get(), p.name.to_string()))
        .collect();
    let registered = by_key(&rows, |r| r.value as f64);
    let series = by_key(&rows, |r| {
        if r.value > 0 {
            r.away as f64 / r.value as f64 * 100.0
        } else {
            0.0
        }
    })
    .into_iter()
    .filter_map(|(k, p)| {
        let name = names.get(&k)?.clone();
        let size = registered
            .get(&k)
            .and_then(|r| r.last())
            .map(|p| p.1)
            .unwrap_or(0.0);
        Some(Series {
            name,
            size,
            points: carry_forward(&p, from, to, step),
        })
    })
    .collect();
    let title = match one.and_then(|p| names.get(&p.get())) {
        Some(name) => format!(
            "Share of {name}'s phones away from home over {}",
            range.label()
        ),
        None => format!("Away share per pool over {}", range.label()),
    };
    Ok(render_svg(&Chart {
        title,
        unit: Unit::Percent,
        from,
        to,
        series: top_n(series, TOP_N, Unit::Percent),
    }))
}

/// A tenant's phones per server in `[from, to]`.
async fn tenant_between(
    app: &App,
    tenant: TenantId,
    code: &str,
    from: i64,
    to: i64,
    what: &str,
) -> Result<String> {
    let step = step_for(to - from);
    let rows = app
        .store()
        .series(SeriesOf::Tenant(tenant), from, to, step)
        .await?;
    let names: HashMap<i64, String> = app
        .store()
        .servers()
        .await?
        .into_iter()
        .map(|s| (s.id.get(), s.name.to_string()))
        .collect();
    let series = by_key(&rows, |r| r.value as f64)
        .into_iter()
        .filter_map(|(k, p)| {
            let points = carry_forward(&p, from, to, step);
            // A server the tenant had no phone on in the whole window says nothing.
            if points.iter().all(|p| p.1 == 0.0) {
                return None;
            }
            Some(Series {
                name: names.get(&k)?.clone(),
                size: points.iter().map(|p| p.1).fold(0.0, f64::max),
                points,
            })
        })
        .collect();
    Ok(render_svg(&Chart {
        title: format!("{code}'s phones per server {what}"),
        unit: Unit::Phones,
        from,
        to,
        series: top_n(series, TOP_N, Unit::Phones),
    }))
}

/// A tenant's phones per server over `range`.
pub async fn tenant(app: &App, range: Range, tenant: TenantId, code: &str) -> Result<String> {
    let to = now();
    let what = format!("over {}", range.label());
    tenant_between(app, tenant, code, to - range.secs(), to, &what).await
}

/// A move's progress: the tenant's phones per server from an hour before the move started (the
/// picture it left) until it ended, or now.
pub async fn move_progress(
    app: &App,
    tenant: TenantId,
    code: &str,
    started_at: i64,
    ended_at: Option<i64>,
) -> Result<String> {
    let to = ended_at.unwrap_or_else(now).max(started_at + 300);
    tenant_between(
        app,
        tenant,
        code,
        started_at - 3600,
        to,
        "since the move started",
    )
    .await
}
