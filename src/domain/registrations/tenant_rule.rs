//! The tenant rule: how a tenant code is read from an endpoint name when the dump does not
//! carry it explicitly.

use regex::{Regex, RegexBuilder};

/// A compiled tenant rule: a regular expression with a named group `tenant` that picks the
/// tenant code out of an endpoint name.
#[derive(Debug, Clone)]
pub struct TenantMatcher {
    regex: Regex,
    /// The rule is the built-in one ([`TenantMatcher::default_rule`]), matched by
    /// [`default_tenant_of`] without the regex engine: a capture costs about 250 ns, half the
    /// per-contact cost of a registration report (1.3 ms of a 5,000-contact push).
    is_default: bool,
}

impl TenantMatcher {
    /// Compiles an admin-supplied rule. The rule must have a named group `tenant`.
    pub fn new(pattern: &str) -> Result<Self, String> {
        // The rule comes from a settings form: bound the compiled size so a pathological
        // pattern is refused instead of eating memory (the regex crate never backtracks).
        let regex = RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .build()
            .map_err(|error| match error {
                regex::Error::CompiledTooBig(_) => {
                    "the tenant rule is too large once compiled; simplify it (fewer or smaller \
                     repetitions)"
                        .to_string()
                }
                other => format!("the tenant rule is not a valid regular expression: {other}"),
            })?;
        if !regex.capture_names().any(|name| name == Some("tenant")) {
            return Err(
                "the tenant rule needs a named group `tenant`, e.g. `^.+-(?P<tenant>[A-Za-z]+)$`"
                    .to_string(),
            );
        }
        let is_default = pattern == Self::default_rule();
        Ok(TenantMatcher { regex, is_default })
    }

    /// MiRTA PBX names SIP users `<extension>-<TENANTCODE>` (`100-CANISTRACCI`), and tenant
    /// codes are letters. The default takes the part after the last dash, provided something
    /// comes before the dash and the part starts with a letter (letters, digits and `_` may
    /// follow, for codes like `ACME2`). A dash-free name (`bob`) or a numeric tail
    /// (`trunk-2`, `100-200`) has no tenant. Matching the result to tenant codes is
    /// case-insensitive: see [`normalise_tenant_code`].
    pub fn default_rule() -> &'static str {
        r"^.+-(?P<tenant>[A-Za-z][A-Za-z0-9_]*)$"
    }

    /// The rule as written.
    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }

    /// The tenant code in `endpoint`, as written there (case kept), or `None` when the rule
    /// does not match or the `tenant` group is empty.
    pub fn tenant_of(&self, endpoint: &str) -> Option<String> {
        if self.is_default {
            return default_tenant_of(endpoint).map(str::to_string);
        }
        self.regex
            .captures(endpoint)
            .and_then(|captures| captures.name("tenant"))
            .map(|tenant| tenant.as_str())
            .filter(|tenant| !tenant.is_empty())
            .map(str::to_string)
    }
}

impl Default for TenantMatcher {
    fn default() -> Self {
        TenantMatcher::new(TenantMatcher::default_rule())
            .expect("the built-in tenant rule is a valid regex with a `tenant` group")
    }
}

/// [`TenantMatcher::default_rule`] by hand: `^.+-(?P<tenant>[A-Za-z][A-Za-z0-9_]*)$`. The code
/// cannot hold a dash, so only the last dash can start it; `.+` needs a character before that
/// dash and matches anything but a line break; `$` is the end of the text (no multi-line mode).
/// The tests below hold it to the regex on arbitrary names.
fn default_tenant_of(endpoint: &str) -> Option<&str> {
    let dash = endpoint.rfind('-')?;
    let (head, code) = (&endpoint[..dash], &endpoint[dash + 1..]);
    if head.is_empty() || head.contains('\n') {
        return None;
    }
    let mut bytes = code.bytes();
    let first = bytes.next()?;
    (first.is_ascii_alphabetic() && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then_some(code)
}

/// The key under which tenant codes compare without regard to case (and to stray whitespace):
/// `CANISTRACCI`, `canistracci` and ` Canistracci ` share one key.
pub fn normalise_tenant_code(code: &str) -> String {
    code.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The built-in rule through the regex engine, as any other rule.
    fn by_regex(endpoint: &str) -> Option<String> {
        let regex = Regex::new(TenantMatcher::default_rule()).unwrap();
        regex
            .captures(endpoint)
            .and_then(|c| c.name("tenant"))
            .map(|t| t.as_str().to_string())
            .filter(|t| !t.is_empty())
    }

    #[test]
    fn the_default_rule_by_hand_reads_the_usual_names() {
        let m = TenantMatcher::default();
        assert!(m.is_default);
        for (endpoint, tenant) in [
            ("100-CANISTRACCI", Some("CANISTRACCI")),
            ("100-ACME2", Some("ACME2")),
            ("a-b-Acme_2", Some("Acme_2")),
            ("-ACME", None),
            ("bob", None),
            ("trunk-2", None),
            ("100-", None),
            ("100-AC-", None),
            ("100-AC ME", None),
            ("10\n0-ACME", None),
            ("100-ACME\n", None),
            ("é-ACME", Some("ACME")),
            ("100-ÉCOLE", None),
        ] {
            assert_eq!(m.tenant_of(endpoint).as_deref(), tenant, "{endpoint:?}");
            assert_eq!(
                by_regex(endpoint).as_deref(),
                tenant,
                "{endpoint:?} (regex)"
            );
        }
        // Any other rule goes through the regex.
        assert!(
            !TenantMatcher::new("^(?P<tenant>[0-9]+)-")
                .unwrap()
                .is_default
        );
    }

    proptest! {
        #[test]
        fn the_default_rule_by_hand_equals_the_regex(endpoint in "[-a-zA-Z0-9_ é\n.@]{0,12}") {
            prop_assert_eq!(default_tenant_of(&endpoint).map(str::to_string), by_regex(&endpoint));
        }
    }
}
