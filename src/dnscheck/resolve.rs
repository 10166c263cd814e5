//! Live DNS lookups for the DNS check: the SRV records served for a pool's owner names and the
//! addresses (and aliases) of their targets, asked of the configured name servers or, when none
//! are configured, of the system's (`/etc/resolv.conf`).
//!
//! Every lookup goes to the wire: the check exists to see what the name servers serve now, so
//! hickory's response cache is switched off, and the `/etc/hosts` file is never consulted. Names
//! are always treated as absolute, so the system's search domains are never appended. Failures
//! keep their DNS meaning (NXDOMAIN, NODATA, SERVFAIL, REFUSED, timeout): a name server that did
//! not answer must never read as "no records".

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::lookup::Lookup;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use serde::Serialize;

/// Where and how patiently to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverOptions {
    /// Name servers to ask, each on its own port (UDP, then TCP on the same port). Empty: the
    /// system's name servers from `/etc/resolv.conf`.
    pub nameservers: Vec<SocketAddr>,
    /// How long to wait for one answer.
    pub timeout: Duration,
    /// How many times a query is sent before giving up (at least 1).
    pub attempts: usize,
}

impl Default for ResolverOptions {
    fn default() -> Self {
        Self {
            nameservers: Vec::new(),
            timeout: Duration::from_secs(3),
            attempts: 2,
        }
    }
}

/// One SRV record as served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SrvAnswer {
    pub ttl: u32,
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// Lower-case, without the trailing dot. RFC 2782's "service not available" target (the
    /// root) stays `"."`.
    pub target: String,
}

/// The addresses of one SRV target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostAnswer {
    pub v4: Vec<Ipv4Addr>,
    pub v6: Vec<Ipv6Addr>,
    /// The name the target is an alias of (lower-case, no trailing dot). RFC 2782: the target
    /// "MUST NOT be an alias", so any value here is a finding. When the alias leads nowhere both
    /// address lists are empty.
    pub cname: Option<String>,
}

/// Why a lookup gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum LookupError {
    /// NXDOMAIN: the name does not exist at all.
    NxDomain,
    /// NOERROR with no records of the asked type (NODATA): the name exists, the records do not.
    NoRecords,
    /// SERVFAIL: the name server could not answer.
    ServFail,
    /// REFUSED: the name server will not answer for this name (not authoritative, no recursion).
    Refused,
    /// No answer before the timeout, after every attempt.
    Timeout,
    /// Anything else: an unusable name, an unreachable server, another response code.
    Other(String),
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NxDomain => f.write_str("the name does not exist (NXDOMAIN)"),
            Self::NoRecords => f.write_str("the name exists but has no records of this type"),
            Self::ServFail => f.write_str("the name server failed to answer (SERVFAIL)"),
            Self::Refused => f.write_str("the name server refused the query (REFUSED)"),
            Self::Timeout => f.write_str("no answer from the name server before the timeout"),
            Self::Other(detail) => write!(f, "DNS lookup failed: {detail}"),
        }
    }
}

impl std::error::Error for LookupError {}

impl LookupError {
    fn from_response_code(code: ResponseCode) -> Self {
        match code {
            ResponseCode::NXDomain => Self::NxDomain,
            ResponseCode::NoError => Self::NoRecords,
            ResponseCode::ServFail => Self::ServFail,
            ResponseCode::Refused => Self::Refused,
            other => Self::Other(format!("the name server answered {other}")),
        }
    }

    fn from_net(error: NetError) -> Self {
        match error {
            // hickory reports NXDOMAIN and NODATA alike as "no records"; the response code tells
            // them apart.
            NetError::Dns(DnsError::NoRecordsFound(no_records)) => {
                Self::from_response_code(no_records.response_code)
            }
            NetError::Dns(DnsError::ResponseCode(code)) => Self::from_response_code(code),
            NetError::Timeout => Self::Timeout,
            NetError::Io(io) => Self::Other(format!("cannot reach the name server: {io}")),
            NetError::NoConnections => {
                Self::Other("no connection to any name server could be made".into())
            }
            other => Self::Other(other.to_string()),
        }
    }

    /// Whether the answer says something about the name (as opposed to the server not answering).
    fn is_negative_answer(&self) -> bool {
        matches!(self, Self::NxDomain | Self::NoRecords)
    }
}

/// A DNS client for the check; cheap to clone and safe to share between tasks.
#[derive(Clone)]
pub struct Resolver {
    inner: TokioResolver,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver").finish_non_exhaustive()
    }
}

impl Resolver {
    /// Builds a resolver; fails only when no name servers are given and the system's
    /// configuration cannot be read.
    pub fn new(opts: &ResolverOptions) -> Result<Self, LookupError> {
        let mut builder = if opts.nameservers.is_empty() {
            TokioResolver::builder_tokio().map_err(|e| {
                LookupError::Other(format!(
                    "cannot read the system's resolver configuration: {e}"
                ))
            })?
        } else {
            let servers = opts
                .nameservers
                .iter()
                .map(|addr| {
                    let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                    for connection in &mut server.connections {
                        connection.port = addr.port();
                    }
                    server
                })
                .collect();
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(servers),
                TokioRuntimeProvider::default(),
            )
        };
        let options = builder.options_mut();
        options.timeout = opts.timeout;
        // hickory's `attempts` counts retries after the first send; ours counts sends, as
        // resolv.conf's `attempts` does.
        options.attempts = opts.attempts.max(1) - 1;
        // A check must see what the servers serve now: a zero-sized cache stores nothing.
        options.cache_size = 0;
        // hickory clamps answer TTLs to one day by default; the check compares TTLs as served.
        options.positive_max_ttl = Some(Duration::from_secs(u64::from(u32::MAX)));
        options.use_hosts_file = ResolveHosts::Never;
        let inner = builder
            .build()
            .map_err(|e| LookupError::Other(format!("cannot build the resolver: {e}")))?;
        Ok(Self { inner })
    }

    /// The SRV records at `owner` (e.g. `_sip._udp.pbxa.example.com`), in the order received.
    pub async fn srv(&self, owner: &str) -> Result<Vec<SrvAnswer>, LookupError> {
        let name = absolute_name(owner)?;
        let lookup = self.query(&name, RecordType::SRV).await?;
        let answers: Vec<SrvAnswer> = lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::SRV(srv) => Some(SrvAnswer {
                    ttl: record.ttl,
                    priority: srv.priority,
                    weight: srv.weight,
                    port: srv.port,
                    target: display_name(&srv.target),
                }),
                _ => None,
            })
            .collect();
        if answers.is_empty() {
            return Err(LookupError::NoRecords);
        }
        Ok(answers)
    }

    /// The A and AAAA addresses of `host`, asked as two separate queries, and the name it is an
    /// alias of, if it is one.
    ///
    /// `Ok` always carries at least one address or a `cname`. When neither type has records the
    /// answer is `Err(NxDomain)` if either query said the name does not exist, else
    /// `Err(NoRecords)`. A server failure or timeout on either query is returned as that error:
    /// half an answer is not a reliable one.
    pub async fn addresses(&self, host: &str) -> Result<HostAnswer, LookupError> {
        let name = absolute_name(host)?;
        let (v4_lookup, v6_lookup) = tokio::join!(
            self.query(&name, RecordType::A),
            self.query(&name, RecordType::AAAA)
        );

        for result in [&v4_lookup, &v6_lookup] {
            if let Err(error) = result
                && !error.is_negative_answer()
            {
                return Err(error.clone());
            }
        }

        let mut answer = HostAnswer {
            v4: Vec::new(),
            v6: Vec::new(),
            cname: None,
        };
        if let Ok(lookup) = &v4_lookup {
            answer.v4 = lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::A(a) => Some(a.0),
                    _ => None,
                })
                .collect();
            answer.cname = alias_target(&name, lookup.answers());
        }
        if let Ok(lookup) = &v6_lookup {
            answer.v6 = lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::AAAA(aaaa) => Some(aaaa.0),
                    _ => None,
                })
                .collect();
            if answer.cname.is_none() {
                answer.cname = alias_target(&name, lookup.answers());
            }
        }
        if !answer.v4.is_empty() || !answer.v6.is_empty() || answer.cname.is_some() {
            return Ok(answer);
        }

        // Neither type resolved. hickory follows a CNAME on its own and then reports the failure
        // for the name at the end of the chain, so ask for the CNAME itself: an alias whose chain
        // leads nowhere is still an alias the check must name.
        if let Ok(lookup) = self.query(&name, RecordType::CNAME).await
            && let Some(target) = alias_target(&name, lookup.answers())
        {
            answer.cname = Some(target);
            return Ok(answer);
        }

        match (v4_lookup, v6_lookup) {
            (Err(LookupError::NxDomain), _) | (_, Err(LookupError::NxDomain)) => {
                Err(LookupError::NxDomain)
            }
            _ => Err(LookupError::NoRecords),
        }
    }

    async fn query(&self, name: &Name, record_type: RecordType) -> Result<Lookup, LookupError> {
        self.inner
            .lookup(name.clone(), record_type)
            .await
            .map_err(LookupError::from_net)
    }
}

/// Parses `name` as an absolute domain name: with or without the trailing dot, it is never
/// completed with a search domain.
fn absolute_name(name: &str) -> Result<Name, LookupError> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed == "." {
        return Err(LookupError::Other(
            "an empty domain name cannot be looked up".into(),
        ));
    }
    let mut parsed = Name::from_ascii(trimmed)
        .map_err(|e| LookupError::Other(format!("{trimmed:?} is not a valid domain name: {e}")))?;
    parsed.set_fqdn(true);
    Ok(parsed)
}

/// Lower-case, without the trailing dot; the root stays ".".
fn display_name(name: &Name) -> String {
    if name.is_root() {
        return ".".into();
    }
    let ascii = name.to_lowercase().to_ascii();
    ascii.strip_suffix('.').unwrap_or(&ascii).to_string()
}

/// The CNAME target when the first answer record for `name` is a CNAME.
fn alias_target(name: &Name, answers: &[Record]) -> Option<String> {
    let first = answers
        .iter()
        .find(|record| record.name.eq_ignore_root(name))?;
    match &first.data {
        RData::CNAME(cname) => Some(display_name(&cname.0)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_absolute_with_or_without_the_trailing_dot() {
        let plain = absolute_name("_sip._udp.pbxa.example.com").expect("valid name");
        let dotted = absolute_name("_sip._udp.pbxa.example.com.").expect("valid name");
        assert!(plain.is_fqdn());
        assert_eq!(plain, dotted);
        assert_eq!(plain.to_ascii(), "_sip._udp.pbxa.example.com.");
    }

    #[test]
    fn unusable_names_are_errors_not_panics() {
        for bad in ["", " ", ".", "a..b", &"x".repeat(64)] {
            assert!(
                matches!(absolute_name(bad), Err(LookupError::Other(_))),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn targets_are_lower_case_without_the_trailing_dot() {
        let name = Name::from_ascii("VoIP1.Example.COM.").expect("valid name");
        assert_eq!(display_name(&name), "voip1.example.com");
        assert_eq!(display_name(&Name::root()), ".");
    }

    #[test]
    fn response_codes_keep_their_meaning() {
        assert_eq!(
            LookupError::from_response_code(ResponseCode::NXDomain),
            LookupError::NxDomain
        );
        assert_eq!(
            LookupError::from_response_code(ResponseCode::NoError),
            LookupError::NoRecords
        );
        assert_eq!(
            LookupError::from_response_code(ResponseCode::ServFail),
            LookupError::ServFail
        );
        assert_eq!(
            LookupError::from_response_code(ResponseCode::Refused),
            LookupError::Refused
        );
        assert!(matches!(
            LookupError::from_response_code(ResponseCode::NotImp),
            LookupError::Other(_)
        ));
        assert_eq!(
            LookupError::from_net(NetError::Timeout),
            LookupError::Timeout
        );
    }

    #[test]
    fn errors_read_as_sentences() {
        assert!(LookupError::NxDomain.to_string().contains("NXDOMAIN"));
        assert!(LookupError::Timeout.to_string().contains("timeout"));
        assert_eq!(
            serde_json::to_string(&LookupError::ServFail).expect("serializes"),
            r#"{"kind":"serv_fail"}"#
        );
    }
}
