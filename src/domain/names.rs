//! Validation of every name that can end up in a DNS zone or a URL: FQDNs (RFC 1035 LDH rule, as
//! tightened by RFC 1123), short object names and tenant codes. A value that passes here can be
//! written into a zone file without escaping; nothing else may be.

/// Longest text form of a domain name without the trailing dot (RFC 1035 §2.3.4: 255 octets on
/// the wire, which is 253 characters in presentation form).
pub const MAX_NAME_LEN: usize = 253;
/// RFC 1035 §2.3.4: labels are 63 octets or less.
pub const MAX_LABEL_LEN: usize = 63;

/// Checks a host or SRV owner name and returns its canonical form: lower case, no trailing dot.
///
/// Only letters, digits and hyphens are allowed (LDH); a label may not start or end with a hyphen.
/// Underscores are refused on purpose: `_sip._udp.` is added by the export, never typed by an admin.
pub fn normalise_fqdn(input: &str) -> Result<String, String> {
    if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    let name = input.strip_suffix('.').unwrap_or(input);
    if name.is_empty() {
        return Err("is required".into());
    }
    if !name.is_ascii() {
        return Err("must be ASCII; write internationalised names in their xn-- form".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "is {} characters long; a domain name has at most {MAX_NAME_LEN}",
            name.len()
        ));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err("must be a fully qualified name such as voip1.example.com".into());
    }
    for label in &labels {
        check_label(label)?;
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("must be a name, not an IP address".into());
    }
    Ok(name.to_ascii_lowercase())
}

fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("has an empty label (two dots in a row, or a leading dot)".into());
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(format!(
            "has a label of {} characters; a label has at most {MAX_LABEL_LEN}",
            label.len()
        ));
    }
    if let Some(bad) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "may only contain letters, digits, hyphens and dots, not {bad:?}"
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!(
            "has a label {label:?} that starts or ends with a hyphen"
        ));
    }
    // An xn-- label is an internationalised name's ASCII form: it must decode, or resolvers and
    // zone parsers (BIND, hickory) refuse the whole zone file it is written into.
    if label.len() >= 4 && label[..4].eq_ignore_ascii_case("xn--") {
        use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
        let decoded = Uts46::new().to_ascii(
            label.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::Allow,
            DnsLength::Ignore,
        );
        if !decoded.is_ok_and(|ascii| ascii.eq_ignore_ascii_case(label)) {
            return Err(format!(
                "has a label {label:?} that starts with xn-- but is not a valid internationalised name"
            ));
        }
    }
    Ok(())
}

/// Short names of servers and pools (`voip1`, `pbxA`): they appear in URLs, CLI flags and file
/// names, so they are kept to letters, digits, `-` and `_`, 1 to 63 characters.
pub fn check_short_name(input: &str) -> Result<String, String> {
    let name = input.trim();
    if name.is_empty() {
        return Err("is required".into());
    }
    if name.len() > 63 {
        return Err("must be at most 63 characters".into());
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("must start with a letter or digit".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "may only contain letters, digits, '-' and '_', not {bad:?}"
        ));
    }
    Ok(name.to_string())
}

/// Tenant codes. MiRTA PBX builds SIP usernames as `extension-CODE` and the tenant is read back
/// from the part after the last dash, so a code with a dash in it could never be matched.
pub fn check_tenant_code(input: &str) -> Result<String, String> {
    let code = input.trim();
    if code.is_empty() {
        return Err("is required".into());
    }
    if code.len() > 64 {
        return Err("must be at most 64 characters".into());
    }
    if !code.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("must start with a letter or digit".into());
    }
    if let Some(bad) = code
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(format!(
            "may only contain letters, digits and '_', not {bad:?} (SIP usernames are extension-CODE, so a dash would break tenant matching)"
        ));
    }
    Ok(code.to_string())
}

/// Path segments that are pages of their own beside the objects' pages (`/tenants/new`,
/// `/servers/import`): a tenant, server or pool named so could not be reached by its name.
pub const PAGE_SEGMENTS: [&str; 2] = ["new", "import"];

/// `name` unless it is one of [`PAGE_SEGMENTS`] (exactly: `NEW` is a name like any other).
pub fn not_a_page<T: AsRef<str>>(name: T) -> Result<T, String> {
    if PAGE_SEGMENTS.contains(&name.as_ref()) {
        return Err(format!(
            "may not be {:?}: that address is a page of its own",
            name.as_ref()
        ));
    }
    Ok(name)
}

/// Free text shown in the UI (display names, sites): one line, no control characters.
pub fn check_text(input: &str, max: usize, required: bool) -> Result<String, String> {
    let text = input.trim();
    if required && text.is_empty() {
        return Err("is required".into());
    }
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err("must not contain control characters or line breaks".into());
    }
    Ok(text.to_string())
}

/// Notes may span lines but carry no other control characters.
pub fn check_notes(input: &str, max: usize) -> Result<String, String> {
    let text = input.trim().replace("\r\n", "\n");
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("must not contain control characters".into());
    }
    Ok(text)
}

/// [`check_short_name`] as a regular expression (the length is the schema's `maxLength`).
const SHORT_NAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_-]*$";
/// A canonical [`normalise_fqdn`] result: lower-case LDH labels, at least two, no trailing dot
/// (that the last label is not all digits is left out: no lookahead, for every tool's regex).
const HOST_NAME_PATTERN: &str =
    r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$";

/// Validated names as their own types: a value of one of these passed its check, so nothing
/// downstream (a page, a URL, a zone file) has to check it again. The field is private; the only
/// ways in are `parse` and deserialising, which runs the same check.
macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $check:path, pattern = $pattern:expr, max = $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks `input` and returns it in canonical form, or says what is wrong.
            pub fn parse(input: &str) -> Result<Self, String> {
                $check(input).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        /// On the wire a plain string, as it serialises; the pattern describes the canonical
        /// form the server writes (it accepts a little more on input: surrounding spaces, upper
        /// case in host names, a trailing dot).
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some($pattern))
                    .min_length(Some(1))
                    .max_length(Some($max))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

name_type!(
    /// A tenant code (`CANISTRACCI`): letters, digits and `_`, as MiRTA builds SIP usernames.
    TenantCode,
    check_tenant_code,
    pattern = "^[A-Za-z0-9][A-Za-z0-9_]*$",
    max = 64
);
name_type!(
    /// A server's short name (`voip1`).
    ServerName,
    check_short_name,
    pattern = SHORT_NAME_PATTERN,
    max = 63
);
name_type!(
    /// A pool's short name (`pbxA`).
    PoolName,
    check_short_name,
    pattern = SHORT_NAME_PATTERN,
    max = 63
);
name_type!(
    /// A fully qualified LDH host or SRV owner name, lower case, without the trailing dot
    /// (`voip1.example.com`): safe to write into a zone file as it is.
    HostName,
    normalise_fqdn,
    pattern = HOST_NAME_PATTERN,
    max = MAX_NAME_LEN
);

/// The order names are listed in everywhere: natural (`voip2` before `voip10`: runs of digits
/// compare as numbers), without regard to case, then as written so the order is total.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    natord::compare_ignore_case(a, b).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_pages_of_their_own_are_refused() {
        assert!(not_a_page("new").is_err());
        assert!(
            not_a_page("import")
                .unwrap_err()
                .contains("page of its own")
        );
        assert_eq!(not_a_page("NEW"), Ok("NEW"));
        assert_eq!(not_a_page("newco"), Ok("newco"));
    }

    #[test]
    fn names_sort_naturally_then_as_written() {
        let mut names = vec![
            "voip10", "voip2", "Voip1", "voip1", "bigbox", "pbx10a", "pbx9a",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            [
                "bigbox", "pbx9a", "pbx10a", "Voip1", "voip1", "voip2", "voip10"
            ]
        );
    }

    #[test]
    fn fqdn_is_lowercased_and_loses_its_trailing_dot() {
        assert_eq!(
            normalise_fqdn("VoIP1.Example.COM.").unwrap(),
            "voip1.example.com"
        );
    }

    #[test]
    fn xn_labels_must_be_valid_internationalised_names() {
        // bücher.example: a real A-label.
        assert!(normalise_fqdn("xn--bcher-kva.example.com").is_ok());
        for bad in [
            "xn--a.example.com",
            "xn--0.example.com",
            "sip.XN--A.example.com",
        ] {
            let err = normalise_fqdn(bad).unwrap_err();
            assert!(err.contains("internationalised"), "{bad}: {err}");
        }
        // Labels with hyphens elsewhere are plain LDH labels.
        assert!(normalise_fqdn("ab--c.example.com").is_ok());
    }

    #[test]
    fn fqdn_refuses_what_could_break_a_zone_file() {
        for bad in [
            "voip1.example.com\n@ IN NS evil.",
            "voip1.example.com;comment",
            "voip1 .example.com",
            "\"voip1\".example.com",
            "voip1.(example).com",
            "$INCLUDE.example.com",
            "_sip._udp.example.com",
            "vöip1.example.com",
            "voip1..example.com",
            ".example.com",
            "-voip1.example.com",
            "voip1-.example.com",
            "voip1",
            "",
            "192.0.2.1",
        ] {
            assert!(normalise_fqdn(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn fqdn_length_limits_are_the_rfc_ones() {
        let label63 = "a".repeat(63);
        assert!(normalise_fqdn(&format!("{label63}.example.com")).is_ok());
        assert!(normalise_fqdn(&format!("a{label63}.example.com")).is_err());
        // 4 labels of 63 plus separators: 255 characters, over the 253 limit.
        let long = [label63.as_str(); 4].join(".");
        assert_eq!(long.len(), 255);
        assert!(normalise_fqdn(&long).is_err());
        let fits = format!("{}.{}.{}.{}", label63, label63, label63, "a".repeat(61));
        assert_eq!(fits.len(), 253);
        assert!(normalise_fqdn(&fits).is_ok());
    }

    #[test]
    fn short_names_and_codes() {
        assert_eq!(check_short_name(" pbxA ").unwrap(), "pbxA");
        assert!(check_short_name("pbx A").is_err());
        assert!(check_short_name("-x").is_err());
        assert!(check_short_name(&"x".repeat(64)).is_err());
        assert_eq!(check_tenant_code("CANISTRACCI").unwrap(), "CANISTRACCI");
        assert!(check_tenant_code("acme-corp").is_err());
        assert!(check_text("a\nb", 10, true).is_err());
        assert!(check_text("  ", 10, true).is_err());
        assert_eq!(check_notes("a\r\nb", 10).unwrap(), "a\nb");
    }

    #[test]
    fn typed_names_only_hold_checked_values() {
        assert_eq!(
            HostName::parse("VoIP1.Example.COM.").unwrap(),
            "voip1.example.com"
        );
        assert!(HostName::parse("voip1.example.com\n@ IN NS evil.").is_err());
        assert_eq!(TenantCode::parse(" ROSSI ").unwrap().as_str(), "ROSSI");
        assert!(TenantCode::parse("acme-corp").is_err());
        assert!(ServerName::parse("voip 1").is_err());
        assert_eq!(PoolName::parse("pbxA").unwrap().to_string(), "pbxA");
        // Deserialising runs the same check: no way around `parse`.
        assert!(serde_json::from_str::<HostName>("\"bad name.example.com\"").is_err());
        let host: HostName = serde_json::from_str("\"VOIP2.example.com\"").unwrap();
        assert_eq!(
            serde_json::to_string(&host).unwrap(),
            "\"voip2.example.com\""
        );
    }
}
