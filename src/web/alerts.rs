//! The alerts page and API: the current alerts a page at a time, filtered by kind, severity,
//! server, pool, tenant and state, ranked by impact or age, each card linking the objects it
//! names; the advice of each kind told once, in a legend.
//!
//! The filtering, ranking and paging are [`crate::domain::alerts::listing`]'s; the state of each
//! alert (silenced, acknowledged, since when) comes from [`alert_states`], the one place the
//! alert log plugs in.

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;

use super::api::ApiQuery;
use super::extract::{Path, Query};
use super::filters;
use super::forms::{PageLink, pager, q};
use super::{ApiError, AppState, Error, PageCtx, Result, Routes, page, render_page};
use crate::app::Seen;
use crate::app::cluster::alerts;
use crate::domain::FieldErrors;
use crate::domain::alerts::listing::{
    AckNote, AlertQuery, AlertStates, Listed, Listing, RawAlertQuery, SilenceNote, Sort,
    StateFilter, StateName, Untracked, legend, list, list_ranked,
};
use crate::domain::alerts::{Alert, AlertKind, Facet, ObjectKind, ObjectRef, WithinNormal};
use crate::domain::srv::Severity;

pub fn router() -> Routes {
    Routes::new()
        .get("/alerts", list_page)
        .get("/api/v1/alerts", api_list)
        .get("/go/{kind}/{name}", go)
}

/// The state of every alert: whether a silence covers it, whether it is acknowledged, since when
/// it has been raised, from the alert log. The page, the API, the overview's headline and
/// `/metrics` all ask this one place.
/// `version` is the data version when the request read it already (with its session).
pub(super) async fn alert_states(
    st: &AppState,
    version: Option<crate::store::DataVersion>,
    seen: Seen,
) -> Result<Box<dyn AlertStates + Send + Sync>> {
    Ok(Box::new(
        crate::app::alert_log::states(&st.app, version, seen).await?,
    ))
}

/// Where an alert's object is shown.
pub fn object_href(o: &ObjectRef) -> Option<String> {
    match o.kind {
        ObjectKind::Endpoint => None,
        ObjectKind::Server => Some(super::named::server_href(&o.name)),
        ObjectKind::Pool => Some(super::named::pool_href(&o.name)),
        ObjectKind::Tenant => Some(super::named::tenant_href(&o.name)),
    }
}

/// The query string that asks for `query` at `page` (defaults left out).
fn query_string(query: &AlertQuery, page: u32) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(k) = query.kind {
        parts.push(format!("kind={}", k.as_str()));
    }
    if let Some(s) = query.severity {
        parts.push(format!("severity={}", s.as_str()));
    }
    for (name, value) in [
        ("server", &query.server),
        ("pool", &query.pool),
        ("tenant", &query.tenant),
        ("id", &query.id),
    ] {
        if !value.is_empty() {
            parts.push(format!("{name}={}", q(value)));
        }
    }
    if query.state != StateFilter::Active {
        parts.push(format!("state={}", query.state.as_str()));
    }
    if query.sort != Sort::Impact {
        let (sort, dir) = query.sort.params();
        parts.push(format!("sort={sort}&dir={dir}"));
    }
    if query.per_page != AlertQuery::default().per_page {
        parts.push(format!("per_page={}", query.per_page));
    }
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    parts.join("&")
}

/// `/alerts` with `query` at `page`.
fn alerts_href(query: &AlertQuery, page: u32) -> String {
    match query_string(query, page) {
        qs if qs.is_empty() => "/alerts".to_string(),
        qs => format!("/alerts?{qs}"),
    }
}

/// The link to one alert, on the page that shows it whatever its state.
pub(super) fn alert_href(id: &str) -> String {
    format!("/alerts?id={}&state=all", q(id))
}

/// The most cards one page shows: 50 keep the page within its budget (150 KB of HTML at 10,000
/// tenants, BENCHMARKS.md); the API gives up to 200 rows at a time.
const PAGE_MAX_PER_PAGE: u32 = 50;

#[derive(Template)]
#[template(path = "alerts.html")]
struct ListPage<'a> {
    ctx: PageCtx,
    /// The parameters as sent, for the filter form.
    raw: RawAlertQuery,
    /// What was asked (the defaults when `errors` is not empty).
    query: AlertQuery,
    /// Wrong parameters: the page shows them and no alerts.
    errors: FieldErrors,
    listing: Listing<'a>,
    legend: Vec<AlertKind>,
    within: WithinNormal,
    /// Every alert of the evaluation, whatever the filter.
    all: usize,
    pager: Vec<PageLink>,
    kinds: [AlertKind; AlertKind::ALL.len()],
    /// What the alerts that explain the listed ones are (kind and main object), by id.
    related: Vec<(String, String)>,
}

impl ListPage<'_> {
    fn href(&self, o: &ObjectRef) -> Option<String> {
        object_href(o)
    }
    /// This very page, for the card forms to come back to.
    fn here(&self) -> String {
        alerts_href(&self.query, self.listing.page)
    }
    fn related_label(&self, id: &str) -> Option<&str> {
        self.related
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, label)| label.as_str())
    }
    /// This listing sorted by `sort`, from its first page.
    fn sort_href(&self, sort: &str) -> String {
        let sort = match sort {
            "newest" => Sort::Newest,
            "oldest" => Sort::Oldest,
            _ => Sort::Impact,
        };
        alerts_href(
            &AlertQuery {
                sort,
                ..self.query.clone()
            },
            1,
        )
    }
    fn sorted_by(&self, sort: &str) -> bool {
        matches!(
            (sort, self.query.sort),
            ("impact", Sort::Impact) | ("newest", Sort::Newest) | ("oldest", Sort::Oldest)
        )
    }
    /// This listing with another state filter, from its first page.
    fn state_href(&self, state: &str) -> String {
        let state = match state {
            "silenced" => StateFilter::Silenced,
            "all" => StateFilter::All,
            _ => StateFilter::Active,
        };
        alerts_href(
            &AlertQuery {
                state,
                ..self.query.clone()
            },
            1,
        )
    }
    fn first_page_href(&self) -> String {
        alerts_href(&self.query, 1)
    }
    /// Whether any filter narrows the list (the state filter's default aside).
    fn filtered(&self) -> bool {
        let q = &self.query;
        q.kind.is_some()
            || q.severity.is_some()
            || !q.server.is_empty()
            || !q.pool.is_empty()
            || !q.tenant.is_empty()
            || !q.id.is_empty()
            || q.state != StateFilter::Active
    }
    /// The sort parameters the filter form keeps, when not the default.
    fn sort_param(&self) -> Option<(&'static str, &'static str)> {
        (self.query.sort != Sort::Impact).then(|| self.query.sort.params())
    }
}

async fn list_page(
    State(st): State<AppState>,
    ctx: PageCtx,
    seen: Seen,
    Query(raw): Query<RawAlertQuery>,
) -> Result<Response> {
    let (query, errors) = match raw.parse() {
        Ok(query) if query.per_page > PAGE_MAX_PER_PAGE => (
            AlertQuery::default(),
            FieldErrors::single(
                "per_page",
                format!(
                    "the page shows at most {PAGE_MAX_PER_PAGE} alerts at a time (the API up to {})",
                    crate::domain::alerts::listing::MAX_PER_PAGE
                ),
            ),
        ),
        Ok(query) => (query, FieldErrors::default()),
        Err(errors) => (AlertQuery::default(), errors),
    };
    if !errors.is_empty() {
        let listing = list(&[], &Untracked, &query);
        let page = ListPage {
            ctx,
            raw,
            query,
            errors,
            listing,
            legend: Vec::new(),
            within: WithinNormal::default(),
            all: 0,
            pager: Vec::new(),
            kinds: AlertKind::ALL,
            related: Vec::new(),
        };
        return Ok(render_page(StatusCode::BAD_REQUEST, &page));
    }
    let book = alerts(&st.app, seen).await?;
    let states = alert_states(&st, None, seen).await?;
    let listing = list_ranked(&book.alerts, states.as_ref(), &query);
    let pager = pager(listing.page, listing.pages(), |p| alerts_href(&query, p));
    let related = related_labels(&book.alerts, &listing);
    Ok(page(&ListPage {
        ctx,
        raw,
        related,
        legend: legend(&listing.rows),
        within: book.within_normal,
        all: book.alerts.len(),
        pager,
        listing,
        query,
        errors,
        kinds: AlertKind::ALL,
    }))
}

/// "Stale registration snapshot: server voip1" for each alert that explains a listed one.
fn related_labels(all: &[Alert], listing: &Listing<'_>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for id in listing.rows.iter().flat_map(|r| r.alert.related.iter()) {
        if out.iter().any(|(i, _)| i == id) {
            continue;
        }
        if let Some(cause) = all.iter().find(|a| &a.id == id) {
            let object = &cause.objects[0];
            out.push((
                id.clone(),
                format!("{}: {} {}", cause.kind.label(), object.kind, object.name),
            ));
        }
    }
    out
}

/// One alert as the API lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct AlertRow {
    /// Stable while the problem lasts (16 hex digits).
    id: String,
    kind: AlertKind,
    severity: Severity,
    /// Phones the problem affects.
    impact_phones: u64,
    /// Unix seconds since which it has been raised; null when unknown.
    since: Option<i64>,
    state: StateName,
    /// The silence covering it, if any.
    silence: Option<SilenceNote>,
    /// Its acknowledgement, if any.
    ack: Option<AckNote>,
    /// The objects it concerns, the main one first.
    objects: Vec<ObjectRef>,
    /// The aspects it gathers, worst first.
    facets: Vec<Facet>,
    /// Ids of the alerts that explain it (its pool's configuration, a home server that stopped
    /// reporting).
    related: Vec<String>,
    summary: String,
    why: String,
    action: String,
}

/// One page of alerts: the same envelope as `GET /api/v1/tenants`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct AlertPage {
    rows: Vec<AlertRow>,
    /// Alerts matching the filter, on every page.
    total: u64,
    page: u32,
    per_page: u32,
}

async fn api_list(
    State(st): State<AppState>,
    seen: Seen,
    ApiQuery(raw): ApiQuery<RawAlertQuery>,
) -> Result<Json<AlertPage>, ApiError> {
    let query = raw.parse().map_err(Error::Invalid)?;
    let book = alerts(&st.app, seen).await?;
    let states = alert_states(&st, None, seen).await?;
    let listing = list_ranked(&book.alerts, states.as_ref(), &query);
    Ok(Json(AlertPage {
        total: listing.total as u64,
        page: listing.page,
        per_page: listing.per_page,
        rows: listing.rows.into_iter().map(AlertRow::from).collect(),
    }))
}

impl From<Listed<'_>> for AlertRow {
    fn from(row: Listed<'_>) -> Self {
        let a = row.alert;
        AlertRow {
            id: a.id.clone(),
            kind: a.kind,
            severity: a.severity,
            impact_phones: a.impact_phones,
            since: row.state.since,
            state: row.state.name(),
            silence: row.state.silence,
            ack: row.state.ack,
            objects: a.objects.clone(),
            facets: a.facets.clone(),
            related: a.related.clone(),
            summary: a.summary.clone(),
            why: a.why.clone(),
            action: a.action.clone(),
        }
    }
}

/// A page of one row, every optional field filled, for the test that holds the OpenAPI schemas
/// to the serialised fields.
#[cfg(test)]
pub(super) fn example_page() -> (AlertPage, AlertRow) {
    use crate::domain::alerts::listing::AlertState;
    let alert = crate::domain::alerts::Alert {
        id: "00112233aabbccdd".into(),
        kind: AlertKind::TenantSplit,
        severity: Severity::Warning,
        impact_phones: 3,
        facets: vec![],
        related: vec!["8899aabbccddeeff".into()],
        summary: "s".into(),
        why: "w".into(),
        action: "a".into(),
        objects: vec![ObjectRef::tenant("ACME")],
    };
    let state = AlertState {
        silence: Some(SilenceNote {
            until: 2,
            by: "admin".into(),
            reason: "r".into(),
        }),
        ack: Some(AckNote {
            at: 1,
            by: "admin".into(),
            note: "n".into(),
        }),
        since: Some(0),
    };
    let row = || {
        AlertRow::from(Listed {
            alert: &alert,
            state: state.clone(),
        })
    };
    (
        AlertPage {
            rows: vec![row()],
            total: 1,
            page: 1,
            per_page: 50,
        },
        row(),
    )
}

/// The overview's headline: the first `n` alerts by impact, silenced ones left out (its
/// `counts` are those of every alert but the silenced ones).
pub(super) fn headline<'a>(
    alerts: &'a [crate::domain::alerts::Alert],
    states: &dyn AlertStates,
    n: u32,
) -> Listing<'a> {
    list(
        alerts,
        states,
        &AlertQuery {
            per_page: n,
            ..AlertQuery::default()
        },
    )
}

/// Links by kind and name, from before pages were addressed by name: kept for links already
/// shared, they redirect to the page ([`super::named`] answers an unknown name there).
async fn go(Path((kind, name)): Path<(String, String)>) -> Result<Response> {
    let to = match kind.as_str() {
        "server" => super::named::server_href(&name),
        "pool" => super::named::pool_href(&name),
        "tenant" => super::named::tenant_href(&name),
        _ => return Err(Error::NotFound(format!("nothing of kind {kind:?} to show"))),
    };
    Ok(Redirect::to(&to).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alerts::Alert;
    use crate::domain::alerts::listing::{AlertState, StateName};

    /// An alert as large as the rules make them: a long summary, four facets, a tenant, its
    /// pool and four servers, why and action texts of its own.
    fn big_alert(i: usize) -> Alert {
        let tenant = format!("TENANTCODE{i:05}");
        let servers: Vec<String> = (0..4).map(|s| format!("voip{}", i % 40 + s)).collect();
        let mut objects = vec![
            ObjectRef::tenant(&tenant),
            ObjectRef::pool(format!("pbx{i}a")),
        ];
        objects.extend(servers.iter().map(ObjectRef::server));
        Alert {
            id: format!("{i:016x}"),
            kind: AlertKind::ALL[i % AlertKind::ALL.len()],
            severity: Severity::Critical,
            impact_phones: 180,
            facets: (0..4)
                .map(|f| Facet {
                    kind: AlertKind::ALL[f],
                    severity: Severity::Warning,
                    summary: format!(
                        "{} of 180 phones (33.3%) are away from its home servers {}, on {} and {}.",
                        60 + f,
                        servers[0],
                        servers[1],
                        servers[2]
                    ),
                    phones: 60,
                })
                .collect(),
            related: vec![format!("{:016x}", i + 1000), format!("{:016x}", i + 2000)],
            summary: format!(
                "Tenant {tenant} is split: 120 of 180 phones (66.7%) are away from its home server {}, on {}, {} and {}.",
                servers[0], servers[1], servers[2], servers[3]
            ),
            why: format!(
                "Transfers between the tenant's phones fail when the calls sit on different servers, \
                 and every call between them is routed from server to server, adding load. Most of \
                 the tenant is away from {}: it may be unreachable from the tenant's site ({i}).",
                servers[0]
            ),
            action: format!(
                "Check that {} is up and reachable from the tenant's site; then check the SRV pool \
                 setting of the phones on {} or re-register them ({i}).",
                servers[0], servers[1]
            ),
            objects,
        }
    }

    /// Every state line a card can show: silenced and acknowledged, with a start.
    struct Noisy;
    impl AlertStates for Noisy {
        fn state(&self, a: &Alert) -> AlertState {
            AlertState {
                silence: Some(SilenceNote {
                    until: 1_800_000_000,
                    by: "administrator".into(),
                    reason: format!("maintenance window of {} tonight", a.id),
                }),
                ack: Some(AckNote {
                    at: 1_700_000_000,
                    by: "administrator".into(),
                    note: "looking into it with the customer's IT".into(),
                }),
                since: Some(1_700_000_000),
            }
        }
    }

    fn render(states: &dyn AlertStates) -> String {
        let alerts: Vec<Alert> = (0..500).map(big_alert).collect();
        let query = AlertQuery {
            state: StateFilter::All,
            ..AlertQuery::default()
        };
        let listing = list(&alerts, states, &query);
        let page = ListPage {
            ctx: PageCtx {
                flash: None,
                section: "alerts".into(),
                user: Some("administrator".into()),
                can_write: true,
                csrf: "f".repeat(64),
                tz: jiff::tz::TimeZone::UTC,
            },
            raw: RawAlertQuery::default(),
            pager: pager(listing.page, listing.pages(), |p| alerts_href(&query, p)),
            legend: legend(&listing.rows),
            within: WithinNormal::default(),
            all: alerts.len(),
            listing,
            query,
            errors: FieldErrors::default(),
            kinds: AlertKind::ALL,
            related: Vec::new(),
        };
        page.render().unwrap()
    }

    /// The page's budget (150 KB of HTML, BENCHMARKS.md) holds for 50 of the largest cards an
    /// admin can be shown, each with texts of its own in the legend.
    #[test]
    fn fifty_of_the_largest_cards_stay_within_the_page_budget() {
        for (states, label) in [
            (&Untracked as &dyn AlertStates, "active"),
            (&Noisy as &dyn AlertStates, "silenced and acknowledged"),
        ] {
            let html = render(states);
            assert_eq!(html.matches("<li class=\"alert ").count(), 50, "{label}");
            assert!(html.len() <= 150 * 1024, "{label}: {} bytes", html.len());
        }
        let noisy = render(&Noisy);
        assert!(noisy.contains("maintenance window of"));
        assert!(noisy.contains("looking into it"));
        assert_eq!(Noisy.state(&big_alert(1)).name(), StateName::Silenced);
    }

    #[test]
    fn links_keep_the_filter_and_leave_defaults_out() {
        let query = RawAlertQuery {
            kind: "tenant_split".into(),
            severity: "warning".into(),
            pool: "wiki pool".into(),
            state: "all".into(),
            sort: "age".into(),
            dir: "asc".into(),
            per_page: "20".into(),
            ..RawAlertQuery::default()
        }
        .parse()
        .unwrap();
        assert_eq!(
            alerts_href(&query, 3),
            "/alerts?kind=tenant_split&severity=warning&pool=wiki%20pool&state=all&sort=age&dir=asc&per_page=20&page=3"
        );
        assert_eq!(alerts_href(&AlertQuery::default(), 1), "/alerts");
        assert_eq!(alerts_href(&AlertQuery::default(), 2), "/alerts?page=2");
        // A link parses back to the query it was made from.
        let back: RawAlertQuery =
            serde_urlencoded::from_str(alerts_href(&query, 3).trim_start_matches("/alerts?"))
                .unwrap();
        assert_eq!(
            back.parse().unwrap(),
            AlertQuery {
                page: 3,
                ..query.clone()
            }
        );
        assert_eq!(alert_href("00ff"), "/alerts?id=00ff&state=all");
    }
}
