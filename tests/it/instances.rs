//! Two dashboard instances on one PostgreSQL database, as behind a load balancer: racing
//! same-version writes (one wins, the other gets 409), racing pushes (the picture is one whole
//! report), sessions shared across instances, and one holder of the DNS-check lease.
//!
//! PostgreSQL only: it is the backend for several instances. Each race runs 20 rounds; each
//! round sends both requests at once, one to each instance.

use std::collections::BTreeSet;

use pbx_pools::domain::demo::source_document_cluster;
use serde_json::json;

use crate::helpers::{self, Client, TestApp, TestResponse};

const ROUNDS: usize = 20;

/// Two instances over a fresh PostgreSQL schema holding the source document's cluster, or
/// `None` (with the loud `skipped:` line) when no PostgreSQL is configured.
async fn two_instances() -> Option<(TestApp, TestApp)> {
    let db = helpers::postgres().await?;
    let one = TestApp::on(db).await;
    one.store()
        .load_demo(&source_document_cluster(), "demo")
        .await
        .unwrap();
    let two = one.second_instance().await;
    Some((one, two))
}

/// The statuses of a round, sorted: a race is correct when it gives `[2xx, 409]`.
fn outcome(a: &TestResponse, b: &TestResponse) -> (u16, u16) {
    let mut s = [a.status, b.status];
    s.sort();
    (s[0], s[1])
}

fn assert_one_wins(round: usize, kind: &str, a: &TestResponse, b: &TestResponse) {
    let (low, high) = outcome(a, b);
    assert!(
        (200..400).contains(&low) && high == 409,
        "{kind} round {round}: expected one success and one 409, got {} and {}: {} / {}",
        a.status,
        b.status,
        a.body,
        b.body
    );
    let refused = if a.status == 409 { a } else { b };
    assert!(
        refused.body.contains("changed") || refused.body.contains("version"),
        "{kind} round {round}: the 409 says what happened: {}",
        refused.body
    );
}

/// The pool the tenant is not in (of pbxA and pbxB), so every write is a real change.
async fn other_pool(app: &TestApp, code: &str) -> (&'static str, i64) {
    let t = app.store().tenant_by_code(code).await.unwrap();
    let pool = match t.pool_name.as_deref() {
        Some("pbxA") => "pbxB",
        _ => "pbxA",
    };
    (pool, t.version)
}

#[tokio::test]
async fn racing_api_writes_one_wins_the_other_gets_409() {
    let Some((one, two)) = two_instances().await else {
        return;
    };
    let a = one.token_client("ops-a", "admin").await;
    let b = one.token_client("ops-b", "admin").await;
    for round in 0..ROUNDS {
        let (pool, version) = other_pool(&one, "ROSSI").await;
        let body = json!({ "pool": pool, "version": version });
        let (ra, rb) = tokio::join!(
            a.json(
                &one,
                "PUT",
                "/api/v1/tenants/ROSSI/pool",
                Some(body.clone())
            ),
            b.json(&two, "PUT", "/api/v1/tenants/ROSSI/pool", Some(body)),
        );
        assert_one_wins(round, "API assign", &ra, &rb);
        let after = one.store().tenant_by_code("ROSSI").await.unwrap();
        assert_eq!(
            after.version,
            version + 1,
            "round {round}: one write, not two"
        );
    }
    one.db.cleanup().await;
}

#[tokio::test]
async fn racing_form_edits_one_wins_the_other_gets_409() {
    let Some((one, two)) = two_instances().await else {
        return;
    };
    // Two browsers (two admins' sessions), each posting the edit form it loaded.
    let alice = one.admin.clone();
    helpers_add_admin(&one, "bob").await;
    let bob = one.login("bob", helpers::ADMIN_PASSWORD).await;
    for round in 0..ROUNDS {
        let t = one.store().tenant_by_code("BIANCHI").await.unwrap();
        let (pool, version) = other_pool(&one, "BIANCHI").await;
        let path = format!("/tenants/{}", t.code);
        let version = version.to_string();
        let phones = (20 + round).to_string();
        let form = |name: &'static str| {
            vec![
                ("code", "BIANCHI"),
                ("name", name),
                ("expected_phones", phones.as_str()),
                ("pool", pool),
                ("notes", ""),
                ("version", version.as_str()),
            ]
        };
        let (fa, fb) = (form("Bianchi by Alice"), form("Bianchi by Bob"));
        let (ra, rb) = tokio::join!(
            alice.post_form(&one, &path, &fa),
            bob.post_form(&two, &path, &fb),
        );
        assert_one_wins(round, "form edit", &ra, &rb);
        let after = one.store().tenant(t.id).await.unwrap();
        assert_eq!(after.version, t.version + 1, "round {round}");
        let winner = if ra.status == 409 { "Bob" } else { "Alice" };
        assert!(
            after.name.ends_with(winner),
            "round {round}: the stored edit is the winner's"
        );
    }
    one.db.cleanup().await;
}

#[tokio::test]
async fn racing_bulk_moves_one_wins_the_other_gets_409() {
    let Some((one, two)) = two_instances().await else {
        return;
    };
    let alice = one.admin.clone();
    helpers_add_admin(&one, "bob").await;
    let bob = one.login("bob", helpers::ADMIN_PASSWORD).await;
    for round in 0..ROUNDS {
        // Both admins see the same list and move the same two tenants.
        let mut selection = Vec::new();
        for code in ["ESPOSITO", "FERRARI"] {
            let t = one.store().tenant_by_code(code).await.unwrap();
            selection.push(format!("{}:{}", t.id, t.version));
        }
        let target = if round % 2 == 0 { "wiki" } else { "pbxB" };
        let mut form: Vec<(&str, &str)> =
            selection.iter().map(|s| ("tenant", s.as_str())).collect();
        form.push(("pool", target));
        form.push(("return", "/tenants"));
        // The race is the point here, not a server crossing a level (the impact preview).
        form.push(("apply_anyway", "1"));
        let (ra, rb) = tokio::join!(
            alice.post_form(&one, "/tenants/bulk-assign", &form),
            bob.post_form(&two, "/tenants/bulk-assign", &form),
        );
        assert_one_wins(round, "bulk move", &ra, &rb);
        for code in ["ESPOSITO", "FERRARI"] {
            let t = one.store().tenant_by_code(code).await.unwrap();
            assert_eq!(
                t.pool_name.as_deref(),
                Some(target),
                "round {round}: {code}"
            );
        }
    }
    one.db.cleanup().await;
}

#[tokio::test]
async fn racing_plan_applies_one_wins_the_other_gets_409() {
    let Some((one, two)) = two_instances().await else {
        return;
    };
    let a = one.token_client("ops-a", "admin").await;
    let b = one.token_client("ops-b", "admin").await;
    // The demo's placement, which overloads voip2 when voip1 fails: restored before each round,
    // so there is always a plan with moves to race.
    let original = one.store().all_tenants().await.unwrap();
    let mut raced = 0;
    for round in 0..ROUNDS {
        for was in &original {
            let now = one.store().tenant(was.id).await.unwrap();
            if now.pool_id != was.pool_id {
                one.store()
                    .assign_tenant(now.id, now.version, was.pool_id, "test")
                    .await
                    .unwrap();
            }
        }
        // Every tenant placed (the demo's GALLO included), as before the plan kept newcomers
        // under the warning level: that plan has moves on the demo.
        let request = json!({ "place_all": true });
        let plan = a
            .json(&one, "POST", "/api/v1/plan", Some(request.clone()))
            .await;
        assert_eq!(plan.status, 200, "{}", plan.body);
        let plan = plan.json();
        if plan["moves"].as_array().is_none_or(|m| m.is_empty()) {
            continue;
        }
        raced += 1;
        let apply = json!({ "plan": plan["id"], "request": request });
        let (ra, rb) = tokio::join!(
            // force=1: the race is the point here, not a server crossing a level.
            a.json(
                &one,
                "POST",
                "/api/v1/plan/apply?force=1",
                Some(apply.clone())
            ),
            b.json(&two, "POST", "/api/v1/plan/apply?force=1", Some(apply)),
        );
        assert_one_wins(round, "plan apply", &ra, &rb);
    }
    assert!(
        raced >= ROUNDS / 2,
        "only {raced} rounds had a plan to race"
    );
    one.db.cleanup().await;
}

async fn push(app: &TestApp, client: &Client, body: String) -> TestResponse {
    let req =
        axum::http::Request::post("/api/v1/servers/voip1/registrations?format=pjsip-contacts")
            .header("content-type", "text/plain")
            .body(axum::body::Body::from(body))
            .unwrap();
    client.send(app, req).await
}

async fn stored_endpoints(app: &TestApp) -> BTreeSet<String> {
    let pool = sqlx::AnyPool::connect(&app.db.url).await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT r.endpoint FROM registrations r JOIN servers s ON s.id = r.server_id WHERE s.name = 'voip1'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.into_iter().map(|(e,)| e).collect()
}

#[tokio::test]
async fn racing_pushes_for_one_server_leave_one_whole_report() {
    let Some((one, two)) = two_instances().await else {
        return;
    };
    let cron = one.token_client("voip1-cron", "ingest:voip1").await;
    for round in 0..ROUNDS {
        // Two reports of 300 phones with no endpoint in common: a merge would show 600.
        let report = |tenant: &str| -> Vec<String> {
            (0..300)
                .map(|i| format!("{}-{tenant}", 1000 + round * 1000 + i))
                .collect()
        };
        let (ra, rb) = (report("ROSSI"), report("BIANCHI"));
        let (pa, pb) = tokio::join!(
            push(&one, &cron, helpers::pjsip_contacts(&ra)),
            push(&two, &cron, helpers::pjsip_contacts(&rb)),
        );
        assert_eq!(pa.status, 200, "{}", pa.body);
        assert_eq!(pb.status, 200, "{}", pb.body);
        let stored = stored_endpoints(&one).await;
        let a: BTreeSet<String> = ra.into_iter().collect();
        let b: BTreeSet<String> = rb.into_iter().collect();
        assert!(
            stored == a || stored == b,
            "round {round}: the picture is one report, not a mix ({} phones stored)",
            stored.len()
        );
    }
    one.db.cleanup().await;
}

#[tokio::test]
async fn a_session_works_on_both_instances_and_logout_ends_it_on_both() {
    let Some((one, two)) = two_instances().await else {
        return;
    };
    let browser = one.login("admin", helpers::ADMIN_PASSWORD).await;
    assert_eq!(
        browser.get(&two, "/tenants").await.status,
        200,
        "made on one, works on two"
    );
    let res = browser.post_form(&two, "/logout", &[]).await;
    assert_eq!(res.status, 303);
    for app in [&one, &two] {
        let res = browser.get(app, "/tenants").await;
        assert_eq!(res.status, 303, "logged out everywhere");
        assert!(res.location.as_deref().unwrap_or("").starts_with("/login"));
    }
    one.db.cleanup().await;
}

#[tokio::test]
async fn only_one_instance_holds_the_dns_check_lease() {
    let Some((one, two)) = two_instances().await else {
        return;
    };
    for round in 0..ROUNDS {
        let name = format!("race-{round}");
        let (a, b) = tokio::join!(
            one.store().try_lease(&name, "instance-one", 60),
            two.store().try_lease(&name, "instance-two", 60),
        );
        let won = [a.unwrap(), b.unwrap()];
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "round {round}: exactly one instance takes a free lease: {won:?}"
        );
    }
    one.db.cleanup().await;
}

/// A second admin with the test password.
async fn helpers_add_admin(app: &TestApp, name: &str) {
    app.add_user(
        name,
        pbx_pools::domain::auth::Role::Admin,
        helpers::ADMIN_PASSWORD,
    )
    .await;
}

/// A reader that wrote nothing may get the previous view while one background task rebuilds;
/// one that carries the version of its write gets a view that includes it.
#[tokio::test]
async fn a_writer_reads_its_write_at_once_on_the_other_instance() {
    let Some((one, two)) = two_instances().await else {
        return;
    };
    let cron = one.token_client("voip1-cron", "ingest:voip1").await;
    let reader = one.token_client("reader", "read").await;
    // Warm instance two's view before the push.
    let stats = |v: &serde_json::Value| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|s| s["server"] == "voip1")
            .map(|s| s["registered"].as_u64().unwrap())
            .unwrap()
    };
    let before = reader
        .json(&two, "GET", "/api/v1/servers/stats", None)
        .await;
    assert_eq!(stats(&before.json()), 0);
    let endpoints: Vec<String> = (0..40).map(|i| format!("{}-ROSSI", 100 + i)).collect();
    let pushed = push(&one, &cron, helpers::pjsip_contacts(&endpoints)).await;
    assert_eq!(pushed.status, 200, "{}", pushed.body);
    let version = pushed
        .headers
        .get("x-data-version")
        .expect("a write answers with its data version")
        .to_str()
        .unwrap()
        .to_string();
    // The writer's next read, on the other instance, with the version of its write.
    let req = axum::http::Request::get("/api/v1/servers/stats")
        .header("x-seen-version", &version)
        .header(
            "authorization",
            format!("Bearer {}", reader.bearer_secret().expect("a token client")),
        )
        .body(axum::body::Body::empty())
        .unwrap();
    let after = two.raw(req).await;
    assert_eq!(after.status, 200, "{}", after.body);
    assert_eq!(stats(&after.json()), 40, "the read includes the write");
    one.db.cleanup().await;
}
