use super::*;

#[test]
fn csv_rows_with_explicit_tenant_and_default_status() {
    let body = "endpoint,tenant,contact,user_agent,status\r\n\
                100-CANISTRACCI,,sip:100@192.0.2.10:5060,\"Yealink SIP-T46S, 66.85\",Avail\r\n\
                frontdesk,ACME,sip:frontdesk@198.51.100.7,,\r\n\
                bob,Zeta, 203.0.113.5:5060 ,Linphone,Unreachable\r\n";
    assert_eq!(
        ok(DumpFormat::Csv, body),
        vec![
            Registration {
                endpoint: "100-CANISTRACCI".into(),
                tenant: None,
                contact: "sip:100@192.0.2.10:5060".into(),
                user_agent: Some("Yealink SIP-T46S, 66.85".into()),
                status: ContactStatus::Avail,
            },
            Registration {
                endpoint: "frontdesk".into(),
                tenant: Some("ACME".into()),
                contact: "sip:frontdesk@198.51.100.7".into(),
                user_agent: None,
                status: ContactStatus::Avail,
            },
            Registration {
                endpoint: "bob".into(),
                tenant: Some("Zeta".into()),
                contact: "203.0.113.5:5060".into(),
                user_agent: Some("Linphone".into()),
                status: ContactStatus::Unreachable,
            },
        ]
    );
}

#[test]
fn csv_header_only_and_endpoint_only_column() {
    assert_eq!(ok(DumpFormat::Csv, "endpoint,contact\n"), vec![]);
    assert_eq!(
        ok(DumpFormat::Csv, "Endpoint\n100-A\n100-A\n101-A\n"),
        vec![
            row("100-A", "", ContactStatus::Avail),
            row("101-A", "", ContactStatus::Avail)
        ]
    );
}

#[test]
fn csv_semicolon_export_is_read() {
    let rows = ok(
        DumpFormat::Csv,
        "endpoint;tenant;status\n100-A;ACME;NonQual\n",
    );
    assert_eq!(rows[0].tenant.as_deref(), Some("ACME"));
    assert_eq!(rows[0].status, ContactStatus::NonQual);
}

#[test]
fn csv_unknown_columns_are_named() {
    let error = error_of(
        DumpFormat::Csv,
        "endpoint,server,Phone Model\n100-A,voip1,T46\n",
    );
    assert_eq!(error.line, 1);
    assert!(
        error
            .reason
            .contains("unknown columns `server`, `Phone Model`"),
        "{error}"
    );
}

#[test]
fn csv_missing_endpoint_duplicate_column_ragged_row_empty_endpoint() {
    let error = error_of(DumpFormat::Csv, "tenant,contact\nACME,sip:a@b\n");
    assert!(error.reason.contains("`endpoint` column"), "{error}");

    let error = error_of(DumpFormat::Csv, "endpoint,Endpoint\na,b\n");
    assert!(error.reason.contains("appears twice"), "{error}");

    let error = error_of(DumpFormat::Csv, "endpoint,tenant\na,X\nb,Y,extra\nc,Z\n");
    assert_eq!(error.line, 3);
    assert!(error.reason.contains("expected 2 fields"), "{error}");

    let error = error_of(DumpFormat::Csv, "endpoint,tenant\na,X\n  ,Y\n");
    assert_eq!(error.to_string(), "line 3: the endpoint is empty");
}
