//! Pool rules: one alert per pool, gathering its facets: drift (its phones off its home
//! servers beyond the normal share) and its configuration lint (with the expected split of a
//! multi-primary pool).

use crate::domain::srv::{PoolLint, Severity};

use super::tenants::serving;
use super::text::{count_of, describe_chance, join_and, percent, phones, server_list};
use super::{
    Alert, AlertKind, ClusterFacts, Facet, Limits, MAX_EXAMPLES, ObjectRef, PoolFacts,
    ServerPhones, TenantFacts, WithinNormal, cmp_names, merge_counts, phones_on, push_server,
    same_name, share, stable_id,
};

/// A facet with the texts and objects it brings.
struct Found {
    facet: Facet,
    why: String,
    action: String,
    objects: Vec<ObjectRef>,
}

pub(super) fn pool_alert(
    pool: &PoolFacts,
    facts: &ClusterFacts,
    limits: &Limits,
    within_normal: &mut WithinNormal,
) -> Option<Alert> {
    let mut found = Vec::new();
    if let Some(drift) = pool_drift(pool, facts, limits, within_normal) {
        found.push(drift);
    }
    pool_lints(pool, facts, &mut found);
    if found.is_empty() {
        return None;
    }
    found.sort_by(|a, b| {
        b.facet
            .severity
            .cmp(&a.facet.severity)
            .then(a.facet.kind.cmp(&b.facet.kind))
    });
    let mut objects = vec![ObjectRef::pool(&pool.name)];
    for f in &found {
        for o in &f.objects {
            if !objects.contains(o) {
                objects.push(o.clone());
            }
        }
    }
    let impact = found.iter().map(|f| f.facet.phones).max().unwrap_or(0);
    let worst = found.remove(0);
    let mut facets = vec![worst.facet];
    facets.extend(found.into_iter().map(|f| f.facet));
    Some(Alert {
        id: stable_id(&["pool", &pool.name]),
        kind: facets[0].kind,
        severity: facets[0].severity,
        impact_phones: impact,
        summary: facets[0].summary.clone(),
        why: worst.why,
        action: worst.action,
        objects,
        facets,
        related: Vec::new(),
    })
}

fn pool_drift(
    pool: &PoolFacts,
    facts: &ClusterFacts,
    limits: &Limits,
    within_normal: &mut WithinNormal,
) -> Option<Found> {
    // Phones follow old and new records alike until the change settles.
    if pool.changing {
        return None;
    }
    let home = pool
        .home
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty())?;
    let by_server = merge_counts(&pool.phones_by_server);
    let total = by_server
        .iter()
        .fold(0u64, |sum, row| sum.saturating_add(row.phones));
    if total == 0 {
        return None;
    }
    let mut homes: Vec<&str> = Vec::new();
    // Each home server once (names compare ignoring case), so none counts its phones twice.
    for server in &pool.home_servers {
        if !homes.iter().any(|h| same_name(h, server)) {
            homes.push(server);
        }
    }
    if homes.is_empty() {
        homes.push(home);
    }
    let at_home = homes
        .iter()
        .fold(0u64, |sum, h| sum.saturating_add(phones_on(&by_server, h)));
    let away = total.saturating_sub(at_home);
    let away_share = share(away, total);
    // Phones that left a home server which is down or not reporting failed over as designed:
    // that server's alert explains them.
    if !homes.iter().any(|h| serving(facts, limits, h)) {
        return None;
    }
    let severity = if away_share > 0.5 {
        Severity::Critical
    } else if away_share > limits.normal_away_share {
        Severity::Warning
    } else {
        if away > 0 {
            within_normal.pools += 1;
        }
        return None;
    };
    let away_servers: Vec<ServerPhones> = by_server
        .iter()
        .filter(|row| !homes.iter().any(|h| same_name(&row.server, h)))
        .cloned()
        .collect();
    let home_phrase = if homes.len() > 1 {
        format!("home servers {}", join_and(&pool.home_servers))
    } else {
        format!("home server {home}")
    };
    let why = if severity == Severity::Critical {
        format!(
            "Most of the pool's phones have left its {home_phrase}: it is probably flapping or \
             unreachable for a large part of the network, and the servers holding these phones \
             carry load the plan did not give them."
        )
    } else {
        format!(
            "More than the normal {} has left its {home_phrase}: it may be flapping or \
             unreachable for part of the network, and the servers holding these phones carry \
             load the plan did not give them.",
            percent(limits.normal_away_share)
        )
    };
    let mut objects = Vec::new();
    for h in &homes {
        push_server(&mut objects, h);
    }
    for row in &away_servers {
        push_server(&mut objects, &row.server);
    }
    Some(Found {
        facet: Facet {
            kind: AlertKind::PoolDrift,
            severity,
            summary: format!(
                "Pool {} is drifting: {away} of {} ({}) are off its {home_phrase}, on {}.",
                pool.name,
                phones(total),
                percent(away_share),
                server_list(&away_servers)
            ),
            phones: away,
        },
        why,
        action: format!(
            "Check that the pool's {home_phrase} is reachable without packet loss from the \
             sites of its tenants; once it is healthy, re-register the away phones so they \
             return."
        ),
        objects,
    })
}

fn pool_lints(pool: &PoolFacts, facts: &ClusterFacts, found: &mut Vec<Found>) {
    let registered = pool
        .phones_by_server
        .iter()
        .fold(0u64, |sum, (_, n)| sum.saturating_add(*n));
    let mut users: Vec<&TenantFacts> = facts
        .tenants
        .iter()
        .filter(|t| t.pool.as_deref().is_some_and(|p| same_name(p, &pool.name)))
        .collect();
    // By code, so the tenants named (and which five) do not depend on the store's order.
    users.sort_by(|a, b| cmp_names(&a.code, &b.code));
    let name = &pool.name;
    for lint in &pool.lint {
        let mut objects = Vec::new();
        let mut severity = lint.severity();
        let mut affected = registered;
        let (summary, why, action) = match lint {
            PoolLint::NoMembers => {
                let used_by = if users.is_empty() {
                    String::new()
                } else {
                    severity = Severity::Critical;
                    let expected = users.iter().fold(0u64, |sum, t| {
                        sum.saturating_add(u64::from(t.expected_phones))
                    });
                    affected = affected.max(expected);
                    for tenant in users.iter().take(MAX_EXAMPLES) {
                        objects.push(ObjectRef::tenant(&tenant.code));
                    }
                    format!(
                        ", yet {} {} it ({} expected)",
                        count_of(users.len(), "tenant", "tenants"),
                        if users.len() == 1 { "uses" } else { "use" },
                        phones(expected)
                    )
                };
                (
                    format!("Pool {name} has no members{used_by}."),
                    "Its SRV name publishes no records, so a phone configured with it finds no \
                     server and cannot register."
                        .to_string(),
                    if users.is_empty() {
                        "Add a primary server and a backup at a higher priority value, or \
                         delete the pool."
                            .to_string()
                    } else {
                        "Add a primary server and a backup at a higher priority value, or move \
                         its tenants to another pool."
                            .to_string()
                    },
                )
            }
            PoolLint::SingleServer { target } => {
                push_target(&mut objects, target, pool, facts);
                (
                    format!("Every record of pool {name} points at {target}."),
                    format!(
                        "There is no failover: when {target} goes down, the pool's phones have \
                         no other server to register with."
                    ),
                    "Add a second server at a higher priority value as the backup.".to_string(),
                )
            }
            PoolLint::SharedTopPriority {
                priority,
                servers,
                whole_chance_10,
            } => {
                for target in servers {
                    push_target(&mut objects, target, pool, facts);
                }
                let expected_split = match pool.expected_split_share {
                    Some(split) if split > 0.0 => format!(
                        " By the pool's weights about {} of each tenant's phones are expected \
                         off its fullest server.",
                        percent(split)
                    ),
                    _ => String::new(),
                };
                (
                    format!(
                        "{} servers of pool {name} ({}) share the top priority {priority}: a \
                         tenant of 10 phones lands whole on one server {}.{expected_split}",
                        servers.len(),
                        join_and(servers),
                        describe_chance(*whole_chance_10)
                    ),
                    "This is the \"single pool, random registration\" anti-pattern: phones \
                     register at random, so tenants end up split, transfers between their \
                     phones fail, calls are routed between servers, and a phone moving between \
                     servers is unreachable during the handover."
                        .to_string(),
                    "Give the pool one primary (the lowest priority value) and move the other \
                     servers to a higher priority value as backups; share load with several \
                     pools instead."
                        .to_string(),
                )
            }
            PoolLint::OutOfServiceMember { target, state } => {
                push_target(&mut objects, target, pool, facts);
                let retired = !state.trim().eq_ignore_ascii_case("maintenance");
                (
                    format!("{target} is marked {state} but is still a member of pool {name}."),
                    format!(
                        "DNS keeps sending phones to it, and they register elsewhere only after \
                         a failover timeout{}.",
                        if retired {
                            "; it will not come back"
                        } else {
                            ""
                        }
                    ),
                    "Remove it from the pool and re-export the SRV records, or return it to \
                     service."
                        .to_string(),
                )
            }
        };
        found.push(Found {
            facet: Facet {
                kind: AlertKind::PoolLint,
                severity,
                summary,
                phones: affected,
            },
            why,
            action,
            objects,
        });
    }
}

/// Lint findings name SRV targets (`voip1.example.com`); alerts link servers by their short
/// name. A target is the server whose name it is, or whose name is its first DNS label.
fn push_target(objects: &mut Vec<ObjectRef>, target: &str, pool: &PoolFacts, facts: &ClusterFacts) {
    let first_label = target.trim().split('.').next().unwrap_or_default();
    let known = facts
        .servers
        .iter()
        .map(|server| server.name.as_str())
        .chain(pool.member_servers.iter().map(String::as_str));
    let mut by_label = None;
    for name in known {
        if same_name(name, target.trim().trim_end_matches('.')) {
            push_server(objects, name);
            return;
        }
        if by_label.is_none() && same_name(name, first_label) {
            by_label = Some(name);
        }
    }
    if let Some(name) = by_label {
        push_server(objects, name);
    }
}
