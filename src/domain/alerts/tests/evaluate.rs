use super::*;
use crate::domain::alerts::text::{describe_chance, duration, join_and, percent};

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
