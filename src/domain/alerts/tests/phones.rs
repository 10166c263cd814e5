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
    let alerts = alerts_for(&facts);
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
    facts.tenants = vec![tenant("ACME", 10, &[("voip1", 10)])];
    facts.flapping = vec![flapper("100-ACME", Some("ACME"), 2)];
    assert!(alerts_for(&facts).is_empty());

    facts.flapping = vec![flapper("100-ACME", Some("ACME"), 3)];
    let alerts = alerts_for(&facts);
    // A tenant's flapping phones are a facet of its one alert.
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.kind, AlertKind::Flapping);
    assert_eq!(alert.severity, Severity::Warning);
    assert_eq!(alert.impact_phones, 1);
    assert_eq!(alert.id, stable_id(&["tenant", "ACME"]));
    assert_eq!(facet_kinds(alert), vec![AlertKind::Flapping]);
    assert_eq!(
        alert.summary,
        "Phone 100-ACME of tenant ACME moved between voip1 and voip2 3 times in the last 1 h."
    );
    assert!(alert.why.contains("unreachable"), "{}", alert.why);
    assert!(alert.why.contains("in-use state"), "{}", alert.why);
    assert_eq!(
        objects(alert),
        vec![
            (ObjectKind::Tenant, "ACME"),
            (ObjectKind::Pool, "pbxA"),
            (ObjectKind::Server, "voip1"),
            (ObjectKind::Server, "voip2"),
        ]
    );

    // The threshold is the setting's.
    let patient = AlertSettings {
        flap_moves: 4,
        ..settings()
    };
    assert!(evaluate(&facts, &patient).alerts.is_empty());
}

#[test]
fn flapping_phones_are_grouped_by_tenant() {
    let mut facts = cluster();
    facts.tenants = vec![tenant("ACME", 10, &[("voip1", 10)])];
    facts.flapping = vec![
        flapper("100-ACME", Some("ACME"), 3),
        flapper("101-ACME", Some("acme"), 7),
        flapper("102-ACME", Some("ACME"), 1),
        flapper("9999", None, 4),
        flapper("9998", Some(" "), 5),
    ];
    let alerts = alerts_for(&facts);
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    let acme = tenant_alert_of(&alerts, "ACME").unwrap();
    assert_eq!(acme.kind, AlertKind::Flapping);
    assert_eq!(acme.impact_phones, 2);
    assert_eq!(
        acme.summary,
        "2 phones of tenant ACME moved between voip1 and voip2 at least 3 times each in the \
         last 1 h (most: 101-ACME 7 times), e.g. 101-ACME, 100-ACME."
    );
    // Only phones of no known tenant are an alert of their own.
    let nobody = alerts
        .iter()
        .find(|a| a.objects[0].kind != ObjectKind::Tenant)
        .unwrap();
    assert_eq!(nobody.kind, AlertKind::Flapping);
    assert_eq!(nobody.id, stable_id(&["flapping", "no tenant"]));
    assert!(nobody.facets.is_empty());
    assert_eq!(nobody.impact_phones, 2);
    assert_eq!(
        nobody.summary,
        "2 phones of no known tenant moved between voip1 and voip2 at least 3 times each in \
         the last 1 h (most: 9998 5 times), e.g. 9998, 9999."
    );
    assert_eq!(
        objects(nobody),
        vec![
            (ObjectKind::Server, "voip1"),
            (ObjectKind::Server, "voip2"),
            (ObjectKind::Endpoint, "9998"),
            (ObjectKind::Endpoint, "9999"),
        ]
    );
    assert!(!nobody.concerns(ObjectKind::Tenant, "ACME"));
}

// --- failback lag ---

#[test]
fn failback_lag_is_one_alert_per_home_and_user_agent() {
    let mut facts = cluster();
    facts.servers = vec![server("voip1"), server("voip2")];
    let long_ago = NOW - 7200;
    let yealink = "Yealink SIP-T46S 66.86.0.15";
    facts.away = vec![
        away(
            "ACME",
            Some(yealink),
            2,
            long_ago,
            &["101-ACME", "100-ACME"],
        ),
        away(
            "BETA",
            Some(" Yealink SIP-T46S 66.86.0.15 "),
            1,
            NOW - 3600,
            &["200-BETA"],
        ),
        away(
            "ACME",
            Some("PolycomVVX-VVX_400-UA/6.4"),
            1,
            long_ago,
            &["102-ACME"],
        ),
        away("ACME", None, 1, long_ago, &["103-ACME"]),
        away("ACME", Some(""), 1, long_ago, &["104-ACME"]),
    ];
    let alerts = alerts_for(&facts);
    let lag = of_kind(&alerts, AlertKind::FailbackLag);
    assert_eq!(lag.len(), 3, "{alerts:#?}");
    // The tenants are not in the facts: nothing but the (server, user agent) alerts.
    assert_eq!(alerts.len(), 3);
    assert!(lag.iter().all(|a| a.severity == Severity::Warning));
    assert!(lag.iter().all(|a| a.facets.is_empty()));
    assert!(
        lag.iter()
            .all(|a| a.objects[0] == ObjectRef::server("voip1"))
    );
    // Failback alerts name the servers and example phones, never the tenants.
    assert!(
        lag.iter()
            .all(|a| a.objects.iter().all(|o| o.kind != ObjectKind::Tenant))
    );

    let yealink_alert = lag.iter().find(|a| a.summary.contains("Yealink")).unwrap();
    assert_eq!(yealink_alert.impact_phones, 3);
    assert_eq!(
        yealink_alert.id,
        stable_id(&["failback_lag", "voip1", yealink])
    );
    assert_eq!(
        yealink_alert.summary,
        "3 phones with user agent \"Yealink SIP-T46S 66.86.0.15\" of 2 tenants are still on \
         voip2 instead of their home server voip1, which has been reporting again for over 30 \
         min (longest lag 2 h)."
    );
    assert!(yealink_alert.why.contains("does not fail back by itself"));
    assert!(
        yealink_alert.why.contains("(ACME and BETA)"),
        "{}",
        yealink_alert.why
    );
    assert_eq!(
        objects(yealink_alert),
        vec![
            (ObjectKind::Server, "voip1"),
            (ObjectKind::Server, "voip2"),
            (ObjectKind::Endpoint, "100-ACME"),
            (ObjectKind::Endpoint, "101-ACME"),
            (ObjectKind::Endpoint, "200-BETA"),
        ]
    );
    let polycom = lag.iter().find(|a| a.summary.contains("Polycom")).unwrap();
    assert!(polycom.summary.starts_with("1 phone with user agent"));
    assert!(polycom.summary.contains(" is still on voip2"));
    assert!(polycom.summary.contains(" its home server voip1"));
    let unknown = lag
        .iter()
        .find(|a| a.summary.contains("report no user agent"))
        .unwrap();
    assert!(
        unknown
            .summary
            .starts_with("2 phones that report no user agent of 1 tenant"),
        "{}",
        unknown.summary
    );
    assert_eq!(unknown.impact_phones, 2);
}

#[test]
fn user_agents_differing_only_in_case_are_one_failback_alert() {
    // The alert's id ignores case, so two spellings must not make two alerts with one id.
    let mut facts = cluster();
    facts.servers = vec![server("voip1"), server("voip2")];
    facts.away = vec![
        away(
            "ACME",
            Some("yealink sip-t46s"),
            1,
            NOW - 7200,
            &["100-ACME"],
        ),
        away(
            "ACME",
            Some("Yealink SIP-T46S"),
            2,
            NOW - 7200,
            &["101-ACME"],
        ),
    ];
    let one = only(&alerts_for(&facts), AlertKind::FailbackLag);
    assert_eq!(one.impact_phones, 3);
    assert_eq!(
        one.id,
        stable_id(&["failback_lag", "voip1", "yealink sip-t46s"])
    );
    assert!(
        one.summary
            .starts_with("3 phones with user agent \"Yealink SIP-T46S\" of 1 tenant"),
        "{}",
        one.summary
    );
    facts.away.reverse();
    assert_eq!(only(&alerts_for(&facts), AlertKind::FailbackLag), one);
}

#[test]
fn failback_lag_counts_the_phones_of_a_group_and_keeps_a_few_examples() {
    let mut facts = cluster();
    facts.servers = vec![server("voip1"), server("voip2"), server("voip3")];
    let mut on_voip3 = away("BETA", Some("Yealink"), 300, NOW - 7200, &["g", "f", "e"]);
    on_voip3.server = "voip3".into();
    facts.away = vec![
        away(
            "ACME",
            Some("Yealink"),
            150,
            NOW - 4000,
            &["d", "c", "b", "a"],
        ),
        on_voip3,
    ];
    let alert = only(&alerts_for(&facts), AlertKind::FailbackLag);
    assert_eq!(alert.impact_phones, 450);
    assert!(
        alert.summary.starts_with(
            "450 phones with user agent \"Yealink\" of 2 tenants are still on voip2 \
                          and voip3 instead of their home server voip1"
        ),
        "{}",
        alert.summary
    );
    let endpoints: Vec<&str> = alert
        .objects
        .iter()
        .filter(|o| o.kind == ObjectKind::Endpoint)
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(endpoints, vec!["a", "b", "c", "d", "e"]);
}

#[test]
fn a_tenants_lagging_phones_are_a_facet_of_its_alert_unless_it_is_within_normal() {
    let mut facts = cluster();
    facts.servers = vec![server("voip1"), server("voip2")];
    // ACME: 5 of 100 away is the normal band, so ACME is not listed for its lagging phones;
    // BETA: 20 of 100 away is a split, and its lagging phones are a facet of it.
    facts.tenants = vec![
        tenant("ACME", 100, &[("voip1", 95), ("voip2", 5)]),
        tenant("BETA", 100, &[("voip1", 80), ("voip2", 20)]),
    ];
    facts.away = vec![
        away("acme", Some("Yealink"), 3, NOW - 7200, &["100-ACME"]),
        away("ACME", Some("PolycomVVX"), 2, NOW - 5400, &["101-ACME"]),
        away("BETA", Some("Yealink"), 20, NOW - 3600, &["100-BETA"]),
    ];
    let book = evaluate(&facts, &settings());
    assert!(
        tenant_alert_of(&book.alerts, "ACME").is_none(),
        "{:#?}",
        book.alerts
    );
    assert_eq!(book.within_normal.tenants, 1);
    let beta = tenant_alert_of(&book.alerts, "BETA").unwrap();
    assert_eq!(beta.kind, AlertKind::TenantSplit);
    assert_eq!(
        facet_kinds(beta),
        vec![AlertKind::TenantSplit, AlertKind::FailbackLag]
    );
    let lag = &beta.facets[1];
    assert_eq!(lag.phones, 20);
    assert_eq!(
        lag.summary,
        "20 phones of tenant BETA are still on voip2 although voip1 has been reporting again for \
         over 30 min (longest away 1 h; Yealink)."
    );
    // Besides the tenant alert, one alert per user agent, not naming tenants: Yealink counts
    // ACME's 3 and BETA's 20, PolycomVVX ACME's 2.
    let per_agent = of_kind(&book.alerts, AlertKind::FailbackLag);
    assert_eq!(per_agent.len(), 2);
    assert!(
        per_agent
            .iter()
            .all(|a| a.objects.iter().all(|o| o.kind != ObjectKind::Tenant))
    );
    let mut phones: Vec<u64> = per_agent.iter().map(|a| a.impact_phones).collect();
    phones.sort();
    assert_eq!(phones, vec![2, 23]);
}

#[test]
fn failback_lag_waits_for_the_home_to_report_long_enough() {
    let mut facts = cluster();
    facts.servers = vec![server("voip1"), server("voip2")];
    let lagging = |facts: &ClusterFacts| of_kind(&alerts_for(facts), AlertKind::FailbackLag).len();

    facts.away = vec![away("ACME", Some("Yealink"), 1, NOW - 1800, &["100-ACME"])];
    assert_eq!(lagging(&facts), 0, "exactly at the limit is not yet a lag");
    facts.away[0].away_since = NOW - 1801;
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
    // An unknown home, a phone that is in fact home, or an empty group is no lag either.
    facts.servers[0].state = "active".into();
    facts.away[0].home = "voip9".into();
    assert_eq!(lagging(&facts), 0);
    facts.away[0].home = "VOIP2".into();
    assert_eq!(lagging(&facts), 0);
    facts.away[0].home = "voip1".into();
    facts.away[0].phones = 0;
    assert_eq!(lagging(&facts), 0);
    facts.away[0].phones = 1;
    assert_eq!(lagging(&facts), 1);
}
