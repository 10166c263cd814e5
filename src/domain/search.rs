//! What the global search looks for, read from what an admin types: one text, matched without
//! regard to case, and the forms it takes for each kind of key. An admin pastes a contact URI
//! (`sip:100-ACME@198.51.100.7:5060`) as often as an address: the endpoint is then the user
//! part, and the address the host part.

/// The longest search text taken (a contact URI with parameters fits).
pub const MAX_QUERY_CHARS: usize = 200;

/// The search text as each kind of key is matched against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms {
    /// The text as typed, trimmed (for links and the page).
    pub text: String,
    /// Lower case: tenant codes and names, server and pool names, user agents.
    pub key: String,
    /// The endpoint prefix: the user part of a pasted SIP URI, else the key.
    pub endpoint: String,
    /// The contact host prefix: the host part of a pasted SIP URI (an IPv6 literal without its
    /// `[`), else the key.
    pub host: String,
}

impl SearchTerms {
    /// `None` for an empty search; an error for one too long to be meant.
    pub fn parse(input: &str) -> Result<Option<Self>, String> {
        let text = input.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(format!(
                "a search is at most {MAX_QUERY_CHARS} characters long"
            ));
        }
        if text.chars().any(char::is_control) {
            return Err("a search may not contain control characters".into());
        }
        let key = text.to_lowercase();
        let uri = key
            .strip_prefix("sip:")
            .or_else(|| key.strip_prefix("sips:"))
            .unwrap_or(&key);
        let (endpoint, host) = match uri.split_once('@') {
            Some((user, host)) => (user, host),
            None if uri.len() != key.len() => (uri, uri),
            None => (key.as_str(), key.as_str()),
        };
        let host = host.trim_start_matches('[');
        Ok(Some(Self {
            text: text.to_string(),
            endpoint: non_empty_or(endpoint, &key),
            host: non_empty_or(host, &key),
            key: key.clone(),
        }))
    }
}

fn non_empty_or(part: &str, whole: &str) -> String {
    if part.is_empty() { whole } else { part }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(s: &str) -> SearchTerms {
        SearchTerms::parse(s).unwrap().unwrap()
    }

    #[test]
    fn plain_text_is_every_key_in_lower_case() {
        let t = terms("  Yealink SIP-T46S ");
        assert_eq!(t.text, "Yealink SIP-T46S");
        assert_eq!(t.key, "yealink sip-t46s");
        assert_eq!(t.endpoint, t.key);
        assert_eq!(t.host, t.key);
    }

    #[test]
    fn a_pasted_contact_uri_gives_its_user_and_host() {
        let t = terms("sip:100-ACME@198.51.100.7:5060;ob");
        assert_eq!(t.endpoint, "100-acme");
        assert_eq!(t.host, "198.51.100.7:5060;ob");
        let t = terms("sip:[2001:db8::1]:5060");
        assert_eq!(t.host, "2001:db8::1]:5060");
        let t = terms("reception@203.0.113.7");
        assert_eq!(
            (t.endpoint.as_str(), t.host.as_str()),
            ("reception", "203.0.113.7")
        );
        // Nothing on one side of the @: the whole text.
        assert_eq!(terms("@").host, "@");
    }

    #[test]
    fn empty_long_and_control_texts() {
        assert_eq!(SearchTerms::parse("   "), Ok(None));
        assert!(SearchTerms::parse(&"x".repeat(MAX_QUERY_CHARS + 1)).is_err());
        assert!(SearchTerms::parse(&"x".repeat(MAX_QUERY_CHARS)).is_ok());
        assert!(SearchTerms::parse("a\nb").is_err());
    }
}
