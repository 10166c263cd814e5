use super::*;

// --- placement: home, away, split and the normal band ---

#[test]
fn split_at_exactly_the_normal_share_is_within_normal() {
    let p = tenant_placement(
        &tenant("ACME", 100, &[("voip1", 90), ("voip2", 10)]),
        &settings(),
    )
    .unwrap();
    assert_eq!(p.total, 100);
    assert_eq!(p.home, "voip1");
    assert_eq!(p.home_servers, names(&["voip1"]));
    assert!(!p.home_is_assumed);
    assert!(!p.multi_primary);
    assert_eq!(p.home_phones, 90);
    assert_eq!(p.away_phones, 10);
    assert_eq!(p.away_share, 0.1);
    assert_eq!(p.split_share, 0.1);
    assert_eq!(p.servers, 2);
    assert!(!p.majority_away);
    assert_eq!(p.status, PlacementStatus::WithinNormal);
    assert_eq!(p.severity(), None);
    assert_eq!(
        p.away_servers,
        vec![ServerPhones {
            server: "voip2".into(),
            phones: 10
        }]
    );
    // 1 of 10 and 3 of 30 are exactly 10% as well.
    let within = Some((PlacementStatus::WithinNormal, None));
    assert_eq!(placement_of(&[("voip1", 9), ("voip2", 1)]), within);
    assert_eq!(placement_of(&[("voip1", 27), ("voip2", 3)]), within);
}

#[test]
fn within_the_normal_band_is_counted_not_listed() {
    let mut facts = cluster();
    facts.tenants = vec![
        tenant("ACME", 100, &[("voip1", 90), ("voip2", 10)]),
        tenant("BETA", 10, &[("voip1", 9), ("voip2", 1)]),
        tenant("HOME", 10, &[("voip1", 10)]),
    ];
    let book = evaluate(&facts, &settings());
    assert!(book.alerts.is_empty(), "{:#?}", book.alerts);
    assert_eq!(
        book.within_normal,
        WithinNormal {
            tenants: 2,
            pools: 0,
            away_phones: 11
        }
    );
}

#[test]
fn split_just_above_the_normal_share_is_a_warning() {
    assert_eq!(
        placement_of(&[("voip1", 899), ("voip2", 101)]),
        Some((PlacementStatus::Split, Some(Severity::Warning)))
    );
    assert_eq!(
        placement_of(&[("voip1", 900), ("voip2", 100)]),
        Some((PlacementStatus::WithinNormal, None))
    );
}

#[test]
fn split_with_the_majority_away_is_critical_and_half_is_not() {
    let half = tenant_placement(
        &tenant("ACME", 0, &[("voip1", 50), ("voip2", 50)]),
        &settings(),
    )
    .unwrap();
    assert!(!half.majority_away);
    assert_eq!(half.status, PlacementStatus::Split);
    assert_eq!(half.severity(), Some(Severity::Warning));
    let most = tenant_placement(
        &tenant("ACME", 0, &[("voip1", 49), ("voip2", 51)]),
        &settings(),
    )
    .unwrap();
    assert!(most.majority_away);
    assert_eq!(most.severity(), Some(Severity::Critical));
    // Home holds none of them: everything is away, and the split is measured among the servers
    // where they are (3 of 4 on voip2).
    let none_home = tenant_placement(
        &tenant("ACME", 0, &[("voip2", 3), ("voip3", 1)]),
        &settings(),
    )
    .unwrap();
    assert_eq!(none_home.home_phones, 0);
    assert_eq!(none_home.away_phones, 4);
    assert_eq!(none_home.split_share, 0.25);
    assert_eq!(none_home.status, PlacementStatus::Split);
    assert_eq!(none_home.severity(), Some(Severity::Critical));
}

#[test]
fn a_tenant_on_one_server_is_not_split() {
    assert_eq!(
        placement_of(&[("voip1", 48)]),
        Some((PlacementStatus::AtHome, None))
    );
    // Whole on its backup: away from home (and critical: all of it is away), not a split.
    assert_eq!(
        placement_of(&[("voip2", 48)]),
        Some((PlacementStatus::Away, Some(Severity::Critical)))
    );
    assert_eq!(placement_of(&[]), None);
    assert_eq!(placement_of(&[("voip1", 0), ("voip2", 0)]), None);
    // Empty rows and the same server spelled twice do not make a split.
    let p = tenant_placement(
        &tenant("ACME", 0, &[("voip1", 40), ("VOIP1", 8), ("voip2", 0)]),
        &settings(),
    )
    .unwrap();
    assert_eq!(
        (p.status, p.total, p.servers),
        (PlacementStatus::AtHome, 48, 1)
    );
}

#[test]
fn split_threshold_follows_the_settings() {
    let strict = AlertSettings {
        normal_away_share: 0.0,
        ..settings()
    };
    let t = tenant("ACME", 0, &[("voip1", 99), ("voip2", 1)]);
    let p = tenant_placement(&t, &strict).unwrap();
    assert_eq!(p.status, PlacementStatus::Split);
    assert_eq!(p.severity(), Some(Severity::Warning));
    assert_eq!(
        tenant_placement(&t, &settings()).unwrap().status,
        PlacementStatus::WithinNormal
    );
}

#[test]
fn split_without_a_home_measures_against_the_fullest_server() {
    let mut t = tenant("ACME", 0, &[("voip2", 5), ("voip1", 15)]);
    t.pool = None;
    t.home = None;
    let p = tenant_placement(&t, &settings()).unwrap();
    assert_eq!(p.home, "voip1");
    assert!(p.home_is_assumed);
    assert_eq!(p.home_servers, names(&["voip1"]));
    assert_eq!(p.away_phones, 5);
    assert_eq!(p.status, PlacementStatus::Split);
    assert_eq!(p.severity(), Some(Severity::Warning));
}

#[test]
fn a_home_server_listed_twice_counts_its_phones_once() {
    let mut t = tenant("ACME", 0, &[("voip1", 5), ("voip2", 5)]);
    t.home_servers = names(&["voip1", "VOIP1", " voip1 "]);
    let p = tenant_placement(&t, &settings()).unwrap();
    assert_eq!(p.home_servers, names(&["voip1"]));
    assert!(!p.multi_primary);
    assert_eq!((p.home_phones, p.away_phones), (5, 5));
    assert_eq!(p.status, PlacementStatus::Split);
}

/// A tenant of pool `wiki`, whose weights send phones to three home servers (60/20/20), with
/// `spare` as its backup.
fn wiki_tenant(code: &str, rows: &[(&str, u64)]) -> TenantFacts {
    TenantFacts {
        pool_changing: false,
        code: code.to_string(),
        pool: Some("wiki".to_string()),
        home: Some("bigbox".to_string()),
        home_servers: names(&["bigbox", "smallbox1", "smallbox2"]),
        pool_servers: names(&["bigbox", "smallbox1", "smallbox2", "spare"]),
        expected_phones: 0,
        phones_by_server: counts(rows),
        moving: None,
    }
}

#[test]
fn wiki_tenant_at_60_20_20_is_at_home() {
    let spread = wiki_tenant(
        "MARINO",
        &[("bigbox", 126), ("smallbox1", 42), ("smallbox2", 42)],
    );
    let p = tenant_placement(&spread, &settings()).unwrap();
    assert_eq!(p.status, PlacementStatus::AtHome);
    assert_eq!(p.severity(), None);
    assert!(p.multi_primary);
    assert_eq!(p.home, "bigbox");
    assert_eq!(p.home_servers, names(&["bigbox", "smallbox1", "smallbox2"]));
    assert_eq!((p.total, p.home_phones, p.away_phones), (210, 210, 0));
    assert!(p.away_servers.is_empty());
    // The split the pool causes by design is still measured (40% off bigbox): the pool's lint
    // reports it, not the tenant.
    assert_eq!(p.split_share, 0.4);

    let whole = wiki_tenant("MARINO", &[("bigbox", 210)]);
    let p = tenant_placement(&whole, &settings()).unwrap();
    assert_eq!(p.status, PlacementStatus::AtHome);
    assert_eq!(p.away_phones, 0);

    for t in [spread, whole] {
        let mut facts = cluster();
        facts.tenants = vec![t];
        let book = evaluate(&facts, &settings());
        assert!(book.alerts.is_empty(), "{:#?}", book.alerts);
        assert_eq!(book.within_normal, WithinNormal::default());
    }
}

#[test]
fn a_wiki_tenant_off_its_home_servers_is_away_not_split() {
    let mut facts = cluster();
    facts.tenants = vec![wiki_tenant(
        "MARINO",
        &[
            ("bigbox", 100),
            ("smallbox1", 40),
            ("smallbox2", 30),
            ("spare", 40),
        ],
    )];
    let p = tenant_placement(&facts.tenants[0], &settings()).unwrap();
    assert_eq!(p.status, PlacementStatus::Away);
    assert_eq!(p.severity(), Some(Severity::Warning));
    let alerts = alerts_for(&facts);
    let alert = tenant_alert_of(&alerts, "MARINO").unwrap();
    assert_eq!(alert.kind, AlertKind::TenantAway);
    assert_eq!(alert.severity, Severity::Warning);
    assert_eq!(alert.impact_phones, 40);
    assert_eq!(
        alert.summary,
        "40 of 210 phones of tenant MARINO (19%) are off its home servers bigbox, smallbox1 \
         and smallbox2, on spare."
    );
    assert!(alert.why.contains("lose their failover"), "{}", alert.why);
    assert!(alert.action.contains("phones on spare"), "{}", alert.action);
    assert_eq!(
        objects(alert),
        vec![
            (ObjectKind::Tenant, "MARINO"),
            (ObjectKind::Pool, "wiki"),
            (ObjectKind::Server, "bigbox"),
            (ObjectKind::Server, "smallbox1"),
            (ObjectKind::Server, "smallbox2"),
            (ObjectKind::Server, "spare"),
        ]
    );
}

#[test]
fn a_tenant_whole_on_its_backup_is_away() {
    let mut facts = cluster();
    facts.servers = vec![server("voip1"), server("voip2")];
    facts.tenants = vec![tenant("ACME", 48, &[("voip2", 48)])];
    let alerts = alerts_for(&facts);
    let alert = tenant_alert_of(&alerts, "ACME").unwrap();
    assert_eq!(alert.kind, AlertKind::TenantAway);
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.impact_phones, 48);
    assert_eq!(
        alert.summary,
        "All 48 phones of tenant ACME are on voip2, none on its home server voip1."
    );
    assert!(
        alert.why.starts_with("voip1 is up and reporting"),
        "{}",
        alert.why
    );
}

#[test]
fn pbxa_tenant_at_7_percent_away_is_within_normal_and_not_listed() {
    let mut facts = cluster();
    facts.servers = vec![server("voip1"), server("voip2")];
    facts.pools = vec![pool("pbxA", "voip1", &[("voip1", 93), ("voip2", 7)])];
    facts.tenants = vec![tenant("ACME", 100, &[("voip1", 93), ("voip2", 7)])];
    let p = tenant_placement(&facts.tenants[0], &settings()).unwrap();
    assert_eq!(p.status, PlacementStatus::WithinNormal);
    assert_eq!(p.status.label(), "within normal");
    assert_eq!(p.away_phones, 7);
    assert_eq!(p.severity(), None);

    let book = evaluate(&facts, &settings());
    assert!(book.alerts.is_empty(), "{:#?}", book.alerts);
    assert!(
        book.alerts
            .iter()
            .all(|a| !a.concerns(ObjectKind::Tenant, "ACME"))
    );
    assert_eq!(book.within_normal.tenants, 1);
    assert_eq!(book.within_normal.away_phones, 7);
    // Its pool, 7% away as well, is within the normal band too.
    assert_eq!(book.within_normal.pools, 1);
}

// --- the tenant alert and its facets ---

#[test]
fn split_alert_says_who_how_many_and_where() {
    let mut facts = cluster();
    facts.tenants = vec![tenant("CANISTRACCI", 48, &[("voip1", 24), ("voip2", 24)])];
    let alerts = alerts_for(&facts);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.kind, AlertKind::TenantSplit);
    assert_eq!(
        alert.summary,
        "Tenant CANISTRACCI is split: 24 of 48 phones (50%) are away from its home server \
         voip1, on voip2."
    );
    assert_eq!(alert.severity, Severity::Warning);
    // A split hurts every phone of the tenant: any transfer may cross servers.
    assert_eq!(alert.impact_phones, 48);
    assert_eq!(facet_kinds(alert), vec![AlertKind::TenantSplit]);
    assert_eq!(alert.facets[0].summary, alert.summary);
    assert!(alert.why.contains("Transfers"), "{}", alert.why);
    assert!(alert.action.contains("re-register"), "{}", alert.action);
    assert_eq!(
        objects(alert),
        vec![
            (ObjectKind::Tenant, "CANISTRACCI"),
            (ObjectKind::Pool, "pbxA"),
            (ObjectKind::Server, "voip1"),
            (ObjectKind::Server, "voip2"),
        ]
    );
    assert!(alert.concerns(ObjectKind::Tenant, "canistracci"));
    assert_eq!(alert.id, stable_id(&["tenant", "CANISTRACCI"]));
    assert_eq!(
        alert.key(),
        "tenant_split:tenant=CANISTRACCI:pool=pbxA:server=voip1:server=voip2"
    );
    // The id names the problem's object, not its numbers: it stays while the split changes.
    facts.tenants = vec![tenant("CANISTRACCI", 48, &[("voip1", 10), ("voip2", 38)])];
    let worse = alerts_for(&facts);
    assert_eq!(worse[0].severity, Severity::Critical);
    assert_eq!(worse[0].id, alert.id);
}

#[test]
fn split_over_several_servers_lists_each_with_its_count() {
    let mut facts = cluster();
    let mut t = tenant("ACME", 0, &[("voip1", 76), ("voip3", 4), ("voip2", 20)]);
    t.pool_servers = names(&["voip1", "voip2", "voip3"]);
    facts.tenants = vec![t];
    let alert = only(&alerts_for(&facts), AlertKind::TenantSplit);
    assert_eq!(
        alert.summary,
        "Tenant ACME is split: 24 of 100 phones (24%) are away from its home server voip1, \
         on voip2 (20) and voip3 (4)."
    );
}

#[test]
fn canistracci_gives_one_tenant_alert_with_its_facets() {
    // The 12-tenant demo reported CANISTRACCI as a split, as pool drift and in five
    // failback-lag alerts. Now: one alert about the tenant, with its facets; the failback
    // pattern per (server, user agent) is reported without repeating the tenant.
    let mut facts = cluster();
    facts.servers = vec![server("voip1"), server("voip2")];
    facts.pools = vec![pool("pbxA", "voip1", &[("voip1", 30), ("voip2", 18)])];
    facts.tenants = vec![tenant("CANISTRACCI", 48, &[("voip1", 30), ("voip2", 18)])];
    let agents = [
        ("Yealink SIP-T46S 66.86.0.15", 6, "200-CANISTRACCI"),
        ("Yealink SIP-T54W 96.86.0.100", 4, "210-CANISTRACCI"),
        ("PolycomVVX-VVX_400-UA/6.4", 3, "220-CANISTRACCI"),
        ("Grandstream GXP2170 1.0.11", 3, "230-CANISTRACCI"),
        ("snom D785/10.1.54", 2, "240-CANISTRACCI"),
    ];
    facts.away = agents
        .iter()
        .map(|(ua, n, example)| away("CANISTRACCI", Some(ua), *n, NOW - 7200, &[example]))
        .collect();
    facts.flapping = vec![flapper("201-CANISTRACCI", Some("CANISTRACCI"), 4)];
    let alerts = alerts_for(&facts);

    let about: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.concerns(ObjectKind::Tenant, "CANISTRACCI"))
        .collect();
    assert_eq!(about.len(), 1, "{alerts:#?}");
    let alert = about[0];
    assert_eq!(alert.objects[0], ObjectRef::tenant("CANISTRACCI"));
    assert_eq!(alert.kind, AlertKind::TenantSplit);
    assert_eq!(alert.severity, Severity::Warning);
    assert_eq!(alert.impact_phones, 48);
    // Worst first; equal severities in kind order.
    assert_eq!(
        facet_kinds(alert),
        vec![
            AlertKind::TenantSplit,
            AlertKind::Flapping,
            AlertKind::FailbackLag
        ]
    );
    assert!(alert.facets.iter().all(|f| f.severity == Severity::Warning));
    let lag = facet(alert, AlertKind::FailbackLag);
    assert_eq!(lag.phones, 18);
    assert_eq!(
        lag.summary,
        "18 phones of tenant CANISTRACCI are still on voip2 although voip1 has been reporting \
         again for over 30 min (longest away 2 h; Grandstream GXP2170 1.0.11, \
         PolycomVVX-VVX_400-UA/6.4, Yealink SIP-T46S 66.86.0.15, Yealink SIP-T54W 96.86.0.100 \
         and snom D785/10.1.54)."
    );
    assert_eq!(facet(alert, AlertKind::Flapping).phones, 1);
    assert!(
        facet(alert, AlertKind::Flapping)
            .summary
            .starts_with("Phone 201-CANISTRACCI of tenant CANISTRACCI moved")
    );

    // One failback alert per (home server, user agent), none naming the tenant.
    let lag = of_kind(&alerts, AlertKind::FailbackLag);
    assert_eq!(lag.len(), 5, "{alerts:#?}");
    for a in &lag {
        assert_eq!(a.objects[0], ObjectRef::server("voip1"));
        assert!(a.concerns(ObjectKind::Server, "voip2"));
        assert!(a.objects.iter().all(|o| o.kind != ObjectKind::Tenant));
        assert!(a.summary.contains("of 1 tenant"), "{}", a.summary);
    }
    let mut impacts: Vec<u64> = lag.iter().map(|a| a.impact_phones).collect();
    impacts.sort_unstable();
    assert_eq!(impacts, vec![2, 3, 3, 4, 6]);
    // The flapping phone is not reported again on its own, and the pool's drift is the pool's
    // one alert: 1 tenant alert + 5 failback alerts + 1 pool alert.
    assert!(of_kind(&alerts, AlertKind::Flapping).is_empty());
    let drift = only(&alerts, AlertKind::PoolDrift);
    assert!(!drift.concerns(ObjectKind::Tenant, "CANISTRACCI"));
    assert_eq!(alerts.len(), 7);
}

#[test]
fn a_tenant_whose_home_server_is_stale_links_the_stale_alert_instead_of_a_split() {
    let mut facts = cluster();
    let mut voip1 = server("voip1");
    voip1.last_report_at = Some(NOW - 2000);
    facts.servers = vec![voip1, server("voip2")];
    // Most phones failed over to voip2 while voip1 went quiet: as designed, not a split.
    facts.tenants = vec![tenant("ACME", 50, &[("voip1", 5), ("voip2", 45)])];
    let alerts = alerts_for(&facts);
    let stale = only(&alerts, AlertKind::StaleSnapshot);
    assert_eq!(stale.id, stable_id(&["stale_snapshot", "voip1"]));
    assert!(tenant_alert_of(&alerts, "ACME").is_none(), "{alerts:#?}");
    assert_eq!(alerts.len(), 1);

    // With phones outside its pool the tenant has an alert: no split facet, and the stale
    // alert linked as its explanation.
    facts.tenants = vec![tenant(
        "ACME",
        50,
        &[("voip1", 5), ("voip2", 42), ("voip7", 3)],
    )];
    let alerts = alerts_for(&facts);
    let alert = tenant_alert_of(&alerts, "ACME").unwrap();
    assert_eq!(facet_kinds(alert), vec![AlertKind::OutsidePool]);
    assert_eq!(alert.related, vec![stale.id.clone()]);
    assert_eq!(of_kind(&alerts, AlertKind::StaleSnapshot).len(), 1);

    // A home in maintenance is not serving either; a home the facts do not list is.
    facts.tenants = vec![tenant("ACME", 50, &[("voip1", 5), ("voip2", 45)])];
    facts.servers[0].last_report_at = Some(NOW);
    facts.servers[0].state = "maintenance".into();
    assert!(tenant_alert_of(&alerts_for(&facts), "ACME").is_none());
    facts.servers.remove(0);
    let alerts = alerts_for(&facts);
    let alert = tenant_alert_of(&alerts, "ACME").unwrap();
    assert_eq!(alert.kind, AlertKind::TenantSplit);
    assert!(alert.related.is_empty());
}

// --- outside the pool ---

#[test]
fn phones_on_a_server_outside_the_pool_are_a_warning() {
    let mut facts = cluster();
    facts.tenants = vec![tenant("ACME", 10, &[("voip1", 9), ("voip7", 1)])];
    let book = evaluate(&facts, &settings());
    let alert = only(&book.alerts, AlertKind::OutsidePool);
    assert_eq!(alert.severity, Severity::Warning);
    assert_eq!(alert.impact_phones, 1);
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
            (ObjectKind::Server, "voip1"),
            (ObjectKind::Server, "voip7"),
        ]
    );
    // voip7 also puts 10% of the tenant off home: the normal band, so no split facet, only
    // the count.
    assert_eq!(facet_kinds(&alert), vec![AlertKind::OutsidePool]);
    assert_eq!(book.alerts.len(), 1);
    assert_eq!(book.within_normal.tenants, 1);
}

#[test]
fn phones_inside_the_pool_or_without_a_pool_are_not_outside() {
    let has_outside = |alerts: &[Alert]| {
        alerts
            .iter()
            .any(|a| a.facets.iter().any(|f| f.kind == AlertKind::OutsidePool))
    };
    let mut facts = cluster();
    facts.tenants = vec![tenant("ACME", 10, &[("voip1", 9), ("VOIP2", 1)])];
    assert!(!has_outside(&alerts_for(&facts)));

    let mut no_pool = tenant("ACME", 10, &[("voip7", 10)]);
    no_pool.pool = None;
    no_pool.home = None;
    no_pool.pool_servers.clear();
    facts.tenants = vec![no_pool];
    let alerts = alerts_for(&facts);
    assert!(!has_outside(&alerts));
    assert_eq!(
        facet_kinds(tenant_alert_of(&alerts, "ACME").unwrap()),
        vec![AlertKind::TenantNoPool]
    );
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
    let alerts = alerts_for(&facts);
    // One alert about the tenant: no pool (warning) and, as information, no phones either.
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.kind, AlertKind::TenantNoPool);
    assert_eq!(alert.severity, Severity::Warning);
    assert_eq!(
        alert.summary,
        "Tenant ACME has no pool: 12 phones expected, none registered."
    );
    assert_eq!(
        facet_kinds(alert),
        vec![AlertKind::TenantNoPool, AlertKind::TenantNoPhones]
    );
    assert_eq!(
        facet(alert, AlertKind::TenantNoPhones).severity,
        Severity::Info
    );
    assert_eq!(alert.impact_phones, 12);
    assert_eq!(objects(alert), vec![(ObjectKind::Tenant, "ACME")]);

    t.expected_phones = 0;
    facts.tenants = vec![t.clone()];
    let alerts = alerts_for(&facts);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, AlertKind::TenantNoPool);
    assert_eq!(alerts[0].severity, Severity::Info);
    assert_eq!(
        alerts[0].summary,
        "Tenant ACME has no pool and expects no phones yet."
    );

    // Phones registered although none were expected: the phones are at risk, not info.
    t.phones_by_server = counts(&[("voip1", 3)]);
    facts.tenants = vec![t];
    let alert = only(&alerts_for(&facts), AlertKind::TenantNoPool);
    assert_eq!(alert.severity, Severity::Warning);
    assert_eq!(
        alert.summary,
        "Tenant ACME has no pool: 0 phones expected, 3 registered on voip1."
    );
    assert_eq!(
        objects(&alert),
        vec![(ObjectKind::Tenant, "ACME"), (ObjectKind::Server, "voip1")]
    );
}

#[test]
fn tenant_without_phones_only_after_the_first_snapshot() {
    let mut facts = cluster();
    facts.tenants = vec![tenant("ACME", 12, &[("voip1", 0)])];
    let alert = only(&alerts_for(&facts), AlertKind::TenantNoPhones);
    assert_eq!(alert.severity, Severity::Info);
    assert_eq!(alert.impact_phones, 12);
    assert_eq!(
        alert.summary,
        "Tenant ACME expects 12 phones but none is registered on any server."
    );
    assert_eq!(
        objects(&alert),
        vec![(ObjectKind::Tenant, "ACME"), (ObjectKind::Pool, "pbxA")]
    );

    facts.any_registrations = false;
    assert!(alerts_for(&facts).is_empty());

    facts.any_registrations = true;
    facts.tenants = vec![tenant("ACME", 0, &[])];
    assert!(alerts_for(&facts).is_empty());
    facts.tenants = vec![tenant("ACME", 12, &[("voip1", 1)])];
    assert!(alerts_for(&facts).is_empty());
}

// --- tenant moves: phones awaiting re-provisioning ---

/// A tenant just moved from pbxA (home voip1) to pbxB (home voip2, backup voip1).
fn moved(code: &str, rows: &[(&str, u64)], stalled: bool) -> TenantFacts {
    TenantFacts {
        pool: Some("pbxB".into()),
        home: Some("voip2".into()),
        moving: Some(MoveFacts {
            from_pool: "pbxA".into(),
            old_home_servers: names(&["voip1"]),
            started_at: NOW - 3600,
            stalled,
            deadline_secs: 48 * 3600,
            waiting: names(&["201-ROSSI", "202-ROSSI"]),
        }),
        ..tenant(code, 12, rows)
    }
}

/// ROSSI's phones lagging on voip1 since long ago, their new home voip2 reporting.
fn lagging_on_old_home(code: &str) -> AwayPhones {
    AwayPhones {
        server: "voip1".into(),
        home: "voip2".into(),
        ..away(code, Some("Yealink"), 12, NOW - 86_400, &["201-ROSSI"])
    }
}

#[test]
fn a_moving_tenant_on_its_old_home_raises_no_split_away_or_failback() {
    let mut facts = cluster();
    facts.servers = vec![server("voip1"), server("voip2")];
    facts.tenants = vec![moved("ROSSI", &[("voip1", 12)], false)];
    facts.away = vec![lagging_on_old_home("ROSSI")];
    let alerts = alerts_for(&facts);
    assert!(alerts.is_empty(), "{alerts:#?}");
    // Part-way: 8 at the new home, 4 still on the old one: at home, nothing listed.
    facts.tenants = vec![moved("ROSSI", &[("voip2", 8), ("voip1", 4)], false)];
    let p = tenant_placement(&facts.tenants[0], &settings()).unwrap();
    assert_eq!((p.total, p.away_phones), (8, 0));
    assert_eq!(p.status, PlacementStatus::AtHome);
    assert!(alerts_for(&facts).is_empty());
}

#[test]
fn the_same_phones_without_a_move_are_an_alert() {
    // The control of the test above: the rules do see these phones when nothing moves.
    let mut facts = cluster();
    facts.servers = vec![server("voip1"), server("voip2")];
    let mut t = moved("ROSSI", &[("voip1", 12)], false);
    t.moving = None;
    facts.tenants = vec![t];
    facts.away = vec![lagging_on_old_home("ROSSI")];
    let alerts = alerts_for(&facts);
    let alert = tenant_alert_of(&alerts, "ROSSI").expect("an alert about ROSSI");
    assert_eq!(alert.kind, AlertKind::TenantAway);
    assert_eq!(of_kind(&alerts, AlertKind::FailbackLag).len(), 1);
}

#[test]
fn phones_elsewhere_than_the_old_home_still_count() {
    // voip3 was never pbxA's home: phones there are off-pool as ever.
    let mut facts = cluster();
    facts.servers = vec![server("voip1"), server("voip2"), server("voip3")];
    facts.tenants = vec![moved("ROSSI", &[("voip2", 8), ("voip3", 4)], false)];
    let alerts = alerts_for(&facts);
    let alert = tenant_alert_of(&alerts, "ROSSI").expect("an alert about ROSSI");
    assert!(facet_kinds(alert).contains(&AlertKind::OutsidePool));
}

#[test]
fn a_stalled_move_raises_its_alert_naming_the_phones() {
    let mut facts = cluster();
    facts.servers = vec![server("voip1"), server("voip2")];
    facts.tenants = vec![moved("ROSSI", &[("voip2", 10), ("voip1", 2)], true)];
    let alerts = alerts_for(&facts);
    let alert = tenant_alert_of(&alerts, "ROSSI").expect("the stalled move's alert");
    assert_eq!(alert.kind, AlertKind::MoveStalled);
    assert_eq!(facet_kinds(alert), vec![AlertKind::MoveStalled]);
    assert_eq!(alert.impact_phones, 2);
    assert!(
        alert.summary.contains("from pbxA to pbxB"),
        "{}",
        alert.summary
    );
    assert!(
        alert.summary.contains("201-ROSSI, 202-ROSSI"),
        "{}",
        alert.summary
    );
    let objs = objects(alert);
    assert!(
        objs.contains(&(ObjectKind::Endpoint, "201-ROSSI")),
        "{objs:?}"
    );
    assert!(objs.contains(&(ObjectKind::Server, "voip1")), "{objs:?}");
    assert!(!AlertKind::MoveStalled.explanation().is_empty());
    assert!(!AlertKind::MoveStalled.advice().is_empty());
    // Not stalled yet: nothing.
    facts.tenants = vec![moved("ROSSI", &[("voip2", 10), ("voip1", 2)], false)];
    assert!(alerts_for(&facts).is_empty());
}

#[test]
fn a_moving_tenant_with_every_phone_waiting_is_not_without_phones() {
    let mut facts = cluster();
    facts.servers = vec![server("voip1"), server("voip2")];
    facts.tenants = vec![moved("ROSSI", &[("voip1", 12)], false)];
    let alerts = alerts_for(&facts);
    assert!(
        of_kind(&alerts, AlertKind::TenantNoPhones).is_empty(),
        "{alerts:#?}"
    );
}
