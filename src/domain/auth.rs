//! Accounts and access rules: roles, API token scopes, which API call a scope may make, password
//! hashing (argon2id) and token digests. The web layer enforces these; nothing here does I/O
//! beyond the OS randomness argon2 draws its salts from.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

use super::names::check_short_name;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May change things.
    Admin,
    /// Sees everything, changes nothing.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "admin" => Ok(Role::Admin),
            "viewer" => Ok(Role::Viewer),
            other => Err(format!("unknown role {other:?}: use admin or viewer")),
        }
    }
}

/// What an API token may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// Every read call (GET, and the POSTs that only compute).
    Read,
    /// Everything.
    Admin,
    /// Only pushing registrations for this one server: a token stolen from one PBX can do
    /// nothing else.
    Ingest(String),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Read => f.write_str("read"),
            Scope::Admin => f.write_str("admin"),
            Scope::Ingest(server) => write!(f, "ingest:{server}"),
        }
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "read" => Ok(Scope::Read),
            "admin" => Ok(Scope::Admin),
            other => match other.strip_prefix("ingest:") {
                Some(server) => Ok(Scope::Ingest(
                    check_short_name(server).map_err(|e| format!("ingest server name {e}"))?,
                )),
                None => Err(format!(
                    "unknown scope {other:?}: use read, admin or ingest:<server>"
                )),
            },
        }
    }
}

/// API calls that use POST but only compute an answer; a `read` token may make them.
const READ_ONLY_POSTS: &[&str] = &["/api/v1/srv/shares", "/api/v1/plan"];

/// Whether a token with `scope` may call `method path` under `/api/`.
pub fn api_allows(scope: &Scope, method: &str, path: &str) -> bool {
    let reads =
        matches!(method, "GET" | "HEAD") || (method == "POST" && READ_ONLY_POSTS.contains(&path));
    match scope {
        Scope::Admin => true,
        Scope::Read => reads,
        Scope::Ingest(server) => {
            method == "POST"
                && path
                    .strip_prefix("/api/v1/servers/")
                    .and_then(|rest| rest.strip_suffix("/registrations"))
                    .is_some_and(|s| s == server)
        }
    }
}

/// Minimum password length: long passphrases beat composition rules (NIST SP 800-63B).
pub const MIN_PASSWORD_LEN: usize = 10;

pub fn check_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(format!(
            "must be at least {MIN_PASSWORD_LEN} characters long"
        ));
    }
    if password.chars().count() > 1024 {
        return Err("must be at most 1024 characters long".into());
    }
    // Ten spaces pass the length rule but are the first thing a guesser tries.
    if password.chars().all(char::is_whitespace) {
        return Err("must not be made of spaces only".into());
    }
    Ok(())
}

/// An argon2id PHC string with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("password hashing failed: {e}"))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// Hex SHA-256 of a high-entropy secret (API token, session id). Such secrets need no slow
/// hash: they cannot be guessed, only stolen, and the digest is useless to a thief.
pub fn secret_digest(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a session remembers of the password it was opened with: a digest of its hash. A session
/// whose fingerprint no longer matches the user's hash ends, so a password change (which always
/// draws a new salt) ends every session opened before it, except one the change refreshes.
pub fn credentials_fingerprint(password_hash: &str) -> String {
    secret_digest(password_hash)
}

/// A new random secret: `prefix` then 32 bytes from the OS generator in hex (256 bits).
pub fn new_secret(prefix: &str) -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness from the OS: {e}"))?;
    Ok(format!(
        "{prefix}{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// The crontab line a PBX runs every minute to push its registrations (the README's example),
/// with the dashboard's address and the new `ingest:SERVER` token filled in. A `dashboard` that
/// is not a plain `http(s)://host[:port]` is replaced by a placeholder, so nothing odd can reach
/// a shell line.
pub fn ingest_cron_line(dashboard: &str, server: &str, secret: &str) -> String {
    let base = dashboard.trim_end_matches('/');
    let plain = base.split_once("://").is_some_and(|(scheme, host)| {
        (scheme == "http" || scheme == "https")
            && !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
    });
    let base = if plain {
        base
    } else {
        "https://pbx-pools.example.com"
    };
    format!(
        "* * * * * asterisk -rx \"pjsip show contacts\" | curl -fsS -X POST -H \"Authorization: Bearer {secret}\" --data-binary @- \"{base}/api/v1/servers/{server}/registrations?format=pjsip-contacts\" >/dev/null"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cron_line_fills_in_the_dashboard_server_and_token() {
        let line = super::ingest_cron_line("http://10.0.0.5:8080/", "voip1", "pbxp_x");
        assert!(line.contains("Bearer pbxp_x"), "{line}");
        assert!(line.contains(
            "\"http://10.0.0.5:8080/api/v1/servers/voip1/registrations?format=pjsip-contacts\""
        ));
        let odd = super::ingest_cron_line("http://a\"; rm -rf /", "voip1", "pbxp_x");
        assert!(
            odd.contains("\"https://pbx-pools.example.com/api/v1/servers/voip1/"),
            "{odd}"
        );
        assert!(!odd.contains("rm -rf"));
    }

    use super::*;

    #[test]
    fn scopes_parse_and_print() {
        for s in ["read", "admin", "ingest:voip1"] {
            assert_eq!(s.parse::<Scope>().unwrap().to_string(), s);
        }
        assert!("ingest:".parse::<Scope>().is_err());
        assert!("ingest:voip 1".parse::<Scope>().is_err());
        assert!("write".parse::<Scope>().is_err());
    }

    #[test]
    fn ingest_token_may_only_push_for_its_server() {
        let ingest = Scope::Ingest("voip1".into());
        assert!(api_allows(
            &ingest,
            "POST",
            "/api/v1/servers/voip1/registrations"
        ));
        assert!(!api_allows(
            &ingest,
            "POST",
            "/api/v1/servers/voip2/registrations"
        ));
        assert!(!api_allows(&ingest, "GET", "/api/v1/servers/stats"));
        assert!(!api_allows(&ingest, "POST", "/api/v1/plan/apply"));
        assert!(!api_allows(
            &ingest,
            "PUT",
            "/api/v1/servers/voip1/registrations"
        ));
    }

    #[test]
    fn read_token_reads_and_computes_but_never_writes() {
        assert!(api_allows(&Scope::Read, "GET", "/api/v1/alerts"));
        assert!(api_allows(&Scope::Read, "POST", "/api/v1/srv/shares"));
        assert!(!api_allows(&Scope::Read, "POST", "/api/v1/plan/apply"));
        assert!(!api_allows(
            &Scope::Read,
            "POST",
            "/api/v1/servers/voip1/registrations"
        ));
        assert!(!api_allows(&Scope::Read, "DELETE", "/api/v1/tenants/ACME"));
        assert!(api_allows(&Scope::Admin, "DELETE", "/api/v1/tenants/ACME"));
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse batterY", &phc));
        assert_ne!(
            phc,
            hash_password("correct horse battery").unwrap(),
            "salted"
        );
        assert!(check_password("short").is_err());
        assert!(check_password("long enough pass").is_ok());
    }

    #[test]
    fn passwords_of_only_whitespace_are_refused_whatever_their_length() {
        for blank in [
            "          ",
            "\t\t\t\t\t\t\t\t\t\t\t",
            " \u{a0} \u{3000}        \n",
        ] {
            assert!(check_password(blank).is_err(), "{blank:?}");
        }
        assert!(check_password("  spaced out pass  ").is_ok());
    }

    #[test]
    fn a_new_hash_of_the_same_password_has_another_fingerprint() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert_eq!(credentials_fingerprint(&a), credentials_fingerprint(&a));
        assert_ne!(credentials_fingerprint(&a), credentials_fingerprint(&b));
    }

    #[test]
    fn secrets_are_long_random_and_prefixed() {
        let a = new_secret("pbxp_").unwrap();
        let b = new_secret("pbxp_").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 5 + 64);
        assert!(a.starts_with("pbxp_"));
    }

    #[test]
    fn digest_is_hex_sha256() {
        assert_eq!(
            secret_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
