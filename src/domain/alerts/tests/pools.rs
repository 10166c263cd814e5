use super::*;

// --- pool drift ---

fn drift(rows: &[(&str, u64)]) -> Option<Severity> {
    let mut facts = cluster();
    facts.pools = vec![pool("pbxA", "voip1", rows)];
    let alerts = alerts_for(&facts);
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
fn a_pool_within_the_normal_band_is_counted_not_listed() {
    let within = |rows: &[(&str, u64)]| {
        let mut facts = cluster();
        facts.pools = vec![pool("pbxA", "voip1", rows)];
        let book = evaluate(&facts, &settings());
        assert!(book.alerts.is_empty(), "{:#?}", book.alerts);
        book.within_normal.pools
    };
    assert_eq!(within(&[("voip1", 900), ("voip2", 100)]), 1);
    assert_eq!(within(&[("voip1", 93), ("voip2", 7)]), 1);
    // Nothing away: at home, not "within normal".
    assert_eq!(within(&[("voip1", 100)]), 0);
}

#[test]
fn pool_drift_alert_names_the_pool_and_its_servers() {
    let mut facts = cluster();
    facts.pools = vec![pool("pbxA", "voip1", &[("voip1", 870), ("voip2", 130)])];
    let alert = only(&alerts_for(&facts), AlertKind::PoolDrift);
    assert_eq!(alert.id, stable_id(&["pool", "pbxA"]));
    assert_eq!(alert.impact_phones, 130);
    assert_eq!(facet_kinds(&alert), vec![AlertKind::PoolDrift]);
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

/// Pool `wiki`: bigbox, smallbox1 and smallbox2 share the top priority (60/20/20), spare is the
/// backup.
fn wiki(rows: &[(&str, u64)]) -> PoolFacts {
    PoolFacts {
        changing: false,
        name: "wiki".into(),
        home: Some("bigbox".into()),
        home_servers: names(&["bigbox", "smallbox1", "smallbox2"]),
        member_servers: names(&["bigbox", "smallbox1", "smallbox2", "spare"]),
        phones_by_server: counts(rows),
        lint: Vec::new(),
        expected_split_share: Some(0.4),
    }
}

#[test]
fn a_multi_primary_pool_drifts_only_off_all_its_home_servers() {
    let mut facts = cluster();
    // 40% off bigbox is the pool's design, not drift: nothing is away.
    facts.pools = vec![wiki(&[
        ("bigbox", 600),
        ("smallbox1", 200),
        ("smallbox2", 200),
    ])];
    let book = evaluate(&facts, &settings());
    assert!(book.alerts.is_empty(), "{:#?}", book.alerts);
    assert_eq!(book.within_normal, WithinNormal::default());

    facts.pools = vec![wiki(&[
        ("bigbox", 500),
        ("smallbox1", 200),
        ("smallbox2", 100),
        ("spare", 200),
    ])];
    let alert = only(&alerts_for(&facts), AlertKind::PoolDrift);
    assert_eq!(alert.severity, Severity::Warning);
    assert_eq!(alert.impact_phones, 200);
    assert_eq!(
        alert.summary,
        "Pool wiki is drifting: 200 of 1000 phones (20%) are off its home servers bigbox, \
         smallbox1 and smallbox2, on spare."
    );
    assert_eq!(
        objects(&alert),
        vec![
            (ObjectKind::Pool, "wiki"),
            (ObjectKind::Server, "bigbox"),
            (ObjectKind::Server, "smallbox1"),
            (ObjectKind::Server, "smallbox2"),
            (ObjectKind::Server, "spare"),
        ]
    );
}

#[test]
fn a_pool_whose_home_servers_are_not_serving_does_not_drift() {
    let mut facts = cluster();
    let mut voip1 = server("voip1");
    voip1.last_report_at = Some(NOW - 2000);
    facts.servers = vec![voip1, server("voip2")];
    facts.pools = vec![pool("pbxA", "voip1", &[("voip1", 10), ("voip2", 90)])];
    // The phones failed over as designed: voip1's stale report is the one alert.
    let alerts = alerts_for(&facts);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].kind, AlertKind::StaleSnapshot);
    // Back and reporting: now it is drift.
    facts.servers[0].last_report_at = Some(NOW);
    assert_eq!(
        only(&alerts_for(&facts), AlertKind::PoolDrift).severity,
        Severity::Critical
    );
}

#[test]
fn a_home_server_listed_twice_counts_the_pools_phones_once() {
    let mut facts = cluster();
    let mut p = pool("pbxA", "voip1", &[("voip1", 50), ("voip2", 50)]);
    p.home_servers = names(&["voip1", "VOIP1"]);
    facts.pools = vec![p];
    let alert = only(&alerts_for(&facts), AlertKind::PoolDrift);
    assert_eq!(alert.impact_phones, 50);
    assert_eq!(alert.severity, Severity::Warning);
}

#[test]
fn a_pool_without_a_home_does_not_drift() {
    let mut facts = cluster();
    let mut p = pool("pbxA", "voip1", &[("voip2", 10)]);
    p.home = None;
    facts.pools = vec![p];
    assert!(alerts_for(&facts).is_empty());
}

// --- pool lint ---

#[test]
fn a_pools_lint_items_are_facets_of_its_one_alert() {
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
    let alerts = alerts_for(&facts);
    let lints = of_kind(&alerts, AlertKind::PoolLint);
    assert_eq!(lints.len(), 2, "{alerts:#?}");
    assert_eq!(alerts.len(), 2);

    let pbxa = lints
        .iter()
        .find(|a| a.objects[0] == ObjectRef::pool("pbxA"))
        .unwrap();
    assert_eq!(pbxa.id, stable_id(&["pool", "pbxA"]));
    assert_eq!(pbxa.severity, Severity::Warning);
    // Worst first: the two warnings (in the lint's order), then the planned maintenance.
    let facets: Vec<(AlertKind, Severity)> =
        pbxa.facets.iter().map(|f| (f.kind, f.severity)).collect();
    assert_eq!(
        facets,
        vec![
            (AlertKind::PoolLint, Severity::Warning),
            (AlertKind::PoolLint, Severity::Warning),
            (AlertKind::PoolLint, Severity::Info),
        ]
    );
    assert_eq!(
        pbxa.summary,
        "2 servers of pool pbxA (voip1.example.com. and voip2.example.com.) share the top \
         priority 10: a tenant of 10 phones lands whole on one server only about 1 time in \
         512."
    );
    assert_eq!(pbxa.facets[0].summary, pbxa.summary);
    assert!(pbxa.why.contains("single pool, random registration"));
    assert_eq!(
        pbxa.facets[1].summary,
        "voip2.example.com is marked retired but is still a member of pool pbxA."
    );
    assert_eq!(
        pbxa.facets[2].summary,
        "voip3.example.com is marked maintenance but is still a member of pool pbxA."
    );
    assert_eq!(
        objects(pbxa),
        vec![
            (ObjectKind::Pool, "pbxA"),
            (ObjectKind::Server, "voip1"),
            (ObjectKind::Server, "voip2"),
            (ObjectKind::Server, "voip3"),
        ]
    );
    let single = lints
        .iter()
        .find(|a| a.objects[0] == ObjectRef::pool("pbxB"))
        .unwrap();
    assert_eq!(single.severity, Severity::Warning);
    assert_eq!(single.summary, "Every record of pool pbxB points at voip1.");
}

#[test]
fn an_out_of_service_member_is_info_in_maintenance_and_a_warning_when_retired() {
    let lint_alert = |state: &str| {
        let mut facts = cluster();
        let mut p = pool("pbxA", "voip1", &[("voip1", 40)]);
        p.lint = vec![PoolLint::OutOfServiceMember {
            target: "voip2.example.com".into(),
            state: state.into(),
        }];
        facts.pools = vec![p];
        only(&alerts_for(&facts), AlertKind::PoolLint)
    };
    let maintenance = lint_alert("maintenance");
    assert_eq!(maintenance.severity, Severity::Info);
    assert!(!maintenance.why.contains("will not come back"));
    // The lint concerns every phone of the pool.
    assert_eq!(maintenance.impact_phones, 40);
    let retired = lint_alert("retired");
    assert_eq!(retired.severity, Severity::Warning);
    assert!(
        retired.why.contains("will not come back"),
        "{}",
        retired.why
    );
}

#[test]
fn drift_and_lint_of_one_pool_are_one_alert() {
    let mut facts = cluster();
    let mut p = pool("pbxA", "voip1", &[("voip1", 40), ("voip2", 60)]);
    p.lint = vec![PoolLint::OutOfServiceMember {
        target: "voip2".into(),
        state: "maintenance".into(),
    }];
    facts.pools = vec![p];
    let alerts = alerts_for(&facts);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.kind, AlertKind::PoolDrift);
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(
        facet_kinds(alert),
        vec![AlertKind::PoolDrift, AlertKind::PoolLint]
    );
    // Drift concerns the 60 away, the lint all 100: the alert affects the widest.
    assert_eq!(alert.facets[0].phones, 60);
    assert_eq!(alert.facets[1].phones, 100);
    assert_eq!(alert.impact_phones, 100);
}

#[test]
fn multi_primary_lint_mentions_the_expected_split_share() {
    let lint = PoolLint::SharedTopPriority {
        priority: 10,
        servers: names(&["bigbox", "smallbox1", "smallbox2"]),
        whole_chance_10: 0.006,
    };
    let mut facts = cluster();
    let mut p = wiki(&[("bigbox", 126), ("smallbox1", 42), ("smallbox2", 42)]);
    p.lint = vec![lint];
    facts.pools = vec![p.clone()];
    let alert = only(&alerts_for(&facts), AlertKind::PoolLint);
    assert_eq!(
        alert.summary,
        "3 servers of pool wiki (bigbox, smallbox1 and smallbox2) share the top priority 10: a \
         tenant of 10 phones lands whole on one server only about 1 time in 167. By the pool's \
         weights about 40% of each tenant's phones are expected off its fullest server."
    );
    assert_eq!(alert.impact_phones, 210);

    // Without the figure (or with none expected) the sentence is left out.
    for share in [None, Some(0.0)] {
        p.expected_split_share = share;
        facts.pools = vec![p.clone()];
        let alert = only(&alerts_for(&facts), AlertKind::PoolLint);
        assert!(
            alert.summary.ends_with("only about 1 time in 167."),
            "{}",
            alert.summary
        );
    }
}

#[test]
fn an_empty_pool_is_critical_only_when_tenants_use_it() {
    let mut facts = cluster();
    let mut p = pool("pbxC", "voip1", &[]);
    p.home = None;
    p.member_servers.clear();
    p.lint = vec![PoolLint::NoMembers];
    facts.pools = vec![p];
    let unused = only(&alerts_for(&facts), AlertKind::PoolLint);
    assert_eq!(unused.severity, Severity::Warning);
    assert_eq!(unused.summary, "Pool pbxC has no members.");

    let mut t = tenant("ACME", 12, &[]);
    t.pool = Some("PBXC".into());
    t.home = None;
    t.pool_servers.clear();
    facts.tenants = vec![t];
    let alerts = alerts_for(&facts);
    let used = only(&alerts, AlertKind::PoolLint);
    assert_eq!(used.severity, Severity::Critical);
    assert_eq!(used.impact_phones, 12);
    assert_eq!(
        used.summary,
        "Pool pbxC has no members, yet 1 tenant uses it (12 phones expected)."
    );
    assert_eq!(
        objects(&used),
        vec![(ObjectKind::Pool, "pbxC"), (ObjectKind::Tenant, "ACME")]
    );
    // The tenant's own alert (no phones) links the pool's alert that explains it.
    let acme = tenant_alert_of(&alerts, "ACME").unwrap();
    assert_eq!(acme.kind, AlertKind::TenantNoPhones);
    assert_eq!(acme.related, vec![used.id.clone()]);
}

#[test]
fn an_empty_pool_names_its_tenants_by_code_whatever_their_order() {
    let mut facts = cluster();
    let mut p = pool("pbxC", "voip1", &[]);
    p.home = None;
    p.member_servers.clear();
    p.lint = vec![PoolLint::NoMembers];
    facts.pools = vec![p];
    for code in ["G", "F", "E", "D", "C", "B", "A"] {
        let mut t = tenant(code, 1, &[]);
        t.pool = Some("pbxC".into());
        facts.tenants.push(t);
    }
    let named = |facts: &ClusterFacts| {
        let alert = only(&alerts_for(facts), AlertKind::PoolLint);
        assert!(
            alert.summary.contains("7 tenants use it"),
            "{}",
            alert.summary
        );
        alert
            .objects
            .iter()
            .filter(|o| o.kind == ObjectKind::Tenant)
            .map(|o| o.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(named(&facts), names(&["A", "B", "C", "D", "E"]));
    facts.tenants.reverse();
    assert_eq!(named(&facts), names(&["A", "B", "C", "D", "E"]));
}

#[test]
fn tenant_alerts_link_their_pools_lint_but_not_its_drift() {
    let mut facts = cluster();
    let mut p = pool("pbxA", "voip1", &[("voip1", 50), ("voip2", 50)]);
    facts.pools = vec![p.clone()];
    facts.tenants = vec![
        tenant("ACME", 50, &[("voip1", 20), ("voip2", 30)]),
        tenant("BETA", 50, &[("voip1", 30), ("voip2", 20)]),
    ];
    // Drift alone explains nothing: it is the sum of the tenants' own placement.
    let alerts = alerts_for(&facts);
    assert!(alerts.iter().all(|a| a.related.is_empty()), "{alerts:#?}");

    p.lint = vec![PoolLint::SharedTopPriority {
        priority: 10,
        servers: names(&["voip1", "voip2"]),
        whole_chance_10: 2f64.powi(-9),
    }];
    facts.pools = vec![p];
    let alerts = alerts_for(&facts);
    let pool_id = stable_id(&["pool", "pbxA"]);
    for code in ["ACME", "BETA"] {
        let alert = tenant_alert_of(&alerts, code).unwrap();
        assert_eq!(alert.related, vec![pool_id.clone()], "{code}");
    }
    // Only tenant alerts carry links; the pool alert is the cause.
    let pool_alert = alerts.iter().find(|a| a.id == pool_id).unwrap();
    assert!(pool_alert.related.is_empty());
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
    let alert = only(&alerts_for(&facts), AlertKind::PoolLint);
    assert_eq!(objects(&alert), vec![(ObjectKind::Pool, "pbxA")]);
}
