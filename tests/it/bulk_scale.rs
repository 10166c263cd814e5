//! Bulk moves at scale and the impact preview's remaining entry points (issue 16, parts 1 and
//! 4), on every backend: "move all N tenants matching this filter" moves exactly the filtered
//! set in one transaction (a tenant changed since the preview refuses all of it); "select all on
//! this page"; the tenants list's move filter and Move column; cancelling a move through the
//! preview, with "apply anyway" on the page and `?dry_run=1` / `?force=1` on the API; and
//! `pbx-pools plan --apply` refusing a crossing without `--force`.

use pbx_pools::domain::demo::source_document_cluster;
use pbx_pools::store::{PoolFilter, TenantQuery};
use serde_json::json;

use crate::helpers::{self, TestApp};

/// The `tenant` values (`id:version`) a preview freezes in its form.
fn frozen(body: &str) -> Vec<String> {
    body.split(r#"name="tenant" value=""#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_string())
        .collect()
}

/// Codes of the tenants in `pool`, sorted.
async fn codes_in(app: &TestApp, pool: &str) -> Vec<String> {
    let p = app.store().pool_by_name(pool).await.unwrap();
    let mut codes: Vec<String> = app
        .store()
        .tenants(&TenantQuery {
            pool: PoolFilter::Pool(p.id),
            per_page: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .rows
        .iter()
        .map(|t| t.code.to_string())
        .collect();
    codes.sort();
    codes
}

#[tokio::test]
async fn moving_all_matching_moves_exactly_the_filtered_set_in_one_transaction() {
    helpers::each_backend(|app: TestApp| async move {
        app.store()
            .load_demo(&source_document_cluster(), "demo")
            .await
            .unwrap();
        let in_b = codes_in(&app, "pbxB").await;
        let in_a = codes_in(&app, "pbxA").await;
        assert!(in_b.len() >= 2, "the demo has tenants in pbxB: {in_b:?}");
        let n = in_b.len();

        let list = app.get("/tenants?pool=pbxB").await;
        assert_eq!(list.status, 200);
        assert!(
            list.body
                .contains(&format!("Move all {n} tenants matching this filter")),
            "{}",
            list.body
        );
        // Without a filter there is no "all matching" button.
        let all = app.get("/tenants").await;
        assert!(!all.body.contains("matching this filter"), "{}", all.body);

        // A ticked box is ignored: "all matching" is the filter's set, resolved by the server.
        let other = app.store().tenant_by_code(&in_a[0]).await.unwrap();
        let ticked = format!("{}:{}", other.id, other.version);
        let form = [
            ("scope", "matching"),
            ("filter_pool", "pbxB"),
            ("filter_q", ""),
            ("filter_status", ""),
            ("filter_server", ""),
            ("filter_move", ""),
            ("tenant", ticked.as_str()),
            ("pool", "pbxA"),
            ("return", "/tenants?pool=pbxB"),
        ];
        let preview = app.post_form("/tenants/bulk-assign/preview", &form).await;
        assert_eq!(preview.status, 200, "{}", preview.body);
        assert!(
            preview
                .body
                .contains(&format!("<strong>{n} tenants</strong>")),
            "{}",
            preview.body
        );
        assert!(
            preview
                .body
                .contains(&format!("Move {n} tenants to pool pbxA?")),
            "{}",
            preview.body
        );
        assert!(
            preview.body.contains("voip1"),
            "the impact preview is shown"
        );
        let values = frozen(&preview.body);
        assert_eq!(values.len(), n, "{values:?}");
        for code in &in_b {
            let t = app.store().tenant_by_code(code).await.unwrap();
            assert!(
                values.contains(&format!("{}:{}", t.id, t.version)),
                "{code} is frozen at its version: {values:?}"
            );
        }
        assert!(!values.contains(&ticked), "{values:?}");

        // One of them changes between the preview and the apply: nothing moves at all.
        let mut apply: Vec<(&str, &str)> = values.iter().map(|v| ("tenant", v.as_str())).collect();
        apply.extend([
            ("pool", "pbxA"),
            ("return", "/tenants"),
            ("apply_anyway", "1"),
        ]);
        let victim = app.store().tenant_by_code(&in_b[1]).await.unwrap();
        let mut edited = pbx_pools::domain::model::TenantInput::from_tenant(&victim);
        edited.notes = "edited meanwhile".into();
        let new = edited
            .validate(|_| victim.pool_id)
            .expect("the edit is valid");
        app.store()
            .update_tenant(victim.id, victim.version, &new, "someone")
            .await
            .unwrap();
        let res = app.post_form("/tenants/bulk-assign", &apply).await;
        assert_eq!(res.status, 409, "{}", res.body);
        assert!(res.body.contains(victim.code.as_ref()), "{}", res.body);
        assert_eq!(codes_in(&app, "pbxB").await, in_b, "nothing moved");

        // A fresh "all matching" applies: exactly pbxB's tenants end in pbxA, nothing else moves.
        let preview = app.post_form("/tenants/bulk-assign/preview", &form).await;
        assert_eq!(preview.status, 200, "{}", preview.body);
        let values = frozen(&preview.body);
        let mut apply: Vec<(&str, &str)> = values.iter().map(|v| ("tenant", v.as_str())).collect();
        apply.extend([
            ("pool", "pbxA"),
            ("return", "/tenants"),
            ("apply_anyway", "1"),
        ]);
        let res = app.post_form("/tenants/bulk-assign", &apply).await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert!(codes_in(&app, "pbxB").await.is_empty());
        let mut expected = in_a.clone();
        expected.extend(in_b.iter().cloned());
        expected.sort();
        assert_eq!(codes_in(&app, "pbxA").await, expected);

        // A filter nothing matches changes nothing.
        let none = [
            ("scope", "matching"),
            ("filter_q", "no-such-tenant"),
            ("pool", "pbxB"),
            ("return", "/tenants"),
        ];
        let res = app.post_form("/tenants/bulk-assign/preview", &none).await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert!(codes_in(&app, "pbxB").await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn select_all_on_the_page_ticks_every_row_of_the_page() {
    helpers::each_backend(|app: TestApp| async move {
        app.store()
            .load_demo(&source_document_cluster(), "demo")
            .await
            .unwrap();
        let plain = app.get("/tenants?per_page=3").await;
        assert_eq!(plain.status, 200);
        assert!(
            plain.body.contains("Select all on this page"),
            "{}",
            plain.body
        );
        assert!(!plain.body.contains(" checked>"), "{}", plain.body);
        let page = app.get("/tenants?per_page=3&select=page").await;
        assert_eq!(page.status, 200);
        assert_eq!(page.body.matches(" checked>").count(), 3, "{}", page.body);
        assert!(page.body.contains("Clear the selection"), "{}", page.body);
    })
    .await;
}

/// `crate::moves::build`'s cluster plus BIG (70 phones, none registered) in pbxA, and ROSSI
/// moved to pbxB (a move in flight): putting ROSSI back raises voip1 from 74 to 84 of 100 with
/// nothing down, above the 80% warning level.
async fn moving_rossi(app: &TestApp) {
    crate::moves::build(app).await;
    let res = app
        .post_form(
            "/tenants",
            &[
                ("code", "BIG"),
                ("name", "BIG"),
                ("expected_phones", "70"),
                ("pool", "pbxA"),
            ],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let t = app.store().tenant_by_code("ROSSI").await.unwrap();
    let version = t.version.to_string();
    let res = app
        .post_form(
            &format!("/tenants/{}/assign", t.code),
            &[
                ("version", version.as_str()),
                ("pool", "pbxB"),
                ("apply_anyway", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
}

async fn pool_of(app: &TestApp, code: &str) -> String {
    app.store()
        .tenant_by_code(code)
        .await
        .unwrap()
        .pool_name
        .map(|p| p.to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_tenants_list_filters_by_move_state_and_shows_the_move() {
    helpers::each_backend(|app: TestApp| async move {
        moving_rossi(&app).await;
        let rossi = app.store().tenant_by_code("ROSSI").await.unwrap();
        let moving = app.get("/tenants?move=moving").await;
        assert_eq!(moving.status, 200, "{}", moving.body);
        assert!(moving.body.contains(">ROSSI</a>"), "{}", moving.body);
        assert!(!moving.body.contains(">BIANCHI</a>"), "{}", moving.body);
        assert!(
            moving
                .body
                .contains(&format!(r##"href="/tenants/{}#move""##, rossi.code)),
            "{}",
            moving.body
        );
        assert!(moving.body.contains("pbxA → pbxB"), "{}", moving.body);
        assert!(moving.body.contains("1 tenants"), "{}", moving.body);
        let none = app.get("/tenants?move=none").await;
        assert!(!none.body.contains(">ROSSI</a>"), "{}", none.body);
        assert!(none.body.contains(">BIANCHI</a>"), "{}", none.body);
        assert!(none.body.contains(">BIG</a>"), "{}", none.body);
        let stalled = app.get("/tenants?move=stalled").await;
        assert!(
            stalled.body.contains("No tenant matches."),
            "{}",
            stalled.body
        );
        let bad = app.get("/tenants?move=sideways").await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert!(bad.body.contains("unknown move state"), "{}", bad.body);
        // Paging keeps the filter.
        let paged = app.get("/tenants?move=none&per_page=1").await;
        assert!(paged.body.contains("move=none"), "{}", paged.body);
        // "Move all matching" resolves the move filter too.
        let preview = app
            .post_form(
                "/tenants/bulk-assign/preview",
                &[
                    ("scope", "matching"),
                    ("filter_move", "moving"),
                    ("pool", "pbxC"),
                    ("return", "/tenants?move=moving"),
                ],
            )
            .await;
        assert_eq!(preview.status, 200, "{}", preview.body);
        assert_eq!(
            frozen(&preview.body),
            vec![format!("{}:{}", rossi.id, rossi.version)]
        );
    })
    .await;
}

#[tokio::test]
async fn cancelling_a_move_shows_the_preview_and_a_crossing_needs_apply_anyway() {
    helpers::each_backend(|app: TestApp| async move {
        moving_rossi(&app).await;
        let rossi = app.store().tenant_by_code("ROSSI").await.unwrap();
        let m = app.store().latest_move(rossi.id).await.unwrap().unwrap();
        let page = app.get(&format!("/tenants/{}", rossi.code)).await;
        assert!(
            page.body.contains(&format!(
                r#"<form method="get" action="/moves/{}/cancel""#,
                m.id
            )),
            "{}",
            page.body
        );
        let version = rossi.version.to_string();
        let preview = app
            .get(&format!("/moves/{}/cancel?version={version}", m.id))
            .await;
        assert_eq!(preview.status, 200, "{}", preview.body);
        assert!(
            preview
                .body
                .contains("Cancel the move of ROSSI and put it back in pool pbxA?"),
            "{}",
            preview.body
        );
        assert!(preview.body.contains("74 (74%)"), "{}", preview.body);
        assert!(preview.body.contains("84 (84%)"), "{}", preview.body);
        assert!(preview.body.contains("Apply anyway"), "{}", preview.body);

        let url = format!("/moves/{}/cancel", m.id);
        let res = app.post_form(&url, &[("version", version.as_str())]).await;
        assert_eq!(res.status, 409, "{}", res.body);
        assert!(res.body.contains("voip1 goes above"), "{}", res.body);
        assert_eq!(pool_of(&app, "ROSSI").await, "pbxB", "nothing changed");

        let res = app
            .post_form(
                &url,
                &[("version", version.as_str()), ("apply_anyway", "1")],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(pool_of(&app, "ROSSI").await, "pbxA");
        // A move no longer in flight has no preview.
        let gone = app.get(&format!("{url}?version={version}")).await;
        assert_eq!(gone.status, 409, "{}", gone.body);
    })
    .await;
}

#[tokio::test]
async fn the_cancel_api_takes_dry_run_and_force() {
    helpers::each_backend(|app: TestApp| async move {
        moving_rossi(&app).await;
        let admin = app.token_client("robot", "admin").await;
        let rossi = app.store().tenant_by_code("ROSSI").await.unwrap();
        let m = app.store().latest_move(rossi.id).await.unwrap().unwrap();
        let body = json!({"version": rossi.version});
        let url = format!("/api/v1/moves/{}/cancel", m.id);

        let dry = admin
            .json(
                &app,
                "POST",
                &format!("{url}?dry_run=1"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(dry.status, 200, "{}", dry.body);
        let dry = dry.json();
        let voip1 = dry["per_server"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["server"] == "voip1")
            .unwrap()
            .clone();
        assert_eq!(voip1["before"]["normal"], 0.74, "{dry:#}");
        assert_eq!(voip1["after"]["normal"], 0.84, "{dry:#}");
        assert_eq!(dry["warning_level"], 0.8);
        assert_eq!(
            pool_of(&app, "ROSSI").await,
            "pbxB",
            "a dry run changes nothing"
        );

        let refused = admin.json(&app, "POST", &url, Some(body.clone())).await;
        assert_eq!(refused.status, 409, "{}", refused.body);
        assert!(refused.body.contains("force=1"), "{}", refused.body);
        assert_eq!(pool_of(&app, "ROSSI").await, "pbxB");

        let done = admin
            .json(&app, "POST", &format!("{url}?force=1"), Some(body))
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert_eq!(done.json()["move"]["state"], "cancelled");
        assert_eq!(pool_of(&app, "ROSSI").await, "pbxA");
    })
    .await;
}

#[tokio::test]
async fn plan_apply_refuses_a_crossing_without_force() {
    helpers::each_backend(|app: TestApp| async move {
        app.store()
            .load_demo(&source_document_cluster(), "demo")
            .await
            .unwrap();
        // The demo's overload can be removed only through the multi-primary pool wiki.
        helpers::allow_multi_primary_plans(app.store()).await;
        let before = app.store().tenant_placements().await.unwrap();
        let url = app.db.url.clone();
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_pbx-pools"))
                .args(["plan", "--database-url", &url, "--apply"])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stdout}{stderr}");
        // The demo's plan raises smallbox1 and smallbox2 above the warning level in their worst
        // single failure.
        assert!(stderr.contains("impact per server"), "{stderr}");
        assert!(stderr.contains("! smallbox1"), "{stderr}");
        assert!(stderr.contains("Run again with --force"), "{stderr}");
        assert!(!stdout.contains("applied plan"), "{stdout}");
        assert_eq!(
            app.store().tenant_placements().await.unwrap(),
            before,
            "nothing was applied"
        );
    })
    .await;
}
