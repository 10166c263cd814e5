use super::*;

// --- pool drift ---

fn drift(rows: &[(&str, u64)]) -> Option<Severity> {
    let mut facts = cluster();
    facts.pools = vec![pool("pbxA", "voip1", rows)];
    let alerts = evaluate(&facts, &settings());
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
fn pool_drift_alert_names_the_pool_and_its_servers() {
    let mut facts = cluster();
    facts.pools = vec![pool("pbxA", "voip1", &[("voip1", 870), ("voip2", 130)])];
    let alert = only(&evaluate(&facts, &settings()), AlertKind::PoolDrift);
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

#[test]
fn a_pool_without_a_home_does_not_drift() {
    let mut facts = cluster();
    let mut p = pool("pbxA", "voip1", &[("voip2", 10)]);
    p.home = None;
    facts.pools = vec![p];
    assert!(evaluate(&facts, &settings()).is_empty());
}

// --- pool lint ---

#[test]
fn each_lint_item_is_one_alert_with_its_severity() {
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
    let alerts = evaluate(&facts, &settings());
    let lints = of_kind(&alerts, AlertKind::PoolLint);
    assert_eq!(lints.len(), 4);

    let shared = lints
        .iter()
        .find(|a| a.summary.contains("top priority"))
        .unwrap();
    assert_eq!(shared.severity, Severity::Warning);
    assert_eq!(
        shared.summary,
        "2 servers of pool pbxA (voip1.example.com. and voip2.example.com.) share the top \
         priority 10: a tenant of 10 phones lands whole on one server only about 1 time in \
         512."
    );
    assert!(shared.why.contains("single pool, random registration"));
    assert_eq!(
        objects(shared),
        vec![
            (ObjectKind::Pool, "pbxA"),
            (ObjectKind::Server, "voip1"),
            (ObjectKind::Server, "voip2"),
        ]
    );
    let maintenance = lints
        .iter()
        .find(|a| a.summary.contains("maintenance"))
        .unwrap();
    assert_eq!(maintenance.severity, Severity::Info);
    assert_eq!(
        objects(maintenance),
        vec![(ObjectKind::Pool, "pbxA"), (ObjectKind::Server, "voip3")]
    );
    let retired = lints
        .iter()
        .find(|a| a.summary.contains("retired"))
        .unwrap();
    assert_eq!(retired.severity, Severity::Warning);
    assert!(retired.why.contains("will not come back"));
    let single = lints.iter().find(|a| a.summary.contains("pbxB")).unwrap();
    assert_eq!(single.severity, Severity::Warning);
    assert_eq!(single.summary, "Every record of pool pbxB points at voip1.");
}

#[test]
fn an_empty_pool_is_critical_only_when_tenants_use_it() {
    let mut facts = cluster();
    let mut p = pool("pbxC", "voip1", &[]);
    p.home = None;
    p.member_servers.clear();
    p.lint = vec![PoolLint::NoMembers];
    facts.pools = vec![p];
    let unused = only(&evaluate(&facts, &settings()), AlertKind::PoolLint);
    assert_eq!(unused.severity, Severity::Warning);
    assert_eq!(unused.summary, "Pool pbxC has no members.");

    let mut t = tenant("ACME", 12, &[]);
    t.pool = Some("PBXC".into());
    t.home = None;
    t.pool_servers.clear();
    facts.tenants = vec![t];
    let used = only(&evaluate(&facts, &settings()), AlertKind::PoolLint);
    assert_eq!(used.severity, Severity::Critical);
    assert_eq!(
        used.summary,
        "Pool pbxC has no members, yet 1 tenant uses it (12 phones expected)."
    );
    assert_eq!(
        objects(&used),
        vec![(ObjectKind::Pool, "pbxC"), (ObjectKind::Tenant, "ACME")]
    );
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
    let alert = only(&evaluate(&facts, &settings()), AlertKind::PoolLint);
    assert_eq!(objects(&alert), vec![(ObjectKind::Pool, "pbxA")]);
}
