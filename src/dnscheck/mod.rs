//! The live DNS check: asks name servers (hickory-resolver) for every pool's SRV records and
//! their targets' addresses, and compares them with what pbx-pools would export.
//!
//! May import [`crate::domain`] (the comparison itself is pure, in `domain::dnscheck`) and
//! hickory-resolver; nothing of `store`, `app` or `web`.

pub mod resolve;

use crate::domain::dnscheck::{
    CheckReport, LiveSrv, LookupProblem, PoolCheck, TargetCheck, TargetProblem, compare_owner,
    pool_status,
};
use crate::domain::model::Pool;
use crate::domain::zone::zone_records;
use resolve::{LookupError, Resolver, ResolverOptions};

impl From<LookupError> for LookupProblem {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::NxDomain => LookupProblem::NxDomain,
            LookupError::NoRecords => LookupProblem::NoRecords,
            LookupError::ServFail => LookupProblem::ServFail,
            LookupError::Refused => LookupProblem::Refused,
            LookupError::Timeout => LookupProblem::Timeout,
            LookupError::Other(m) => LookupProblem::Other(m),
        }
    }
}

/// Checks `pools` (all of them when `only` is empty) against the name servers of `opts`.
pub async fn check(opts: &ResolverOptions, pools: &[Pool], only: &[String]) -> CheckReport {
    let nameservers = if opts.nameservers.is_empty() {
        vec!["system resolver".to_string()]
    } else {
        opts.nameservers.iter().map(|a| a.to_string()).collect()
    };
    let at = jiff::Timestamp::now().as_second();
    let resolver = match Resolver::new(opts) {
        Ok(r) => r,
        Err(e) => {
            let problem = LookupProblem::from(e);
            let pools = pools
                .iter()
                .filter(|p| only.is_empty() || only.iter().any(|n| n == p.name.as_str()))
                .map(|p| unknown(p, problem.clone()))
                .collect();
            return CheckReport {
                at,
                nameservers,
                pools,
            };
        }
    };
    // Pools are checked concurrently, so an unreachable server costs one timeout, not one per
    // query.
    let mut tasks = tokio::task::JoinSet::new();
    for (index, pool) in pools
        .iter()
        .filter(|p| only.is_empty() || only.iter().any(|n| n == p.name.as_str()))
        .enumerate()
    {
        let (resolver, pool) = (resolver.clone(), pool.clone());
        tasks.spawn(async move { (index, check_pool(&resolver, &pool).await) });
    }
    let mut out: Vec<(usize, PoolCheck)> = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(result) => out.push(result),
            Err(e) => tracing::error!(error = %e, "a DNS check task failed"),
        }
    }
    out.sort_by_key(|(i, _)| *i);
    let out = out.into_iter().map(|(_, p)| p).collect();
    CheckReport {
        at,
        nameservers,
        pools: out,
    }
}

async fn check_pool(resolver: &Resolver, pool: &Pool) -> PoolCheck {
    let expected = match zone_records(&[pool.zone_pool(None)]) {
        Ok(r) => r,
        Err(e) => {
            return unknown(
                pool,
                LookupProblem::Other(format!("the pool cannot be exported: {e}")),
            );
        }
    };
    let mut owners = Vec::new();
    let mut owner_names: Vec<String> = expected.iter().map(|r| r.owner.clone()).collect();
    owner_names.dedup();
    for owner in owner_names {
        let mine: Vec<_> = expected
            .iter()
            .filter(|r| r.owner == owner)
            .cloned()
            .collect();
        let check = match resolver.srv(&owner).await {
            Ok(list) => {
                let found: Vec<LiveSrv> = list
                    .into_iter()
                    .map(|a| LiveSrv {
                        ttl: a.ttl,
                        priority: a.priority,
                        weight: a.weight,
                        port: a.port,
                        target: a.target,
                    })
                    .collect();
                compare_owner(&owner, &mine, Ok(&found))
            }
            Err(e) => compare_owner(&owner, &mine, Err(&LookupProblem::from(e))),
        };
        owners.push(check);
    }
    let mut hosts: Vec<&str> = pool.members.iter().map(|m| m.host.as_str()).collect();
    hosts.sort();
    hosts.dedup();
    // When the name servers did not answer for the pool itself, asking for each target would
    // only add timeouts: the pool is unknown either way.
    if owners.iter().any(|o| {
        o.problem
            .as_ref()
            .is_some_and(LookupProblem::is_unreachable)
    }) {
        hosts.clear();
    }
    let mut targets = Vec::new();
    for host in hosts {
        let problem = match resolver.addresses(host).await {
            Ok(a) if a.cname.is_some() => Some(TargetProblem::Alias(a.cname.unwrap_or_default())),
            Ok(a) if a.v4.is_empty() && a.v6.is_empty() => Some(TargetProblem::NoAddress),
            Ok(_) => None,
            Err(LookupError::NxDomain | LookupError::NoRecords) => Some(TargetProblem::NoAddress),
            Err(e) => Some(TargetProblem::Lookup(e.into())),
        };
        if let Some(problem) = problem {
            targets.push(TargetCheck {
                target: host.to_string(),
                problem,
            });
        }
    }
    PoolCheck {
        pool: pool.name.to_string(),
        status: pool_status(&owners, &targets),
        owners,
        targets,
    }
}

fn unknown(pool: &Pool, problem: LookupProblem) -> PoolCheck {
    let owner = crate::domain::dnscheck::OwnerCheck {
        owner: pool.srv_name.to_string(),
        problem: Some(problem),
        missing: Vec::new(),
        unexpected: Vec::new(),
        different: Vec::new(),
    };
    PoolCheck {
        pool: pool.name.to_string(),
        status: crate::domain::dnscheck::PoolStatus::Unknown,
        owners: vec![owner],
        targets: Vec::new(),
    }
}

/// Resolver options from the settings (or the command line's `--nameserver`s).
pub fn options(
    settings: &crate::domain::settings::Settings,
    override_ns: &[std::net::SocketAddr],
) -> ResolverOptions {
    let nameservers = if override_ns.is_empty() {
        crate::domain::settings::parse_nameservers(&settings.dns_nameservers).unwrap_or_default()
    } else {
        override_ns.to_vec()
    };
    ResolverOptions {
        nameservers,
        timeout: std::time::Duration::from_millis(settings.dns_timeout_ms.max(50) as u64),
        attempts: settings.dns_attempts.max(1) as usize,
    }
}

/// A readable report for the command line.
pub fn render_text(report: &CheckReport) -> String {
    use crate::domain::dnscheck::PoolStatus;
    let mut out = format!("DNS check against {}\n", report.nameservers.join(", "));
    for p in &report.pools {
        let status = match p.status {
            PoolStatus::InSync => "in sync",
            PoolStatus::Drift => "DRIFT",
            PoolStatus::Unknown => "UNKNOWN (DNS could not be asked)",
        };
        out.push_str(&format!("pool {}: {status}\n", p.pool));
        for o in &p.owners {
            if let Some(problem) = &o.problem {
                out.push_str(&format!("  {}: {}\n", o.owner, problem.describe()));
            }
            for m in &o.missing {
                out.push_str(&format!(
                    "  missing     {}. {} IN SRV {} {} {} {}.\n",
                    m.owner, m.ttl, m.priority, m.weight, m.port, m.target
                ));
            }
            for u in &o.unexpected {
                out.push_str(&format!(
                    "  unexpected  {}. {} IN SRV {} {} {} {}.\n",
                    o.owner, u.ttl, u.priority, u.weight, u.port, u.target
                ));
            }
            for d in &o.different {
                out.push_str(&format!(
                    "  different   {}. {} ({}): expected {} {} {} {} ttl {}, found {} {} {} {} ttl {}\n",
                    o.owner,
                    d.expected.target,
                    d.fields.join(", "),
                    d.expected.priority,
                    d.expected.weight,
                    d.expected.port,
                    d.expected.target,
                    d.expected.ttl,
                    d.found.priority,
                    d.found.weight,
                    d.found.port,
                    d.found.target,
                    d.found.ttl
                ));
            }
        }
        for t in &p.targets {
            let what = match &t.problem {
                TargetProblem::NoAddress => "has no A or AAAA record".to_string(),
                TargetProblem::Alias(to) => {
                    format!("is an alias (CNAME to {to}); RFC 2782 forbids alias targets")
                }
                TargetProblem::Lookup(p) => p.describe(),
            };
            out.push_str(&format!("  target {} {what}\n", t.target));
        }
    }
    out
}
