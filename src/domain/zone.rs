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
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::names::{MAX_LABEL_LEN, MAX_NAME_LEN, check_short_name, normalise_fqdn};

/// RFC 2181 §8: a TTL is an unsigned 32-bit number whose top bit must be zero.
pub const MAX_TTL: u32 = 2_147_483_647;

/// SIP transports a pool is published for; each becomes its own SRV owner name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    /// In the order records are exported.
    pub const ALL: [Transport; 3] = [Self::Udp, Self::Tcp, Self::Tls];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
        }
    }

    /// RFC 3263 §4.1 service labels: SIP over TLS is `_sips._tcp`, not `_sip._tls`.
    pub fn service_prefix(self) -> &'static str {
        match self {
            Self::Udp => "_sip._udp",
            Self::Tcp => "_sip._tcp",
            Self::Tls => "_sips._tcp",
        }
    }

    /// Splits an SRV owner such as `_sip._udp.pbxa.example.com` into its transport and the
    /// pool's owner name (`pbxa.example.com`). Case-insensitive, as DNS names are.
    pub fn split_owner(owner: &str) -> Option<(Transport, &str)> {
        Self::ALL.into_iter().find_map(|transport| {
            let prefix = transport.service_prefix();
            let head = owner.get(..prefix.len())?;
            let rest = owner[prefix.len()..].strip_prefix('.')?;
            head.eq_ignore_ascii_case(prefix).then_some((transport, rest))
        })
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Transport {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown transport {}: use udp, tcp or tls", shown(s)))
    }
}

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
    for (index, pool) in pools.iter().enumerate() {
        let name = check_short_name(&pool.name).map_err(|e| {
            ZoneError::new(format!("pool #{}: name {} {e}", index + 1, shown(&pool.name)))
        })?;
        let field = |what: &str, e: String| ZoneError::new(format!("pool {name}: {what} {e}"));
        let owner = normalise_fqdn(&pool.owner)
            .map_err(|e| field(&format!("owner {}", shown(&pool.owner)), e))?;
        let ttl = check_ttl(pool.ttl).map_err(|e| field("TTL:", e))?;
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
                field(&format!("member {} target {}", i + 1, shown(&member.target)), e)
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
        if let Some(other) = checked.iter().find(|p| p.owner == owner) {
            // Two pools on one owner would merge into one RRset, and nsupdate's delete for the
            // second would wipe the first.
            return Err(ZoneError::new(format!(
                "pools {} and {name} are both published at {owner}",
                other.name
            )));
        }
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
            normalise_fqdn(o)
                .map_err(|e| ZoneError::new(format!("zone origin {} {e}", shown(o))))
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
            return Err(refuse("may only contain letters, digits, '-', '_' and dots"));
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
        format!("pool {}: {} has no members, nothing published", pool.name, pool.owner)
    } else if pool.transports.is_empty() {
        format!("pool {}: {} has no transports, nothing published", pool.name, pool.owner)
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
        out.push_str(&format!("{name}:\n  ttl: {}\n  type: SRV\n  values:\n", pool.ttl));
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
            check_origin(o)
                .map_err(|e| ZoneError::new(format!("zone origin {} {e}", shown(o))))
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
            return Err(format!("has a label longer than {MAX_LABEL_LEN} characters"));
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
            return self
                .origin
                .clone()
                .ok_or_else(|| "@ stands for the origin, but no $ORIGIN or zone origin is set".into());
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
                    format!("expected a TTL, class or record type, found the quoted {}", shown(&token.text)),
                ));
            }
            if token.text.starts_with(|c: char| c.is_ascii_digit()) && ttl.is_none() {
                ttl = Some(parse_ttl(&token.text).ok_or_else(|| {
                    ZoneError::at(line, format!("TTL {} is not a number of seconds", shown(&token.text)))
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
            self.skip(format!("SRV class {}", kind_label(class.as_deref().unwrap_or(""))));
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
            _ => Err(ZoneError::at(line, format!("{directive} takes exactly one value"))),
        };
        match directive.as_str() {
            "$ORIGIN" => {
                let arg = single_arg()?;
                let name = self
                    .resolve(arg)
                    .and_then(|n| if n.is_empty() { Ok(n) } else { check_origin(&n) })
                    .map_err(|e| ZoneError::at(line, format!("$ORIGIN {} {e}", shown(&arg.text))))?;
                self.origin = Some(name);
            }
            "$TTL" => {
                let arg = single_arg()?;
                self.default_ttl = Some(parse_ttl(&arg.text).ok_or_else(|| {
                    ZoneError::at(line, format!("$TTL {} is not a number of seconds", shown(&arg.text)))
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
        let (written, owner) = self
            .last_owner
            .clone()
            .ok_or_else(|| err("the SRV record has no owner name on its line or before it".into()))?;
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

/// Makes `base` unique among `taken` (compared without case) by adding `-2`, `-3`, ...,
/// shortening it so the result stays a valid short name.
fn unique_name(base: &str, taken: &[String]) -> String {
    let clash = |n: &str| taken.iter().any(|t| t.eq_ignore_ascii_case(n));
    if !clash(base) {
        return base.to_string();
    }
    (2..)
        .map(|i| {
            let suffix = format!("-{i}");
            let keep = base.len().min(MAX_LABEL_LEN - suffix.len());
            format!("{}{suffix}", base[..keep].trim_end_matches('-'))
        })
        .find(|n| !clash(n))
        .unwrap_or_else(|| base.to_string())
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
    let mut targets: Vec<(String, Vec<u16>)> = Vec::new();

    for (i, record) in records.iter().enumerate() {
        let refuse = |e: String| ZoneError::new(format!("record {} ({}): {e}", i + 1, shown(&record.owner)));
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
        let index = match owners.iter().position(|(o, _)| *o == pool_owner) {
            Some(index) => index,
            None => {
                owners.push((pool_owner, BTreeMap::new()));
                owners.len() - 1
            }
        };
        let (members, ttls) = owners[index].1.entry(transport).or_default();
        members.push(member);
        ttls.push(ttl);
        match targets.iter_mut().find(|(t, _)| *t == target) {
            Some((_, ports)) => ports.push(record.port),
            None => targets.push((target, vec![record.port])),
        }
    }
    if owners.is_empty() {
        return Err(ZoneError::new(
            "no _sip._udp, _sip._tcp or _sips._tcp SRV records to import",
        ));
    }

    let mut pools: Vec<ProposedPool> = Vec::with_capacity(owners.len());
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
                ttls.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            ));
        }
        let taken: Vec<String> = pools.iter().map(|p| p.name.clone()).collect();
        let name = unique_name(first_label(&owner), &taken);
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
        let taken: Vec<String> = servers.iter().map(|s| s.name.clone()).collect();
        let name = unique_name(first_label(&host), &taken);
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
