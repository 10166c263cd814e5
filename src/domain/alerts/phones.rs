//! Phone rules, from the registrations: unmatched, flapping, failback lag.

use std::collections::BTreeMap;

use crate::domain::srv::Severity;

use super::text::{count_of, duration, join_and, phones};
use super::{
    Alert, AlertKind, AwayPhones, ClusterFacts, FlappingPhone, Limits, MAX_EXAMPLES, ObjectRef,
    ServerFacts, cmp_names, push_server, same_name, stable_id,
};

pub(super) const FLAPPING_WHY: &str = "At every move there is a gap in which the phone is \
     unreachable on both servers, and a phone that moves during a call loses its in-use state, \
     so it can be offered a second call while busy.";
pub(super) const FLAPPING_ACTION: &str = "Check the network between these phones and their \
     home server (packet loss, NAT or firewall timeouts) and their registration expiry; make \
     sure they use their pool's SRV name.";

pub(super) fn unmatched_alerts(
    unmatched: &[(String, String)],
    servers: &[ServerFacts],
    alerts: &mut Vec<Alert>,
) {
    // server key → (spelling, distinct endpoints)
    let mut by_server: BTreeMap<String, (String, Vec<&str>)> = BTreeMap::new();
    for (server, endpoint) in unmatched {
        let entry = by_server
            .entry(server.trim().to_ascii_lowercase())
            .or_insert_with(|| (server.trim().to_string(), Vec::new()));
        entry.1.push(endpoint.as_str());
    }
    for (server, mut endpoints) in by_server.into_values() {
        endpoints.sort_unstable();
        endpoints.dedup();
        let examples: Vec<String> = endpoints
            .iter()
            .take(MAX_EXAMPLES)
            .map(|e| e.to_string())
            .collect();
        // The facts list a few examples per server; the server's count is the whole figure.
        let count = servers
            .iter()
            .find(|s| same_name(&s.name, &server))
            .map_or(0, |s| s.unmatched as usize)
            .max(endpoints.len());
        let mut objects = vec![ObjectRef::server(&server)];
        objects.extend(examples.iter().map(ObjectRef::endpoint));
        alerts.push(Alert {
            id: stable_id(&["unmatched", &server]),
            impact_phones: count as u64,
            facets: Vec::new(),
            related: Vec::new(),
            kind: AlertKind::Unmatched,
            severity: Severity::Warning,
            summary: format!(
                "{} on {server} {} no tenant, e.g. {}.",
                count_of(count, "registration", "registrations"),
                if count == 1 { "matches" } else { "match" },
                examples.join(", ")
            ),
            why: format!(
                "They are left out of every tenant count, split check and projection, so the \
                 figures for {server} undercount it."
            ),
            action: "Check the tenant-matching rule in Settings against these endpoint names, \
                     or create the missing tenants."
                .to_string(),
            objects,
        });
    }
}

/// Flapping phones described for people: the phones most moves first, the servers they moved
/// between (by name), and one sentence naming `whose` they are ("tenant ACME", "no known
/// tenant"). Shared by the tenant facet and the alert of phones of no known tenant.
pub(super) struct FlappingStory<'a> {
    pub phones: Vec<&'a FlappingPhone>,
    pub servers: Vec<String>,
    pub summary: String,
}

pub(super) fn describe_flapping<'a>(
    flapping: &[&'a FlappingPhone],
    whose: &str,
    limits: &Limits,
) -> FlappingStory<'a> {
    let mut sorted: Vec<&FlappingPhone> = flapping.to_vec();
    sorted.sort_by(|a, b| {
        b.moves
            .cmp(&a.moves)
            .then_with(|| a.endpoint.cmp(&b.endpoint))
    });
    let mut servers: Vec<String> = Vec::new();
    for phone in &sorted {
        for server in &phone.servers {
            if !servers.iter().any(|s| same_name(s, server)) {
                servers.push(server.trim().to_string());
            }
        }
    }
    servers.sort_by(|a, b| cmp_names(a, b));
    let among = if servers.is_empty() {
        String::new()
    } else {
        format!(" between {}", join_and(&servers))
    };
    let window = duration(limits.flap_window_secs);
    let summary = match sorted.as_slice() {
        [one] => format!(
            "Phone {} of {whose} moved{among} {} in the last {window}.",
            one.endpoint,
            count_of(one.moves as usize, "time", "times")
        ),
        [most, ..] => format!(
            "{} of {whose} moved{among} at least {} each in the last {window} (most: {} {}), \
             e.g. {}.",
            phones(sorted.len() as u64),
            count_of(limits.flap_moves as usize, "time", "times"),
            most.endpoint,
            count_of(most.moves as usize, "time", "times"),
            sorted
                .iter()
                .take(MAX_EXAMPLES)
                .map(|p| p.endpoint.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        [] => String::new(),
    };
    FlappingStory {
        phones: sorted,
        servers,
        summary,
    }
}

/// Flapping phones of no known tenant (a tenant's flapping phones are a facet of its alert).
pub(super) fn flapping_alerts(
    flapping: &[FlappingPhone],
    limits: &Limits,
    alerts: &mut Vec<Alert>,
) {
    let untenanted: Vec<&FlappingPhone> = flapping
        .iter()
        .filter(|p| p.moves >= limits.flap_moves && tenant_key(p).is_none())
        .collect();
    if untenanted.is_empty() {
        return;
    }
    let story = describe_flapping(&untenanted, "no known tenant", limits);
    let mut objects = Vec::new();
    for server in &story.servers {
        push_server(&mut objects, server);
    }
    objects.extend(
        story
            .phones
            .iter()
            .take(MAX_EXAMPLES)
            .map(|p| ObjectRef::endpoint(&p.endpoint)),
    );
    alerts.push(Alert {
        id: stable_id(&["flapping", "no tenant"]),
        kind: AlertKind::Flapping,
        severity: Severity::Warning,
        impact_phones: story.phones.len() as u64,
        facets: Vec::new(),
        related: Vec::new(),
        summary: story.summary,
        why: FLAPPING_WHY.to_string(),
        action: FLAPPING_ACTION.to_string(),
        objects,
    });
}

/// The lowercased tenant code of a phone, if it has one.
pub(super) fn tenant_key(phone: &FlappingPhone) -> Option<String> {
    phone
        .tenant
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_ascii_lowercase)
}

/// The away phones that lag on failback: their home is in service and reporting, and has been
/// for longer than the grace period since they left (or since it came back).
pub(super) fn lagging<'a>(facts: &'a ClusterFacts, limits: &Limits) -> Vec<&'a AwayPhones> {
    facts
        .away
        .iter()
        .filter(|group| group.phones > 0 && !same_name(&group.server, &group.home))
        .filter(|group| {
            let Some(home) = facts
                .servers
                .iter()
                .find(|server| same_name(&server.name, &group.home))
            else {
                return false;
            };
            let fresh = home
                .last_report_at
                .is_some_and(|at| facts.now.saturating_sub(at) <= limits.stale_after_secs);
            if !home.state.trim().eq_ignore_ascii_case("active") || !fresh {
                return false;
            }
            // The phones could fail back from the later of: when they left, when home came
            // back.
            let due_from = match home.reporting_since {
                Some(since) => since.max(group.away_since),
                None => group.away_since,
            };
            facts.now.saturating_sub(due_from) > limits.failback_after_secs
        })
        .collect()
}

/// One alert per (home server, user agent): a phone model that does not fail back is a
/// server-side pattern; each tenant's alert lists its own lagging phones as a facet.
pub(super) fn failback_alerts(
    facts: &ClusterFacts,
    lagging: &[&AwayPhones],
    alerts: &mut Vec<Alert>,
    limits: &Limits,
) {
    struct Group<'a> {
        home: String,
        user_agent: Option<String>,
        rows: Vec<&'a AwayPhones>,
    }
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for row in lagging {
        let user_agent = row
            .user_agent
            .as_deref()
            .map(str::trim)
            .filter(|ua| !ua.is_empty());
        // Grouped ignoring case, as the alert's id compares them: spellings of one user agent
        // are one alert, shown by the spelling first in byte order (not the store's order).
        let group = groups
            .entry((
                row.home.trim().to_ascii_lowercase(),
                user_agent.unwrap_or_default().to_ascii_lowercase(),
            ))
            .or_insert_with(|| Group {
                home: row.home.trim().to_string(),
                user_agent: user_agent.map(str::to_string),
                rows: Vec::new(),
            });
        if let (Some(ua), Some(shown)) = (user_agent, group.user_agent.as_mut())
            && ua < shown.as_str()
        {
            *shown = ua.to_string();
        }
        group.rows.push(row);
    }
    for group in groups.into_values() {
        let count = group
            .rows
            .iter()
            .fold(0u64, |sum, r| sum.saturating_add(r.phones));
        let earliest = group
            .rows
            .iter()
            .map(|r| r.away_since)
            .min()
            .unwrap_or(facts.now);
        let mut away_servers: Vec<String> = Vec::new();
        let mut tenants: Vec<String> = Vec::new();
        let mut examples: Vec<String> = Vec::new();
        for row in &group.rows {
            if !away_servers.iter().any(|s| same_name(s, &row.server)) {
                away_servers.push(row.server.trim().to_string());
            }
            if !tenants.iter().any(|t| same_name(t, &row.tenant)) {
                tenants.push(row.tenant.trim().to_string());
            }
            examples.extend(row.examples.iter().cloned());
        }
        away_servers.sort_by(|a, b| cmp_names(a, b));
        tenants.sort_by(|a, b| cmp_names(a, b));
        examples.sort();
        examples.dedup();
        examples.truncate(MAX_EXAMPLES);
        let home = &group.home;
        let model = match &group.user_agent {
            Some(ua) => format!("with user agent \"{ua}\""),
            None => "that report no user agent".to_string(),
        };
        let mut objects = vec![ObjectRef::server(home)];
        for server in &away_servers {
            push_server(&mut objects, server);
        }
        objects.extend(examples.iter().map(ObjectRef::endpoint));
        let tenant_list = if tenants.len() > MAX_EXAMPLES {
            format!(
                "{} and {} more",
                tenants[..MAX_EXAMPLES].join(", "),
                tenants.len() - MAX_EXAMPLES
            )
        } else {
            join_and(&tenants)
        };
        alerts.push(Alert {
            id: stable_id(&[
                "failback_lag",
                home,
                group.user_agent.as_deref().unwrap_or_default(),
            ]),
            kind: AlertKind::FailbackLag,
            severity: Severity::Warning,
            impact_phones: count,
            facets: Vec::new(),
            related: Vec::new(),
            summary: format!(
                "{} {model} of {} {} still on {} instead of {} home server {home}, which has \
                 been reporting again for over {} (longest lag {}).",
                phones(count),
                count_of(tenants.len(), "tenant", "tenants"),
                if count == 1 { "is" } else { "are" },
                join_and(&away_servers),
                if count == 1 { "its" } else { "their" },
                duration(limits.failback_after_secs),
                duration(facts.now.saturating_sub(earliest))
            ),
            why: format!(
                "This phone model does not fail back by itself: the phones stay on the backup \
                 until they re-register, which keeps their tenants ({tenant_list}) split and \
                 loads the backup."
            ),
            action: "Re-register these phones (reboot or a provisioning push); to stop it \
                     recurring, give this model a shorter registration expiry or enable its SRV \
                     re-query / failback option."
                .to_string(),
            objects,
        });
    }
}
