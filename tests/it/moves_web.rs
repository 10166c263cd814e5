//! Tenant moves on the pages, the API and the metrics, on every backend: the tenant page's move
//! panel (the SRV names to configure, the phones not moved yet, progress, cancel), the Moves
//! page, `GET /api/v1/moves`, the tenant's `"move"`, `POST /api/v1/moves/{id}/cancel`, and the
//! move gauges.

use pbx_pools::domain::moves::MoveState;

use crate::helpers::{self, TestApp};
use crate::moves::{build, eps, push};

async fn assign(app: &TestApp, code: &str, pool: &str) {
    let t = app.store().tenant_by_code(code).await.unwrap();
    let version = t.version.to_string();
    let res = app
        .post_form(
            &format!("/tenants/{}/assign", t.code),
            &[("version", version.as_str()), ("pool", pool)],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
}

#[tokio::test]
async fn the_tenant_page_shows_the_move_and_cancels_it() {
    helpers::each_backend(|app: TestApp| async move {
        build(&app).await;
        assign(&app, "ROSSI", "pbxB").await;
        let t = app.store().tenant_by_code("ROSSI").await.unwrap();
        let page = app.get(&format!("/tenants/{}", t.code)).await;
        assert_eq!(page.status, 200);
        let body = &page.body;
        assert!(body.contains("Move pbxA → pbxB: in progress"), "{body}");
        assert!(body.contains("<code>pbxb.example.com</code>"), "{body}");
        assert!(
            body.contains("<code>_sip._udp.pbxb.example.com</code>"),
            "{body}"
        );
        assert!(body.contains("0 of 10 (0%)"), "{body}");
        assert!(body.contains("Phones not moved yet"), "{body}");
        assert!(body.contains("200-ROSSI"), "{body}");
        assert!(body.contains("Cancel the move (back to pbxA)…"), "{body}");
        // Not split, not away: the phones await re-provisioning.
        assert!(!body.contains("Split across"), "{body}");
        assert!(!body.contains("Away from home:"), "{body}");
        assert!(body.contains("awaiting re-provisioning (move)"), "{body}");

        let moves = app.get("/moves").await;
        assert_eq!(moves.status, 200);
        assert!(moves.body.contains("pbxA → pbxB"), "{}", moves.body);
        assert!(moves.body.contains(">ROSSI</a>"), "{}", moves.body);
        let bad = app.get("/moves?state=sideways").await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert!(bad.body.contains("unknown state"), "{}", bad.body);
        let done = app.get("/moves?state=done").await;
        assert!(done.body.contains("No move here."), "{}", done.body);

        let m = app.store().latest_move(t.id).await.unwrap().unwrap();
        let stale = (t.version - 1).to_string();
        let res = app
            .post_form(
                &format!("/moves/{}/cancel", m.id),
                &[("version", stale.as_str())],
            )
            .await;
        assert_eq!(res.status, 409, "{}", res.body);
        let version = t.version.to_string();
        let res = app
            .post_form(
                &format!("/moves/{}/cancel", m.id),
                &[("version", version.as_str())],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(
            app.store()
                .tenant_by_code("ROSSI")
                .await
                .unwrap()
                .pool_name
                .as_deref(),
            Some("pbxA")
        );
        let page = app.get(&format!("/tenants/{}", t.code)).await;
        assert!(
            page.body.contains("Move pbxA → pbxB: cancelled"),
            "{}",
            page.body
        );
        assert!(!page.body.contains("Cancel the move"), "{}", page.body);
    })
    .await;
}

#[tokio::test]
async fn the_moves_api_lists_shows_and_cancels() {
    helpers::each_backend(|app: TestApp| async move {
        let cron = build(&app).await;
        let reader = app.token_client("reader", "read").await;
        let admin = app.token_client("robot", "admin").await;
        let rossi = reader
            .json(&app, "GET", "/api/v1/tenants/ROSSI", None)
            .await
            .json();
        assert!(rossi["move"].is_null(), "{rossi:#}");
        assign(&app, "ROSSI", "pbxB").await;
        assign(&app, "BIANCHI", "pbxB").await;

        let list = reader.json(&app, "GET", "/api/v1/moves", None).await;
        assert_eq!(list.status, 200, "{}", list.body);
        let list = list.json();
        assert_eq!(list["total"], 2);
        assert_eq!(list["page"], 1);
        assert_eq!(list["per_page"], 50);
        assert_eq!(list["rows"].as_array().unwrap().len(), 2);
        let bad = reader
            .json(&app, "GET", "/api/v1/moves?state=sideways", None)
            .await;
        assert_eq!(bad.status, 400, "{}", bad.body);
        assert!(bad.body.contains("state"), "{}", bad.body);

        // Half of ROSSI at the new home.
        let rossi_eps = eps("ROSSI", 10);
        let mut on1 = eps("BIANCHI", 4);
        on1.extend(rossi_eps[5..].iter().cloned());
        push(&app, &cron, "voip1", &on1).await;
        push(&app, &cron, "voip2", &rossi_eps[..5]).await;
        let rossi = reader
            .json(&app, "GET", "/api/v1/tenants/ROSSI", None)
            .await
            .json();
        let mv = &rossi["move"];
        assert_eq!(mv["from"], "pbxA", "{rossi:#}");
        assert_eq!(mv["to"], "pbxB");
        assert_eq!(mv["state"], "moving");
        assert_eq!(mv["at_new_home"], 5);
        assert_eq!(mv["registered"], 10);
        assert!(mv["started"].is_i64());

        let metrics = app.get("/metrics").await;
        assert!(
            metrics
                .body
                .contains("pbx_pools_tenant_moves{state=\"moving\"} 2"),
            "{}",
            metrics.body
        );
        // ROSSI's 5 and BIANCHI's 4 are not at the new home yet.
        assert!(
            metrics
                .body
                .contains("pbx_pools_phones_awaiting_reprovisioning 9"),
            "{}",
            metrics.body
        );

        let id = mv["id"].as_i64().unwrap();
        let t = app.store().tenant_by_code("ROSSI").await.unwrap();
        let path = format!("/api/v1/moves/{id}/cancel");
        let body = serde_json::json!({ "version": t.version });
        let refused = reader.json(&app, "POST", &path, Some(body.clone())).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        let stale = serde_json::json!({ "version": t.version - 1 });
        let conflict = admin.json(&app, "POST", &path, Some(stale)).await;
        assert_eq!(conflict.status, 409, "{}", conflict.body);
        let ok = admin.json(&app, "POST", &path, Some(body)).await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        let ok = ok.json();
        assert_eq!(ok["move"]["state"], "cancelled");
        assert_eq!(ok["tenant"]["pool_name"], "pbxA");
        let cancelled = reader
            .json(&app, "GET", "/api/v1/moves?state=cancelled", None)
            .await
            .json();
        assert_eq!(cancelled["total"], 1);
        let m = app
            .store()
            .tenant_move_by_id(pbx_pools::domain::ids::MoveId::new(id))
            .await
            .unwrap();
        assert_eq!(m.state, MoveState::Cancelled);
    })
    .await;
}
