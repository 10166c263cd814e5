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
    assert_eq!(AlertKind::ALL.len(), 15);
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
    assert_eq!(
        "tenant_away".parse::<AlertKind>(),
        Ok(AlertKind::TenantAway)
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
fn every_kind_is_explained_once_with_its_advice() {
    // The page shows these once per kind (its legend), so each kind needs its own text.
    let mut explanations: Vec<&str> = AlertKind::ALL.iter().map(|k| k.explanation()).collect();
    explanations.sort_unstable();
    explanations.dedup();
    assert_eq!(explanations.len(), AlertKind::ALL.len());
    for kind in AlertKind::ALL {
        assert!(kind.explanation().ends_with('.'), "{kind}");
        assert!(kind.advice().ends_with('.'), "{kind}");
    }
    assert!(AlertKind::TenantSplit.explanation().contains("10%"));
    assert!(AlertKind::TenantAway.explanation().contains("home servers"));
    assert!(AlertKind::FailbackLag.advice().contains("Re-register"));
}

#[test]
fn empty_cluster_yields_no_alerts() {
    assert_eq!(
        evaluate(&ClusterFacts::default(), &settings()),
        AlertBook::default()
    );
    assert_eq!(evaluate(&cluster(), &settings()), AlertBook::default());
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
    let book = evaluate(&facts, &settings());
    assert!(book.alerts.is_empty(), "{:#?}", book.alerts);
    assert_eq!(book.within_normal, WithinNormal::default());
    // Where its phones are is still told, for the tenants list.
    assert_eq!(
        book.placements["canistracci"],
        PlacementSummary {
            registered: 48,
            away: 0,
            status: Some(PlacementStatus::AtHome),
            servers: vec!["voip1".into()],
        }
    );
}

// --- ranking and counts ---

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
    facts.away = vec![away("BETA", Some("Yealink"), 2, NOW - 7200, &["101-BETA"])];
    facts
}

#[test]
fn alerts_are_ranked_by_severity_then_phones_affected_then_kind() {
    let book = evaluate(&busy_cluster(), &settings());
    let alerts = &book.alerts;
    let order: Vec<(Severity, u64, AlertKind, &str)> = alerts
        .iter()
        .map(|a| {
            (
                a.severity,
                a.impact_phones,
                a.kind,
                a.objects[0].name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![
            (Severity::Critical, 150, AlertKind::CapacityN1, "voip1"),
            (Severity::Critical, 120, AlertKind::Capacity, "voip1"),
            (Severity::Critical, 10, AlertKind::TenantSplit, "ACME"),
            (Severity::Warning, 85, AlertKind::Capacity, "voip3"),
            (Severity::Warning, 40, AlertKind::PoolDrift, "pbxA"),
            (Severity::Warning, 10, AlertKind::TenantSplit, "BETA"),
            (Severity::Warning, 2, AlertKind::FailbackLag, "voip1"),
            (Severity::Warning, 1, AlertKind::Unmatched, "voip1"),
            (Severity::Warning, 0, AlertKind::StaleSnapshot, "voip2"),
            (Severity::Info, 5, AlertKind::TenantNoPhones, "EMPTY"),
        ]
    );
    // BETA's flapping phone and lagging phones are facets of its one alert; ZETA's 1 of 10 away
    // is the normal band: counted, not listed.
    let beta = tenant_alert_of(alerts, "BETA").unwrap();
    assert_eq!(
        facet_kinds(beta),
        vec![
            AlertKind::TenantSplit,
            AlertKind::Flapping,
            AlertKind::FailbackLag
        ]
    );
    assert!(tenant_alert_of(alerts, "ZETA").is_none());
    assert_eq!(
        book.within_normal,
        WithinNormal {
            tenants: 1,
            pools: 0,
            away_phones: 1
        }
    );
    assert_eq!(
        count(alerts),
        AlertCounts {
            critical: 3,
            warning: 6,
            info: 1
        }
    );
    assert_eq!(count(alerts).total(), 10);
    assert_eq!(count(alerts).worst(), Some(Severity::Critical));
    assert_eq!(count(&[]).worst(), None);
}

/// A warning N−1 overload of `n1_load` phones on voip9 (capacity 1000) next to a pbxA tenant.
fn overload_and_split(n1_load: f64, split: &[(&str, u64)]) -> Vec<Alert> {
    let mut facts = cluster();
    let mut voip9 = server("voip9");
    voip9.capacity = Some(1000);
    voip9.worst_n1 = Some(("voip8".into(), n1_load));
    facts.servers = vec![server("voip1"), server("voip2"), voip9];
    facts.tenants = vec![tenant("SMALL", 4, split)];
    alerts_for(&facts)
}

#[test]
fn an_n1_overload_of_hundreds_of_phones_ranks_before_a_small_split() {
    // Both warnings: the phones affected decide, although a split's kind is listed first.
    let alerts = overload_and_split(850.0, &[("voip1", 3), ("voip2", 1)]);
    let ranked: Vec<(AlertKind, Severity, u64)> = alerts
        .iter()
        .map(|a| (a.kind, a.severity, a.impact_phones))
        .collect();
    assert_eq!(
        ranked,
        vec![
            (AlertKind::CapacityN1, Severity::Warning, 850),
            (AlertKind::TenantSplit, Severity::Warning, 4),
        ]
    );
    // The headline case of the issue: an N−1 overload of 109% (critical) before the split.
    let alerts = overload_and_split(1090.0, &[("voip1", 3), ("voip2", 1)]);
    assert_eq!(alerts[0].kind, AlertKind::CapacityN1);
    assert_eq!(alerts[0].severity, Severity::Critical);
    assert_eq!(alerts[1].kind, AlertKind::TenantSplit);
}

#[test]
fn a_critical_alert_ranks_before_a_warning_whatever_the_phones() {
    // 3 of 4 phones away is critical; it comes before a warning about 850 phones.
    let alerts = overload_and_split(850.0, &[("voip1", 1), ("voip2", 3)]);
    let ranked: Vec<(AlertKind, Severity, u64)> = alerts
        .iter()
        .map(|a| (a.kind, a.severity, a.impact_phones))
        .collect();
    assert_eq!(
        ranked,
        vec![
            (AlertKind::TenantSplit, Severity::Critical, 4),
            (AlertKind::CapacityN1, Severity::Warning, 850),
        ]
    );
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
    reversed.away.reverse();
    for t in &mut reversed.tenants {
        t.phones_by_server.reverse();
    }
    assert_eq!(
        evaluate(&facts, &settings()),
        evaluate(&reversed, &settings())
    );
}

#[test]
fn related_alerts_are_listed_worst_first_whatever_the_order_of_the_facts() {
    let mut facts = cluster();
    let mut voip1 = server("voip1");
    voip1.last_report_at = Some(NOW - 4000);
    let mut voip7 = server("voip7");
    voip7.last_report_at = Some(NOW - 1000);
    voip7.registered = 3;
    facts.servers = vec![server("voip2"), voip7, voip1];
    let mut p = pool("pbxA", "voip1", &[]);
    p.lint = vec![PoolLint::SingleServer {
        target: "voip1".into(),
    }];
    facts.pools = vec![p];
    facts.tenants = vec![tenant("ACME", 13, &[("voip1", 10), ("voip7", 3)])];
    let book = evaluate(&facts, &settings());
    let acme = tenant_alert_of(&book.alerts, "ACME").unwrap();
    // voip1's report is over 4× stale (critical), voip7's stale (warning, 3 phones), the pool's
    // lint a warning about none of its phones.
    assert_eq!(
        acme.related,
        vec![
            stable_id(&["stale_snapshot", "voip1"]),
            stable_id(&["stale_snapshot", "voip7"]),
            stable_id(&["pool", "pbxA"]),
        ]
    );
    let mut reversed = facts.clone();
    reversed.servers.reverse();
    assert_eq!(evaluate(&reversed, &settings()), book);
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
    let book = evaluate(&facts, &broken);
    // Defaults stand in: 10% away is within the normal band, 50% load is fine, a phone that
    // never moved does not flap, a report from now is not stale.
    assert!(book.alerts.is_empty(), "{:#?}", book.alerts);
    assert_eq!(
        book.within_normal,
        WithinNormal {
            tenants: 1,
            pools: 0,
            away_phones: 1
        }
    );
    // A normal share of 0 is taken as given: then the same phone away is a split.
    let strict = AlertSettings {
        normal_away_share: 0.0,
        ..broken
    };
    let alerts = evaluate(&facts, &strict).alerts;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].kind, AlertKind::TenantSplit);
    assert_eq!(alerts[0].severity, Severity::Warning);
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
