//! One page of alerts, as the Alerts page, its API, the overview's headline and `/metrics` show
//! them: filtered (kind, severity, server, pool, tenant, state, one id), ranked (by impact or by
//! age) and cut into pages, with the counts of what the filter kept.
//!
//! Whether an alert is silenced or acknowledged, and since when it has been raised, is not a
//! property of the evaluation but of the alert log; the caller passes it in through
//! [`AlertStates`] ([`Untracked`] when there is no log: everything active, no start known).
//! Pure: no clock, no I/O.

use serde::Serialize;
use std::cmp::Ordering;

use super::{Alert, AlertCounts, AlertKind, ObjectKind, same_name};
use crate::domain::FieldErrors;
use crate::domain::srv::Severity;

/// Alerts per page unless asked otherwise.
pub const DEFAULT_PER_PAGE: u32 = 50;
/// The most alerts one page may hold.
pub const MAX_PER_PAGE: u32 = 200;

/// A silence that covers an alert, as the card and the API row show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SilenceNote {
    /// Unix seconds when it ends.
    pub until: i64,
    pub by: String,
    pub reason: String,
}

/// An acknowledgement of an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AckNote {
    /// Unix seconds.
    pub at: i64,
    pub by: String,
    pub note: String,
}

/// What the alert log knows about one alert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertState {
    pub silence: Option<SilenceNote>,
    pub ack: Option<AckNote>,
    /// Unix seconds since which the alert has been raised; `None` when unknown.
    pub since: Option<i64>,
}

/// The state an alert is in, as one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StateName {
    Active,
    Silenced,
    Acknowledged,
}

impl AlertState {
    pub fn is_silenced(&self) -> bool {
        self.silence.is_some()
    }

    /// Silenced wins over acknowledged: a silenced alert is out of the default view either way.
    pub fn name(&self) -> StateName {
        if self.silence.is_some() {
            StateName::Silenced
        } else if self.ack.is_some() {
            StateName::Acknowledged
        } else {
            StateName::Active
        }
    }
}

/// Where the state of each alert comes from: the alert log (silences, acknowledgements,
/// transitions).
pub trait AlertStates {
    fn state(&self, alert: &Alert) -> AlertState;
    /// Whether the alert is silenced: all a listing needs of the alerts off its page (at
    /// 10,000 alerts a whole state each, acknowledgement and start included, was a third of
    /// `/alerts`' time).
    fn is_silenced(&self, alert: &Alert) -> bool {
        self.state(alert).is_silenced()
    }
    /// Since when the alert is raised: what an age sort needs of every alert it sorts.
    fn since(&self, alert: &Alert) -> Option<i64> {
        self.state(alert).since
    }
}

/// No alert log: every alert active, unacknowledged, its start unknown.
#[derive(Debug, Clone, Copy, Default)]
pub struct Untracked;

impl AlertStates for Untracked {
    fn state(&self, _: &Alert) -> AlertState {
        AlertState::default()
    }
}

/// Which alerts by their state: the default view leaves silenced ones out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StateFilter {
    /// Not silenced (acknowledged ones included).
    #[default]
    Active,
    Silenced,
    All,
}

impl StateFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            StateFilter::Active => "active",
            StateFilter::Silenced => "silenced",
            StateFilter::All => "all",
        }
    }

    fn keeps(self, silenced: bool) -> bool {
        match self {
            StateFilter::Active => !silenced,
            StateFilter::Silenced => silenced,
            StateFilter::All => true,
        }
    }
}

/// How a listing is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    /// Severity (worst first), then phones affected (most first), then kind, then the first
    /// object's name.
    #[default]
    Impact,
    /// Newest first (latest `since` first), alerts of unknown start last, ties by impact.
    Newest,
    /// Oldest first, alerts of unknown start last, ties by impact.
    Oldest,
}

impl Sort {
    /// The `sort` and `dir` parameters that ask for it (`dir` empty for the default).
    pub fn params(self) -> (&'static str, &'static str) {
        match self {
            Sort::Impact => ("impact", ""),
            Sort::Newest => ("age", "desc"),
            Sort::Oldest => ("age", "asc"),
        }
    }
}

/// What to list: every field optional, as the query string gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertQuery {
    pub kind: Option<AlertKind>,
    /// That severity or worse.
    pub severity: Option<Severity>,
    /// Names compared ignoring ASCII case; empty means any.
    pub server: String,
    pub pool: String,
    pub tenant: String,
    pub state: StateFilter,
    /// One alert by its id.
    pub id: String,
    pub sort: Sort,
    /// From 1.
    pub page: u32,
    pub per_page: u32,
}

impl Default for AlertQuery {
    fn default() -> Self {
        Self {
            kind: None,
            severity: None,
            server: String::new(),
            pool: String::new(),
            tenant: String::new(),
            state: StateFilter::default(),
            id: String::new(),
            sort: Sort::default(),
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

/// The query parameters as sent (absent ones empty), before they are checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct RawAlertQuery {
    pub kind: String,
    pub severity: String,
    pub server: String,
    pub pool: String,
    pub tenant: String,
    pub state: String,
    pub id: String,
    pub sort: String,
    pub dir: String,
    pub page: String,
    pub per_page: String,
}

impl RawAlertQuery {
    /// The checked query, or every problem keyed by its parameter's name.
    pub fn parse(&self) -> Result<AlertQuery, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut q = AlertQuery::default();
        let kind = self.kind.trim();
        if !kind.is_empty() {
            q.kind = errors.check("kind", kind.parse().map_err(|e| format!("{e}")));
        }
        q.severity = match self.severity.trim() {
            "" => None,
            s => errors.check(
                "severity",
                match s.to_ascii_lowercase().as_str() {
                    "info" => Ok(Severity::Info),
                    "warning" => Ok(Severity::Warning),
                    "critical" => Ok(Severity::Critical),
                    _ => Err(format!(
                        "unknown severity {s:?}: use info, warning or critical"
                    )),
                },
            ),
        };
        q.server = self.server.trim().to_string();
        q.pool = self.pool.trim().to_string();
        q.tenant = self.tenant.trim().to_string();
        q.id = self.id.trim().to_string();
        q.state = match self.state.trim().to_ascii_lowercase().as_str() {
            "" | "active" => StateFilter::Active,
            "silenced" => StateFilter::Silenced,
            "all" => StateFilter::All,
            other => {
                errors.add(
                    "state",
                    format!("unknown state {other:?}: use active, silenced or all"),
                );
                StateFilter::Active
            }
        };
        let dir = self.dir.trim().to_ascii_lowercase();
        if !matches!(dir.as_str(), "" | "asc" | "desc") {
            errors.add(
                "dir",
                format!("unknown direction {:?}: use asc or desc", self.dir.trim()),
            );
        }
        q.sort = match self.sort.trim().to_ascii_lowercase().as_str() {
            "" | "impact" => Sort::Impact,
            "age" if dir == "asc" => Sort::Oldest,
            "age" => Sort::Newest,
            _ => {
                errors.add(
                    "sort",
                    format!("unknown sort {:?}: use impact or age", self.sort.trim()),
                );
                Sort::Impact
            }
        };
        q.page = number(&mut errors, "page", &self.page, 1, u32::MAX).unwrap_or(1);
        q.per_page = number(&mut errors, "per_page", &self.per_page, 1, MAX_PER_PAGE)
            .unwrap_or(DEFAULT_PER_PAGE);
        errors.finish().map(|()| q)
    }
}

/// A whole number in `lo..=hi`, or `None` when the parameter is absent or wrong (the wrong
/// value recorded in `errors`).
fn number(errors: &mut FieldErrors, field: &str, raw: &str, lo: u32, hi: u32) -> Option<u32> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let range = if hi == u32::MAX {
        format!("a whole number, at least {lo}")
    } else {
        format!("a whole number from {lo} to {hi}")
    };
    match raw.parse::<u64>() {
        Ok(n) if n >= u64::from(lo) && n <= u64::from(hi) => Some(n as u32),
        _ => {
            errors.add(field, format!("{raw:?} is not {range}"));
            None
        }
    }
}

impl AlertQuery {
    /// Whether `alert` passes every filter but the state one.
    pub fn matches(&self, alert: &Alert) -> bool {
        self.kind
            .is_none_or(|k| alert.kind == k || alert.facets.iter().any(|f| f.kind == k))
            && self.severity.is_none_or(|s| alert.severity >= s)
            && (self.server.is_empty() || alert.concerns(ObjectKind::Server, &self.server))
            && (self.pool.is_empty() || alert.concerns(ObjectKind::Pool, &self.pool))
            && (self.tenant.is_empty() || alert.concerns(ObjectKind::Tenant, &self.tenant))
            && (self.id.is_empty() || same_name(&alert.id, &self.id))
    }
}

/// One listed alert and its state.
#[derive(Debug, Clone)]
pub struct Listed<'a> {
    pub alert: &'a Alert,
    pub state: AlertState,
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Listing<'a> {
    pub rows: Vec<Listed<'a>>,
    /// Alerts the whole filter kept (every page).
    pub total: usize,
    pub page: u32,
    pub per_page: u32,
    /// Per severity, of the alerts the whole filter kept.
    pub counts: AlertCounts,
    /// Silenced alerts among those the filter kept but for its state (so the default view can
    /// say how many it leaves out).
    pub silenced: usize,
}

impl Listing<'_> {
    /// The number of pages (at least 1).
    pub fn pages(&self) -> u32 {
        (self.total.div_ceil(self.per_page.max(1) as usize)).max(1) as u32
    }
}

pub use super::impact_order;

/// Age order: known starts before unknown ones, newest or oldest first, ties by impact.
fn age_order(newest_first: bool, a: (&Alert, Option<i64>), b: (&Alert, Option<i64>)) -> Ordering {
    let by_time = match (a.1, b.1) {
        (Some(x), Some(y)) if newest_first => y.cmp(&x),
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_time.then_with(|| impact_order(a.0, b.0))
}

/// The page `query` asks for of `alerts`, in any order, with each row's state from `states`.
pub fn list<'a>(alerts: &'a [Alert], states: &dyn AlertStates, query: &AlertQuery) -> Listing<'a> {
    listing(alerts, states, query, false)
}

/// [`list`] of alerts already in impact order, as [`super::AlertBook`] keeps them (its
/// evaluation sorts them, and whoever adds alerts sorts again): the impact ranking then needs
/// no sort and no check. At 10,000 alerts the check alone was a quarter of `/alerts`' time, as
/// alerts of one kind, severity and impact are told apart by their objects' names.
pub fn list_ranked<'a>(
    alerts: &'a [Alert],
    states: &dyn AlertStates,
    query: &AlertQuery,
) -> Listing<'a> {
    debug_assert!(
        alerts.is_sorted_by(|a, b| impact_order(a, b) != Ordering::Greater),
        "list_ranked: the alerts are not in impact order"
    );
    listing(alerts, states, query, true)
}

/// Cost: one pass over `alerts` (whether each is silenced), a sort of what the filter kept
/// (none when `ranked` and sorted by impact), and the whole state of one page's rows.
fn listing<'a>(
    alerts: &'a [Alert],
    states: &dyn AlertStates,
    query: &AlertQuery,
    ranked: bool,
) -> Listing<'a> {
    let mut kept: Vec<&'a Alert> = Vec::new();
    let mut silenced = 0;
    let mut counts = AlertCounts::default();
    for alert in alerts.iter().filter(|a| query.matches(a)) {
        let is_silenced = states.is_silenced(alert);
        if is_silenced {
            silenced += 1;
        }
        if !query.state.keeps(is_silenced) {
            continue;
        }
        match alert.severity {
            Severity::Critical => counts.critical += 1,
            Severity::Warning => counts.warning += 1,
            Severity::Info => counts.info += 1,
        }
        kept.push(alert);
    }
    match query.sort {
        Sort::Impact => {
            if !ranked {
                kept.sort_by(|a, b| impact_order(a, b));
            }
        }
        Sort::Newest | Sort::Oldest => {
            let newest = query.sort == Sort::Newest;
            let mut timed: Vec<(&'a Alert, Option<i64>)> =
                kept.iter().map(|a| (*a, states.since(a))).collect();
            timed.sort_by(|a, b| age_order(newest, *a, *b));
            kept = timed.into_iter().map(|(a, _)| a).collect();
        }
    }
    let per_page = query.per_page.clamp(1, MAX_PER_PAGE);
    let page = query.page.max(1);
    let total = kept.len();
    let start = (page as usize - 1).saturating_mul(per_page as usize);
    let rows = kept
        .into_iter()
        .skip(start)
        .take(per_page as usize)
        .map(|alert| Listed {
            alert,
            state: states.state(alert),
        })
        .collect();
    Listing {
        rows,
        total,
        page,
        per_page,
        counts,
        silenced,
    }
}

/// The kinds the listed alerts and their facets are of, each once, in the order they first
/// appear: the legend explains each ([`AlertKind::explanation`], [`AlertKind::advice`]) once
/// instead of on every card.
pub fn legend(rows: &[Listed<'_>]) -> Vec<AlertKind> {
    let mut out: Vec<AlertKind> = Vec::new();
    for row in rows {
        let a = row.alert;
        for kind in std::iter::once(a.kind).chain(a.facets.iter().map(|f| f.kind)) {
            if !out.contains(&kind) {
                out.push(kind);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Facet, ObjectRef};
    use super::*;
    use std::collections::HashMap;

    fn alert(
        id: &str,
        kind: AlertKind,
        severity: Severity,
        phones: u64,
        objects: &[ObjectRef],
    ) -> Alert {
        Alert {
            id: id.to_string(),
            kind,
            severity,
            impact_phones: phones,
            facets: Vec::new(),
            related: Vec::new(),
            summary: format!("{id} summary"),
            why: format!("why {kind}"),
            action: format!("do {kind}"),
            objects: objects.to_vec(),
        }
    }

    fn tenant(code: &str, pool: &str, servers: &[&str]) -> Vec<ObjectRef> {
        let mut o = vec![ObjectRef::tenant(code), ObjectRef::pool(pool)];
        o.extend(servers.iter().map(|s| ObjectRef::server(*s)));
        o
    }

    /// Hand-made states: silenced and acknowledged ids, and known starts.
    #[derive(Default)]
    struct Log {
        silenced: Vec<&'static str>,
        acked: Vec<&'static str>,
        since: HashMap<&'static str, i64>,
    }

    impl AlertStates for Log {
        fn state(&self, a: &Alert) -> AlertState {
            AlertState {
                silence: self.silenced.contains(&a.id.as_str()).then(|| SilenceNote {
                    until: 2_000,
                    by: "admin".into(),
                    reason: "maintenance".into(),
                }),
                ack: self.acked.contains(&a.id.as_str()).then(|| AckNote {
                    at: 1_000,
                    by: "admin".into(),
                    note: "on it".into(),
                }),
                since: self.since.get(a.id.as_str()).copied(),
            }
        }
    }

    fn ids(l: &Listing<'_>) -> Vec<String> {
        l.rows.iter().map(|r| r.alert.id.clone()).collect()
    }

    fn sample() -> Vec<Alert> {
        vec![
            alert(
                "split3",
                AlertKind::TenantSplit,
                Severity::Warning,
                3,
                &tenant("ACME", "pbxA", &["voip1", "voip2"]),
            ),
            alert(
                "n1big",
                AlertKind::CapacityN1,
                Severity::Critical,
                900,
                &[ObjectRef::server("voip2"), ObjectRef::server("voip1")],
            ),
            alert(
                "stale",
                AlertKind::StaleSnapshot,
                Severity::Warning,
                0,
                &[ObjectRef::server("voip3")],
            ),
            alert(
                "n1small",
                AlertKind::CapacityN1,
                Severity::Critical,
                120,
                &[ObjectRef::server("voip4")],
            ),
            alert(
                "split40",
                AlertKind::TenantSplit,
                Severity::Warning,
                40,
                &tenant("ZETA", "pbxB", &["voip2", "voip1"]),
            ),
            alert(
                "nopool",
                AlertKind::TenantNoPool,
                Severity::Info,
                5,
                &[ObjectRef::tenant("DELTA")],
            ),
        ]
    }

    #[test]
    fn impact_ranks_severity_then_phones_then_kind_then_name() {
        let all = sample();
        let l = list(&all, &Untracked, &AlertQuery::default());
        assert_eq!(
            ids(&l),
            ["n1big", "n1small", "split40", "split3", "stale", "nopool"]
        );
        // An N−1 overload of hundreds of phones before a 3-phone split, whatever the input order.
        let mut reversed = all.clone();
        reversed.reverse();
        assert_eq!(
            ids(&list(&reversed, &Untracked, &AlertQuery::default())),
            ids(&l)
        );
        // Equal severity and phones: the kind, then the first object's name decide.
        let tie = vec![
            alert(
                "b",
                AlertKind::StaleSnapshot,
                Severity::Warning,
                7,
                &[ObjectRef::server("voip9")],
            ),
            alert(
                "c",
                AlertKind::TenantSplit,
                Severity::Warning,
                7,
                &[ObjectRef::tenant("zz")],
            ),
            alert(
                "a",
                AlertKind::TenantSplit,
                Severity::Warning,
                7,
                &[ObjectRef::tenant("AA")],
            ),
        ];
        assert_eq!(
            ids(&list(&tie, &Untracked, &AlertQuery::default())),
            ["a", "c", "b"]
        );
    }

    /// [`Log`] counting the whole states it hands out.
    struct Counted<'a>(&'a Log, std::cell::Cell<usize>);

    impl AlertStates for Counted<'_> {
        fn state(&self, a: &Alert) -> AlertState {
            self.1.set(self.1.get() + 1);
            self.0.state(a)
        }
        fn is_silenced(&self, a: &Alert) -> bool {
            self.0.silenced.contains(&a.id.as_str())
        }
        fn since(&self, a: &Alert) -> Option<i64> {
            self.0.since.get(a.id.as_str()).copied()
        }
    }

    #[test]
    fn a_ranked_listing_equals_the_sorted_one_and_reads_whole_states_for_its_page_only() {
        let mut all: Vec<Alert> = (0..120)
            .map(|i| {
                alert(
                    &format!("a{i:03}"),
                    AlertKind::TenantSplit,
                    Severity::Warning,
                    (i % 7) as u64,
                    &[ObjectRef::tenant(format!("T{:03}", (i * 37) % 120))],
                )
            })
            .collect();
        let log = Log {
            silenced: vec!["a003", "a010", "a077"],
            acked: vec!["a004"],
            since: (0..120)
                .filter(|i| i % 3 != 0)
                .map(|i| (&*format!("a{i:03}").leak(), 1_000 + (i * 13 % 50) as i64))
                .collect(),
        };
        let shuffled = all.clone();
        crate::domain::alerts::sort(&mut all);
        for sort in [Sort::Impact, Sort::Newest, Sort::Oldest] {
            for state in [StateFilter::Active, StateFilter::Silenced, StateFilter::All] {
                for page in 1..=3 {
                    let query = AlertQuery {
                        sort,
                        state,
                        page,
                        per_page: 50,
                        ..AlertQuery::default()
                    };
                    let counted = Counted(&log, std::cell::Cell::new(0));
                    let ranked = list_ranked(&all, &counted, &query);
                    let sorted = list(&shuffled, &log, &query);
                    let what = format!("{sort:?} {state:?} page {page}");
                    assert_eq!(ids(&ranked), ids(&sorted), "{what}");
                    assert_eq!(
                        (ranked.total, ranked.silenced, ranked.counts.warning),
                        (sorted.total, sorted.silenced, sorted.counts.warning),
                        "{what}"
                    );
                    let states: Vec<_> = ranked.rows.iter().map(|r| r.state.name()).collect();
                    let expected: Vec<_> = sorted.rows.iter().map(|r| r.state.name()).collect();
                    assert_eq!(states, expected, "{what}");
                    assert_eq!(
                        counted.1.get(),
                        ranked.rows.len(),
                        "{what}: whole states read"
                    );
                }
            }
        }
    }

    #[test]
    fn pages_cut_the_ranking_and_count_the_whole_filter() {
        let all: Vec<Alert> = (0..123)
            .map(|i| {
                alert(
                    &format!("a{i:03}"),
                    AlertKind::TenantSplit,
                    Severity::Warning,
                    1000 - i,
                    &[ObjectRef::tenant(format!("T{i:03}"))],
                )
            })
            .collect();
        let q = |page, per_page| AlertQuery {
            page,
            per_page,
            ..AlertQuery::default()
        };
        let first = list(&all, &Untracked, &q(1, 50));
        assert_eq!((first.total, first.pages(), first.rows.len()), (123, 3, 50));
        assert_eq!(first.rows[0].alert.id, "a000");
        let second = list(&all, &Untracked, &q(2, 50));
        assert_eq!(
            second.rows[0].alert.id, "a050",
            "page 2 goes on where page 1 stopped"
        );
        assert_eq!(second.rows[49].alert.id, "a099");
        let last = list(&all, &Untracked, &q(3, 50));
        assert_eq!(ids(&last).len(), 23);
        let past = list(&all, &Untracked, &q(9, 50));
        assert!(past.rows.is_empty());
        assert_eq!(past.total, 123);
        assert_eq!(first.counts.warning, 123);
        assert_eq!(list(&[], &Untracked, &q(1, 50)).pages(), 1);
    }

    #[test]
    fn filters_by_kind_including_facets_severity_and_objects() {
        let mut all = sample();
        all[0].facets.push(Facet {
            kind: AlertKind::FailbackLag,
            severity: Severity::Warning,
            summary: "2 phones lag".into(),
            phones: 2,
        });
        let with = |f: fn(&mut AlertQuery)| {
            let mut q = AlertQuery::default();
            f(&mut q);
            ids(&list(&all, &Untracked, &q))
        };
        assert_eq!(
            with(|q| q.kind = Some(AlertKind::TenantSplit)),
            ["split40", "split3"]
        );
        assert_eq!(
            with(|q| q.kind = Some(AlertKind::FailbackLag)),
            ["split3"],
            "a facet's kind matches"
        );
        assert_eq!(
            with(|q| q.severity = Some(Severity::Critical)),
            ["n1big", "n1small"]
        );
        assert_eq!(
            with(|q| q.severity = Some(Severity::Warning)).len(),
            5,
            "warning or worse"
        );
        assert_eq!(
            with(|q| q.server = "VOIP1".into()),
            ["n1big", "split40", "split3"]
        );
        assert_eq!(with(|q| q.pool = "pbxb".into()), ["split40"]);
        assert_eq!(with(|q| q.tenant = "acme".into()), ["split3"]);
        assert_eq!(with(|q| q.id = "STALE".into()), ["stale"]);
        assert!(with(|q| q.pool = "nowhere".into()).is_empty());
        let counts = list(&all, &Untracked, &AlertQuery::default()).counts;
        assert_eq!((counts.critical, counts.warning, counts.info), (2, 3, 1));
    }

    #[test]
    fn the_state_filter_follows_the_log() {
        let all = sample();
        let log = Log {
            silenced: vec!["n1big", "nopool"],
            acked: vec!["split3", "nopool"],
            ..Log::default()
        };
        let active = list(&all, &log, &AlertQuery::default());
        assert_eq!(ids(&active), ["n1small", "split40", "split3", "stale"]);
        assert_eq!(active.silenced, 2);
        assert_eq!(
            (active.counts.critical, active.counts.info),
            (1, 0),
            "counts leave silenced alerts out"
        );
        assert_eq!(active.rows[2].state.name(), StateName::Acknowledged);
        let silenced = list(
            &all,
            &log,
            &AlertQuery {
                state: StateFilter::Silenced,
                ..AlertQuery::default()
            },
        );
        assert_eq!(ids(&silenced), ["n1big", "nopool"]);
        assert_eq!(
            silenced.rows[1].state.name(),
            StateName::Silenced,
            "silenced wins over acknowledged"
        );
        let every = list(
            &all,
            &log,
            &AlertQuery {
                state: StateFilter::All,
                ..AlertQuery::default()
            },
        );
        assert_eq!(every.total, 6);
        // The silenced count follows the other filters.
        let critical = list(
            &all,
            &log,
            &AlertQuery {
                severity: Some(Severity::Critical),
                ..AlertQuery::default()
            },
        );
        assert_eq!((critical.total, critical.silenced), (1, 1));
    }

    #[test]
    fn age_sorts_known_starts_either_way_and_unknown_last() {
        let all = sample();
        let log = Log {
            since: HashMap::from([("stale", 300), ("split3", 100), ("nopool", 200)]),
            ..Log::default()
        };
        let newest = list(
            &all,
            &log,
            &AlertQuery {
                sort: Sort::Newest,
                ..AlertQuery::default()
            },
        );
        assert_eq!(
            ids(&newest),
            ["stale", "nopool", "split3", "n1big", "n1small", "split40"]
        );
        let oldest = list(
            &all,
            &log,
            &AlertQuery {
                sort: Sort::Oldest,
                ..AlertQuery::default()
            },
        );
        assert_eq!(
            ids(&oldest),
            ["split3", "nopool", "stale", "n1big", "n1small", "split40"]
        );
    }

    #[test]
    fn parse_names_every_wrong_parameter() {
        let raw = RawAlertQuery {
            kind: "loud".into(),
            severity: "huge".into(),
            state: "gone".into(),
            sort: "size".into(),
            dir: "up".into(),
            page: "0".into(),
            per_page: "500".into(),
            ..RawAlertQuery::default()
        };
        let errors = raw.parse().unwrap_err();
        for field in [
            "kind", "severity", "state", "sort", "dir", "page", "per_page",
        ] {
            assert!(errors.get(field).is_some(), "{field}: {errors:?}");
        }
        assert!(errors.get("per_page").unwrap().contains("1 to 200"));
        assert!(
            RawAlertQuery {
                page: "x".into(),
                ..RawAlertQuery::default()
            }
            .parse()
            .is_err()
        );
        assert!(
            RawAlertQuery {
                per_page: "-1".into(),
                ..RawAlertQuery::default()
            }
            .parse()
            .is_err()
        );

        let q = RawAlertQuery {
            kind: "tenant_split".into(),
            severity: "Warning".into(),
            pool: " pbxA ".into(),
            state: "all".into(),
            sort: "age".into(),
            dir: "asc".into(),
            page: "2".into(),
            per_page: "200".into(),
            ..RawAlertQuery::default()
        }
        .parse()
        .unwrap();
        assert_eq!(q.kind, Some(AlertKind::TenantSplit));
        assert_eq!(q.severity, Some(Severity::Warning));
        assert_eq!(
            (q.pool.as_str(), q.state, q.sort),
            ("pbxA", StateFilter::All, Sort::Oldest)
        );
        assert_eq!((q.page, q.per_page), (2, 200));
        assert_eq!(
            RawAlertQuery::default().parse().unwrap(),
            AlertQuery::default()
        );
        let newest = RawAlertQuery {
            sort: "age".into(),
            ..RawAlertQuery::default()
        }
        .parse()
        .unwrap();
        assert_eq!(newest.sort, Sort::Newest);
    }

    #[test]
    fn the_legend_names_each_kind_once_facets_included() {
        let mut all = sample();
        all.push(alert(
            "split9",
            AlertKind::TenantSplit,
            Severity::Warning,
            9,
            &[ObjectRef::tenant("X")],
        ));
        all.last_mut().unwrap().facets.push(Facet {
            kind: AlertKind::FailbackLag,
            severity: Severity::Warning,
            summary: "2 phones lag".into(),
            phones: 2,
        });
        let l = list(&all, &Untracked, &AlertQuery::default());
        let legend = legend(&l.rows);
        assert_eq!(
            legend,
            [
                AlertKind::CapacityN1,
                AlertKind::TenantSplit,
                AlertKind::FailbackLag,
                AlertKind::StaleSnapshot,
                AlertKind::TenantNoPool
            ]
        );
    }
}
