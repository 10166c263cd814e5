use super::*;

// --- unmatched ---

#[test]
fn unmatched_registrations_are_one_alert_per_server_with_examples() {
    let mut facts = cluster();
    facts.unmatched = [
        ("voip1", "g-100"),
        ("voip1", "f-100"),
        ("voip1", "e-100"),
        ("voip1", "d-100"),
        ("voip1", "c-100"),
        ("voip1", "b-100"),
        ("voip1", "b-100"),
        ("voip2", "200-NOBODY"),
    ]
    .iter()
    .map(|(s, e)| (s.to_string(), e.to_string()))
    .collect();
    let alerts = evaluate(&facts, &settings());
    assert_eq!(alerts.len(), 2);
    let voip1 = &alerts[0];
    assert_eq!(voip1.kind, AlertKind::Unmatched);
    assert_eq!(voip1.severity, Severity::Warning);
    assert_eq!(
        voip1.summary,
        "6 registrations on voip1 match no tenant, e.g. b-100, c-100, d-100, e-100, f-100."
    );
    assert_eq!(voip1.objects.len(), 1 + MAX_EXAMPLES);
    assert_eq!(voip1.objects[0], ObjectRef::server("voip1"));
    assert_eq!(voip1.objects[1], ObjectRef::endpoint("b-100"));
    assert_eq!(
        alerts[1].summary,
        "1 registration on voip2 matches no tenant, e.g. 200-NOBODY."
    );
}

// --- flapping ---

#[test]
fn flapping_starts_at_the_configured_number_of_moves() {
    let mut facts = cluster();
    facts.flapping = vec![flapper("100-ACME", Some("ACME"), 2)];
    assert!(evaluate(&facts, &settings()).is_empty());

    facts.flapping = vec![flapper("100-ACME", Some("ACME"), 3)];
    let alert = only(&evaluate(&facts, &settings()), AlertKind::Flapping);
    assert_eq!(alert.severity, Severity::Warning);
    assert_eq!(
        alert.summary,
        "Phone 100-ACME of tenant ACME moved between voip1 and voip2 3 times in the last 1 h."
    );
    assert!(alert.why.contains("unreachable"), "{}", alert.why);
    assert!(alert.why.contains("in-use state"), "{}", alert.why);
    assert_eq!(
        objects(&alert),
        vec![
            (ObjectKind::Tenant, "ACME"),
            (ObjectKind::Server, "voip1"),
            (ObjectKind::Server, "voip2"),
            (ObjectKind::Endpoint, "100-ACME"),
        ]
    );
}

#[test]
fn flapping_phones_are_grouped_by_tenant() {
    let mut facts = cluster();
    facts.flapping = vec![
        flapper("100-ACME", Some("ACME"), 3),
        flapper("101-ACME", Some("acme"), 7),
        flapper("102-ACME", Some("ACME"), 1),
        flapper("9999", None, 4),
    ];
    let alerts = evaluate(&facts, &settings());
    let flapping = of_kind(&alerts, AlertKind::Flapping);
    assert_eq!(flapping.len(), 2);
    let acme = flapping
        .iter()
        .find(|a| a.concerns(ObjectKind::Tenant, "ACME"))
        .unwrap();
    assert_eq!(
        acme.summary,
        "2 phones of tenant ACME moved between voip1 and voip2 at least 3 times each in the \
         last 1 h (most: 101-ACME 7 times), e.g. 101-ACME, 100-ACME."
    );
    let nobody = flapping
        .iter()
        .find(|a| a.summary.contains("no known tenant"))
        .unwrap();
    assert_eq!(nobody.objects[0], ObjectRef::server("voip1"));
    assert!(nobody.concerns(ObjectKind::Endpoint, "9999"));
}

// --- failback lag ---

fn away(endpoint: &str, tenant: &str, ua: Option<&str>, since: i64) -> AwayPhone {
    AwayPhone {
        endpoint: endpoint.into(),
        tenant: tenant.into(),
        server: "voip2".into(),
        home: "voip1".into(),
        user_agent: ua.map(str::to_string),
        away_since: since,
    }
}

#[test]
fn failback_lag_is_grouped_by_home_and_user_agent() {
    let mut facts = cluster();
    facts.servers = vec![server("voip1"), server("voip2")];
    let long_ago = NOW - 7200;
    facts.away = vec![
        away(
            "100-ACME",
            "ACME",
            Some("Yealink SIP-T46S 66.86.0.15"),
            long_ago,
        ),
        away(
            "101-ACME",
            "ACME",
            Some("Yealink SIP-T46S 66.86.0.15"),
            long_ago,
        ),
        away(
            "200-BETA",
            "BETA",
            Some(" Yealink SIP-T46S 66.86.0.15 "),
            NOW - 3600,
        ),
        away(
            "102-ACME",
            "ACME",
            Some("PolycomVVX-VVX_400-UA/6.4"),
            long_ago,
        ),
        away("103-ACME", "ACME", None, long_ago),
        away("104-ACME", "ACME", Some(""), long_ago),
    ];
    let alerts = evaluate(&facts, &settings());
    let lag = of_kind(&alerts, AlertKind::FailbackLag);
    assert_eq!(lag.len(), 3, "{alerts:#?}");
    assert!(lag.iter().all(|a| a.severity == Severity::Warning));
    assert!(
        lag.iter()
            .all(|a| a.objects[0] == ObjectRef::server("voip1"))
    );

    let yealink = lag.iter().find(|a| a.summary.contains("Yealink")).unwrap();
    assert_eq!(
        yealink.summary,
        "3 phones with user agent \"Yealink SIP-T46S 66.86.0.15\" are still on voip2 instead \
         of their home server voip1, which has been reporting again for over 30 min \
         (longest lag 2 h)."
    );
    assert!(yealink.why.contains("never fail back by themselves"));
    assert!(yealink.why.contains("ACME and BETA"), "{}", yealink.why);
    assert_eq!(
        objects(yealink),
        vec![
            (ObjectKind::Server, "voip1"),
            (ObjectKind::Server, "voip2"),
            (ObjectKind::Tenant, "ACME"),
            (ObjectKind::Tenant, "BETA"),
            (ObjectKind::Endpoint, "100-ACME"),
            (ObjectKind::Endpoint, "101-ACME"),
            (ObjectKind::Endpoint, "200-BETA"),
        ]
    );
    let polycom = lag.iter().find(|a| a.summary.contains("Polycom")).unwrap();
    assert!(polycom.summary.starts_with("1 phone with user agent"));
    assert!(polycom.summary.contains(" is still on voip2"));
    let unknown = lag
        .iter()
        .find(|a| a.summary.contains("report no user agent"))
        .unwrap();
    assert!(
        unknown.summary.starts_with("2 phones"),
        "{}",
        unknown.summary
    );
}

#[test]
fn failback_lag_waits_for_the_home_to_report_long_enough() {
    let mut facts = cluster();
    facts.servers = vec![server("voip1"), server("voip2")];
    let lagging =
        |facts: &ClusterFacts| of_kind(&evaluate(facts, &settings()), AlertKind::FailbackLag).len();

    facts.away = vec![away("100-ACME", "ACME", Some("Yealink"), NOW - 1800)];
    assert_eq!(lagging(&facts), 0, "exactly at the limit is not yet a lag");
    facts.away = vec![away("100-ACME", "ACME", Some("Yealink"), NOW - 1801)];
    assert_eq!(lagging(&facts), 1);

    // Away for hours, but voip1 came back only 10 minutes ago: failover, not lag.
    facts.servers[0].reporting_since = Some(NOW - 600);
    assert_eq!(lagging(&facts), 0);
    facts.servers[0].reporting_since = Some(NOW - 1801);
    assert_eq!(lagging(&facts), 1);

    // A home that is not reporting now cannot be failed back to.
    facts.servers[0].last_report_at = Some(NOW - 901);
    assert_eq!(lagging(&facts), 0);
    facts.servers[0].last_report_at = Some(NOW);
    facts.servers[0].state = "maintenance".into();
    assert_eq!(lagging(&facts), 0);
    // An unknown home, or a phone that is in fact home, is no lag either.
    facts.servers[0].state = "active".into();
    facts.away[0].home = "voip9".into();
    assert_eq!(lagging(&facts), 0);
    facts.away[0].home = "voip2".into();
    assert_eq!(lagging(&facts), 0);
}
