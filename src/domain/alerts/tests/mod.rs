//! Tests of the alert rules. The fact builders live here; the tests are grouped like the rules.

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

fn flapper(endpoint: &str, tenant: Option<&str>, moves: u32) -> FlappingPhone {
    FlappingPhone {
        endpoint: endpoint.into(),
        tenant: tenant.map(str::to_string),
        moves,
        servers: names(&["voip2", "voip1"]),
    }
}
