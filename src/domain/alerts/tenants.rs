//! Tenant rules: one alert per tenant, gathering its facets: split or away from home, phones
//! outside its pool, failback lag, flapping phones, no pool, no phones. A tenant within the
//! normal away share is counted as "within normal", not listed.

use std::collections::HashMap;

use crate::domain::srv::Severity;

use super::text::{duration, join_and, names_only, percent, phones, server_list};
use super::{
    Alert, AlertKind, AlertSettings, AwayPhones, ClusterFacts, Facet, FlappingPhone, Limits,
    MAX_EXAMPLES, ObjectRef, PlacementStatus, PlacementSummary, ServerPhones, TenantFacts,
    TenantPlacement, WithinNormal, cmp_names, merge_counts, phones_on, push_server, same_name,
    share, stable_id,
};

/// Where the tenant's phones are against its pool's home servers, or `None` when none is
/// registered. A tenant without a pool is measured against the server holding most of its
/// phones.
pub fn tenant_placement(t: &TenantFacts, settings: &AlertSettings) -> Option<TenantPlacement> {
    let limits = Limits::new(settings);
    let mut by_server = merge_counts(&t.phones_by_server);
    // A moving tenant's phones awaiting re-provisioning are the move's, not its placement's.
    by_server.retain(|row| !awaiting_on(t, &row.server));
    let total = by_server
        .iter()
        .fold(0u64, |sum, row| sum.saturating_add(row.phones));
    if total == 0 {
        return None;
    }
    let declared = t.home.as_deref().map(str::trim).filter(|h| !h.is_empty());
    let (home, home_is_assumed) = match declared {
        Some(home) => (home.to_string(), false),
        // `by_server` is sorted most phones first and not empty here.
        None => (by_server[0].server.clone(), true),
    };
    let mut home_servers: Vec<String> = Vec::new();
    if !home_is_assumed {
        // Each home server once (names compare ignoring case): a server listed twice must not
        // count its phones twice.
        for server in t.home_servers.iter().map(|s| s.trim()) {
            if !server.is_empty() && !home_servers.iter().any(|h| same_name(h, server)) {
                home_servers.push(server.to_string());
            }
        }
    }
    if !home_servers.iter().any(|s| same_name(s, &home)) {
        home_servers.insert(0, home.clone());
    }
    let is_home = |server: &str| home_servers.iter().any(|h| same_name(h, server));
    let home_phones = home_servers
        .iter()
        .fold(0u64, |sum, h| sum.saturating_add(phones_on(&by_server, h)));
    let away_phones = total.saturating_sub(home_phones);
    let away_share = share(away_phones, total);
    let split_share = share(total.saturating_sub(by_server[0].phones), total);
    let multi_primary = home_servers.len() > 1;
    let away_servers: Vec<ServerPhones> = by_server
        .iter()
        .filter(|row| !is_home(&row.server))
        .cloned()
        .collect();
    // For a one-primary pool the away share is never below the split share (the fullest server
    // is home, or the home holds fewer): one threshold on it covers both.
    let status = if away_phones == 0 && (multi_primary || by_server.len() == 1) {
        PlacementStatus::AtHome
    } else if away_share <= limits.normal_away_share {
        PlacementStatus::WithinNormal
    } else if by_server.len() > 1 && !multi_primary {
        PlacementStatus::Split
    } else {
        PlacementStatus::Away
    };
    Some(TenantPlacement {
        total,
        home,
        home_servers,
        home_is_assumed,
        home_phones,
        away_phones,
        away_share,
        servers: by_server.len(),
        majority_away: u128::from(away_phones) * 2 > u128::from(total),
        by_server,
        away_servers,
        split_share,
        multi_primary,
        status,
    })
}

/// The new pool's home servers of a tenant: its home servers, or just its home.
fn new_homes(t: &TenantFacts) -> Vec<String> {
    let mut homes = t.home_servers.clone();
    if let Some(home) = t.home.as_deref()
        && !homes.iter().any(|h| same_name(h, home))
    {
        homes.push(home.to_string());
    }
    homes
}

/// Whether `t` is moving and its phones on `server` await re-provisioning (a home server of
/// the old pool that is not one of the new pool).
pub(super) fn awaiting_on(t: &TenantFacts, server: &str) -> bool {
    t.moving
        .as_ref()
        .is_some_and(|m| m.awaiting_on(server, &new_homes(t)))
}

/// Phones of `t` awaiting re-provisioning, and on which servers.
fn awaiting(t: &TenantFacts) -> Vec<ServerPhones> {
    if t.moving.is_none() {
        return Vec::new();
    }
    merge_counts(&t.phones_by_server)
        .into_iter()
        .filter(|row| awaiting_on(t, &row.server))
        .collect()
}

/// What the tenant rules look up per tenant, indexed once per evaluation.
pub(super) struct TenantIndex<'a> {
    /// Lowercased tenant code → its phones lagging on failback.
    pub lagging: HashMap<String, Vec<&'a AwayPhones>>,
    /// Lowercased tenant code → its flapping phones.
    pub flapping: HashMap<String, Vec<&'a FlappingPhone>>,
    /// The known servers that are not serving (see [`serving`]), found once per evaluation:
    /// asking every tenant's home servers against every server cost a tenants × servers scan.
    pub not_serving: Vec<&'a str>,
}

impl TenantIndex<'_> {
    /// [`serving`], from the servers found not serving once.
    fn serving(&self, name: &str) -> bool {
        !self.not_serving.iter().any(|s| super::same_name(s, name))
    }
}

/// One facet with the explanation and advice it brings when it is the alert's worst.
struct Found {
    facet: Facet,
    why: String,
    action: String,
    servers: Vec<String>,
}

pub(super) fn tenant_alert(
    tenant: &TenantFacts,
    facts: &ClusterFacts,
    settings: &AlertSettings,
    limits: &Limits,
    index: &TenantIndex,
    within_normal: &mut WithinNormal,
    placements: &mut HashMap<String, PlacementSummary>,
) -> Option<Alert> {
    let code = tenant.code.trim();
    let key = code.to_ascii_lowercase();
    let pool = tenant
        .pool
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let placement = tenant_placement(tenant, settings);
    let waiting = awaiting(tenant);
    let waiting_phones = waiting
        .iter()
        .fold(0u64, |sum, row| sum.saturating_add(row.phones));
    let registered = placement
        .as_ref()
        .map_or(0, |p| p.total)
        .saturating_add(waiting_phones);
    placements.insert(
        key.clone(),
        PlacementSummary {
            registered,
            away: placement.as_ref().map_or(0, |p| p.away_phones),
            status: placement.as_ref().map(|p| p.status),
            servers: placement
                .as_ref()
                .map(|p| {
                    p.by_server
                        .iter()
                        .map(|r| r.server.to_ascii_lowercase())
                        .collect()
                })
                .unwrap_or_default(),
        },
    );
    let mut found: Vec<Found> = Vec::new();
    if let Some(m) = tenant.moving.as_ref().filter(|m| m.stalled)
        && waiting_phones > 0
    {
        found.push(stalled_facet(code, pool, m, &waiting, registered));
    }

    // While its pool's members change, phones follow old and new records alike: where they
    // are says nothing yet.
    let placement_held = tenant.pool_changing;
    if let Some(p) = placement.as_ref().filter(|_| !placement_held) {
        // Phones off a home server that is down or not reporting have failed over as designed:
        // the server's own alert explains them, once.
        let home_serving = p.home_servers.iter().any(|h| index.serving(h));
        match p.status {
            PlacementStatus::WithinNormal => {
                within_normal.tenants += 1;
                within_normal.away_phones = within_normal.away_phones.saturating_add(p.away_phones);
            }
            PlacementStatus::Split if home_serving || pool.is_none() => {
                found.push(split_facet(code, p, limits))
            }
            PlacementStatus::Away if home_serving => found.push(away_facet(code, p, limits)),
            _ => {}
        }
    }

    if let Some(pool) = pool {
        if let Some(p) = placement.as_ref().filter(|_| !placement_held) {
            let outside: Vec<ServerPhones> = p
                .by_server
                .iter()
                .filter(|row| {
                    !tenant
                        .pool_servers
                        .iter()
                        .any(|m| same_name(m, &row.server))
                })
                .cloned()
                .collect();
            if !outside.is_empty() {
                found.push(outside_pool_facet(tenant, pool, &outside));
            }
        }
    } else {
        found.push(no_pool_facet(tenant, placement.as_ref()));
    }

    // Lagging phones of a tenant within the normal band are counted by their (server, user
    // agent) alert; they make the tenant an alert only when its placement already is one.
    let placement_problem = !placement_held
        && placement
            .as_ref()
            .is_some_and(|p| matches!(p.status, PlacementStatus::Split | PlacementStatus::Away));
    if placement_problem && let Some(groups) = index.lagging.get(&key) {
        found.push(failback_facet(code, groups, facts.now, limits));
    }
    if let Some(flappers) = index.flapping.get(&key) {
        found.push(flapping_facet(code, flappers, limits));
    }

    if facts.any_registrations && tenant.expected_phones > 0 && registered == 0 {
        found.push(Found {
            facet: Facet {
                kind: AlertKind::TenantNoPhones,
                severity: Severity::Info,
                summary: format!(
                    "Tenant {code} expects {} but none is registered on any server.",
                    phones(u64::from(tenant.expected_phones))
                ),
                phones: u64::from(tenant.expected_phones),
            },
            why: "Its phones may be switched off, registered on a server that does not \
                  report, or not recognised as this tenant's by the endpoint naming rule."
                .to_string(),
            action: "Check the phones at the tenant's site; if they are registered, look for \
                     them among the registrations matching no tenant and check the \
                     tenant-matching rule in Settings."
                .to_string(),
            servers: Vec::new(),
        });
    }

    if found.is_empty() {
        return None;
    }
    found.sort_by(|a, b| {
        b.facet
            .severity
            .cmp(&a.facet.severity)
            .then(a.facet.kind.cmp(&b.facet.kind))
    });
    let mut objects = vec![ObjectRef::tenant(code)];
    if let Some(pool) = pool {
        objects.push(ObjectRef::pool(pool));
    }
    if let Some(p) = &placement
        && !p.home_is_assumed
    {
        for home in &p.home_servers {
            push_server(&mut objects, home);
        }
    }
    for f in &found {
        for server in &f.servers {
            push_server(&mut objects, server);
        }
    }
    // A stalled move names the phones still on the old servers.
    if found.iter().any(|f| f.facet.kind == AlertKind::MoveStalled)
        && let Some(m) = &tenant.moving
    {
        let mut named: Vec<&String> = m.waiting.iter().collect();
        named.sort();
        named.dedup();
        objects.extend(
            named
                .into_iter()
                .take(MAX_EXAMPLES)
                .map(ObjectRef::endpoint),
        );
    }
    let impact = found.iter().map(|f| f.facet.phones).max().unwrap_or(0);
    let worst = found.remove(0);
    let mut facets = vec![worst.facet];
    facets.extend(found.into_iter().map(|f| f.facet));
    Some(Alert {
        id: stable_id(&["tenant", code]),
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

/// Whether `name` is a server that can hold phones now: active and reporting. A server the
/// facts do not list is assumed to be (the facts may cover only part of the cluster).
pub(super) fn serving(facts: &ClusterFacts, limits: &Limits, name: &str) -> bool {
    match facts.servers.iter().find(|s| same_name(&s.name, name)) {
        None => true,
        Some(s) => {
            s.state.trim().eq_ignore_ascii_case("active")
                && s.last_report_at
                    .is_some_and(|at| facts.now.saturating_sub(at) <= limits.stale_after_secs)
        }
    }
}

fn stalled_facet(
    code: &str,
    pool: Option<&str>,
    m: &super::MoveFacts,
    waiting: &[ServerPhones],
    registered: u64,
) -> Found {
    let count = waiting
        .iter()
        .fold(0u64, |sum, row| sum.saturating_add(row.phones));
    let mut named: Vec<&str> = m.waiting.iter().map(String::as_str).collect();
    named.sort_unstable();
    named.dedup();
    let examples = if named.is_empty() {
        String::new()
    } else if named.len() as u64 >= count && named.len() <= MAX_EXAMPLES {
        format!(": {}", named.join(", "))
    } else {
        format!(
            ", e.g. {}",
            named
                .iter()
                .take(MAX_EXAMPLES)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let to = pool.unwrap_or("(no pool)");
    let from = m.from_pool.trim();
    Found {
        facet: Facet {
            kind: AlertKind::MoveStalled,
            severity: Severity::Warning,
            summary: format!(
                "Tenant {code}'s move from {from} to {to} is stalled: {} of {} {} still on {} \
                 after more than {}{examples}.",
                count,
                phones(registered),
                if count == 1 { "is" } else { "are" },
                server_list(waiting),
                duration(m.deadline_secs),
            ),
            phones: count,
        },
        why: format!(
            "These phones still use {from}'s SRV name: until they are re-provisioned they stay \
             on its servers, apart from the rest of the tenant, and fail over the old way."
        ),
        action: format!(
            "Re-provision these phones with {to}'s SRV name (the tenant page shows it) and \
             reboot them, or cancel the move on the tenant page to put {code} back in {from}."
        ),
        servers: waiting.iter().map(|r| r.server.clone()).collect(),
    }
}

const SPLIT_COST: &str = "Transfers between the tenant's phones fail when the calls sit on \
                          different servers, and every call between them is routed from server \
                          to server, adding load.";

fn split_facet(code: &str, p: &TenantPlacement, limits: &Limits) -> Found {
    let home_phrase = if p.home_is_assumed {
        format!(
            "{}, the server holding most of them (the tenant has no pool)",
            p.home
        )
    } else {
        format!("its home server {}", p.home)
    };
    let severity = if p.majority_away {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let why = if p.majority_away {
        format!(
            "{SPLIT_COST} Most of the tenant is away from {}: it may be unreachable from the \
             tenant's site.",
            p.home
        )
    } else {
        format!(
            "{SPLIT_COST} More than the normal {} is away, so something keeps these phones off \
             {}.",
            percent(limits.normal_away_share),
            p.home
        )
    };
    let away_names = names_only(&p.away_servers);
    let action = if p.home_is_assumed {
        format!(
            "Assign the tenant a pool, then re-register the phones on {away_names} so they \
             gather on one server."
        )
    } else if p.majority_away {
        format!(
            "Check that {} is up and reachable from the tenant's site; then check the SRV pool \
             setting of the phones on {away_names} or re-register them.",
            p.home
        )
    } else {
        format!(
            "Check the SRV pool setting and the network of the phones on {away_names}, or \
             re-register them so they return to {}.",
            p.home
        )
    };
    Found {
        facet: Facet {
            kind: AlertKind::TenantSplit,
            severity,
            summary: format!(
                "Tenant {code} is split: {} of {} ({}) are away from {home_phrase}, on {}.",
                p.away_phones,
                phones(p.total),
                percent(p.away_share),
                server_list(&p.away_servers)
            ),
            // A split hurts every phone of the tenant: any transfer may cross servers.
            phones: p.total,
        },
        why,
        action,
        servers: p.away_servers.iter().map(|r| r.server.clone()).collect(),
    }
}

fn away_facet(code: &str, p: &TenantPlacement, limits: &Limits) -> Found {
    let homes = join_and(&p.home_servers);
    let home_word = if p.home_servers.len() == 1 {
        format!("its home server {homes}")
    } else {
        format!("its home servers {homes}")
    };
    let summary = if p.away_phones == p.total {
        format!(
            "All {} of tenant {code} are on {}, none on {home_word}.",
            phones(p.total),
            server_list(&p.away_servers)
        )
    } else {
        format!(
            "{} of {} of tenant {code} ({}) are off {home_word}, on {}.",
            p.away_phones,
            phones(p.total),
            percent(p.away_share),
            server_list(&p.away_servers)
        )
    };
    Found {
        facet: Facet {
            kind: AlertKind::TenantAway,
            severity: if p.majority_away {
                Severity::Critical
            } else {
                Severity::Warning
            },
            summary,
            phones: p.away_phones,
        },
        why: format!(
            "{homes} {} up and reporting, yet more than the normal {} of the tenant stays on a \
             backup: those phones lose their failover (the backup has no backup), and the backup \
             carries load the plan did not give it.",
            if p.home_servers.len() == 1 {
                "is"
            } else {
                "are"
            },
            percent(limits.normal_away_share)
        ),
        action: format!(
            "Check the network between the tenant's site and {homes}; then re-register the \
             phones on {} (reboot or a provisioning push) so they return.",
            names_only(&p.away_servers)
        ),
        servers: p.away_servers.iter().map(|r| r.server.clone()).collect(),
    }
}

fn outside_pool_facet(tenant: &TenantFacts, pool: &str, outside: &[ServerPhones]) -> Found {
    let count = outside
        .iter()
        .fold(0u64, |sum, row| sum.saturating_add(row.phones));
    let members = if tenant.pool_servers.is_empty() {
        "which has no members".to_string()
    } else {
        format!("members: {}", join_and(&tenant.pool_servers))
    };
    let verb = if count == 1 { "is" } else { "are" };
    Found {
        facet: Facet {
            kind: AlertKind::OutsidePool,
            severity: Severity::Warning,
            summary: format!(
                "{} of tenant {} {verb} registered on {}, outside its pool {pool} ({members}).",
                phones(count),
                tenant.code.trim(),
                server_list(outside),
            ),
            phones: count,
        },
        why: format!(
            "The SRV records of {pool} never send phones there, so these phones are \
             misconfigured (a wrong SRV name or a hard-coded server address) and will not fail \
             over as planned."
        ),
        action: format!(
            "Set the SIP server of these phones to the SRV name of pool {pool}, not an IP \
             address or another pool's name, and re-register them."
        ),
        servers: outside.iter().map(|r| r.server.clone()).collect(),
    }
}

fn no_pool_facet(tenant: &TenantFacts, placement: Option<&TenantPlacement>) -> Found {
    let code = tenant.code.trim();
    let registered = placement.map_or(0, |p| p.total);
    // No pool and nothing expected or registered is a tenant still being set up.
    let at_risk = tenant.expected_phones > 0 || registered > 0;
    let summary = if !at_risk {
        format!("Tenant {code} has no pool and expects no phones yet.")
    } else if let Some(p) = placement {
        format!(
            "Tenant {code} has no pool: {} expected, {} registered on {}.",
            phones(u64::from(tenant.expected_phones)),
            registered,
            server_list(&p.by_server)
        )
    } else {
        format!(
            "Tenant {code} has no pool: {} expected, none registered.",
            phones(u64::from(tenant.expected_phones))
        )
    };
    let why = if at_risk {
        "Without a pool its phones have no SRV name to use, and the tenant is left out of every \
         projection, what-if and rebalance plan."
    } else {
        "It is left out of projections until it is placed; nothing is at risk while it has no \
         phones."
    };
    Found {
        facet: Facet {
            kind: AlertKind::TenantNoPool,
            severity: if at_risk {
                Severity::Warning
            } else {
                Severity::Info
            },
            summary,
            phones: registered.max(u64::from(tenant.expected_phones)),
        },
        why: why.to_string(),
        action: "Assign it a pool on the tenant page, or with bulk assign on the Tenants page."
            .to_string(),
        servers: placement
            .map(|p| p.by_server.iter().map(|r| r.server.clone()).collect())
            .unwrap_or_default(),
    }
}

fn failback_facet(code: &str, groups: &[&AwayPhones], now: i64, limits: &Limits) -> Found {
    let count = groups
        .iter()
        .fold(0u64, |sum, g| sum.saturating_add(g.phones));
    let mut servers: Vec<String> = Vec::new();
    let mut agents: Vec<String> = Vec::new();
    for g in groups {
        if !servers.iter().any(|s| same_name(s, &g.server)) {
            servers.push(g.server.trim().to_string());
        }
        let agent = g
            .user_agent
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .unwrap_or("no user agent");
        if !agents.iter().any(|a| a == agent) {
            agents.push(agent.to_string());
        }
    }
    servers.sort_by(|a, b| cmp_names(a, b));
    agents.sort();
    let home = groups.first().map(|g| g.home.trim()).unwrap_or_default();
    let since = groups.iter().map(|g| g.away_since).min().unwrap_or(now);
    Found {
        facet: Facet {
            kind: AlertKind::FailbackLag,
            severity: Severity::Warning,
            summary: format!(
                "{} of tenant {code} {} still on {} although {home} has been reporting again \
                 for over {} (longest away {}; {}).",
                phones(count),
                if count == 1 { "is" } else { "are" },
                join_and(&servers),
                duration(limits.failback_after_secs),
                duration(now.saturating_sub(since)),
                join_and(&agents)
            ),
            phones: count,
        },
        why: "Some phone models never fail back by themselves: they stay on the backup until \
              they re-register, which keeps the tenant split and loads the backup."
            .to_string(),
        action: "Re-register these phones (reboot or a provisioning push); to stop it \
                 recurring, give this model a shorter registration expiry or enable its SRV \
                 re-query / failback option."
            .to_string(),
        servers,
    }
}

fn flapping_facet(code: &str, flappers: &[&FlappingPhone], limits: &Limits) -> Found {
    let story = super::phones::describe_flapping(flappers, &format!("tenant {code}"), limits);
    Found {
        facet: Facet {
            kind: AlertKind::Flapping,
            severity: Severity::Warning,
            summary: story.summary,
            phones: story.phones.len() as u64,
        },
        why: super::phones::FLAPPING_WHY.to_string(),
        action: super::phones::FLAPPING_ACTION.to_string(),
        servers: story.servers,
    }
}
