//! Export: the SRV records of validated pools, rendered for BIND, nsupdate, JSON, octoDNS and
//! DNSControl.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::net::IpAddr;

use crate::domain::model::check_srv_owner_length;
use crate::domain::names::{HostName, MAX_LABEL_LEN, MAX_NAME_LEN, PoolName, normalise_fqdn};

use super::parse::parse_decimal;
use super::{
    ExportFormat, ExportOptions, Transport, ZoneError, ZoneMember, ZonePool, ZoneRecord, check_ttl,
    shown,
};

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

/// A pool after validation: canonical names, transports in export order, members sorted.
pub(super) struct CheckedPool {
    pub(super) name: PoolName,
    pub(super) owner: HostName,
    pub(super) ttl: u32,
    pub(super) transports: Vec<Transport>,
    pub(super) left_out: Vec<Transport>,
    pub(super) members: Vec<ZoneMember>,
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
                target: m.target.to_string(),
            })
        })
    }
}

/// The order members are exported in: as RFC 2782 clients consider them, lowest priority first,
/// then the heaviest weight first, then target and port so that ties are stable. It reproduces
/// the source document's listing (bigbox 60, smallbox1 20, smallbox2 10 on 5060 then 5066).
pub(super) fn member_order(a: &ZoneMember, b: &ZoneMember) -> Ordering {
    a.priority
        .cmp(&b.priority)
        .then(b.weight.cmp(&a.weight))
        .then_with(|| a.target.cmp(&b.target))
        .then(a.port.cmp(&b.port))
}

pub(super) fn check_pools(pools: &[ZonePool]) -> Result<Vec<CheckedPool>, ZoneError> {
    let mut checked: Vec<CheckedPool> = Vec::with_capacity(pools.len());
    let mut owners: HashMap<HostName, usize> = HashMap::with_capacity(pools.len());
    for pool in pools {
        // The names are `PoolName` and `HostName`, checked when they were made: what is left to
        // check here is what only the whole pool shows (owner length with its service prefix,
        // duplicate records, two pools on one owner) and the numbers.
        let name = pool.name.clone();
        let owner = pool.owner.clone();
        let field = |what: &str, e: String| ZoneError::new(format!("pool {name}: {what} {e}"));
        let ttl = check_ttl(pool.ttl).map_err(|e| ZoneError::new(format!("pool {name}: {e}")))?;
        let mut transports = pool.transports.clone();
        transports.sort();
        transports.dedup();
        // The rule pool validation applies on save; rows an older release stored may break it.
        check_srv_owner_length(&owner, &transports)
            .map_err(|e| field(&format!("owner {owner}"), e))?;
        let mut members = Vec::with_capacity(pool.members.len());
        for (i, member) in pool.members.iter().enumerate() {
            if member.port == 0 {
                return Err(field(
                    &format!("member {} ({}) port 0", i + 1, member.target),
                    "is not a port: use 1–65535".into(),
                ));
            }
            members.push(member.clone());
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
            left_out: pool.left_out.clone(),
            members,
        });
    }
    Ok(checked)
}

/// The SRV records of `pools`: one per (pool, transport, member).
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
    if let Some(t) = opts.default_ttl {
        check_ttl(t).map_err(|e| ZoneError::new(format!("default {e}")))?;
    }
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
pub(super) fn zone_name(name: &str, origin: Option<&str>) -> String {
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
    } else if pool.transports.is_empty() && !pool.left_out.is_empty() {
        let has: Vec<String> = pool.left_out.iter().map(|t| t.to_string()).collect();
        format!(
            "pool {}: {} has none of the chosen transports (it has {}), nothing published",
            pool.name,
            pool.owner,
            has.join(", ")
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
pub(super) fn natural_cmp(a: &str, b: &str) -> Ordering {
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
