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

/// A tenant's phones on one server now, as the history ends (ids as stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryCell {
    pub tenant: i64,
    pub pool: Option<i64>,
    pub server: i64,
    pub phones: i64,
}

/// What [`synthesize_history`] builds on: the counts now, the servers (id, name), the pools,
/// the (pool, server) pairs where a pool's phones are at home, and unmatched phones per server.
#[derive(Debug, Clone, Copy)]
pub struct HistoryInput<'a> {
    pub cells: &'a [HistoryCell],
    pub servers: &'a [(i64, String)],
    pub pools: &'a [i64],
    pub homes: &'a std::collections::HashSet<(i64, i64)>,
    pub unmatched: &'a std::collections::HashMap<i64, i64>,
    pub now_bucket: i64,
    pub bucket_secs: i64,
    pub days: i64,
}

/// Rows of the three series (migration 0019): servers `[server, bucket, registered, away]`,
/// pools `[pool, bucket, registered, away]`, tenants `[tenant, server, bucket, phones]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub servers: Vec<[i64; 4]>,
    pub pools: Vec<[i64; 4]>,
    pub tenants: Vec<[i64; 4]>,
}

/// Beyond this many (tenant, server) pairs the daily rhythm is left out of the tenants' series,
/// which then change only in the outages (a generated 10,000-tenant cluster would otherwise
/// write millions of rows).
const RHYTHM_MAX_CELLS: usize = 2_000;

/// The demo's recorded outages, in seconds before now: (start, end). The latest is the one the
/// story's failback lag follows (ROMANO's phones still on voip1 two hours after voip2 was back).
const OUTAGES: [(i64, i64); 2] = [(150 * 60, 120 * 60), (6 * 86_400 + 3 * 3600, 6 * 86_400)];

/// The share of phones registered at `at` (Unix seconds, UTC hour): all by day, 8% fewer at
/// night (phones switched off), in hourly steps.
fn rhythm(at: i64) -> f64 {
    match at.rem_euclid(86_400) / 3600 {
        8..=17 => 1.0,
        7 | 18..=20 => 0.96,
        _ => 0.92,
    }
}

/// The server that goes down in the demo's outages and where its phones go: voip2 and voip1 in
/// the source document's cluster, otherwise the second and first server by phones.
fn outage_servers(input: &HistoryInput<'_>) -> Option<(i64, i64)> {
    let id = |name: &str| input.servers.iter().find(|s| s.1 == name).map(|s| s.0);
    if let (Some(down), Some(to)) = (id("voip2"), id("voip1")) {
        return Some((down, to));
    }
    let mut by_phones: Vec<(i64, i64)> = input
        .servers
        .iter()
        .map(|(s, _)| {
            let n = input
                .cells
                .iter()
                .filter(|c| c.server == *s)
                .map(|c| c.phones)
                .sum();
            (n, *s)
        })
        .collect();
    by_phones.sort_by(|a, b| b.cmp(a));
    match by_phones.as_slice() {
        [(_, first), (_, second), ..] => Some((*second, *first)),
        _ => None,
    }
}

/// `days` of 5-minute history ending with the counts now: a daily rhythm (fewer phones at
/// night) and the demo story's outages, when every phone of the outage server registers on the
/// failover server (away there unless it is a home of the phone's pool). Deterministic.
pub fn synthesize_history(input: &HistoryInput<'_>) -> History {
    use std::collections::HashMap;
    let step = input.bucket_secs.max(1);
    let buckets = input.days * 86_400 / step;
    let outage = outage_servers(input);
    let rhythmic = input.cells.len() <= RHYTHM_MAX_CELLS;
    let mut out = History::default();
    let mut last: HashMap<(i64, i64), i64> = HashMap::new();
    // The per-bucket state only changes with the hour's rhythm and the outages: recomputed then.
    let mut state: Option<(u64, Option<(i64, i64)>)> = None;
    let mut servers: Vec<(i64, (i64, i64))> = Vec::new();
    let mut pools: Vec<(i64, (i64, i64))> = Vec::new();
    for i in (0..=buckets).rev() {
        let at = input.now_bucket - i * step;
        let ago = input.now_bucket - at;
        let down = outage.filter(|_| OUTAGES.iter().any(|(s, e)| ago <= *s && ago > *e));
        // The newest bucket is the present exactly.
        let factor = if i == 0 || !rhythmic { 1.0 } else { rhythm(at) };
        let key = (factor.to_bits(), down);
        if state != Some(key) {
            state = Some(key);
            let mut by_server: HashMap<i64, (i64, i64)> = input
                .servers
                .iter()
                .map(|(s, _)| (*s, (input.unmatched.get(s).copied().unwrap_or(0), 0)))
                .collect();
            let mut by_pool: HashMap<i64, (i64, i64)> =
                input.pools.iter().map(|p| (*p, (0, 0))).collect();
            let mut values: HashMap<(i64, i64), i64> = HashMap::new();
            for c in input.cells {
                let phones = (c.phones as f64 * factor).round() as i64;
                let server = match down {
                    Some((d, to)) if d == c.server => to,
                    _ => c.server,
                };
                *values.entry((c.tenant, server)).or_default() += phones;
                let away = match c.pool {
                    Some(p) if !input.homes.contains(&(p, server)) => phones,
                    _ => 0,
                };
                let e = by_server.entry(server).or_default();
                e.0 += phones;
                e.1 += away;
                if let Some(p) = c.pool {
                    let e = by_pool.entry(p).or_default();
                    e.0 += phones;
                    e.1 += away;
                }
            }
            // Only the pairs whose count changed get a row (as at ingest).
            let mut changed: Vec<[i64; 4]> = values
                .iter()
                .filter(|(k, v)| last.get(*k).copied().unwrap_or(0) != **v)
                .map(|((t, s), v)| [*t, *s, at, *v])
                .collect();
            changed.extend(
                last.iter()
                    .filter(|(k, v)| **v != 0 && !values.contains_key(*k))
                    .map(|((t, s), _)| [*t, *s, at, 0]),
            );
            for r in &changed {
                last.insert((r[0], r[1]), r[3]);
            }
            out.tenants.extend(changed);
            servers = by_server.into_iter().collect();
            servers.sort();
            pools = by_pool.into_iter().collect();
            pools.sort();
        }
        out.servers
            .extend(servers.iter().map(|(s, (r, a))| [*s, at, *r, *a]));
        out.pools
            .extend(pools.iter().map(|(p, (r, a))| [*p, at, *r, *a]));
    }
    out.tenants.sort_by_key(|r| (r[0], r[1], r[2]));
    out
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

    fn history_input_cells() -> Vec<HistoryCell> {
        vec![
            HistoryCell {
                tenant: 1,
                pool: Some(10),
                server: 1,
                phones: 100,
            },
            HistoryCell {
                tenant: 2,
                pool: Some(20),
                server: 2,
                phones: 50,
            },
        ]
    }

    #[test]
    fn history_ends_with_the_present_and_shows_the_outage() {
        use std::collections::{HashMap, HashSet};
        let cells = history_input_cells();
        let servers = vec![(1, "voip1".to_string()), (2, "voip2".to_string())];
        let homes: HashSet<(i64, i64)> = [(10, 1), (20, 2)].into_iter().collect();
        let unmatched: HashMap<i64, i64> = [(2, 2)].into_iter().collect();
        // A bucket start (a multiple of 300), at 08:00 UTC.
        let now = 1_800_000_000;
        let h = synthesize_history(&HistoryInput {
            cells: &cells,
            servers: &servers,
            pools: &[10, 20],
            homes: &homes,
            unmatched: &unmatched,
            now_bucket: now,
            bucket_secs: 300,
            days: 14,
        });
        // 14 days of 5-minute buckets and the present, per server and pool.
        assert_eq!(h.servers.len(), 2 * (14 * 288 + 1));
        assert_eq!(h.pools.len(), 2 * (14 * 288 + 1));
        let at = |rows: &Vec<[i64; 4]>, key: i64, t: i64| {
            rows.iter().find(|r| r[0] == key && r[1] == t).copied()
        };
        assert_eq!(at(&h.servers, 2, now), Some([2, now, 52, 0]));
        assert_eq!(at(&h.servers, 1, now), Some([1, now, 100, 0]));
        // Two and a quarter hours ago voip2 was down: its phones were away on voip1.
        let outage = now - 135 * 60;
        let v1 = at(&h.servers, 1, outage).unwrap();
        let v2 = at(&h.servers, 2, outage).unwrap();
        assert_eq!(v2[2], 2, "only the unmatched stay listed");
        assert!(v1[3] > 40, "pool 20's phones away on voip1: {v1:?}");
        let p20 = at(&h.pools, 20, outage).unwrap();
        assert_eq!(p20[2], p20[3], "the whole pool away");
        // The tenant series: the last row of each pair is the present.
        let last = |t: i64, s: i64| h.tenants.iter().rfind(|r| r[0] == t && r[1] == s).copied();
        assert_eq!(last(1, 1), Some([1, 1, now, 100]));
        assert_eq!(last(2, 2), Some([2, 2, now, 50]));
        assert_eq!(
            last(2, 1).map(|r| r[3]),
            Some(0),
            "the borrowed phones left voip1"
        );
        assert!(h.tenants.iter().any(|r| r[0] == 2 && r[1] == 1 && r[3] > 0));
        assert_eq!(
            h,
            synthesize_history(&HistoryInput {
                cells: &cells,
                servers: &servers,
                pools: &[10, 20],
                homes: &homes,
                unmatched: &unmatched,
                now_bucket: now,
                bucket_secs: 300,
                days: 14,
            })
        );
    }
}
