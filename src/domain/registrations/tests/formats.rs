use super::*;

#[test]
fn format_names_round_trip() {
    for format in DumpFormat::ALL {
        assert_eq!(format.to_string().parse::<DumpFormat>(), Ok(format));
        let json = serde_json::to_string(&format).unwrap();
        assert_eq!(json, format!("\"{format}\""));
        assert_eq!(serde_json::from_str::<DumpFormat>(&json).unwrap(), format);
    }
    assert_eq!("SIP-Peers".parse::<DumpFormat>(), Ok(DumpFormat::SipPeers));
    let error = "xml".parse::<DumpFormat>().unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown dump format `xml`; expected one of pjsip-contacts, sip-peers, \
         ami-contacts, csv, json"
    );
}

#[test]
fn content_types() {
    assert_eq!(
        DumpFormat::from_content_type("text/csv; charset=utf-8"),
        Some(DumpFormat::Csv)
    );
    assert_eq!(
        DumpFormat::from_content_type("Application/JSON"),
        Some(DumpFormat::Json)
    );
    assert_eq!(
        DumpFormat::from_content_type("application/problem+json"),
        Some(DumpFormat::Json)
    );
    assert_eq!(DumpFormat::from_content_type("text/plain"), None);
}

#[test]
fn sniff_recognises_every_real_dump() {
    assert_eq!(
        DumpFormat::sniff(PJSIP_DUMP),
        Some(DumpFormat::PjsipContacts)
    );
    assert_eq!(
        DumpFormat::sniff("\nNo objects found.\n"),
        Some(DumpFormat::PjsipContacts)
    );
    assert_eq!(
        DumpFormat::sniff(SIP_PEERS_DUMP),
        Some(DumpFormat::SipPeers)
    );
    assert_eq!(DumpFormat::sniff(AMI_DUMP), Some(DumpFormat::AmiContacts));
    assert_eq!(
        DumpFormat::sniff("\u{feff}\"Endpoint\";\"Tenant\"\n"),
        Some(DumpFormat::Csv)
    );
    assert_eq!(
        DumpFormat::sniff("  {\"registrations\": []}"),
        Some(DumpFormat::Json)
    );
    assert_eq!(DumpFormat::sniff("hello world"), None);
    assert_eq!(DumpFormat::sniff(""), None);
}

#[test]
fn statuses_keep_asterisks_words() {
    assert_eq!(ContactStatus::parse("NonQualified"), ContactStatus::NonQual);
    assert_eq!(
        ContactStatus::parse("UNREACHABLE"),
        ContactStatus::Unreachable
    );
    assert_eq!(
        ContactStatus::parse("Updated"),
        ContactStatus::Other("Updated".into())
    );
    assert_eq!(ContactStatus::Ok.to_string(), "OK");
    for (status, registered) in [
        (ContactStatus::Avail, true),
        (ContactStatus::NonQual, true),
        (ContactStatus::Unknown, true),
        (ContactStatus::Unmonitored, true),
        (ContactStatus::Lagged, true),
        (ContactStatus::Other("Updated".into()), true),
        (ContactStatus::Unavail, false),
        (ContactStatus::Unreachable, false),
        (ContactStatus::Removed, false),
    ] {
        assert_eq!(status.is_registered(), registered, "{status}");
    }
    let json = serde_json::to_string(&row("a", "b", ContactStatus::Lagged)).unwrap();
    assert_eq!(
        json,
        r#"{"endpoint":"a","tenant":null,"contact":"b","user_agent":null,"status":"Lagged"}"#
    );
    assert_eq!(
        serde_json::from_str::<ContactStatus>("\"Mystery\"").unwrap(),
        ContactStatus::Other("Mystery".into())
    );
}

#[test]
fn parse_error_is_a_std_error_with_line_first() {
    let error: Box<dyn std::error::Error> = Box::new(ParseError::new(0, "boom"));
    assert_eq!(error.to_string(), "line 1: boom");
}
