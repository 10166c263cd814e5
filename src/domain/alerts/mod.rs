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
//!
//! Layout: this file holds the facts, settings and alert types, [`evaluate`] with the order alerts
//! are listed in, and the small name and count helpers the rules share. The rules live in one file
//! per kind of object: `tenants` (one alert per tenant: split or away, outside the pool, failback
//! lag, flapping, no pool, no phones as its facets), `pools` (one alert per pool: drift and lint),
//! `servers` (capacity now and after one failure, stale snapshots) and `phones` (unmatched
//! registrations, flapping of no known tenant, failback lag per server and user agent); `legend`
//! explains each kind once; `text` holds the helpers that phrase numbers, lists, durations and
//! odds for people. Everything here may import only `crate::domain` siblings, std and
//! pure crates (serde); no web framework, database or async runtime crates.

mod legend;
pub mod listing;
pub mod log;
mod phones;
mod pools;
mod servers;
mod tenants;
#[cfg(test)]
mod tests;
mod text;

pub use tenants::tenant_placement;

use phones::{failback_alerts, flapping_alerts, lagging, tenant_key, unmatched_alerts};
use pools::pool_alert;
use servers::{capacity_alerts, stale_alert};
use tenants::{TenantIndex, tenant_alert};

use crate::domain::srv::{PoolLint, Severity};

pub use crate::domain::moves::MoveFacts;

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
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
    /// Registrations on it matching no tenant (its newest snapshot).
    #[serde(default)]
    pub unmatched: u64,
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
    /// Its home servers: every server with a normal share above zero (the share engine, nothing
    /// down). One for a one-primary pool; several for a pool that shares its top priority.
    /// Empty means just `home`.
    #[serde(default)]
    pub home_servers: Vec<String>,
    pub member_servers: Vec<String>,
    /// Phones of the pool's tenants now registered, per server.
    pub phones_by_server: Vec<(String, u64)>,
    pub lint: Vec<PoolLint>,
    /// For a multi-primary pool, the share of a tenant's phones expected off its fullest server
    /// when phones pick servers by the pool's weights (1 − the largest normal share).
    #[serde(default)]
    pub expected_split_share: Option<f64>,
    /// Its members changed and phones may still follow the old records (see
    /// `domain::pool_change`): its drift is held back.
    #[serde(default)]
    pub changing: bool,
}

/// What the store knows about one tenant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantFacts {
    pub code: String,
    pub pool: Option<String>,
    /// Its pool's home server (the largest normal share).
    pub home: Option<String>,
    /// Its pool's home servers (see [`PoolFacts::home_servers`]); empty means just `home`.
    #[serde(default)]
    pub home_servers: Vec<String>,
    /// The member servers of its pool.
    pub pool_servers: Vec<String>,
    /// Its pool's members changed and phones may still follow the old records: its away, split,
    /// off-pool and failback findings are held back until the pool settles.
    #[serde(default)]
    pub pool_changing: bool,
    pub expected_phones: u32,
    /// Its phones now registered, per server.
    pub phones_by_server: Vec<(String, u64)>,
    /// Its move in flight, if any: phones on the old pool's home servers await re-provisioning.
    #[serde(default)]
    pub moving: Option<MoveFacts>,
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

/// Phones of one tenant and one user agent registered on a server that is not a home server of
/// the tenant's pool, away since before the failback grace period (the store groups them, so
/// the facts stay small however many phones are away).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwayPhones {
    pub tenant: String,
    /// Where they are registered.
    pub server: String,
    /// Where they should be (the pool's primary).
    pub home: String,
    pub user_agent: Option<String>,
    pub phones: u64,
    /// Unix seconds since which the earliest of them has been away without a break.
    pub away_since: i64,
    /// A few of their endpoints, as examples.
    pub examples: Vec<String>,
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
    pub away: Vec<AwayPhones>,
    /// False until the first snapshot arrives: before that "no phones" alerts are meaningless.
    pub any_registrations: bool,
}

/// What an alert is about. The declaration order is the order alerts of equal severity are
/// listed in.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    TenantSplit,
    TenantAway,
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
    MoveStalled,
}

impl AlertKind {
    /// Every kind, in listing order (for filters).
    pub const ALL: [AlertKind; 15] = [
        AlertKind::TenantSplit,
        AlertKind::TenantAway,
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
        AlertKind::MoveStalled,
    ];

    /// The serde name, for URLs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::TenantSplit => "tenant_split",
            AlertKind::TenantAway => "tenant_away",
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
            AlertKind::MoveStalled => "move_stalled",
        }
    }

    /// A heading for people.
    pub fn label(self) -> &'static str {
        match self {
            AlertKind::TenantSplit => "Split tenant",
            AlertKind::TenantAway => "Tenant away from home",
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
            AlertKind::MoveStalled => "Stalled tenant move",
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
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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

/// One aspect of an alert about one object: a tenant alert lists its split, away, off-pool,
/// failback and flapping facets (each with its own kind, severity and phones) instead of being
/// reported once per aspect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Facet {
    pub kind: AlertKind,
    pub severity: Severity,
    /// What this aspect is, one sentence with numbers.
    pub summary: String,
    /// Phones this aspect concerns.
    pub phones: u64,
}

/// One problem, ready to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Alert {
    /// Stable identity of the problem and its object (16 hex digits): the same while the
    /// problem lasts, whatever its numbers or severity do, so silences, acknowledgements and
    /// history can refer to it.
    pub id: String,
    pub kind: AlertKind,
    pub severity: Severity,
    /// Phones the problem affects (the ranking after severity).
    pub impact_phones: u64,
    /// The aspects it gathers, worst first: the facets of a tenant or pool alert; empty for an
    /// alert about one thing.
    pub facets: Vec<Facet>,
    /// Ids of the alerts that explain this one (its pool's configuration, a home server that
    /// stopped reporting), linked rather than repeated.
    #[serde(default)]
    pub related: Vec<String>,
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

/// The stable id of an alert from what identifies it (its kind or subject and object names, never
/// its numbers): the first 8 bytes of SHA-256 over the parts, lowercased and length-prefixed so
/// no two part lists collide by concatenation, in hex.
pub fn stable_id(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in parts {
        let part = part.trim().to_ascii_lowercase();
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Phones on one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServerPhones {
    pub server: String,
    pub phones: u64,
}

/// Where a tenant's phones are, judged by the one definition of home and away the whole
/// dashboard uses: a phone is at home on any home server of its tenant's pool (a server with a
/// normal share above zero), away anywhere else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TenantPlacement {
    /// Registered phones of the tenant.
    pub total: u64,
    /// Its pool's primary home (the largest normal share) or, for a tenant without a pool, the
    /// server holding most of its phones.
    pub home: String,
    /// Its pool's home servers (just `home` for a one-primary pool or a tenant without a pool).
    pub home_servers: Vec<String>,
    /// True when `home` is not the pool's but the server holding most of the phones.
    pub home_is_assumed: bool,
    /// Phones on a home server.
    pub home_phones: u64,
    pub away_phones: u64,
    /// `away_phones / total`.
    pub away_share: f64,
    /// Servers holding at least one of its phones.
    pub servers: usize,
    /// Its phones per server, most first.
    pub by_server: Vec<ServerPhones>,
    /// The servers that are not home servers holding its phones, most phones first.
    pub away_servers: Vec<ServerPhones>,
    /// Share of its phones off the server holding most of them: the split, measured only among
    /// the servers where its phones are.
    pub split_share: f64,
    /// Its pool sends phones to several servers by design (the split that causes is the pool's
    /// lint, not the tenant's problem).
    pub multi_primary: bool,
    /// More than half of its phones are away from home.
    pub majority_away: bool,
    pub status: PlacementStatus,
}

impl TenantPlacement {
    /// The severity of its placement problem; `None` at home or within the normal band.
    pub fn severity(&self) -> Option<Severity> {
        match self.status {
            PlacementStatus::AtHome | PlacementStatus::WithinNormal => None,
            PlacementStatus::Split | PlacementStatus::Away if self.majority_away => {
                Some(Severity::Critical)
            }
            PlacementStatus::Split | PlacementStatus::Away => Some(Severity::Warning),
        }
    }
}

/// What a tenant's placement amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlacementStatus {
    /// Every phone on a home server (for a multi-primary pool, however they spread over them).
    AtHome,
    /// Some phones away or split, at most the normal away share: not an alert.
    WithinNormal,
    /// A one-primary tenant on several servers, more than the normal share away.
    Split,
    /// More than the normal share on servers that are not home servers, not split (a whole
    /// tenant on its backup, or a multi-primary tenant off its home servers).
    Away,
}

impl PlacementStatus {
    pub fn label(self) -> &'static str {
        match self {
            PlacementStatus::AtHome => "at home",
            PlacementStatus::WithinNormal => "within normal",
            PlacementStatus::Split => "split",
            PlacementStatus::Away => "away from home",
        }
    }
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

/// Tenants and pools whose phones are off home or split, but within the normal away share
/// (Settings): shown as "within normal" in counts and on their pages, never listed as alerts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WithinNormal {
    pub tenants: u64,
    pub pools: u64,
    /// Phones away from home in those tenants.
    pub away_phones: u64,
}

/// Everything one evaluation found: the alerts, most severe and widest first, what stayed
/// within the normal band, and where each tenant's phones are (for lists that filter and show
/// it without reading the counts again).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AlertBook {
    pub alerts: Vec<Alert>,
    pub within_normal: WithinNormal,
    /// By lowercased tenant code.
    #[serde(skip)]
    pub placements: std::collections::HashMap<String, PlacementSummary>,
}

/// A tenant's placement in a few figures: what the tenants list shows and filters by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlacementSummary {
    /// Registered phones.
    pub registered: u64,
    /// Phones away from its pool's home servers.
    pub away: u64,
    /// `None` while none of its phones is registered.
    pub status: Option<PlacementStatus>,
    /// Lowercased names of the servers holding its phones.
    pub servers: Vec<String>,
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

/// Every alert the facts call for, ranked by impact: most severe first, then the most phones
/// affected, then by kind and the names of the objects (then the summary, so the order is total
/// and the same for the same facts whatever order the store listed them in). One alert per
/// problem and object: a tenant's facets (split or away, outside its pool, failback lag,
/// flapping, no pool, no phones) make one tenant alert, a pool's drift and lint one pool alert.
/// What stays within the normal away share is counted, not listed.
pub fn evaluate(facts: &ClusterFacts, settings: &AlertSettings) -> AlertBook {
    let limits = Limits::new(settings);
    let mut alerts = Vec::new();
    let mut within_normal = WithinNormal::default();
    let mut placements = std::collections::HashMap::with_capacity(facts.tenants.len());
    // Tenants of a pool whose members are changing lag behind old records, not on failback.
    let held: std::collections::HashSet<String> = facts
        .tenants
        .iter()
        .filter(|t| t.pool_changing)
        .map(|t| t.code.trim().to_ascii_lowercase())
        .collect();
    let mut lagging = lagging(facts, &limits);
    if !held.is_empty() {
        lagging.retain(|g| !held.contains(&g.tenant.trim().to_ascii_lowercase()));
    }
    // Phones of a moving tenant still on its old pool's home servers await re-provisioning:
    // not a failback lag.
    let moving: std::collections::HashMap<String, &TenantFacts> = facts
        .tenants
        .iter()
        .filter(|t| t.moving.is_some())
        .map(|t| (t.code.trim().to_ascii_lowercase(), t))
        .collect();
    if !moving.is_empty() {
        lagging.retain(|group| {
            !moving
                .get(&group.tenant.trim().to_ascii_lowercase())
                .is_some_and(|t| tenants::awaiting_on(t, &group.server))
        });
    }
    let mut index = TenantIndex {
        lagging: std::collections::HashMap::new(),
        flapping: std::collections::HashMap::new(),
        not_serving: facts
            .servers
            .iter()
            .filter(|s| !tenants::serving(facts, &limits, &s.name))
            .map(|s| s.name.as_str())
            .collect(),
    };
    for group in &lagging {
        index
            .lagging
            .entry(group.tenant.trim().to_ascii_lowercase())
            .or_default()
            .push(*group);
    }
    for phone in facts
        .flapping
        .iter()
        .filter(|p| p.moves >= limits.flap_moves)
    {
        if let Some(key) = tenant_key(phone) {
            index.flapping.entry(key).or_default().push(phone);
        }
    }
    for tenant in &facts.tenants {
        alerts.extend(tenant_alert(
            tenant,
            facts,
            settings,
            &limits,
            &index,
            &mut within_normal,
            &mut placements,
        ));
    }
    for pool in &facts.pools {
        alerts.extend(pool_alert(pool, facts, &limits, &mut within_normal));
    }
    for server in &facts.servers {
        capacity_alerts(server, &limits, &mut alerts);
        stale_alert(server, facts, &limits, &mut alerts);
    }
    unmatched_alerts(&facts.unmatched, &facts.servers, &mut alerts);
    flapping_alerts(&facts.flapping, &limits, &mut alerts);
    failback_alerts(facts, &lagging, &mut alerts, &limits);
    sort(&mut alerts);
    // After ranking: causes are then listed worst first, whatever order the facts came in.
    link_causes(&mut alerts);
    AlertBook {
        alerts,
        within_normal,
        placements,
    }
}

/// Ranks alerts by impact (see [`evaluate`]); also for alerts added after it (the DNS check's).
pub fn sort(alerts: &mut [Alert]) {
    alerts.sort_by(impact_order);
}

/// Links each tenant alert to the alerts that explain it instead of repeating them: its pool's
/// alert when the pool's configuration is at fault, and the stale-report alert of a server it
/// names.
fn link_causes(alerts: &mut [Alert]) {
    let mut causes: Vec<(ObjectKind, String, String)> = Vec::new();
    for alert in alerts.iter() {
        let main = &alert.objects[0];
        let explains = match alert.kind {
            AlertKind::StaleSnapshot => main.kind == ObjectKind::Server,
            _ => {
                main.kind == ObjectKind::Pool
                    && alert.facets.iter().any(|f| f.kind == AlertKind::PoolLint)
            }
        };
        if explains {
            causes.push((main.kind, main.name.to_ascii_lowercase(), alert.id.clone()));
        }
    }
    if causes.is_empty() {
        return;
    }
    for alert in alerts.iter_mut().filter(|a| {
        a.objects
            .first()
            .is_some_and(|o| o.kind == ObjectKind::Tenant)
    }) {
        for (kind, name, id) in &causes {
            if alert.concerns(*kind, name) && !alert.related.contains(id) {
                alert.related.push(id.clone());
            }
        }
    }
}

/// The ranking by impact: severity (worst first), phones affected (most first), kind, then the
/// objects' names; total (down to the texts and the id), so equal inputs list the same way every
/// time. [`evaluate`] and the alerts listing both rank by it.
pub fn impact_order(a: &Alert, b: &Alert) -> Ordering {
    b.severity
        .cmp(&a.severity)
        .then(b.impact_phones.cmp(&a.impact_phones))
        .then(a.kind.cmp(&b.kind))
        .then_with(|| {
            // Object names pairwise, case-insensitively first: no string is built per
            // comparison (this runs n log n times over thousands of alerts).
            let mut x = a.objects.iter();
            let mut y = b.objects.iter();
            loop {
                match (x.next(), y.next()) {
                    (None, None) => return Ordering::Equal,
                    (None, Some(_)) => return Ordering::Less,
                    (Some(_), None) => return Ordering::Greater,
                    (Some(p), Some(q)) => match cmp_names(&p.name, &q.name) {
                        Ordering::Equal => {}
                        other => return other,
                    },
                }
            }
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
        .then_with(|| a.id.cmp(&b.id))
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Server, pool and tenant names are stored as typed; the store treats them case-insensitively.
fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Case-insensitive order, ties by the names as written; compares byte by byte without
/// allocating.
fn cmp_names(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
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
