use super::*;
use std::cmp::Ordering;

#[test]
fn transport_and_format_names_round_trip() {
    for t in Transport::ALL {
        assert_eq!(t.to_string().parse::<Transport>(), Ok(t));
        assert_eq!(
            serde_json::to_string(&t).ok(),
            Some(format!("\"{}\"", t.as_str()))
        );
    }
    assert_eq!(" TLS ".parse::<Transport>(), Ok(Transport::Tls));
    assert!("sctp".parse::<Transport>().is_err());
    for f in ExportFormat::ALL {
        assert_eq!(f.to_string().parse::<ExportFormat>(), Ok(f));
        assert!(!f.file_extension().is_empty() && f.content_type().contains('/'));
    }
    assert!("yaml".parse::<ExportFormat>().is_err());
    assert_eq!(Transport::Tls.service_prefix(), "_sips._tcp");
    assert_eq!(
        Transport::split_owner("_SIPS._TCP.pbxa.example.com"),
        Some((Transport::Tls, "pbxa.example.com"))
    );
    assert_eq!(Transport::split_owner("_sip._udpx.example.com"), None);
    assert_eq!(Transport::split_owner("_sip._udp"), None);
}

#[test]
fn zone_records_follow_the_documented_order() {
    let mut pools = demo_pools();
    pools[0].transports = vec![Transport::Tls, Transport::Udp, Transport::Tls];
    let records = zone_records(&pools).unwrap();
    assert_eq!(records.len(), 2 * 2 + 2 + 5);
    let owners: Vec<&str> = records.iter().map(|r| r.owner.as_str()).collect();
    assert_eq!(
        owners[..4],
        [
            "_sip._udp.pbxa.example.com",
            "_sip._udp.pbxa.example.com",
            "_sips._tcp.pbxa.example.com",
            "_sips._tcp.pbxa.example.com"
        ]
    );
    // The owner was given as PBXB.example.com. and comes out canonical.
    assert_eq!(records[4].owner, "_sip._udp.pbxb.example.com");
    // The source document's own listing order for the five-record pool.
    let wiki: Vec<(&str, u16, u16, u16)> = records[6..]
        .iter()
        .map(|r| (r.target.as_str(), r.priority, r.weight, r.port))
        .collect();
    assert_eq!(
        wiki,
        [
            ("bigbox.example.com", 10, 60, 5060),
            ("smallbox1.example.com", 10, 20, 5060),
            ("smallbox2.example.com", 10, 10, 5060),
            ("smallbox2.example.com", 10, 10, 5066),
            ("backupbox.example.com", 20, 0, 5060),
        ]
    );
}

#[test]
fn each_format_renders_the_demo_cluster_exactly() {
    let none = ExportOptions::default();
    assert_eq!(rendered(ExportFormat::Bind, &none), BIND_ABSOLUTE);
    assert_eq!(rendered(ExportFormat::Bind, &full_options()), BIND_RELATIVE);
    assert_eq!(rendered(ExportFormat::Nsupdate, &full_options()), NSUPDATE);
    assert_eq!(rendered(ExportFormat::Json, &none), JSON);
    assert_eq!(rendered(ExportFormat::Json, &full_options()), JSON);
    assert_eq!(rendered(ExportFormat::Octodns, &origin_only()), OCTODNS);
    assert_eq!(
        rendered(ExportFormat::Dnscontrol, &origin_only()),
        DNSCONTROL
    );
}

#[test]
fn bind_without_default_ttl_has_no_ttl_line_and_nsupdate_without_options_is_bare() {
    let bind = rendered(ExportFormat::Bind, &origin_only());
    assert!(bind.contains("$ORIGIN example.com.\n") && !bind.contains("$TTL"));
    // A snippet never carries $TTL, even when a default was given: pasted into a zone it would
    // change the TTL of every record after it.
    assert!(!rendered(ExportFormat::Bind, &full_options()).contains("$TTL"));
    let script = rendered(ExportFormat::Nsupdate, &ExportOptions::default());
    assert!(!script.contains("server") && !script.contains("zone ") && !script.contains("TSIG"));
    assert_eq!(script.lines().filter(|l| *l == "send").count(), 3);
    for text in [script, rendered(ExportFormat::Nsupdate, &full_options())] {
        // nsupdate sends on a blank line; a stray one would split a pool's update.
        assert!(text.lines().all(|l| !l.trim().is_empty()));
    }
}

#[test]
fn nsupdate_server_may_be_an_address_with_a_port() {
    let opts = ExportOptions {
        nsupdate_server: Some("127.0.0.1 5353".into()),
        ..ExportOptions::default()
    };
    assert!(rendered(ExportFormat::Nsupdate, &opts).contains("\nserver 127.0.0.1 5353\n"));
    let opts = ExportOptions {
        nsupdate_server: Some("2001:db8::53".into()),
        ..ExportOptions::default()
    };
    assert!(rendered(ExportFormat::Nsupdate, &opts).contains("\nserver 2001:db8::53\n"));
}

#[test]
fn json_export_reads_back_as_the_records() {
    let back: Vec<ZoneRecord> = serde_json::from_str(JSON).unwrap();
    assert_eq!(back, zone_records(&demo_pools()).unwrap());
}

#[test]
fn octodns_and_dnscontrol_need_the_zone() {
    for format in [ExportFormat::Octodns, ExportFormat::Dnscontrol] {
        let err = render(&demo_pools(), format, &ExportOptions::default()).unwrap_err();
        assert!(err.reason.contains("zone origin"), "{err}");
    }
}

#[test]
fn owners_outside_the_origin_are_refused() {
    let opts = ExportOptions {
        origin: Some("example.org".into()),
        ..ExportOptions::default()
    };
    for format in ExportFormat::ALL {
        let err = render(&demo_pools(), format, &opts).unwrap_err();
        assert!(
            err.reason.contains("pool pbxA") && err.reason.contains("outside the zone example.org"),
            "{format}: {err}"
        );
    }
}

#[test]
fn names_are_relative_only_inside_the_origin() {
    assert_eq!(zone_name("example.com", Some("example.com")), "@");
    assert_eq!(zone_name("voip1.example.com", Some("example.com")), "voip1");
    assert_eq!(
        zone_name("voip1.example.net", Some("example.com")),
        "voip1.example.net."
    );
    // A suffix match that is not on a label boundary is not inside the zone.
    assert_eq!(
        zone_name("myexample.com", Some("example.com")),
        "myexample.com."
    );
    assert_eq!(zone_name("voip1.example.com", None), "voip1.example.com.");

    let pools = vec![ZonePool {
        name: "edge".parse().unwrap(),
        owner: "sip.example.com".parse().unwrap(),
        ttl: 60,
        transports: vec![Transport::Udp],
        left_out: Vec::new(),
        members: vec![
            member("example.com", 0, 0, 5060),
            member("pbx.example.net", 1, 0, 5060),
        ],
    }];
    let text = render(&pools, ExportFormat::Bind, &origin_only()).unwrap();
    assert!(
        text.contains("_sip._udp.sip 60 IN SRV 0 0 5060 @\n"),
        "{text}"
    );
    assert!(
        text.contains("_sip._udp.sip 60 IN SRV 1 0 5060 pbx.example.net.\n"),
        "{text}"
    );
    assert_eq!(
        parse_zone(&text, None).unwrap(),
        zone_records(&pools).unwrap()
    );
}

#[test]
fn bind_export_parses_back_to_exactly_the_records() {
    let expected = zone_records(&demo_pools()).unwrap();
    assert_eq!(parse_zone(BIND_ABSOLUTE, None).unwrap(), expected);
    assert_eq!(parse_zone(BIND_RELATIVE, None).unwrap(), expected);
    // An origin given by the caller is overridden by the file's own $ORIGIN line.
    assert_eq!(
        parse_zone(BIND_RELATIVE, Some("example.org")).unwrap(),
        expected
    );
    let parsed = parse_zone_file(BIND_ABSOLUTE, None).unwrap();
    assert_eq!(parsed.skipped_count(), 0);
}

#[test]
fn hickory_reads_the_bind_export_as_the_same_records() {
    let expected = sorted(zone_records(&demo_pools()).unwrap());
    assert_eq!(hickory_records(BIND_ABSOLUTE, "example.com."), expected);
    assert_eq!(hickory_records(BIND_RELATIVE, "example.org."), expected);
}

const HOSTILE: [&str; 12] = [
    "voip1.example.com\n@ IN NS evil.example.net.",
    "voip1.example.com; rm",
    "voip1.example.com\"",
    "voip1.(example).com",
    "$INCLUDE /etc/passwd",
    "$INCLUDE.example.com",
    "voip1 example.com",
    "voip1.example.com\r",
    "vöip1.example.com",
    "\u{202e}voip1.example.com",
    "_sip._udp.example.com",
    "x.example.com\u{0}",
];

/// A name reaches the export only as a `PoolName` or `HostName`: each hostile value is refused
/// by the type, so no pool can carry it into any format.
#[test]
fn hostile_names_are_refused_before_they_can_reach_a_zone() {
    let long_label = format!("{}.example.com", "a".repeat(64));
    let long_name = format!("{}.example.com", vec!["a".repeat(60); 5].join("."));
    let mut values: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
    values.extend([long_label, long_name, String::new()]);
    for value in &values {
        let err = HostName::parse(value).expect_err(&format!("host {value:?} accepted"));
        assert!(!err.contains(['\n', '\r', '\0']), "{err:?}");
        assert!(
            PoolName::parse(value).is_err(),
            "pool name {value:?} accepted"
        );
    }
    for name in [
        "pbx\nA", "pbx A", "pbx;A", "pbx\"A", "(pbxA)", "$INCLUDE", "pbxé",
    ] {
        assert!(PoolName::parse(name).is_err(), "{name:?}");
    }
}

#[test]
fn hostile_or_out_of_range_options_are_refused() {
    let with = |f: fn(&mut ExportOptions)| {
        let mut opts = full_options();
        f(&mut opts);
        render(&demo_pools(), ExportFormat::Nsupdate, &opts)
    };
    assert!(with(|o| o.origin = Some("example.com\n$INCLUDE /etc/passwd".into())).is_err());
    assert!(with(|o| o.origin = Some("example.com;".into())).is_err());
    assert!(with(|o| o.default_ttl = Some(0)).is_err());
    assert!(with(|o| o.default_ttl = Some(MAX_TTL + 1)).is_err());
    assert!(
        with(|o| o.nsupdate_server = Some("ns1.example.com\nupdate delete example.com.".into()))
            .is_err()
    );
    assert!(with(|o| o.nsupdate_server = Some("ns1.example.com 0".into())).is_err());
    assert!(with(|o| o.nsupdate_server = Some("ns1.example.com 53 x".into())).is_err());
    assert!(with(|o| o.tsig_key_name = Some("key\nserver evil.example.net".into())).is_err());
    assert!(with(|o| o.tsig_key_name = Some("key name".into())).is_err());
    assert!(with(|o| o.tsig_key_name = Some(String::new())).is_err());
    assert!(with(|o| o.tsig_key_name = Some("ddns_key.example.com.".into())).is_ok());
}

#[test]
fn values_outside_their_ranges_are_refused() {
    let change = |f: fn(&mut Vec<ZonePool>)| {
        let mut pools = demo_pools();
        f(&mut pools);
        zone_records(&pools).map_err(|e| e.reason)
    };
    let err = change(|p| p[0].ttl = 0).unwrap_err();
    assert!(
        err.starts_with("pool pbxA: TTL 0 is outside 1–2147483647 seconds"),
        "{err}"
    );
    assert!(change(|p| p[0].ttl = MAX_TTL).is_ok());
    assert!(change(|p| p[0].ttl = MAX_TTL + 1).is_err());
    let err = change(|p| p[2].members[0].port = 0).unwrap_err();
    assert!(
        err.contains("pool wiki: member 1 (backupbox.example.com) port 0"),
        "{err}"
    );
    let err = change(|p| {
        p[2].members
            .push(member("BIGBOX.example.com", 10, 60, 5060))
    })
    .unwrap_err();
    assert!(
        err.contains("bigbox.example.com port 5060 priority 10 weight 60 is listed twice"),
        "{err}"
    );
    let err = change(|p| p[1].owner = "PBXA.example.com".parse().unwrap()).unwrap_err();
    assert_eq!(
        err,
        "pools pbxA and pbxB are both published at pbxa.example.com"
    );
    // 243 characters is a valid name; `_sip._udp.` in front makes 253, the limit, and
    // `_sips._tcp.` one more.
    let owner = format!(
        "{}.{}.{}.{}",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(51)
    );
    assert_eq!(owner.len(), 243);
    let long = move |t: Transport| {
        let mut pools = demo_pools();
        pools[0].owner = owner.parse().unwrap();
        pools[0].transports = vec![t];
        zone_records(&pools).map_err(|e| e.reason)
    };
    assert!(long(Transport::Udp).is_ok());
    assert!(
        long(Transport::Tls)
            .unwrap_err()
            .contains("would be 254 characters")
    );
}

#[test]
fn pools_without_members_publish_nothing_but_say_so() {
    let mut pools = demo_pools();
    pools[1].members.clear();
    pools[2].transports.clear();
    assert_eq!(zone_records(&pools).unwrap().len(), 2);
    let bind = render(&pools, ExportFormat::Bind, &ExportOptions::default()).unwrap();
    assert!(bind.contains("; pool pbxB: pbxb.example.com has no members, nothing published\n"));
    assert!(bind.contains("; pool wiki: example.com has no transports, nothing published\n"));
    // Transports the pool has but the export leaves out are named, not called missing.
    pools[2].left_out = vec![Transport::Tcp];
    let bind = render(&pools, ExportFormat::Bind, &ExportOptions::default()).unwrap();
    assert!(bind.contains(
        "; pool wiki: example.com has none of the chosen transports (it has tcp), nothing published\n"
    ));
    let script = render(&pools, ExportFormat::Nsupdate, &ExportOptions::default()).unwrap();
    // No delete for them: an empty pool must not wipe what the DNS serves.
    assert!(
        !script.contains("pbxb.example.com. IN SRV") && !script.contains("_sip._tcp.example.com.")
    );
    assert_eq!(script.matches("send\n").count(), 1);
    let yaml = render(&pools, ExportFormat::Octodns, &origin_only()).unwrap();
    assert!(
        yaml.contains("# pool pbxB: pbxb.example.com has no members") && !yaml.contains("pbxb:")
    );
    let empty = render(&[], ExportFormat::Octodns, &origin_only()).unwrap();
    assert!(empty.ends_with("{}\n"));
    assert_eq!(
        render(&[], ExportFormat::Json, &ExportOptions::default()).unwrap(),
        "[]\n"
    );
}

#[test]
fn octodns_record_names_are_in_natsort_order() {
    // The order Python's natsort gives (natsort_keygen(), as octoDNS uses).
    let natsort = [
        "_sip._tcp.a",
        "_sip._udp.a1",
        "_sip._udp.a1a",
        "_sip._udp.a01b",
        "_sip._udp.a-1",
        "_sip._udp.pbx2",
        "_sip._udp.pbx10",
        "_sips._tcp.a",
    ];
    let mut names = natsort.to_vec();
    names.reverse();
    names.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(names, natsort);
    assert_eq!(natural_cmp("2x", "x"), Ordering::Less);
    assert_eq!(
        natural_cmp("a99999999999999999999", "a100000000000000000000"),
        Ordering::Less
    );

    let pool = |name: &str| ZonePool {
        name: name.parse().unwrap(),
        owner: format!("{name}.example.com").parse().unwrap(),
        ttl: 60,
        transports: vec![Transport::Udp],
        left_out: Vec::new(),
        members: vec![member("voip1.example.com", 10, 10, 5060)],
    };
    let yaml = render(
        &[pool("pbx10"), pool("pbx2")],
        ExportFormat::Octodns,
        &origin_only(),
    )
    .unwrap();
    let keys: Vec<&str> = yaml.lines().filter(|l| l.starts_with('_')).collect();
    assert_eq!(keys, ["_sip._udp.pbx2:", "_sip._udp.pbx10:"]);
}
