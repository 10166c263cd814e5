//! Phone rules, from the registrations: unmatched, flapping, failback lag.

use std::collections::BTreeMap;

use crate::domain::srv::Severity;

use super::text::{count_of, duration, join_and, phones};
use super::{
    Alert, AlertKind, AwayPhone, ClusterFacts, FlappingPhone, Limits, MAX_EXAMPLES, ObjectRef,
    cmp_names, push_server, same_name,
};

pub(super) fn unmatched_alerts(unmatched: &[(String, String)], alerts: &mut Vec<Alert>) {
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
        let count = endpoints.len();
        let mut objects = vec![ObjectRef::server(&server)];
        objects.extend(examples.iter().map(ObjectRef::endpoint));
        alerts.push(Alert {
            id: String::new(),
            impact_phones: 0,
            facets: Vec::new(),
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

pub(super) fn flapping_alerts(
    flapping: &[FlappingPhone],
    limits: &Limits,
    alerts: &mut Vec<Alert>,
) {
    // tenant key ("" for phones of no known tenant) → (spelling, phones)
    let mut by_tenant: BTreeMap<String, (Option<String>, Vec<&FlappingPhone>)> = BTreeMap::new();
    for phone in flapping.iter().filter(|p| p.moves >= limits.flap_moves) {
        let tenant = phone
            .tenant
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        by_tenant
            .entry(tenant.unwrap_or_default().to_ascii_lowercase())
            .or_insert_with(|| (tenant.map(str::to_string), Vec::new()))
            .1
            .push(phone);
    }
    let window = duration(limits.flap_window_secs);
    for (tenant, mut phones_here) in by_tenant.into_values() {
        phones_here.sort_by(|a, b| {
            b.moves
                .cmp(&a.moves)
                .then_with(|| a.endpoint.cmp(&b.endpoint))
        });
        let mut servers: Vec<String> = Vec::new();
        for phone in &phones_here {
            for server in &phone.servers {
                if !servers.iter().any(|s| same_name(s, server)) {
                    servers.push(server.trim().to_string());
                }
            }
        }
        servers.sort_by(|a, b| cmp_names(a, b));
        let whose = match &tenant {
            Some(code) => format!("tenant {code}"),
            None => "no known tenant".to_string(),
        };
        let among = if servers.is_empty() {
            String::new()
        } else {
            format!(" between {}", join_and(&servers))
        };
        let summary = match phones_here.as_slice() {
            [one] => format!(
                "Phone {} of {whose} moved{among} {} in the last {window}.",
                one.endpoint,
                count_of(one.moves as usize, "time", "times")
            ),
            [most, ..] => format!(
                "{} of {whose} moved{among} at least {} each in the last {window} (most: {} {}), \
                 e.g. {}.",
                phones(phones_here.len() as u64),
                count_of(limits.flap_moves as usize, "time", "times"),
                most.endpoint,
                count_of(most.moves as usize, "time", "times"),
                phones_here
                    .iter()
                    .take(MAX_EXAMPLES)
                    .map(|p| p.endpoint.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            // Every group holds the phone that created it.
            [] => continue,
        };
        let mut objects = Vec::new();
        if let Some(code) = &tenant {
            objects.push(ObjectRef::tenant(code));
        }
        for server in &servers {
            push_server(&mut objects, server);
        }
        objects.extend(
            phones_here
                .iter()
                .take(MAX_EXAMPLES)
                .map(|p| ObjectRef::endpoint(&p.endpoint)),
        );
        alerts.push(Alert {
            id: String::new(),
            impact_phones: 0,
            facets: Vec::new(),
            kind: AlertKind::Flapping,
            severity: Severity::Warning,
            summary,
            why: "At every move there is a gap in which the phone is unreachable on both \
                  servers, and a phone that moves during a call loses its in-use state, so it \
                  can be offered a second call while busy."
                .to_string(),
            action: "Check the network between these phones and their home server (packet \
                     loss, NAT or firewall timeouts) and their registration expiry; make sure \
                     they use their pool's SRV name."
                .to_string(),
            objects,
        });
    }
}

pub(super) fn failback_alerts(facts: &ClusterFacts, limits: &Limits, alerts: &mut Vec<Alert>) {
    struct Group<'a> {
        home: String,
        user_agent: Option<String>,
        phones: Vec<&'a AwayPhone>,
        /// The earliest moment the phones could have failed back (longest lag).
        earliest_due: i64,
    }
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for phone in &facts.away {
        if same_name(&phone.server, &phone.home) {
            continue;
        }
        let Some(home) = facts
            .servers
            .iter()
            .find(|server| same_name(&server.name, &phone.home))
        else {
            continue;
        };
        // Only a home that is in service and reporting now can be failed back to.
        let fresh = home
            .last_report_at
            .is_some_and(|at| facts.now.saturating_sub(at) <= limits.stale_after_secs);
        if !home.state.trim().eq_ignore_ascii_case("active") || !fresh {
            continue;
        }
        // The phone could fail back from the later of: when it left, when its home came back.
        let due_from = match home.reporting_since {
            Some(since) => since.max(phone.away_since),
            None => phone.away_since,
        };
        if facts.now.saturating_sub(due_from) <= limits.failback_after_secs {
            continue;
        }
        let user_agent = phone
            .user_agent
            .as_deref()
            .map(str::trim)
            .filter(|ua| !ua.is_empty());
        let group = groups
            .entry((
                home.name.to_ascii_lowercase(),
                user_agent.unwrap_or_default().to_string(),
            ))
            .or_insert_with(|| Group {
                home: home.name.clone(),
                user_agent: user_agent.map(str::to_string),
                phones: Vec::new(),
                earliest_due: due_from,
            });
        group.earliest_due = group.earliest_due.min(due_from);
        group.phones.push(phone);
    }

    for group in groups.into_values() {
        let mut phones_here = group.phones;
        phones_here.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
        let mut away_servers: Vec<String> = Vec::new();
        let mut tenants: Vec<String> = Vec::new();
        for phone in &phones_here {
            if !away_servers.iter().any(|s| same_name(s, &phone.server)) {
                away_servers.push(phone.server.trim().to_string());
            }
            if !tenants.iter().any(|t| same_name(t, &phone.tenant)) {
                tenants.push(phone.tenant.trim().to_string());
            }
        }
        away_servers.sort_by(|a, b| cmp_names(a, b));
        tenants.sort_by(|a, b| cmp_names(a, b));
        let home = &group.home;
        let model = match &group.user_agent {
            Some(ua) => format!("with user agent \"{ua}\""),
            None => "that report no user agent".to_string(),
        };
        let count = phones_here.len();
        let mut objects = vec![ObjectRef::server(home)];
        for server in &away_servers {
            push_server(&mut objects, server);
        }
        objects.extend(tenants.iter().map(ObjectRef::tenant));
        objects.extend(
            phones_here
                .iter()
                .take(MAX_EXAMPLES)
                .map(|p| ObjectRef::endpoint(&p.endpoint)),
        );
        let tenant_list = if tenants.len() > MAX_EXAMPLES {
            format!(
                "{} and {} more tenants",
                tenants[..MAX_EXAMPLES].join(", "),
                tenants.len() - MAX_EXAMPLES
            )
        } else {
            join_and(&tenants)
        };
        alerts.push(Alert {
            id: String::new(),
            impact_phones: 0,
            facets: Vec::new(),
            kind: AlertKind::FailbackLag,
            severity: Severity::Warning,
            summary: format!(
                "{} {model} {} still on {} instead of {} home server {home}, which has been \
                 reporting again for over {} (longest lag {}).",
                phones(count as u64),
                if count == 1 { "is" } else { "are" },
                join_and(&away_servers),
                if count == 1 { "its" } else { "their" },
                duration(limits.failback_after_secs),
                duration(facts.now.saturating_sub(group.earliest_due))
            ),
            why: format!(
                "Some phone models never fail back by themselves: they stay on the backup until \
                 they re-register, which keeps {tenant_list} split and loads the backup."
            ),
            action: "Re-register these phones (reboot or a provisioning push); to stop it \
                     recurring, give this model a shorter registration expiry or enable its SRV \
                     re-query / failback option."
                .to_string(),
            objects,
        });
    }
}
