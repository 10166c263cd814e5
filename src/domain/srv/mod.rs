//! SRV share engine and pool lint.
//!
//! This module owns the exact answer to "which server does a phone of this pool register
//! with?" for one SRV pool (RFC 2782 priority and weight), given which servers are down and how
//! literally the phones follow the RFC (the [`ClientModel`]), and the pool lint that flags pool
//! shapes the source document warns about. Everything here is pure arithmetic: no I/O, no
//! randomness, no sampling.
//!
//! Layout: this file holds the record and share types and [`srv_shares`], the entry point that
//! picks the priority level phones use; `weighted` and `rfc2782` compute the split within that
//! level for each [`ClientModel`]; `lint` holds [`pool_lint`] and [`Severity`]. Everything here may
//! import only `crate::domain` siblings, std and pure crates (serde); no web framework, database or
//! async runtime crates.

mod lint;
mod request;
mod rfc2782;
#[cfg(test)]
mod tests;
mod weighted;

pub use lint::{PoolLint, Severity, pool_lint, whole_tenant_chance};
pub use request::{MAX_RECORDS, RecordIn, SharesRequest, ValidSharesRequest};
pub use rfc2782::MAX_RFC2782_STATES;

use rfc2782::rfc2782_level;
use weighted::weighted_level;

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// One SRV resource record of a pool: `_sip._udp.pbxa.example.com. 86400 IN SRV 10 60 5060 bigbox.example.com.`
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

impl SrvRecord {
    pub fn new(priority: u16, weight: u16, port: u16, target: impl Into<String>) -> Self {
        Self {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }
}

/// How literally phones follow RFC 2782 when they pick a target within one priority.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ClientModel {
    /// Among the available targets of the first reachable priority, weight w gets w/Σw; weight-0
    /// targets only when no weighted one is available. Reproduces the source document's figures.
    #[default]
    Weighted,
    /// The RFC's integer algorithm taken literally (R uniform in [0, T] inclusive, zero weights
    /// placed first), failures handled by the ordering process itself.
    Rfc2782,
}

impl ClientModel {
    /// Every model, in the order a picker should list them.
    pub const ALL: [ClientModel; 2] = [ClientModel::Weighted, ClientModel::Rfc2782];

    pub fn as_str(self) -> &'static str {
        match self {
            ClientModel::Weighted => "weighted",
            ClientModel::Rfc2782 => "rfc2782",
        }
    }
}

impl fmt::Display for ClientModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A client model name that is neither `weighted` nor `rfc2782`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseClientModelError {
    pub input: String,
}

impl fmt::Display for ParseClientModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown client model `{}`: expected `weighted` or `rfc2782`",
            self.input
        )
    }
}

impl std::error::Error for ParseClientModelError {}

impl FromStr for ClientModel {
    type Err = ParseClientModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        ClientModel::ALL
            .into_iter()
            .find(|model| model.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| ParseClientModelError {
                input: s.to_string(),
            })
    }
}

/// The share of one SRV record (a target host and port): the probability that a phone of the
/// pool registers there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetShare {
    pub target: String,
    pub port: u16,
    pub priority: u16,
    pub weight: u16,
    pub share: f64,
}

/// The share of one server (a target host), summed over all its records (ports).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerShare {
    /// The host as spelled in its first record.
    pub target: String,
    pub share: f64,
}

/// Where the phones of one pool go in one failure scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shares {
    /// One per input record, in input order.
    pub targets: Vec<TargetShare>,
    /// One per distinct target host, in order of first appearance.
    pub servers: Vec<ServerShare>,
    /// Probability that a phone finds no available target at all.
    pub unreachable: f64,
    /// False only when an `rfc2782` level had too many down records of too many distinct weights
    /// for the exact computation (see [`MAX_RFC2782_STATES`]) and an approximation was used.
    pub exact: bool,
}

impl Shares {
    /// The share of the server `target` (compared as DNS names are: case-insensitively, with or
    /// without the trailing dot); 0 for a host that is not in the pool.
    pub fn server_share(&self, target: &str) -> f64 {
        self.servers
            .iter()
            .filter(|server| same_host(&server.target, target))
            .map(|server| server.share)
            .sum()
    }
}

/// Whether two SRV targets name the same host: DNS names compare without regard to ASCII case
/// (RFC 4343), and an absolute name's trailing dot is not part of the host.
pub fn same_host(a: &str, b: &str) -> bool {
    bare_host(a).eq_ignore_ascii_case(bare_host(b))
}

fn bare_host(target: &str) -> &str {
    let trimmed = target.trim();
    trimmed.strip_suffix('.').unwrap_or(trimmed)
}

fn host_key(target: &str) -> String {
    bare_host(target).to_ascii_lowercase()
}

/// Exact shares of every record and server of a pool when the servers named in `down` are
/// unavailable (every record of a down host is), under the given client model.
///
/// A record whose target is `.` is never available: RFC 2782 says such a target means "the
/// service is decidedly not available at this domain".
pub fn srv_shares(records: &[SrvRecord], down: &[&str], model: ClientModel) -> Shares {
    let keys: Vec<String> = records.iter().map(|r| host_key(&r.target)).collect();
    let down_keys: Vec<String> = down.iter().map(|name| host_key(name)).collect();
    let available: Vec<bool> = keys
        .iter()
        .map(|key| !key.is_empty() && !down_keys.iter().any(|d| d == key))
        .collect();

    let mut share = vec![0.0; records.len()];
    let mut unreachable = 1.0;
    let mut exact = true;

    // RFC 2782: "A client MUST attempt to contact the target host with the lowest-numbered
    // priority it can reach"; a later priority gets phones only when the whole earlier one failed.
    let mut by_priority: Vec<usize> = (0..records.len()).collect();
    by_priority.sort_by_key(|&i| records[i].priority);
    for level in by_priority.chunk_by(|&a, &b| records[a].priority == records[b].priority) {
        if !level.iter().any(|&i| available[i]) {
            continue;
        }
        match model {
            ClientModel::Weighted => weighted_level(records, level, &available, &mut share),
            ClientModel::Rfc2782 => {
                exact = rfc2782_level(records, level, &available, &mut share, MAX_RFC2782_STATES);
            }
        }
        unreachable = 0.0;
        break;
    }

    let targets = records
        .iter()
        .zip(&share)
        .map(|(record, &share)| TargetShare {
            target: record.target.clone(),
            port: record.port,
            priority: record.priority,
            weight: record.weight,
            share,
        })
        .collect();

    let mut servers: Vec<ServerShare> = Vec::new();
    let mut server_of: HashMap<&str, usize> = HashMap::with_capacity(records.len());
    for ((record, key), &share) in records.iter().zip(&keys).zip(&share) {
        let index = *server_of.entry(key.as_str()).or_insert_with(|| {
            servers.push(ServerShare {
                target: record.target.clone(),
                share: 0.0,
            });
            servers.len() - 1
        });
        servers[index].share += share;
    }
    for server in &mut servers {
        server.share = server.share.min(1.0);
    }

    Shares {
        targets,
        servers,
        unreachable,
        exact,
    }
}
