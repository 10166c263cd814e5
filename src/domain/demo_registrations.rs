//! Demo registrations: what the servers of a demo cluster report, built so that every alert
//! kind shows on a fresh start (source document cluster), or a realistic spread for large
//! generated clusters (benchmarks).

use super::demo::{DemoCluster, DemoPool};
use super::registrations::{ContactStatus, Registration};

const USER_AGENTS: [&str; 5] = [
    "Yealink SIP-T46S 66.86.0.15",
    "Snom D785 10.1.73.16",
    "Grandstream GXP2170 1.0.11.23",
    "Fanvil X4U 2.12.1.10",
    "Cisco/SPA504G-7.6.2f",
];

fn phone(ext: u32, code: &str, ua: usize) -> Registration {
    let host = ext % 250 + 2;
    Registration {
        endpoint: format!("{ext}-{code}"),
        tenant: None,
        contact: format!("sip:{ext}-{code}@198.51.100.{host}:5060;ob"),
        user_agent: Some(USER_AGENTS[ua % USER_AGENTS.len()].to_string()),
        status: ContactStatus::Avail,
    }
}

/// One round of reports: (server, its full picture).
pub type Round = Vec<(String, Vec<Registration>)>;

/// The story the demo tells, as rounds of reports: the first is two hours old (it is aged after
/// loading), the later ones are now. In order:
/// - ROSSI, ROMANO, COLOMBO: healthy, whole on their home server;
/// - CANISTRACCI: split 50/50 between voip1 and voip2 (critical split);
/// - BIANCHI: 4 of 85 phones on voip2, about 5%: normal packet-loss behaviour (info);
/// - RICCI (pool pbxB, home voip2): every phone on voip1 (wrong server entirely);
/// - FERRARI: one phone on bigbox, which is not in pool pbxA at all (misconfigured phone);
/// - ROMANO: 3 Grandstream phones still on voip1 two hours after voip2 was back (failback lag);
/// - ESPOSITO: 101-ESPOSITO flaps between voip1 and voip2 (three moves within minutes);
/// - voip2 reports two endpoints that match no tenant;
/// - backupbox reported once, two hours ago, and never since (stale snapshot);
/// - MARINO and GRECO spread over the wiki pool's bigbox/smallbox1/smallbox2 by weight.
pub fn source_document_rounds() -> Vec<Round> {
    let mut voip1 = Vec::new();
    let mut voip2 = Vec::new();
    let range = |code: &str, from: u32, n: u32, ua: usize| -> Vec<Registration> {
        (from..from + n)
            .map(|e| phone(e, code, ua + e as usize))
            .collect()
    };
    voip1.extend(range("ROSSI", 100, 12, 0));
    voip2.extend(range("ROMANO", 100, 61, 0));
    voip1.extend((161..164).map(|e| phone(e, "ROMANO", 2)));
    voip2.extend(range("COLOMBO", 100, 27, 1));
    voip1.extend(range("CANISTRACCI", 100, 24, 0));
    voip2.extend(range("CANISTRACCI", 124, 24, 0));
    voip1.extend(range("BIANCHI", 100, 81, 1));
    voip2.extend(range("BIANCHI", 181, 4, 1));
    voip1.extend(range("RICCI", 100, 9, 3));
    voip1.extend(range("FERRARI", 100, 139, 0));
    voip1.extend(range("ESPOSITO", 102, 5, 4));
    voip2.push(Registration {
        endpoint: "100-NOSUCHTENANT".into(),
        ..phone(100, "NOSUCHTENANT", 1)
    });
    voip2.push(Registration {
        endpoint: "reception".into(),
        contact: "sip:reception@203.0.113.7:5060".into(),
        ..phone(100, "X", 2)
    });
    let bigbox: Vec<Registration> = range("MARINO", 100, 126, 1)
        .into_iter()
        .chain(range("GRECO", 100, 45, 2))
        .chain(std::iter::once(phone(239, "FERRARI", 0)))
        .collect();
    let smallbox1 = range("MARINO", 226, 42, 1)
        .into_iter()
        .chain(range("GRECO", 145, 15, 2))
        .collect();
    let smallbox2 = range("MARINO", 268, 42, 1)
        .into_iter()
        .chain(range("GRECO", 160, 15, 2))
        .collect();
    let flapper = phone(101, "ESPOSITO", 4);
    let with = |list: &Vec<Registration>, extra: Option<&Registration>| -> Vec<Registration> {
        list.iter().cloned().chain(extra.cloned()).collect()
    };
    let wiki = vec![
        ("bigbox".to_string(), bigbox),
        ("smallbox1".to_string(), smallbox1),
        ("smallbox2".to_string(), smallbox2),
    ];
    let mut old = vec![
        ("voip1".to_string(), with(&voip1, Some(&flapper))),
        ("voip2".to_string(), voip2.clone()),
        ("backupbox".to_string(), Vec::new()),
    ];
    old.extend(wiki.iter().cloned());
    // Now: the flapping phone goes voip2, voip1, voip2.
    let now = vec![
        ("voip1".to_string(), voip1.clone()),
        ("voip2".to_string(), with(&voip2, Some(&flapper))),
    ];
    let back = vec![
        ("voip2".to_string(), voip2.clone()),
        ("voip1".to_string(), with(&voip1, Some(&flapper))),
    ];
    let mut last = vec![
        ("voip1".to_string(), voip1),
        ("voip2".to_string(), with(&voip2, Some(&flapper))),
    ];
    last.extend(wiki);
    vec![old, now, back, last]
}

/// Registrations of a generated cluster: each tenant's expected phones, mostly on its pool's
/// primary, about 7% on the secondary, and a few tenants badly split. Deterministic from `seed`.
pub fn generated_registrations(cluster: &DemoCluster, seed: u64) -> Round {
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed);
    let mut by_server: Vec<(String, Vec<Registration>)> = cluster
        .servers
        .iter()
        .map(|s| (s.name.to_string(), Vec::new()))
        .collect();
    let index = |name: &str| cluster.servers.iter().position(|s| s.name == name);
    for t in &cluster.tenants {
        let Some(pool) = t
            .pool
            .as_ref()
            .and_then(|p| cluster.pools.iter().find(|x| &x.name == p))
        else {
            continue;
        };
        let (primary, secondary) = primary_secondary(pool);
        let badly_split = rng.u32(0..100) < 2;
        for i in 0..t.expected_phones {
            // Most phones register and stay on the primary; packet loss leaves some behind.
            let away = if badly_split {
                rng.bool()
            } else {
                rng.u32(0..1000) < 70
            };
            let server = if away { &secondary } else { &primary };
            if let Some(j) = index(server) {
                by_server[j]
                    .1
                    .push(phone(100 + i, &t.code, rng.usize(0..USER_AGENTS.len())));
            }
        }
    }
    by_server
}

fn primary_secondary(pool: &DemoPool) -> (String, String) {
    let mut members: Vec<_> = pool.members.iter().collect();
    members.sort_by_key(|m| (m.priority, std::cmp::Reverse(m.weight)));
    let primary = members
        .first()
        .map(|m| m.server.clone())
        .unwrap_or_default();
    let secondary = members
        .get(1)
        .map(|m| m.server.clone())
        .unwrap_or_else(|| primary.clone());
    (primary, secondary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::demo::{GeneratorSpec, generate_cluster, source_document_cluster};
    use crate::domain::registrations::TenantMatcher;

    #[test]
    fn demo_endpoints_match_their_tenants_with_the_default_rule() {
        let rounds = source_document_rounds();
        let codes: Vec<String> = source_document_cluster()
            .tenants
            .iter()
            .map(|t| t.code.clone())
            .collect();
        let m = TenantMatcher::default();
        let mut unmatched = 0;
        for (_, rows) in &rounds[0] {
            for r in rows {
                match r.tenant_code(&m) {
                    Some(c) if codes.contains(&c) => {}
                    _ => unmatched += 1,
                }
            }
        }
        assert_eq!(unmatched, 2, "exactly the two deliberate strays");
    }

    #[test]
    fn generated_registrations_follow_expected_phones() {
        let c = generate_cluster(GeneratorSpec {
            tenants: 500,
            servers: 6,
            min_phones: 2,
            max_phones: 50,
            seed: 3,
        });
        let rounds = generated_registrations(&c, 3);
        let total: usize = rounds.iter().map(|(_, r)| r.len()).sum();
        let placed: u64 = c
            .tenants
            .iter()
            .filter(|t| t.pool.is_some())
            .map(|t| t.expected_phones as u64)
            .sum();
        assert_eq!(total as u64, placed);
        assert_eq!(rounds, generated_registrations(&c, 3));
    }
}
