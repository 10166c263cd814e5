//! The impact preview before a change of placement (issue 16, part 1): single and bulk assign on
//! the pages and the API, `?dry_run=1` changing nothing, a crossing needing "apply anyway", the
//! preview's after-figures matching the overview once applied, and a bulk preview's frozen
//! versions.

use pbx_pools::domain::demo::source_document_cluster;
use serde_json::{Value, json};

use crate::helpers::{self, TestApp};

async fn load_demo(app: &TestApp) {
    app.store()
        .load_demo(&source_document_cluster(), "demo")
        .await
        .unwrap();
}

fn row<'a>(impact: &'a Value, server: &str) -> &'a Value {
    impact["per_server"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["server"] == server)
        .unwrap_or_else(|| panic!("no row for {server}: {impact}"))
}

/// The after-figures of `impact` are what `GET /api/v1/servers/stats` shows now: projected
/// phones with nothing down and the worst single failure's phones, per server.
async fn assert_overview_matches_after(app: &TestApp, impact: &Value) {
    let reader = app
        .token_client(&format!("r{}", fastrand::u32(..)), "read")
        .await;
    let res = reader.json(app, "GET", "/api/v1/servers/stats", None).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let stats = res.json();
    let stats = stats.as_array().unwrap();
    assert_eq!(stats.len(), impact["per_server"].as_array().unwrap().len());
    for s in stats {
        let name = s["server"].as_str().unwrap();
        let r = row(impact, name);
        let projected = s["projected"].as_f64().unwrap();
        let after = r["after"]["normal_phones"].as_f64().unwrap();
        assert!(
            (projected - after).abs() < 1e-6,
            "{name}: overview {projected}, preview {after}"
        );
        let cap = s["capacity"].as_f64().unwrap();
        let normal = r["after"]["normal"].as_f64().unwrap();
        assert!((projected / cap - normal).abs() < 1e-9, "{name}");
        let worst = s["worst_n1"][1].as_f64().unwrap();
        let after_worst = r["after"]["worst_phones"].as_f64().unwrap();
        assert!(
            (worst - after_worst).abs() < 1e-6,
            "{name}: overview {worst}, preview {after_worst}"
        );
        assert!((worst / cap - r["after"]["worst"].as_f64().unwrap()).abs() < 1e-9);
        assert_eq!(
            s["worst_n1"][0],
            r["after"]["worst_scenario"]
                .as_str()
                .unwrap()
                .trim_end_matches(" down")
        );
    }
}

#[tokio::test]
async fn a_dry_run_of_a_single_assign_changes_nothing_and_its_figures_are_the_overviews_after_applying()
 {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let admin = app.token_client("ops", "admin").await;
        let rossi = app.store().tenant_by_code("ROSSI").await.unwrap();
        let body = json!({"pool": "pbxB", "version": rossi.version});
        let res = admin
            .json(
                &app,
                "PUT",
                "/api/v1/tenants/ROSSI/pool?dry_run=1",
                Some(body.clone()),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        let impact = res.json();
        assert_eq!(impact["warning_level"], 0.8);
        let voip1 = row(&impact, "voip1");
        assert_eq!(voip1["capacity"], 400);
        // pbxA's 291 expected phones are on voip1; ROSSI takes its 12 to voip2.
        assert_eq!(voip1["before"]["normal"], 291.0 / 400.0);
        assert_eq!(voip1["after"]["normal"], 279.0 / 400.0);
        assert_eq!(row(&impact, "voip2")["after"]["normal_phones"], 130.0);
        assert_eq!(impact["crossings"], json!([]), "{impact}");
        // Nothing changed: not the tenant, not its version.
        let now = app.store().tenant_by_code("ROSSI").await.unwrap();
        assert_eq!((now.pool_id, now.version), (rossi.pool_id, rossi.version));

        let res = admin
            .json(&app, "PUT", "/api/v1/tenants/ROSSI/pool", Some(body))
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.json()["pool_name"], "pbxB");
        assert_overview_matches_after(&app, &impact).await;
    })
    .await;
}

#[tokio::test]
async fn a_crossing_needs_force_on_the_api() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let admin = app.token_client("ops", "admin").await;
        let gallo = app.store().tenant_by_code("GALLO").await.unwrap();
        let body = json!({"pool": "pbxA", "version": gallo.version});
        // GALLO's 33 phones take voip1 from 73% to 81%: above the warning level.
        let res = admin
            .json(
                &app,
                "PUT",
                "/api/v1/tenants/GALLO/pool",
                Some(body.clone()),
            )
            .await;
        assert_eq!(res.status, 409, "{}", res.body);
        assert!(res.content_type.starts_with("application/problem+json"));
        let problem = res.json();
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("voip1 goes above"),
            "{problem}"
        );
        let crossings = problem["impact"]["crossings"].as_array().unwrap();
        assert!(
            crossings.iter().any(|c| c["server"] == "voip1"
                && c["level"] == "warning"
                && c["case"] == "normal"),
            "{problem}"
        );
        assert_eq!(
            app.store().tenant_by_code("GALLO").await.unwrap().pool_id,
            None
        );
        // A dry run answers the same figures, with 200.
        let dry = admin
            .json(
                &app,
                "PUT",
                "/api/v1/tenants/GALLO/pool?dry_run=1",
                Some(body.clone()),
            )
            .await;
        assert_eq!(dry.status, 200);
        assert_eq!(dry.json(), problem["impact"]);

        let res = admin
            .json(
                &app,
                "PUT",
                "/api/v1/tenants/GALLO/pool?force=1",
                Some(body),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.json()["pool_name"], "pbxA");
        assert_overview_matches_after(&app, &problem["impact"]).await;
    })
    .await;
}

#[tokio::test]
async fn a_crossing_needs_apply_anyway_on_the_page() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let gallo = app.store().tenant_by_code("GALLO").await.unwrap();
        let detail = app.get(&format!("/tenants/{}", gallo.code)).await;
        assert!(
            detail
                .body
                .contains(&format!(r#"action="/tenants/{}/assign""#, gallo.code))
        );
        let preview = app
            .get(&format!(
                "/tenants/{}/assign?pool=pbxA&version={}",
                gallo.code, gallo.version
            ))
            .await;
        assert_eq!(preview.status, 200, "{}", preview.body);
        assert!(preview.body.contains("Impact on the servers"));
        assert!(
            preview.body.contains("voip1 goes above the warning level"),
            "{}",
            preview.body
        );
        assert!(preview.body.contains(r#"name="apply_anyway""#));
        assert!(preview.body.contains(r#"class="impact-crossing""#));
        assert_eq!(
            app.store().tenant(gallo.id).await.unwrap().pool_id,
            None,
            "a preview changes nothing"
        );

        let version = gallo.version.to_string();
        let path = format!("/tenants/{}/assign", gallo.code);
        let res = app
            .post_form(&path, &[("version", &version), ("pool", "pbxA")])
            .await;
        assert_eq!(res.status, 409, "{}", res.body);
        assert!(res.body.contains("Nothing was changed"), "{}", res.body);
        assert!(res.body.contains("Apply anyway"));
        assert_eq!(app.store().tenant(gallo.id).await.unwrap().pool_id, None);

        let res = app
            .post_form(
                &path,
                &[
                    ("version", &version),
                    ("pool", "pbxA"),
                    ("apply_anyway", "1"),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(
            app.store()
                .tenant(gallo.id)
                .await
                .unwrap()
                .pool_name
                .as_deref(),
            Some("pbxA")
        );

        // A change without a crossing applies without the box (ROSSI to pbxB).
        let rossi = app.store().tenant_by_code("ROSSI").await.unwrap();
        let preview = app
            .get(&format!(
                "/tenants/{}/assign?pool=pbxB&version={}",
                rossi.code, rossi.version
            ))
            .await;
        assert!(
            preview.body.contains("No server goes above"),
            "{}",
            preview.body
        );
        assert!(!preview.body.contains(r#"name="apply_anyway""#));
        let res = app
            .post_form(
                &format!("/tenants/{}/assign", rossi.code),
                &[("version", &rossi.version.to_string()), ("pool", "pbxB")],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
    })
    .await;
}

#[tokio::test]
async fn a_bulk_preview_covers_the_selection_and_freezes_its_versions() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let mut selection = Vec::new();
        for code in ["ROSSI", "ESPOSITO", "BRUNO"] {
            let t = app.store().tenant_by_code(code).await.unwrap();
            selection.push((code, t.id, format!("{}:{}", t.id, t.version)));
        }
        let mut form: Vec<(&str, &str)> =
            selection.iter().map(|s| ("tenant", s.2.as_str())).collect();
        form.push(("pool", "pbxA"));
        form.push(("return", "/tenants"));
        let preview = app.post_form("/tenants/bulk-assign/preview", &form).await;
        assert_eq!(preview.status, 200, "{}", preview.body);
        assert!(
            preview.body.contains("Move 3 tenants to pool pbxA?"),
            "{}",
            preview.body
        );
        for (code, _, value) in &selection {
            assert!(preview.body.contains(code));
            assert!(
                preview
                    .body
                    .contains(&format!(r#"name="tenant" value="{value}""#)),
                "the preview carries {value}: {}",
                preview.body
            );
        }
        // ROSSI and ESPOSITO are in pbxA already; BRUNO's 18 phones move from voip2 to voip1.
        assert!(
            preview.body.contains("291 (73%) → <span"),
            "{}",
            preview.body
        );
        assert!(preview.body.contains("309 (77%)"), "{}", preview.body);
        // BRUNO is edited between the preview and the apply: the whole move is refused.
        let bruno = app.store().tenant_by_code("BRUNO").await.unwrap();
        let mut edited = pbx_pools::domain::model::TenantInput::from_tenant(&bruno);
        edited.notes = "edited meanwhile".into();
        let new = edited
            .validate(|name| (name == "pbxB").then_some(bruno.pool_id).flatten())
            .unwrap();
        app.store()
            .update_tenant(bruno.id, bruno.version, &new, "someone")
            .await
            .unwrap();
        // Refused with or without "apply anyway": the selection is stale.
        for anyway in [false, true] {
            let mut apply = form.clone();
            if anyway {
                apply.push(("apply_anyway", "1"));
            }
            let res = app.post_form("/tenants/bulk-assign", &apply).await;
            assert_eq!(res.status, 409, "{}", res.body);
            assert!(
                res.body.contains("BRUNO"),
                "the refusal names BRUNO: {}",
                res.body
            );
        }
        let bruno_now = app.store().tenant_by_code("BRUNO").await.unwrap();
        assert_eq!(
            bruno_now.pool_name.as_deref(),
            Some("pbxB"),
            "nothing moved"
        );

        // A fresh selection applies, and the overview shows the preview's figures.
        let fresh = format!("{}:{}", bruno_now.id, bruno_now.version);
        let form = vec![
            ("tenant", fresh.as_str()),
            ("pool", "pbxA"),
            ("return", "/tenants"),
        ];
        let preview = app.post_form("/tenants/bulk-assign/preview", &form).await;
        assert_eq!(preview.status, 200, "{}", preview.body);
        let res = app.post_form("/tenants/bulk-assign", &form).await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(
            app.store()
                .tenant_by_code("BRUNO")
                .await
                .unwrap()
                .pool_name
                .as_deref(),
            Some("pbxA")
        );
        let reader = app.token_client("reader", "read").await;
        let stats = reader
            .json(&app, "GET", "/api/v1/servers/stats", None)
            .await
            .json();
        let voip1 = stats
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["server"] == "voip1")
            .unwrap();
        assert_eq!(voip1["projected"], 309.0);
    })
    .await;
}

#[tokio::test]
async fn a_bulk_preview_refuses_a_selection_already_stale() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let rossi = app.store().tenant_by_code("ROSSI").await.unwrap();
        let stale = format!("{}:{}", rossi.id, rossi.version - 1);
        let res = app
            .post_form(
                "/tenants/bulk-assign/preview",
                &[("tenant", &stale), ("pool", "pbxB"), ("return", "/tenants")],
            )
            .await;
        assert_eq!(res.status, 409, "{}", res.body);
        assert!(res.body.contains("ROSSI"));
        let res = app
            .post_form(
                "/tenants/bulk-assign",
                &[("tenant", &stale), ("pool", "pbxB"), ("return", "/tenants")],
            )
            .await;
        assert_eq!(res.status, 409, "{}", res.body);
        assert_eq!(
            app.store()
                .tenant_by_code("ROSSI")
                .await
                .unwrap()
                .pool_name
                .as_deref(),
            Some("pbxA")
        );
    })
    .await;
}

#[tokio::test]
async fn the_plans_per_server_json_is_what_the_overview_shows_after_applying() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let admin = app.token_client("ops", "admin").await;
        // Every tenant placed: GALLO, without a pool, goes where it raises the worst least,
        // which crosses the warning level (by default it would stay unplaced, and nothing move).
        let res = admin
            .json(
                &app,
                "POST",
                "/api/v1/plan",
                Some(json!({"place_all": true})),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        let plan = res.json();
        assert_eq!(plan["warning_level"], 0.8);
        assert!(!plan["crossings"].as_array().unwrap().is_empty(), "{plan}");

        // The page shows the same preview; its Apply without "Apply anyway" changes nothing.
        let page = app.get("/plan?run=1&place_all=1").await;
        assert!(page.body.contains("Impact on the servers"));
        assert!(page.body.contains(r#"name="apply_anyway""#));
        let mut form: Vec<(&str, &str)> = vec![
            ("plan", plan["id"].as_str().unwrap()),
            ("budget_pct", "30"),
            ("counts", "expected"),
            ("pins", ""),
            ("place_all", "1"),
        ];
        let codes: Vec<String> = plan["moves"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["tenant"].as_str().unwrap().to_string())
            .collect();
        form.extend(codes.iter().map(|c| ("move", c.as_str())));
        let before = app.store().tenant_by_code(&codes[0]).await.unwrap();
        let res = app.post_form("/plan/apply", &form).await;
        assert_eq!(res.status, 409, "{}", res.body);
        assert!(res.body.contains("Apply anyway"), "{}", res.body);
        assert_eq!(
            app.store().tenant_by_code(&codes[0]).await.unwrap().version,
            before.version,
            "nothing applied"
        );
        form.push(("apply_anyway", "1"));
        let res = app.post_form("/plan/apply", &form).await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_overview_matches_after(&app, &plan).await;
    })
    .await;
}

#[tokio::test]
async fn a_member_edit_is_previewed_and_a_crossing_needs_apply_anyway() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let pool = app.store().pool_by_name("pbxA").await.unwrap();
        let version = pool.version.to_string();
        let editor = app.get(&format!("/pools/{}/members", pool.name)).await;
        assert!(
            editor.body.contains("Preview the change"),
            "{}",
            editor.body
        );
        // voip2 becomes pbxA's primary: pbxA's 291 phones join pbxB's 118 on voip2 (cap 400).
        let form = [
            ("version", version.as_str()),
            ("server", "voip2"),
            ("priority", "10"),
            ("weight", "10"),
            ("port", ""),
            ("server", "voip1"),
            ("priority", "20"),
            ("weight", "10"),
            ("port", ""),
        ];
        let preview = app
            .post_form(&format!("/pools/{}/members/preview", pool.name), &form)
            .await;
        assert_eq!(preview.status, 200, "{}", preview.body);
        assert!(
            preview
                .body
                .contains("voip2 goes above its capacity with nothing down"),
            "{}",
            preview.body
        );
        assert!(preview.body.contains(r#"name="apply_anyway""#));
        let unchanged = app.store().pool(pool.id).await.unwrap();
        assert_eq!(unchanged.version, pool.version, "a preview saves nothing");

        let path = format!("/pools/{}/members", pool.name);
        let res = app.post_form(&path, &form).await;
        assert_eq!(res.status, 409, "{}", res.body);
        assert!(res.body.contains("Nothing was changed"), "{}", res.body);
        assert_eq!(
            app.store().pool(pool.id).await.unwrap().version,
            pool.version
        );

        let mut anyway = form.to_vec();
        anyway.push(("apply_anyway", "1"));
        let res = app.post_form(&path, &anyway).await;
        assert_eq!(res.status, 303, "{}", res.body);
        let saved = app.store().pool(pool.id).await.unwrap();
        assert_eq!(saved.members[0].server_name.as_str(), "voip2");
    })
    .await;
}

fn csv_upload(
    app: &TestApp,
    csv: &str,
    fields: &[(&str, &str)],
) -> axum::http::Request<axum::body::Body> {
    let b = "IMPACTBOUNDARY";
    let mut body =
        format!("--{b}\r\nContent-Disposition: form-data; name=\"csv\"\r\n\r\n{csv}\r\n");
    for (name, value) in fields {
        body.push_str(&format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{b}--\r\n"));
    axum::http::Request::post("/tenants/import")
        .header("x-csrf-token", app.admin.csrf())
        .header("content-type", format!("multipart/form-data; boundary={b}"))
        .body(axum::body::Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn a_csv_import_shows_its_impact_and_a_crossing_needs_apply_anyway() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        // GALLO (33 phones, unplaced) placed in pbxA by the file.
        let csv = "code,name,expected_phones,pool,notes\nGALLO,Gallo Retail,33,pbxA,\n";
        let dry = app
            .admin
            .send(&app, csv_upload(&app, csv, &[("action", "preview")]))
            .await;
        assert_eq!(dry.status, 200, "{}", dry.body);
        assert!(dry.body.contains("Impact on the servers"), "{}", dry.body);
        assert!(dry.body.contains("291 (73%) → <span"), "{}", dry.body);
        assert!(dry.body.contains("324 (81%)"), "{}", dry.body);
        assert!(dry.body.contains(r#"name="apply_anyway""#));

        let res = app
            .admin
            .send(&app, csv_upload(&app, csv, &[("action", "apply")]))
            .await;
        assert_eq!(res.status, 409, "{}", res.body);
        assert!(
            res.body.contains("voip1 goes above the warning level"),
            "{}",
            res.body
        );
        assert_eq!(
            app.store().tenant_by_code("GALLO").await.unwrap().pool_id,
            None
        );

        let res = app
            .admin
            .send(
                &app,
                csv_upload(&app, csv, &[("action", "apply"), ("apply_anyway", "1")]),
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        let job = res.location.unwrap();
        assert!(job.starts_with("/jobs/"), "{job}");
        // The import runs in the background: wait for it (a deadline, not a count of polls).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while app.get(&job).await.body.contains("http-equiv=\"refresh\"") {
            assert!(
                std::time::Instant::now() < deadline,
                "the import did not finish"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(
            app.store()
                .tenant_by_code("GALLO")
                .await
                .unwrap()
                .pool_name
                .as_deref(),
            Some("pbxA")
        );
    })
    .await;
}

#[tokio::test]
async fn the_bulk_api_previews_the_whole_selection_and_refuses_a_stale_one() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let admin = app.token_client("ops", "admin").await;
        let version = |code: &'static str| {
            let app = &app;
            async move { app.store().tenant_by_code(code).await.unwrap().version }
        };
        let body = json!({
            "tenants": [
                {"code": "ROSSI", "version": version("ROSSI").await},
                {"code": "GALLO", "version": version("GALLO").await},
            ],
            "pool": "pbxB",
        });
        let dry = admin
            .json(
                &app,
                "POST",
                "/api/v1/bulk-assign?dry_run=1",
                Some(body.clone()),
            )
            .await;
        assert_eq!(dry.status, 200, "{}", dry.body);
        let impact = dry.json();
        // ROSSI's 12 phones leave voip1; ROSSI's and GALLO's 45 join pbxB's 118 on voip2.
        assert_eq!(row(&impact, "voip1")["after"]["normal_phones"], 279.0);
        assert_eq!(row(&impact, "voip2")["after"]["normal_phones"], 163.0);
        assert_eq!(
            app.store().tenant_by_code("GALLO").await.unwrap().pool_id,
            None
        );

        // GALLO is written meanwhile (its version moves on): the whole move is refused, naming it.
        let gallo = app.store().tenant_by_code("GALLO").await.unwrap();
        app.store()
            .assign_tenant(gallo.id, gallo.version, None, "someone")
            .await
            .unwrap();
        let stale = admin
            .json(&app, "POST", "/api/v1/bulk-assign?force=1", Some(body))
            .await;
        assert_eq!(stale.status, 409, "{}", stale.body);
        assert!(stale.body.contains("GALLO"), "{}", stale.body);
        assert_eq!(
            app.store()
                .tenant_by_code("ROSSI")
                .await
                .unwrap()
                .pool_name
                .as_deref(),
            Some("pbxA"),
            "nothing moved"
        );
    })
    .await;
}
