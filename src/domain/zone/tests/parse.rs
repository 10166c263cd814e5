use super::*;

const REAL_ZONE: &str = r#"$ORIGIN example.com.
$TTL 1h
@   IN SOA ns1 hostmaster (
        2024010101 ; serial
        3h 15m 1w 1d )
    IN NS ns1
ns1 IN A 192.0.2.1
txt IN TXT "v=spf1 -all ; not a comment ( nor this" "second"
_sip._udp.pbxa IN SRV 10 10 5060 voip1     ; takes $TTL
               IN 300 SRV 20 10 5060 voip2.example.com.  ; class before TTL, owner from above
_SIP._TCP.PBXA 1d SRV ( 10 10
                        5060 VOIP1 )
_xmpp-server._tcp 86400 IN SRV 5 0 5269 xmpp
_sip._udp.ch CH SRV 1 1 5060 voip1
$ORIGIN sub.example.com.
_sips._tcp.pbxc 2h IN SRV 0 0 5061 @
$GENERATE 1-9 host$ A 192.0.2.$
"#;

#[test]
fn parse_reads_a_real_zone_file_and_counts_what_it_skips() {
    let parsed = parse_zone_file(REAL_ZONE, None).unwrap();
    let r = |owner: &str, ttl: u32, priority: u16, port: u16, target: &str| ZoneRecord {
        owner: owner.into(),
        ttl,
        priority,
        weight: if priority == 0 { 0 } else { 10 },
        port,
        target: target.into(),
    };
    assert_eq!(
        parsed.records,
        [
            r(
                "_sip._udp.pbxa.example.com",
                3600,
                10,
                5060,
                "voip1.example.com"
            ),
            r(
                "_sip._udp.pbxa.example.com",
                300,
                20,
                5060,
                "voip2.example.com"
            ),
            r(
                "_sip._tcp.pbxa.example.com",
                86_400,
                10,
                5060,
                "voip1.example.com"
            ),
            r(
                "_sips._tcp.pbxc.sub.example.com",
                7200,
                0,
                5061,
                "sub.example.com"
            ),
        ]
    );
    let skipped: Vec<(&str, usize)> = parsed
        .skipped
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        skipped,
        [
            ("$GENERATE", 1),
            ("A", 1),
            ("NS", 1),
            ("SOA", 1),
            ("SRV _xmpp-server._tcp", 1),
            ("SRV class CH", 1),
            ("TXT", 1),
        ]
    );
    assert_eq!(parsed.skipped_count(), 7);
}

#[test]
fn parse_takes_pasted_dig_lines_and_a_zone_origin() {
    let dig = "_sip._udp.pbxa.example.com. 86400\tIN\tSRV\t10 10 5060 voip1.example.com.\r\n";
    assert_eq!(parse_zone(dig, None).unwrap().len(), 1);
    let relative = "_sip._udp.pbxa 60 IN SRV 10 10 5060 voip1\n";
    assert_eq!(
        parse_zone(relative, Some("Example.COM.")).unwrap()[0].target,
        "voip1.example.com"
    );
    let err = parse_zone(relative, None).unwrap_err();
    assert_eq!(err.line, Some(1));
    assert!(err.reason.contains("is relative, but no $ORIGIN"), "{err}");
    assert!(parse_zone(relative, Some("example.com\n$INCLUDE x")).is_err());
    assert_eq!(parse_zone("; nothing here\n\n   \n", None).unwrap(), vec![]);
    // RFC 1035 §5.1: without $TTL, an omitted TTL is the last one stated.
    let inherited = "a.example.com. 120 IN A 192.0.2.1\n_sip._udp.a.example.com. IN SRV 1 1 5060 b.example.com.\n";
    assert_eq!(parse_zone(inherited, None).unwrap()[0].ttl, 120);
    assert_eq!(parse_ttl("1h30m"), Some(5400));
    assert_eq!(parse_ttl("1W"), Some(604_800));
    assert_eq!(parse_ttl("90"), Some(90));
    assert_eq!(parse_ttl("h"), None);
    assert_eq!(parse_ttl("1x"), None);
    assert_eq!(parse_ttl("4294967296"), None);
    assert_eq!(parse_ttl("7102w"), None);
}

#[test]
fn parse_reports_the_line_of_each_malformed_record() {
    let ok = "_sip._udp.pbxa.example.com. 60 IN SRV 10 10 5060 voip1.example.com.\n";
    let cases: [(&str, &str); 22] = [
        (
            "_sip._udp.pbxa.example.com. 60 IN SRV 10 10 5060",
            "found 3 values",
        ),
        (
            "_sip._udp.pbxa.example.com. 60 IN SRV 10 10 5060 a.example.com. 7",
            "found 5 values",
        ),
        (
            "_sip._udp.pbxa.example.com. 60 IN SRV 10 10 0 voip1.example.com.",
            "port \"0\" is not a number from 1 to 65535",
        ),
        (
            "_sip._udp.pbxa.example.com. 60 IN SRV 70000 10 5060 voip1.example.com.",
            "priority \"70000\" is not a number from 0 to 65535",
        ),
        (
            "_sip._udp.pbxa.example.com. 60 IN SRV 10 -1 5060 voip1.example.com.",
            "weight \"-1\"",
        ),
        (
            "_sip._udp.pbxa.example.com. 60 IN SRV 10 10 5060 voip_1.example.com.",
            "target \"voip_1.example.com.\" may only contain",
        ),
        (
            "_sip._udp.pbxa.example.com. 60 IN SRV 10 10 5060 v\\;oip1.example.com.",
            "target \"v\\\\;oip1.example.com.\"",
        ),
        (
            "_sip._udp.pbxa.example.com. 60 IN SRV 10 10 5060 \"voip1.example.com.\"",
            "is quoted",
        ),
        (
            "_sip._udp.pbxa.example.com. 60 IN SRV 0 0 5060 .",
            "decidedly not available",
        ),
        (
            "_sip._udp.pbxa.example.com. 60 IN SRV 10 10 5060 voip1",
            "is relative",
        ),
        (
            "_sip._udp.pbxa.example.com. 0 IN SRV 10 10 5060 voip1.example.com.",
            "TTL 0 is outside",
        ),
        (
            "_sip._udp.pbxa.example.com. 2147483648 IN SRV 10 10 5060 voip1.example.com.",
            "TTL 2147483648 is outside",
        ),
        (
            "_sip._udp.pbxa.example.com. 6x IN SRV 10 10 5060 voip1.example.com.",
            "TTL \"6x\" is not",
        ),
        (
            "_sip._udp.pbx_a.example.com. 60 IN SRV 10 10 5060 voip1.example.com.",
            "the name after _sip._udp may only contain",
        ),
        (
            "86400 IN SRV 10 60 5060 bigbox.example.com.",
            "reads as the owner name",
        ),
        ("_sip._udp.pbxa.example.com. 60 IN TYPE33 \\# 0", "TYPE33"),
        ("_sip._udp.pbxa.example.com. 60 IN", "no type"),
        ("$INCLUDE /etc/passwd", "$INCLUDE is not followed"),
        (
            "$GENERATE 1-2 _sip._udp.p$ SRV 1 1 5060 v$",
            "$GENERATE of SRV",
        ),
        (
            "$ORIGIN bad..example.com.",
            "$ORIGIN \"bad..example.com.\" has an empty label",
        ),
        ("$FOO bar", "unknown directive \"$FOO\""),
        (
            "_sip._udp.pbxa.example.com. 60 60 SRV 1 1 5060 voip1.example.com.",
            "a second TTL \"60\"",
        ),
    ];
    for (bad, expected) in cases {
        let text = format!("{ok}; a comment\n{bad}\n{ok}");
        let err = parse_zone(&text, None).unwrap_err();
        assert_eq!(err.line, Some(3), "{bad}: {err}");
        assert!(err.reason.contains(expected), "{bad}: {err}");
        assert!(err.to_string().starts_with("line 3: "));
    }
    let structural: [(&str, usize, &str); 6] = [
        (
            "\n_sip._udp.a.example.com. IN SRV 10 10 5060 voip1.example.com.\n",
            2,
            "no TTL",
        ),
        (
            " 60 IN SRV 10 10 5060 voip1.example.com.\n",
            1,
            "no owner name",
        ),
        (
            "x.example.com. 60 IN TXT \"never closed\n\n",
            1,
            "quoted string is never closed",
        ),
        (
            "\n_sip._udp.a.example.com. 60 IN SRV ( 10 10\n 5060 voip1.example.com.\n",
            2,
            "'(' is never closed",
        ),
        (
            "\n\n\nx.example.com. 60 IN A 192.0.2.1 )\n",
            4,
            "')' without",
        ),
        (
            "\n_sip._udp.a.example.com. 60 IN SRV (\n 10 10 5060 )\n",
            2,
            "found 3 values",
        ),
    ];
    for (text, line, expected) in structural {
        let err = parse_zone(text, None).unwrap_err();
        assert_eq!(err.line, Some(line), "{text:?}: {err}");
        assert!(err.reason.contains(expected), "{text:?}: {err}");
    }
}
