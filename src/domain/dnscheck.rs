//! Comparing what DNS serves with what pbx-pools would export. Answers are compared as sets:
//! resolvers return SRV records in wire order, never in RFC 2782 order.

use serde::{Deserialize, Serialize};

use super::alerts::{Alert, AlertKind, ObjectRef};
use super::srv::Severity;
use super::zone::ZoneRecord;

/// An SRV record as served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiveSrv {
    pub ttl: u32,
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

/// Why a name could not be checked. Never "in sync".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum LookupProblem {
    NxDomain,
    NoRecords,
    ServFail,
    Refused,
    Timeout,
    Other(String),
}

impl LookupProblem {
    pub fn describe(&self) -> String {
        match self {
            Self::NxDomain => "the name does not exist (NXDOMAIN)".into(),
            Self::NoRecords => "the name exists but has no records of this type".into(),
            Self::ServFail => "the name server failed to answer (SERVFAIL)".into(),
            Self::Refused => "the name server refused the query (REFUSED)".into(),
            Self::Timeout => "no answer before the timeout".into(),
            Self::Other(e) => e.clone(),
        }
    }

    /// Problems of asking, as opposed to answers that differ.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Self::ServFail | Self::Refused | Self::Timeout | Self::Other(_)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Difference {
    pub expected: ZoneRecord,
    pub found: LiveSrv,
    /// Which fields differ: priority, weight, port, ttl.
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OwnerCheck {
    pub owner: String,
    pub problem: Option<LookupProblem>,
    pub missing: Vec<ZoneRecord>,
    pub unexpected: Vec<LiveSrv>,
    pub different: Vec<Difference>,
}

impl OwnerCheck {
    pub fn in_sync(&self) -> bool {
        self.problem.is_none()
            && self.missing.is_empty()
            && self.unexpected.is_empty()
            && self.different.is_empty()
    }
}

/// A target's address lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum TargetProblem {
    /// Neither A nor AAAA: phones cannot reach it.
    NoAddress,
    /// RFC 2782: "the name MUST NOT be an alias".
    Alias(String),
    Lookup(LookupProblem),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TargetCheck {
    pub target: String,
    pub problem: TargetProblem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PoolStatus {
    InSync,
    Drift,
    /// DNS could not be asked (timeouts, SERVFAIL): nothing is known.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PoolCheck {
    pub pool: String,
    pub status: PoolStatus,
    pub owners: Vec<OwnerCheck>,
    pub targets: Vec<TargetCheck>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckReport {
    pub at: i64,
    pub nameservers: Vec<String>,
    pub pools: Vec<PoolCheck>,
}

impl CheckReport {
    /// 0 in sync, 1 drift, 2 DNS could not be asked: the `check-dns` exit code.
    pub fn exit_code(&self) -> i32 {
        if self.pools.iter().any(|p| p.status == PoolStatus::Unknown) {
            2
        } else if self.pools.iter().any(|p| p.status == PoolStatus::Drift) {
            1
        } else {
            0
        }
    }

    /// DNS drift alerts, one per pool that is not in sync.
    pub fn alerts(&self) -> Vec<Alert> {
        self.pools
            .iter()
            .filter(|p| p.status != PoolStatus::InSync)
            .map(|p| {
                let unknown = p.status == PoolStatus::Unknown;
                let (missing, unexpected, different): (usize, usize, usize) = p.owners.iter().fold((0, 0, 0), |acc, o| {
                    (acc.0 + o.missing.len(), acc.1 + o.unexpected.len(), acc.2 + o.different.len())
                });
                let summary = if unknown {
                    format!("The DNS check could not read pool {}'s SRV records: {}.", p.pool, first_problem(p))
                } else {
                    format!(
                        "Pool {}'s live SRV records differ from the export: {missing} missing, {unexpected} unexpected, {different} different{}.",
                        p.pool,
                        if p.targets.is_empty() { String::new() } else { format!(", {} target problem(s)", p.targets.len()) }
                    )
                };
                Alert {
 id: super::alerts::stable_id(&["dns_drift", &p.pool]), impact_phones: 0, facets: Vec::new(), related: Vec::new(),
                    kind: AlertKind::DnsDrift,
                    severity: if unknown { Severity::Warning } else { Severity::Critical },
                    summary,
                    why: "Phones follow what DNS serves, not what the dashboard shows: until DNS matches, tenants register where the live records send them.".into(),
                    action: "Compare with the export on the DNS page and publish it (zone file or nsupdate script), then run the check again.".into(),
                    objects: vec![ObjectRef::pool(&p.pool)],
                }
            })
            .collect()
    }
}

fn first_problem(p: &PoolCheck) -> String {
    p.owners
        .iter()
        .find_map(|o| {
            o.problem
                .as_ref()
                .map(|e| format!("{} for {}", e.describe(), o.owner))
        })
        .unwrap_or_else(|| "unknown error".into())
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

fn exact(e: &ZoneRecord, f: &LiveSrv) -> bool {
    same_name(&e.target, &f.target)
        && e.port == f.port
        && e.priority == f.priority
        && e.weight == f.weight
        && e.ttl == f.ttl
}

/// Compares one owner's expected records with what was served.
pub fn compare_owner(
    owner: &str,
    expected: &[ZoneRecord],
    found: Result<&[LiveSrv], &LookupProblem>,
) -> OwnerCheck {
    let mut check = OwnerCheck {
        owner: owner.to_string(),
        problem: None,
        missing: Vec::new(),
        unexpected: Vec::new(),
        different: Vec::new(),
    };
    let found = match found {
        Ok(f) => f,
        Err(LookupProblem::NxDomain | LookupProblem::NoRecords) if !expected.is_empty() => {
            check.missing = expected.to_vec();
            check.problem = None;
            return check;
        }
        Err(LookupProblem::NxDomain | LookupProblem::NoRecords) => return check,
        Err(p) => {
            check.problem = Some(p.clone());
            return check;
        }
    };
    let mut left: Vec<&ZoneRecord> = expected.iter().collect();
    let mut extra: Vec<&LiveSrv> = Vec::new();
    for f in found {
        if let Some(i) = left.iter().position(|e| exact(e, f)) {
            left.remove(i);
        } else {
            extra.push(f);
        }
    }
    // Same target (and port, when possible) but other values: a changed record.
    for key_port in [true, false] {
        let mut i = 0;
        while i < extra.len() {
            let f = extra[i];
            if let Some(j) = left
                .iter()
                .position(|e| same_name(&e.target, &f.target) && (!key_port || e.port == f.port))
            {
                let e = left.remove(j);
                let mut fields = Vec::new();
                if e.priority != f.priority {
                    fields.push("priority".to_string());
                }
                if e.weight != f.weight {
                    fields.push("weight".to_string());
                }
                if e.port != f.port {
                    fields.push("port".to_string());
                }
                if e.ttl != f.ttl {
                    fields.push("ttl".to_string());
                }
                check.different.push(Difference {
                    expected: e.clone(),
                    found: f.clone(),
                    fields,
                });
                extra.remove(i);
            } else {
                i += 1;
            }
        }
    }
    check.missing = left.into_iter().cloned().collect();
    check.unexpected = extra.into_iter().cloned().collect();
    check
}

/// A pool's status from its owners and targets.
pub fn pool_status(owners: &[OwnerCheck], targets: &[TargetCheck]) -> PoolStatus {
    if owners.iter().any(|o| {
        o.problem
            .as_ref()
            .is_some_and(LookupProblem::is_unreachable)
    }) || targets
        .iter()
        .any(|t| matches!(&t.problem, TargetProblem::Lookup(p) if p.is_unreachable()))
    {
        PoolStatus::Unknown
    } else if owners.iter().all(OwnerCheck::in_sync) && targets.is_empty() {
        PoolStatus::InSync
    } else {
        PoolStatus::Drift
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(priority: u16, weight: u16, port: u16, target: &str) -> ZoneRecord {
        ZoneRecord {
            owner: "_sip._udp.pbxa.example.com".into(),
            ttl: 86_400,
            priority,
            weight,
            port,
            target: target.into(),
        }
    }
    fn live(priority: u16, weight: u16, port: u16, target: &str) -> LiveSrv {
        LiveSrv {
            ttl: 86_400,
            priority,
            weight,
            port,
            target: target.into(),
        }
    }

    #[test]
    fn order_does_not_matter() {
        let e = [
            rec(10, 10, 5060, "voip1.example.com"),
            rec(20, 10, 5060, "voip2.example.com"),
        ];
        let f = [
            live(20, 10, 5060, "VOIP2.example.com."),
            live(10, 10, 5060, "voip1.example.com"),
        ];
        let c = compare_owner("o", &e, Ok(&f));
        assert!(c.in_sync(), "{c:?}");
        assert_eq!(pool_status(&[c], &[]), PoolStatus::InSync);
    }

    #[test]
    fn missing_unexpected_and_different_are_told_apart() {
        let e = [
            rec(10, 10, 5060, "voip1.example.com"),
            rec(20, 10, 5060, "voip2.example.com"),
            rec(30, 0, 5060, "voip3.example.com"),
        ];
        let mut changed = live(10, 50, 5060, "voip1.example.com");
        changed.ttl = 300;
        let f = [
            changed,
            live(20, 10, 5060, "voip2.example.com"),
            live(40, 0, 5060, "rogue.example.com"),
        ];
        let c = compare_owner("o", &e, Ok(&f));
        assert_eq!(c.missing, vec![rec(30, 0, 5060, "voip3.example.com")]);
        assert_eq!(c.unexpected, vec![live(40, 0, 5060, "rogue.example.com")]);
        assert_eq!(c.different.len(), 1);
        assert_eq!(c.different[0].fields, vec!["weight", "ttl"]);
        assert_eq!(pool_status(&[c], &[]), PoolStatus::Drift);
    }

    #[test]
    fn a_server_on_two_ports_pairs_by_port_first() {
        let e = [
            rec(10, 10, 5060, "box.example.com"),
            rec(10, 10, 5066, "box.example.com"),
        ];
        let f = [
            live(10, 10, 5066, "box.example.com"),
            live(10, 20, 5060, "box.example.com"),
        ];
        let c = compare_owner("o", &e, Ok(&f));
        assert_eq!(c.different.len(), 1);
        assert_eq!(c.different[0].fields, vec!["weight"]);
    }

    #[test]
    fn failures_are_never_in_sync() {
        let e = [rec(10, 10, 5060, "voip1.example.com")];
        let nx = compare_owner("o", &e, Err(&LookupProblem::NxDomain));
        assert_eq!(nx.missing.len(), 1);
        assert_eq!(
            pool_status(std::slice::from_ref(&nx), &[]),
            PoolStatus::Drift
        );
        let t = compare_owner("o", &e, Err(&LookupProblem::Timeout));
        assert_eq!(
            pool_status(std::slice::from_ref(&t), &[]),
            PoolStatus::Unknown
        );
        let s = compare_owner("o", &e, Err(&LookupProblem::ServFail));
        let report = CheckReport {
            at: 0,
            nameservers: vec![],
            pools: vec![PoolCheck {
                pool: "pbxA".into(),
                status: pool_status(std::slice::from_ref(&s), &[]),
                owners: vec![s],
                targets: vec![],
            }],
        };
        assert_eq!(report.exit_code(), 2);
        assert_eq!(report.alerts().len(), 1);
        let targets = [TargetCheck {
            target: "voip1.example.com".into(),
            problem: TargetProblem::Alias("x.example.com".into()),
        }];
        let ok = compare_owner("o", &e, Ok(&[live(10, 10, 5060, "voip1.example.com")]));
        assert_eq!(pool_status(&[ok], &targets), PoolStatus::Drift);
    }
}
