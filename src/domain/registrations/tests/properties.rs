use super::*;
use proptest::prelude::*;

fn endpoint_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{2,5}-[A-Za-z][A-Za-z0-9]{0,14}",
        "[a-z][a-z0-9_.-]{0,55}",
    ]
}

fn contact_strategy() -> impl Strategy<Value = String> {
    let ipv4 = (1u8..=254, 0u8..=255, 0u8..=255, 1u8..=254)
        .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}"));
    let ipv6 = (0u16..=0xffff, 0u16..=0xffff).prop_map(|(a, b)| format!("[2001:db8::{a:x}:{b:x}]"));
    (
        "[a-z0-9-]{1,20}",
        prop_oneof![ipv4, ipv6],
        1024u16..=65535,
        prop_oneof![Just(""), Just(";ob"), Just(";transport=tcp")],
        prop_oneof![Just("sip"), Just("sips")],
    )
        .prop_map(|(user, host, port, params, scheme)| {
            format!("{scheme}:{user}@{host}:{port}{params}")
        })
}

fn pjsip_status_strategy() -> impl Strategy<Value = ContactStatus> {
    prop_oneof![
        Just(ContactStatus::Avail),
        Just(ContactStatus::Unavail),
        Just(ContactStatus::NonQual),
        Just(ContactStatus::Unknown),
        Just(ContactStatus::Created),
        Just(ContactStatus::Removed),
    ]
}

fn real_dump_strategy() -> impl Strategy<Value = (DumpFormat, String)> {
    let csv = "endpoint,tenant,contact,user_agent,status\n100-A,ACME,sip:a@b,\"UA, 1\",Avail\n";
    let json = "{\"registrations\": [{\"endpoint\": \"100-A\", \"status\": \"Avail\"}]}";
    prop_oneof![
        Just((DumpFormat::PjsipContacts, PJSIP_DUMP.to_string())),
        Just((DumpFormat::SipPeers, SIP_PEERS_DUMP.to_string())),
        Just((DumpFormat::AmiContacts, AMI_DUMP.to_string())),
        Just((DumpFormat::Csv, csv.to_string())),
        Just((DumpFormat::Json, json.to_string())),
    ]
}

proptest! {
    #[test]
    fn parse_dump_never_panics_on_arbitrary_text(body in any::<String>()) {
        for format in DumpFormat::ALL {
            if let Err(error) = parse_dump(format, &body) {
                prop_assert!(error.line >= 1);
                prop_assert!(error.line <= body.lines().count().max(1));
            }
        }
        let _ = DumpFormat::sniff(&body);
    }

    #[test]
    fn parse_dump_never_panics_on_damaged_real_dumps(
        (format, dump) in real_dump_strategy(),
        cut in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        noise in "[ -~\u{80}-\u{10ffff}\t\r\n]{0,12}",
    ) {
        let chars: Vec<char> = dump.chars().collect();
        let at = at.index(chars.len() + 1);
        let damaged: String = chars[..at].iter().copied()
            .chain(noise.chars())
            .chain(chars[at..].iter().copied())
            .collect();
        let cut_at = cut.index(chars.len() + 1);
        let truncated: String = chars[..cut_at].iter().collect();
        for body in [damaged, truncated] {
            for other in DumpFormat::ALL {
                let _ = parse_dump(other, &body);
            }
            let _ = parse_dump(format, &body);
        }
    }

    #[test]
    fn pjsip_render_then_parse_returns_the_contacts(
        contacts in prop::collection::vec(
            (endpoint_strategy(), contact_strategy(), pjsip_status_strategy()),
            0..40,
        )
    ) {
        let registrations: Vec<Registration> = contacts
            .into_iter()
            .map(|(endpoint, contact, status)| row(&endpoint, &contact, status))
            .collect();
        let dump = if registrations.is_empty() {
            format!("\n{PJSIP_EMPTY}\n\n")
        } else {
            render_pjsip_contacts(&registrations)
        };
        let mut seen = HashSet::new();
        let expected: Vec<Registration> = registrations
            .iter()
            .map(|reg| Registration {
                contact: shown_uri(&reg.endpoint, &reg.contact),
                ..reg.clone()
            })
            .filter(|reg| seen.insert((reg.endpoint.clone(), reg.contact.clone())))
            .collect();
        prop_assert_eq!(parse_dump(DumpFormat::PjsipContacts, &dump), Ok(expected));
    }

    #[test]
    fn json_and_csv_export_parse_back(
        contacts in prop::collection::vec(
            (
                endpoint_strategy(),
                prop::option::of("[A-Za-z]{1,10}"),
                contact_strategy(),
                prop::option::of("[A-Za-z][A-Za-z0-9 ,./:;\"-]{0,30}[A-Za-z0-9]"),
                pjsip_status_strategy(),
            ),
            0..20,
        )
    ) {
        let registrations: Vec<Registration> = contacts
            .into_iter()
            .map(|(endpoint, tenant, contact, user_agent, status)| Registration {
                endpoint, tenant, contact, user_agent, status,
            })
            .collect();
        let mut seen = HashSet::new();
        let expected: Vec<Registration> = registrations
            .iter()
            .filter(|reg| seen.insert((reg.endpoint.clone(), reg.contact.clone())))
            .cloned()
            .collect();

        let json = serde_json::to_string_pretty(&registrations).unwrap();
        prop_assert_eq!(parse_dump(DumpFormat::Json, &json), Ok(expected.clone()));

        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(["endpoint", "tenant", "contact", "user_agent", "status"]).unwrap();
        for reg in &registrations {
            writer.write_record([
                reg.endpoint.as_str(),
                reg.tenant.as_deref().unwrap_or(""),
                reg.contact.as_str(),
                reg.user_agent.as_deref().unwrap_or(""),
                reg.status.as_str(),
            ]).unwrap();
        }
        let csv = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        prop_assert_eq!(parse_dump(DumpFormat::Csv, &csv), Ok(expected));
    }
}
