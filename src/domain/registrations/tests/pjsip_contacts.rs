use super::*;

#[test]
fn pjsip_dump_gives_every_contact_with_asterisks_status() {
    let rows = ok(DumpFormat::PjsipContacts, PJSIP_DUMP);
    assert_eq!(
        rows,
        vec![
            row(
                "100-CANISTRACCI",
                "sip:100-CANISTRACCI@192.0.2.10",
                ContactStatus::Avail
            ),
            row(
                "101-CANISTRACCI",
                "sip:101-CANISTRACCI@192.0.2.11",
                ContactStatus::Unavail
            ),
            row(
                "2001-acme",
                "sip:2001-acme@198.51.100.7:5060;ob",
                ContactStatus::NonQual
            ),
            row("bob", "sip:bob@[2001:db8::1]:5060", ContactStatus::Avail),
            row(
                "300-ZETA",
                "sip:300-ZETA@203.0.113.9:5062",
                ContactStatus::Unknown
            ),
            row(
                "lobby-reception-desk-phone-building-north-ACME",
                "sip:lobby@192.0.2.77:5060",
                ContactStatus::Avail
            ),
        ]
    );
}

#[test]
fn pjsip_windows_line_endings_and_trailing_spaces_change_nothing() {
    let windows: String = PJSIP_DUMP
        .lines()
        .map(|line| format!("{line}   \t\r\n"))
        .collect();
    assert_eq!(
        ok(DumpFormat::PjsipContacts, &windows),
        ok(DumpFormat::PjsipContacts, PJSIP_DUMP)
    );
}

#[test]
fn pjsip_no_objects_found_is_an_empty_server() {
    assert_eq!(
        ok(DumpFormat::PjsipContacts, "\nNo objects found.\n\n"),
        vec![]
    );
}

#[test]
fn pjsip_footer_count_mismatch_is_a_truncated_dump() {
    let cut = PJSIP_DUMP.replace("Objects found: 6", "Objects found: 7");
    let error = error_of(DumpFormat::PjsipContacts, &cut);
    assert_eq!(error.line, 12);
    assert!(error.reason.contains("7 contacts but 6 rows"), "{error}");
    assert!(error.reason.contains("truncated"), "{error}");
}

#[test]
fn pjsip_cut_last_line_is_refused_at_that_line() {
    // The transfer stopped in the middle of row 5 (line 9): no status or RTT.
    let cut: String = PJSIP_DUMP.lines().take(8).collect::<Vec<_>>().join("\n")
        + "\n  Contact:  300-ZETA/sip:300-ZETA@203.0.113.9:5062         c0ffee0000";
    let error = error_of(DumpFormat::PjsipContacts, &cut);
    assert_eq!(error.line, 9);
    assert!(
        error
            .reason
            .starts_with("expected a Contact: row with AoR/URI, hash, status and RTT, got"),
        "{error}"
    );
}

#[test]
fn pjsip_garbage_in_the_middle_names_its_line() {
    let mut lines: Vec<&str> = PJSIP_DUMP.lines().collect();
    lines.insert(6, "kernel: eth0: link down");
    let error = error_of(DumpFormat::PjsipContacts, &lines.join("\n"));
    assert_eq!(error.line, 7);
    assert_eq!(
        error.to_string(),
        "line 7: expected a Contact: row with AoR/URI, hash, status and RTT, got \
         `kernel: eth0: link down`"
    );
}

#[test]
fn pjsip_bad_rtt_and_bad_status_are_refused() {
    let bad_rtt = PJSIP_DUMP.replace("12.345", "12,345ms");
    let error = error_of(DumpFormat::PjsipContacts, &bad_rtt);
    assert_eq!(error.line, 5);
    assert!(error.reason.contains("RTT"), "{error}");

    let bad_status = PJSIP_DUMP.replace("Avail        12.345", "Av-ail       12.345");
    assert_eq!(error_of(DumpFormat::PjsipContacts, &bad_status).line, 5);
}

#[test]
fn pjsip_without_header_or_with_text_after_footer_is_refused() {
    let no_header = "  Contact:  100-X/sip:100-X@192.0.2.1 a1b2c3d4e5 Avail 1.000\n";
    let error = error_of(DumpFormat::PjsipContacts, no_header);
    assert_eq!(error.line, 1);
    assert!(error.reason.contains("header"), "{error}");

    let trailing = format!("{PJSIP_DUMP}Contact: 102-X/sip:102-X@192.0.2.2 aa Avail 1.0\n");
    let error = error_of(DumpFormat::PjsipContacts, &trailing);
    assert_eq!(error.line, 14);
    assert!(error.reason.contains("after the end"), "{error}");
}

#[test]
fn pjsip_without_footer_is_accepted_as_older_asterisk_prints_none() {
    let old: String = PJSIP_DUMP
        .lines()
        .filter(|line| !line.starts_with("Objects found"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(ok(DumpFormat::PjsipContacts, &old).len(), 6);
}

#[test]
fn pjsip_header_without_hash_column_is_followed() {
    let old = "
  Contact:  <Aor/ContactUri..............................> <Status....> <RTT(ms)..>
==========================================================================================

  Contact:  100-OLD/sip:100-OLD@192.0.2.1:5060          Avail            8.000
";
    assert_eq!(
        ok(DumpFormat::PjsipContacts, old),
        vec![row(
            "100-OLD",
            "sip:100-OLD@192.0.2.1:5060",
            ContactStatus::Avail
        )]
    );
}

#[test]
fn pjsip_console_prompt_line_is_tolerated_before_the_header() {
    let pasted = format!("voip1*CLI> pjsip show contacts{PJSIP_DUMP}");
    assert_eq!(ok(DumpFormat::PjsipContacts, &pasted).len(), 6);
}

#[test]
fn asterisk_not_running_is_said_plainly() {
    let body =
        "Unable to connect to remote asterisk (does /var/run/asterisk/asterisk.ctl exist?)\n";
    for format in [DumpFormat::PjsipContacts, DumpFormat::SipPeers] {
        let error = error_of(format, body);
        assert_eq!(error.line, 1);
        assert!(error.reason.contains("not running"), "{error}");
    }
    let error = error_of(
        DumpFormat::SipPeers,
        "No such command 'sip show peers' (type 'core show help sip show' for other possible commands)\n",
    );
    assert!(
        error.reason.contains("does not know the command"),
        "{error}"
    );
}

#[test]
fn duplicate_rows_are_kept_once() {
    let doubled = "
  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>
==========================================================================================

  Contact:  100-ACME/sip:100-ACME@192.0.2.1:5060          a1b2c3d4e5 Avail         1.000
  Contact:  100-ACME/sip:100-ACME@192.0.2.1:5060          b1b2c3d4e5 Avail         1.000
  Contact:  100-ACME/sip:100-ACME@192.0.2.1:5062          c1b2c3d4e5 Avail         1.000

Objects found: 3
";
    let rows = ok(DumpFormat::PjsipContacts, doubled);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].contact, "sip:100-ACME@192.0.2.1:5062");
}

#[test]
fn empty_body_is_refused_in_every_format() {
    for format in DumpFormat::ALL {
        for body in ["", "   \n\r\n\t", "\u{feff}"] {
            let error = error_of(format, body);
            assert_eq!(error.line, 1);
            assert!(error.reason.contains("empty"), "{format}: {error}");
        }
    }
}

#[test]
fn hundred_thousand_contacts_parse() {
    let rows: Vec<Registration> = (0..100_000)
        .map(|i| {
            row(
                &format!("{}-T{}", 100 + i % 900, i / 900),
                &format!(
                    "sip:{}@10.{}.{}.{}:5060",
                    i,
                    i / 65536,
                    (i / 256) % 256,
                    i % 256
                ),
                ContactStatus::Avail,
            )
        })
        .collect();
    let dump = render_pjsip_contacts(&rows);
    assert_eq!(ok(DumpFormat::PjsipContacts, &dump).len(), 100_000);
}

/// `cargo test --release -- --ignored --nocapture pjsip_timing` prints the figure.
#[test]
#[ignore]
fn pjsip_timing_for_100k_contacts() {
    let rows: Vec<Registration> = (0..100_000)
        .map(|i| {
            row(
                &format!("{}-TENANT{}", 100 + i % 900, i / 900),
                &format!(
                    "sip:{}@10.{}.{}.{}:5060;ob",
                    i,
                    i / 65536,
                    (i / 256) % 256,
                    i % 256
                ),
                ContactStatus::Avail,
            )
        })
        .collect();
    let dump = render_pjsip_contacts(&rows);
    let started = std::time::Instant::now();
    let parsed = parse_dump(DumpFormat::PjsipContacts, &dump).map(|rows| rows.len());
    let elapsed = started.elapsed();
    println!(
        "parsed {parsed:?} contacts ({} bytes) in {elapsed:?}",
        dump.len()
    );
    assert_eq!(parsed, Ok(100_000));
}
