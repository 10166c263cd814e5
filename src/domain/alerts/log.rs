//! What the admins do with alerts and what is remembered of them: silences (Alertmanager's
//! kind: every alert matching a filter is hidden for a while, with a reason), acknowledgements,
//! the transitions of the alerts over time (raised, severity changed, cleared) and the JSON a
//! webhook receives for each.
//!
//! Pure, like the rest of [`crate::domain::alerts`]: the caller passes `now`; storing, the
//! lease that lets one instance record, and sending are the store's and the application's.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Alert, AlertKind, ObjectKind, ObjectRef, same_name, stable_id};
use crate::domain::FieldErrors;
use crate::domain::srv::Severity;

/// The shortest and the longest silence, in minutes (one minute, ninety days).
pub const MIN_SILENCE_MINUTES: i64 = 1;
pub const MAX_SILENCE_MINUTES: i64 = 90 * 24 * 60;
/// The longest reason or acknowledgement note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// The longest object name a silence matches (the longest DNS name).
const MAX_NAME_CHARS: usize = 253;

/// A silence: every alert matching all of its matchers is left out of the default view and the
/// counts (still listed under "silenced") from its creation until `ends_at` or its removal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Silence {
    pub id: i64,
    /// An alert kind by its serde name (`tenant_split`); kept as text so that a silence of a
    /// kind a later release no longer raises still reads (and matches nothing).
    pub kind: Option<String>,
    pub server: Option<String>,
    pub pool: Option<String>,
    pub tenant: Option<String>,
    /// One alert by its stable id ("silence this alert").
    pub alert_id: Option<String>,
    pub reason: String,
    pub created_by: String,
    pub created_at: i64,
    pub ends_at: i64,
    pub removed_at: Option<i64>,
    pub removed_by: Option<String>,
}

impl Silence {
    /// Whether the silence is in force at `now`: not removed and not yet ended.
    pub fn is_active(&self, now: i64) -> bool {
        self.removed_at.is_none() && now < self.ends_at
    }

    /// Whether it silences `alert` at `now`: it is active and every matcher it has matches. A
    /// kind matches the alert's kind or the kind of any of its facets (a silence of splits also
    /// silences the tenant alert that has a split among its facets); a server, pool or tenant
    /// matches when the alert concerns that object, names compared without regard to case.
    pub fn matches(&self, alert: &Alert, now: i64) -> bool {
        if !self.is_active(now) {
            return false;
        }
        let kind_matches = |kind: &str| {
            alert.kind.as_str().eq_ignore_ascii_case(kind)
                || alert
                    .facets
                    .iter()
                    .any(|f| f.kind.as_str().eq_ignore_ascii_case(kind))
        };
        let object = |kind: ObjectKind, name: &Option<String>| {
            name.as_deref()
                .is_none_or(|name| alert.concerns(kind, name))
        };
        self.kind.as_deref().is_none_or(kind_matches)
            && object(ObjectKind::Server, &self.server)
            && object(ObjectKind::Pool, &self.pool)
            && object(ObjectKind::Tenant, &self.tenant)
            && self
                .alert_id
                .as_deref()
                .is_none_or(|id| same_name(&alert_id(alert), id))
    }

    /// Its matchers for people: `[("kind", "tenant_split"), ("tenant", "ACME")]`.
    pub fn matchers(&self) -> Vec<(&'static str, &str)> {
        [
            ("kind", &self.kind),
            ("server", &self.server),
            ("pool", &self.pool),
            ("tenant", &self.tenant),
            ("alert", &self.alert_id),
        ]
        .into_iter()
        .filter_map(|(label, value)| value.as_deref().map(|v| (label, v)))
        .collect()
    }
}

/// A silence as typed in the form or sent to the API, every field as text ("" = not given).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SilenceInput {
    pub kind: String,
    pub server: String,
    pub pool: String,
    pub tenant: String,
    pub alert_id: String,
    /// How long it lasts, in minutes.
    pub minutes: String,
    pub reason: String,
}

/// A validated silence, ready to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewSilence {
    pub kind: Option<AlertKind>,
    pub server: Option<String>,
    pub pool: Option<String>,
    pub tenant: Option<String>,
    pub alert_id: Option<String>,
    pub reason: String,
    pub created_at: i64,
    pub ends_at: i64,
}

impl SilenceInput {
    /// The silence this input asks for, starting at `now`; or every problem, by field: no
    /// matcher at all (`matchers`), an unknown kind, a name or alert id that cannot be one, a
    /// duration outside one minute to ninety days (`minutes`), a missing or overlong reason.
    pub fn validate(&self, now: i64) -> Result<NewSilence, FieldErrors> {
        let mut e = FieldErrors::default();
        let kind = match self.kind.trim() {
            "" => None,
            k => e.check(
                "kind",
                k.parse::<AlertKind>().map_err(|err| err.to_string()),
            ),
        };
        let server = e.check("server", name(&self.server)).flatten();
        let pool = e.check("pool", name(&self.pool)).flatten();
        let tenant = e.check("tenant", name(&self.tenant)).flatten();
        let alert_id = match self.alert_id.trim() {
            "" => None,
            id => e.check("alert_id", parse_alert_id(id)),
        };
        if self.kind.trim().is_empty()
            && [&server, &pool, &tenant, &alert_id]
                .iter()
                .all(|m| m.is_none())
            && e.is_empty()
        {
            e.add(
                "matchers",
                "give at least one of kind, server, pool, tenant or alert: a silence of \
                 everything would hide every alert",
            );
        }
        let minutes = match self.minutes.trim().parse::<i64>() {
            Ok(m) if (MIN_SILENCE_MINUTES..=MAX_SILENCE_MINUTES).contains(&m) => Some(m),
            _ => {
                e.add(
                    "minutes",
                    format!(
                        "must be a whole number of minutes from {MIN_SILENCE_MINUTES} to \
                         {MAX_SILENCE_MINUTES} (90 days)"
                    ),
                );
                None
            }
        };
        let reason = e.check("reason", note(&self.reason, true));
        e.finish()?;
        let (Some(minutes), Some(reason)) = (minutes, reason) else {
            unreachable!("a field without a value has an error");
        };
        Ok(NewSilence {
            kind,
            server,
            pool,
            tenant,
            alert_id,
            reason,
            created_at: now,
            ends_at: now + minutes * 60,
        })
    }
}

/// A matcher's name: trimmed, `None` when empty; refused when it cannot be a name.
fn name(text: &str) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > MAX_NAME_CHARS {
        return Err(format!("must be at most {MAX_NAME_CHARS} characters"));
    }
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("must be one name, without spaces or control characters".into());
    }
    Ok(Some(text.to_string()))
}

/// An alert id as [`stable_id`] makes them: 16 hex digits (lowercased).
pub fn parse_alert_id(text: &str) -> Result<String, String> {
    let id = text.trim();
    if id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(id.to_ascii_lowercase())
    } else {
        Err("must be an alert id: 16 hexadecimal digits, as the alerts page and API show it".into())
    }
}

/// A reason or note: trimmed, at most [`MAX_NOTE_CHARS`], no control characters but line
/// breaks and tabs; `required` refuses an empty one.
pub fn note(text: &str, required: bool) -> Result<String, String> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err("is required: say why, for whoever finds the alert silenced".into());
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(format!("must be at most {MAX_NOTE_CHARS} characters"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("must not contain control characters".into());
    }
    Ok(text.to_string())
}

/// An acknowledgement: someone has seen the alert and is on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ack {
    pub alert_id: String,
    pub by: String,
    pub at: i64,
    pub note: String,
}

/// The id an alert is known by: its own, or (for an alert built without one) the stable id of
/// its key, as [`super::evaluate`] assigns it.
pub fn alert_id(alert: &Alert) -> Cow<'_, str> {
    if alert.id.is_empty() {
        Cow::Owned(stable_id(&[&alert.key()]))
    } else {
        Cow::Borrowed(&alert.id)
    }
}

/// An alert as it was last recorded (raised and not yet cleared).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedAlert {
    pub alert_id: String,
    /// The kind's serde name.
    pub kind: String,
    pub severity: Severity,
    /// When it was raised.
    pub since: i64,
    /// When it reached its current severity.
    pub severity_since: i64,
    pub summary: String,
    pub objects: Vec<ObjectRef>,
    pub impact_phones: u64,
}

/// What happened to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransitionKind {
    Raised,
    SeverityChanged,
    Cleared,
}

impl TransitionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransitionKind::Raised => "raised",
            TransitionKind::SeverityChanged => "severity_changed",
            TransitionKind::Cleared => "cleared",
        }
    }

    /// For people: "raised", "severity changed", "cleared".
    pub fn label(self) -> &'static str {
        match self {
            TransitionKind::SeverityChanged => "severity changed",
            other => other.as_str(),
        }
    }
}

impl fmt::Display for TransitionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TransitionKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "raised" => Ok(TransitionKind::Raised),
            "severity_changed" => Ok(TransitionKind::SeverityChanged),
            "cleared" => Ok(TransitionKind::Cleared),
            other => Err(format!(
                "unknown transition {other:?}: raised, severity_changed or cleared"
            )),
        }
    }
}

/// A severity by its name (`info`, `warning`, `critical`), as stored and sent.
pub fn parse_severity(s: &str) -> Result<Severity, String> {
    match s {
        "info" => Ok(Severity::Info),
        "warning" => Ok(Severity::Warning),
        "critical" => Ok(Severity::Critical),
        other => Err(format!(
            "unknown severity {other:?}: info, warning or critical"
        )),
    }
}

/// One transition of one alert, with the alert as it was then (for a cleared alert: as last
/// recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub transition: TransitionKind,
    pub alert_id: String,
    pub kind: String,
    pub severity: Severity,
    pub at: i64,
    pub summary: String,
    pub objects: Vec<ObjectRef>,
    pub impact_phones: u64,
}

impl Transition {
    fn of(alert: &Alert, transition: TransitionKind, at: i64) -> Self {
        Self {
            transition,
            alert_id: alert_id(alert).into_owned(),
            kind: alert.kind.as_str().to_string(),
            severity: alert.severity,
            at,
            summary: alert.summary.clone(),
            objects: alert.objects.clone(),
            impact_phones: alert.impact_phones,
        }
    }
}

/// The transitions from the alerts as last recorded to the alerts of now: every current alert
/// not recorded is raised, every recorded one whose severity differs changed severity, every
/// recorded one no longer current is cleared. Raised and changed come in the order of
/// `current`, cleared ones in the order of `previous`. An id listed twice in `current` counts
/// once, at its first (most severe) listing.
pub fn transitions(previous: &[RecordedAlert], current: &[Alert], now: i64) -> Vec<Transition> {
    let recorded: HashMap<&str, &RecordedAlert> =
        previous.iter().map(|r| (r.alert_id.as_str(), r)).collect();
    let mut seen: HashSet<Cow<'_, str>> = HashSet::with_capacity(current.len());
    let mut out = Vec::new();
    for alert in current {
        let id = alert_id(alert);
        match recorded.get(id.as_ref()) {
            _ if seen.contains(&id) => continue,
            None => out.push(Transition::of(alert, TransitionKind::Raised, now)),
            Some(r) if r.severity != alert.severity => {
                out.push(Transition::of(alert, TransitionKind::SeverityChanged, now));
            }
            Some(_) => {}
        }
        seen.insert(id);
    }
    for r in previous {
        if !seen.contains(r.alert_id.as_str()) {
            out.push(Transition {
                transition: TransitionKind::Cleared,
                alert_id: r.alert_id.clone(),
                kind: r.kind.clone(),
                severity: r.severity,
                at: now,
                summary: r.summary.clone(),
                objects: r.objects.clone(),
                impact_phones: r.impact_phones,
            });
        }
    }
    out
}

/// The current alerts that are recorded at the same severity but whose summary, objects or
/// phones changed: their recorded state is refreshed, without an event.
pub fn refreshed<'a>(previous: &[RecordedAlert], current: &'a [Alert]) -> Vec<&'a Alert> {
    let recorded: HashMap<&str, &RecordedAlert> =
        previous.iter().map(|r| (r.alert_id.as_str(), r)).collect();
    let mut seen = HashSet::new();
    current
        .iter()
        .filter(|a| seen.insert(alert_id(a)))
        .filter(|a| {
            recorded.get(alert_id(a).as_ref()).is_some_and(|r| {
                r.severity == a.severity
                    && (r.summary != a.summary
                        || r.objects != a.objects
                        || r.impact_phones != a.impact_phones)
            })
        })
        .collect()
}

/// The objects of an alert its history is found under: servers, pools and tenants (not
/// endpoints), as (kind, lowercased name), each once.
pub fn history_keys(objects: &[ObjectRef]) -> Vec<(ObjectKind, String)> {
    let mut keys: Vec<(ObjectKind, String)> = objects
        .iter()
        .filter(|o| o.kind != ObjectKind::Endpoint)
        .map(|o| (o.kind, o.name.trim().to_ascii_lowercase()))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// One stored transition, with its delivery to the webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AlertEvent {
    pub id: i64,
    pub alert_id: String,
    pub transition: TransitionKind,
    pub kind: String,
    pub severity: Severity,
    pub at: i64,
    pub summary: String,
    pub objects: Vec<ObjectRef>,
    pub impact_phones: u64,
    /// When a webhook receiver accepted it.
    pub delivered_at: Option<i64>,
    /// Deliveries tried so far.
    pub attempts: u32,
    /// When the next delivery is due; `None`: not to be delivered (no webhook when recorded).
    pub next_attempt_at: Option<i64>,
    pub last_error: Option<String>,
}

impl AlertEvent {
    /// The label of its kind for people, or the stored name of a kind this release does not
    /// know.
    pub fn kind_label(&self) -> &str {
        self.kind
            .parse::<AlertKind>()
            .map(AlertKind::label)
            .unwrap_or(&self.kind)
    }
}

/// The JSON body a webhook receives for one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookEvent {
    /// Unique per event and the same on every delivery of it: `<alert id>-<event number>`. A
    /// receiver drops an id it has seen (delivery is at least once).
    pub id: String,
    pub transition: TransitionKind,
    pub alert_id: String,
    pub kind: String,
    pub severity: Severity,
    pub summary: String,
    pub impact_phones: u64,
    pub objects: Vec<ObjectRef>,
    /// When the transition was detected, RFC 3339 (UTC).
    pub at: String,
}

impl WebhookEvent {
    pub fn of(event: &AlertEvent) -> Self {
        Self {
            id: format!("{}-{}", event.alert_id, event.id),
            transition: event.transition,
            alert_id: event.alert_id.clone(),
            kind: event.kind.clone(),
            severity: event.severity,
            summary: event.summary.clone(),
            impact_phones: event.impact_phones,
            objects: event.objects.clone(),
            at: rfc3339(event.at),
        }
    }
}

/// A Unix time as RFC 3339 in UTC (`2026-03-01T14:05:00Z`).
pub fn rfc3339(at: i64) -> String {
    jiff::Timestamp::from_second(at)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| at.to_string())
}

/// The first retry of a failed delivery waits this long; each further one twice as long as the
/// one before, up to [`RETRY_MAX_SECS`].
pub const RETRY_FIRST_SECS: i64 = 10;
pub const RETRY_MAX_SECS: i64 = 3600;

/// Seconds to wait after the `failures`-th failed delivery of an event (1: the first): 10 s,
/// 20 s, 40 s, … capped at an hour.
pub fn retry_delay(failures: u32) -> i64 {
    let doublings = failures.saturating_sub(1).min(20);
    (RETRY_FIRST_SECS << doublings).min(RETRY_MAX_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alerts::Facet;

    fn alert(id: &str, kind: AlertKind, severity: Severity, objects: Vec<ObjectRef>) -> Alert {
        Alert {
            id: id.into(),
            kind,
            severity,
            impact_phones: 10,
            facets: Vec::new(),
            related: Vec::new(),
            summary: format!("{} is wrong", objects[0].name),
            why: String::new(),
            action: String::new(),
            objects,
        }
    }

    fn split(tenant: &str, server: &str) -> Alert {
        alert(
            &stable_id(&["tenant", tenant]),
            AlertKind::TenantSplit,
            Severity::Warning,
            vec![
                ObjectRef::tenant(tenant),
                ObjectRef::pool("pbxA"),
                ObjectRef::server(server),
            ],
        )
    }

    fn silence() -> Silence {
        Silence {
            id: 1,
            kind: None,
            server: None,
            pool: None,
            tenant: None,
            alert_id: None,
            reason: "maintenance".into(),
            created_by: "admin".into(),
            created_at: 1000,
            ends_at: 2000,
            removed_at: None,
            removed_by: None,
        }
    }

    #[test]
    fn a_silence_matches_by_kind_facet_objects_and_id_while_active() {
        let acme = split("ACME", "voip2");
        let by_tenant = Silence {
            tenant: Some("acme".into()),
            ..silence()
        };
        assert!(by_tenant.matches(&acme, 1500), "names ignore case");
        assert!(!by_tenant.matches(&split("BETA", "voip2"), 1500));
        assert!(!by_tenant.matches(&acme, 2000), "ended at ends_at");
        let removed = Silence {
            removed_at: Some(1200),
            removed_by: Some("admin".into()),
            ..by_tenant.clone()
        };
        assert!(!removed.matches(&acme, 1500));

        let all_of = Silence {
            tenant: Some("ACME".into()),
            server: Some("voip1".into()),
            ..silence()
        };
        assert!(!all_of.matches(&acme, 1500), "every matcher must match");
        assert!(all_of.matches(&split("ACME", "VOIP1"), 1500));

        let by_kind = Silence {
            kind: Some("outside_pool".into()),
            ..silence()
        };
        assert!(!by_kind.matches(&acme, 1500));
        let mut with_facet = acme.clone();
        with_facet.facets.push(Facet {
            kind: AlertKind::OutsidePool,
            severity: Severity::Warning,
            summary: "2 phones on voip9".into(),
            phones: 2,
        });
        assert!(by_kind.matches(&with_facet, 1500), "a facet's kind matches");

        let by_id = Silence {
            alert_id: Some(acme.id.to_uppercase()),
            ..silence()
        };
        assert!(by_id.matches(&acme, 1500));
        assert!(!by_id.matches(&split("BETA", "voip2"), 1500));
        let unknown_kind = Silence {
            kind: Some("retired_kind".into()),
            ..silence()
        };
        assert!(!unknown_kind.matches(&acme, 1500));
    }

    fn input(tenant: &str, minutes: &str, reason: &str) -> SilenceInput {
        SilenceInput {
            tenant: tenant.into(),
            minutes: minutes.into(),
            reason: reason.into(),
            ..SilenceInput::default()
        }
    }

    #[test]
    fn a_new_silence_needs_a_matcher_a_duration_and_a_reason() {
        let ok = input("  ACME ", "60", "  moving it tonight ")
            .validate(1000)
            .unwrap();
        assert_eq!(ok.tenant.as_deref(), Some("ACME"));
        assert_eq!(ok.reason, "moving it tonight");
        assert_eq!((ok.created_at, ok.ends_at), (1000, 1000 + 3600));

        let none = input("", "60", "why").validate(0).unwrap_err();
        assert!(none.get("matchers").is_some(), "{none}");
        for bad in ["0", "-5", "129601", "1.5", "", "soon"] {
            let e = input("ACME", bad, "why").validate(0).unwrap_err();
            assert!(e.get("minutes").is_some(), "{bad}: {e}");
        }
        assert!(
            input("ACME", "129600", "why").validate(0).is_ok(),
            "90 days"
        );
        assert!(input("ACME", "1", "why").validate(0).is_ok(), "a minute");
        let e = input("ACME", "60", "   ").validate(0).unwrap_err();
        assert!(e.get("reason").is_some());
        let e = input("ACME", "60", &"x".repeat(501))
            .validate(0)
            .unwrap_err();
        assert!(e.get("reason").is_some());
        let e = input("AC ME", "60", "why").validate(0).unwrap_err();
        assert!(e.get("tenant").is_some());
        let e = SilenceInput {
            kind: "nonsense".into(),
            ..input("", "60", "why")
        }
        .validate(0)
        .unwrap_err();
        assert!(
            e.get("kind").is_some() && e.get("matchers").is_none(),
            "{e}"
        );
        let e = SilenceInput {
            alert_id: "xyz".into(),
            ..input("", "60", "why")
        }
        .validate(0)
        .unwrap_err();
        assert!(e.get("alert_id").is_some());
        let by_id = SilenceInput {
            alert_id: "00AA11bb22cc33DD".into(),
            ..input("", "60", "why")
        }
        .validate(0)
        .unwrap();
        assert_eq!(by_id.alert_id.as_deref(), Some("00aa11bb22cc33dd"));
        let by_kind = SilenceInput {
            kind: "Tenant_Split".into(),
            ..input("", "60", "why")
        }
        .validate(0)
        .unwrap();
        assert_eq!(by_kind.kind, Some(AlertKind::TenantSplit));
    }

    fn recorded(a: &Alert, since: i64) -> RecordedAlert {
        RecordedAlert {
            alert_id: a.id.clone(),
            kind: a.kind.as_str().into(),
            severity: a.severity,
            since,
            severity_since: since,
            summary: a.summary.clone(),
            objects: a.objects.clone(),
            impact_phones: a.impact_phones,
        }
    }

    #[test]
    fn transitions_raise_change_and_clear() {
        let acme = split("ACME", "voip2");
        let beta = split("BETA", "voip2");
        let gamma = split("GAMMA", "voip2");
        let raised = transitions(&[], &[acme.clone(), beta.clone()], 100);
        assert_eq!(
            raised
                .iter()
                .map(|t| (t.transition, t.alert_id.as_str(), t.at))
                .collect::<Vec<_>>(),
            vec![
                (TransitionKind::Raised, acme.id.as_str(), 100),
                (TransitionKind::Raised, beta.id.as_str(), 100)
            ]
        );
        let previous = vec![recorded(&acme, 100), recorded(&beta, 100)];
        assert!(transitions(&previous, &[acme.clone(), beta.clone()], 130).is_empty());

        let mut worse = acme.clone();
        worse.severity = Severity::Critical;
        worse.summary = "ACME is mostly away".into();
        let next = transitions(&previous, &[worse.clone(), gamma.clone()], 160);
        assert_eq!(
            next.iter()
                .map(|t| (t.transition, t.alert_id.as_str()))
                .collect::<Vec<_>>(),
            vec![
                (TransitionKind::SeverityChanged, acme.id.as_str()),
                (TransitionKind::Raised, gamma.id.as_str()),
                (TransitionKind::Cleared, beta.id.as_str()),
            ]
        );
        assert_eq!(next[0].severity, Severity::Critical);
        assert_eq!(next[0].summary, "ACME is mostly away");
        assert_eq!(
            next[2].summary, beta.summary,
            "a cleared alert as last recorded"
        );
        assert_eq!(next[2].at, 160);

        // The same id twice: one alert.
        assert_eq!(transitions(&[], &[acme.clone(), acme.clone()], 1).len(), 1);
    }

    #[test]
    fn changed_numbers_refresh_the_record_without_a_transition() {
        let acme = split("ACME", "voip2");
        let previous = vec![recorded(&acme, 100)];
        let mut more = acme.clone();
        more.impact_phones = 12;
        more.summary = "ACME: 12 phones away".into();
        assert!(transitions(&previous, std::slice::from_ref(&more), 200).is_empty());
        assert_eq!(
            refreshed(&previous, std::slice::from_ref(&more)),
            vec![&more]
        );
        assert!(refreshed(&previous, std::slice::from_ref(&acme)).is_empty());
    }

    #[test]
    fn an_alert_without_an_id_is_known_by_the_id_of_its_key() {
        let mut a = split("ACME", "voip2");
        a.id.clear();
        let id = alert_id(&a).into_owned();
        assert_eq!(id, stable_id(&[&a.key()]));
        assert_eq!(transitions(&[], &[a], 1)[0].alert_id, id);
    }

    #[test]
    fn history_keys_name_servers_pools_and_tenants_once() {
        let keys = history_keys(&[
            ObjectRef::tenant("ACME"),
            ObjectRef::server("voip1"),
            ObjectRef::server("VOIP1"),
            ObjectRef::endpoint("100-ACME"),
        ]);
        assert_eq!(
            keys,
            vec![
                (ObjectKind::Server, "voip1".to_string()),
                (ObjectKind::Tenant, "acme".to_string())
            ]
        );
    }

    #[test]
    fn webhook_events_carry_a_stable_id_and_rfc3339_times() {
        let event = AlertEvent {
            id: 42,
            alert_id: "00aa11bb22cc33dd".into(),
            transition: TransitionKind::Cleared,
            kind: "tenant_split".into(),
            severity: Severity::Warning,
            at: 1_767_225_600,
            summary: "ACME is split".into(),
            objects: vec![ObjectRef::tenant("ACME")],
            impact_phones: 7,
            delivered_at: None,
            attempts: 3,
            next_attempt_at: Some(0),
            last_error: Some("HTTP 500".into()),
        };
        let json = serde_json::to_value(WebhookEvent::of(&event)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "00aa11bb22cc33dd-42",
                "transition": "cleared",
                "alert_id": "00aa11bb22cc33dd",
                "kind": "tenant_split",
                "severity": "warning",
                "summary": "ACME is split",
                "impact_phones": 7,
                "objects": [{"kind": "tenant", "name": "ACME"}],
                "at": "2026-01-01T00:00:00Z",
            })
        );
        let again = WebhookEvent::of(&AlertEvent {
            attempts: 4,
            ..event
        });
        assert_eq!(
            again.id, "00aa11bb22cc33dd-42",
            "the same on every delivery"
        );
    }

    #[test]
    fn retries_back_off_doubling_up_to_an_hour() {
        let delays: Vec<i64> = (1..=11).map(retry_delay).collect();
        assert_eq!(
            delays,
            vec![10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        assert_eq!(retry_delay(0), 10);
        assert_eq!(retry_delay(u32::MAX), 3600);
    }

    #[test]
    fn stored_names_parse_back() {
        for t in [
            TransitionKind::Raised,
            TransitionKind::SeverityChanged,
            TransitionKind::Cleared,
        ] {
            assert_eq!(t.as_str().parse::<TransitionKind>(), Ok(t));
        }
        for s in [Severity::Info, Severity::Warning, Severity::Critical] {
            assert_eq!(parse_severity(s.as_str()), Ok(s));
        }
        assert!("gone".parse::<TransitionKind>().is_err());
        assert!(parse_severity("fatal").is_err());
    }
}
