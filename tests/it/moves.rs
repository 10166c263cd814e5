//! Tenant moves end to end, on every backend: a pool change of a tenant with phones starts a
//! move whose phones await re-provisioning instead of raising split, away, drift or failback
//! alerts; a report with the phones at the new home completes it; past its deadline it stalls
//! and raises its alert; cancelling puts the tenant back; a second change supersedes it and a
//! change back cancels it; an unplaced tenant getting a pool starts none.

use pbx_pools::app::App;
use pbx_pools::domain::ids::TenantId;
use pbx_pools::domain::moves::MoveState;
use pbx_pools::store::{Store, TenantMove};

use crate::helpers::{self, Client, TestApp};

/// voip1/voip2; pbxA (voip1, backup voip2), pbxB (voip2, backup voip1), pbxC (voip2 only);
/// ROSSI (10 phones) and BIANCHI (4 phones) in pbxA, all registered on voip1.
pub(crate) async fn build(app: &TestApp) -> Crons {
    for s in ["voip1", "voip2"] {
        let host = format!("{s}.example.com");
        let res = app
            .post_form(
                "/servers",
                &[("name", s), ("host", host.as_str()), ("capacity", "100")],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
    }
    for (pool, members) in [
        ("pbxA", &["voip1", "voip2"][..]),
        ("pbxB", &["voip2", "voip1"][..]),
        ("pbxC", &["voip2"][..]),
    ] {
        let srv = format!("{}.example.com", pool.to_lowercase());
        let res = app
            .post_form(
                "/pools",
                &[
                    ("name", pool),
                    ("srv_name", srv.as_str()),
                    ("transport", "udp"),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        let p = app.store().pool_by_name(pool).await.unwrap();
        let mut fields = vec![("version", "1")];
        for (i, server) in members.iter().enumerate() {
            fields.extend([
                ("server", *server),
                ("priority", if i == 0 { "10" } else { "20" }),
                ("weight", "10"),
                ("port", ""),
            ]);
        }
        let res = app
            .post_form(&format!("/pools/{}/members", p.name), &fields)
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
    }
    for (code, phones) in [("ROSSI", "10"), ("BIANCHI", "4")] {
        let res = app
            .post_form(
                "/tenants",
                &[
                    ("code", code),
                    ("name", code),
                    ("expected_phones", phones),
                    ("pool", "pbxA"),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
    }
    let cron = Crons {
        voip1: app.token_client("voip1-cron", "ingest:voip1").await,
        voip2: app.token_client("voip2-cron", "ingest:voip2").await,
    };
    let mut on1 = eps("ROSSI", 10);
    on1.extend(eps("BIANCHI", 4));
    push(app, &cron, "voip1", &on1).await;
    push(app, &cron, "voip2", &[]).await;
    cron
}

/// The servers' report pushers (ingest tokens).
pub(crate) struct Crons {
    voip1: Client,
    voip2: Client,
}

pub(crate) fn eps(code: &str, n: u32) -> Vec<String> {
    (0..n).map(|i| format!("{}-{code}", 200 + i)).collect()
}

pub(crate) async fn push(app: &TestApp, cron: &Crons, server: &str, endpoints: &[String]) {
    let client = if server == "voip1" {
        &cron.voip1
    } else {
        &cron.voip2
    };
    let req = axum::http::Request::post(format!(
        "/api/v1/servers/{server}/registrations?format=pjsip-contacts"
    ))
    .header("content-type", "text/plain")
    .body(axum::body::Body::from(helpers::pjsip_contacts(endpoints)))
    .unwrap();
    let res = client.send(app, req).await;
    assert_eq!(res.status, 200, "{}", res.body);
}

async fn tenant_id(store: &Store, code: &str) -> TenantId {
    store.tenant_by_code(code).await.unwrap().id
}

/// Assigns `code` to `pool` (`None`: no pool) through the tenant page's form.
async fn assign(app: &TestApp, code: &str, pool: Option<&str>) {
    let t = app.store().tenant_by_code(code).await.unwrap();
    let version = t.version.to_string();
    let res = app
        .post_form(
            &format!("/tenants/{}/assign", t.code),
            &[("version", version.as_str()), ("pool", pool.unwrap_or(""))],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
}

async fn latest(store: &Store, code: &str) -> Option<TenantMove> {
    store
        .latest_move(tenant_id(store, code).await)
        .await
        .unwrap()
}

/// The alerts (active and silenced) that name tenant `code`.
async fn alerts_about(app: &TestApp, code: &str) -> Vec<serde_json::Value> {
    let name = format!("reader-{code}-{}", fastrand::u32(..));
    let reader = app.token_client(&name, "read").await;
    let res = reader
        .json(
            app,
            "GET",
            &format!("/api/v1/alerts?tenant={code}&state=all&per_page=200"),
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()["rows"].as_array().unwrap().clone()
}

#[tokio::test]
async fn moving_a_tenant_with_phones_starts_a_move_and_raises_no_placement_alert() {
    helpers::each_backend(|app: TestApp| async move {
        let cron = build(&app).await;
        assert!(alerts_about(&app, "ROSSI").await.is_empty());
        assign(&app, "ROSSI", Some("pbxB")).await;
        let m = latest(app.store(), "ROSSI").await.expect("a move started");
        assert_eq!(m.state, MoveState::Moving);
        assert_eq!((m.from_pool.as_str(), m.to_pool.as_str()), ("pbxA", "pbxB"));
        assert_eq!(m.phones_at_start, 10);
        assert_eq!(m.started_by, "admin");
        // Its ten phones on voip1 await re-provisioning: no split, away, drift or failback.
        let alerts = alerts_about(&app, "ROSSI").await;
        assert!(alerts.is_empty(), "{alerts:#?}");
        let all = app
            .token_client("reader", "read")
            .await
            .json(&app, "GET", "/api/v1/alerts?state=all&per_page=200", None)
            .await
            .json();
        for row in all["rows"].as_array().unwrap() {
            let kind = row["kind"].as_str().unwrap();
            assert!(
                ![
                    "tenant_split",
                    "tenant_away",
                    "pool_drift",
                    "failback_lag",
                    "outside_pool"
                ]
                .contains(&kind),
                "{row:#}"
            );
        }
        // The overview's figures agree: ROSSI's ten phones on voip1 await re-provisioning,
        // they are not away (nor is pbxB drifting).
        let stats = app
            .token_client("stats", "read")
            .await
            .json(&app, "GET", "/api/v1/servers/stats", None)
            .await
            .json();
        let voip1 = stats
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["server"] == "voip1")
            .unwrap()
            .clone();
        assert_eq!(
            (voip1["awaiting"].as_u64(), voip1["away"].as_u64()),
            (Some(10), Some(0)),
            "{voip1}"
        );
        // BIANCHI did not move: no move of its own.
        assert!(latest(app.store(), "BIANCHI").await.is_none());
        // The report with the phones at the new home completes the move.
        push(&app, &cron, "voip1", &eps("BIANCHI", 4)).await;
        push(&app, &cron, "voip2", &eps("ROSSI", 10)).await;
        let m = latest(app.store(), "ROSSI").await.unwrap();
        assert_eq!(m.state, MoveState::Done);
        assert_eq!(m.end_reason.as_deref(), Some("done"));
        assert_eq!((m.progress.at_new_home, m.progress.registered), (10, 10));
        assert!(alerts_about(&app, "ROSSI").await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn nine_of_ten_at_the_new_home_is_done_eight_is_not() {
    helpers::each_backend(|app: TestApp| async move {
        let cron = build(&app).await;
        assign(&app, "ROSSI", Some("pbxB")).await;
        let rossi = eps("ROSSI", 10);
        let mut on1 = eps("BIANCHI", 4);
        on1.extend(rossi[8..].iter().cloned());
        push(&app, &cron, "voip1", &on1).await;
        push(&app, &cron, "voip2", &rossi[..8]).await;
        assert_eq!(
            latest(app.store(), "ROSSI").await.unwrap().state,
            MoveState::Moving
        );
        let mut on1 = eps("BIANCHI", 4);
        on1.push(rossi[9].clone());
        push(&app, &cron, "voip1", &on1).await;
        push(&app, &cron, "voip2", &rossi[..9]).await;
        assert_eq!(
            latest(app.store(), "ROSSI").await.unwrap().state,
            MoveState::Done
        );
    })
    .await;
}

#[tokio::test]
async fn a_move_past_its_deadline_stalls_and_raises_its_alert() {
    helpers::each_backend(|app: TestApp| async move {
        build(&app).await;
        assign(&app, "ROSSI", Some("pbxB")).await;
        let m = latest(app.store(), "ROSSI").await.unwrap();
        let core = App::new(app.store().clone());
        // Within the deadline (48 h by default): nothing changes.
        let t = pbx_pools::app::moves::track(&core, m.started_at + 47 * 3600)
            .await
            .unwrap();
        assert_eq!((t.done, t.stalled), (0, 0));
        let t = pbx_pools::app::moves::track(&core, m.started_at + 49 * 3600)
            .await
            .unwrap();
        assert_eq!((t.done, t.stalled), (0, 1));
        assert_eq!(
            latest(app.store(), "ROSSI").await.unwrap().state,
            MoveState::Stalled
        );
        let alerts = alerts_about(&app, "ROSSI").await;
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let alert = &alerts[0];
        assert_eq!(alert["kind"], "move_stalled");
        let summary = alert["summary"].as_str().unwrap();
        assert!(summary.contains("from pbxA to pbxB"), "{summary}");
        assert!(summary.contains("200-ROSSI"), "{summary}");
        let objects = alert["objects"].to_string();
        assert!(objects.contains("200-ROSSI"), "{objects}");
        assert!(objects.contains("voip1"), "{objects}");
        // Tracking again changes nothing more.
        let t = pbx_pools::app::moves::track(&core, m.started_at + 50 * 3600)
            .await
            .unwrap();
        assert_eq!((t.done, t.stalled), (0, 0));
    })
    .await;
}

#[tokio::test]
async fn cancel_puts_the_tenant_back_at_its_version_only() {
    helpers::each_backend(|app: TestApp| async move {
        build(&app).await;
        assign(&app, "ROSSI", Some("pbxB")).await;
        let m = latest(app.store(), "ROSSI").await.unwrap();
        let t = app.store().tenant_by_code("ROSSI").await.unwrap();
        let core = App::new(app.store().clone());
        let stale = pbx_pools::app::moves::cancel(&core, m.id, t.version - 1, "admin").await;
        assert!(
            matches!(stale, Err(pbx_pools::app::Error::Conflict(_))),
            "{stale:?}"
        );
        assert_eq!(
            latest(app.store(), "ROSSI").await.unwrap().state,
            MoveState::Moving,
            "a refused cancel changes nothing"
        );
        let (m, t) = pbx_pools::app::moves::cancel(&core, m.id, t.version, "admin")
            .await
            .unwrap();
        assert_eq!(m.state, MoveState::Cancelled);
        assert_eq!(m.end_reason.as_deref(), Some("cancelled"));
        assert_eq!(t.pool_name.as_deref(), Some("pbxA"));
        // No new move back, and no alert: the phones are home again.
        assert_eq!(latest(app.store(), "ROSSI").await.unwrap().id, m.id);
        assert!(alerts_about(&app, "ROSSI").await.is_empty());
        // Cancelling again is refused.
        let again = pbx_pools::app::moves::cancel(&core, m.id, t.version, "admin").await;
        assert!(matches!(again, Err(pbx_pools::app::Error::Conflict(_))));
        // The tenant's history has the move and its cancel.
        let (entries, _) = app
            .store()
            .audit_entries(&pbx_pools::store::AuditQuery {
                object_kind: Some("tenant".into()),
                object_name: Some("ROSSI".into()),
                per_page: 50,
                page: 1,
                ..Default::default()
            })
            .await
            .unwrap();
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        assert!(actions.contains(&"move-started"), "{actions:?}");
        assert!(actions.contains(&"move-cancelled"), "{actions:?}");
    })
    .await;
}

#[tokio::test]
async fn a_second_change_supersedes_and_a_change_back_cancels() {
    helpers::each_backend(|app: TestApp| async move {
        build(&app).await;
        assign(&app, "ROSSI", Some("pbxB")).await;
        let first = latest(app.store(), "ROSSI").await.unwrap();
        assign(&app, "ROSSI", Some("pbxC")).await;
        let second = latest(app.store(), "ROSSI").await.unwrap();
        assert_ne!(second.id, first.id);
        assert_eq!(
            (second.from_pool.as_str(), second.to_pool.as_str()),
            ("pbxA", "pbxC"),
            "the new move starts from the first move's old pool"
        );
        assert_eq!(second.state, MoveState::Moving);
        let first = app.store().tenant_move_by_id(first.id).await.unwrap();
        assert_eq!(first.state, MoveState::Cancelled);
        assert_eq!(first.end_reason.as_deref(), Some("superseded"));
        // Back to pbxA: the move is cancelled, none starts.
        assign(&app, "ROSSI", Some("pbxA")).await;
        let last = latest(app.store(), "ROSSI").await.unwrap();
        assert_eq!(last.id, second.id);
        assert_eq!(last.state, MoveState::Cancelled);
        assert_eq!(last.end_reason.as_deref(), Some("changed back"));
        let (in_flight, _) = app
            .store()
            .moves(pbx_pools::store::MoveFilter::InFlight, 1, 50)
            .await
            .unwrap();
        assert!(in_flight.is_empty());
    })
    .await;
}

#[tokio::test]
async fn unplacing_ends_the_move_and_an_unplaced_tenant_getting_a_pool_starts_none() {
    helpers::each_backend(|app: TestApp| async move {
        build(&app).await;
        assign(&app, "ROSSI", Some("pbxB")).await;
        assign(&app, "ROSSI", None).await;
        let m = latest(app.store(), "ROSSI").await.unwrap();
        assert_eq!(m.state, MoveState::Cancelled);
        assert_eq!(m.end_reason.as_deref(), Some("unplaced"));
        assign(&app, "ROSSI", Some("pbxB")).await;
        assert_eq!(
            latest(app.store(), "ROSSI").await.unwrap().id,
            m.id,
            "no new move"
        );
    })
    .await;
}

#[tokio::test]
async fn bulk_assign_starts_a_move_per_tenant_with_phones_in_its_transaction() {
    helpers::each_backend(|app: TestApp| async move {
        build(&app).await;
        let ids = vec![
            tenant_id(app.store(), "ROSSI").await,
            tenant_id(app.store(), "BIANCHI").await,
        ];
        let pbxb = app.store().pool_by_name("pbxB").await.unwrap().id;
        let moved = app
            .store()
            .bulk_assign(&ids, Some(pbxb), "admin")
            .await
            .unwrap();
        assert_eq!(moved, 2);
        for code in ["ROSSI", "BIANCHI"] {
            let m = latest(app.store(), code).await.unwrap();
            assert_eq!(m.state, MoveState::Moving, "{code}");
            assert_eq!(m.to_pool, "pbxB");
        }
        let (rows, total) = app
            .store()
            .moves(
                pbx_pools::store::MoveFilter::State(MoveState::Moving),
                1,
                50,
            )
            .await
            .unwrap();
        assert_eq!((rows.len(), total), (2, 2));
    })
    .await;
}

#[tokio::test]
async fn plan_apply_and_csv_import_start_moves_too() {
    helpers::each_backend(|app: TestApp| async move {
        build(&app).await;
        let store = app.store();
        let pbxa = store.pool_by_name("pbxA").await.unwrap().id;
        let pbxb = store.pool_by_name("pbxB").await.unwrap().id;
        let rossi = store.tenant_by_code("ROSSI").await.unwrap();
        let applied = store
            .apply_plan(
                "p1",
                &[pbx_pools::store::PlannedMove {
                    tenant_id: rossi.id,
                    version: rossi.version,
                    from_pool: Some(pbxa),
                    to_pool: pbxb,
                }],
                "admin",
            )
            .await
            .unwrap();
        assert_eq!(applied, 1);
        let m = latest(store, "ROSSI").await.unwrap();
        assert_eq!((m.state, m.to_pool.as_str()), (MoveState::Moving, "pbxB"));

        let bianchi = store.tenant_by_code("BIANCHI").await.unwrap();
        let row = pbx_pools::domain::model::NewTenant {
            code: bianchi.code.clone(),
            name: bianchi.name.clone(),
            expected_phones: bianchi.expected_phones,
            pool_id: Some(pbxb),
            notes: bianchi.notes.clone(),
        };
        let (created, changed) = store
            .import_tenants(&[(row, Some(bianchi.version))], "admin", &|_| {})
            .await
            .unwrap();
        assert_eq!((created, changed), (0, 1));
        let m = latest(store, "BIANCHI").await.unwrap();
        assert_eq!((m.state, m.from_pool.as_str()), (MoveState::Moving, "pbxA"));
        assert_eq!(m.phones_at_start, 4);
    })
    .await;
}
