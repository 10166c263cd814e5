use super::*;

#[test]
fn import_rebuilds_the_demo_servers_and_pools() {
    let records = parse_zone(BIND_RELATIVE, None).unwrap();
    let proposal = propose_import(&records).unwrap();
    assert_eq!(proposal.warnings, Vec::<String>::new());
    let servers: Vec<(&str, &str, u16)> = proposal
        .servers
        .iter()
        .map(|s| (s.name.as_str(), s.host.as_str(), s.port))
        .collect();
    assert_eq!(
        servers,
        [
            ("voip1", "voip1.example.com", 5060),
            ("voip2", "voip2.example.com", 5060),
            ("bigbox", "bigbox.example.com", 5060),
            ("smallbox1", "smallbox1.example.com", 5060),
            ("smallbox2", "smallbox2.example.com", 5060),
            ("backupbox", "backupbox.example.com", 5060),
        ]
    );
    // DNS keeps neither pool names nor case: names come from the owner's first label.
    let names: Vec<&str> = proposal.pools.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["pbxa", "pbxb", "example"]);
    let rebuilt: Vec<ZonePool> = proposal
        .pools
        .iter()
        .zip(demo_pools())
        .map(|(p, original)| ZonePool {
            name: original.name,
            owner: p.owner.parse().unwrap(),
            ttl: p.ttl,
            transports: p.transports.clone(),
            left_out: Vec::new(),
            members: p.members.clone(),
        })
        .collect();
    assert_eq!(zone_records(&rebuilt).unwrap(), records);
    assert_eq!(
        render(&rebuilt, ExportFormat::Bind, &full_options()).unwrap(),
        BIND_RELATIVE
    );
}

#[test]
fn import_merges_transports_that_agree_and_warns_when_they_differ() {
    let rec = |owner: &str, ttl: u32, priority: u16, target: &str| ZoneRecord {
        owner: owner.into(),
        ttl,
        priority,
        weight: 10,
        port: 5060,
        target: target.into(),
    };
    let records = vec![
        rec("_sips._tcp.pbxa.example.com", 3600, 10, "voip1.example.com"),
        rec("_sip._udp.pbxa.example.com", 3600, 10, "voip1.example.com"),
        rec("_sip._udp.pbxa.example.com", 3600, 20, "voip2.example.com"),
        rec("_sip._tcp.pbxa.example.com", 3600, 20, "voip2.example.com"),
        rec("_sip._tcp.pbxa.example.com", 300, 10, "voip1.example.com"),
    ];
    let proposal = propose_import(&records).unwrap();
    let pool = &proposal.pools[0];
    assert_eq!(pool.transports, [Transport::Udp, Transport::Tcp]);
    assert_eq!(
        pool.members,
        [
            member("voip1.example.com", 10, 10, 5060),
            member("voip2.example.com", 20, 10, 5060)
        ]
    );
    assert_eq!(pool.ttl, 300);
    assert_eq!(proposal.warnings.len(), 2, "{:?}", proposal.warnings);
    assert!(proposal.warnings[0].starts_with("_sips._tcp.pbxa.example.com lists voip1.example.com:5060 10/10 but _sip._udp.pbxa.example.com lists"));
    assert!(proposal.warnings[1].contains("different TTLs (300, 3600)"));

    // A tie between two different lists goes to the first transport in udp, tcp, tls order.
    let tie = vec![
        rec("_sip._tcp.pbxb.example.com", 60, 10, "voip2.example.com"),
        rec("_sip._udp.pbxb.example.com", 60, 10, "voip1.example.com"),
    ];
    let proposal = propose_import(&tie).unwrap();
    assert_eq!(proposal.pools[0].transports, [Transport::Udp]);
    assert_eq!(proposal.pools[0].members[0].target, "voip1.example.com");
    assert!(proposal.warnings[0].contains("_sip._tcp is left out"));
}

#[test]
fn import_warns_on_duplicates_name_clashes_and_other_services() {
    let rec = |owner: &str, target: &str, port: u16| ZoneRecord {
        owner: owner.into(),
        ttl: 60,
        priority: 10,
        weight: 10,
        port,
        target: target.into(),
    };
    let records = vec![
        rec("_sip._udp.pbxa.example.com", "voip1.example.com", 5062),
        rec("_sip._udp.pbxa.example.com", "voip1.example.com", 5062),
        rec("_sip._udp.pbxa.example.org", "voip1.example.org", 5060),
        rec("_sip._udp.pbxa.example.org", "voip1.example.com", 5060),
        rec("_sip._udp.pbxa.example.net", "voip1.example.com", 5062),
        rec("_xmpp._tcp.example.com", "chat.example.com", 5222),
    ];
    let proposal = propose_import(&records).unwrap();
    let names: Vec<&str> = proposal.pools.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["pbxa", "pbxa-2", "pbxa-3"]);
    assert_eq!(proposal.pools[0].members.len(), 1);
    let servers: Vec<(&str, &str, u16)> = proposal
        .servers
        .iter()
        .map(|s| (s.name.as_str(), s.host.as_str(), s.port))
        .collect();
    // voip1.example.com is reached on 5062 three times and on 5060 once.
    assert_eq!(
        servers,
        [
            ("voip1", "voip1.example.com", 5062),
            ("voip1-2", "voip1.example.org", 5060)
        ]
    );
    let warnings = proposal.warnings.join("\n");
    for expected in [
        "\"_xmpp._tcp.example.com\" is not a _sip._udp",
        "_sip._udp.pbxa.example.com: 1 duplicate record ignored",
        "pool pbxa.example.org is named pbxa-2",
        "server voip1.example.org is named voip1-2",
    ] {
        assert!(
            warnings.contains(expected),
            "missing {expected:?} in\n{warnings}"
        );
    }
    let mut names = UniqueNames::default();
    assert_eq!(names.claim(&"a".repeat(63)), "a".repeat(63));
    assert_eq!(
        names.claim(&"A".repeat(63)),
        format!("{}-2", "A".repeat(61))
    );
    assert_eq!(names.claim("x-2"), "x-2");
    assert_eq!(names.claim("x"), "x");
    // "x-2" is already a host's own name, so the second "x" becomes "x-3".
    assert_eq!(names.claim("X"), "X-3");
}

#[test]
fn import_refuses_nothing_to_import_and_bad_records() {
    assert!(propose_import(&[]).is_err());
    let good = ZoneRecord {
        owner: "_sip._udp.pbxa.example.com".into(),
        ttl: 60,
        priority: 10,
        weight: 10,
        port: 5060,
        target: "voip1.example.com".into(),
    };
    for bad in [
        ZoneRecord {
            target: "voip1.example.com\n@ NS evil.".into(),
            ..good.clone()
        },
        ZoneRecord {
            owner: "_sip._udp.pbx a.example.com".into(),
            ..good.clone()
        },
        ZoneRecord {
            ttl: 0,
            ..good.clone()
        },
        ZoneRecord {
            port: 0,
            ..good.clone()
        },
    ] {
        let err = propose_import(&[good.clone(), bad]).unwrap_err();
        assert!(err.reason.starts_with("record 2 "), "{err}");
        assert!(!err.to_string().contains('\n'));
    }
}
