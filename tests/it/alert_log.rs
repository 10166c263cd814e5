//! Silences, acknowledgements and alert history (issue 15, parts 6 and 7 and the silences API),
//! through the real router and the application layer, on SQLite and (when configured)
//! PostgreSQL. Times are passed in (`now`), never waited for. The webhook and several
//! instances: `alert_webhook`.
//!
//! The alerts come from the real rules where the story needs them: a tenant without a pool is
//! an alert about that tenant, and giving it a pool clears it.

use pbx_pools::app::alert_log;
use pbx_pools::app::{App, Seen, cluster};
use pbx_pools::domain::alerts::log::{SilenceInput, TransitionKind};
use pbx_pools::domain::alerts::{Alert, AlertKind, ObjectKind, ObjectRef};
use pbx_pools::domain::model::{NewPool, NewTenant, Tenant, Transport};
use pbx_pools::domain::names::{HostName, PoolName, TenantCode};
use pbx_pools::domain::srv::Severity;
use pbx_pools::store::{AuditQuery, Store};
use serde_json::json;

use crate::helpers::{self, TestApp};

/// The application over the test app's database (its own caches; the data is shared).
pub(crate) fn app_of(t: &TestApp) -> App {
    App::new(t.store().clone())
}

pub(crate) async fn unplaced(store: &Store, code: &str) -> Tenant {
    store
        .create_tenant(
            &NewTenant {
                code: TenantCode::parse(code).unwrap(),
                name: format!("{code} Srl"),
                expected_phones: 10,
                pool_id: None,
                notes: String::new(),
            },
            "test",
        )
        .await
        .unwrap()
}

/// Gives the tenant a pool (an empty one: its alerts name the pool, not the tenant).
pub(crate) async fn place(store: &Store, tenant: &Tenant) {
    let pool = match store.pool_by_name("pbxA").await {
        Ok(p) => p,
        Err(_) => store
            .create_pool(
                &NewPool {
                    name: PoolName::parse("pbxA").unwrap(),
                    srv_name: HostName::parse("pbxa.example.com").unwrap(),
                    ttl: 86_400,
                    transports: vec![Transport::Udp],
                },
                "test",
            )
            .await
            .unwrap(),
    };
    let now = store.tenant_by_code(tenant.code.as_str()).await.unwrap();
    store
        .assign_tenant(now.id, now.version, Some(pool.id), "test")
        .await
        .unwrap();
}

/// The current alert naming the tenant `code`.
async fn alert_about(app: &App, code: &str) -> Alert {
    let version = app.store().data_version().await.unwrap();
    cluster::alerts(app, Seen(version))
        .await
        .unwrap()
        .alerts
        .iter()
        .find(|a| a.concerns(ObjectKind::Tenant, code))
        .cloned()
        .unwrap_or_else(|| panic!("an alert names tenant {code}"))
}

fn names_tenant(objects: &[ObjectRef], code: &str) -> bool {
    objects
        .iter()
        .any(|o| o.kind == ObjectKind::Tenant && o.name.eq_ignore_ascii_case(code))
}

async fn audit_actions(store: &Store, kind: &str) -> Vec<String> {
    let (entries, _) = store
        .audit_entries(&AuditQuery {
            object_kind: Some(kind.into()),
            page: 1,
            per_page: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    entries.into_iter().map(|e| e.action).rev().collect()
}

#[tokio::test]
async fn a_silence_hides_matching_alerts_until_it_expires() {
    helpers::each_backend(|t: TestApp| async move {
        let app = app_of(&t);
        unplaced(t.store(), "ACME").await;
        unplaced(t.store(), "BETA").await;
        let acme = alert_about(&app, "ACME").await;
        let beta = alert_about(&app, "BETA").await;

        let version_before = t.store().data_version().await.unwrap();
        let res = t
            .post_form(
                "/alerts/silences",
                &[
                    ("tenant", " acme "),
                    ("duration", "60"),
                    ("reason", "moving ACME tonight"),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(
            res.location.as_deref(),
            Some("/alerts"),
            "back to the alerts"
        );
        assert!(
            t.store().data_version().await.unwrap() > version_before,
            "an audited write moves the data version"
        );
        assert_eq!(audit_actions(t.store(), "silence").await, ["create"]);

        let silences = t.store().active_silences(alert_log::now()).await.unwrap();
        assert_eq!(silences.len(), 1);
        let s = silences[0].clone();
        assert_eq!(s.tenant.as_deref(), Some("acme"));
        assert_eq!(s.created_by, "admin");
        assert_eq!(s.ends_at - s.created_at, 3600);

        // The overlay the alerts page reads, for a reader that has seen the write.
        let seen = Seen(t.store().data_version().await.unwrap());
        let overlay = alert_log::overlay_for(&app, seen).await.unwrap();
        let hidden = overlay
            .silence_for(&acme, s.created_at + 1)
            .expect("ACME silenced");
        assert_eq!(hidden.id, s.id);
        assert!(overlay.silence_for(&beta, s.created_at + 1).is_none());
        assert!(overlay.silence_for(&acme, s.ends_at - 1).is_some());
        assert!(
            overlay.silence_for(&acme, s.ends_at).is_none(),
            "it ends at its end time, whatever the cached overlay holds"
        );
        assert!(
            t.store()
                .active_silences(s.ends_at)
                .await
                .unwrap()
                .is_empty(),
            "and is no longer in force then"
        );

        // The page lists it with what it hides now.
        let page = t.get("/alerts/silences").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("moving ACME tonight"), "{}", page.body);
        assert!(
            page.body
                .contains(&format!("action=\"/alerts/silences/{}/remove\"", s.id)),
            "a remove button"
        );

        // Removing ends it at once.
        let res = t
            .post_form(
                &format!("/alerts/silences/{}/remove", s.id),
                &[("back", "/alerts/silences")],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(res.location.as_deref(), Some("/alerts/silences"));
        let seen = Seen(t.store().data_version().await.unwrap());
        let overlay = alert_log::overlay_for(&app, seen).await.unwrap();
        assert!(overlay.silence_for(&acme, s.created_at + 1).is_none());
        let removed = t.store().silence(s.id).await.unwrap();
        assert_eq!(removed.removed_by.as_deref(), Some("admin"));
        assert_eq!(
            audit_actions(t.store(), "silence").await,
            ["create", "remove"]
        );
        let again = t
            .post_form(&format!("/alerts/silences/{}/remove", s.id), &[])
            .await;
        assert_eq!(again.status, 409, "removed once: {}", again.body);
    })
    .await;
}

#[tokio::test]
async fn silences_by_kind_or_one_alert_and_refused_forms() {
    helpers::each_backend(|t: TestApp| async move {
        let app = app_of(&t);
        unplaced(t.store(), "ACME").await;
        unplaced(t.store(), "BETA").await;
        let acme = alert_about(&app, "ACME").await;
        let beta = alert_about(&app, "BETA").await;

        // One alert, by id, from a "Silence…" link: the form names that alert.
        let form = t
            .get(&format!(
                "/alerts/silences?alert_id={}&back=/alerts",
                acme.id
            ))
            .await;
        assert_eq!(form.status, 200);
        assert!(form.body.contains(&acme.summary), "{}", form.body);
        let res = t
            .post_form(
                "/alerts/silences",
                &[
                    ("alert_id", acme.id.as_str()),
                    ("duration", "custom"),
                    ("custom_minutes", "90"),
                    ("reason", "known"),
                    ("back", "/alerts?kind=tenant_no_pool"),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(res.location.as_deref(), Some("/alerts?kind=tenant_no_pool"));
        // A kind matches every alert of that kind.
        let res = t
            .post_form(
                "/alerts/silences",
                &[
                    ("kind", acme.kind.as_str()),
                    ("duration", "240"),
                    ("reason", "all of them"),
                    ("back", "https://evil.example/"),
                ],
            )
            .await;
        assert_eq!(res.status, 303);
        assert_eq!(res.location.as_deref(), Some("/"), "only local paths");
        let now = alert_log::now();
        let seen = Seen(t.store().data_version().await.unwrap());
        let overlay = alert_log::overlay_for(&app, seen).await.unwrap();
        let by_id = overlay
            .silences()
            .iter()
            .find(|s| s.alert_id.is_some())
            .unwrap();
        assert_eq!(by_id.alert_id.as_deref(), Some(acme.id.as_str()));
        assert_eq!(by_id.ends_at - by_id.created_at, 90 * 60, "custom minutes");
        assert!(by_id.matches(&acme, now + 60) && !by_id.matches(&beta, now + 60));
        let by_kind = overlay.silence_for(&beta, now + 60).unwrap();
        assert_eq!(by_kind.kind.as_deref(), Some(acme.kind.as_str()));
        assert_eq!(
            overlay.silence_for(&acme, now + 60).map(|s| s.id),
            Some(by_kind.id),
            "of two silences, the one ending last"
        );
        assert!(
            overlay.silence_for(&beta, now + 5 * 3600).is_none(),
            "4 hours, then no more"
        );

        // Refused: every problem next to its field, nothing stored.
        let before = t.store().active_silences(now).await.unwrap().len();
        for (fields, field) in [
            (
                vec![("duration", "60"), ("reason", "why")],
                "give at least one",
            ),
            (
                vec![
                    ("tenant", "ACME"),
                    ("duration", "custom"),
                    ("custom_minutes", "0"),
                    ("reason", "x"),
                ],
                "whole number of minutes",
            ),
            (
                vec![("tenant", "ACME"), ("duration", "60"), ("reason", " ")],
                "say why",
            ),
            (
                vec![("kind", "nonsense"), ("duration", "60"), ("reason", "x")],
                "unknown alert kind",
            ),
        ] {
            let res = t.post_form("/alerts/silences", &fields).await;
            assert_eq!(res.status, 422, "{fields:?}");
            assert!(res.body.contains(field), "{fields:?}: {}", res.body);
        }
        let res = t
            .post_form(
                "/alerts/silences",
                &[
                    ("alert_id", "0123456789abcdef"),
                    ("duration", "60"),
                    ("reason", "x"),
                ],
            )
            .await;
        assert_eq!(res.status, 404, "no current alert has that id");
        assert_eq!(
            t.store().active_silences(now).await.unwrap().len(),
            before,
            "nothing stored"
        );
    })
    .await;
}

#[tokio::test]
async fn acknowledging_an_alert_records_who_when_and_a_note() {
    helpers::each_backend(|t: TestApp| async move {
        let app = app_of(&t);
        unplaced(t.store(), "ACME").await;
        let acme = alert_about(&app, "ACME").await;
        let res = t
            .post_form(
                "/alerts/ack",
                &[("alert_id", acme.id.as_str()), ("note", "on it — Marta")],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(res.location.as_deref(), Some("/alerts"));
        let seen = Seen(t.store().data_version().await.unwrap());
        let overlay = alert_log::overlay_for(&app, seen).await.unwrap();
        let ack = overlay.ack(&acme.id).expect("acknowledged");
        assert_eq!(
            (ack.by.as_str(), ack.note.as_str()),
            ("admin", "on it — Marta")
        );
        assert!((alert_log::now() - ack.at).abs() < 60);
        assert_eq!(audit_actions(t.store(), "alert").await, ["acknowledge"]);

        let res = t
            .post_form("/alerts/ack", &[("alert_id", "0123456789abcdef")])
            .await;
        assert_eq!(res.status, 404, "only a current alert");
        let res = t
            .post_form(
                "/alerts/ack",
                &[("alert_id", acme.id.as_str()), ("note", &"x".repeat(501))],
            )
            .await;
        assert_eq!(res.status, 422);

        let res = t
            .post_form(
                "/alerts/unack",
                &[("alert_id", acme.id.as_str()), ("back", "/alerts/silences")],
            )
            .await;
        assert_eq!(res.status, 303);
        assert_eq!(res.location.as_deref(), Some("/alerts/silences"));
        let seen = Seen(t.store().data_version().await.unwrap());
        assert!(
            alert_log::overlay_for(&app, seen)
                .await
                .unwrap()
                .ack(&acme.id)
                .is_none()
        );
        assert_eq!(
            audit_actions(t.store(), "alert").await,
            ["acknowledge", "unacknowledge"]
        );
    })
    .await;
}

#[tokio::test]
async fn a_cleared_alert_leaves_a_history_entry() {
    helpers::each_backend(|t: TestApp| async move {
        let app = app_of(&t);
        let acme = unplaced(t.store(), "ACME").await;
        let t0 = alert_log::now();

        let raised = alert_log::record_transitions(&app, t0).await.unwrap();
        let first = raised
            .iter()
            .find(|x| names_tenant(&x.objects, "ACME"))
            .expect("the unplaced tenant's alert is raised");
        assert_eq!(first.transition, TransitionKind::Raised);
        let id = first.alert_id.clone();
        assert!(
            alert_log::record_transitions(&app, t0 + 5)
                .await
                .unwrap()
                .is_empty(),
            "nothing changed, nothing recorded"
        );
        assert_eq!(
            t.store().alert_since().await.unwrap().get(&id),
            Some(&t0),
            "raised since t0"
        );

        place(t.store(), &acme).await;
        let cleared = alert_log::record_transitions(&app, t0 + 60).await.unwrap();
        let gone = cleared
            .iter()
            .find(|x| x.alert_id == id)
            .expect("placing the tenant clears its alert");
        assert_eq!(gone.transition, TransitionKind::Cleared);
        assert!(!t.store().alert_since().await.unwrap().contains_key(&id));

        let history = alert_log::history_for(&app, ObjectKind::Tenant, "acme", 10)
            .await
            .unwrap();
        let steps: Vec<_> = history
            .iter()
            .filter(|e| e.alert_id == id)
            .map(|e| (e.transition, e.at))
            .collect();
        assert_eq!(
            steps,
            vec![
                (TransitionKind::Cleared, t0 + 60),
                (TransitionKind::Raised, t0)
            ],
            "newest first, with their times"
        );
        assert_eq!(history[0].summary, first.summary);

        let page = t.get("/alerts/history?kind=tenant&name=ACME").await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("transition-cleared") && page.body.contains("transition-raised"),
            "{}",
            page.body
        );
        assert!(page.body.contains(&first.summary));
        // The tenant's own page shows the same history.
        let tenant_page = t.get(&format!("/tenants/{}", acme.code)).await;
        assert_eq!(tenant_page.status, 200);
        assert!(
            tenant_page.body.contains("Alert history")
                && tenant_page.body.contains("transition-cleared")
                && tenant_page.body.contains("transition-raised"),
            "{}",
            tenant_page.body
        );
        let one = t.get(&format!("/alerts/history?alert={id}")).await;
        assert_eq!(one.status, 200);
        assert_eq!(one.body.matches("<tr class=\"transition-").count(), 2);
        assert_eq!(t.get("/alerts/history?kind=nope").await.status, 422);
    })
    .await;
}

fn made_up(tenant: &str, severity: Severity, phones: u64) -> Alert {
    Alert {
        id: pbx_pools::domain::alerts::stable_id(&["test", tenant]),
        kind: AlertKind::TenantSplit,
        severity,
        impact_phones: phones,
        facets: Vec::new(),
        related: Vec::new(),
        summary: format!("{tenant}: {phones} phones away"),
        why: String::new(),
        action: String::new(),
        objects: vec![ObjectRef::tenant(tenant), ObjectRef::server("voip2")],
    }
}

#[tokio::test]
async fn severity_changes_are_history_and_an_acknowledgement_ends_with_its_alert() {
    helpers::each_backend(|t: TestApp| async move {
        let app = app_of(&t);
        let store = t.store();
        let warn = made_up("ACME", Severity::Warning, 4);
        alert_log::record(&app, std::slice::from_ref(&warn), 100)
            .await
            .unwrap();
        store
            .set_ack(&warn.id, "looking", "admin", 110)
            .await
            .unwrap();
        // More phones at the same severity: the record follows, no event.
        let more = made_up("ACME", Severity::Warning, 6);
        assert!(
            alert_log::record(&app, std::slice::from_ref(&more), 130)
                .await
                .unwrap()
                .is_empty()
        );
        let state = store.recorded_alerts().await.unwrap();
        assert_eq!(state[0].impact_phones, 6);
        assert_eq!((state[0].since, state[0].severity_since), (100, 100));
        let worse = made_up("ACME", Severity::Critical, 9);
        let changed = alert_log::record(&app, std::slice::from_ref(&worse), 160)
            .await
            .unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].transition, TransitionKind::SeverityChanged);
        let state = store.recorded_alerts().await.unwrap();
        assert_eq!(
            (state[0].since, state[0].severity_since, state[0].severity),
            (100, 160, Severity::Critical)
        );
        assert_eq!(store.acks().await.unwrap().len(), 1, "still acknowledged");

        alert_log::record(&app, &[], 200).await.unwrap();
        assert!(
            store.acks().await.unwrap().is_empty(),
            "cleared: the ack goes"
        );
        assert!(store.recorded_alerts().await.unwrap().is_empty());
        let history = store.alert_history(&warn.id, 10).await.unwrap();
        let steps: Vec<_> = history
            .iter()
            .map(|e| (e.transition, e.severity, e.at, e.impact_phones))
            .collect();
        assert_eq!(
            steps,
            vec![
                (TransitionKind::Cleared, Severity::Critical, 200, 9),
                (TransitionKind::SeverityChanged, Severity::Critical, 160, 9),
                (TransitionKind::Raised, Severity::Warning, 100, 4),
            ]
        );
        // Found under every object it named, whatever the case.
        assert_eq!(
            store
                .alert_history_of(ObjectKind::Server, "VOIP2", 10)
                .await
                .unwrap()
                .len(),
            3
        );
        // No webhook configured: nothing waits for delivery.
        assert!(
            store
                .due_alert_events(i64::MAX, 10)
                .await
                .unwrap()
                .is_empty()
        );

        // History is kept as long as the registration history.
        assert_eq!(store.purge_alert_log(150).await.unwrap(), 1);
        assert_eq!(store.alert_history(&warn.id, 10).await.unwrap().len(), 2);
        assert_eq!(store.purge_alert_log(1000).await.unwrap(), 2);
        assert!(
            store
                .alert_history_of(ObjectKind::Tenant, "acme", 10)
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn silences_api_needs_the_admin_scope_and_refuses_bad_input() {
    helpers::each_backend(|t: TestApp| async move {
        let reader = t.token_client("reader", "read").await;
        let admin = t.token_client("robot", "admin").await;
        let good = json!({"tenant": "ACME", "minutes": 240, "reason": "moving tonight"});

        let res = reader
            .json(&t, "POST", "/api/v1/silences", Some(good.clone()))
            .await;
        assert_eq!(res.status, 403, "{}", res.body);
        assert_eq!(res.content_type, "application/problem+json");
        assert_eq!(
            reader
                .json(&t, "DELETE", "/api/v1/silences/1", None)
                .await
                .status,
            403
        );

        for (body, field) in [
            (json!({"minutes": 60, "reason": "x"}), "matchers"),
            (
                json!({"tenant": "ACME", "minutes": 0, "reason": "x"}),
                "minutes",
            ),
            (
                json!({"tenant": "ACME", "minutes": 129_601, "reason": "x"}),
                "minutes",
            ),
            (
                json!({"tenant": "ACME", "minutes": 60, "reason": ""}),
                "reason",
            ),
            (
                json!({"kind": "nope", "minutes": 60, "reason": "x"}),
                "kind",
            ),
            (
                json!({"alert_id": "zz", "minutes": 60, "reason": "x"}),
                "alert_id",
            ),
        ] {
            let res = admin
                .json(&t, "POST", "/api/v1/silences", Some(body.clone()))
                .await;
            assert_eq!(res.status, 400, "{body}: {}", res.body);
            assert_eq!(res.content_type, "application/problem+json");
            let problem = res.json();
            assert!(
                problem["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["field"] == field),
                "{body}: {problem}"
            );
        }
        let res = admin
            .json(
                &t,
                "POST",
                "/api/v1/silences",
                Some(json!({"tenant": "ACME"})),
            )
            .await;
        assert_eq!(res.status, 400, "missing fields: {}", res.body);
        assert_eq!(res.content_type, "application/problem+json");
        let list = reader.json(&t, "GET", "/api/v1/silences", None).await;
        assert_eq!(list.status, 200);
        assert_eq!(
            list.json(),
            json!({"active": [], "ended": []}),
            "nothing stored"
        );
        assert!(audit_actions(t.store(), "silence").await.is_empty());

        let res = admin.json(&t, "POST", "/api/v1/silences", Some(good)).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let s = res.json();
        assert_eq!(s["tenant"], "ACME");
        assert_eq!(s["created_by"], "token:robot");
        assert_eq!(
            s["ends_at"].as_i64().unwrap() - s["created_at"].as_i64().unwrap(),
            240 * 60
        );
        let id = s["id"].as_i64().unwrap();
        let list = reader
            .json(&t, "GET", "/api/v1/silences", None)
            .await
            .json();
        assert_eq!(list["active"][0]["id"], id);

        let gone = admin
            .json(&t, "DELETE", &format!("/api/v1/silences/{id}"), None)
            .await;
        assert_eq!(gone.status, 200, "{}", gone.body);
        assert_eq!(gone.json()["removed_by"], "token:robot");
        let again = admin
            .json(&t, "DELETE", &format!("/api/v1/silences/{id}"), None)
            .await;
        assert_eq!(again.status, 409);
        assert_eq!(again.content_type, "application/problem+json");
        let none = admin.json(&t, "DELETE", "/api/v1/silences/999", None).await;
        assert_eq!(none.status, 404);
        let list = reader
            .json(&t, "GET", "/api/v1/silences", None)
            .await
            .json();
        assert_eq!(list["active"], json!([]));
        assert_eq!(list["ended"][0]["id"], id);
        assert_eq!(
            audit_actions(t.store(), "silence").await,
            ["create", "remove"]
        );

        // The same rules as the form: the domain validates both.
        let input = SilenceInput {
            tenant: "ACME".into(),
            minutes: "60".into(),
            reason: "x".into(),
            ..SilenceInput::default()
        };
        assert!(input.validate(0).is_ok());
    })
    .await;
}
