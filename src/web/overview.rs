//! The overview: per-server phones now against projected and capacity, pools' home/away split,
//! the alert summary, and each server's last report. Reads maintained counts only.

use askama::Template;
use axum::Json;
use axum::extract::State;

use super::charts::{ChartPanel, RangeParam};
use super::extract::Query;
use axum::response::Response;
use std::sync::Arc;

use super::auth::KnownVersion;
use super::filters;
use super::{ApiError, AppState, PageCtx, Result, Routes, page};
use crate::app::Seen;
use crate::app::cluster::{ClusterView, PoolStats, ServerStats, load, load_with_alerts_known};
use crate::domain::alerts::listing::Listed;
use crate::domain::alerts::{AlertCounts, WithinNormal};

pub fn router() -> Routes {
    Routes::new()
        .get("/", overview)
        .get("/api/v1/servers/stats", api_stats)
}

/// Alerts in the overview's headline.
const HEADLINE: u32 = 5;

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage<'a> {
    ctx: PageCtx,
    view: Arc<ClusterView>,
    /// Alerts per severity, silenced ones left out.
    counts: AlertCounts,
    /// The headline: the first alerts by impact (severity, then phones affected).
    top: Vec<Listed<'a>>,
    within: WithinNormal,
    /// Registered phones per server and the away share per pool over time.
    charts: Vec<ChartPanel>,
}

impl OverviewPage<'_> {
    fn alert_href(&self, id: &str) -> String {
        super::alerts::alert_href(id)
    }
    fn stale(&self, s: &ServerStats) -> bool {
        s.last_report_at.is_some_and(|t| {
            jiff::Timestamp::now().as_second() - t > self.view.settings.alerts.stale_after_secs
        })
    }
    /// Whether some single failure sends more phones to `s` than it expects with nothing down.
    /// When none does, naming the "worst" failure would pair two unrelated servers.
    fn failure_sends_here(&self, s: &ServerStats) -> bool {
        s.worst_n1
            .as_ref()
            .is_some_and(|(_, phones)| *phones > s.projected + 1e-6)
    }
    /// The share of the pool's phones that are away; none (shown as —) without phones.
    fn away_share(&self, p: &PoolStats) -> Option<f64> {
        (p.registered > 0).then(|| p.away_phones as f64 / p.registered as f64)
    }
    fn drifting(&self, p: &PoolStats) -> bool {
        p.registered > 0
            && p.away_phones as f64 / p.registered as f64
                > self.view.settings.alerts.normal_away_share
    }
}

async fn overview(
    State(st): State<AppState>,
    ctx: PageCtx,
    seen: Seen,
    known: KnownVersion,
    Query(q): Query<RangeParam>,
) -> Result<Response> {
    let range = q.range()?;
    let drawn = crate::app::charts::overview(&st.app, range, known.0).await?;
    let charts = vec![
        ChartPanel::new(
            "chart-servers",
            "Registered phones per server",
            drawn.0.clone(),
            range,
        ),
        ChartPanel::new("chart-pools", "Away share per pool", drawn.1.clone(), range),
    ];
    let (view, all) = load_with_alerts_known(&st.app, known.0, seen).await?;
    let states = super::alerts::alert_states(&st, known.0, seen).await?;
    let top = super::alerts::headline(&all.alerts, states.as_ref(), HEADLINE);
    Ok(page(&OverviewPage {
        ctx,
        counts: top.counts,
        top: top.rows,
        within: all.within_normal,
        view,
        charts,
    }))
}

async fn api_stats(
    State(st): State<AppState>,
    seen: Seen,
) -> Result<Json<Vec<ServerStats>>, ApiError> {
    Ok(Json(load(&st.app, seen).await?.stats.clone()))
}
