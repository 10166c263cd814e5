//! A pool whose members are changing: its tenants' placement findings and its drift wait until
//! the change settles (phones still follow the old records meanwhile).

use super::*;

#[test]
fn a_changing_pool_holds_back_split_off_pool_failback_and_drift() {
    let mut facts = cluster();
    facts.servers = vec![server("voip1"), server("voip2"), server("voip3")];
    // Split 60/40, one phone on a server outside the pool, lagging phones.
    let mut acme = tenant("ACME", 100, &[("voip1", 60), ("voip2", 39), ("voip3", 1)]);
    facts.away = vec![away("ACME", Some("Yealink"), 39, NOW - 7200, &["100-ACME"])];
    facts.pools = vec![pool(
        "pbxA",
        "voip1",
        &[("voip1", 60), ("voip2", 39), ("voip3", 1)],
    )];
    facts.tenants = vec![acme.clone()];
    let settled = evaluate(&facts, &settings());
    let alert = tenant_alert_of(&settled.alerts, "ACME").unwrap();
    assert_eq!(
        facet_kinds(alert),
        vec![
            AlertKind::TenantSplit,
            AlertKind::OutsidePool,
            AlertKind::FailbackLag
        ]
    );
    assert_eq!(of_kind(&settled.alerts, AlertKind::PoolDrift).len(), 1);

    acme.pool_changing = true;
    facts.tenants = vec![acme];
    facts.pools[0].changing = true;
    let changing = evaluate(&facts, &settings());
    assert!(
        tenant_alert_of(&changing.alerts, "ACME").is_none(),
        "{:#?}",
        changing.alerts
    );
    assert!(of_kind(&changing.alerts, AlertKind::PoolDrift).is_empty());
    assert!(
        of_kind(&changing.alerts, AlertKind::FailbackLag).is_empty(),
        "the per-user-agent alert leaves the changing pool's phones out too"
    );
    assert_eq!(changing.within_normal, WithinNormal::default());
}

#[test]
fn a_changing_pool_still_reports_what_does_not_depend_on_placement() {
    let mut facts = cluster();
    let mut t = tenant("ACME", 12, &[]);
    t.pool_changing = true;
    facts.tenants = vec![t];
    // No phone registered at all is not about which records phones follow.
    let book = evaluate(&facts, &settings());
    let alert = tenant_alert_of(&book.alerts, "ACME").unwrap();
    assert_eq!(facet_kinds(alert), vec![AlertKind::TenantNoPhones]);
}
