use super::*;
use proptest::prelude::*;

/// An LDH label; `xn--` ones are left out: such a label must be a valid internationalised name
/// (`names::normalise_fqdn`), which a regex cannot generate.
fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?"
        .prop_filter("not an xn-- label", |l| !l.starts_with("xn--"))
}

prop_compose! {
    fn arb_member()(
        host in label(),
        zone in prop::sample::select(vec!["example.com", "sip.example.com", "example.net"]),
        priority in any::<u16>(),
        weight in any::<u16>(),
        port in 1u16..,
    ) -> ZoneMember {
        member(&format!("{host}.{zone}"), priority, weight, port)
    }
}

/// Valid pools under example.com whose names are their owners' first labels, so that an
/// import can rebuild them exactly.
fn arb_pools() -> impl Strategy<Value = Vec<ZonePool>> {
    let pool = (
        prop::sample::select(vec!["example.com", "voip.example.com"]),
        1..=MAX_TTL,
        prop::sample::subsequence(Transport::ALL.to_vec(), 1..=3).prop_shuffle(),
        prop::collection::vec(arb_member(), 1..6),
    );
    prop::collection::btree_map(label(), pool, 1..5).prop_map(|pools| {
        pools
            .into_iter()
            .map(|(name, (zone, ttl, transports, members))| {
                let mut seen = std::collections::HashSet::new();
                ZonePool {
                    owner: format!("{name}.{zone}").parse().unwrap(),
                    name: name.parse().unwrap(),
                    ttl,
                    transports,
                    left_out: Vec::new(),
                    members: members
                        .into_iter()
                        .filter(|m| seen.insert((m.target.clone(), m.port)))
                        .collect(),
                }
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn bind_export_parses_back_to_the_same_records(
        pools in arb_pools(),
        with_origin in any::<bool>(),
    ) {
        let opts = if with_origin { full_options() } else { ExportOptions::default() };
        let records = zone_records(&pools).unwrap();
        let text = render(&pools, ExportFormat::Bind, &opts).unwrap();
        prop_assert_eq!(&parse_zone(&text, None).unwrap(), &records);
        prop_assert_eq!(hickory_records(&text, "example.com."), sorted(records.clone()));
        let json = render(&pools, ExportFormat::Json, &opts).unwrap();
        prop_assert_eq!(&serde_json::from_str::<Vec<ZoneRecord>>(&json).unwrap(), &records);
    }

    #[test]
    fn parsing_any_text_returns_instead_of_panicking(
        text in "(\\PC|[ \t\n();\"\\\\$@.]){0,200}",
        zone_like in "([_a-z0-9.@$ \t\n();\"\\\\]|SRV|IN|ORIGIN|TTL|60|5060){0,60}",
    ) {
        let _ = parse_zone_file(&text, None);
        let _ = parse_zone_file(&zone_like, Some("example.com"));
        if let Ok(parsed) = parse_zone_file(&zone_like, Some("example.com")) {
            let _ = propose_import(&parsed.records);
        }
    }

    #[test]
    fn any_field_value_is_either_refused_or_written_as_a_plain_name(
        value in "\\PC{0,80}|[a-zA-Z0-9._\n;\" ()$-]{1,80}",
        field in 0..3usize,
    ) {
        let mut pools = demo_pools();
        match field {
            // A value the name types refuse cannot be put in a pool at all.
            0 => match value.parse() {
                Ok(name) => pools[0].name = name,
                Err(_) => return Ok(()),
            },
            1 => match value.parse() {
                Ok(owner) => pools[0].owner = owner,
                Err(_) => return Ok(()),
            },
            _ => match value.parse() {
                Ok(target) => pools[0].members[0].target = target,
                Err(_) => return Ok(()),
            },
        }
        for format in ExportFormat::ALL {
            if let Ok(text) = render(&pools, format, &full_options()) {
                prop_assert!(text.is_ascii());
                prop_assert!(!text.contains(|c: char| c.is_control() && c != '\n'));
                prop_assert!(text.lines().count() == rendered(format, &full_options()).lines().count());
            }
        }
    }

    #[test]
    fn import_of_an_export_rebuilds_the_pools(pools in arb_pools()) {
        let text = render(&pools, ExportFormat::Bind, &origin_only()).unwrap();
        let proposal = propose_import(&parse_zone(&text, None).unwrap()).unwrap();
        prop_assert!(proposal.warnings.iter().all(|w| w.starts_with("server ")), "{:?}", proposal.warnings);
        let checked = check_pools(&pools).unwrap();
        prop_assert_eq!(proposal.pools.len(), checked.len());
        for (got, want) in proposal.pools.iter().zip(&checked) {
            prop_assert_eq!(got.name.as_str(), want.name.as_str());
            prop_assert_eq!(got.owner.as_str(), want.owner.as_str());
            prop_assert_eq!(got.ttl, want.ttl);
            prop_assert_eq!(&got.transports, &want.transports);
            prop_assert_eq!(&got.members, &want.members);
        }
        let hosts: std::collections::BTreeSet<&str> =
            checked.iter().flat_map(|p| p.members.iter().map(|m| m.target.as_str())).collect();
        prop_assert_eq!(proposal.servers.len(), hosts.len());
    }
}
