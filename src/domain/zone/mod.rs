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

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::names::{MAX_LABEL_LEN, MAX_NAME_LEN, check_short_name, normalise_fqdn};

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
    pub target: String,
}

/// A pool as the export sees it: the owner name and TTL it is published under, and its members
/// with their effective ports (server port or the member's override).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZonePool {
    /// Short pool name, e.g. `pbxA`; appears only in comments.
    pub name: String,
    /// FQDN the transports' service labels are put in front of, e.g. `pbxa.example.com`.
    pub owner: String,
    pub ttl: u32,
    pub transports: Vec<Transport>,
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
    /// Emitted as `$TTL` in BIND output; every record still carries its own TTL explicitly.
    pub default_ttl: Option<u32>,
    /// `HOST` or `HOST PORT` for nsupdate's `server` line (a host name or an IP address).
    pub nsupdate_server: Option<String>,
    /// Name of the TSIG key nsupdate should sign with. Only named in a comment: nsupdate's own
    /// `key` command needs the secret too, and secrets never go into an export.
    pub tsig_key_name: Option<String>,
}

/// One SRV resource record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

/// A pool after validation: canonical names, transports in export order, members sorted.
struct CheckedPool {
    name: String,
    owner: String,
    ttl: u32,
    transports: Vec<Transport>,
    members: Vec<ZoneMember>,
}

impl CheckedPool {
    fn owners(&self) -> impl Iterator<Item = (Transport, String)> + '_ {
        self.transports
            .iter()
            .map(|t| (*t, format!("{}.{}", t.service_prefix(), self.owner)))
    }

    fn is_empty(&self) -> bool {
        self.transports.is_empty() || self.members.is_empty()
    }

    fn records(&self) -> impl Iterator<Item = ZoneRecord> + '_ {
        self.owners().flat_map(move |(_, owner)| {
            self.members.iter().map(move |m| ZoneRecord {
                owner: owner.clone(),
                ttl: self.ttl,
                priority: m.priority,
                weight: m.weight,
                port: m.port,
                target: m.target.clone(),
            })
        })
    }
}

/// The order members are exported in: as RFC 2782 clients consider them, lowest priority first,
/// then the heaviest weight first, then target and port so that ties are stable. It reproduces
/// the source document's listing (bigbox 60, smallbox1 20, smallbox2 10 on 5060 then 5066).
fn member_order(a: &ZoneMember, b: &ZoneMember) -> Ordering {
    a.priority
        .cmp(&b.priority)
        .then(b.weight.cmp(&a.weight))
        .then_with(|| a.target.cmp(&b.target))
        .then(a.port.cmp(&b.port))
}

fn check_pools(pools: &[ZonePool]) -> Result<Vec<CheckedPool>, ZoneError> {
    let mut checked: Vec<CheckedPool> = Vec::with_capacity(pools.len());
    let mut owners: HashMap<String, usize> = HashMap::with_capacity(pools.len());
    for (index, pool) in pools.iter().enumerate() {
        let name = check_short_name(&pool.name).map_err(|e| {
            ZoneError::new(format!(
                "pool #{}: name {} {e}",
                index + 1,
                shown(&pool.name)
            ))
        })?;
        let field = |what: &str, e: String| ZoneError::new(format!("pool {name}: {what} {e}"));
        let owner = normalise_fqdn(&pool.owner)
            .map_err(|e| field(&format!("owner {}", shown(&pool.owner)), e))?;
        let ttl = check_ttl(pool.ttl).map_err(|e| ZoneError::new(format!("pool {name}: {e}")))?;
        let mut transports = pool.transports.clone();
        transports.sort();
        transports.dedup();
        for transport in &transports {
            let len = transport.service_prefix().len() + 1 + owner.len();
            if len > MAX_NAME_LEN {
                return Err(field(
                    &format!("owner {owner}"),
                    format!(
                        "is too long for {}: the SRV owner name would be {len} characters, over {MAX_NAME_LEN}",
                        transport.service_prefix()
                    ),
                ));
            }
        }
        let mut members = Vec::with_capacity(pool.members.len());
        for (i, member) in pool.members.iter().enumerate() {
            let target = normalise_fqdn(&member.target).map_err(|e| {
                field(
                    &format!("member {} target {}", i + 1, shown(&member.target)),
                    e,
                )
            })?;
            if member.port == 0 {
                return Err(field(
                    &format!("member {} ({target}) port 0", i + 1),
                    "is not a port: use 1–65535".into(),
                ));
            }
            members.push(ZoneMember {
                target,
                ..member.clone()
            });
        }
        members.sort_by(member_order);
        if let Some(pair) = members.windows(2).find(|w| w[0] == w[1]) {
            // RFC 2181 §5: an RRset holds each record once; a second copy would silently vanish.
            let m = &pair[0];
            return Err(field(
                "member",
                format!(
                    "{} port {} priority {} weight {} is listed twice",
                    m.target, m.port, m.priority, m.weight
                ),
            ));
        }
        if let Some(other) = owners.get(&owner).and_then(|i| checked.get(*i)) {
            // Two pools on one owner would merge into one RRset, and nsupdate's delete for the
            // second would wipe the first.
            return Err(ZoneError::new(format!(
                "pools {} and {name} are both published at {owner}",
                other.name
            )));
        }
        owners.insert(owner.clone(), checked.len());
        checked.push(CheckedPool {
            name,
            owner,
            ttl,
            transports,
            members,
        });
    }
    Ok(checked)
}

/// The SRV records of `pools`: one per (pool, transport, member), every name re-validated.
///
/// Order: pools as given; within a pool the transports udp, tcp, tls (duplicates dropped); within
/// a transport the members by priority ascending, weight descending, then target and port
/// ascending. A pool without members or transports yields no records.
pub fn zone_records(pools: &[ZonePool]) -> Result<Vec<ZoneRecord>, ZoneError> {
    Ok(check_pools(pools)?
        .iter()
        .flat_map(CheckedPool::records)
        .collect())
}

struct CheckedOptions {
    origin: Option<String>,
    default_ttl: Option<u32>,
    /// The complete `server` line.
    server_line: Option<String>,
    tsig_key_name: Option<String>,
}

fn check_options(opts: &ExportOptions) -> Result<CheckedOptions, ZoneError> {
    let origin = opts
        .origin
        .as_deref()
        .map(|o| {
            normalise_fqdn(o).map_err(|e| ZoneError::new(format!("zone origin {} {e}", shown(o))))
        })
        .transpose()?;
    let default_ttl = opts
        .default_ttl
        .map(|t| check_ttl(t).map_err(|e| ZoneError::new(format!("default {e}"))))
        .transpose()?;
    let server_line = opts
        .nsupdate_server
        .as_deref()
        .map(check_nsupdate_server)
        .transpose()?;
    let tsig_key_name = opts
        .tsig_key_name
        .as_deref()
        .map(check_tsig_key_name)
        .transpose()?;
    Ok(CheckedOptions {
        origin,
        default_ttl,
        server_line,
        tsig_key_name,
    })
}

/// nsupdate's `server servername [port]`: a host name or an IP address, optionally a port.
fn check_nsupdate_server(value: &str) -> Result<String, ZoneError> {
    let refuse = |why: &str| {
        ZoneError::new(format!(
            "nsupdate server {} {why}: give a host name or IP address, optionally followed by a port",
            shown(value)
        ))
    };
    if value.chars().any(|c| c.is_control()) {
        return Err(refuse("contains control characters"));
    }
    let parts: Vec<&str> = value.split_ascii_whitespace().collect();
    let (host, port) = match parts.as_slice() {
        [host] => (*host, None),
        [host, port] => (*host, Some(*port)),
        _ => return Err(refuse("is not of the form HOST [PORT]")),
    };
    let host = match host.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => normalise_fqdn(host).map_err(|e| refuse(&e))?,
    };
    match port {
        None => Ok(format!("server {host}")),
        Some(port) => {
            let port = parse_decimal(port)
                .filter(|p| (1..=65_535).contains(p))
                .ok_or_else(|| refuse("has a port outside 1–65535"))?;
            Ok(format!("server {host} {port}"))
        }
    }
}

/// TSIG key names are domain names (RFC 8945 §4.2); key generators commonly put underscores
/// or hyphens in them, so labels of letters, digits, `-` and `_` are accepted.
fn check_tsig_key_name(value: &str) -> Result<String, ZoneError> {
    let refuse = |why: &str| ZoneError::new(format!("TSIG key name {} {why}", shown(value)));
    let name = value.strip_suffix('.').unwrap_or(value);
    if name.is_empty() {
        return Err(refuse("is empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(refuse("is longer than a domain name may be"));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err(refuse("has an empty or over-long label"));
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(refuse(
                "may only contain letters, digits, '-', '_' and dots",
            ));
        }
    }
    Ok(name.to_string())
}

/// A name as written in a zone file: relative to `origin` when it lies inside it (`@` for the
/// origin itself), absolute with a trailing dot otherwise.
fn zone_name(name: &str, origin: Option<&str>) -> String {
    match origin {
        Some(origin) if name == origin => "@".to_string(),
        Some(origin) => match name
            .strip_suffix(origin)
            .and_then(|head| head.strip_suffix('.'))
        {
            Some(relative) if !relative.is_empty() => relative.to_string(),
            _ => format!("{name}."),
        },
        None => format!("{name}."),
    }
}

fn require_inside_origin(pools: &[CheckedPool], origin: &str) -> Result<(), ZoneError> {
    for pool in pools.iter().filter(|p| !p.is_empty()) {
        if pool.owner != origin && !pool.owner.ends_with(&format!(".{origin}")) {
            return Err(ZoneError::new(format!(
                "pool {}: owner {} is outside the zone {origin}; export it without an origin or with its own zone",
                pool.name, pool.owner
            )));
        }
    }
    Ok(())
}

fn header(pools: &[CheckedPool]) -> String {
    if pools.is_empty() {
        return "Generated by pbx-pools: no pools selected, no SRV records".to_string();
    }
    let names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
    format!(
        "Generated by pbx-pools: SRV records for pools {}",
        names.join(", ")
    )
}

fn pool_note(pool: &CheckedPool) -> String {
    if pool.members.is_empty() {
        format!(
            "pool {}: {} has no members, nothing published",
            pool.name, pool.owner
        )
    } else if pool.transports.is_empty() {
        format!(
            "pool {}: {} has no transports, nothing published",
            pool.name, pool.owner
        )
    } else {
        format!("pool {}: {}", pool.name, pool.owner)
    }
}

/// Renders the SRV records of `pools` in `format`. Output is deterministic (no timestamps) and
/// ends with a newline; see [`zone_records`] for the record order.
pub fn render(
    pools: &[ZonePool],
    format: ExportFormat,
    opts: &ExportOptions,
) -> Result<String, ZoneError> {
    let pools = check_pools(pools)?;
    let opts = check_options(opts)?;
    if let Some(origin) = &opts.origin {
        require_inside_origin(&pools, origin)?;
    }
    match format {
        ExportFormat::Bind => Ok(render_bind(&pools, &opts)),
        ExportFormat::Nsupdate => Ok(render_nsupdate(&pools, &opts)),
        ExportFormat::Json => render_json(&pools),
        ExportFormat::Octodns => Ok(render_octodns(&pools, zone_origin(&opts, "octoDNS")?)),
        ExportFormat::Dnscontrol => {
            Ok(render_dnscontrol(&pools, zone_origin(&opts, "DNSControl")?))
        }
    }
}

/// octoDNS and DNSControl describe one zone per file with names relative to it. The zone is
/// required rather than guessed from the owners' common suffix: with a single pool that suffix
/// would be the pool's own name, and a wrong zone is worse than a clear question.
fn zone_origin<'a>(opts: &'a CheckedOptions, tool: &str) -> Result<&'a str, ZoneError> {
    opts.origin.as_deref().ok_or_else(|| {
        ZoneError::new(format!(
            "{tool} files describe one zone: give the zone origin (e.g. example.com)"
        ))
    })
}

fn render_bind(pools: &[CheckedPool], opts: &CheckedOptions) -> String {
    let origin = opts.origin.as_deref();
    let mut out = format!("; {}\n", header(pools));
    if let Some(origin) = origin {
        out.push_str(&format!("$ORIGIN {origin}.\n"));
    }
    if let Some(ttl) = opts.default_ttl {
        out.push_str(&format!("$TTL {ttl}\n"));
    }
    for pool in pools {
        out.push_str(&format!("; {}\n", pool_note(pool)));
        for r in pool.records() {
            out.push_str(&format!(
                "{} {} IN SRV {} {} {} {}\n",
                zone_name(&r.owner, origin),
                r.ttl,
                r.priority,
                r.weight,
                r.port,
                zone_name(&r.target, origin)
            ));
        }
    }
    out
}

/// An nsupdate script: per pool, each owner's SRV RRset is deleted and re-added, then `send`
/// submits the pool as one atomic UPDATE (RFC 2136 §3.4), so phones never see it half-done.
/// Names are always absolute. No blank lines: nsupdate treats a blank line as `send`.
fn render_nsupdate(pools: &[CheckedPool], opts: &CheckedOptions) -> String {
    let mut out = format!("; {}\n", header(pools));
    if let Some(key) = &opts.tsig_key_name {
        out.push_str(&format!(
            "; Sign with the TSIG key {key}: nsupdate -k <file holding key {key}> <this file>\n"
        ));
    }
    if let Some(server) = &opts.server_line {
        out.push_str(server);
        out.push('\n');
    }
    if let Some(origin) = &opts.origin {
        out.push_str(&format!("zone {origin}.\n"));
    }
    for pool in pools {
        out.push_str(&format!("; {}\n", pool_note(pool)));
        if pool.is_empty() {
            continue;
        }
        for (_, owner) in pool.owners() {
            out.push_str(&format!("update delete {owner}. IN SRV\n"));
            for m in &pool.members {
                out.push_str(&format!(
                    "update add {owner}. {} IN SRV {} {} {} {}.\n",
                    pool.ttl, m.priority, m.weight, m.port, m.target
                ));
            }
        }
        out.push_str("send\n");
    }
    out
}

fn render_json(pools: &[CheckedPool]) -> Result<String, ZoneError> {
    let records: Vec<ZoneRecord> = pools.iter().flat_map(CheckedPool::records).collect();
    let mut out = serde_json::to_string_pretty(&records)
        .map_err(|e| ZoneError::new(format!("could not write JSON: {e}")))?;
    out.push('\n');
    Ok(out)
}

/// octoDNS's YAML provider refuses a file whose mapping keys are not in `natsort` order
/// (`enforce_order`, on by default), so record names are sorted that way and each mapping's
/// keys are written alphabetically, as octoDNS's own dumper does. Values are LDH names or
/// numbers, so plain scalars need no quoting; a target always holds at least two dots, so YAML
/// cannot read it as a number.
fn render_octodns(pools: &[CheckedPool], origin: &str) -> String {
    let mut names: Vec<(String, &CheckedPool)> = pools
        .iter()
        .filter(|p| !p.is_empty())
        .flat_map(|pool| {
            pool.owners()
                .map(move |(_, owner)| (zone_name(&owner, Some(origin)), pool))
        })
        .collect();
    names.sort_by(|a, b| natural_cmp(&a.0, &b.0));
    let mut out = String::from("---\n");
    out.push_str(&format!("# {} (zone {origin}.)\n", header(pools)));
    for pool in pools.iter().filter(|p| p.is_empty()) {
        out.push_str(&format!("# {}\n", pool_note(pool)));
    }
    if names.is_empty() {
        out.push_str("{}\n");
    }
    for (name, pool) in names {
        out.push_str(&format!(
            "{name}:\n  ttl: {}\n  type: SRV\n  values:\n",
            pool.ttl
        ));
        // octoDNS keeps SRV values sorted by (priority, weight, port, target); writing them in
        // its order makes this file identical to what `octodns-dump` would write back.
        let mut values: Vec<&ZoneMember> = pool.members.iter().collect();
        values.sort_by_key(|m| (m.priority, m.weight, m.port, m.target.as_str()));
        for m in values {
            out.push_str(&format!(
                "  - port: {}\n    priority: {}\n    target: {}.\n    weight: {}\n",
                m.port, m.priority, m.target, m.weight
            ));
        }
    }
    out
}

/// Python `natsort`'s default key: runs of digits compare as numbers, the rest as text, and a
/// name starting with a digit gets an empty text run first so runs always line up.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    fn runs(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        if s.starts_with(|c: char| c.is_ascii_digit()) {
            out.push((false, ""));
        }
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (x, y) = (runs(a), runs(b));
    for (p, q) in x.iter().zip(y.iter()) {
        let order = match (p, q) {
            ((true, m), (true, n)) => {
                let (m, n) = (m.trim_start_matches('0'), n.trim_start_matches('0'));
                m.len().cmp(&n.len()).then_with(|| m.cmp(n))
            }
            ((_, m), (_, n)) => m.cmp(n),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    x.len().cmp(&y.len()).then_with(|| a.cmp(b))
}

/// DNSControl `SRV()` lines to paste into the zone's `D()` block, names relative to the zone,
/// targets absolute with the trailing dot DNSControl wants for names outside the record's label.
fn render_dnscontrol(pools: &[CheckedPool], origin: &str) -> String {
    let mut out = format!("// {}\n", header(pools));
    out.push_str(&format!(
        "// Paste the SRV() lines into the D() block of {origin} in dnsconfig.js:\n"
    ));
    out.push_str(&format!(
        "// D(\"{origin}\", REG_CHANGEME, DnsProvider(DSP_CHANGEME),\n"
    ));
    for pool in pools {
        out.push_str(&format!("  // {}\n", pool_note(pool)));
        for r in pool.records() {
            out.push_str(&format!(
                "  SRV(\"{}\", {}, {}, {}, \"{}.\", TTL({})),\n",
                zone_name(&r.owner, Some(origin)),
                r.priority,
                r.weight,
                r.port,
                r.target,
                r.ttl
            ));
        }
    }
    out.push_str("// );\n");
    out
}

// ---------------------------------------------------------------------------------------------
// Import: reading zone text
// ---------------------------------------------------------------------------------------------

/// What [`parse_zone_file`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedZone {
    /// The `_sip._udp`, `_sip._tcp` and `_sips._tcp` SRV records, in file order.
    pub records: Vec<ZoneRecord>,
    /// Records that were not imported, counted by kind: `A`, `SOA`, `SRV _xmpp._tcp`,
    /// `$GENERATE`, ...
    pub skipped: BTreeMap<String, usize>,
}

impl ParsedZone {
    pub fn skipped_count(&self) -> usize {
        self.skipped.values().sum()
    }
}

/// The SIP SRV records of a BIND zone file or of pasted SRV lines (e.g. `dig` output). Other
/// record types and other services are ignored; [`parse_zone_file`] says how many.
///
/// `origin` is the zone's name, used for relative names until a `$ORIGIN` line changes it.
/// The first malformed SIP SRV record, directive or unbalanced `(`/`"` stops the import with
/// its line number: nothing is half-imported.
pub fn parse_zone(text: &str, origin: Option<&str>) -> Result<Vec<ZoneRecord>, ZoneError> {
    Ok(parse_zone_file(text, origin)?.records)
}

/// [`parse_zone`], also reporting what was skipped.
pub fn parse_zone_file(text: &str, origin: Option<&str>) -> Result<ParsedZone, ZoneError> {
    let origin = origin
        .map(|o| {
            check_origin(o).map_err(|e| ZoneError::new(format!("zone origin {} {e}", shown(o))))
        })
        .transpose()?;
    let mut reader = ZoneReader {
        origin,
        default_ttl: None,
        last_ttl: None,
        last_owner: None,
        parsed: ParsedZone::default(),
    };
    for entry in tokenize(text)? {
        reader.entry(&entry)?;
    }
    Ok(reader.parsed)
}

#[derive(Debug)]
struct Token {
    text: String,
    quoted: bool,
}

/// One logical entry of a master file: a line, or several joined by parentheses.
#[derive(Debug)]
struct Entry {
    line: usize,
    /// RFC 1035 §5.1: an entry that starts in column 0 names its owner; one that starts with
    /// a blank belongs to the previous owner.
    owner_given: bool,
    tokens: Vec<Token>,
}

/// Splits zone text into entries, following RFC 1035 §5.1: `;` comments, `( )` continuation,
/// `"` quoted strings (which may hold `;`, parentheses and newlines), `\` escapes kept as
/// written (a name with one is refused later, an LDH name never needs one).
fn tokenize(text: &str) -> Result<Vec<Entry>, ZoneError> {
    let mut entries = Vec::new();
    let mut current: Option<Entry> = None;
    let mut word = String::new();
    let mut line = 1;
    let mut at_line_start = true;
    let mut depth = 0usize;
    let mut open_line = 0;
    let mut chars = text.chars().peekable();

    fn flush(word: &mut String, current: &mut Option<Entry>) {
        if !word.is_empty()
            && let Some(entry) = current.as_mut()
        {
            entry.tokens.push(Token {
                text: std::mem::take(word),
                quoted: false,
            });
        }
    }
    let start = |current: &mut Option<Entry>, line: usize, at_line_start: bool| {
        if current.is_none() {
            *current = Some(Entry {
                line,
                owner_given: at_line_start,
                tokens: Vec::new(),
            });
        }
    };

    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                flush(&mut word, &mut current);
                if depth == 0
                    && let Some(entry) = current.take()
                    && !entry.tokens.is_empty()
                {
                    entries.push(entry);
                }
                line += 1;
                at_line_start = true;
                continue;
            }
            ';' => {
                flush(&mut word, &mut current);
                while chars.peek().is_some_and(|&n| n != '\n') {
                    chars.next();
                }
            }
            '"' => {
                flush(&mut word, &mut current);
                start(&mut current, line, at_line_start);
                let quote_line = line;
                let mut quoted = String::new();
                let mut closed = false;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => {
                            quoted.push(q);
                            if let Some(escaped) = chars.next() {
                                if escaped == '\n' {
                                    line += 1;
                                }
                                quoted.push(escaped);
                            }
                        }
                        '\n' => {
                            line += 1;
                            quoted.push(q);
                        }
                        _ => quoted.push(q),
                    }
                }
                if !closed {
                    return Err(ZoneError::at(quote_line, "a quoted string is never closed"));
                }
                if let Some(entry) = current.as_mut() {
                    entry.tokens.push(Token {
                        text: quoted,
                        quoted: true,
                    });
                }
            }
            '(' => {
                flush(&mut word, &mut current);
                start(&mut current, line, at_line_start);
                if depth == 0 {
                    open_line = line;
                }
                depth += 1;
            }
            ')' => {
                flush(&mut word, &mut current);
                if depth == 0 {
                    return Err(ZoneError::at(line, "')' without a matching '('"));
                }
                depth -= 1;
            }
            ' ' | '\t' | '\r' => flush(&mut word, &mut current),
            '\\' => {
                start(&mut current, line, at_line_start);
                word.push(c);
                if let Some(escaped) = chars.next() {
                    if escaped == '\n' {
                        line += 1;
                    }
                    word.push(escaped);
                }
            }
            _ => {
                start(&mut current, line, at_line_start);
                word.push(c);
            }
        }
        at_line_start = false;
    }
    flush(&mut word, &mut current);
    if depth > 0 {
        return Err(ZoneError::at(open_line, "'(' is never closed"));
    }
    if let Some(entry) = current
        && !entry.tokens.is_empty()
    {
        entries.push(entry);
    }
    Ok(entries)
}

/// A name as it may appear in `$ORIGIN` or as a zone origin: labels of letters, digits, `-`
/// and `_` (an origin such as `_udp.example.com` is legal), lower-cased, no trailing dot;
/// `.` alone is the root, the empty string.
fn check_origin(value: &str) -> Result<String, String> {
    if value == "." {
        return Ok(String::new());
    }
    let name = value.strip_suffix('.').unwrap_or(value);
    if name.is_empty() {
        return Err("is empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!("is longer than {MAX_NAME_LEN} characters"));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("has an empty label".into());
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(format!(
                "has a label longer than {MAX_LABEL_LEN} characters"
            ));
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err("may only contain letters, digits, '-', '_' and dots".into());
        }
    }
    Ok(name.to_ascii_lowercase())
}

/// BIND's TTL syntax: seconds, or numbers with units s, m, h, d, w (`1h30m`). `None` when it is
/// not one or does not fit in 32 bits.
fn parse_ttl(text: &str) -> Option<u32> {
    if text.is_empty() || !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.chars() {
        if let Some(digit) = c.to_digit(10) {
            let n = number.unwrap_or(0) * 10 + u64::from(digit);
            if n > u64::from(u32::MAX) {
                return None;
            }
            number = Some(n);
        } else {
            let unit = match c.to_ascii_lowercase() {
                's' => 1,
                'm' => 60,
                'h' => 3_600,
                'd' => 86_400,
                'w' => 604_800,
                _ => return None,
            };
            total += number.take()? * unit;
        }
        if total > u64::from(u32::MAX) {
            return None;
        }
    }
    total += number.unwrap_or(0);
    u32::try_from(total).ok()
}

fn parse_decimal(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 9 || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn is_class(token: &str) -> bool {
    let upper = token.to_ascii_uppercase();
    matches!(upper.as_str(), "IN" | "CH" | "CS" | "HS" | "NONE" | "ANY")
        || upper
            .strip_prefix("CLASS")
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// A short, safe label for the `skipped` counts: record types are letters and digits.
fn kind_label(kind: &str) -> String {
    if !kind.is_empty() && kind.len() <= 16 && kind.chars().all(|c| c.is_ascii_alphanumeric()) {
        kind.to_ascii_uppercase()
    } else {
        "other".to_string()
    }
}

struct ZoneReader {
    /// `Some("")` is the root.
    origin: Option<String>,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    /// The owner of the previous record, as written and as resolved (or why it could not be).
    last_owner: Option<(String, Result<String, String>)>,
    parsed: ParsedZone,
}

impl ZoneReader {
    fn skip(&mut self, kind: String) {
        *self.parsed.skipped.entry(kind).or_insert(0) += 1;
    }

    /// Turns a name token into an absolute, lower-case name without trailing dot.
    fn resolve(&self, token: &Token) -> Result<String, String> {
        if token.quoted {
            return Err("is quoted; names are written without quotes".into());
        }
        let text = token.text.as_str();
        if text == "@" {
            return self.origin.clone().ok_or_else(|| {
                "@ stands for the origin, but no $ORIGIN or zone origin is set".into()
            });
        }
        if text == "." {
            return Ok(String::new());
        }
        let name = if let Some(absolute) = text.strip_suffix('.') {
            absolute.to_string()
        } else {
            match self.origin.as_deref() {
                None => {
                    return Err(
                        "is relative, but no $ORIGIN or zone origin is set: end it with a dot or give the zone origin"
                            .into(),
                    );
                }
                Some("") => text.to_string(),
                Some(origin) => format!("{text}.{origin}"),
            }
        };
        Ok(name.to_ascii_lowercase())
    }

    fn entry(&mut self, entry: &Entry) -> Result<(), ZoneError> {
        let line = entry.line;
        let mut tokens = entry.tokens.iter();
        let mut owner_token = None;
        if entry.owner_given {
            let Some(first) = tokens.next() else {
                return Ok(());
            };
            if !first.quoted && first.text.starts_with('$') {
                return self.directive(line, first, tokens.as_slice());
            }
            owner_token = Some(first);
            self.last_owner = Some((first.text.clone(), self.resolve(first)));
        }

        let mut ttl = None;
        let mut class = None;
        let mut kind = None;
        for token in tokens.by_ref() {
            if token.quoted {
                return Err(ZoneError::at(
                    line,
                    format!(
                        "expected a TTL, class or record type, found the quoted {}",
                        shown(&token.text)
                    ),
                ));
            }
            if token.text.starts_with(|c: char| c.is_ascii_digit()) {
                if ttl.is_some() {
                    return Err(ZoneError::at(
                        line,
                        format!(
                            "a second TTL {} where the record type belongs",
                            shown(&token.text)
                        ),
                    ));
                }
                ttl = Some(parse_ttl(&token.text).ok_or_else(|| {
                    ZoneError::at(
                        line,
                        format!("TTL {} is not a number of seconds", shown(&token.text)),
                    )
                })?);
            } else if is_class(&token.text) && class.is_none() {
                class = Some(token.text.to_ascii_uppercase());
            } else {
                kind = Some(token.text.to_ascii_uppercase());
                break;
            }
        }
        let rdata = tokens.as_slice();
        // RFC 1035 §5.1: an omitted TTL is the last one stated; BIND's $TTL takes precedence.
        if let Some(ttl) = ttl {
            self.last_ttl = Some(ttl);
        }
        let ttl = ttl.or(self.default_ttl).or(self.last_ttl);
        let Some(kind) = kind else {
            return Err(ZoneError::at(line, "the record has no type"));
        };
        if kind == "TYPE33" {
            return Err(ZoneError::at(
                line,
                "SRV written as TYPE33 (RFC 3597) is not supported: write it as SRV",
            ));
        }
        if kind != "SRV" {
            self.skip(kind_label(&kind));
            return Ok(());
        }
        if class.as_deref().is_some_and(|c| c != "IN") {
            self.skip(format!(
                "SRV class {}",
                kind_label(class.as_deref().unwrap_or(""))
            ));
            return Ok(());
        }
        if let Some(owner) = owner_token
            && owner.text.chars().all(|c| c.is_ascii_digit())
        {
            return Err(ZoneError::at(
                line,
                format!(
                    "the line starts with {}, which a zone file reads as the owner name; start SRV lines with their owner, e.g. _sip._udp.pbxa.example.com.",
                    owner.text
                ),
            ));
        }
        let record = self.srv(line, ttl, rdata)?;
        if let Some(record) = record {
            self.parsed.records.push(record);
        }
        Ok(())
    }

    fn directive(&mut self, line: usize, name: &Token, args: &[Token]) -> Result<(), ZoneError> {
        let directive = name.text.to_ascii_uppercase();
        let single_arg = || match args {
            [arg] if !arg.quoted => Ok(arg),
            _ => Err(ZoneError::at(
                line,
                format!("{directive} takes exactly one value"),
            )),
        };
        match directive.as_str() {
            "$ORIGIN" => {
                let arg = single_arg()?;
                let name = self
                    .resolve(arg)
                    .and_then(|n| {
                        if n.is_empty() {
                            Ok(n)
                        } else {
                            check_origin(&n)
                        }
                    })
                    .map_err(|e| {
                        ZoneError::at(line, format!("$ORIGIN {} {e}", shown(&arg.text)))
                    })?;
                self.origin = Some(name);
            }
            "$TTL" => {
                let arg = single_arg()?;
                self.default_ttl = Some(parse_ttl(&arg.text).ok_or_else(|| {
                    ZoneError::at(
                        line,
                        format!("$TTL {} is not a number of seconds", shown(&arg.text)),
                    )
                })?);
            }
            "$INCLUDE" => {
                // Following it would read a file from the server's own disk.
                return Err(ZoneError::at(
                    line,
                    "$INCLUDE is not followed: paste the included file's records in its place",
                ));
            }
            "$GENERATE" => {
                if args.iter().any(|a| a.text.eq_ignore_ascii_case("SRV")) {
                    return Err(ZoneError::at(
                        line,
                        "$GENERATE of SRV records is not supported: write the records out",
                    ));
                }
                self.skip("$GENERATE".into());
            }
            _ => {
                return Err(ZoneError::at(
                    line,
                    format!("unknown directive {}", shown(&name.text)),
                ));
            }
        }
        Ok(())
    }

    /// An SRV record's owner and RDATA; `None` when it is a service other than SIP.
    fn srv(
        &mut self,
        line: usize,
        ttl: Option<u32>,
        rdata: &[Token],
    ) -> Result<Option<ZoneRecord>, ZoneError> {
        let err = |reason: String| ZoneError::at(line, reason);
        let (written, owner) = self.last_owner.clone().ok_or_else(|| {
            err("the SRV record has no owner name on its line or before it".into())
        })?;
        let owner = owner.map_err(|e| err(format!("owner {} {e}", shown(&written))))?;
        let Some((transport, pool_owner)) = Transport::split_owner(&owner) else {
            let service: Vec<&str> = owner.split('.').take(2).collect();
            let service = service.join(".");
            let kind = if service.starts_with('_')
                && service
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                && service.len() <= 40
            {
                format!("SRV {service}")
            } else {
                "SRV other".to_string()
            };
            self.skip(kind);
            return Ok(None);
        };
        let pool_owner = normalise_fqdn(pool_owner).map_err(|e| {
            err(format!(
                "owner {}: the name after {} {e}",
                shown(&written),
                transport.service_prefix()
            ))
        })?;
        let owner = format!("{}.{pool_owner}", transport.service_prefix());
        if owner.len() > MAX_NAME_LEN {
            return Err(err(format!(
                "owner {} is longer than {MAX_NAME_LEN} characters",
                shown(&written)
            )));
        }
        let ttl = ttl.ok_or_else(|| {
            err("the SRV record has no TTL: give one on the line or set $TTL".into())
        })?;
        let ttl = check_ttl(ttl).map_err(err)?;
        let [priority, weight, port, target] = rdata else {
            return Err(err(format!(
                "an SRV record needs priority, weight, port and target; found {} value{}",
                rdata.len(),
                if rdata.len() == 1 { "" } else { "s" }
            )));
        };
        let field = |token: &Token, what: &str, min: u32| -> Result<u16, ZoneError> {
            parse_decimal(&token.text)
                .filter(|n| !token.quoted && (min..=65_535).contains(n))
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| {
                    err(format!(
                        "{what} {} is not a number from {min} to 65535",
                        shown(&token.text)
                    ))
                })
        };
        let priority = field(priority, "priority", 0)?;
        let weight = field(weight, "weight", 0)?;
        let port = field(port, "port", 1)?;
        let target_name = self
            .resolve(target)
            .map_err(|e| err(format!("target {} {e}", shown(&target.text))))?;
        if target_name.is_empty() {
            return Err(err(
                "target \".\" says the service is decidedly not available (RFC 2782); there is no server to import"
                    .into(),
            ));
        }
        let target = normalise_fqdn(&target_name)
            .map_err(|e| err(format!("target {} {e}", shown(&target.text))))?;
        Ok(Some(ZoneRecord {
            owner,
            ttl,
            priority,
            weight,
            port,
            target,
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// Import: proposing servers and pools
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposedServer {
    /// First label of the host, made unique with `-2`, `-3`, ... when hosts share it.
    pub name: String,
    pub host: String,
    /// The port most of its records use (the lowest on a tie); other ports become member
    /// overrides.
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposedPool {
    /// First label of the owner (DNS keeps no case, so `pbxA` comes back as `pbxa`).
    pub name: String,
    pub owner: String,
    pub ttl: u32,
    pub transports: Vec<Transport>,
    /// In export order; `target` matches a [`ProposedServer::host`].
    pub members: Vec<ZoneMember>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportProposal {
    pub servers: Vec<ProposedServer>,
    pub pools: Vec<ProposedPool>,
    pub warnings: Vec<String>,
}

/// Hands out unique short names (compared without case): a clash gets `-2`, `-3`, ..., the
/// base shortened so the result stays a valid short name. Remembers the next suffix per base so
/// that thousands of hosts sharing a first label cost no more than distinct ones.
#[derive(Default)]
struct UniqueNames {
    taken: HashSet<String>,
    next_suffix: HashMap<String, usize>,
}

impl UniqueNames {
    fn claim(&mut self, base: &str) -> String {
        let key = base.to_ascii_lowercase();
        let mut name = base.to_string();
        if self.taken.contains(&key) {
            let mut i = self.next_suffix.get(&key).copied().unwrap_or(2);
            loop {
                let suffix = format!("-{i}");
                let keep: String = base.chars().take(MAX_LABEL_LEN - suffix.len()).collect();
                name = format!("{}{suffix}", keep.trim_end_matches('-'));
                i += 1;
                if !self.taken.contains(&name.to_ascii_lowercase()) {
                    break;
                }
            }
            self.next_suffix.insert(key, i);
        }
        self.taken.insert(name.to_ascii_lowercase());
        name
    }
}

fn first_label(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

fn describe_members(members: &[ZoneMember]) -> String {
    members
        .iter()
        .map(|m| format!("{}:{} {}/{}", m.target, m.port, m.priority, m.weight))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Proposes the servers and pools an imported zone describes (the bootstrap path).
///
/// Records are grouped by the pool owner under their `_sip._udp`/`_sip._tcp`/`_sips._tcp`
/// label. A pool publishes every transport whose member list matches the list most transports
/// share (the first in udp, tcp, tls order on a tie); a transport whose records differ is left
/// out with a warning, since one pool has one member list. Servers are the distinct targets,
/// in order of first appearance.
pub fn propose_import(records: &[ZoneRecord]) -> Result<ImportProposal, ZoneError> {
    let mut warnings = Vec::new();
    // Pool owner → transport → (members, TTLs), in order of first appearance.
    type Rrsets = BTreeMap<Transport, (Vec<ZoneMember>, Vec<u32>)>;
    let mut owners: Vec<(String, Rrsets)> = Vec::new();
    let mut owner_index: HashMap<String, usize> = HashMap::new();
    let mut targets: Vec<(String, Vec<u16>)> = Vec::new();
    let mut target_index: HashMap<String, usize> = HashMap::new();

    for (i, record) in records.iter().enumerate() {
        let refuse =
            |e: String| ZoneError::new(format!("record {} ({}): {e}", i + 1, shown(&record.owner)));
        let Some((transport, pool_owner)) = Transport::split_owner(&record.owner) else {
            warnings.push(format!(
                "{} is not a _sip._udp, _sip._tcp or _sips._tcp name; skipped",
                shown(&record.owner)
            ));
            continue;
        };
        let pool_owner = normalise_fqdn(pool_owner).map_err(|e| refuse(format!("owner {e}")))?;
        let target = normalise_fqdn(&record.target)
            .map_err(|e| refuse(format!("target {} {e}", shown(&record.target))))?;
        let ttl = check_ttl(record.ttl).map_err(refuse)?;
        if record.port == 0 {
            return Err(refuse("port 0 is not a port".into()));
        }
        let member = ZoneMember {
            priority: record.priority,
            weight: record.weight,
            port: record.port,
            target: target.clone(),
        };
        let index = *owner_index.entry(pool_owner.clone()).or_insert_with(|| {
            owners.push((pool_owner, BTreeMap::new()));
            owners.len() - 1
        });
        if let Some((_, rrsets)) = owners.get_mut(index) {
            let (members, ttls) = rrsets.entry(transport).or_default();
            members.push(member);
            ttls.push(ttl);
        }
        let index = *target_index.entry(target.clone()).or_insert_with(|| {
            targets.push((target, Vec::new()));
            targets.len() - 1
        });
        if let Some((_, ports)) = targets.get_mut(index) {
            ports.push(record.port);
        }
    }
    if owners.is_empty() {
        return Err(ZoneError::new(
            "no _sip._udp, _sip._tcp or _sips._tcp SRV records to import",
        ));
    }

    let mut pools: Vec<ProposedPool> = Vec::with_capacity(owners.len());
    let mut pool_names = UniqueNames::default();
    for (owner, mut rrsets) in owners {
        for (transport, (members, _)) in rrsets.iter_mut() {
            members.sort_by(member_order);
            let before = members.len();
            members.dedup();
            if members.len() < before {
                warnings.push(format!(
                    "{}.{owner}: {} duplicate record{} ignored",
                    transport.service_prefix(),
                    before - members.len(),
                    if before - members.len() == 1 { "" } else { "s" }
                ));
            }
        }
        // The member list most transports agree on; BTreeMap order makes udp win a tie.
        let mut reference: Option<(&Vec<ZoneMember>, usize)> = None;
        for (members, _) in rrsets.values() {
            let count = rrsets.values().filter(|(m, _)| m == members).count();
            if reference.is_none_or(|(_, best)| count > best) {
                reference = Some((members, count));
            }
        }
        let Some((reference, _)) = reference else {
            continue;
        };
        let reference = reference.clone();
        let mut transports = Vec::new();
        let mut ttls: Vec<u32> = Vec::new();
        for (transport, (members, rrset_ttls)) in &rrsets {
            if *members == reference {
                transports.push(*transport);
                ttls.extend(rrset_ttls);
            }
        }
        let reference_prefix = transports
            .first()
            .map(|t| t.service_prefix())
            .unwrap_or_default();
        for (transport, (members, _)) in &rrsets {
            if *members != reference {
                warnings.push(format!(
                    "{}.{owner} lists {} but {reference_prefix}.{owner} lists {}; {} is left out of the pool: add it by hand once the members agree",
                    transport.service_prefix(),
                    describe_members(members),
                    describe_members(&reference),
                    transport.service_prefix(),
                ));
            }
        }
        ttls.sort_unstable();
        ttls.dedup();
        // RFC 2181 §5.2: the TTLs of one RRset must match; the shortest is the safe reading.
        let ttl = ttls.first().copied().unwrap_or(86_400);
        if ttls.len() > 1 {
            warnings.push(format!(
                "{owner}: records carry different TTLs ({}); the pool uses the shortest, {ttl}",
                ttls.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let name = pool_names.claim(first_label(&owner));
        if name != first_label(&owner) {
            warnings.push(format!(
                "pool {owner} is named {name}: another pool already takes {}",
                first_label(&owner)
            ));
        }
        pools.push(ProposedPool {
            name,
            owner,
            ttl,
            transports,
            members: reference,
        });
    }

    let mut servers: Vec<ProposedServer> = Vec::with_capacity(targets.len());
    let mut server_names = UniqueNames::default();
    for (host, ports) in targets {
        let mut counts: HashMap<u16, usize> = HashMap::new();
        for port in &ports {
            *counts.entry(*port).or_insert(0) += 1;
        }
        let port = counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(port, _)| port)
            .unwrap_or(5060);
        let name = server_names.claim(first_label(&host));
        if name != first_label(&host) {
            warnings.push(format!(
                "server {host} is named {name}: another server already takes {}",
                first_label(&host)
            ));
        }
        servers.push(ProposedServer { name, host, port });
    }

    Ok(ImportProposal {
        servers,
        pools,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn member(target: &str, priority: u16, weight: u16, port: u16) -> ZoneMember {
        ZoneMember {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }

    /// The source document's cluster as pbx-pools' demo data holds it: pbxA and pbxB over
    /// voip1/voip2, and the Wikipedia pool of five records at example.com. Members are given
    /// out of order on purpose: the export sorts them.
    fn demo_pools() -> Vec<ZonePool> {
        vec![
            ZonePool {
                name: "pbxA".into(),
                owner: "pbxa.example.com".into(),
                ttl: 86_400,
                transports: vec![Transport::Udp],
                members: vec![
                    member("voip2.example.com", 20, 10, 5060),
                    member("voip1.example.com", 10, 10, 5060),
                ],
            },
            ZonePool {
                name: "pbxB".into(),
                owner: "PBXB.example.com.".into(),
                ttl: 86_400,
                transports: vec![Transport::Udp],
                members: vec![
                    member("voip2.example.com", 10, 10, 5060),
                    member("voip1.example.com", 20, 10, 5060),
                ],
            },
            ZonePool {
                name: "wiki".into(),
                owner: "example.com".into(),
                ttl: 86_400,
                transports: vec![Transport::Tcp],
                members: vec![
                    member("backupbox.example.com", 20, 0, 5060),
                    member("smallbox2.example.com", 10, 10, 5066),
                    member("smallbox2.example.com", 10, 10, 5060),
                    member("smallbox1.example.com", 10, 20, 5060),
                    member("bigbox.example.com", 10, 60, 5060),
                ],
            },
        ]
    }

    fn full_options() -> ExportOptions {
        ExportOptions {
            origin: Some("example.com".into()),
            default_ttl: Some(86_400),
            nsupdate_server: Some("ns1.example.com".into()),
            tsig_key_name: Some("pbx-pools-key".into()),
        }
    }

    fn origin_only() -> ExportOptions {
        ExportOptions {
            origin: Some("example.com".into()),
            ..ExportOptions::default()
        }
    }

    const BIND_ABSOLUTE: &str = "\
; Generated by pbx-pools: SRV records for pools pbxA, pbxB, wiki
; pool pbxA: pbxa.example.com
_sip._udp.pbxa.example.com. 86400 IN SRV 10 10 5060 voip1.example.com.
_sip._udp.pbxa.example.com. 86400 IN SRV 20 10 5060 voip2.example.com.
; pool pbxB: pbxb.example.com
_sip._udp.pbxb.example.com. 86400 IN SRV 10 10 5060 voip2.example.com.
_sip._udp.pbxb.example.com. 86400 IN SRV 20 10 5060 voip1.example.com.
; pool wiki: example.com
_sip._tcp.example.com. 86400 IN SRV 10 60 5060 bigbox.example.com.
_sip._tcp.example.com. 86400 IN SRV 10 20 5060 smallbox1.example.com.
_sip._tcp.example.com. 86400 IN SRV 10 10 5060 smallbox2.example.com.
_sip._tcp.example.com. 86400 IN SRV 10 10 5066 smallbox2.example.com.
_sip._tcp.example.com. 86400 IN SRV 20 0 5060 backupbox.example.com.
";

    const BIND_RELATIVE: &str = "\
; Generated by pbx-pools: SRV records for pools pbxA, pbxB, wiki
$ORIGIN example.com.
$TTL 86400
; pool pbxA: pbxa.example.com
_sip._udp.pbxa 86400 IN SRV 10 10 5060 voip1
_sip._udp.pbxa 86400 IN SRV 20 10 5060 voip2
; pool pbxB: pbxb.example.com
_sip._udp.pbxb 86400 IN SRV 10 10 5060 voip2
_sip._udp.pbxb 86400 IN SRV 20 10 5060 voip1
; pool wiki: example.com
_sip._tcp 86400 IN SRV 10 60 5060 bigbox
_sip._tcp 86400 IN SRV 10 20 5060 smallbox1
_sip._tcp 86400 IN SRV 10 10 5060 smallbox2
_sip._tcp 86400 IN SRV 10 10 5066 smallbox2
_sip._tcp 86400 IN SRV 20 0 5060 backupbox
";

    const NSUPDATE: &str = "\
; Generated by pbx-pools: SRV records for pools pbxA, pbxB, wiki
; Sign with the TSIG key pbx-pools-key: nsupdate -k <file holding key pbx-pools-key> <this file>
server ns1.example.com
zone example.com.
; pool pbxA: pbxa.example.com
update delete _sip._udp.pbxa.example.com. IN SRV
update add _sip._udp.pbxa.example.com. 86400 IN SRV 10 10 5060 voip1.example.com.
update add _sip._udp.pbxa.example.com. 86400 IN SRV 20 10 5060 voip2.example.com.
send
; pool pbxB: pbxb.example.com
update delete _sip._udp.pbxb.example.com. IN SRV
update add _sip._udp.pbxb.example.com. 86400 IN SRV 10 10 5060 voip2.example.com.
update add _sip._udp.pbxb.example.com. 86400 IN SRV 20 10 5060 voip1.example.com.
send
; pool wiki: example.com
update delete _sip._tcp.example.com. IN SRV
update add _sip._tcp.example.com. 86400 IN SRV 10 60 5060 bigbox.example.com.
update add _sip._tcp.example.com. 86400 IN SRV 10 20 5060 smallbox1.example.com.
update add _sip._tcp.example.com. 86400 IN SRV 10 10 5060 smallbox2.example.com.
update add _sip._tcp.example.com. 86400 IN SRV 10 10 5066 smallbox2.example.com.
update add _sip._tcp.example.com. 86400 IN SRV 20 0 5060 backupbox.example.com.
send
";

    const JSON: &str = r#"[
  {
    "owner": "_sip._udp.pbxa.example.com",
    "ttl": 86400,
    "priority": 10,
    "weight": 10,
    "port": 5060,
    "target": "voip1.example.com"
  },
  {
    "owner": "_sip._udp.pbxa.example.com",
    "ttl": 86400,
    "priority": 20,
    "weight": 10,
    "port": 5060,
    "target": "voip2.example.com"
  },
  {
    "owner": "_sip._udp.pbxb.example.com",
    "ttl": 86400,
    "priority": 10,
    "weight": 10,
    "port": 5060,
    "target": "voip2.example.com"
  },
  {
    "owner": "_sip._udp.pbxb.example.com",
    "ttl": 86400,
    "priority": 20,
    "weight": 10,
    "port": 5060,
    "target": "voip1.example.com"
  },
  {
    "owner": "_sip._tcp.example.com",
    "ttl": 86400,
    "priority": 10,
    "weight": 60,
    "port": 5060,
    "target": "bigbox.example.com"
  },
  {
    "owner": "_sip._tcp.example.com",
    "ttl": 86400,
    "priority": 10,
    "weight": 20,
    "port": 5060,
    "target": "smallbox1.example.com"
  },
  {
    "owner": "_sip._tcp.example.com",
    "ttl": 86400,
    "priority": 10,
    "weight": 10,
    "port": 5060,
    "target": "smallbox2.example.com"
  },
  {
    "owner": "_sip._tcp.example.com",
    "ttl": 86400,
    "priority": 10,
    "weight": 10,
    "port": 5066,
    "target": "smallbox2.example.com"
  },
  {
    "owner": "_sip._tcp.example.com",
    "ttl": 86400,
    "priority": 20,
    "weight": 0,
    "port": 5060,
    "target": "backupbox.example.com"
  }
]
"#;

    /// Checked with `octodns-validate`, and identical (but for the comment) to what
    /// `octodns-sync` dumps back from it.
    const OCTODNS: &str = "\
---
# Generated by pbx-pools: SRV records for pools pbxA, pbxB, wiki (zone example.com.)
_sip._tcp:
  ttl: 86400
  type: SRV
  values:
  - port: 5060
    priority: 10
    target: smallbox2.example.com.
    weight: 10
  - port: 5066
    priority: 10
    target: smallbox2.example.com.
    weight: 10
  - port: 5060
    priority: 10
    target: smallbox1.example.com.
    weight: 20
  - port: 5060
    priority: 10
    target: bigbox.example.com.
    weight: 60
  - port: 5060
    priority: 20
    target: backupbox.example.com.
    weight: 0
_sip._udp.pbxa:
  ttl: 86400
  type: SRV
  values:
  - port: 5060
    priority: 10
    target: voip1.example.com.
    weight: 10
  - port: 5060
    priority: 20
    target: voip2.example.com.
    weight: 10
_sip._udp.pbxb:
  ttl: 86400
  type: SRV
  values:
  - port: 5060
    priority: 10
    target: voip2.example.com.
    weight: 10
  - port: 5060
    priority: 20
    target: voip1.example.com.
    weight: 10
";

    const DNSCONTROL: &str = r#"// Generated by pbx-pools: SRV records for pools pbxA, pbxB, wiki
// Paste the SRV() lines into the D() block of example.com in dnsconfig.js:
// D("example.com", REG_CHANGEME, DnsProvider(DSP_CHANGEME),
  // pool pbxA: pbxa.example.com
  SRV("_sip._udp.pbxa", 10, 10, 5060, "voip1.example.com.", TTL(86400)),
  SRV("_sip._udp.pbxa", 20, 10, 5060, "voip2.example.com.", TTL(86400)),
  // pool pbxB: pbxb.example.com
  SRV("_sip._udp.pbxb", 10, 10, 5060, "voip2.example.com.", TTL(86400)),
  SRV("_sip._udp.pbxb", 20, 10, 5060, "voip1.example.com.", TTL(86400)),
  // pool wiki: example.com
  SRV("_sip._tcp", 10, 60, 5060, "bigbox.example.com.", TTL(86400)),
  SRV("_sip._tcp", 10, 20, 5060, "smallbox1.example.com.", TTL(86400)),
  SRV("_sip._tcp", 10, 10, 5060, "smallbox2.example.com.", TTL(86400)),
  SRV("_sip._tcp", 10, 10, 5066, "smallbox2.example.com.", TTL(86400)),
  SRV("_sip._tcp", 20, 0, 5060, "backupbox.example.com.", TTL(86400)),
// );
"#;

    fn rendered(format: ExportFormat, opts: &ExportOptions) -> String {
        render(&demo_pools(), format, opts).unwrap_or_else(|e| panic!("{format}: {e}"))
    }

    /// Reads SRV records with hickory-proto's zone parser, an independent implementation.
    fn hickory_records(text: &str, origin: &str) -> Vec<ZoneRecord> {
        use hickory_proto::rr::{Name, RData};
        use hickory_proto::serialize::txt::Parser;
        let origin = Name::from_ascii(origin).expect("origin");
        let (_, sets) = Parser::new(text, None, Some(origin))
            .parse()
            .expect("hickory parses the export");
        let plain = |name: &Name| name.to_ascii().trim_end_matches('.').to_ascii_lowercase();
        let mut out = Vec::new();
        for set in sets.values() {
            for record in set.records_without_rrsigs() {
                if let RData::SRV(srv) = &record.data {
                    out.push(ZoneRecord {
                        owner: plain(&record.name),
                        ttl: record.ttl,
                        priority: srv.priority,
                        weight: srv.weight,
                        port: srv.port,
                        target: plain(&srv.target),
                    });
                }
            }
        }
        out.sort();
        out
    }

    fn sorted(mut records: Vec<ZoneRecord>) -> Vec<ZoneRecord> {
        records.sort();
        records
    }

    #[test]
    fn transport_and_format_names_round_trip() {
        for t in Transport::ALL {
            assert_eq!(t.to_string().parse::<Transport>(), Ok(t));
            assert_eq!(
                serde_json::to_string(&t).ok(),
                Some(format!("\"{}\"", t.as_str()))
            );
        }
        assert_eq!(" TLS ".parse::<Transport>(), Ok(Transport::Tls));
        assert!("sctp".parse::<Transport>().is_err());
        for f in ExportFormat::ALL {
            assert_eq!(f.to_string().parse::<ExportFormat>(), Ok(f));
            assert!(!f.file_extension().is_empty() && f.content_type().contains('/'));
        }
        assert!("yaml".parse::<ExportFormat>().is_err());
        assert_eq!(Transport::Tls.service_prefix(), "_sips._tcp");
        assert_eq!(
            Transport::split_owner("_SIPS._TCP.pbxa.example.com"),
            Some((Transport::Tls, "pbxa.example.com"))
        );
        assert_eq!(Transport::split_owner("_sip._udpx.example.com"), None);
        assert_eq!(Transport::split_owner("_sip._udp"), None);
    }

    #[test]
    fn zone_records_follow_the_documented_order() {
        let mut pools = demo_pools();
        pools[0].transports = vec![Transport::Tls, Transport::Udp, Transport::Tls];
        let records = zone_records(&pools).unwrap();
        assert_eq!(records.len(), 2 * 2 + 2 + 5);
        let owners: Vec<&str> = records.iter().map(|r| r.owner.as_str()).collect();
        assert_eq!(
            owners[..4],
            [
                "_sip._udp.pbxa.example.com",
                "_sip._udp.pbxa.example.com",
                "_sips._tcp.pbxa.example.com",
                "_sips._tcp.pbxa.example.com"
            ]
        );
        // The owner was given as PBXB.example.com. and comes out canonical.
        assert_eq!(records[4].owner, "_sip._udp.pbxb.example.com");
        // The source document's own listing order for the five-record pool.
        let wiki: Vec<(&str, u16, u16, u16)> = records[6..]
            .iter()
            .map(|r| (r.target.as_str(), r.priority, r.weight, r.port))
            .collect();
        assert_eq!(
            wiki,
            [
                ("bigbox.example.com", 10, 60, 5060),
                ("smallbox1.example.com", 10, 20, 5060),
                ("smallbox2.example.com", 10, 10, 5060),
                ("smallbox2.example.com", 10, 10, 5066),
                ("backupbox.example.com", 20, 0, 5060),
            ]
        );
    }

    #[test]
    fn each_format_renders_the_demo_cluster_exactly() {
        let none = ExportOptions::default();
        assert_eq!(rendered(ExportFormat::Bind, &none), BIND_ABSOLUTE);
        assert_eq!(rendered(ExportFormat::Bind, &full_options()), BIND_RELATIVE);
        assert_eq!(rendered(ExportFormat::Nsupdate, &full_options()), NSUPDATE);
        assert_eq!(rendered(ExportFormat::Json, &none), JSON);
        assert_eq!(rendered(ExportFormat::Json, &full_options()), JSON);
        assert_eq!(rendered(ExportFormat::Octodns, &origin_only()), OCTODNS);
        assert_eq!(
            rendered(ExportFormat::Dnscontrol, &origin_only()),
            DNSCONTROL
        );
    }

    #[test]
    fn bind_without_default_ttl_has_no_ttl_line_and_nsupdate_without_options_is_bare() {
        let bind = rendered(ExportFormat::Bind, &origin_only());
        assert!(bind.contains("$ORIGIN example.com.\n") && !bind.contains("$TTL"));
        let script = rendered(ExportFormat::Nsupdate, &ExportOptions::default());
        assert!(
            !script.contains("server") && !script.contains("zone ") && !script.contains("TSIG")
        );
        assert_eq!(script.lines().filter(|l| *l == "send").count(), 3);
        for text in [script, rendered(ExportFormat::Nsupdate, &full_options())] {
            // nsupdate sends on a blank line; a stray one would split a pool's update.
            assert!(text.lines().all(|l| !l.trim().is_empty()));
        }
    }

    #[test]
    fn nsupdate_server_may_be_an_address_with_a_port() {
        let opts = ExportOptions {
            nsupdate_server: Some("127.0.0.1 5353".into()),
            ..ExportOptions::default()
        };
        assert!(rendered(ExportFormat::Nsupdate, &opts).contains("\nserver 127.0.0.1 5353\n"));
        let opts = ExportOptions {
            nsupdate_server: Some("2001:db8::53".into()),
            ..ExportOptions::default()
        };
        assert!(rendered(ExportFormat::Nsupdate, &opts).contains("\nserver 2001:db8::53\n"));
    }

    #[test]
    fn json_export_reads_back_as_the_records() {
        let back: Vec<ZoneRecord> = serde_json::from_str(JSON).unwrap();
        assert_eq!(back, zone_records(&demo_pools()).unwrap());
    }

    #[test]
    fn octodns_and_dnscontrol_need_the_zone() {
        for format in [ExportFormat::Octodns, ExportFormat::Dnscontrol] {
            let err = render(&demo_pools(), format, &ExportOptions::default()).unwrap_err();
            assert!(err.reason.contains("zone origin"), "{err}");
        }
    }

    #[test]
    fn owners_outside_the_origin_are_refused() {
        let opts = ExportOptions {
            origin: Some("example.org".into()),
            ..ExportOptions::default()
        };
        for format in ExportFormat::ALL {
            let err = render(&demo_pools(), format, &opts).unwrap_err();
            assert!(
                err.reason.contains("pool pbxA")
                    && err.reason.contains("outside the zone example.org"),
                "{format}: {err}"
            );
        }
    }

    #[test]
    fn names_are_relative_only_inside_the_origin() {
        assert_eq!(zone_name("example.com", Some("example.com")), "@");
        assert_eq!(zone_name("voip1.example.com", Some("example.com")), "voip1");
        assert_eq!(
            zone_name("voip1.example.net", Some("example.com")),
            "voip1.example.net."
        );
        // A suffix match that is not on a label boundary is not inside the zone.
        assert_eq!(
            zone_name("myexample.com", Some("example.com")),
            "myexample.com."
        );
        assert_eq!(zone_name("voip1.example.com", None), "voip1.example.com.");

        let pools = vec![ZonePool {
            name: "edge".into(),
            owner: "sip.example.com".into(),
            ttl: 60,
            transports: vec![Transport::Udp],
            members: vec![
                member("example.com", 0, 0, 5060),
                member("pbx.example.net", 1, 0, 5060),
            ],
        }];
        let text = render(&pools, ExportFormat::Bind, &origin_only()).unwrap();
        assert!(
            text.contains("_sip._udp.sip 60 IN SRV 0 0 5060 @\n"),
            "{text}"
        );
        assert!(
            text.contains("_sip._udp.sip 60 IN SRV 1 0 5060 pbx.example.net.\n"),
            "{text}"
        );
        assert_eq!(
            parse_zone(&text, None).unwrap(),
            zone_records(&pools).unwrap()
        );
    }

    #[test]
    fn bind_export_parses_back_to_exactly_the_records() {
        let expected = zone_records(&demo_pools()).unwrap();
        assert_eq!(parse_zone(BIND_ABSOLUTE, None).unwrap(), expected);
        assert_eq!(parse_zone(BIND_RELATIVE, None).unwrap(), expected);
        // An origin given by the caller is overridden by the file's own $ORIGIN line.
        assert_eq!(
            parse_zone(BIND_RELATIVE, Some("example.org")).unwrap(),
            expected
        );
        let parsed = parse_zone_file(BIND_ABSOLUTE, None).unwrap();
        assert_eq!(parsed.skipped_count(), 0);
    }

    #[test]
    fn hickory_reads_the_bind_export_as_the_same_records() {
        let expected = sorted(zone_records(&demo_pools()).unwrap());
        assert_eq!(hickory_records(BIND_ABSOLUTE, "example.com."), expected);
        assert_eq!(hickory_records(BIND_RELATIVE, "example.org."), expected);
    }

    #[test]
    fn import_rebuilds_the_demo_servers_and_pools() {
        let records = parse_zone(BIND_RELATIVE, None).unwrap();
        let proposal = propose_import(&records).unwrap();
        assert_eq!(proposal.warnings, Vec::<String>::new());
        let servers: Vec<(&str, &str, u16)> = proposal
            .servers
            .iter()
            .map(|s| (s.name.as_str(), s.host.as_str(), s.port))
            .collect();
        assert_eq!(
            servers,
            [
                ("voip1", "voip1.example.com", 5060),
                ("voip2", "voip2.example.com", 5060),
                ("bigbox", "bigbox.example.com", 5060),
                ("smallbox1", "smallbox1.example.com", 5060),
                ("smallbox2", "smallbox2.example.com", 5060),
                ("backupbox", "backupbox.example.com", 5060),
            ]
        );
        // DNS keeps neither pool names nor case: names come from the owner's first label.
        let names: Vec<&str> = proposal.pools.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["pbxa", "pbxb", "example"]);
        let rebuilt: Vec<ZonePool> = proposal
            .pools
            .iter()
            .zip(demo_pools())
            .map(|(p, original)| ZonePool {
                name: original.name,
                owner: p.owner.clone(),
                ttl: p.ttl,
                transports: p.transports.clone(),
                members: p.members.clone(),
            })
            .collect();
        assert_eq!(zone_records(&rebuilt).unwrap(), records);
        assert_eq!(
            render(&rebuilt, ExportFormat::Bind, &full_options()).unwrap(),
            BIND_RELATIVE
        );
    }

    #[test]
    fn import_merges_transports_that_agree_and_warns_when_they_differ() {
        let rec = |owner: &str, ttl: u32, priority: u16, target: &str| ZoneRecord {
            owner: owner.into(),
            ttl,
            priority,
            weight: 10,
            port: 5060,
            target: target.into(),
        };
        let records = vec![
            rec("_sips._tcp.pbxa.example.com", 3600, 10, "voip1.example.com"),
            rec("_sip._udp.pbxa.example.com", 3600, 10, "voip1.example.com"),
            rec("_sip._udp.pbxa.example.com", 3600, 20, "voip2.example.com"),
            rec("_sip._tcp.pbxa.example.com", 3600, 20, "voip2.example.com"),
            rec("_sip._tcp.pbxa.example.com", 300, 10, "voip1.example.com"),
        ];
        let proposal = propose_import(&records).unwrap();
        let pool = &proposal.pools[0];
        assert_eq!(pool.transports, [Transport::Udp, Transport::Tcp]);
        assert_eq!(
            pool.members,
            [
                member("voip1.example.com", 10, 10, 5060),
                member("voip2.example.com", 20, 10, 5060)
            ]
        );
        assert_eq!(pool.ttl, 300);
        assert_eq!(proposal.warnings.len(), 2, "{:?}", proposal.warnings);
        assert!(proposal.warnings[0].starts_with("_sips._tcp.pbxa.example.com lists voip1.example.com:5060 10/10 but _sip._udp.pbxa.example.com lists"));
        assert!(proposal.warnings[1].contains("different TTLs (300, 3600)"));

        // A tie between two different lists goes to the first transport in udp, tcp, tls order.
        let tie = vec![
            rec("_sip._tcp.pbxb.example.com", 60, 10, "voip2.example.com"),
            rec("_sip._udp.pbxb.example.com", 60, 10, "voip1.example.com"),
        ];
        let proposal = propose_import(&tie).unwrap();
        assert_eq!(proposal.pools[0].transports, [Transport::Udp]);
        assert_eq!(proposal.pools[0].members[0].target, "voip1.example.com");
        assert!(proposal.warnings[0].contains("_sip._tcp is left out"));
    }

    #[test]
    fn import_warns_on_duplicates_name_clashes_and_other_services() {
        let rec = |owner: &str, target: &str, port: u16| ZoneRecord {
            owner: owner.into(),
            ttl: 60,
            priority: 10,
            weight: 10,
            port,
            target: target.into(),
        };
        let records = vec![
            rec("_sip._udp.pbxa.example.com", "voip1.example.com", 5062),
            rec("_sip._udp.pbxa.example.com", "voip1.example.com", 5062),
            rec("_sip._udp.pbxa.example.org", "voip1.example.org", 5060),
            rec("_sip._udp.pbxa.example.org", "voip1.example.com", 5060),
            rec("_sip._udp.pbxa.example.net", "voip1.example.com", 5062),
            rec("_xmpp._tcp.example.com", "chat.example.com", 5222),
        ];
        let proposal = propose_import(&records).unwrap();
        let names: Vec<&str> = proposal.pools.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["pbxa", "pbxa-2", "pbxa-3"]);
        assert_eq!(proposal.pools[0].members.len(), 1);
        let servers: Vec<(&str, &str, u16)> = proposal
            .servers
            .iter()
            .map(|s| (s.name.as_str(), s.host.as_str(), s.port))
            .collect();
        // voip1.example.com is reached on 5062 three times and on 5060 once.
        assert_eq!(
            servers,
            [
                ("voip1", "voip1.example.com", 5062),
                ("voip1-2", "voip1.example.org", 5060)
            ]
        );
        let warnings = proposal.warnings.join("\n");
        for expected in [
            "\"_xmpp._tcp.example.com\" is not a _sip._udp",
            "_sip._udp.pbxa.example.com: 1 duplicate record ignored",
            "pool pbxa.example.org is named pbxa-2",
            "server voip1.example.org is named voip1-2",
        ] {
            assert!(
                warnings.contains(expected),
                "missing {expected:?} in\n{warnings}"
            );
        }
        let mut names = UniqueNames::default();
        assert_eq!(names.claim(&"a".repeat(63)), "a".repeat(63));
        assert_eq!(
            names.claim(&"A".repeat(63)),
            format!("{}-2", "A".repeat(61))
        );
        assert_eq!(names.claim("x-2"), "x-2");
        assert_eq!(names.claim("x"), "x");
        // "x-2" is already a host's own name, so the second "x" becomes "x-3".
        assert_eq!(names.claim("X"), "X-3");
    }

    #[test]
    fn import_refuses_nothing_to_import_and_bad_records() {
        assert!(propose_import(&[]).is_err());
        let good = ZoneRecord {
            owner: "_sip._udp.pbxa.example.com".into(),
            ttl: 60,
            priority: 10,
            weight: 10,
            port: 5060,
            target: "voip1.example.com".into(),
        };
        for bad in [
            ZoneRecord {
                target: "voip1.example.com\n@ NS evil.".into(),
                ..good.clone()
            },
            ZoneRecord {
                owner: "_sip._udp.pbx a.example.com".into(),
                ..good.clone()
            },
            ZoneRecord {
                ttl: 0,
                ..good.clone()
            },
            ZoneRecord {
                port: 0,
                ..good.clone()
            },
        ] {
            let err = propose_import(&[good.clone(), bad]).unwrap_err();
            assert!(err.reason.starts_with("record 2 "), "{err}");
            assert!(!err.to_string().contains('\n'));
        }
    }

    const HOSTILE: [&str; 12] = [
        "voip1.example.com\n@ IN NS evil.example.net.",
        "voip1.example.com; rm",
        "voip1.example.com\"",
        "voip1.(example).com",
        "$INCLUDE /etc/passwd",
        "$INCLUDE.example.com",
        "voip1 example.com",
        "voip1.example.com\r",
        "vöip1.example.com",
        "\u{202e}voip1.example.com",
        "_sip._udp.example.com",
        "x.example.com\u{0}",
    ];

    #[test]
    fn hostile_names_are_refused_in_every_field_and_format() {
        let long_label = format!("{}.example.com", "a".repeat(64));
        let long_name = format!("{}.example.com", vec!["a".repeat(60); 5].join("."));
        let mut values: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
        values.extend([long_label, long_name, String::new()]);
        for value in &values {
            for field in ["name", "owner", "target"] {
                let mut pools = demo_pools();
                match field {
                    "name" => pools[1].name = value.clone(),
                    "owner" => pools[1].owner = value.clone(),
                    _ => pools[1].members[1].target = value.clone(),
                }
                for format in ExportFormat::ALL {
                    let err = render(&pools, format, &full_options())
                        .expect_err(&format!("{format} wrote {field} {value:?}"));
                    let pool_named = if field == "name" {
                        "pool #2: name"
                    } else {
                        "pool pbxB: "
                    };
                    assert!(
                        err.reason.starts_with(pool_named),
                        "{format} {field}: {err}"
                    );
                    assert!(err.reason.contains(field), "{format} {field}: {err}");
                    assert!(!err.to_string().contains(['\n', '\r', '\0']), "{err:?}");
                }
                assert!(zone_records(&pools).is_err());
            }
        }
        for name in [
            "pbx\nA", "pbx A", "pbx;A", "pbx\"A", "(pbxA)", "$INCLUDE", "pbxé",
        ] {
            let mut pools = demo_pools();
            pools[0].name = name.into();
            assert!(
                render(&pools, ExportFormat::Bind, &ExportOptions::default()).is_err(),
                "{name:?}"
            );
        }
    }

    #[test]
    fn hostile_or_out_of_range_options_are_refused() {
        let with = |f: fn(&mut ExportOptions)| {
            let mut opts = full_options();
            f(&mut opts);
            render(&demo_pools(), ExportFormat::Nsupdate, &opts)
        };
        assert!(with(|o| o.origin = Some("example.com\n$INCLUDE /etc/passwd".into())).is_err());
        assert!(with(|o| o.origin = Some("example.com;".into())).is_err());
        assert!(with(|o| o.default_ttl = Some(0)).is_err());
        assert!(with(|o| o.default_ttl = Some(MAX_TTL + 1)).is_err());
        assert!(with(|o| o.nsupdate_server = Some("ns1.example.com\nupdate delete example.com.".into())).is_err());
        assert!(with(|o| o.nsupdate_server = Some("ns1.example.com 0".into())).is_err());
        assert!(with(|o| o.nsupdate_server = Some("ns1.example.com 53 x".into())).is_err());
        assert!(with(|o| o.tsig_key_name = Some("key\nserver evil.example.net".into())).is_err());
        assert!(with(|o| o.tsig_key_name = Some("key name".into())).is_err());
        assert!(with(|o| o.tsig_key_name = Some(String::new())).is_err());
        assert!(with(|o| o.tsig_key_name = Some("ddns_key.example.com.".into())).is_ok());
    }

    #[test]
    fn values_outside_their_ranges_are_refused() {
        let change = |f: fn(&mut Vec<ZonePool>)| {
            let mut pools = demo_pools();
            f(&mut pools);
            zone_records(&pools).map_err(|e| e.reason)
        };
        let err = change(|p| p[0].ttl = 0).unwrap_err();
        assert!(
            err.starts_with("pool pbxA: TTL 0 is outside 1–2147483647 seconds"),
            "{err}"
        );
        assert!(change(|p| p[0].ttl = MAX_TTL).is_ok());
        assert!(change(|p| p[0].ttl = MAX_TTL + 1).is_err());
        let err = change(|p| p[2].members[0].port = 0).unwrap_err();
        assert!(
            err.contains("pool wiki: member 1 (backupbox.example.com) port 0"),
            "{err}"
        );
        let err = change(|p| {
            p[2].members
                .push(member("BIGBOX.example.com", 10, 60, 5060))
        })
        .unwrap_err();
        assert!(
            err.contains("bigbox.example.com port 5060 priority 10 weight 60 is listed twice"),
            "{err}"
        );
        let err = change(|p| p[1].owner = "PBXA.example.com".into()).unwrap_err();
        assert_eq!(
            err,
            "pools pbxA and pbxB are both published at pbxa.example.com"
        );
        // 243 characters is a valid name; `_sip._udp.` in front makes 253, the limit, and
        // `_sips._tcp.` one more.
        let owner = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(51)
        );
        assert_eq!(owner.len(), 243);
        let long = move |t: Transport| {
            let mut pools = demo_pools();
            pools[0].owner = owner.clone();
            pools[0].transports = vec![t];
            zone_records(&pools).map_err(|e| e.reason)
        };
        assert!(long(Transport::Udp).is_ok());
        assert!(
            long(Transport::Tls)
                .unwrap_err()
                .contains("would be 254 characters")
        );
    }

    #[test]
    fn pools_without_members_publish_nothing_but_say_so() {
        let mut pools = demo_pools();
        pools[1].members.clear();
        pools[2].transports.clear();
        assert_eq!(zone_records(&pools).unwrap().len(), 2);
        let bind = render(&pools, ExportFormat::Bind, &ExportOptions::default()).unwrap();
        assert!(bind.contains("; pool pbxB: pbxb.example.com has no members, nothing published\n"));
        assert!(bind.contains("; pool wiki: example.com has no transports, nothing published\n"));
        let script = render(&pools, ExportFormat::Nsupdate, &ExportOptions::default()).unwrap();
        // No delete for them: an empty pool must not wipe what the DNS serves.
        assert!(
            !script.contains("pbxb.example.com. IN SRV")
                && !script.contains("_sip._tcp.example.com.")
        );
        assert_eq!(script.matches("send\n").count(), 1);
        let yaml = render(&pools, ExportFormat::Octodns, &origin_only()).unwrap();
        assert!(
            yaml.contains("# pool pbxB: pbxb.example.com has no members")
                && !yaml.contains("pbxb:")
        );
        let empty = render(&[], ExportFormat::Octodns, &origin_only()).unwrap();
        assert!(empty.ends_with("{}\n"));
        assert_eq!(
            render(&[], ExportFormat::Json, &ExportOptions::default()).unwrap(),
            "[]\n"
        );
    }

    #[test]
    fn octodns_record_names_are_in_natsort_order() {
        // The order Python's natsort gives (natsort_keygen(), as octoDNS uses).
        let natsort = [
            "_sip._tcp.a",
            "_sip._udp.a1",
            "_sip._udp.a1a",
            "_sip._udp.a01b",
            "_sip._udp.a-1",
            "_sip._udp.pbx2",
            "_sip._udp.pbx10",
            "_sips._tcp.a",
        ];
        let mut names = natsort.to_vec();
        names.reverse();
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, natsort);
        assert_eq!(natural_cmp("2x", "x"), Ordering::Less);
        assert_eq!(
            natural_cmp("a99999999999999999999", "a100000000000000000000"),
            Ordering::Less
        );

        let pool = |name: &str| ZonePool {
            name: name.into(),
            owner: format!("{name}.example.com"),
            ttl: 60,
            transports: vec![Transport::Udp],
            members: vec![member("voip1.example.com", 10, 10, 5060)],
        };
        let yaml = render(
            &[pool("pbx10"), pool("pbx2")],
            ExportFormat::Octodns,
            &origin_only(),
        )
        .unwrap();
        let keys: Vec<&str> = yaml.lines().filter(|l| l.starts_with('_')).collect();
        assert_eq!(keys, ["_sip._udp.pbx2:", "_sip._udp.pbx10:"]);
    }

    const REAL_ZONE: &str = r#"$ORIGIN example.com.
$TTL 1h
@   IN SOA ns1 hostmaster (
        2024010101 ; serial
        3h 15m 1w 1d )
    IN NS ns1
ns1 IN A 192.0.2.1
txt IN TXT "v=spf1 -all ; not a comment ( nor this" "second"
_sip._udp.pbxa IN SRV 10 10 5060 voip1     ; takes $TTL
               IN 300 SRV 20 10 5060 voip2.example.com.  ; class before TTL, owner from above
_SIP._TCP.PBXA 1d SRV ( 10 10
                        5060 VOIP1 )
_xmpp-server._tcp 86400 IN SRV 5 0 5269 xmpp
_sip._udp.ch CH SRV 1 1 5060 voip1
$ORIGIN sub.example.com.
_sips._tcp.pbxc 2h IN SRV 0 0 5061 @
$GENERATE 1-9 host$ A 192.0.2.$
"#;

    #[test]
    fn parse_reads_a_real_zone_file_and_counts_what_it_skips() {
        let parsed = parse_zone_file(REAL_ZONE, None).unwrap();
        let r = |owner: &str, ttl: u32, priority: u16, port: u16, target: &str| ZoneRecord {
            owner: owner.into(),
            ttl,
            priority,
            weight: if priority == 0 { 0 } else { 10 },
            port,
            target: target.into(),
        };
        assert_eq!(
            parsed.records,
            [
                r(
                    "_sip._udp.pbxa.example.com",
                    3600,
                    10,
                    5060,
                    "voip1.example.com"
                ),
                r(
                    "_sip._udp.pbxa.example.com",
                    300,
                    20,
                    5060,
                    "voip2.example.com"
                ),
                r(
                    "_sip._tcp.pbxa.example.com",
                    86_400,
                    10,
                    5060,
                    "voip1.example.com"
                ),
                r(
                    "_sips._tcp.pbxc.sub.example.com",
                    7200,
                    0,
                    5061,
                    "sub.example.com"
                ),
            ]
        );
        let skipped: Vec<(&str, usize)> = parsed
            .skipped
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(
            skipped,
            [
                ("$GENERATE", 1),
                ("A", 1),
                ("NS", 1),
                ("SOA", 1),
                ("SRV _xmpp-server._tcp", 1),
                ("SRV class CH", 1),
                ("TXT", 1),
            ]
        );
        assert_eq!(parsed.skipped_count(), 7);
    }

    #[test]
    fn parse_takes_pasted_dig_lines_and_a_zone_origin() {
        let dig = "_sip._udp.pbxa.example.com. 86400\tIN\tSRV\t10 10 5060 voip1.example.com.\r\n";
        assert_eq!(parse_zone(dig, None).unwrap().len(), 1);
        let relative = "_sip._udp.pbxa 60 IN SRV 10 10 5060 voip1\n";
        assert_eq!(
            parse_zone(relative, Some("Example.COM.")).unwrap()[0].target,
            "voip1.example.com"
        );
        let err = parse_zone(relative, None).unwrap_err();
        assert_eq!(err.line, Some(1));
        assert!(err.reason.contains("is relative, but no $ORIGIN"), "{err}");
        assert!(parse_zone(relative, Some("example.com\n$INCLUDE x")).is_err());
        assert_eq!(parse_zone("; nothing here\n\n   \n", None).unwrap(), vec![]);
        // RFC 1035 §5.1: without $TTL, an omitted TTL is the last one stated.
        let inherited = "a.example.com. 120 IN A 192.0.2.1\n_sip._udp.a.example.com. IN SRV 1 1 5060 b.example.com.\n";
        assert_eq!(parse_zone(inherited, None).unwrap()[0].ttl, 120);
        assert_eq!(parse_ttl("1h30m"), Some(5400));
        assert_eq!(parse_ttl("1W"), Some(604_800));
        assert_eq!(parse_ttl("90"), Some(90));
        assert_eq!(parse_ttl("h"), None);
        assert_eq!(parse_ttl("1x"), None);
        assert_eq!(parse_ttl("4294967296"), None);
        assert_eq!(parse_ttl("7102w"), None);
    }

    #[test]
    fn parse_reports_the_line_of_each_malformed_record() {
        let ok = "_sip._udp.pbxa.example.com. 60 IN SRV 10 10 5060 voip1.example.com.\n";
        let cases: [(&str, &str); 22] = [
            (
                "_sip._udp.pbxa.example.com. 60 IN SRV 10 10 5060",
                "found 3 values",
            ),
            (
                "_sip._udp.pbxa.example.com. 60 IN SRV 10 10 5060 a.example.com. 7",
                "found 5 values",
            ),
            (
                "_sip._udp.pbxa.example.com. 60 IN SRV 10 10 0 voip1.example.com.",
                "port \"0\" is not a number from 1 to 65535",
            ),
            (
                "_sip._udp.pbxa.example.com. 60 IN SRV 70000 10 5060 voip1.example.com.",
                "priority \"70000\" is not a number from 0 to 65535",
            ),
            (
                "_sip._udp.pbxa.example.com. 60 IN SRV 10 -1 5060 voip1.example.com.",
                "weight \"-1\"",
            ),
            (
                "_sip._udp.pbxa.example.com. 60 IN SRV 10 10 5060 voip_1.example.com.",
                "target \"voip_1.example.com.\" may only contain",
            ),
            (
                "_sip._udp.pbxa.example.com. 60 IN SRV 10 10 5060 v\\;oip1.example.com.",
                "target \"v\\\\;oip1.example.com.\"",
            ),
            (
                "_sip._udp.pbxa.example.com. 60 IN SRV 10 10 5060 \"voip1.example.com.\"",
                "is quoted",
            ),
            (
                "_sip._udp.pbxa.example.com. 60 IN SRV 0 0 5060 .",
                "decidedly not available",
            ),
            (
                "_sip._udp.pbxa.example.com. 60 IN SRV 10 10 5060 voip1",
                "is relative",
            ),
            (
                "_sip._udp.pbxa.example.com. 0 IN SRV 10 10 5060 voip1.example.com.",
                "TTL 0 is outside",
            ),
            (
                "_sip._udp.pbxa.example.com. 2147483648 IN SRV 10 10 5060 voip1.example.com.",
                "TTL 2147483648 is outside",
            ),
            (
                "_sip._udp.pbxa.example.com. 6x IN SRV 10 10 5060 voip1.example.com.",
                "TTL \"6x\" is not",
            ),
            (
                "_sip._udp.pbx_a.example.com. 60 IN SRV 10 10 5060 voip1.example.com.",
                "the name after _sip._udp may only contain",
            ),
            (
                "86400 IN SRV 10 60 5060 bigbox.example.com.",
                "reads as the owner name",
            ),
            ("_sip._udp.pbxa.example.com. 60 IN TYPE33 \\# 0", "TYPE33"),
            ("_sip._udp.pbxa.example.com. 60 IN", "no type"),
            ("$INCLUDE /etc/passwd", "$INCLUDE is not followed"),
            (
                "$GENERATE 1-2 _sip._udp.p$ SRV 1 1 5060 v$",
                "$GENERATE of SRV",
            ),
            (
                "$ORIGIN bad..example.com.",
                "$ORIGIN \"bad..example.com.\" has an empty label",
            ),
            ("$FOO bar", "unknown directive \"$FOO\""),
            (
                "_sip._udp.pbxa.example.com. 60 60 SRV 1 1 5060 voip1.example.com.",
                "a second TTL \"60\"",
            ),
        ];
        for (bad, expected) in cases {
            let text = format!("{ok}; a comment\n{bad}\n{ok}");
            let err = parse_zone(&text, None).unwrap_err();
            assert_eq!(err.line, Some(3), "{bad}: {err}");
            assert!(err.reason.contains(expected), "{bad}: {err}");
            assert!(err.to_string().starts_with("line 3: "));
        }
        let structural: [(&str, usize, &str); 6] = [
            (
                "\n_sip._udp.a.example.com. IN SRV 10 10 5060 voip1.example.com.\n",
                2,
                "no TTL",
            ),
            (
                " 60 IN SRV 10 10 5060 voip1.example.com.\n",
                1,
                "no owner name",
            ),
            (
                "x.example.com. 60 IN TXT \"never closed\n\n",
                1,
                "quoted string is never closed",
            ),
            (
                "\n_sip._udp.a.example.com. 60 IN SRV ( 10 10\n 5060 voip1.example.com.\n",
                2,
                "'(' is never closed",
            ),
            (
                "\n\n\nx.example.com. 60 IN A 192.0.2.1 )\n",
                4,
                "')' without",
            ),
            (
                "\n_sip._udp.a.example.com. 60 IN SRV (\n 10 10 5060 )\n",
                2,
                "found 3 values",
            ),
        ];
        for (text, line, expected) in structural {
            let err = parse_zone(text, None).unwrap_err();
            assert_eq!(err.line, Some(line), "{text:?}: {err}");
            assert!(err.reason.contains(expected), "{text:?}: {err}");
        }
    }

    fn label() -> impl Strategy<Value = String> {
        "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?"
    }

    prop_compose! {
        fn arb_member()(
            host in label(),
            zone in prop::sample::select(vec!["example.com", "sip.example.com", "example.net"]),
            priority in any::<u16>(),
            weight in any::<u16>(),
            port in 1u16..,
        ) -> ZoneMember {
            member(&format!("{host}.{zone}"), priority, weight, port)
        }
    }

    /// Valid pools under example.com whose names are their owners' first labels, so that an
    /// import can rebuild them exactly.
    fn arb_pools() -> impl Strategy<Value = Vec<ZonePool>> {
        let pool = (
            prop::sample::select(vec!["example.com", "voip.example.com"]),
            1..=MAX_TTL,
            prop::sample::subsequence(Transport::ALL.to_vec(), 1..=3).prop_shuffle(),
            prop::collection::vec(arb_member(), 1..6),
        );
        prop::collection::btree_map(label(), pool, 1..5).prop_map(|pools| {
            pools
                .into_iter()
                .map(|(name, (zone, ttl, transports, members))| {
                    let mut seen = std::collections::HashSet::new();
                    ZonePool {
                        owner: format!("{name}.{zone}"),
                        name,
                        ttl,
                        transports,
                        members: members
                            .into_iter()
                            .filter(|m| seen.insert((m.target.clone(), m.port)))
                            .collect(),
                    }
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn bind_export_parses_back_to_the_same_records(
            pools in arb_pools(),
            with_origin in any::<bool>(),
        ) {
            let opts = if with_origin { full_options() } else { ExportOptions::default() };
            let records = zone_records(&pools).unwrap();
            let text = render(&pools, ExportFormat::Bind, &opts).unwrap();
            prop_assert_eq!(&parse_zone(&text, None).unwrap(), &records);
            prop_assert_eq!(hickory_records(&text, "example.com."), sorted(records.clone()));
            let json = render(&pools, ExportFormat::Json, &opts).unwrap();
            prop_assert_eq!(&serde_json::from_str::<Vec<ZoneRecord>>(&json).unwrap(), &records);
        }

        #[test]
        fn parsing_any_text_returns_instead_of_panicking(
            text in "(\\PC|[ \t\n();\"\\\\$@.]){0,200}",
            zone_like in "([_a-z0-9.@$ \t\n();\"\\\\]|SRV|IN|ORIGIN|TTL|60|5060){0,60}",
        ) {
            let _ = parse_zone_file(&text, None);
            let _ = parse_zone_file(&zone_like, Some("example.com"));
            if let Ok(parsed) = parse_zone_file(&zone_like, Some("example.com")) {
                let _ = propose_import(&parsed.records);
            }
        }

        #[test]
        fn any_field_value_is_either_refused_or_written_as_a_plain_name(
            value in "\\PC{0,80}|[a-zA-Z0-9._\n;\" ()$-]{1,80}",
            field in 0..3usize,
        ) {
            let mut pools = demo_pools();
            match field {
                0 => pools[0].name = value.clone(),
                1 => pools[0].owner = value.clone(),
                _ => pools[0].members[0].target = value.clone(),
            }
            for format in ExportFormat::ALL {
                if let Ok(text) = render(&pools, format, &full_options()) {
                    prop_assert!(text.is_ascii());
                    prop_assert!(!text.contains(|c: char| c.is_control() && c != '\n'));
                    prop_assert!(text.lines().count() == rendered(format, &full_options()).lines().count());
                }
            }
        }

        #[test]
        fn import_of_an_export_rebuilds_the_pools(pools in arb_pools()) {
            let text = render(&pools, ExportFormat::Bind, &origin_only()).unwrap();
            let proposal = propose_import(&parse_zone(&text, None).unwrap()).unwrap();
            prop_assert!(proposal.warnings.iter().all(|w| w.starts_with("server ")), "{:?}", proposal.warnings);
            let checked = check_pools(&pools).unwrap();
            prop_assert_eq!(proposal.pools.len(), checked.len());
            for (got, want) in proposal.pools.iter().zip(&checked) {
                prop_assert_eq!(&got.name, &want.name);
                prop_assert_eq!(&got.owner, &want.owner);
                prop_assert_eq!(got.ttl, want.ttl);
                prop_assert_eq!(&got.transports, &want.transports);
                prop_assert_eq!(&got.members, &want.members);
            }
            let hosts: std::collections::BTreeSet<&str> =
                checked.iter().flat_map(|p| p.members.iter().map(|m| m.target.as_str())).collect();
            prop_assert_eq!(proposal.servers.len(), hosts.len());
        }
    }
}
