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
use super::renderings::{Pieces, RenderKey, Renderings};
use super::{ApiError, AppState, Error, PageCtx, Result, Routes, page_around_parts};
use crate::app::Seen;
use crate::app::alert_log::{AlertOverlay, StatesAt};
use crate::app::cluster::{ClusterView, PoolStats, ServerStats, load, load_with_alerts_known};
use crate::domain::alerts::listing::Listed;
use crate::domain::alerts::{AlertBook, AlertCounts, WithinNormal};
use axum::body::Bytes;

pub fn router() -> Routes {
    Routes::new()
        .get("/", overview)
        .get("/api/v1/servers/stats", api_stats)
}

/// Alerts in the overview's headline.
const HEADLINE: u32 = 5;

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    ctx: PageCtx,
    /// Where the content goes ([`super::SHARED_PART`]): it is shared by every request of the same
    /// second (see [`OverviewCache`]) and sent as it is.
    content: &'static str,
}

#[derive(Template)]
#[template(path = "partials/overview_content.html")]
struct OverviewContent<'a> {
    tz: &'a jiff::tz::TimeZone,
    view: &'a ClusterView,
    /// Alerts per severity, silenced ones left out.
    counts: AlertCounts,
    /// The headline: the first alerts by impact (severity, then phones affected).
    top: Vec<Listed<'a>>,
    within: WithinNormal,
    /// Registered phones per server and the away share per pool over time.
    charts: Vec<ChartPanel>,
}

impl OverviewContent<'_> {
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

/// What the overview's content was rendered from. The cached values are held (not their
/// addresses), so a key can only equal another built from the very same values.
#[derive(Clone)]
pub struct ContentKey {
    view: Arc<ClusterView>,
    book: Arc<AlertBook>,
    overlay: Arc<AlertOverlay>,
    /// The charts drawn for `range` (see [`crate::app::charts::overview`]).
    charts: Arc<(String, String)>,
    range: crate::domain::chart::Range,
    /// The second it was rendered in: report ages, staleness and silences' ends are read
    /// against the clock.
    second: i64,
    time_zone: jiff::tz::TimeZone,
}

impl RenderKey for ContentKey {
    /// Rendered from the same data in the same second (whatever the range and time zone).
    fn same_data(&self, other: &ContentKey) -> bool {
        Arc::ptr_eq(&self.view, &other.view)
            && Arc::ptr_eq(&self.book, &other.book)
            && Arc::ptr_eq(&self.overlay, &other.overlay)
            && self.second == other.second
    }

    fn same(&self, other: &ContentKey) -> bool {
        self.same_data(other)
            && Arc::ptr_eq(&self.charts, &other.charts)
            && self.range == other.range
            && self.time_zone == other.time_zone
    }

    fn newer_than(&self, other: &ContentKey) -> bool {
        (self.view.version, self.second) > (other.view.version, other.second)
    }
}

/// Renderings kept at once (time zones and chart ranges): users in a few zones share the page.
const CACHED_ZONES: usize = 4;

/// The overview's content, rendered once per second and time zone rather than once per
/// request: ranking every alert for the headline and formatting hundreds of figures cost ten
/// times what serving the bytes does, and under load thousands of requests a second ask for
/// the very same page.
pub type OverviewCache = Renderings<ContentKey, CACHED_ZONES>;

async fn overview(
    State(st): State<AppState>,
    ctx: PageCtx,
    seen: Seen,
    known: KnownVersion,
    Query(q): Query<RangeParam>,
) -> Result<Response> {
    let range = q.range()?;
    // Drawn while the view builds: on a cold start both read the database.
    let (charts, loaded) = tokio::join!(
        crate::app::charts::overview(&st.app, range),
        load_with_alerts_known(&st.app, known.0, seen)
    );
    let (charts, (view, book)) = (charts?, loaded?);
    let states = crate::app::alert_log::states(&st.app, known.0, seen).await?;
    let key = ContentKey {
        view,
        book,
        overlay: states.overlay.clone(),
        charts,
        range,
        second: states.now,
        time_zone: ctx.tz.clone(),
    };
    let cache = &st.inner.overview;
    let rendering = cache.entry(&key);
    let content = match rendering
        .get_or_try_init(|| async { render_content(&key, &states) })
        .await
    {
        Ok(pieces) => pieces.clone(),
        Err(e) => {
            // Whoever waits renders for itself; nothing is kept of a failure.
            cache.forget(&rendering);
            return Err(e);
        }
    };
    Ok(page_around_parts(
        &OverviewPage {
            ctx,
            content: super::SHARED_PART,
        },
        content.iter().cloned(),
    ))
}

/// The overview's content for `key`.
fn render_content(key: &ContentKey, states: &StatesAt) -> Result<Pieces> {
    let top = super::alerts::headline(&key.book.alerts, states, HEADLINE);
    let charts = vec![
        ChartPanel::new(
            "chart-servers",
            "Registered phones per server",
            key.charts.0.clone(),
            key.range,
        ),
        ChartPanel::new(
            "chart-pools",
            "Away share per pool",
            key.charts.1.clone(),
            key.range,
        ),
    ];
    let content = Bytes::from(
        OverviewContent {
            tz: &key.time_zone,
            view: &key.view,
            counts: top.counts,
            top: top.rows,
            within: key.book.within_normal,
            charts,
        }
        .render()
        .map_err(Error::internal)?,
    );
    Ok(Arc::from(vec![content]))
}

async fn api_stats(
    State(st): State<AppState>,
    seen: Seen,
) -> Result<Json<Vec<ServerStats>>, ApiError> {
    Ok(Json(load(&st.app, seen).await?.stats.clone()))
}
