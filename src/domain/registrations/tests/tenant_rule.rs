use super::*;

#[test]
fn default_rule_reads_mirta_names() {
    let matcher = TenantMatcher::new(TenantMatcher::default_rule()).unwrap();
    assert_eq!(
        matcher.tenant_of("100-CANISTRACCI").as_deref(),
        Some("CANISTRACCI")
    );
    assert_eq!(matcher.tenant_of("2001-acme").as_deref(), Some("acme"));
    assert_eq!(matcher.tenant_of("bob"), None);
    assert_eq!(matcher.tenant_of("12-3-ACME2").as_deref(), Some("ACME2"));
    assert_eq!(matcher.tenant_of("trunk-2"), None);
    assert_eq!(matcher.tenant_of("-ACME"), None);
    assert_eq!(matcher.pattern(), TenantMatcher::default().pattern());
}

#[test]
fn custom_rule_and_bad_rules() {
    let matcher = TenantMatcher::new(r"^(?P<tenant>[a-z]+)\.\d+$").unwrap();
    assert_eq!(matcher.tenant_of("acme.100").as_deref(), Some("acme"));
    assert_eq!(matcher.tenant_of("100-ACME"), None);

    let optional = TenantMatcher::new(r"^\d+(?:-(?P<tenant>\w*))?$").unwrap();
    assert_eq!(
        optional.tenant_of("100-"),
        None,
        "an empty group is no tenant"
    );

    let error = TenantMatcher::new(r"^.+-([A-Z]+)$").unwrap_err();
    assert!(error.contains("named group `tenant`"), "{error}");
    let error = TenantMatcher::new(r"^(?P<tenant>[A-Z+$").unwrap_err();
    assert!(error.contains("not a valid regular expression"), "{error}");
    let error = TenantMatcher::new(r"(?P<tenant>\w{1000}){1000}").unwrap_err();
    assert!(error.contains("too large"), "{error}");
}

#[test]
fn tenant_codes_compare_without_case() {
    assert_eq!(
        normalise_tenant_code("CANISTRACCI"),
        normalise_tenant_code(" canistracci ")
    );
    assert_ne!(
        normalise_tenant_code("ACME"),
        normalise_tenant_code("ACME2")
    );

    let matcher = TenantMatcher::default();
    let mut reg = row("100-CANISTRACCI", "", ContactStatus::Avail);
    assert_eq!(reg.tenant_code(&matcher).as_deref(), Some("CANISTRACCI"));
    reg.tenant = Some("Other".into());
    assert_eq!(reg.tenant_code(&matcher).as_deref(), Some("Other"));
}
