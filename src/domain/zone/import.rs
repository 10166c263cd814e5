//! Import, second half: proposing the servers and pools that parsed SRV records describe.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::domain::names::{HostName, MAX_LABEL_LEN, normalise_fqdn};

use super::export::member_order;
use super::{Transport, ZoneError, ZoneMember, ZoneRecord, check_ttl, shown};

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
pub(super) struct UniqueNames {
    taken: HashSet<String>,
    next_suffix: HashMap<String, usize>,
}

impl UniqueNames {
    pub(super) fn claim(&mut self, base: &str) -> String {
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
        let target = HostName::parse(&record.target)
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
        let target = target.into_string();
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
