//! Alert rules: which facts about the cluster are a problem, how bad, and what to do.
//!
//! The store keeps the aggregated facts current as registration snapshots are ingested (phones
//! per server, per tenant and per pool, away phones, moves between servers, the last report of
//! each server); this module owns the judgement. [`evaluate`] turns [`ClusterFacts`] into
//! [`Alert`]s, each saying what is wrong (with numbers), why it matters and what to do, and naming
//! the servers, pools, tenants and endpoints it concerns so the page can link them. Pure: the
//! caller passes `now`, nothing here reads a clock or performs I/O.
//!
//! DNS drift alerts are produced by the DNS check itself; [`AlertKind::DnsDrift`] is listed here
//! so every alert shares one vocabulary, one ordering and one count.

use crate::domain::srv::{PoolLint, Severity};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// How many endpoints an alert lists (and links) as examples; the summary gives the full count.
pub const MAX_EXAMPLES: usize = 5;

/// Thresholds of the alert rules (the Settings page edits them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertSettings {
    /// Share of phones away from home that is still normal. The clustering guide: "It is
    /// perfectly normal to find around 10% of the phones connected to the secondary server due to
    /// normal packet loss."
    pub normal_away_share: f64,
    /// Fraction of a server's capacity above which it gets a capacity warning.
    pub capacity_warning: f64,
    /// A server whose newest snapshot is older than this is stale (4× as old: critical).
    pub stale_after_secs: i64,
    /// A phone that moved between servers at least this many times within the window flaps.
    pub flap_moves: u32,
    pub flap_window_secs: i64,
    /// Phones still away this long after their home server is reporting again lag on failback.
    pub failback_after_secs: i64,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            normal_away_share: 0.10,
            capacity_warning: 0.80,
            stale_after_secs: 900,
            flap_moves: 3,
            flap_window_secs: 3600,
            failback_after_secs: 1800,
        }
    }
}

/// One setting that makes no sense, keyed by its field name for the settings form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingsProblem {
    pub field: &'static str,
    pub message: String,
}

impl AlertSettings {
    /// Every problem with these settings, in field order. [`evaluate`] never fails on bad
    /// settings (it falls back to sane values), but the settings page should refuse them.
    pub fn validate(&self) -> Result<(), Vec<SettingsProblem>> {
        let mut problems = Vec::new();
        let mut problem = |field: &'static str, message: &str| {
            problems.push(SettingsProblem {
                field,
                message: message.to_string(),
            });
        };
        if !(self.normal_away_share.is_finite() && (0.0..1.0).contains(&self.normal_away_share)) {
            problem(
                "normal_away_share",
                "must be a share from 0 up to (not including) 1, e.g. 0.10 for 10%",
            );
        }
        if !(self.capacity_warning.is_finite()
            && self.capacity_warning > 0.0
            && self.capacity_warning <= 1.0)
        {
            problem(
                "capacity_warning",
                "must be a share above 0 and at most 1, e.g. 0.80 for 80% of capacity",
            );
        }
        if self.stale_after_secs <= 0 {
            problem("stale_after_secs", "must be a positive number of seconds");
        }
        if self.flap_moves < 2 {
            problem(
                "flap_moves",
                "must be at least 2: one move is a failover, flapping is moving back and forth",
            );
        }
        if self.flap_window_secs <= 0 {
            problem("flap_window_secs", "must be a positive number of seconds");
        }
        if self.failback_after_secs < 0 {
            problem("failback_after_secs", "must not be negative");
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// The settings [`evaluate`] actually applies: out-of-range values replaced, so that a bad
/// settings row can never make the rules panic or fire on everything.
struct Limits {
    normal_away_share: f64,
    capacity_warning: f64,
    stale_after_secs: i64,
    flap_moves: u32,
    flap_window_secs: i64,
    failback_after_secs: i64,
}

impl Limits {
    fn new(settings: &AlertSettings) -> Self {
        let defaults = AlertSettings::default();
        Self {
            normal_away_share: if settings.normal_away_share.is_finite() {
                settings.normal_away_share.clamp(0.0, 1.0)
            } else {
                defaults.normal_away_share
            },
            capacity_warning: if settings.capacity_warning.is_finite()
                && settings.capacity_warning > 0.0
            {
                settings.capacity_warning.min(1.0)
            } else {
                defaults.capacity_warning
            },
            stale_after_secs: settings.stale_after_secs.max(0),
            flap_moves: settings.flap_moves.max(1),
            flap_window_secs: settings.flap_window_secs.max(0),
            failback_after_secs: settings.failback_after_secs.max(0),
        }
    }
}

/// What the store knows about one server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerFacts {
    pub name: String,
    /// `active`, `maintenance` or `retired`.
    pub state: String,
    pub capacity: Option<u32>,
    /// Unix seconds of its newest registration snapshot.
    pub last_report_at: Option<i64>,
    /// Unix seconds since which it has reported without a gap longer than the stale age (the
    /// start of its current run of reports). `None` when unknown: failback lag is then measured
    /// from when each phone went away.
    #[serde(default)]
    pub reporting_since: Option<i64>,
    /// Phones registered on it now (its newest snapshot).
    pub registered: u64,
    /// Phones projected on it with nothing down.
    pub projected_normal: f64,
    /// The single failure that loads it most: (the server that is down, phones projected here).
    pub worst_n1: Option<(String, f64)>,
}

/// What the store knows about one pool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolFacts {
    pub name: String,
    /// The server with the largest share when nothing is down.
    pub home: Option<String>,
    pub member_servers: Vec<String>,
    /// Phones of the pool's tenants now registered, per server.
    pub phones_by_server: Vec<(String, u64)>,
    pub lint: Vec<PoolLint>,
}

/// What the store knows about one tenant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantFacts {
    pub code: String,
    pub pool: Option<String>,
    /// Its pool's home server.
    pub home: Option<String>,
    /// The member servers of its pool.
    pub pool_servers: Vec<String>,
    pub expected_phones: u32,
    /// Its phones now registered, per server.
    pub phones_by_server: Vec<(String, u64)>,
}

/// A phone that moved between servers within the flapping window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlappingPhone {
    pub endpoint: String,
    pub tenant: Option<String>,
    /// Moves between servers within the window.
    pub moves: u32,
    /// The servers it moved between.
    pub servers: Vec<String>,
}

/// A phone registered on a server other than its tenant's home.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwayPhone {
    pub endpoint: String,
    pub tenant: String,
    /// Where it is registered.
    pub server: String,
    /// Where it should be.
    pub home: String,
    pub user_agent: Option<String>,
    /// Unix seconds since which it has been away from home without a break.
    pub away_since: i64,
}

/// Everything [`evaluate`] looks at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterFacts {
    /// Unix seconds.
    pub now: i64,
    pub servers: Vec<ServerFacts>,
    pub pools: Vec<PoolFacts>,
    pub tenants: Vec<TenantFacts>,
    /// Registrations matching no tenant: (server, endpoint).
    pub unmatched: Vec<(String, String)>,
    pub flapping: Vec<FlappingPhone>,
    pub away: Vec<AwayPhone>,
    /// False until the first snapshot arrives: before that "no phones" alerts are meaningless.
    pub any_registrations: bool,
}

/// What an alert is about. The declaration order is the order alerts of equal severity are
/// listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    TenantSplit,
    PoolDrift,
    OutsidePool,
    Capacity,
    CapacityN1,
    PoolLint,
    TenantNoPool,
    TenantNoPhones,
    Unmatched,
    Flapping,
    FailbackLag,
    StaleSnapshot,
    DnsDrift,
}

impl AlertKind {
    /// Every kind, in listing order (for filters).
    pub const ALL: [AlertKind; 13] = [
        AlertKind::TenantSplit,
        AlertKind::PoolDrift,
        AlertKind::OutsidePool,
        AlertKind::Capacity,
        AlertKind::CapacityN1,
        AlertKind::PoolLint,
        AlertKind::TenantNoPool,
        AlertKind::TenantNoPhones,
        AlertKind::Unmatched,
        AlertKind::Flapping,
        AlertKind::FailbackLag,
        AlertKind::StaleSnapshot,
        AlertKind::DnsDrift,
    ];

    /// The serde name, for URLs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::TenantSplit => "tenant_split",
            AlertKind::PoolDrift => "pool_drift",
            AlertKind::OutsidePool => "outside_pool",
            AlertKind::Capacity => "capacity",
            AlertKind::CapacityN1 => "capacity_n1",
            AlertKind::PoolLint => "pool_lint",
            AlertKind::TenantNoPool => "tenant_no_pool",
            AlertKind::TenantNoPhones => "tenant_no_phones",
            AlertKind::Unmatched => "unmatched",
            AlertKind::Flapping => "flapping",
            AlertKind::FailbackLag => "failback_lag",
            AlertKind::StaleSnapshot => "stale_snapshot",
            AlertKind::DnsDrift => "dns_drift",
        }
    }

    /// A heading for people.
    pub fn label(self) -> &'static str {
        match self {
            AlertKind::TenantSplit => "Split tenant",
            AlertKind::PoolDrift => "Pool drift",
            AlertKind::OutsidePool => "Phones outside their pool",
            AlertKind::Capacity => "Server capacity",
            AlertKind::CapacityN1 => "Capacity after one failure (N−1)",
            AlertKind::PoolLint => "Pool configuration",
            AlertKind::TenantNoPool => "Tenant without a pool",
            AlertKind::TenantNoPhones => "Tenant without phones",
            AlertKind::Unmatched => "Registrations matching no tenant",
            AlertKind::Flapping => "Flapping phones",
            AlertKind::FailbackLag => "Failback lag",
            AlertKind::StaleSnapshot => "Stale registration snapshot",
            AlertKind::DnsDrift => "DNS drift",
        }
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An alert kind name that is not one of [`AlertKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseAlertKindError {
    pub input: String,
}

impl fmt::Display for ParseAlertKindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = AlertKind::ALL.iter().map(|kind| kind.as_str()).collect();
        write!(
            f,
            "unknown alert kind `{}`: expected one of {}",
            self.input,
            known.join(", ")
        )
    }
}

impl std::error::Error for ParseAlertKindError {}

impl FromStr for AlertKind {
    type Err = ParseAlertKindError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        AlertKind::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| ParseAlertKindError {
                input: s.to_string(),
            })
    }
}

/// The kind of object an alert names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    Server,
    Pool,
    Tenant,
    Endpoint,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Server => "server",
            ObjectKind::Pool => "pool",
            ObjectKind::Tenant => "tenant",
            ObjectKind::Endpoint => "endpoint",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An object an alert concerns: a server, pool or tenant by its name or code, an endpoint by its
/// SIP name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    pub kind: ObjectKind,
    pub name: String,
}

impl ObjectRef {
    pub fn server(name: impl Into<String>) -> Self {
        Self::new(ObjectKind::Server, name)
    }
    pub fn pool(name: impl Into<String>) -> Self {
        Self::new(ObjectKind::Pool, name)
    }
    pub fn tenant(code: impl Into<String>) -> Self {
        Self::new(ObjectKind::Tenant, code)
    }
    pub fn endpoint(name: impl Into<String>) -> Self {
        Self::new(ObjectKind::Endpoint, name)
    }
    fn new(kind: ObjectKind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }
}

/// One problem, ready to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub kind: AlertKind,
    pub severity: Severity,
    /// What is wrong, one sentence with numbers.
    pub summary: String,
    /// Why it matters.
    pub why: String,
    /// What to do.
    pub action: String,
    /// The objects it concerns, the main one first; never empty.
    pub objects: Vec<ObjectRef>,
}

impl Alert {
    /// A stable identifier of what the alert is about (kind and objects, not the numbers), for
    /// anchors and for telling whether an alert is still the same one on the next evaluation.
    pub fn key(&self) -> String {
        let mut key = self.kind.as_str().to_string();
        for object in &self.objects {
            key.push(':');
            key.push_str(object.kind.as_str());
            key.push('=');
            key.push_str(&object.name);
        }
        key
    }

    /// Whether the alert names this object (names compared as the store does: ignoring ASCII case).
    pub fn concerns(&self, kind: ObjectKind, name: &str) -> bool {
        self.objects
            .iter()
            .any(|object| object.kind == kind && same_name(&object.name, name))
    }
}

/// Phones on one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerPhones {
    pub server: String,
    pub phones: u64,
}

/// How a tenant's phones are split over servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitStatus {
    /// Registered phones of the tenant.
    pub total: u64,
    /// The server counted as home: the pool's home, or, when the tenant has none, the server
    /// holding most of its phones.
    pub home: String,
    /// True when `home` is not the pool's home but the server holding most of the phones.
    pub home_is_assumed: bool,
    pub home_phones: u64,
    pub away_phones: u64,
    /// `away_phones / total`.
    pub away_share: f64,
    /// Servers holding at least one of its phones.
    pub servers: usize,
    /// The servers other than home holding its phones, most phones first.
    pub away_servers: Vec<ServerPhones>,
    /// More than half of its phones are away from home.
    pub majority_away: bool,
    pub severity: Severity,
}

/// Alerts per severity, for badges and the overview.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertCounts {
    pub critical: usize,
    pub warning: usize,
    pub info: usize,
}

impl AlertCounts {
    pub fn total(&self) -> usize {
        self.critical + self.warning + self.info
    }

    /// The highest severity present, if any alert is.
    pub fn worst(&self) -> Option<Severity> {
        if self.critical > 0 {
            Some(Severity::Critical)
        } else if self.warning > 0 {
            Some(Severity::Warning)
        } else if self.info > 0 {
            Some(Severity::Info)
        } else {
            None
        }
    }
}

/// How many alerts there are of each severity.
pub fn count(alerts: &[Alert]) -> AlertCounts {
    let mut counts = AlertCounts::default();
    for alert in alerts {
        match alert.severity {
            Severity::Critical => counts.critical += 1,
            Severity::Warning => counts.warning += 1,
            Severity::Info => counts.info += 1,
        }
    }
    counts
}

/// How the tenant's phones are split, or `None` when they are not: no phones registered, or
/// all of them on one server (even if that server is not home: a whole tenant on its backup is
/// pool drift or failback lag, not a split).
///
/// Severity: info while the away share is at most the normal share (a few phones on the
/// secondary after packet loss are normal, per the clustering guide), warning above it, critical
/// when the majority of the phones are away from home.
pub fn tenant_split(t: &TenantFacts, settings: &AlertSettings) -> Option<SplitStatus> {
    let limits = Limits::new(settings);
    let by_server = merge_counts(&t.phones_by_server);
    if by_server.len() < 2 {
        return None;
    }
    let total = by_server
        .iter()
        .fold(0u64, |sum, row| sum.saturating_add(row.phones));
    let declared_home = t.home.as_deref().map(str::trim).filter(|h| !h.is_empty());
    let (home, home_is_assumed) = match declared_home {
        Some(home) => (home.to_string(), false),
        // `by_server` is sorted most phones first, and has at least two rows here.
        None => (by_server[0].server.clone(), true),
    };
    let home_phones = phones_on(&by_server, &home);
    let away_phones = total.saturating_sub(home_phones);
    let away_share = share(away_phones, total);
    let majority_away = u128::from(away_phones) * 2 > u128::from(total);
    let severity = if majority_away {
        Severity::Critical
    } else if away_share > limits.normal_away_share {
        Severity::Warning
    } else {
        Severity::Info
    };
    let away_servers = by_server
        .iter()
        .filter(|row| !same_name(&row.server, &home))
        .cloned()
        .collect();
    Some(SplitStatus {
        total,
        home,
        home_is_assumed,
        home_phones,
        away_phones,
        away_share,
        servers: by_server.len(),
        away_servers,
        majority_away,
        severity,
    })
}

/// Every alert the facts call for, most severe first, then by kind, then by the name of the
/// first object (then the other objects and the summary, so the order is total and the same
/// for the same facts whatever order the store listed them in).
pub fn evaluate(facts: &ClusterFacts, settings: &AlertSettings) -> Vec<Alert> {
    let limits = Limits::new(settings);
    let mut alerts = Vec::new();
    for tenant in &facts.tenants {
        tenant_alerts(tenant, facts, settings, &limits, &mut alerts);
    }
    for pool in &facts.pools {
        pool_drift_alert(pool, &limits, &mut alerts);
        pool_lint_alerts(pool, facts, &mut alerts);
    }
    for server in &facts.servers {
        capacity_alerts(server, &limits, &mut alerts);
        stale_alert(server, facts, &limits, &mut alerts);
    }
    unmatched_alerts(&facts.unmatched, &mut alerts);
    flapping_alerts(&facts.flapping, &limits, &mut alerts);
    failback_alerts(facts, &limits, &mut alerts);
    alerts.sort_by(alert_order);
    alerts
}

fn alert_order(a: &Alert, b: &Alert) -> Ordering {
    b.severity
        .cmp(&a.severity)
        .then(a.kind.cmp(&b.kind))
        .then_with(|| {
            let names = |alert: &Alert| {
                alert
                    .objects
                    .iter()
                    .map(|object| (object.name.to_ascii_lowercase(), object.name.clone()))
                    .collect::<Vec<_>>()
            };
            names(a).cmp(&names(b))
        })
        .then_with(|| {
            a.objects
                .iter()
                .map(|o| o.kind)
                .cmp(b.objects.iter().map(|o| o.kind))
        })
        .then_with(|| a.summary.cmp(&b.summary))
        .then_with(|| a.why.cmp(&b.why))
        .then_with(|| a.action.cmp(&b.action))
}

// ---------------------------------------------------------------------------------------------
// Tenants: split, outside the pool, no pool, no phones.

fn tenant_alerts(
    tenant: &TenantFacts,
    facts: &ClusterFacts,
    settings: &AlertSettings,
    limits: &Limits,
    alerts: &mut Vec<Alert>,
) {
    let by_server = merge_counts(&tenant.phones_by_server);
    let registered = by_server
        .iter()
        .fold(0u64, |sum, row| sum.saturating_add(row.phones));
    let pool = tenant
        .pool
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());

    if let Some(split) = tenant_split(tenant, settings) {
        alerts.push(split_alert(tenant, pool, &split, limits));
    }

    match pool {
        Some(pool) => {
            let outside: Vec<ServerPhones> = by_server
                .iter()
                .filter(|row| {
                    !tenant
                        .pool_servers
                        .iter()
                        .any(|m| same_name(m, &row.server))
                })
                .cloned()
                .collect();
            if !outside.is_empty() {
                alerts.push(outside_pool_alert(tenant, pool, &outside));
            }
        }
        None => alerts.push(no_pool_alert(tenant, registered, &by_server)),
    }

    if facts.any_registrations && tenant.expected_phones > 0 && registered == 0 {
        alerts.push(Alert {
            kind: AlertKind::TenantNoPhones,
            severity: Severity::Info,
            summary: format!(
                "Tenant {} expects {} but none is registered on any server.",
                tenant.code,
                phones(u64::from(tenant.expected_phones))
            ),
            why: "Its phones may be switched off, registered on a server that does not report, \
                  or not recognised as this tenant's by the endpoint naming rule."
                .to_string(),
            action: "Check the phones at the tenant's site; if they are registered, look for \
                     them among the registrations matching no tenant and check the \
                     tenant-matching rule in Settings."
                .to_string(),
            objects: vec![ObjectRef::tenant(&tenant.code)],
        });
    }
}

fn split_alert(
    tenant: &TenantFacts,
    pool: Option<&str>,
    split: &SplitStatus,
    limits: &Limits,
) -> Alert {
    let away_list = server_list(&split.away_servers);
    let home_phrase = if split.home_is_assumed {
        format!(
            "{}, the server holding most of them (the tenant has no home server)",
            split.home
        )
    } else {
        format!("its home server {}", split.home)
    };
    let summary = format!(
        "Tenant {} is split: {} of {} ({}) are away from {}, on {}.",
        tenant.code,
        split.away_phones,
        phones(split.total),
        percent(split.away_share),
        home_phrase,
        away_list
    );
    let cost = "Transfers between the tenant's phones fail when the calls sit on different \
                servers, and every call between them is routed from server to server, adding \
                load.";
    let why = match split.severity {
        Severity::Info => format!(
            "{cost} Up to {} on the secondary is normal after packet loss, so this is for \
             information.",
            percent(limits.normal_away_share)
        ),
        Severity::Warning => format!(
            "{cost} More than the normal {} is away, so something keeps these phones off {}.",
            percent(limits.normal_away_share),
            split.home
        ),
        Severity::Critical => format!(
            "{cost} Most of the tenant is away from {}: it may be unreachable from the \
             tenant's site.",
            split.home
        ),
    };
    let away_names = names_only(&split.away_servers);
    let action = if split.home_is_assumed {
        format!(
            "Assign the tenant a pool, then re-register the phones on {away_names} so they \
             gather on one server."
        )
    } else if split.severity == Severity::Critical {
        format!(
            "Check that {} is up and reachable from the tenant's site; then check the SRV pool \
             setting of the phones on {away_names} or re-register them.",
            split.home
        )
    } else {
        format!(
            "Check the SRV pool setting and the network of the phones on {away_names}, or \
             re-register them so they return to {}.",
            split.home
        )
    };
    let mut objects = vec![ObjectRef::tenant(&tenant.code)];
    if let Some(pool) = pool {
        objects.push(ObjectRef::pool(pool));
    }
    push_server(&mut objects, &split.home);
    for row in &split.away_servers {
        push_server(&mut objects, &row.server);
    }
    Alert {
        kind: AlertKind::TenantSplit,
        severity: split.severity,
        summary,
        why,
        action,
        objects,
    }
}

fn outside_pool_alert(tenant: &TenantFacts, pool: &str, outside: &[ServerPhones]) -> Alert {
    let count = outside
        .iter()
        .fold(0u64, |sum, row| sum.saturating_add(row.phones));
    let members = if tenant.pool_servers.is_empty() {
        "which has no members".to_string()
    } else {
        format!("members: {}", join_and(&tenant.pool_servers))
    };
    let verb = if count == 1 { "is" } else { "are" };
    let mut objects = vec![ObjectRef::tenant(&tenant.code), ObjectRef::pool(pool)];
    for row in outside {
        push_server(&mut objects, &row.server);
    }
    Alert {
        kind: AlertKind::OutsidePool,
        severity: Severity::Warning,
        summary: format!(
            "{} of tenant {} {verb} registered on {}, outside its pool {pool} ({members}).",
            phones(count),
            tenant.code,
            server_list(outside),
        ),
        why: format!(
            "The SRV records of {pool} never send phones there, so these phones are \
             misconfigured (a wrong SRV name or a hard-coded server address) and will not fail \
             over as planned."
        ),
        action: format!(
            "Set the SIP server of these phones to the SRV name of pool {pool}, not an IP \
             address or another pool's name, and re-register them."
        ),
        objects,
    }
}

fn no_pool_alert(tenant: &TenantFacts, registered: u64, by_server: &[ServerPhones]) -> Alert {
    // No pool and nothing expected or registered is a tenant still being set up.
    let at_risk = tenant.expected_phones > 0 || registered > 0;
    let summary = if !at_risk {
        format!(
            "Tenant {} has no pool and expects no phones yet.",
            tenant.code
        )
    } else if registered == 0 {
        format!(
            "Tenant {} has no pool: {} expected, none registered.",
            tenant.code,
            phones(u64::from(tenant.expected_phones))
        )
    } else {
        format!(
            "Tenant {} has no pool: {} expected, {} registered on {}.",
            tenant.code,
            phones(u64::from(tenant.expected_phones)),
            registered,
            server_list(by_server)
        )
    };
    let why = if at_risk {
        "Without a pool its phones have no SRV name to use, and the tenant is left out of every \
         projection, what-if and rebalance plan."
    } else {
        "It is left out of projections until it is placed; nothing is at risk while it has no \
         phones."
    };
    let mut objects = vec![ObjectRef::tenant(&tenant.code)];
    for row in by_server {
        push_server(&mut objects, &row.server);
    }
    Alert {
        kind: AlertKind::TenantNoPool,
        severity: if at_risk {
            Severity::Warning
        } else {
            Severity::Info
        },
        summary,
        why: why.to_string(),
        action: "Assign it a pool on the tenant page, or with bulk assign on the Tenants page."
            .to_string(),
        objects,
    }
}

// ---------------------------------------------------------------------------------------------
// Pools: drift and lint.

fn pool_drift_alert(pool: &PoolFacts, limits: &Limits, alerts: &mut Vec<Alert>) {
    let Some(home) = pool
        .home
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty())
    else {
        return;
    };
    let by_server = merge_counts(&pool.phones_by_server);
    let total = by_server
        .iter()
        .fold(0u64, |sum, row| sum.saturating_add(row.phones));
    if total == 0 {
        return;
    }
    let away = total.saturating_sub(phones_on(&by_server, home));
    let away_share = share(away, total);
    let severity = if away_share > 0.5 {
        Severity::Critical
    } else if away_share > limits.normal_away_share {
        Severity::Warning
    } else {
        return;
    };
    let away_servers: Vec<ServerPhones> = by_server
        .iter()
        .filter(|row| !same_name(&row.server, home))
        .cloned()
        .collect();
    let why = if severity == Severity::Critical {
        format!(
            "Most of the pool's phones have left {home}: it is probably down, flapping or \
             unreachable for a large part of the network, and the servers holding these phones \
             carry load the plan did not give them."
        )
    } else {
        format!(
            "More than the normal {} has left {home}: it may be flapping or unreachable for part \
             of the network, and the servers holding these phones carry load the plan did not \
             give them.",
            percent(limits.normal_away_share)
        )
    };
    let mut objects = vec![ObjectRef::pool(&pool.name)];
    push_server(&mut objects, home);
    for row in &away_servers {
        push_server(&mut objects, &row.server);
    }
    alerts.push(Alert {
        kind: AlertKind::PoolDrift,
        severity,
        summary: format!(
            "Pool {} is drifting: {away} of {} ({}) are off its home server {home}, on {}.",
            pool.name,
            phones(total),
            percent(away_share),
            server_list(&away_servers)
        ),
        why,
        action: format!(
            "Check that {home} is up and reachable without packet loss from the sites of the \
             pool's split tenants; once it is healthy, re-register the away phones so they \
             return."
        ),
        objects,
    });
}

fn pool_lint_alerts(pool: &PoolFacts, facts: &ClusterFacts, alerts: &mut Vec<Alert>) {
    let users: Vec<&TenantFacts> = facts
        .tenants
        .iter()
        .filter(|t| t.pool.as_deref().is_some_and(|p| same_name(p, &pool.name)))
        .collect();
    let name = &pool.name;
    for lint in &pool.lint {
        let mut objects = vec![ObjectRef::pool(name)];
        let mut severity = lint.severity();
        let (summary, why, action) = match lint {
            PoolLint::NoMembers => {
                let used_by = if users.is_empty() {
                    String::new()
                } else {
                    severity = Severity::Critical;
                    let expected = users.iter().fold(0u64, |sum, t| {
                        sum.saturating_add(u64::from(t.expected_phones))
                    });
                    for tenant in users.iter().take(MAX_EXAMPLES) {
                        objects.push(ObjectRef::tenant(&tenant.code));
                    }
                    format!(
                        ", yet {} {} it ({} expected)",
                        count_of(users.len(), "tenant", "tenants"),
                        if users.len() == 1 { "uses" } else { "use" },
                        phones(expected)
                    )
                };
                (
                    format!("Pool {name} has no members{used_by}."),
                    "Its SRV name publishes no records, so a phone configured with it finds no \
                     server and cannot register."
                        .to_string(),
                    if users.is_empty() {
                        "Add a primary server and a backup at a higher priority value, or \
                         delete the pool."
                            .to_string()
                    } else {
                        "Add a primary server and a backup at a higher priority value, or move \
                         its tenants to another pool."
                            .to_string()
                    },
                )
            }
            PoolLint::SingleServer { target } => {
                push_target(&mut objects, target, pool, facts);
                (
                    format!("Every record of pool {name} points at {target}."),
                    format!(
                        "There is no failover: when {target} goes down, the pool's phones have \
                         no other server to register with."
                    ),
                    "Add a second server at a higher priority value as the backup.".to_string(),
                )
            }
            PoolLint::SharedTopPriority {
                priority,
                servers,
                whole_chance_10,
            } => {
                for target in servers {
                    push_target(&mut objects, target, pool, facts);
                }
                (
                    format!(
                        "{} servers of pool {name} ({}) share the top priority {priority}: a \
                         tenant of 10 phones lands whole on one server {}.",
                        servers.len(),
                        join_and(servers),
                        describe_chance(*whole_chance_10)
                    ),
                    "This is the \"single pool, random registration\" anti-pattern: phones \
                     register at random, so tenants end up split, transfers between their \
                     phones fail, calls are routed between servers, and a phone moving between \
                     servers is unreachable during the handover."
                        .to_string(),
                    "Give the pool one primary (the lowest priority value) and move the other \
                     servers to a higher priority value as backups; share load with several \
                     pools instead."
                        .to_string(),
                )
            }
            PoolLint::OutOfServiceMember { target, state } => {
                push_target(&mut objects, target, pool, facts);
                let retired = !state.trim().eq_ignore_ascii_case("maintenance");
                (
                    format!("{target} is marked {state} but is still a member of pool {name}."),
                    format!(
                        "DNS keeps sending phones to it, and they register elsewhere only after \
                         a failover timeout{}.",
                        if retired {
                            "; it will not come back"
                        } else {
                            ""
                        }
                    ),
                    "Remove it from the pool and re-export the SRV records, or return it to \
                     service."
                        .to_string(),
                )
            }
        };
        alerts.push(Alert {
            kind: AlertKind::PoolLint,
            severity,
            summary,
            why,
            action,
            objects,
        });
    }
}

/// Lint findings name SRV targets (`voip1.example.com`); alerts link servers by their short
/// name. A target is the server whose name it is, or whose name is its first DNS label.
fn push_target(objects: &mut Vec<ObjectRef>, target: &str, pool: &PoolFacts, facts: &ClusterFacts) {
    let first_label = target.trim().split('.').next().unwrap_or_default();
    let known = facts
        .servers
        .iter()
        .map(|server| server.name.as_str())
        .chain(pool.member_servers.iter().map(String::as_str));
    let mut by_label = None;
    for name in known {
        if same_name(name, target.trim().trim_end_matches('.')) {
            push_server(objects, name);
            return;
        }
        if by_label.is_none() && same_name(name, first_label) {
            by_label = Some(name);
        }
    }
    if let Some(name) = by_label {
        push_server(objects, name);
    }
}

/// "only 0.2% of the time" / "only about 1 time in 512": odds a reader can picture.
fn describe_chance(chance: f64) -> String {
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

// ---------------------------------------------------------------------------------------------
// Servers: capacity now and after one failure, stale snapshots.

fn capacity_alerts(server: &ServerFacts, limits: &Limits, alerts: &mut Vec<Alert>) {
    let Some(capacity) = server.capacity else {
        return;
    };
    let name = &server.name;
    let cap = f64::from(capacity);
    let warning_level = cap * limits.capacity_warning;
    let registered = server.registered as f64;
    let projected = sane_load(server.projected_normal);
    let load = registered.max(projected);

    let severity = if load > cap {
        Some(Severity::Critical)
    } else if load > warning_level {
        Some(Severity::Warning)
    } else {
        None
    };
    if let Some(severity) = severity {
        let (state, why) = if severity == Severity::Critical {
            (
                "over its capacity",
                "An overloaded Asterisk drops registrations and calls, and the phones it sheds \
                 push their backup over too.",
            )
        } else {
            (
                "near its capacity",
                "There is little headroom left: a failover or a busy hour can push it over its \
                 capacity.",
            )
        };
        alerts.push(Alert {
            kind: AlertKind::Capacity,
            severity,
            summary: format!(
                "Server {name} is {state} of {capacity} phones: {}{} registered now, {:.0}{} \
                 projected with nothing down (warning level {}).",
                server.registered,
                of_capacity(registered, capacity),
                projected,
                of_capacity(projected, capacity),
                percent(limits.capacity_warning)
            ),
            why: why.to_string(),
            action: format!(
                "Move a tenant or a pool away from {name} (the Rebalance plan proposes moves), \
                 or raise its capacity if the hardware can take more."
            ),
            objects: vec![ObjectRef::server(name)],
        });
    }

    let Some((down, n1_load)) = &server.worst_n1 else {
        return;
    };
    let n1_load = sane_load(*n1_load);
    let severity = if n1_load > cap {
        Severity::Critical
    } else if n1_load > warning_level {
        Severity::Warning
    } else {
        return;
    };
    let why = if severity == Severity::Critical {
        format!("A single failure would overload {name}, turning one outage into two.")
    } else {
        format!(
            "A single failure would leave {name} above its warning level, with no headroom for \
             a busy hour."
        )
    };
    let mut objects = vec![ObjectRef::server(name)];
    push_server(&mut objects, down);
    alerts.push(Alert {
        kind: AlertKind::CapacityN1,
        severity,
        summary: if capacity == 0 {
            format!(
                "If {down} fails, {name} would carry {n1_load:.0} phones, over its capacity of 0."
            )
        } else {
            format!(
                "If {down} fails, {name} would carry {n1_load:.0} phones ({} of its capacity \
                 {capacity}).",
                percent(n1_load / cap)
            )
        },
        why,
        action: format!(
            "Spread the backups: give the pools that fail over from {down} to {name} another \
             secondary, or move tenants off {down} (see What-if and the Rebalance plan)."
        ),
        objects,
    });
}

fn stale_alert(
    server: &ServerFacts,
    facts: &ClusterFacts,
    limits: &Limits,
    alerts: &mut Vec<Alert>,
) {
    // Servers in maintenance or retired are expected to go quiet.
    if !server.state.trim().eq_ignore_ascii_case("active") {
        return;
    }
    let name = &server.name;
    let stale = limits.stale_after_secs;
    let (severity, summary, why) = match server.last_report_at {
        Some(at) => {
            let age = facts.now.saturating_sub(at);
            let severity = if age > stale.saturating_mul(4) {
                Severity::Critical
            } else if age > stale {
                Severity::Warning
            } else {
                return;
            };
            (
                severity,
                format!(
                    "Server {name} last reported its registrations {} ago (stale after {}).",
                    duration(age),
                    duration(stale)
                ),
                format!(
                    "Every count for {name} (phones, splits, drift, capacity) is out of date; if \
                     it is down, its phones have failed over without the dashboard seeing it."
                ),
            )
        }
        None => {
            let others_reported = facts
                .servers
                .iter()
                .any(|other| other.last_report_at.is_some());
            if !others_reported {
                return;
            }
            (
                Severity::Warning,
                format!(
                    "Server {name} has never reported its registrations, while other servers have."
                ),
                format!(
                    "Nothing is known about the phones on {name}: they are missing from every \
                     count, split check and capacity figure."
                ),
            )
        }
    };
    alerts.push(Alert {
        kind: AlertKind::StaleSnapshot,
        severity,
        summary,
        why,
        action: format!(
            "Check the cron job on {name} that posts `asterisk -rx \"pjsip show contacts\"` to \
             /api/v1/servers/{name}/registrations, and its ingest:{name} token; if {name} is \
             down, bring it back or set it to maintenance."
        ),
        objects: vec![ObjectRef::server(name)],
    });
}

// ---------------------------------------------------------------------------------------------
// Registrations: unmatched, flapping, failback lag.

fn unmatched_alerts(unmatched: &[(String, String)], alerts: &mut Vec<Alert>) {
    // server key → (spelling, distinct endpoints)
    let mut by_server: BTreeMap<String, (String, Vec<&str>)> = BTreeMap::new();
    for (server, endpoint) in unmatched {
        let entry = by_server
            .entry(server.trim().to_ascii_lowercase())
            .or_insert_with(|| (server.trim().to_string(), Vec::new()));
        entry.1.push(endpoint.as_str());
    }
    for (server, mut endpoints) in by_server.into_values() {
        endpoints.sort_unstable();
        endpoints.dedup();
        let examples: Vec<String> = endpoints
            .iter()
            .take(MAX_EXAMPLES)
            .map(|e| e.to_string())
            .collect();
        let count = endpoints.len();
        let mut objects = vec![ObjectRef::server(&server)];
        objects.extend(examples.iter().map(ObjectRef::endpoint));
        alerts.push(Alert {
            kind: AlertKind::Unmatched,
            severity: Severity::Warning,
            summary: format!(
                "{} on {server} {} no tenant, e.g. {}.",
                count_of(count, "registration", "registrations"),
                if count == 1 { "matches" } else { "match" },
                examples.join(", ")
            ),
            why: format!(
                "They are left out of every tenant count, split check and projection, so the \
                 figures for {server} undercount it."
            ),
            action: "Check the tenant-matching rule in Settings against these endpoint names, \
                     or create the missing tenants."
                .to_string(),
            objects,
        });
    }
}

fn flapping_alerts(flapping: &[FlappingPhone], limits: &Limits, alerts: &mut Vec<Alert>) {
    // tenant key ("" for phones of no known tenant) → (spelling, phones)
    let mut by_tenant: BTreeMap<String, (Option<String>, Vec<&FlappingPhone>)> = BTreeMap::new();
    for phone in flapping.iter().filter(|p| p.moves >= limits.flap_moves) {
        let tenant = phone
            .tenant
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        by_tenant
            .entry(tenant.unwrap_or_default().to_ascii_lowercase())
            .or_insert_with(|| (tenant.map(str::to_string), Vec::new()))
            .1
            .push(phone);
    }
    let window = duration(limits.flap_window_secs);
    for (tenant, mut phones_here) in by_tenant.into_values() {
        phones_here.sort_by(|a, b| {
            b.moves
                .cmp(&a.moves)
                .then_with(|| a.endpoint.cmp(&b.endpoint))
        });
        let mut servers: Vec<String> = Vec::new();
        for phone in &phones_here {
            for server in &phone.servers {
                if !servers.iter().any(|s| same_name(s, server)) {
                    servers.push(server.trim().to_string());
                }
            }
        }
        servers.sort_by(|a, b| cmp_names(a, b));
        let whose = match &tenant {
            Some(code) => format!("tenant {code}"),
            None => "no known tenant".to_string(),
        };
        let among = if servers.is_empty() {
            String::new()
        } else {
            format!(" between {}", join_and(&servers))
        };
        let summary = match phones_here.as_slice() {
            [one] => format!(
                "Phone {} of {whose} moved{among} {} in the last {window}.",
                one.endpoint,
                count_of(one.moves as usize, "time", "times")
            ),
            [most, ..] => format!(
                "{} of {whose} moved{among} at least {} each in the last {window} (most: {} {}), \
                 e.g. {}.",
                phones(phones_here.len() as u64),
                count_of(limits.flap_moves as usize, "time", "times"),
                most.endpoint,
                count_of(most.moves as usize, "time", "times"),
                phones_here
                    .iter()
                    .take(MAX_EXAMPLES)
                    .map(|p| p.endpoint.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            // Every group holds the phone that created it.
            [] => continue,
        };
        let mut objects = Vec::new();
        if let Some(code) = &tenant {
            objects.push(ObjectRef::tenant(code));
        }
        for server in &servers {
            push_server(&mut objects, server);
        }
        objects.extend(
            phones_here
                .iter()
                .take(MAX_EXAMPLES)
                .map(|p| ObjectRef::endpoint(&p.endpoint)),
        );
        alerts.push(Alert {
            kind: AlertKind::Flapping,
            severity: Severity::Warning,
            summary,
            why: "At every move there is a gap in which the phone is unreachable on both \
                  servers, and a phone that moves during a call loses its in-use state, so it \
                  can be offered a second call while busy."
                .to_string(),
            action: "Check the network between these phones and their home server (packet \
                     loss, NAT or firewall timeouts) and their registration expiry; make sure \
                     they use their pool's SRV name."
                .to_string(),
            objects,
        });
    }
}

fn failback_alerts(facts: &ClusterFacts, limits: &Limits, alerts: &mut Vec<Alert>) {
    struct Group<'a> {
        home: String,
        user_agent: Option<String>,
        phones: Vec<&'a AwayPhone>,
        /// The earliest moment the phones could have failed back (longest lag).
        earliest_due: i64,
    }
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for phone in &facts.away {
        if same_name(&phone.server, &phone.home) {
            continue;
        }
        let Some(home) = facts
            .servers
            .iter()
            .find(|server| same_name(&server.name, &phone.home))
        else {
            continue;
        };
        // Only a home that is in service and reporting now can be failed back to.
        let fresh = home
            .last_report_at
            .is_some_and(|at| facts.now.saturating_sub(at) <= limits.stale_after_secs);
        if !home.state.trim().eq_ignore_ascii_case("active") || !fresh {
            continue;
        }
        // The phone could fail back from the later of: when it left, when its home came back.
        let due_from = match home.reporting_since {
            Some(since) => since.max(phone.away_since),
            None => phone.away_since,
        };
        if facts.now.saturating_sub(due_from) <= limits.failback_after_secs {
            continue;
        }
        let user_agent = phone
            .user_agent
            .as_deref()
            .map(str::trim)
            .filter(|ua| !ua.is_empty());
        let group = groups
            .entry((
                home.name.to_ascii_lowercase(),
                user_agent.unwrap_or_default().to_string(),
            ))
            .or_insert_with(|| Group {
                home: home.name.clone(),
                user_agent: user_agent.map(str::to_string),
                phones: Vec::new(),
                earliest_due: due_from,
            });
        group.earliest_due = group.earliest_due.min(due_from);
        group.phones.push(phone);
    }

    for group in groups.into_values() {
        let mut phones_here = group.phones;
        phones_here.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
        let mut away_servers: Vec<String> = Vec::new();
        let mut tenants: Vec<String> = Vec::new();
        for phone in &phones_here {
            if !away_servers.iter().any(|s| same_name(s, &phone.server)) {
                away_servers.push(phone.server.trim().to_string());
            }
            if !tenants.iter().any(|t| same_name(t, &phone.tenant)) {
                tenants.push(phone.tenant.trim().to_string());
            }
        }
        away_servers.sort_by(|a, b| cmp_names(a, b));
        tenants.sort_by(|a, b| cmp_names(a, b));
        let home = &group.home;
        let model = match &group.user_agent {
            Some(ua) => format!("with user agent \"{ua}\""),
            None => "that report no user agent".to_string(),
        };
        let count = phones_here.len();
        let mut objects = vec![ObjectRef::server(home)];
        for server in &away_servers {
            push_server(&mut objects, server);
        }
        objects.extend(tenants.iter().map(ObjectRef::tenant));
        objects.extend(
            phones_here
                .iter()
                .take(MAX_EXAMPLES)
                .map(|p| ObjectRef::endpoint(&p.endpoint)),
        );
        let tenant_list = if tenants.len() > MAX_EXAMPLES {
            format!(
                "{} and {} more tenants",
                tenants[..MAX_EXAMPLES].join(", "),
                tenants.len() - MAX_EXAMPLES
            )
        } else {
            join_and(&tenants)
        };
        alerts.push(Alert {
            kind: AlertKind::FailbackLag,
            severity: Severity::Warning,
            summary: format!(
                "{} {model} {} still on {} instead of {} home server {home}, which has been \
                 reporting again for over {} (longest lag {}).",
                phones(count as u64),
                if count == 1 { "is" } else { "are" },
                join_and(&away_servers),
                if count == 1 { "its" } else { "their" },
                duration(limits.failback_after_secs),
                duration(facts.now.saturating_sub(group.earliest_due))
            ),
            why: format!(
                "Some phone models never fail back by themselves: they stay on the backup until \
                 they re-register, which keeps {tenant_list} split and loads the backup."
            ),
            action: "Re-register these phones (reboot or a provisioning push); to stop it \
                     recurring, give this model a shorter registration expiry or enable its SRV \
                     re-query / failback option."
                .to_string(),
            objects,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Server, pool and tenant names are stored as typed; the store treats them case-insensitively.
fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn cmp_names(a: &str, b: &str) -> Ordering {
    a.to_ascii_lowercase()
        .cmp(&b.to_ascii_lowercase())
        .then_with(|| a.cmp(b))
}

/// Per-server counts with the same server listed once and empty rows dropped, most phones
/// first (ties by name).
fn merge_counts(rows: &[(String, u64)]) -> Vec<ServerPhones> {
    let mut merged: Vec<ServerPhones> = Vec::new();
    for (server, count) in rows {
        if *count == 0 {
            continue;
        }
        match merged.iter_mut().find(|row| same_name(&row.server, server)) {
            Some(row) => row.phones = row.phones.saturating_add(*count),
            None => merged.push(ServerPhones {
                server: server.trim().to_string(),
                phones: *count,
            }),
        }
    }
    merged.sort_by(|a, b| {
        b.phones
            .cmp(&a.phones)
            .then_with(|| cmp_names(&a.server, &b.server))
    });
    merged
}

fn phones_on(rows: &[ServerPhones], server: &str) -> u64 {
    rows.iter()
        .filter(|row| same_name(&row.server, server))
        .map(|row| row.phones)
        .sum()
}

fn push_server(objects: &mut Vec<ObjectRef>, name: &str) {
    let name = name.trim();
    if !objects
        .iter()
        .any(|o| o.kind == ObjectKind::Server && same_name(&o.name, name))
    {
        objects.push(ObjectRef::server(name));
    }
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Loads come from float arithmetic in the store: anything not a finite non-negative number is
/// treated as no load rather than trusted.
fn sane_load(load: f64) -> f64 {
    if load.is_finite() { load.max(0.0) } else { 0.0 }
}

/// "50%", "10.1%": one decimal, dropped when it is zero.
fn percent(share: f64) -> String {
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
fn of_capacity(load: f64, capacity: u32) -> String {
    if capacity == 0 {
        String::new()
    } else {
        format!(" ({})", percent(load / f64::from(capacity)))
    }
}

fn phones(n: u64) -> String {
    if n == 1 {
        "1 phone".to_string()
    } else {
        format!("{n} phones")
    }
}

fn count_of(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "a", "a and b", "a, b and c".
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// "voip2" for one server; "voip2 (20) and voip3 (4)" for several; long lists shortened.
fn server_list(rows: &[ServerPhones]) -> String {
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

fn names_only(rows: &[ServerPhones]) -> String {
    let names: Vec<String> = rows.iter().map(|row| row.server.clone()).collect();
    join_and(&names)
}

/// "45 s", "47 min", "2 h 5 min", "3 d 4 h".
fn duration(secs: i64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_700_000_000;

    fn settings() -> AlertSettings {
        AlertSettings::default()
    }

    fn counts(rows: &[(&str, u64)]) -> Vec<(String, u64)> {
        rows.iter().map(|(s, n)| (s.to_string(), *n)).collect()
    }

    fn names(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// A tenant of pool pbxA (voip1 primary, voip2 backup).
    fn tenant(code: &str, expected: u32, rows: &[(&str, u64)]) -> TenantFacts {
        TenantFacts {
            code: code.to_string(),
            pool: Some("pbxA".to_string()),
            home: Some("voip1".to_string()),
            pool_servers: names(&["voip1", "voip2"]),
            expected_phones: expected,
            phones_by_server: counts(rows),
        }
    }

    fn server(name: &str) -> ServerFacts {
        ServerFacts {
            name: name.to_string(),
            state: "active".to_string(),
            last_report_at: Some(NOW),
            ..ServerFacts::default()
        }
    }

    fn pool(name: &str, home: &str, rows: &[(&str, u64)]) -> PoolFacts {
        PoolFacts {
            name: name.to_string(),
            home: Some(home.to_string()),
            member_servers: names(&["voip1", "voip2"]),
            phones_by_server: counts(rows),
            lint: Vec::new(),
        }
    }

    fn cluster() -> ClusterFacts {
        ClusterFacts {
            now: NOW,
            any_registrations: true,
            ..ClusterFacts::default()
        }
    }

    fn of_kind(alerts: &[Alert], kind: AlertKind) -> Vec<&Alert> {
        alerts.iter().filter(|a| a.kind == kind).collect()
    }

    fn only(alerts: &[Alert], kind: AlertKind) -> Alert {
        let found = of_kind(alerts, kind);
        assert_eq!(found.len(), 1, "expected one {kind} alert in {alerts:#?}");
        found[0].clone()
    }

    fn objects(alert: &Alert) -> Vec<(ObjectKind, &str)> {
        alert
            .objects
            .iter()
            .map(|o| (o.kind, o.name.as_str()))
            .collect()
    }

    fn split_severity(rows: &[(&str, u64)]) -> Option<Severity> {
        tenant_split(&tenant("ACME", 0, rows), &settings()).map(|s| s.severity)
    }

    // --- settings and vocabulary ---

    #[test]
    fn default_settings_are_the_designed_thresholds_and_valid() {
        let s = AlertSettings::default();
        assert_eq!(s.normal_away_share, 0.10);
        assert_eq!(s.capacity_warning, 0.80);
        assert_eq!(s.stale_after_secs, 900);
        assert_eq!(s.flap_moves, 3);
        assert_eq!(s.flap_window_secs, 3600);
        assert_eq!(s.failback_after_secs, 1800);
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn nonsense_settings_are_named_field_by_field() {
        let s = AlertSettings {
            normal_away_share: f64::NAN,
            capacity_warning: 1.5,
            stale_after_secs: 0,
            flap_moves: 1,
            flap_window_secs: -5,
            failback_after_secs: -1,
        };
        let fields: Vec<&str> = s.validate().unwrap_err().iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            vec![
                "normal_away_share",
                "capacity_warning",
                "stale_after_secs",
                "flap_moves",
                "flap_window_secs",
                "failback_after_secs"
            ]
        );
    }

    #[test]
    fn alert_kinds_round_trip_and_have_distinct_labels() {
        assert_eq!(AlertKind::ALL.len(), 13);
        for kind in AlertKind::ALL {
            assert_eq!(kind.as_str().parse::<AlertKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
            assert!(!kind.label().is_empty());
        }
        let mut labels: Vec<&str> = AlertKind::ALL.iter().map(|k| k.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), AlertKind::ALL.len());
        assert_eq!(
            " Failback_Lag ".parse::<AlertKind>(),
            Ok(AlertKind::FailbackLag)
        );
        let err = "split".parse::<AlertKind>().unwrap_err();
        assert!(err.to_string().contains("unknown alert kind `split`"));
        assert!(err.to_string().contains("tenant_split"));
        // Declaration order is listing order.
        let mut sorted = AlertKind::ALL;
        sorted.sort();
        assert_eq!(sorted, AlertKind::ALL);
    }

    #[test]
    fn empty_cluster_yields_no_alerts() {
        assert!(evaluate(&ClusterFacts::default(), &settings()).is_empty());
        assert!(evaluate(&cluster(), &settings()).is_empty());
    }

    #[test]
    fn a_healthy_cluster_yields_no_alerts() {
        let mut facts = cluster();
        let mut voip1 = server("voip1");
        voip1.capacity = Some(1000);
        voip1.registered = 480;
        voip1.projected_normal = 500.0;
        voip1.worst_n1 = Some(("voip2".to_string(), 700.0));
        facts.servers = vec![voip1, server("voip2")];
        facts.pools = vec![pool("pbxA", "voip1", &[("voip1", 48)])];
        facts.tenants = vec![tenant("CANISTRACCI", 48, &[("voip1", 48)])];
        assert_eq!(evaluate(&facts, &settings()), vec![]);
    }

    // --- tenant split ---

    #[test]
    fn split_at_exactly_the_normal_share_is_info() {
        let split = tenant_split(
            &tenant("ACME", 100, &[("voip1", 90), ("voip2", 10)]),
            &settings(),
        )
        .unwrap();
        assert_eq!(split.total, 100);
        assert_eq!(split.home, "voip1");
        assert!(!split.home_is_assumed);
        assert_eq!(split.home_phones, 90);
        assert_eq!(split.away_phones, 10);
        assert_eq!(split.away_share, 0.1);
        assert_eq!(split.servers, 2);
        assert!(!split.majority_away);
        assert_eq!(split.severity, Severity::Info);
        assert_eq!(
            split.away_servers,
            vec![ServerPhones {
                server: "voip2".into(),
                phones: 10
            }]
        );
        // 1 of 10 and 3 of 30 are exactly 10% as well.
        assert_eq!(
            split_severity(&[("voip1", 9), ("voip2", 1)]),
            Some(Severity::Info)
        );
        assert_eq!(
            split_severity(&[("voip1", 27), ("voip2", 3)]),
            Some(Severity::Info)
        );
    }

    #[test]
    fn split_just_above_the_normal_share_is_a_warning() {
        assert_eq!(
            split_severity(&[("voip1", 899), ("voip2", 101)]),
            Some(Severity::Warning)
        );
        assert_eq!(
            split_severity(&[("voip1", 900), ("voip2", 100)]),
            Some(Severity::Info)
        );
    }

    #[test]
    fn split_with_the_majority_away_is_critical_and_half_is_not() {
        let half = tenant_split(
            &tenant("ACME", 0, &[("voip1", 50), ("voip2", 50)]),
            &settings(),
        )
        .unwrap();
        assert!(!half.majority_away);
        assert_eq!(half.severity, Severity::Warning);
        let most = tenant_split(
            &tenant("ACME", 0, &[("voip1", 49), ("voip2", 51)]),
            &settings(),
        )
        .unwrap();
        assert!(most.majority_away);
        assert_eq!(most.severity, Severity::Critical);
        // Home holds none of them: everything is away.
        let none_home = tenant_split(
            &tenant("ACME", 0, &[("voip2", 3), ("voip3", 1)]),
            &settings(),
        )
        .unwrap();
        assert_eq!(none_home.home_phones, 0);
        assert_eq!(none_home.away_phones, 4);
        assert_eq!(none_home.severity, Severity::Critical);
    }

    #[test]
    fn a_tenant_on_one_server_is_not_split() {
        assert_eq!(split_severity(&[("voip1", 48)]), None);
        // Whole on its backup: drift or failback lag, not a split.
        assert_eq!(split_severity(&[("voip2", 48)]), None);
        assert_eq!(split_severity(&[]), None);
        // Empty rows and the same server spelled twice do not make a split.
        assert_eq!(
            split_severity(&[("voip1", 40), ("VOIP1", 8), ("voip2", 0)]),
            None
        );
    }

    #[test]
    fn split_threshold_follows_the_settings() {
        let strict = AlertSettings {
            normal_away_share: 0.0,
            ..settings()
        };
        let t = tenant("ACME", 0, &[("voip1", 99), ("voip2", 1)]);
        assert_eq!(
            tenant_split(&t, &strict).unwrap().severity,
            Severity::Warning
        );
        assert_eq!(
            tenant_split(&t, &settings()).unwrap().severity,
            Severity::Info
        );
    }

    #[test]
    fn split_without_a_home_measures_against_the_fullest_server() {
        let mut t = tenant("ACME", 0, &[("voip2", 5), ("voip1", 15)]);
        t.pool = None;
        t.home = None;
        let split = tenant_split(&t, &settings()).unwrap();
        assert_eq!(split.home, "voip1");
        assert!(split.home_is_assumed);
        assert_eq!(split.away_phones, 5);
        assert_eq!(split.severity, Severity::Warning);
    }

    #[test]
    fn split_alert_says_who_how_many_and_where() {
        let mut facts = cluster();
        facts.tenants = vec![tenant("CANISTRACCI", 48, &[("voip1", 24), ("voip2", 24)])];
        let alerts = evaluate(&facts, &settings());
        let alert = only(&alerts, AlertKind::TenantSplit);
        assert_eq!(
            alert.summary,
            "Tenant CANISTRACCI is split: 24 of 48 phones (50%) are away from its home server \
             voip1, on voip2."
        );
        assert_eq!(alert.severity, Severity::Warning);
        assert!(alert.why.contains("Transfers"), "{}", alert.why);
        assert!(alert.action.contains("re-register"), "{}", alert.action);
        assert_eq!(
            objects(&alert),
            vec![
                (ObjectKind::Tenant, "CANISTRACCI"),
                (ObjectKind::Pool, "pbxA"),
                (ObjectKind::Server, "voip1"),
                (ObjectKind::Server, "voip2"),
            ]
        );
        assert!(alert.concerns(ObjectKind::Tenant, "canistracci"));
        assert_eq!(
            alert.key(),
            "tenant_split:tenant=CANISTRACCI:pool=pbxA:server=voip1:server=voip2"
        );
    }

    #[test]
    fn split_over_several_servers_lists_each_with_its_count() {
        let mut facts = cluster();
        let mut t = tenant("ACME", 0, &[("voip1", 76), ("voip3", 4), ("voip2", 20)]);
        t.pool_servers = names(&["voip1", "voip2", "voip3"]);
        facts.tenants = vec![t];
        let alert = only(&evaluate(&facts, &settings()), AlertKind::TenantSplit);
        assert_eq!(
            alert.summary,
            "Tenant ACME is split: 24 of 100 phones (24%) are away from its home server voip1, \
             on voip2 (20) and voip3 (4)."
        );
    }

    // --- pool drift ---

    fn drift(rows: &[(&str, u64)]) -> Option<Severity> {
        let mut facts = cluster();
        facts.pools = vec![pool("pbxA", "voip1", rows)];
        let alerts = evaluate(&facts, &settings());
        of_kind(&alerts, AlertKind::PoolDrift)
            .first()
            .map(|a| a.severity)
    }

    #[test]
    fn pool_drift_boundaries() {
        assert_eq!(drift(&[("voip1", 900), ("voip2", 100)]), None);
        assert_eq!(
            drift(&[("voip1", 899), ("voip2", 101)]),
            Some(Severity::Warning)
        );
        assert_eq!(
            drift(&[("voip1", 500), ("voip2", 500)]),
            Some(Severity::Warning)
        );
        assert_eq!(
            drift(&[("voip1", 499), ("voip2", 501)]),
            Some(Severity::Critical)
        );
        assert_eq!(drift(&[("voip2", 10)]), Some(Severity::Critical));
        assert_eq!(drift(&[]), None);
        assert_eq!(drift(&[("voip1", 0), ("voip2", 0)]), None);
    }

    #[test]
    fn pool_drift_alert_names_the_pool_and_its_servers() {
        let mut facts = cluster();
        facts.pools = vec![pool("pbxA", "voip1", &[("voip1", 870), ("voip2", 130)])];
        let alert = only(&evaluate(&facts, &settings()), AlertKind::PoolDrift);
        assert_eq!(
            alert.summary,
            "Pool pbxA is drifting: 130 of 1000 phones (13%) are off its home server voip1, on \
             voip2."
        );
        assert!(
            alert.why.contains("flapping or unreachable"),
            "{}",
            alert.why
        );
        assert_eq!(
            objects(&alert),
            vec![
                (ObjectKind::Pool, "pbxA"),
                (ObjectKind::Server, "voip1"),
                (ObjectKind::Server, "voip2"),
            ]
        );
    }

    #[test]
    fn a_pool_without_a_home_does_not_drift() {
        let mut facts = cluster();
        let mut p = pool("pbxA", "voip1", &[("voip2", 10)]);
        p.home = None;
        facts.pools = vec![p];
        assert!(evaluate(&facts, &settings()).is_empty());
    }

    // --- outside the pool ---

    #[test]
    fn phones_on_a_server_outside_the_pool_are_a_warning() {
        let mut facts = cluster();
        facts.tenants = vec![tenant("ACME", 10, &[("voip1", 9), ("voip7", 1)])];
        let alerts = evaluate(&facts, &settings());
        let alert = only(&alerts, AlertKind::OutsidePool);
        assert_eq!(alert.severity, Severity::Warning);
        assert_eq!(
            alert.summary,
            "1 phone of tenant ACME is registered on voip7, outside its pool pbxA (members: \
             voip1 and voip2)."
        );
        assert!(alert.why.contains("hard-coded"), "{}", alert.why);
        assert_eq!(
            objects(&alert),
            vec![
                (ObjectKind::Tenant, "ACME"),
                (ObjectKind::Pool, "pbxA"),
                (ObjectKind::Server, "voip7"),
            ]
        );
        // voip7 also makes the tenant split (10% away: info).
        assert_eq!(
            only(&alerts, AlertKind::TenantSplit).severity,
            Severity::Info
        );
    }

    #[test]
    fn phones_inside_the_pool_or_without_a_pool_are_not_outside() {
        let mut facts = cluster();
        facts.tenants = vec![tenant("ACME", 10, &[("voip1", 9), ("VOIP2", 1)])];
        assert!(of_kind(&evaluate(&facts, &settings()), AlertKind::OutsidePool).is_empty());

        let mut no_pool = tenant("ACME", 10, &[("voip7", 10)]);
        no_pool.pool = None;
        no_pool.home = None;
        no_pool.pool_servers.clear();
        facts.tenants = vec![no_pool];
        assert!(of_kind(&evaluate(&facts, &settings()), AlertKind::OutsidePool).is_empty());
    }

    // --- capacity ---

    fn capacity_alert(registered: u64, projected: f64) -> Option<Alert> {
        let mut facts = cluster();
        let mut s = server("voip1");
        s.capacity = Some(1000);
        s.registered = registered;
        s.projected_normal = projected;
        facts.servers = vec![s];
        of_kind(&evaluate(&facts, &settings()), AlertKind::Capacity)
            .first()
            .map(|a| (*a).clone())
    }

    #[test]
    fn capacity_boundaries_now_and_projected() {
        let severity = |r, p| capacity_alert(r, p).map(|a| a.severity);
        assert_eq!(severity(800, 800.0), None);
        assert_eq!(severity(801, 700.0), Some(Severity::Warning));
        assert_eq!(severity(100, 800.5), Some(Severity::Warning));
        assert_eq!(severity(1000, 1000.0), Some(Severity::Warning));
        assert_eq!(severity(1001, 900.0), Some(Severity::Critical));
        assert_eq!(severity(10, 1000.5), Some(Severity::Critical));
        assert_eq!(severity(10, f64::NAN), None);
        assert_eq!(severity(10, f64::INFINITY), None);
    }

    #[test]
    fn capacity_alert_gives_both_figures() {
        let alert = capacity_alert(1050, 980.0).unwrap();
        assert_eq!(
            alert.summary,
            "Server voip1 is over its capacity of 1000 phones: 1050 (105%) registered now, 980 \
             (98%) projected with nothing down (warning level 80%)."
        );
        assert_eq!(objects(&alert), vec![(ObjectKind::Server, "voip1")]);
    }

    #[test]
    fn servers_without_capacity_get_no_capacity_alerts() {
        let mut facts = cluster();
        let mut s = server("voip1");
        s.registered = 1_000_000;
        s.projected_normal = 1e9;
        s.worst_n1 = Some(("voip2".into(), 1e9));
        facts.servers = vec![s];
        assert!(evaluate(&facts, &settings()).is_empty());
    }

    #[test]
    fn a_capacity_of_zero_is_only_exceeded_by_phones() {
        let mut facts = cluster();
        let mut s = server("voip1");
        s.capacity = Some(0);
        facts.servers = vec![s.clone()];
        assert!(evaluate(&facts, &settings()).is_empty());
        s.registered = 1;
        facts.servers = vec![s];
        let alert = only(&evaluate(&facts, &settings()), AlertKind::Capacity);
        assert_eq!(alert.severity, Severity::Critical);
        assert!(!alert.summary.contains("inf"), "{}", alert.summary);
    }

    fn n1_alert(load: f64) -> Option<Alert> {
        let mut facts = cluster();
        let mut s = server("voip1");
        s.capacity = Some(1000);
        s.worst_n1 = Some(("voip2".into(), load));
        facts.servers = vec![s, server("voip2")];
        of_kind(&evaluate(&facts, &settings()), AlertKind::CapacityN1)
            .first()
            .map(|a| (*a).clone())
    }

    #[test]
    fn n1_boundaries() {
        let severity = |load| n1_alert(load).map(|a| a.severity);
        assert_eq!(severity(800.0), None);
        assert_eq!(severity(800.5), Some(Severity::Warning));
        assert_eq!(severity(1000.0), Some(Severity::Warning));
        assert_eq!(severity(1000.5), Some(Severity::Critical));
        assert_eq!(severity(f64::NAN), None);
    }

    #[test]
    fn n1_alert_says_which_failure_overloads_which_server() {
        let alert = n1_alert(1180.0).unwrap();
        assert_eq!(
            alert.summary,
            "If voip2 fails, voip1 would carry 1180 phones (118% of its capacity 1000)."
        );
        assert!(alert.why.contains("one outage into two"), "{}", alert.why);
        assert_eq!(
            objects(&alert),
            vec![(ObjectKind::Server, "voip1"), (ObjectKind::Server, "voip2")]
        );
    }

    // --- pool lint ---

    #[test]
    fn each_lint_item_is_one_alert_with_its_severity() {
        let mut facts = cluster();
        facts.servers = vec![server("voip1"), server("voip2"), server("voip3")];
        let mut p = pool("pbxA", "voip1", &[]);
        p.lint = vec![
            PoolLint::SharedTopPriority {
                priority: 10,
                servers: names(&["voip1.example.com.", "voip2.example.com."]),
                whole_chance_10: 2f64.powi(-9),
            },
            PoolLint::OutOfServiceMember {
                target: "voip3.example.com".into(),
                state: "maintenance".into(),
            },
            PoolLint::OutOfServiceMember {
                target: "voip2.example.com".into(),
                state: "retired".into(),
            },
        ];
        let mut q = pool("pbxB", "voip1", &[]);
        q.lint = vec![PoolLint::SingleServer {
            target: "voip1".into(),
        }];
        facts.pools = vec![p, q];
        let alerts = evaluate(&facts, &settings());
        let lints = of_kind(&alerts, AlertKind::PoolLint);
        assert_eq!(lints.len(), 4);

        let shared = lints
            .iter()
            .find(|a| a.summary.contains("top priority"))
            .unwrap();
        assert_eq!(shared.severity, Severity::Warning);
        assert_eq!(
            shared.summary,
            "2 servers of pool pbxA (voip1.example.com. and voip2.example.com.) share the top \
             priority 10: a tenant of 10 phones lands whole on one server only about 1 time in \
             512."
        );
        assert!(shared.why.contains("single pool, random registration"));
        assert_eq!(
            objects(shared),
            vec![
                (ObjectKind::Pool, "pbxA"),
                (ObjectKind::Server, "voip1"),
                (ObjectKind::Server, "voip2"),
            ]
        );
        let maintenance = lints
            .iter()
            .find(|a| a.summary.contains("maintenance"))
            .unwrap();
        assert_eq!(maintenance.severity, Severity::Info);
        assert_eq!(
            objects(maintenance),
            vec![(ObjectKind::Pool, "pbxA"), (ObjectKind::Server, "voip3")]
        );
        let retired = lints
            .iter()
            .find(|a| a.summary.contains("retired"))
            .unwrap();
        assert_eq!(retired.severity, Severity::Warning);
        assert!(retired.why.contains("will not come back"));
        let single = lints.iter().find(|a| a.summary.contains("pbxB")).unwrap();
        assert_eq!(single.severity, Severity::Warning);
        assert_eq!(single.summary, "Every record of pool pbxB points at voip1.");
    }

    #[test]
    fn an_empty_pool_is_critical_only_when_tenants_use_it() {
        let mut facts = cluster();
        let mut p = pool("pbxC", "voip1", &[]);
        p.home = None;
        p.member_servers.clear();
        p.lint = vec![PoolLint::NoMembers];
        facts.pools = vec![p];
        let unused = only(&evaluate(&facts, &settings()), AlertKind::PoolLint);
        assert_eq!(unused.severity, Severity::Warning);
        assert_eq!(unused.summary, "Pool pbxC has no members.");

        let mut t = tenant("ACME", 12, &[]);
        t.pool = Some("PBXC".into());
        t.home = None;
        t.pool_servers.clear();
        facts.tenants = vec![t];
        let used = only(&evaluate(&facts, &settings()), AlertKind::PoolLint);
        assert_eq!(used.severity, Severity::Critical);
        assert_eq!(
            used.summary,
            "Pool pbxC has no members, yet 1 tenant uses it (12 phones expected)."
        );
        assert_eq!(
            objects(&used),
            vec![(ObjectKind::Pool, "pbxC"), (ObjectKind::Tenant, "ACME")]
        );
    }

    #[test]
    fn lint_targets_that_match_no_server_still_name_the_pool() {
        let mut facts = cluster();
        let mut p = pool("pbxA", "voip1", &[]);
        p.member_servers.clear();
        p.lint = vec![PoolLint::SingleServer {
            target: "elsewhere.example.net".into(),
        }];
        facts.pools = vec![p];
        let alert = only(&evaluate(&facts, &settings()), AlertKind::PoolLint);
        assert_eq!(objects(&alert), vec![(ObjectKind::Pool, "pbxA")]);
    }

    // --- tenants without pool or phones ---

    #[test]
    fn tenant_without_a_pool() {
        let mut facts = cluster();
        let mut t = tenant("ACME", 12, &[]);
        t.pool = None;
        t.home = None;
        t.pool_servers.clear();
        facts.tenants = vec![t.clone()];
        let alerts = evaluate(&facts, &settings());
        let alert = only(&alerts, AlertKind::TenantNoPool);
        assert_eq!(alert.severity, Severity::Warning);
        assert_eq!(
            alert.summary,
            "Tenant ACME has no pool: 12 phones expected, none registered."
        );
        // It expects phones and has none: that is also said, as information.
        assert_eq!(
            only(&alerts, AlertKind::TenantNoPhones).severity,
            Severity::Info
        );

        t.expected_phones = 0;
        facts.tenants = vec![t.clone()];
        let alerts = evaluate(&facts, &settings());
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].kind, AlertKind::TenantNoPool);
        assert_eq!(alerts[0].severity, Severity::Info);

        // Phones registered although none were expected: the phones are at risk, not info.
        t.phones_by_server = counts(&[("voip1", 3)]);
        facts.tenants = vec![t];
        let alert = only(&evaluate(&facts, &settings()), AlertKind::TenantNoPool);
        assert_eq!(alert.severity, Severity::Warning);
        assert_eq!(
            alert.summary,
            "Tenant ACME has no pool: 0 phones expected, 3 registered on voip1."
        );
    }

    #[test]
    fn tenant_without_phones_only_after_the_first_snapshot() {
        let mut facts = cluster();
        facts.tenants = vec![tenant("ACME", 12, &[("voip1", 0)])];
        let alert = only(&evaluate(&facts, &settings()), AlertKind::TenantNoPhones);
        assert_eq!(alert.severity, Severity::Info);
        assert_eq!(
            alert.summary,
            "Tenant ACME expects 12 phones but none is registered on any server."
        );
        assert_eq!(objects(&alert), vec![(ObjectKind::Tenant, "ACME")]);

        facts.any_registrations = false;
        assert!(evaluate(&facts, &settings()).is_empty());

        facts.any_registrations = true;
        facts.tenants = vec![tenant("ACME", 0, &[])];
        assert!(evaluate(&facts, &settings()).is_empty());
        facts.tenants = vec![tenant("ACME", 12, &[("voip1", 1)])];
        assert!(evaluate(&facts, &settings()).is_empty());
    }

    // --- unmatched ---

    #[test]
    fn unmatched_registrations_are_one_alert_per_server_with_examples() {
        let mut facts = cluster();
        facts.unmatched = [
            ("voip1", "g-100"),
            ("voip1", "f-100"),
            ("voip1", "e-100"),
            ("voip1", "d-100"),
            ("voip1", "c-100"),
            ("voip1", "b-100"),
            ("voip1", "b-100"),
            ("voip2", "200-NOBODY"),
        ]
        .iter()
        .map(|(s, e)| (s.to_string(), e.to_string()))
        .collect();
        let alerts = evaluate(&facts, &settings());
        assert_eq!(alerts.len(), 2);
        let voip1 = &alerts[0];
        assert_eq!(voip1.kind, AlertKind::Unmatched);
        assert_eq!(voip1.severity, Severity::Warning);
        assert_eq!(
            voip1.summary,
            "6 registrations on voip1 match no tenant, e.g. b-100, c-100, d-100, e-100, f-100."
        );
        assert_eq!(voip1.objects.len(), 1 + MAX_EXAMPLES);
        assert_eq!(voip1.objects[0], ObjectRef::server("voip1"));
        assert_eq!(voip1.objects[1], ObjectRef::endpoint("b-100"));
        assert_eq!(
            alerts[1].summary,
            "1 registration on voip2 matches no tenant, e.g. 200-NOBODY."
        );
    }

    // --- flapping ---

    fn flapper(endpoint: &str, tenant: Option<&str>, moves: u32) -> FlappingPhone {
        FlappingPhone {
            endpoint: endpoint.into(),
            tenant: tenant.map(str::to_string),
            moves,
            servers: names(&["voip2", "voip1"]),
        }
    }

    #[test]
    fn flapping_starts_at_the_configured_number_of_moves() {
        let mut facts = cluster();
        facts.flapping = vec![flapper("100-ACME", Some("ACME"), 2)];
        assert!(evaluate(&facts, &settings()).is_empty());

        facts.flapping = vec![flapper("100-ACME", Some("ACME"), 3)];
        let alert = only(&evaluate(&facts, &settings()), AlertKind::Flapping);
        assert_eq!(alert.severity, Severity::Warning);
        assert_eq!(
            alert.summary,
            "Phone 100-ACME of tenant ACME moved between voip1 and voip2 3 times in the last 1 h."
        );
        assert!(alert.why.contains("unreachable"), "{}", alert.why);
        assert!(alert.why.contains("in-use state"), "{}", alert.why);
        assert_eq!(
            objects(&alert),
            vec![
                (ObjectKind::Tenant, "ACME"),
                (ObjectKind::Server, "voip1"),
                (ObjectKind::Server, "voip2"),
                (ObjectKind::Endpoint, "100-ACME"),
            ]
        );
    }

    #[test]
    fn flapping_phones_are_grouped_by_tenant() {
        let mut facts = cluster();
        facts.flapping = vec![
            flapper("100-ACME", Some("ACME"), 3),
            flapper("101-ACME", Some("acme"), 7),
            flapper("102-ACME", Some("ACME"), 1),
            flapper("9999", None, 4),
        ];
        let alerts = evaluate(&facts, &settings());
        let flapping = of_kind(&alerts, AlertKind::Flapping);
        assert_eq!(flapping.len(), 2);
        let acme = flapping
            .iter()
            .find(|a| a.concerns(ObjectKind::Tenant, "ACME"))
            .unwrap();
        assert_eq!(
            acme.summary,
            "2 phones of tenant ACME moved between voip1 and voip2 at least 3 times each in the \
             last 1 h (most: 101-ACME 7 times), e.g. 101-ACME, 100-ACME."
        );
        let nobody = flapping
            .iter()
            .find(|a| a.summary.contains("no known tenant"))
            .unwrap();
        assert_eq!(nobody.objects[0], ObjectRef::server("voip1"));
        assert!(nobody.concerns(ObjectKind::Endpoint, "9999"));
    }

    // --- failback lag ---

    fn away(endpoint: &str, tenant: &str, ua: Option<&str>, since: i64) -> AwayPhone {
        AwayPhone {
            endpoint: endpoint.into(),
            tenant: tenant.into(),
            server: "voip2".into(),
            home: "voip1".into(),
            user_agent: ua.map(str::to_string),
            away_since: since,
        }
    }

    #[test]
    fn failback_lag_is_grouped_by_home_and_user_agent() {
        let mut facts = cluster();
        facts.servers = vec![server("voip1"), server("voip2")];
        let long_ago = NOW - 7200;
        facts.away = vec![
            away(
                "100-ACME",
                "ACME",
                Some("Yealink SIP-T46S 66.86.0.15"),
                long_ago,
            ),
            away(
                "101-ACME",
                "ACME",
                Some("Yealink SIP-T46S 66.86.0.15"),
                long_ago,
            ),
            away(
                "200-BETA",
                "BETA",
                Some(" Yealink SIP-T46S 66.86.0.15 "),
                NOW - 3600,
            ),
            away(
                "102-ACME",
                "ACME",
                Some("PolycomVVX-VVX_400-UA/6.4"),
                long_ago,
            ),
            away("103-ACME", "ACME", None, long_ago),
            away("104-ACME", "ACME", Some(""), long_ago),
        ];
        let alerts = evaluate(&facts, &settings());
        let lag = of_kind(&alerts, AlertKind::FailbackLag);
        assert_eq!(lag.len(), 3, "{alerts:#?}");
        assert!(lag.iter().all(|a| a.severity == Severity::Warning));
        assert!(
            lag.iter()
                .all(|a| a.objects[0] == ObjectRef::server("voip1"))
        );

        let yealink = lag.iter().find(|a| a.summary.contains("Yealink")).unwrap();
        assert_eq!(
            yealink.summary,
            "3 phones with user agent \"Yealink SIP-T46S 66.86.0.15\" are still on voip2 instead \
             of their home server voip1, which has been reporting again for over 30 min \
             (longest lag 2 h)."
        );
        assert!(yealink.why.contains("never fail back by themselves"));
        assert!(yealink.why.contains("ACME and BETA"), "{}", yealink.why);
        assert_eq!(
            objects(yealink),
            vec![
                (ObjectKind::Server, "voip1"),
                (ObjectKind::Server, "voip2"),
                (ObjectKind::Tenant, "ACME"),
                (ObjectKind::Tenant, "BETA"),
                (ObjectKind::Endpoint, "100-ACME"),
                (ObjectKind::Endpoint, "101-ACME"),
                (ObjectKind::Endpoint, "200-BETA"),
            ]
        );
        let polycom = lag.iter().find(|a| a.summary.contains("Polycom")).unwrap();
        assert!(polycom.summary.starts_with("1 phone with user agent"));
        assert!(polycom.summary.contains(" is still on voip2"));
        let unknown = lag
            .iter()
            .find(|a| a.summary.contains("report no user agent"))
            .unwrap();
        assert!(
            unknown.summary.starts_with("2 phones"),
            "{}",
            unknown.summary
        );
    }

    #[test]
    fn failback_lag_waits_for_the_home_to_report_long_enough() {
        let mut facts = cluster();
        facts.servers = vec![server("voip1"), server("voip2")];
        let lagging = |facts: &ClusterFacts| {
            of_kind(&evaluate(facts, &settings()), AlertKind::FailbackLag).len()
        };

        facts.away = vec![away("100-ACME", "ACME", Some("Yealink"), NOW - 1800)];
        assert_eq!(lagging(&facts), 0, "exactly at the limit is not yet a lag");
        facts.away = vec![away("100-ACME", "ACME", Some("Yealink"), NOW - 1801)];
        assert_eq!(lagging(&facts), 1);

        // Away for hours, but voip1 came back only 10 minutes ago: failover, not lag.
        facts.servers[0].reporting_since = Some(NOW - 600);
        assert_eq!(lagging(&facts), 0);
        facts.servers[0].reporting_since = Some(NOW - 1801);
        assert_eq!(lagging(&facts), 1);

        // A home that is not reporting now cannot be failed back to.
        facts.servers[0].last_report_at = Some(NOW - 901);
        assert_eq!(lagging(&facts), 0);
        facts.servers[0].last_report_at = Some(NOW);
        facts.servers[0].state = "maintenance".into();
        assert_eq!(lagging(&facts), 0);
        // An unknown home, or a phone that is in fact home, is no lag either.
        facts.servers[0].state = "active".into();
        facts.away[0].home = "voip9".into();
        assert_eq!(lagging(&facts), 0);
        facts.away[0].home = "voip2".into();
        assert_eq!(lagging(&facts), 0);
    }

    // --- stale snapshots ---

    fn stale(age: i64) -> Option<Alert> {
        let mut facts = cluster();
        let mut s = server("voip2");
        s.last_report_at = Some(NOW - age);
        facts.servers = vec![server("voip1"), s];
        let alerts = evaluate(&facts, &settings());
        of_kind(&alerts, AlertKind::StaleSnapshot)
            .first()
            .map(|a| (*a).clone())
    }

    #[test]
    fn stale_snapshot_boundaries() {
        let severity = |age| stale(age).map(|a| a.severity);
        assert_eq!(severity(900), None);
        assert_eq!(severity(901), Some(Severity::Warning));
        assert_eq!(severity(3600), Some(Severity::Warning));
        assert_eq!(severity(3601), Some(Severity::Critical));
        // A report from the future (clock skew) is not stale.
        assert_eq!(severity(-300), None);
    }

    #[test]
    fn a_stale_server_is_named_with_its_age() {
        let alert = stale(47 * 60).unwrap();
        assert_eq!(
            alert.summary,
            "Server voip2 last reported its registrations 47 min ago (stale after 15 min)."
        );
        assert!(alert.why.contains("out of date"), "{}", alert.why);
        assert!(alert.action.contains("/api/v1/servers/voip2/registrations"));
        assert_eq!(objects(&alert), vec![(ObjectKind::Server, "voip2")]);
    }

    #[test]
    fn a_server_that_never_reported_is_stale_once_others_have() {
        let mut facts = cluster();
        let mut silent = server("voip2");
        silent.last_report_at = None;
        facts.servers = vec![server("voip1"), silent.clone()];
        let alert = only(&evaluate(&facts, &settings()), AlertKind::StaleSnapshot);
        assert_eq!(alert.severity, Severity::Warning);
        assert_eq!(
            alert.summary,
            "Server voip2 has never reported its registrations, while other servers have."
        );
        // Nobody has reported yet: a fresh install, not a stale server.
        facts.servers = vec![silent.clone(), silent.clone()];
        assert!(evaluate(&facts, &settings()).is_empty());
    }

    #[test]
    fn servers_out_of_service_are_never_stale() {
        let mut facts = cluster();
        let mut quiet = server("voip2");
        quiet.last_report_at = Some(NOW - 86_400);
        for state in ["maintenance", "retired"] {
            quiet.state = state.into();
            facts.servers = vec![server("voip1"), quiet.clone()];
            assert!(evaluate(&facts, &settings()).is_empty(), "{state}");
        }
    }

    // --- ordering and counts ---

    fn busy_cluster() -> ClusterFacts {
        let mut facts = cluster();
        let mut voip1 = server("voip1");
        voip1.capacity = Some(100);
        voip1.registered = 120;
        voip1.worst_n1 = Some(("voip2".into(), 150.0));
        let mut voip2 = server("voip2");
        voip2.last_report_at = Some(NOW - 1000);
        let mut voip3 = server("voip3");
        voip3.capacity = Some(100);
        voip3.registered = 85;
        facts.servers = vec![voip3, voip1, voip2];
        facts.pools = vec![pool("pbxA", "voip1", &[("voip1", 60), ("voip2", 40)])];
        facts.tenants = vec![
            tenant("ZETA", 10, &[("voip1", 9), ("voip2", 1)]),
            tenant("ACME", 10, &[("voip1", 4), ("voip2", 6)]),
            tenant("BETA", 10, &[("voip1", 7), ("voip2", 3)]),
            tenant("EMPTY", 5, &[]),
        ];
        facts.unmatched = vec![("voip1".into(), "x".into())];
        facts.flapping = vec![flapper("100-BETA", Some("BETA"), 5)];
        facts
    }

    #[test]
    fn alerts_are_ordered_by_severity_then_kind_then_first_object() {
        let alerts = evaluate(&busy_cluster(), &settings());
        let order: Vec<(Severity, AlertKind, &str)> = alerts
            .iter()
            .map(|a| (a.severity, a.kind, a.objects[0].name.as_str()))
            .collect();
        assert_eq!(
            order,
            vec![
                (Severity::Critical, AlertKind::TenantSplit, "ACME"),
                (Severity::Critical, AlertKind::Capacity, "voip1"),
                (Severity::Critical, AlertKind::CapacityN1, "voip1"),
                (Severity::Warning, AlertKind::TenantSplit, "BETA"),
                (Severity::Warning, AlertKind::PoolDrift, "pbxA"),
                (Severity::Warning, AlertKind::Capacity, "voip3"),
                (Severity::Warning, AlertKind::Unmatched, "voip1"),
                (Severity::Warning, AlertKind::Flapping, "BETA"),
                (Severity::Warning, AlertKind::StaleSnapshot, "voip2"),
                (Severity::Info, AlertKind::TenantSplit, "ZETA"),
                (Severity::Info, AlertKind::TenantNoPhones, "EMPTY"),
            ]
        );
        assert_eq!(
            count(&alerts),
            AlertCounts {
                critical: 3,
                warning: 6,
                info: 2
            }
        );
        assert_eq!(count(&alerts).total(), 11);
        assert_eq!(count(&alerts).worst(), Some(Severity::Critical));
        assert_eq!(count(&[]).worst(), None);
    }

    #[test]
    fn order_does_not_depend_on_the_order_of_the_facts() {
        let facts = busy_cluster();
        let mut reversed = facts.clone();
        reversed.servers.reverse();
        reversed.pools.reverse();
        reversed.tenants.reverse();
        reversed.unmatched.reverse();
        reversed.flapping.reverse();
        for t in &mut reversed.tenants {
            t.phones_by_server.reverse();
        }
        assert_eq!(
            evaluate(&facts, &settings()),
            evaluate(&reversed, &settings())
        );
    }

    #[test]
    fn nonsense_settings_do_not_make_every_rule_fire() {
        let broken = AlertSettings {
            normal_away_share: f64::NAN,
            capacity_warning: f64::NEG_INFINITY,
            stale_after_secs: i64::MIN,
            flap_moves: 0,
            flap_window_secs: i64::MIN,
            failback_after_secs: i64::MIN,
        };
        let mut facts = cluster();
        let mut s = server("voip1");
        s.capacity = Some(1000);
        s.registered = 500;
        facts.servers = vec![s];
        facts.tenants = vec![tenant("ACME", 10, &[("voip1", 9), ("voip2", 1)])];
        facts.flapping = vec![flapper("100-ACME", Some("ACME"), 0)];
        let alerts = evaluate(&facts, &broken);
        // Defaults stand in: 10% away is info, 50% load is fine, a phone that never moved
        // does not flap, a report from now is not stale.
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].kind, AlertKind::TenantSplit);
        assert_eq!(alerts[0].severity, Severity::Info);
    }

    #[test]
    fn formatting_helpers() {
        assert_eq!(percent(0.5), "50%");
        assert_eq!(percent(0.101), "10.1%");
        assert_eq!(percent(1.0 / 3.0), "33.3%");
        assert_eq!(percent(f64::NAN), "?%");
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(900), "15 min");
        assert_eq!(duration(7500), "2 h 5 min");
        assert_eq!(duration(3 * 86_400 + 4 * 3600), "3 d 4 h");
        assert_eq!(duration(-5), "0 s");
        assert_eq!(describe_chance(0.349), "only 34.9% of the time");
        assert_eq!(describe_chance(0.0), "practically never");
        assert_eq!(join_and(&names(&["a", "b", "c"])), "a, b and c");
    }

    // --- properties ---

    fn name_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("voip1".to_string()),
            Just("voip2".to_string()),
            Just("VOIP2".to_string()),
            Just("voip3.example.com".to_string()),
            Just(String::new()),
            "[a-z]{1,6}",
        ]
    }

    fn float_strategy() -> impl Strategy<Value = f64> {
        prop_oneof![0.0..5000.0f64, any::<f64>()]
    }

    fn time_strategy() -> impl Strategy<Value = i64> {
        prop_oneof![NOW - 10_000..NOW + 100, any::<i64>()]
    }

    fn counts_strategy() -> impl Strategy<Value = Vec<(String, u64)>> {
        prop::collection::vec(
            (name_strategy(), prop_oneof![0u64..200, any::<u64>()]),
            0..4,
        )
    }

    fn lint_strategy() -> impl Strategy<Value = PoolLint> {
        prop_oneof![
            Just(PoolLint::NoMembers),
            name_strategy().prop_map(|target| PoolLint::SingleServer { target }),
            (
                any::<u16>(),
                prop::collection::vec(name_strategy(), 0..3),
                float_strategy()
            )
                .prop_map(|(priority, servers, whole_chance_10)| {
                    PoolLint::SharedTopPriority {
                        priority,
                        servers,
                        whole_chance_10,
                    }
                }),
            (name_strategy(), "[a-z]{0,12}")
                .prop_map(|(target, state)| PoolLint::OutOfServiceMember { target, state }),
        ]
    }

    fn facts_strategy() -> impl Strategy<Value = ClusterFacts> {
        let server = (
            name_strategy(),
            prop_oneof![
                Just("active".to_string()),
                Just("maintenance".to_string()),
                "[a-z]{0,6}"
            ],
            prop::option::of(prop_oneof![0u32..2000, any::<u32>()]),
            prop::option::of(time_strategy()),
            prop::option::of(time_strategy()),
            prop_oneof![0u64..2000, any::<u64>()],
            float_strategy(),
            prop::option::of((name_strategy(), float_strategy())),
        )
            .prop_map(
                |(
                    name,
                    state,
                    capacity,
                    last_report_at,
                    reporting_since,
                    registered,
                    projected_normal,
                    worst_n1,
                )| {
                    ServerFacts {
                        name,
                        state,
                        capacity,
                        last_report_at,
                        reporting_since,
                        registered,
                        projected_normal,
                        worst_n1,
                    }
                },
            );
        let pool = (
            name_strategy(),
            prop::option::of(name_strategy()),
            prop::collection::vec(name_strategy(), 0..3),
            counts_strategy(),
            prop::collection::vec(lint_strategy(), 0..3),
        )
            .prop_map(
                |(name, home, member_servers, phones_by_server, lint)| PoolFacts {
                    name,
                    home,
                    member_servers,
                    phones_by_server,
                    lint,
                },
            );
        let tenant = (
            name_strategy(),
            prop::option::of(name_strategy()),
            prop::option::of(name_strategy()),
            prop::collection::vec(name_strategy(), 0..3),
            prop_oneof![0u32..50, any::<u32>()],
            counts_strategy(),
        )
            .prop_map(
                |(code, pool, home, pool_servers, expected_phones, phones_by_server)| TenantFacts {
                    code,
                    pool,
                    home,
                    pool_servers,
                    expected_phones,
                    phones_by_server,
                },
            );
        let flapping = (
            name_strategy(),
            prop::option::of(name_strategy()),
            prop_oneof![0u32..10, any::<u32>()],
            prop::collection::vec(name_strategy(), 0..3),
        )
            .prop_map(|(endpoint, tenant, moves, servers)| FlappingPhone {
                endpoint,
                tenant,
                moves,
                servers,
            });
        let away = (
            name_strategy(),
            name_strategy(),
            name_strategy(),
            name_strategy(),
            prop::option::of("[ A-Za-z0-9./-]{0,12}"),
            time_strategy(),
        )
            .prop_map(|(endpoint, tenant, server, home, user_agent, away_since)| {
                AwayPhone {
                    endpoint,
                    tenant,
                    server,
                    home,
                    user_agent,
                    away_since,
                }
            });
        (
            time_strategy(),
            prop::collection::vec(server, 0..4),
            prop::collection::vec(pool, 0..3),
            prop::collection::vec(tenant, 0..4),
            prop::collection::vec((name_strategy(), name_strategy()), 0..8),
            prop::collection::vec(flapping, 0..4),
            prop::collection::vec(away, 0..6),
            any::<bool>(),
        )
            .prop_map(
                |(now, servers, pools, tenants, unmatched, flapping, away, any_registrations)| {
                    ClusterFacts {
                        now,
                        servers,
                        pools,
                        tenants,
                        unmatched,
                        flapping,
                        away,
                        any_registrations,
                    }
                },
            )
    }

    fn settings_strategy() -> impl Strategy<Value = AlertSettings> {
        prop_oneof![
            3 => Just(AlertSettings::default()),
            1 => (
                float_strategy(),
                float_strategy(),
                any::<i64>(),
                any::<u32>(),
                any::<i64>(),
                any::<i64>()
            )
                .prop_map(|(a, b, c, d, e, f)| AlertSettings {
                    normal_away_share: a,
                    capacity_warning: b,
                    stale_after_secs: c,
                    flap_moves: d,
                    flap_window_secs: e,
                    failback_after_secs: f,
                }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn evaluate_never_panics_and_every_alert_names_an_object(
            facts in facts_strategy(),
            settings in settings_strategy(),
        ) {
            let alerts = evaluate(&facts, &settings);
            for alert in &alerts {
                prop_assert!(!alert.objects.is_empty(), "{:?}", alert);
                prop_assert!(!alert.summary.is_empty());
                prop_assert!(!alert.why.is_empty());
                prop_assert!(!alert.action.is_empty());
                prop_assert!(alert.kind != AlertKind::DnsDrift);
            }
            for pair in alerts.windows(2) {
                prop_assert!(alert_order(&pair[0], &pair[1]) != Ordering::Greater);
            }
            let counts = count(&alerts);
            prop_assert_eq!(counts.total(), alerts.len());
            prop_assert_eq!(evaluate(&facts, &settings), alerts);
        }

        #[test]
        fn split_status_adds_up(
            rows in prop::collection::vec((name_strategy(), 0u64..1_000_000), 0..5),
            home in prop::option::of(name_strategy()),
            normal in float_strategy(),
        ) {
            let t = TenantFacts { home, phones_by_server: rows, ..TenantFacts::default() };
            let settings = AlertSettings { normal_away_share: normal, ..AlertSettings::default() };
            if let Some(split) = tenant_split(&t, &settings) {
                prop_assert!(split.servers >= 2);
                prop_assert_eq!(split.home_phones.saturating_add(split.away_phones), split.total);
                prop_assert!((0.0..=1.0).contains(&split.away_share));
                prop_assert_eq!(
                    split.majority_away,
                    split.severity == Severity::Critical
                );
                let away_sum = split
                    .away_servers
                    .iter()
                    .fold(0u64, |sum, row| sum.saturating_add(row.phones));
                prop_assert_eq!(away_sum, split.away_phones);
            }
        }
    }
}
