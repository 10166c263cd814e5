use super::*;

// --- capacity ---

fn capacity_alert(registered: u64, projected: f64) -> Option<Alert> {
    let mut facts = cluster();
    let mut s = server("voip1");
    s.capacity = Some(1000);
    s.registered = registered;
    s.projected_normal = projected;
    facts.servers = vec![s];
    of_kind(&alerts_for(&facts), AlertKind::Capacity)
        .first()
        .map(|a| (*a).clone())
}

#[test]
fn capacity_boundaries_now_and_projected() {
    let severity = |r, p| capacity_alert(r, p).map(|a| a.severity);
    assert_eq!(severity(800, 800.0), None);
    assert_eq!(severity(801, 700.0), Some(Severity::Warning));
    assert_eq!(severity(100, 800.5), Some(Severity::Warning));
    assert_eq!(severity(1000, 1000.0), Some(Severity::Warning));
    assert_eq!(severity(1001, 900.0), Some(Severity::Critical));
    assert_eq!(severity(10, 1000.5), Some(Severity::Critical));
    assert_eq!(severity(10, f64::NAN), None);
    assert_eq!(severity(10, f64::INFINITY), None);
}

#[test]
fn capacity_alert_gives_both_figures() {
    let alert = capacity_alert(1050, 980.0).unwrap();
    assert_eq!(
        alert.summary,
        "Server voip1 is over its capacity of 1000 phones: 1050 (105%) registered now, 980 \
         (98%) projected with nothing down (warning level 80%)."
    );
    assert_eq!(objects(&alert), vec![(ObjectKind::Server, "voip1")]);
    // Every phone it carries (now or projected, the larger) suffers from the overload.
    assert_eq!(alert.impact_phones, 1050);
    assert_eq!(alert.id, stable_id(&["capacity", "voip1"]));
    assert!(alert.facets.is_empty());
    assert_eq!(capacity_alert(100, 900.4).unwrap().impact_phones, 900);
}

#[test]
fn servers_without_capacity_get_no_capacity_alerts() {
    let mut facts = cluster();
    let mut s = server("voip1");
    s.registered = 1_000_000;
    s.projected_normal = 1e9;
    s.worst_n1 = Some(("voip2".into(), 1e9));
    facts.servers = vec![s];
    assert!(alerts_for(&facts).is_empty());
}

#[test]
fn a_capacity_of_zero_is_only_exceeded_by_phones() {
    let mut facts = cluster();
    let mut s = server("voip1");
    s.capacity = Some(0);
    facts.servers = vec![s.clone()];
    assert!(alerts_for(&facts).is_empty());
    s.registered = 1;
    facts.servers = vec![s];
    let alert = only(&alerts_for(&facts), AlertKind::Capacity);
    assert_eq!(alert.severity, Severity::Critical);
    assert!(!alert.summary.contains("inf"), "{}", alert.summary);
}

fn n1_alert(load: f64) -> Option<Alert> {
    let mut facts = cluster();
    let mut s = server("voip1");
    s.capacity = Some(1000);
    s.worst_n1 = Some(("voip2".into(), load));
    facts.servers = vec![s, server("voip2")];
    of_kind(&alerts_for(&facts), AlertKind::CapacityN1)
        .first()
        .map(|a| (*a).clone())
}

#[test]
fn n1_boundaries() {
    let severity = |load| n1_alert(load).map(|a| a.severity);
    assert_eq!(severity(800.0), None);
    assert_eq!(severity(800.5), Some(Severity::Warning));
    assert_eq!(severity(1000.0), Some(Severity::Warning));
    assert_eq!(severity(1000.5), Some(Severity::Critical));
    assert_eq!(severity(f64::NAN), None);
}

#[test]
fn n1_alert_says_which_failure_overloads_which_server() {
    let alert = n1_alert(1180.0).unwrap();
    assert_eq!(
        alert.summary,
        "If voip2 fails, voip1 would carry 1180 phones (118% of its capacity 1000)."
    );
    assert!(alert.why.contains("one outage into two"), "{}", alert.why);
    assert_eq!(
        objects(&alert),
        vec![(ObjectKind::Server, "voip1"), (ObjectKind::Server, "voip2")]
    );
    assert_eq!(alert.impact_phones, 1180);
    assert_eq!(alert.id, stable_id(&["capacity_n1", "voip1"]));
}

// --- stale snapshots ---

fn stale(age: i64) -> Option<Alert> {
    let mut facts = cluster();
    let mut s = server("voip2");
    s.last_report_at = Some(NOW - age);
    facts.servers = vec![server("voip1"), s];
    let alerts = alerts_for(&facts);
    of_kind(&alerts, AlertKind::StaleSnapshot)
        .first()
        .map(|a| (*a).clone())
}

#[test]
fn stale_snapshot_boundaries() {
    let severity = |age| stale(age).map(|a| a.severity);
    assert_eq!(severity(900), None);
    assert_eq!(severity(901), Some(Severity::Warning));
    assert_eq!(severity(3600), Some(Severity::Warning));
    assert_eq!(severity(3601), Some(Severity::Critical));
    // A report from the future (clock skew) is not stale.
    assert_eq!(severity(-300), None);
}

#[test]
fn a_stale_server_is_named_with_its_age() {
    let alert = stale(47 * 60).unwrap();
    assert_eq!(
        alert.summary,
        "Server voip2 last reported its registrations 47 min ago (stale after 15 min)."
    );
    assert!(alert.why.contains("out of date"), "{}", alert.why);
    assert!(alert.action.contains("/api/v1/servers/voip2/registrations"));
    assert_eq!(objects(&alert), vec![(ObjectKind::Server, "voip2")]);
    assert_eq!(alert.id, stable_id(&["stale_snapshot", "voip2"]));
}

#[test]
fn a_stale_server_affects_the_phones_it_last_reported() {
    let mut facts = cluster();
    let mut s = server("voip2");
    s.last_report_at = Some(NOW - 1000);
    s.registered = 320;
    facts.servers = vec![server("voip1"), s];
    assert_eq!(
        only(&alerts_for(&facts), AlertKind::StaleSnapshot).impact_phones,
        320
    );
}

#[test]
fn a_server_that_never_reported_is_stale_once_others_have() {
    let mut facts = cluster();
    let mut silent = server("voip2");
    silent.last_report_at = None;
    facts.servers = vec![server("voip1"), silent.clone()];
    let alert = only(&alerts_for(&facts), AlertKind::StaleSnapshot);
    assert_eq!(alert.severity, Severity::Warning);
    assert_eq!(
        alert.summary,
        "Server voip2 has never reported its registrations, while other servers have."
    );
    // Nobody has reported yet: a fresh install, not a stale server.
    facts.servers = vec![silent.clone(), silent.clone()];
    assert!(alerts_for(&facts).is_empty());
}

#[test]
fn servers_out_of_service_are_never_stale() {
    let mut facts = cluster();
    let mut quiet = server("voip2");
    quiet.last_report_at = Some(NOW - 86_400);
    for state in ["maintenance", "retired"] {
        quiet.state = state.into();
        facts.servers = vec![server("voip1"), quiet.clone()];
        assert!(alerts_for(&facts).is_empty(), "{state}");
    }
}
