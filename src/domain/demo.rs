//! Demo clusters: the source document's own examples, and a deterministic generator of large,
//! realistic clusters for benchmarks and load tests.

use super::model::{NewServer, ServerState, Transport};
use super::names::{HostName, ServerName};

/// A member of a demo pool, naming its server by short name.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoMember {
    pub server: String,
    pub priority: u16,
    pub weight: u16,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoPool {
    pub name: String,
    pub srv_name: String,
    pub ttl: u32,
    pub transports: Vec<Transport>,
    pub members: Vec<DemoMember>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoTenant {
    pub code: String,
    pub name: String,
    pub expected_phones: u32,
    pub pool: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DemoCluster {
    pub servers: Vec<NewServer>,
    pub pools: Vec<DemoPool>,
    pub tenants: Vec<DemoTenant>,
}

impl DemoCluster {
    pub fn total_phones(&self) -> u64 {
        self.tenants.iter().map(|t| t.expected_phones as u64).sum()
    }
}

fn server(name: &str, domain: &str, capacity: Option<u32>, site: &str) -> NewServer {
    NewServer {
        name: ServerName::parse(name).expect("demo server names are valid"),
        host: HostName::parse(&format!("{name}.{domain}")).expect("demo host names are valid"),
        sip_port: 5060,
        capacity,
        site: Some(site.to_string()),
        state: ServerState::Active,
    }
}

fn member(server: &str, priority: u16, weight: u16, port: Option<u16>) -> DemoMember {
    DemoMember {
        server: server.to_string(),
        priority,
        weight,
        port,
    }
}

/// The source document's clusters: the two-server MiRTA setup with pools pbxA/pbxB, and the
/// Wikipedia five-record example (bigbox, smallbox1, smallbox2 on two ports, backupbox).
pub fn source_document_cluster() -> DemoCluster {
    let servers = vec![
        server("voip1", "example.com", Some(400), "Milan"),
        server("voip2", "example.com", Some(400), "Milan"),
        server("bigbox", "example.com", Some(600), "Rome"),
        server("smallbox1", "example.com", Some(200), "Rome"),
        server("smallbox2", "example.com", Some(200), "Rome"),
        server("backupbox", "example.com", Some(300), "Turin"),
    ];
    let pools = vec![
        DemoPool {
            name: "pbxA".into(),
            srv_name: "pbxa.example.com".into(),
            ttl: 86_400,
            transports: vec![Transport::Udp],
            members: vec![member("voip1", 10, 10, None), member("voip2", 20, 10, None)],
        },
        DemoPool {
            name: "pbxB".into(),
            srv_name: "pbxb.example.com".into(),
            ttl: 86_400,
            transports: vec![Transport::Udp],
            members: vec![member("voip2", 10, 10, None), member("voip1", 20, 10, None)],
        },
        DemoPool {
            name: "wiki".into(),
            srv_name: "example.com".into(),
            ttl: 86_400,
            transports: vec![Transport::Tcp],
            members: vec![
                member("bigbox", 10, 60, None),
                member("smallbox1", 10, 20, None),
                member("smallbox2", 10, 10, None),
                member("smallbox2", 10, 10, Some(5066)),
                member("backupbox", 20, 0, None),
            ],
        },
    ];
    let tenant = |code: &str, name: &str, phones: u32, pool: Option<&str>| DemoTenant {
        code: code.into(),
        name: name.into(),
        expected_phones: phones,
        pool: pool.map(str::to_string),
    };
    let tenants = vec![
        tenant("CANISTRACCI", "Canistracci Trasporti", 48, Some("pbxA")),
        tenant("ROSSI", "Studio Rossi", 12, Some("pbxA")),
        tenant("BIANCHI", "Bianchi Costruzioni", 85, Some("pbxA")),
        tenant("FERRARI", "Ferrari Logistica", 140, Some("pbxA")),
        tenant("ESPOSITO", "Esposito & Figli", 6, Some("pbxA")),
        tenant("ROMANO", "Hotel Romano", 64, Some("pbxB")),
        tenant("COLOMBO", "Colombo Assicurazioni", 27, Some("pbxB")),
        tenant("RICCI", "Ricci Dental", 9, Some("pbxB")),
        tenant("MARINO", "Marino Shipping", 210, Some("wiki")),
        tenant("GRECO", "Greco Pharma", 75, Some("wiki")),
        tenant("BRUNO", "Bruno Legal", 18, Some("pbxB")),
        tenant("GALLO", "Gallo Retail", 33, None),
    ];
    DemoCluster {
        servers,
        pools,
        tenants,
    }
}

/// Parameters of a generated cluster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeneratorSpec {
    pub tenants: u32,
    pub servers: u32,
    pub min_phones: u32,
    pub max_phones: u32,
    pub seed: u64,
}

/// Parses a `--phones-per-tenant` range such as `5-300`.
pub fn parse_phone_range(s: &str) -> Result<(u32, u32), String> {
    let (lo, hi) = s
        .split_once('-')
        .ok_or_else(|| format!("{s:?} is not a range like 5-300"))?;
    let lo: u32 = lo
        .trim()
        .parse()
        .map_err(|_| format!("{lo:?} is not a number"))?;
    let hi: u32 = hi
        .trim()
        .parse()
        .map_err(|_| format!("{hi:?} is not a number"))?;
    if lo == 0 || lo > hi || hi > 100_000 {
        return Err(format!(
            "range {lo}-{hi} must satisfy 1 <= low <= high <= 100000"
        ));
    }
    Ok((lo, hi))
}

const SYLLABLES: [&str; 24] = [
    "ba", "ce", "di", "fo", "gu", "la", "me", "ni", "po", "ru", "sa", "te", "vi", "zo", "ca", "re",
    "to", "li", "na", "mo", "ga", "be", "ri", "lo",
];
const KINDS: [&str; 10] = [
    "Srl",
    "SpA",
    "Hotel",
    "Studio",
    "Logistica",
    "Dental",
    "Legal",
    "Retail",
    "Pharma",
    "Group",
];

/// Generates a cluster of server pairs, two pools per pair (each server primary in one), and
/// tenants whose sizes follow a heavy-tailed distribution (most are small offices, a few are
/// large), deterministically from `seed`. Pool choice is skewed towards the first pool of a pair
/// so the generated cluster needs rebalancing, as real ones do.
pub fn generate_cluster(spec: GeneratorSpec) -> DemoCluster {
    let mut rng = fastrand::Rng::with_seed(spec.seed);
    let server_count = spec.servers.max(2);
    let pairs = server_count.div_ceil(2);
    let mut servers = Vec::with_capacity(server_count as usize);
    let mut pools = Vec::with_capacity(pairs as usize * 2);
    for p in 0..pairs {
        let a = format!("voip{}", 2 * p + 1);
        // An odd server count pairs the last server with the first one.
        let b = if 2 * p + 2 <= server_count {
            format!("voip{}", 2 * p + 2)
        } else {
            "voip1".to_string()
        };
        for name in [&a, &b] {
            if !servers.iter().any(|s: &NewServer| &s.name == name) {
                servers.push(server(
                    name,
                    "example.net",
                    None,
                    &format!("dc{}", p % 3 + 1),
                ));
            }
        }
        for (suffix, primary, secondary) in [("a", &a, &b), ("b", &b, &a)] {
            let name = format!("pbx{}{}", p + 1, suffix);
            pools.push(DemoPool {
                srv_name: format!("{}.example.net", name.to_ascii_lowercase()),
                name,
                ttl: 86_400,
                transports: vec![Transport::Udp],
                members: vec![
                    member(primary, 10, 10, None),
                    member(secondary, 20, 10, None),
                ],
            });
        }
    }
    let span = (spec.max_phones - spec.min_phones) as f64;
    let mut tenants = Vec::with_capacity(spec.tenants as usize);
    for i in 0..spec.tenants {
        // u^6 puts most tenants near the minimum with a long tail up to the maximum.
        let u = rng.f64();
        let phones = spec.min_phones + (span * u.powi(6)).round() as u32;
        let pool = if rng.u32(0..100) < 3 {
            None
        } else {
            let pair = rng.u32(0..pairs) as usize;
            let second = rng.u32(0..100) < 30;
            Some(pools[pair * 2 + usize::from(second)].name.clone())
        };
        let word: String = (0..rng.usize(2..4))
            .map(|_| SYLLABLES[rng.usize(0..SYLLABLES.len())])
            .collect();
        let mut display = word.clone();
        if let Some(first) = display.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        tenants.push(DemoTenant {
            code: format!("{}{}", word.to_ascii_uppercase(), i + 1),
            name: format!("{display} {}", KINDS[rng.usize(0..KINDS.len())]),
            expected_phones: phones,
            pool,
        });
    }
    // Capacity: twice the even share, so a balanced cluster survives any single failure at
    // about 100% and the skewed generated assignment does not.
    let total: u64 = tenants.iter().map(|t| t.expected_phones as u64).sum();
    let per_server = (total as f64 / server_count as f64 * 2.0 / 100.0).ceil() as u32 * 100;
    for s in &mut servers {
        s.capacity = Some(per_server.max(100));
    }
    DemoCluster {
        servers,
        pools,
        tenants,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::names::{check_short_name, check_tenant_code, normalise_fqdn};

    fn assert_valid(c: &DemoCluster) {
        for s in &c.servers {
            check_short_name(&s.name).unwrap();
            normalise_fqdn(&s.host).unwrap();
        }
        for p in &c.pools {
            check_short_name(&p.name).unwrap();
            normalise_fqdn(&p.srv_name).unwrap();
            for m in &p.members {
                assert!(c.servers.iter().any(|s| s.name == m.server), "{}", m.server);
            }
        }
        let mut codes: Vec<_> = c.tenants.iter().map(|t| t.code.to_lowercase()).collect();
        for t in &c.tenants {
            check_tenant_code(&t.code).unwrap();
            if let Some(p) = &t.pool {
                assert!(c.pools.iter().any(|x| &x.name == p));
            }
        }
        let n = codes.len();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), n, "tenant codes must be unique");
    }

    #[test]
    fn source_cluster_matches_the_document() {
        let c = source_document_cluster();
        assert_valid(&c);
        let wiki = c.pools.iter().find(|p| p.name == "wiki").unwrap();
        let weights: Vec<u16> = wiki.members.iter().map(|m| m.weight).collect();
        assert_eq!(weights, vec![60, 20, 10, 10, 0]);
        assert!(c.tenants.iter().filter(|t| t.pool.is_none()).count() >= 1);
        assert!(c.tenants.len() >= 12);
    }

    #[test]
    fn generator_is_deterministic_and_valid() {
        let spec = GeneratorSpec {
            tenants: 2000,
            servers: 7,
            min_phones: 3,
            max_phones: 400,
            seed: 42,
        };
        let a = generate_cluster(spec);
        let b = generate_cluster(spec);
        assert_eq!(a, b);
        assert_valid(&a);
        assert_eq!(a.servers.len(), 7);
        assert_eq!(a.pools.len(), 8);
        assert!(
            a.tenants
                .iter()
                .all(|t| (3..=400).contains(&t.expected_phones))
        );
        // Skewed: the median tenant is far below the middle of the range.
        let mut sizes: Vec<u32> = a.tenants.iter().map(|t| t.expected_phones).collect();
        sizes.sort();
        assert!(
            sizes[sizes.len() / 2] < 100,
            "median {}",
            sizes[sizes.len() / 2]
        );
        let c = generate_cluster(GeneratorSpec { seed: 43, ..spec });
        assert_ne!(a, c);
    }

    #[test]
    fn phone_range_parsing() {
        assert_eq!(parse_phone_range("5-300").unwrap(), (5, 300));
        assert!(parse_phone_range("300-5").is_err());
        assert!(parse_phone_range("0-5").is_err());
        assert!(parse_phone_range("five").is_err());
    }
}
