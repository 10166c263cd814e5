//! Server rules: capacity now and after one failure, stale snapshots.

use crate::domain::srv::Severity;

use super::text::{duration, of_capacity, percent};
use super::{
    Alert, AlertKind, ClusterFacts, Limits, ObjectRef, ServerFacts, push_server, sane_load,
    stable_id,
};

pub(super) fn capacity_alerts(server: &ServerFacts, limits: &Limits, alerts: &mut Vec<Alert>) {
    let Some(capacity) = server.capacity else {
        return;
    };
    let name = &server.name;
    let cap = f64::from(capacity);
    let warning_level = cap * limits.capacity_warning;
    let registered = server.registered as f64;
    let projected = sane_load(server.projected_normal);
    let load = registered.max(projected);

    let severity = if load > cap {
        Some(Severity::Critical)
    } else if load > warning_level {
        Some(Severity::Warning)
    } else {
        None
    };
    if let Some(severity) = severity {
        let (state, why) = if severity == Severity::Critical {
            (
                "over its capacity",
                "An overloaded Asterisk drops registrations and calls, and the phones it sheds \
                 push their backup over too.",
            )
        } else {
            (
                "near its capacity",
                "There is little headroom left: a failover or a busy hour can push it over its \
                 capacity.",
            )
        };
        alerts.push(Alert {
            id: stable_id(&["capacity", name]),
            impact_phones: load.round() as u64,
            facets: Vec::new(),
            related: Vec::new(),
            kind: AlertKind::Capacity,
            severity,
            summary: format!(
                "Server {name} is {state} of {capacity} phones: {}{} registered now, {:.0}{} \
                 projected with nothing down (warning level {}).",
                server.registered,
                of_capacity(registered, capacity),
                projected,
                of_capacity(projected, capacity),
                percent(limits.capacity_warning)
            ),
            why: why.to_string(),
            action: format!(
                "Move a tenant or a pool away from {name} (the Rebalance plan proposes moves), \
                 or raise its capacity if the hardware can take more."
            ),
            objects: vec![ObjectRef::server(name)],
        });
    }

    let Some((down, n1_load)) = &server.worst_n1 else {
        return;
    };
    let n1_load = sane_load(*n1_load);
    let severity = if n1_load > cap {
        Severity::Critical
    } else if n1_load > warning_level {
        Severity::Warning
    } else {
        return;
    };
    let why = if severity == Severity::Critical {
        format!("A single failure would overload {name}, turning one outage into two.")
    } else {
        format!(
            "A single failure would leave {name} above its warning level, with no headroom for \
             a busy hour."
        )
    };
    let mut objects = vec![ObjectRef::server(name)];
    push_server(&mut objects, down);
    alerts.push(Alert {
        id: stable_id(&["capacity_n1", name]),
        // Every phone the server would carry suffers when it is overloaded.
        impact_phones: n1_load.round() as u64,
        facets: Vec::new(),
        related: Vec::new(),
        kind: AlertKind::CapacityN1,
        severity,
        summary: if capacity == 0 {
            format!(
                "If {down} fails, {name} would carry {n1_load:.0} phones, over its capacity of 0."
            )
        } else {
            format!(
                "If {down} fails, {name} would carry {n1_load:.0} phones ({} of its capacity \
                 {capacity}).",
                percent(n1_load / cap)
            )
        },
        why,
        action: format!(
            "Spread the backups: give the pools that fail over from {down} to {name} another \
             secondary, or move tenants off {down} (see What-if and the Rebalance plan)."
        ),
        objects,
    });
}

pub(super) fn stale_alert(
    server: &ServerFacts,
    facts: &ClusterFacts,
    limits: &Limits,
    alerts: &mut Vec<Alert>,
) {
    // Servers in maintenance or retired are expected to go quiet.
    if !server.state.trim().eq_ignore_ascii_case("active") {
        return;
    }
    let name = &server.name;
    let stale = limits.stale_after_secs;
    let (severity, summary, why) = match server.last_report_at {
        Some(at) => {
            let age = facts.now.saturating_sub(at);
            let severity = if age > stale.saturating_mul(4) {
                Severity::Critical
            } else if age > stale {
                Severity::Warning
            } else {
                return;
            };
            (
                severity,
                format!(
                    "Server {name} last reported its registrations {} ago (stale after {}).",
                    duration(age),
                    duration(stale)
                ),
                format!(
                    "Every count for {name} (phones, splits, drift, capacity) is out of date; if \
                     it is down, its phones have failed over without the dashboard seeing it."
                ),
            )
        }
        None => {
            let others_reported = facts
                .servers
                .iter()
                .any(|other| other.last_report_at.is_some());
            if !others_reported {
                return;
            }
            (
                Severity::Warning,
                format!(
                    "Server {name} has never reported its registrations, while other servers have."
                ),
                format!(
                    "Nothing is known about the phones on {name}: they are missing from every \
                     count, split check and capacity figure."
                ),
            )
        }
    };
    alerts.push(Alert {
        id: stable_id(&["stale_snapshot", name]),
        impact_phones: server.registered,
        facets: Vec::new(),
        related: Vec::new(),
        kind: AlertKind::StaleSnapshot,
        severity,
        summary,
        why,
        action: format!(
            "Check the cron job on {name} that posts `asterisk -rx \"pjsip show contacts\"` to \
             /api/v1/servers/{name}/registrations, and its ingest:{name} token; if {name} is \
             down, bring it back or set it to maintenance."
        ),
        objects: vec![ObjectRef::server(name)],
    });
}
