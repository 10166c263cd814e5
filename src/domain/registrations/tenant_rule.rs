//! The tenant rule: how a tenant code is read from an endpoint name when the dump does not
//! carry it explicitly.

use regex::{Regex, RegexBuilder};

/// A compiled tenant rule: a regular expression with a named group `tenant` that picks the
/// tenant code out of an endpoint name.
#[derive(Debug, Clone)]
pub struct TenantMatcher {
    regex: Regex,
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
        Ok(TenantMatcher { regex })
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

/// The key under which tenant codes compare without regard to case (and to stray whitespace):
/// `CANISTRACCI`, `canistracci` and ` Canistracci ` share one key.
pub fn normalise_tenant_code(code: &str) -> String {
    code.trim().to_lowercase()
}
