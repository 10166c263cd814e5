//! The one text rule of every format: a row whose stored fields hold a control character (NUL,
//! ESC, BEL, ... — anything `char::is_control`) refuses the whole dump, naming the line and the
//! field (issue #13, defect 5). CSV and JSON always followed it; the Asterisk text formats
//! stored such rows as they came.

use super::*;

/// The 1-based number of the first line of `body` containing `needle`.
fn line_of(body: &str, needle: &str) -> usize {
    body.lines()
        .position(|line| line.contains(needle))
        .map(|index| index + 1)
        .unwrap_or_else(|| panic!("{needle:?} is not in the dump"))
}

/// `body` with the first `from` replaced by `to`, which must change something.
fn damaged(body: &str, from: &str, to: &str) -> String {
    assert!(body.contains(from), "{from:?} is not in the dump");
    body.replacen(from, to, 1)
}

fn assert_refused(format: DumpFormat, body: &str, line: usize, field: &str) {
    let error = error_of(format, body);
    assert_eq!(error.line, line, "{format}: {error}");
    assert!(
        error
            .reason
            .contains(&format!("the {field} contains a control character")),
        "{format}: {error}"
    );
}

#[test]
fn pjsip_control_characters_in_aor_or_uri_are_refused_with_line_and_field() {
    let line = line_of(PJSIP_DUMP, "100-CANISTRACCI/sip:");
    let nul = damaged(PJSIP_DUMP, "100-CANISTRACCI/sip:", "100-CANIS\0TRACCI/sip:");
    assert_refused(DumpFormat::PjsipContacts, &nul, line, "endpoint");
    let esc = damaged(PJSIP_DUMP, "@192.0.2.10 ", "@192.0.2.10\u{1b}[2J ");
    assert_refused(DumpFormat::PjsipContacts, &esc, line, "contact");
    // A C1 control (U+009B is the one-character CSI) counts too.
    let csi = damaged(PJSIP_DUMP, "300-ZETA/sip", "300-ZETA\u{9b}31m/sip");
    assert_refused(
        DumpFormat::PjsipContacts,
        &csi,
        line_of(PJSIP_DUMP, "300-ZETA/sip"),
        "endpoint",
    );
}

#[test]
fn sip_peers_control_characters_in_name_host_or_status_are_refused() {
    let line = line_of(SIP_PEERS_DUMP, "100-CANISTRACCI/100-CANISTRACCI");
    let nul = damaged(
        SIP_PEERS_DUMP,
        "100-CANISTRACCI/100",
        "100-CAN\0ISTRACCI/100",
    );
    assert_refused(DumpFormat::SipPeers, &nul, line, "endpoint");
    let esc = damaged(
        SIP_PEERS_DUMP,
        "192.0.2.10 ",
        "192.0.2.10\u{1b}]0;pwned\u{7} ",
    );
    assert_refused(DumpFormat::SipPeers, &esc, line, "contact");
    let bel = damaged(SIP_PEERS_DUMP, "UNREACHABLE", "UNREACH\u{7}ABLE");
    assert_refused(
        DumpFormat::SipPeers,
        &bel,
        line_of(SIP_PEERS_DUMP, "UNREACHABLE"),
        "status",
    );
}

#[test]
fn ami_control_characters_are_refused_at_the_line_of_their_field() {
    let ua = damaged(
        AMI_DUMP,
        "UserAgent: Yealink SIP-T46S",
        "UserAgent: Yealink\u{1b}[31m SIP-T46S\u{7}",
    );
    assert_refused(
        DumpFormat::AmiContacts,
        &ua,
        line_of(AMI_DUMP, "UserAgent: Yealink"),
        "user agent",
    );
    let uri = damaged(AMI_DUMP, "Uri: sip:300-ZETA@", "Uri: sip:300-ZETA\0@");
    assert_refused(
        DumpFormat::AmiContacts,
        &uri,
        line_of(AMI_DUMP, "Uri: sip:300-ZETA@"),
        "contact",
    );
    let status = damaged(AMI_DUMP, "Status: Unreachable", "Status: Unreach\u{1b}able");
    assert_refused(
        DumpFormat::AmiContacts,
        &status,
        line_of(AMI_DUMP, "Status: Unreachable"),
        "status",
    );
    let endpoint = damaged(
        AMI_DUMP,
        "EndpointName: 300-ZETA",
        "EndpointName: 300-\0ZETA",
    );
    assert_refused(
        DumpFormat::AmiContacts,
        &endpoint,
        line_of(AMI_DUMP, "EndpointName: 300-ZETA"),
        "endpoint",
    );
}

#[test]
fn csv_control_characters_are_refused_with_line_and_field() {
    let body = "endpoint,tenant,contact,user_agent\n100-A,ACME,sip:a@b,T46\n101-A,ACME,sip:c@d,\"T4\u{1b}6\"\n";
    assert_refused(DumpFormat::Csv, body, 3, "user agent");
    let body = "endpoint,tenant\n100-A,ACME\n\"10\u{0}1-A\",ACME\n";
    assert_refused(DumpFormat::Csv, body, 3, "endpoint");
}

#[test]
fn json_control_characters_are_refused_with_line_and_field() {
    let body = "[\n  {\"endpoint\": \"100-A\"},\n  {\"endpoint\": \"101-A\",\n   \"tenant\": \"AC\\u0007ME\"}\n]";
    assert_refused(DumpFormat::Json, body, 3, "tenant");
    let body = "{\"registrations\": [\n{\"endpoint\": \"1\\u0000\"}]}";
    assert_refused(DumpFormat::Json, body, 2, "endpoint");
}

#[test]
fn every_accepted_row_passes_the_shared_rule() {
    for (format, dump) in [
        (DumpFormat::PjsipContacts, PJSIP_DUMP),
        (DumpFormat::SipPeers, SIP_PEERS_DUMP),
        (DumpFormat::AmiContacts, AMI_DUMP),
    ] {
        for row in ok(format, dump) {
            assert_eq!(control_character(&row), None, "{format}: {row:?}");
        }
    }
}

#[test]
fn error_messages_quote_control_characters_escaped() {
    // Found by fuzzing: reasons quoted the offending token, header or JSON key raw.
    let error = error_of(DumpFormat::Csv, "endpoint,te\u{1b}[2Jnant\n100-A,ACME\n");
    assert!(error.reason.contains("`te\\u{1b}[2Jnant`"), "{error}");
    let error = error_of(DumpFormat::Json, "[{\"endp\u{7f}oint\": \"a\"}]");
    assert!(!error.reason.chars().any(char::is_control), "{error}");
    let peers = damaged(
        SIP_PEERS_DUMP,
        "D  No         No         A  5060",
        "D  N\0\0  5060",
    );
    let error = error_of(DumpFormat::SipPeers, &peers);
    assert!(!error.reason.chars().any(char::is_control), "{error}");
    assert!(error.reason.contains("N\\u{0}\\u{0}"), "{error}");
}

#[test]
fn ami_object_name_with_a_space_before_the_hash_gives_a_trimmed_endpoint() {
    // Found by fuzzing: `ObjectName: aor ;@hash` kept the space on the endpoint.
    let body = AMI_DUMP.replace(
        "ObjectName: 2001-acme;@0f9e8d7c6b5a4938",
        "ObjectName: 2001-acme ;@0f9e8d7c6b5a4938",
    );
    let rows = ok(DumpFormat::AmiContacts, &body);
    assert!(rows.iter().any(|r| r.endpoint == "2001-acme"), "{rows:?}");
}
