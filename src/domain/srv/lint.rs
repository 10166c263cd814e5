//! Pool lint: the pool shapes the source document warns about, and how much attention each needs.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::{ClientModel, ServerShare, SrvRecord, host_key, srv_shares};

/// How much attention an alert or lint finding needs.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A problem with the shape of one pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PoolLint {
    /// The pool publishes no records.
    NoMembers,
    /// Every record of the pool points at one server: nothing to fail over to.
    SingleServer { target: String },
    /// Several servers get phones at the top priority: the source document's "single pool,
    /// random registration" anti-pattern.
    SharedTopPriority {
        priority: u16,
        servers: Vec<String>,
        /// The chance that all phones of a 10-phone tenant land on the same server.
        whole_chance_10: f64,
    },
    /// A member server is not in service (maintenance, retired) but still published.
    OutOfServiceMember { target: String, state: String },
}

impl PoolLint {
    /// What is wrong, why it matters and what to do, in one or two sentences.
    pub fn message(&self) -> String {
        match self {
            PoolLint::NoMembers => "This pool has no members, so its SRV name publishes no \
                records and any phone configured with it cannot register; add a primary server \
                and a backup at a higher priority value."
                .to_string(),
            PoolLint::SingleServer { target } => format!(
                "Every record of this pool points at {target}, so its phones have nowhere to \
                 fail over when it goes down; add a second server at a higher priority value as \
                 the backup."
            ),
            PoolLint::SharedTopPriority {
                priority,
                servers,
                whole_chance_10,
            } => format!(
                "{count} servers ({list}) share the top priority {priority}, so phones register \
                 at random among them and a tenant of 10 phones lands whole on one server {odds}; \
                 split tenants cost inter-server call routing and break call transfers, so give \
                 the pool one primary and move the others to a higher priority value.",
                count = servers.len(),
                list = servers.join(", "),
                odds = describe_chance(*whole_chance_10),
            ),
            PoolLint::OutOfServiceMember { target, state } => format!(
                "{target} is marked {state} but is still a member of this pool, so DNS keeps \
                 sending phones to it and they register only after a failover timeout; remove it \
                 from the pool or return it to service."
            ),
        }
    }

    pub fn severity(&self) -> Severity {
        match self {
            PoolLint::NoMembers | PoolLint::SingleServer { .. } => Severity::Warning,
            PoolLint::SharedTopPriority { .. } => Severity::Warning,
            // Maintenance is planned and temporary; any other out-of-service state (retired)
            // means DNS points phones at a server that will not come back.
            PoolLint::OutOfServiceMember { state, .. } => {
                if state.trim().eq_ignore_ascii_case("maintenance") {
                    Severity::Info
                } else {
                    Severity::Warning
                }
            }
        }
    }
}

/// "only about 1 time in 512" / "only 34.9% of the time": odds a reader can picture.
fn describe_chance(chance: f64) -> String {
    if !chance.is_finite() || chance <= 0.0 {
        "practically never".to_string()
    } else if chance >= 0.01 {
        format!("only {:.1}% of the time", chance * 100.0)
    } else {
        let one_in = (1.0 / chance).round();
        if one_in > 1e9 {
            "practically never".to_string()
        } else {
            format!("only about 1 time in {one_in:.0}")
        }
    }
}

/// Lints the shape of one pool. `out_of_service` names member servers that are not in service,
/// with their state label (e.g. `maintenance`, `retired`).
pub fn pool_lint(records: &[SrvRecord], out_of_service: &[(&str, &str)]) -> Vec<PoolLint> {
    // Distinct member servers in first-appearance order; a `.` target publishes "no service"
    // (RFC 2782) and is no server.
    let mut members: Vec<(String, &str)> = Vec::new();
    for record in records {
        let key = host_key(&record.target);
        if !key.is_empty() && !members.iter().any(|(seen, _)| *seen == key) {
            members.push((key, record.target.as_str()));
        }
    }

    let mut lints = Vec::new();
    match members.as_slice() {
        [] => {
            lints.push(PoolLint::NoMembers);
            return lints;
        }
        [(_, only)] => lints.push(PoolLint::SingleServer {
            target: (*only).to_string(),
        }),
        _ => {
            let normal = srv_shares(records, &[], ClientModel::Weighted);
            let top_priority = normal
                .targets
                .iter()
                .find(|target| target.share > 0.0)
                .map(|target| target.priority);
            let sharing: Vec<&ServerShare> = normal
                .servers
                .iter()
                .filter(|server| server.share > 0.0)
                .collect();
            if let (Some(priority), true) = (top_priority, sharing.len() >= 2) {
                let shares: Vec<f64> = sharing.iter().map(|server| server.share).collect();
                lints.push(PoolLint::SharedTopPriority {
                    priority,
                    servers: sharing.iter().map(|server| server.target.clone()).collect(),
                    whole_chance_10: whole_tenant_chance(&shares, 10),
                });
            }
        }
    }

    for (key, spelled) in &members {
        if let Some((_, state)) = out_of_service
            .iter()
            .find(|(target, _)| host_key(target) == *key)
        {
            lints.push(PoolLint::OutOfServiceMember {
                target: (*spelled).to_string(),
                state: (*state).to_string(),
            });
        }
    }
    lints
}

/// The chance that all `phones` phones of a tenant, each picking a server independently with the
/// given server shares, land on the same server: Σ pᵢᵏ. For n equal servers this is n^(1−k).
/// A tenant with no phones is trivially whole.
pub fn whole_tenant_chance(server_shares: &[f64], phones: u32) -> f64 {
    if phones == 0 {
        return 1.0;
    }
    server_shares
        .iter()
        .map(|&p| {
            if p.is_finite() {
                p.clamp(0.0, 1.0)
            } else {
                0.0
            }
        })
        .map(|p| p.powf(f64::from(phones)))
        .sum::<f64>()
        .min(1.0)
}
