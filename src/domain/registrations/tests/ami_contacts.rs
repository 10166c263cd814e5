use super::*;

#[test]
fn ami_contact_list_gives_endpoint_uri_agent_and_status() {
    let rows = ok(DumpFormat::AmiContacts, AMI_DUMP);
    assert_eq!(
        rows,
        vec![
            Registration {
                endpoint: "100-CANISTRACCI".into(),
                tenant: None,
                contact: "sip:100-CANISTRACCI@192.0.2.10:5060;ob".into(),
                user_agent: Some("Yealink SIP-T46S 66.85.0.5".into()),
                status: ContactStatus::Reachable,
            },
            row(
                "2001-acme",
                "sip:2001-acme@[2001:db8::7]:5060",
                ContactStatus::NonQual
            ),
            Registration {
                endpoint: "300-ZETA".into(),
                tenant: None,
                contact: "sip:300-ZETA@203.0.113.9:5062".into(),
                user_agent: Some("Grandstream GXP2170: 1.0.11.3".into()),
                status: ContactStatus::Unreachable,
            },
        ]
    );
}

#[test]
fn ami_list_items_mismatch_is_truncation() {
    let wrong = AMI_DUMP.replace("ListItems: 3", "ListItems: 4");
    let error = error_of(DumpFormat::AmiContacts, &wrong);
    assert_eq!(error.line, 46);
    assert!(error.reason.contains("ListItems: 4 but 3"), "{error}");
}

#[test]
fn ami_started_list_without_complete_is_cut_off() {
    let cut: String = AMI_DUMP
        .lines()
        .take(30)
        .map(|l| format!("{l}\n"))
        .collect();
    let error = error_of(DumpFormat::AmiContacts, &cut);
    assert_eq!(error.line, 30);
    assert!(error.reason.contains("cut off"), "{error}");
}

#[test]
fn ami_error_response_and_garbage_lines_are_refused() {
    let error = error_of(
        DumpFormat::AmiContacts,
        "Response: Error\nActionID: 1\nMessage: Permission denied\n\n",
    );
    assert_eq!(
        error.to_string(),
        "line 1: Asterisk answered with an error: Permission denied"
    );

    let mut lines: Vec<&str> = AMI_DUMP.lines().collect();
    lines.insert(12, "this line has no colon");
    let error = error_of(DumpFormat::AmiContacts, &lines.join("\n"));
    assert_eq!(error.line, 13);
    assert!(error.reason.contains("Key: Value"), "{error}");
}

#[test]
fn ami_events_alone_and_empty_list() {
    let events = "Asterisk Call Manager/7.0.3\nEvent: ContactList\nObjectName: 100-X;@abc\nUri: sip:100-X@192.0.2.1\nStatus: Reachable\n";
    assert_eq!(
        ok(DumpFormat::AmiContacts, events),
        vec![row(
            "100-X",
            "sip:100-X@192.0.2.1",
            ContactStatus::Reachable
        )]
    );
    let empty = "Response: Success\nEventList: start\nMessage: A listing of Contacts follows\n\nEvent: ContactListComplete\nEventList: Complete\nListItems: 0\n\n";
    assert_eq!(ok(DumpFormat::AmiContacts, empty), vec![]);
}

#[test]
fn ami_contact_without_uri_or_without_any_list_is_refused() {
    let error = error_of(
        DumpFormat::AmiContacts,
        "Event: ContactList\nEndpoint: 100-X\nStatus: Reachable\n",
    );
    assert_eq!(error.line, 1);
    assert!(error.reason.contains("Uri"), "{error}");

    let error = error_of(DumpFormat::AmiContacts, "Response: Success\nMessage: hi\n");
    assert!(error.reason.contains("PJSIPShowContacts"), "{error}");
}
