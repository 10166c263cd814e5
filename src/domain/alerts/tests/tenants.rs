use super::*;

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
