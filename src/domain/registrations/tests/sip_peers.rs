use super::*;

#[test]
fn sip_peers_gives_registered_dynamic_peers_only() {
    let rows = ok(DumpFormat::SipPeers, SIP_PEERS_DUMP);
    assert_eq!(
        rows,
        vec![
            row("100-CANISTRACCI", "192.0.2.10:5060", ContactStatus::Ok),
            row("2001-acme", "198.51.100.7:5062", ContactStatus::Lagged),
            row(
                "2002-acme",
                "[2001:db8::20]:5060",
                ContactStatus::Unreachable
            ),
            row("bob", "203.0.113.5:5060", ContactStatus::Unmonitored),
        ]
    );
    assert!(!rows[2].status.is_registered());
}

#[test]
fn sip_peers_old_header_with_nat_column() {
    let old = "Name/username              Host            Dyn Nat ACL Port     Status    
100-OLD/100-OLD            192.0.2.10       D   N   A  5060     OK (5 ms)
101-OLD                    (Unspecified)    D   N      0        UNKNOWN
2 sip peers [Monitored: 1 online, 1 offline Unmonitored: 0 online, 0 offline]
";
    assert_eq!(
        ok(DumpFormat::SipPeers, old),
        vec![row("100-OLD", "192.0.2.10:5060", ContactStatus::Ok)]
    );
}

#[test]
fn sip_peers_with_no_peers() {
    let empty = "Name/username             Host                                    Dyn Forcerport Comedia    ACL Port     Status      Description
0 sip peers [Monitored: 0 online, 0 offline Unmonitored: 0 online, 0 offline]
";
    assert_eq!(ok(DumpFormat::SipPeers, empty), vec![]);
}

#[test]
fn sip_peers_footer_mismatch_and_missing_footer_are_truncation() {
    let mismatch = SIP_PEERS_DUMP.replace("6 sip peers", "9 sip peers");
    let error = error_of(DumpFormat::SipPeers, &mismatch);
    assert_eq!(error.line, 8);
    assert!(error.reason.contains("9 sip peers but 6 rows"), "{error}");

    let cut: String = SIP_PEERS_DUMP
        .lines()
        .take(4)
        .map(|line| format!("{line}\n"))
        .collect();
    let error = error_of(DumpFormat::SipPeers, &cut);
    assert_eq!(error.line, 4);
    assert!(error.reason.contains("cut off"), "{error}");
}

#[test]
fn sip_peers_garbage_row_names_its_line() {
    let mut lines: Vec<&str> = SIP_PEERS_DUMP.lines().collect();
    lines.insert(3, "this is not a peer");
    let error = error_of(DumpFormat::SipPeers, &lines.join("\n"));
    assert_eq!(error.line, 4);
    assert!(error.reason.starts_with("expected a peer row"), "{error}");

    let no_time = SIP_PEERS_DUMP.replace("OK (12 ms)", "OK        ");
    let error = error_of(DumpFormat::SipPeers, &no_time);
    assert_eq!(error.line, 2);
    assert!(error.reason.contains("(N ms)"), "{error}");
}

#[test]
fn sip_peers_needs_its_header() {
    let error = error_of(DumpFormat::SipPeers, PJSIP_DUMP);
    assert_eq!(error.line, 2);
    assert!(error.reason.contains("Name/username"), "{error}");
}
