//! Tests of the alert rules. The fact builders live here; the tests are grouped like the rules.

mod changing;
mod evaluate;
mod phones;
mod pools;
mod properties;
mod servers;
mod tenants;

use super::*;

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
        pool_changing: false,
        code: code.to_string(),
        pool: Some("pbxA".to_string()),
        home: Some("voip1".to_string()),
        home_servers: Vec::new(),
        pool_servers: names(&["voip1", "voip2"]),
        expected_phones: expected,
        phones_by_server: counts(rows),
        moving: None,
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
        changing: false,
        name: name.to_string(),
        home: Some(home.to_string()),
        home_servers: Vec::new(),
        member_servers: names(&["voip1", "voip2"]),
        phones_by_server: counts(rows),
        lint: Vec::new(),
        expected_split_share: None,
    }
}

fn cluster() -> ClusterFacts {
    ClusterFacts {
        now: NOW,
        any_registrations: true,
        ..ClusterFacts::default()
    }
}

/// The alerts the facts call for, with the default settings.
fn alerts_for(facts: &ClusterFacts) -> Vec<Alert> {
    evaluate(facts, &settings()).alerts
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

/// Where a pbxA tenant with these phones stands, and the severity of its placement problem.
fn placement_of(rows: &[(&str, u64)]) -> Option<(PlacementStatus, Option<Severity>)> {
    tenant_placement(&tenant("ACME", 0, rows), &settings()).map(|p| (p.status, p.severity()))
}

/// The alert about a tenant (its main object), if any.
fn tenant_alert_of<'a>(alerts: &'a [Alert], code: &str) -> Option<&'a Alert> {
    let mut found = alerts
        .iter()
        .filter(|a| a.objects[0].kind == ObjectKind::Tenant && same_name(&a.objects[0].name, code));
    let first = found.next();
    assert!(
        found.next().is_none(),
        "several alerts about {code}: {alerts:#?}"
    );
    first
}

fn facet_kinds(alert: &Alert) -> Vec<AlertKind> {
    alert.facets.iter().map(|f| f.kind).collect()
}

fn facet(alert: &Alert, kind: AlertKind) -> &Facet {
    alert
        .facets
        .iter()
        .find(|f| f.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} facet in {alert:#?}"))
}

/// Lagging phones of one tenant and user agent on voip2, whose home is voip1.
fn away(tenant: &str, ua: Option<&str>, phones: u64, since: i64, examples: &[&str]) -> AwayPhones {
    AwayPhones {
        tenant: tenant.into(),
        server: "voip2".into(),
        home: "voip1".into(),
        user_agent: ua.map(str::to_string),
        phones,
        away_since: since,
        examples: names(examples),
    }
}

fn flapper(endpoint: &str, tenant: Option<&str>, moves: u32) -> FlappingPhone {
    FlappingPhone {
        endpoint: endpoint.into(),
        tenant: tenant.map(str::to_string),
        moves,
        servers: names(&["voip2", "voip1"]),
    }
}
