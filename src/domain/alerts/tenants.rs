//! Tenant rules: split, outside the pool, no pool, no phones.

use crate::domain::srv::Severity;

use super::text::{join_and, names_only, percent, phones, server_list};
use super::{
    Alert, AlertKind, AlertSettings, ClusterFacts, Limits, ObjectRef, ServerPhones, SplitStatus,
    TenantFacts, merge_counts, phones_on, push_server, same_name, share,
};

/// How the tenant's phones are split, or `None` when they are not: no phones registered, or
/// all of them on one server (even if that server is not home: a whole tenant on its backup is
/// pool drift or failback lag, not a split).
///
/// Severity: info while the away share is at most the normal share (a few phones on the
/// secondary after packet loss are normal, per the clustering guide), warning above it, critical
/// when the majority of the phones are away from home.
pub fn tenant_split(t: &TenantFacts, settings: &AlertSettings) -> Option<SplitStatus> {
    let limits = Limits::new(settings);
    let by_server = merge_counts(&t.phones_by_server);
    if by_server.len() < 2 {
        return None;
    }
    let total = by_server
        .iter()
        .fold(0u64, |sum, row| sum.saturating_add(row.phones));
    let declared_home = t.home.as_deref().map(str::trim).filter(|h| !h.is_empty());
    let (home, home_is_assumed) = match declared_home {
        Some(home) => (home.to_string(), false),
        // `by_server` is sorted most phones first, and has at least two rows here.
        None => (by_server[0].server.clone(), true),
    };
    let home_phones = phones_on(&by_server, &home);
    let away_phones = total.saturating_sub(home_phones);
    let away_share = share(away_phones, total);
    let majority_away = u128::from(away_phones) * 2 > u128::from(total);
    let severity = if majority_away {
        Severity::Critical
    } else if away_share > limits.normal_away_share {
        Severity::Warning
    } else {
        Severity::Info
    };
    let away_servers = by_server
        .iter()
        .filter(|row| !same_name(&row.server, &home))
        .cloned()
        .collect();
    Some(SplitStatus {
        total,
        home,
        home_is_assumed,
        home_phones,
        away_phones,
        away_share,
        servers: by_server.len(),
        away_servers,
        majority_away,
        severity,
    })
}

pub(super) fn tenant_alerts(
    tenant: &TenantFacts,
    facts: &ClusterFacts,
    settings: &AlertSettings,
    limits: &Limits,
    alerts: &mut Vec<Alert>,
) {
    let by_server = merge_counts(&tenant.phones_by_server);
    let registered = by_server
        .iter()
        .fold(0u64, |sum, row| sum.saturating_add(row.phones));
    let pool = tenant
        .pool
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());

    if let Some(split) = tenant_split(tenant, settings) {
        alerts.push(split_alert(tenant, pool, &split, limits));
    }

    match pool {
        Some(pool) => {
            let outside: Vec<ServerPhones> = by_server
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
                alerts.push(outside_pool_alert(tenant, pool, &outside));
            }
        }
        None => alerts.push(no_pool_alert(tenant, registered, &by_server)),
    }

    if facts.any_registrations && tenant.expected_phones > 0 && registered == 0 {
        alerts.push(Alert {
            id: String::new(),
            impact_phones: 0,
            facets: Vec::new(),
            kind: AlertKind::TenantNoPhones,
            severity: Severity::Info,
            summary: format!(
                "Tenant {} expects {} but none is registered on any server.",
                tenant.code,
                phones(u64::from(tenant.expected_phones))
            ),
            why: "Its phones may be switched off, registered on a server that does not report, \
                  or not recognised as this tenant's by the endpoint naming rule."
                .to_string(),
            action: "Check the phones at the tenant's site; if they are registered, look for \
                     them among the registrations matching no tenant and check the \
                     tenant-matching rule in Settings."
                .to_string(),
            objects: vec![ObjectRef::tenant(&tenant.code)],
        });
    }
}

fn split_alert(
    tenant: &TenantFacts,
    pool: Option<&str>,
    split: &SplitStatus,
    limits: &Limits,
) -> Alert {
    let away_list = server_list(&split.away_servers);
    let home_phrase = if split.home_is_assumed {
        format!(
            "{}, the server holding most of them (the tenant has no home server)",
            split.home
        )
    } else {
        format!("its home server {}", split.home)
    };
    let summary = format!(
        "Tenant {} is split: {} of {} ({}) are away from {}, on {}.",
        tenant.code,
        split.away_phones,
        phones(split.total),
        percent(split.away_share),
        home_phrase,
        away_list
    );
    let cost = "Transfers between the tenant's phones fail when the calls sit on different \
                servers, and every call between them is routed from server to server, adding \
                load.";
    let why = match split.severity {
        Severity::Info => format!(
            "{cost} Up to {} on the secondary is normal after packet loss, so this is for \
             information.",
            percent(limits.normal_away_share)
        ),
        Severity::Warning => format!(
            "{cost} More than the normal {} is away, so something keeps these phones off {}.",
            percent(limits.normal_away_share),
            split.home
        ),
        Severity::Critical => format!(
            "{cost} Most of the tenant is away from {}: it may be unreachable from the \
             tenant's site.",
            split.home
        ),
    };
    let away_names = names_only(&split.away_servers);
    let action = if split.home_is_assumed {
        format!(
            "Assign the tenant a pool, then re-register the phones on {away_names} so they \
             gather on one server."
        )
    } else if split.severity == Severity::Critical {
        format!(
            "Check that {} is up and reachable from the tenant's site; then check the SRV pool \
             setting of the phones on {away_names} or re-register them.",
            split.home
        )
    } else {
        format!(
            "Check the SRV pool setting and the network of the phones on {away_names}, or \
             re-register them so they return to {}.",
            split.home
        )
    };
    let mut objects = vec![ObjectRef::tenant(&tenant.code)];
    if let Some(pool) = pool {
        objects.push(ObjectRef::pool(pool));
    }
    push_server(&mut objects, &split.home);
    for row in &split.away_servers {
        push_server(&mut objects, &row.server);
    }
    Alert {
        id: String::new(),
        impact_phones: 0,
        facets: Vec::new(),
        kind: AlertKind::TenantSplit,
        severity: split.severity,
        summary,
        why,
        action,
        objects,
    }
}

fn outside_pool_alert(tenant: &TenantFacts, pool: &str, outside: &[ServerPhones]) -> Alert {
    let count = outside
        .iter()
        .fold(0u64, |sum, row| sum.saturating_add(row.phones));
    let members = if tenant.pool_servers.is_empty() {
        "which has no members".to_string()
    } else {
        format!("members: {}", join_and(&tenant.pool_servers))
    };
    let verb = if count == 1 { "is" } else { "are" };
    let mut objects = vec![ObjectRef::tenant(&tenant.code), ObjectRef::pool(pool)];
    for row in outside {
        push_server(&mut objects, &row.server);
    }
    Alert {
        id: String::new(),
        impact_phones: 0,
        facets: Vec::new(),
        kind: AlertKind::OutsidePool,
        severity: Severity::Warning,
        summary: format!(
            "{} of tenant {} {verb} registered on {}, outside its pool {pool} ({members}).",
            phones(count),
            tenant.code,
            server_list(outside),
        ),
        why: format!(
            "The SRV records of {pool} never send phones there, so these phones are \
             misconfigured (a wrong SRV name or a hard-coded server address) and will not fail \
             over as planned."
        ),
        action: format!(
            "Set the SIP server of these phones to the SRV name of pool {pool}, not an IP \
             address or another pool's name, and re-register them."
        ),
        objects,
    }
}

fn no_pool_alert(tenant: &TenantFacts, registered: u64, by_server: &[ServerPhones]) -> Alert {
    // No pool and nothing expected or registered is a tenant still being set up.
    let at_risk = tenant.expected_phones > 0 || registered > 0;
    let summary = if !at_risk {
        format!(
            "Tenant {} has no pool and expects no phones yet.",
            tenant.code
        )
    } else if registered == 0 {
        format!(
            "Tenant {} has no pool: {} expected, none registered.",
            tenant.code,
            phones(u64::from(tenant.expected_phones))
        )
    } else {
        format!(
            "Tenant {} has no pool: {} expected, {} registered on {}.",
            tenant.code,
            phones(u64::from(tenant.expected_phones)),
            registered,
            server_list(by_server)
        )
    };
    let why = if at_risk {
        "Without a pool its phones have no SRV name to use, and the tenant is left out of every \
         projection, what-if and rebalance plan."
    } else {
        "It is left out of projections until it is placed; nothing is at risk while it has no \
         phones."
    };
    let mut objects = vec![ObjectRef::tenant(&tenant.code)];
    for row in by_server {
        push_server(&mut objects, &row.server);
    }
    Alert {
        id: String::new(),
        impact_phones: 0,
        facets: Vec::new(),
        kind: AlertKind::TenantNoPool,
        severity: if at_risk {
            Severity::Warning
        } else {
            Severity::Info
        },
        summary,
        why: why.to_string(),
        action: "Assign it a pool on the tenant page, or with bulk assign on the Tenants page."
            .to_string(),
        objects,
    }
}
