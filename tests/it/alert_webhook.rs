//! The alert webhook (issue 15, part 8) and recording with several instances: deliveries to a
//! local receiver, retries with backoff, one recorder per database, and the webhook settings.
//! On SQLite and (when configured) PostgreSQL; the two-instance test needs PostgreSQL.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use pbx_pools::app::alert_log::{self, Tracker};
use pbx_pools::domain::alerts::ObjectKind;
use pbx_pools::domain::alerts::log::TransitionKind;
use pbx_pools::store::{AuditQuery, Store};
use serde_json::Value;

use crate::alert_log::{app_of, place, unplaced};
use crate::helpers::{self, TestApp};

/// A webhook receiver on 127.0.0.1: every request it got (the bearer header and the JSON), and
/// 500 to the first `fail_first` of them, 204 afterwards.
struct Receiver {
    url: String,
    got: Requests,
}

/// Each request a receiver got: its `Authorization` header and its JSON body.
type Requests = Arc<Mutex<Vec<(Option<String>, Value)>>>;

async fn receiver(fail_first: usize) -> Receiver {
    use axum::http::{HeaderMap, StatusCode};
    let got: Requests = Arc::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let log = got.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let (log, calls) = (log.clone(), calls.clone());
            async move {
                let auth = headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_string());
                let json: Value = serde_json::from_str(&body).expect("the body is JSON");
                log.lock().unwrap().push((auth, json));
                if calls.fetch_add(1, Ordering::SeqCst) < fail_first {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Receiver { url, got }
}

async fn set_webhook(store: &Store, url: &str, secret: &str) {
    let (mut settings, version) = store.settings().await.unwrap();
    settings.webhook_url = url.into();
    settings.webhook_secret = secret.into();
    store
        .save_settings(&settings, version, "test")
        .await
        .unwrap();
}

#[tokio::test]
async fn the_webhook_receives_raised_and_cleared_events() {
    helpers::each_backend(|t: TestApp| async move {
        let app = app_of(&t);
        let hook = receiver(0).await;
        set_webhook(t.store(), &hook.url, "s3cret-token").await;
        let acme = unplaced(t.store(), "ACME").await;
        let mut tracker = Tracker::new(&app);
        let t0 = alert_log::now();

        let tick = tracker.tick(&app, t0).await.unwrap();
        assert!(tick.leader, "the only instance holds the lease");
        assert!(
            tick.transitions >= 1 && tick.delivered == tick.transitions,
            "{tick:?}"
        );
        place(t.store(), &acme).await;
        let tick = tracker.tick(&app, t0 + 5).await.unwrap();
        assert!(tick.delivered >= 1, "{tick:?}");
        assert_eq!(tracker.tick(&app, t0 + 10).await.unwrap().delivered, 0);

        let got = hook.got.lock().unwrap().clone();
        // The alert of ACME without a pool: raised, then cleared by placing it (the empty pool
        // it joined raises an alert of its own, which names ACME too).
        let first = got
            .iter()
            .map(|(_, body)| body)
            .find(|b| {
                b["objects"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|o| o["kind"] == "tenant" && o["name"] == "ACME")
            })
            .expect("an event about ACME");
        let about: Vec<&Value> = got
            .iter()
            .map(|(_, body)| body)
            .filter(|b| b["alert_id"] == first["alert_id"])
            .collect();
        assert_eq!(about.len(), 2, "{got:#?}");
        let (raised, cleared) = (about[0], about[1]);
        assert_eq!(raised["transition"], "raised");
        assert_eq!(cleared["transition"], "cleared");
        assert_eq!(raised["alert_id"], cleared["alert_id"]);
        assert_ne!(raised["id"], cleared["id"], "one id per event");
        let alert_id = raised["alert_id"].as_str().unwrap();
        assert!(
            raised["id"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{alert_id}-"))
        );
        for key in ["kind", "severity", "summary", "impact_phones"] {
            assert!(!raised[key].is_null(), "{key} in {raised}");
        }
        let at = jiff::Timestamp::from_second(t0).unwrap().to_string();
        assert_eq!(raised["at"], at.as_str(), "RFC 3339");
        assert!(
            got.iter()
                .all(|(auth, _)| auth.as_deref() == Some("Bearer s3cret-token")),
            "the secret as a bearer token"
        );
        assert!(
            t.store()
                .due_alert_events(i64::MAX, 10)
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_backoff() {
    helpers::each_backend(|t: TestApp| async move {
        let app = app_of(&t);
        let hook = receiver(1).await;
        set_webhook(t.store(), &hook.url, "").await;
        unplaced(t.store(), "ACME").await;
        let mut tracker = Tracker::new(&app);
        let t0 = alert_log::now();

        let tick = tracker.tick(&app, t0).await.unwrap();
        assert_eq!((tick.delivered, tick.failed), (0, 1), "{tick:?}");
        let waiting = t.store().due_alert_events(t0 + 10, 10).await.unwrap();
        assert_eq!(waiting[0].attempts, 1);
        assert_eq!(
            waiting[0].next_attempt_at,
            Some(t0 + 10),
            "the first retry after 10 s"
        );
        assert!(
            waiting[0]
                .last_error
                .as_deref()
                .unwrap_or("")
                .contains("500"),
            "{:?}",
            waiting[0].last_error
        );
        assert!(
            t.store()
                .due_alert_events(t0 + 9, 10)
                .await
                .unwrap()
                .is_empty(),
            "not due before"
        );
        let early = tracker.tick(&app, t0 + 5).await.unwrap();
        assert_eq!((early.delivered, early.failed), (0, 0));

        let retry = tracker.tick(&app, t0 + 10).await.unwrap();
        assert!(retry.delivered >= 1 && retry.failed == 0, "{retry:?}");
        let got = hook.got.lock().unwrap().clone();
        assert_eq!(got[0].1, got[1].1, "the same event, the same id, again");
        assert_eq!(got[0].0, None, "no secret, no header");
        assert!(
            t.store()
                .due_alert_events(i64::MAX, 10)
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn two_instances_record_each_transition_once_by_the_lease_holder() {
    if helpers::pg_admin_url().is_none() {
        eprintln!(
            "skipped: alert_webhook::two_instances_record_each_transition_once_by_the_lease_holder \
             needs PostgreSQL: set PBX_POOLS_TEST_PG_URL to run it"
        );
        return;
    }
    let one = TestApp::on(helpers::postgres().await.unwrap()).await;
    let two = one.second_instance().await;
    let (a, b) = (app_of(&one), app_of(&two));
    for code in ["ACME", "BETA", "GAMMA"] {
        unplaced(one.store(), code).await;
    }
    let (mut ta, mut tb) = (Tracker::new(&a), Tracker::new(&b));
    let t0 = alert_log::now();
    let mut leaders = Vec::new();
    for round in 0..4 {
        let at = t0 + round * 5;
        let (x, y) = tokio::join!(ta.tick(&a, at), tb.tick(&b, at));
        let (x, y) = (x.unwrap(), y.unwrap());
        assert!(
            x.leader != y.leader,
            "round {round}: exactly one holds the lease"
        );
        let (leader, other) = if x.leader { (x, y) } else { (y, x) };
        assert_eq!(other.transitions, 0, "the other records nothing");
        leaders.push(x.leader);
        if round == 0 {
            assert!(leader.transitions >= 3, "{leader:?}");
        }
    }
    assert!(
        leaders.windows(2).all(|w| w[0] == w[1]),
        "the holder keeps its lease: {leaders:?}"
    );
    let acme_alert = alert_log::history_for(&a, ObjectKind::Tenant, "ACME", 10)
        .await
        .unwrap()[0]
        .alert_id
        .clone();
    // Even without the lease, two recorders at once write each transition once: the second
    // finds the first's already recorded.
    place(
        one.store(),
        &one.store().tenant_by_code("ACME").await.unwrap(),
    )
    .await;
    let (x, y) = tokio::join!(
        alert_log::record_transitions(&a, t0 + 30),
        alert_log::record_transitions(&b, t0 + 30)
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert!(x.is_empty() != y.is_empty(), "one records: {x:?} {y:?}");
    let cleared: Vec<_> = x
        .iter()
        .chain(&y)
        .filter(|t| t.alert_id == acme_alert)
        .map(|t| t.transition)
        .collect();
    assert_eq!(cleared, [TransitionKind::Cleared]);

    let mut all = Vec::new();
    for code in ["acme", "beta", "gamma"] {
        all.extend(
            alert_log::history_for(&a, ObjectKind::Tenant, code, 100)
                .await
                .unwrap(),
        );
    }
    all.sort_by_key(|e| e.id);
    all.dedup_by_key(|e| e.id);
    let mut keys: Vec<_> = all
        .iter()
        .map(|e| (e.alert_id.clone(), e.transition.as_str()))
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "no transition twice: {all:#?}");
    let raised = all
        .iter()
        .filter(|e| e.transition == TransitionKind::Raised && e.at == t0)
        .count();
    assert_eq!(
        raised, 3,
        "each tenant's alert raised once, in the first round"
    );
    two.db.cleanup().await;
    one.db.cleanup().await;
}

#[tokio::test]
async fn the_settings_form_takes_a_webhook_and_keeps_its_secret_out_of_sight() {
    helpers::each_backend(|t: TestApp| async move {
        use pbx_pools::domain::settings::SettingsInput;
        let (settings, version) = t.store().settings().await.unwrap();
        let form = serde_json::to_value(SettingsInput::from_settings(&settings)).unwrap();
        let fields = |extra: &[(&'static str, &'static str)], version: i64| {
            let mut pairs: Vec<(String, String)> = form
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
                .collect();
            pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            pairs.push(("version".into(), version.to_string()));
            pairs
        };
        let bad = post(
            &t,
            fields(&[("webhook_url", "ftp://example.com/x")], version),
        )
        .await;
        assert_eq!(bad.status, 422);
        assert!(
            bad.body.contains("must start with http:// or https://"),
            "{}",
            bad.body
        );

        let ok = post(
            &t,
            fields(
                &[
                    ("webhook_url", "https://alerts.example.com/hook"),
                    ("webhook_secret", "top-secret-1"),
                ],
                version,
            ),
        )
        .await;
        assert_eq!(ok.status, 303, "{}", ok.body);
        let (saved, version) = t.store().settings().await.unwrap();
        assert_eq!(saved.webhook_url, "https://alerts.example.com/hook");
        assert_eq!(saved.webhook_secret, "top-secret-1");
        let page = t.get("/settings").await;
        assert!(!page.body.contains("top-secret-1"), "never shown back");
        assert!(page.body.contains("one is set"));

        // Saved again without typing it: kept.
        let ok = post(
            &t,
            fields(
                &[("webhook_url", "https://alerts.example.com/hook")],
                version,
            ),
        )
        .await;
        assert_eq!(ok.status, 303, "{}", ok.body);
        let (saved, _) = t.store().settings().await.unwrap();
        assert_eq!(saved.webhook_secret, "top-secret-1");

        let (entries, _) = t
            .store()
            .audit_entries(&AuditQuery {
                object_kind: Some("settings".into()),
                page: 1,
                per_page: 10,
                ..AuditQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(entries.len(), 2);
        for e in entries {
            for text in [e.before, e.after].into_iter().flatten() {
                assert!(!text.contains("top-secret-1"), "the audit log: {text}");
            }
        }
    })
    .await;
}

async fn post(t: &TestApp, pairs: Vec<(String, String)>) -> helpers::TestResponse {
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    t.post_form("/settings", &refs).await
}
