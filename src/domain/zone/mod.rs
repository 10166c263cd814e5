//! SRV zone export and import: the records pbx-pools publishes for its pools, rendered for BIND
//! master files, `nsupdate` scripts, JSON, octoDNS YAML and DNSControl; and the way back, reading
//! a BIND zone file (or pasted SRV lines) and proposing the servers and pools it describes.
//!
//! Every name is validated again here, right before it is written out or after it is read in:
//! a value that is not an LDH host name never reaches the output, so no format needs escaping.
//! The only underscores in any output are the `_sip._udp`, `_sip._tcp` and `_sips._tcp` labels
//! this module adds itself.
//!
//! Import uses its own parser of the BIND master-file subset that zone files of SRV pools use
//! (`$ORIGIN`, `$TTL`, `@`, relative names, owner continuation, parentheses, comments, quoted
//! strings, TTL units). hickory-proto's zone parser is used by the tests as an independent
//! reader of the export, but not for import: its errors carry no line numbers, it stops at the
//! first record type it cannot parse instead of skipping it, it keeps records in a map (losing
//! order and duplicates), and it follows `$INCLUDE` to files on the server's own disk.
//!
//! Layout: this file holds the shared types ([`ZonePool`], [`ZoneRecord`], [`ZoneError`], the
//! export format and options) and small checks; `export` renders the records in each format,
//! `parse` reads zone text back into records, and `import` proposes the servers and pools those
//! records describe. Everything here may import only `crate::domain` siblings, std and pure crates
//! (serde, serde_json); no web framework, database or async runtime crates.

mod export;
mod import;
mod parse;
#[cfg(test)]
mod tests;

pub use export::{render, zone_records};
pub use import::{ImportProposal, ProposedPool, ProposedServer, propose_import};
pub use parse::{ParsedZone, parse_zone, parse_zone_file};

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::names::{HostName, PoolName};

/// RFC 2181 §8: a TTL is an unsigned 32-bit number whose top bit must be zero.
pub const MAX_TTL: u32 = 2_147_483_647;

pub use crate::domain::model::Transport;

/// One SRV target of a pool: what becomes the RDATA of one record per published transport.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ZoneMember {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// Canonical FQDN, no trailing dot.
    pub target: HostName,
}

/// A pool as the export sees it: the owner name and TTL it is published under, and its members
/// with their effective ports (server port or the member's override).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZonePool {
    /// Short pool name, e.g. `pbxA`; appears only in comments.
    pub name: PoolName,
    /// FQDN the transports' service labels are put in front of, e.g. `pbxa.example.com`.
    pub owner: HostName,
    pub ttl: u32,
    pub transports: Vec<Transport>,
    /// Transports the pool has but this export leaves out (not ticked); only named in the
    /// comment that says why a pool publishes nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<Transport>,
    pub members: Vec<ZoneMember>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Bind,
    Nsupdate,
    Json,
    Octodns,
    Dnscontrol,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 5] = [
        Self::Bind,
        Self::Nsupdate,
        Self::Json,
        Self::Octodns,
        Self::Dnscontrol,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bind => "bind",
            Self::Nsupdate => "nsupdate",
            Self::Json => "json",
            Self::Octodns => "octodns",
            Self::Dnscontrol => "dnscontrol",
        }
    }

    /// Extension for a downloaded file (without the dot). octoDNS expects `<zone>.yaml`.
    pub fn file_extension(self) -> &'static str {
        match self {
            Self::Bind => "zone",
            Self::Nsupdate => "nsupdate",
            Self::Json => "json",
            Self::Octodns => "yaml",
            Self::Dnscontrol => "js",
        }
    }

    /// Media type of the rendered text: `text/dns` is RFC 4027's type for master files,
    /// `application/yaml` is RFC 9512, `text/javascript` RFC 9239. All output is ASCII.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Bind => "text/dns",
            Self::Nsupdate => "text/plain; charset=utf-8",
            Self::Json => "application/json",
            Self::Octodns => "application/yaml",
            Self::Dnscontrol => "text/javascript; charset=utf-8",
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown export format {}: use bind, nsupdate, json, octodns or dnscontrol",
                    shown(s)
                )
            })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportOptions {
    /// The zone the records go into, e.g. `example.com`. When given, BIND output starts with
    /// `$ORIGIN` and uses names relative to it, nsupdate gets a `zone` line, and every pool's
    /// owner must lie inside it. Required by octoDNS and DNSControl, whose files are per zone.
    pub origin: Option<String>,
    /// Checked, but not written: the export is a snippet pasted into an admin's zone, where a
    /// `$TTL` line would change the TTL of every record after it. Every record carries its own
    /// TTL explicitly.
    pub default_ttl: Option<u32>,
    /// `HOST` or `HOST PORT` for nsupdate's `server` line (a host name or an IP address).
    pub nsupdate_server: Option<String>,
    /// Name of the TSIG key nsupdate should sign with. Only named in a comment: nsupdate's own
    /// `key` command needs the secret too, and secrets never go into an export.
    pub tsig_key_name: Option<String>,
}

/// One SRV resource record.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
pub struct ZoneRecord {
    /// Absolute, lower case, no trailing dot, e.g. `_sip._udp.pbxa.example.com`.
    pub owner: String,
    pub ttl: u32,
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// Absolute, lower case, no trailing dot.
    pub target: String,
}

/// Why an export or import was refused; `line` is the 1-based line of the zone text, when the
/// problem is in one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneError {
    pub line: Option<usize>,
    pub reason: String,
}

impl ZoneError {
    fn new(reason: impl Into<String>) -> Self {
        Self {
            line: None,
            reason: reason.into(),
        }
    }

    fn at(line: usize, reason: impl Into<String>) -> Self {
        Self {
            line: Some(line),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for ZoneError {}

/// Quotes a user-supplied value for an error message: escaped (so a newline shows as `\n`) and
/// cut short, so a hostile value can neither break the message nor flood it.
fn shown(value: &str) -> String {
    const MAX: usize = 60;
    if value.chars().count() <= MAX {
        format!("{value:?}")
    } else {
        let cut: String = value.chars().take(MAX).collect();
        format!("{cut:?}…")
    }
}

fn check_ttl(ttl: u32) -> Result<u32, String> {
    if (1..=MAX_TTL).contains(&ttl) {
        Ok(ttl)
    } else {
        Err(format!(
            "TTL {ttl} is outside 1–{MAX_TTL} seconds (RFC 2181 §8)"
        ))
    }
}
