use super::*;

#[test]
fn json_array_and_envelope() {
    let array = r#"[
  {"endpoint": "100-CANISTRACCI", "contact": "sip:100@192.0.2.10", "status": "Reachable"},
  {"endpoint": "frontdesk", "tenant": "ACME", "userAgent": "Snom D785", "status": null}
]"#;
    let expected = vec![
        row(
            "100-CANISTRACCI",
            "sip:100@192.0.2.10",
            ContactStatus::Reachable,
        ),
        Registration {
            endpoint: "frontdesk".into(),
            tenant: Some("ACME".into()),
            contact: String::new(),
            user_agent: Some("Snom D785".into()),
            status: ContactStatus::Avail,
        },
    ];
    assert_eq!(ok(DumpFormat::Json, array), expected);
    let envelope = format!("{{\"registrations\": {array}}}");
    assert_eq!(ok(DumpFormat::Json, &envelope), expected);
    assert_eq!(ok(DumpFormat::Json, " [ ] "), vec![]);
}

#[test]
fn json_errors_carry_the_line() {
    let unknown = "[\n  {\"endpoint\": \"a\"},\n  {\"endpoint\": \"b\", \"server\": \"voip1\"}\n]";
    let error = error_of(DumpFormat::Json, unknown);
    assert_eq!(error.line, 3);
    assert!(error.reason.contains("unknown field `server`"), "{error}");

    let empty_endpoint = "[\n  {\"endpoint\": \"a\"},\n  {\"endpoint\": \"  \"}\n]";
    let error = error_of(DumpFormat::Json, empty_endpoint);
    assert_eq!(error.line, 3);
    assert!(error.reason.contains("the endpoint is empty"), "{error}");

    let tricky = "{\"registrations\": [\n  {\"endpoint\": \"a\", \"user_agent\": \"{x} [y] \\\" {\"},\n\n  {\"endpoint\": \"\"}\n]}";
    let error = error_of(DumpFormat::Json, tricky);
    assert_eq!(error.to_string(), "line 4: the endpoint is empty");

    let syntax = "[\n  {\"endpoint\": \"a\"}\n  {\"endpoint\": \"b\"}\n]";
    assert_eq!(error_of(DumpFormat::Json, syntax).line, 3);

    let error = error_of(DumpFormat::Json, "\n\n\"just a string\"");
    assert_eq!(error.line, 3);
    assert!(error.reason.contains("JSON array"), "{error}");
}

#[test]
fn control_characters_are_refused() {
    let error = error_of(DumpFormat::Json, "[{\"endpoint\": \"a\\u0007b\"}]");
    assert!(error.reason.contains("control character"), "{error}");
}
