//! CSV round trip: export, edit, dry run, import; bad files are refused line by line and change
//! nothing.

use pbx_pools::domain::demo::source_document_cluster;

use crate::helpers::{self, TestApp};

fn multipart(
    app: &TestApp,
    path: &str,
    csv: &str,
    action: &str,
) -> axum::http::Request<axum::body::Body> {
    let b = "CSVBOUNDARY";
    // These imports load the demo's voip1 and voip2, already above capacity in their worst
    // single failure: applying needs "apply anyway" (the impact preview's own tests are in
    // `impact_preview`).
    let anyway = if action == "apply" {
        format!("--{b}\r\nContent-Disposition: form-data; name=\"apply_anyway\"\r\n\r\n1\r\n")
    } else {
        String::new()
    };
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csv\"\r\n\r\n{csv}\r\n{anyway}--{b}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\n{action}\r\n--{b}--\r\n"
    );
    axum::http::Request::post(path)
        .header("x-csrf-token", app.admin.csrf())
        .header("content-type", format!("multipart/form-data; boundary={b}"))
        .body(axum::body::Body::from(body))
        .unwrap()
}

/// Follows an import to its job page until the background work is done; returns the page.
async fn finished(app: &TestApp, res: helpers::TestResponse) -> String {
    assert_eq!(res.status, 303, "{}", res.body);
    let job = res.location.expect("the apply redirects to its job page");
    assert!(job.starts_with("/jobs/"), "{job}");
    // A deadline, not a number of polls: on PostgreSQL every row is a round trip, and a loaded
    // CI machine makes a 3,000-line import take seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let page = app.get(&job).await;
        assert_eq!(page.status, 200);
        if !page.body.contains("http-equiv=\"refresh\"") {
            return page.body;
        }
        assert!(
            page.body.contains("lines ("),
            "progress is shown while it works"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the import did not finish within 60 s");
}

#[tokio::test]
async fn tenants_round_trip_through_csv() {
    helpers::each_backend(|app: TestApp| async move {
        app.store()
            .load_demo(&source_document_cluster(), "demo")
            .await
            .unwrap();
        let export = app.get("/tenants.csv").await;
        assert_eq!(export.status, 200);
        assert_eq!(
            export.headers.get("content-disposition").unwrap(),
            "attachment; filename=\"pbx-pools-tenants.csv\""
        );
        assert!(
            export
                .body
                .starts_with("code,name,expected_phones,pool,notes\n")
        );
        assert!(
            export
                .body
                .contains("CANISTRACCI,Canistracci Trasporti,48,pbxA,")
        );

        // Unchanged file: everything unchanged.
        let dry = app
            .admin
            .send(
                &app,
                multipart(&app, "/tenants/import", &export.body, "preview"),
            )
            .await;
        assert_eq!(dry.status, 200, "{}", dry.body);
        assert!(
            dry.body
                .contains("0 to create, 0 to change, 12 unchanged, 0 refused"),
            "{}",
            dry.body
        );

        let edited = export.body.replace(
            "CANISTRACCI,Canistracci Trasporti,48,pbxA",
            "CANISTRACCI,Canistracci Trasporti,60,pbxB",
        ) + "NEWCO,\"New, Co\",7,pbxA,first line\n";
        let dry = app
            .admin
            .send(&app, multipart(&app, "/tenants/import", &edited, "preview"))
            .await;
        assert!(
            dry.body.contains("1 to create, 1 to change"),
            "{}",
            dry.body
        );
        assert!(dry.body.contains("expected_phones, pool"));
        assert_eq!(
            app.store().tenant_count().await.unwrap(),
            12,
            "a dry run stores nothing"
        );
        let applied = app
            .admin
            .send(&app, multipart(&app, "/tenants/import", &edited, "apply"))
            .await;
        let done = finished(&app, applied).await;
        assert!(
            done.contains("Tenant import: 1 created, 1 changed."),
            "{done}"
        );
        let c = app.store().tenant_by_code("CANISTRACCI").await.unwrap();
        assert_eq!(
            (c.expected_phones, c.pool_name.as_deref()),
            (60, Some("pbxB"))
        );
        assert_eq!(
            app.store().tenant_by_code("NEWCO").await.unwrap().name,
            "New, Co"
        );
        // The API export is the same file.
        let reader = app.token_client("r", "read").await;
        let api = reader.json(&app, "GET", "/api/v1/tenants.csv", None).await;
        assert_eq!(api.body, app.get("/tenants.csv").await.body);
    })
    .await;
}

#[tokio::test]
async fn a_file_with_bad_rows_is_refused_with_each_lines_reason_and_changes_nothing() {
    helpers::each_backend(|app: TestApp| async move {
        app.store()
            .load_demo(&source_document_cluster(), "demo")
            .await
            .unwrap();
        let audit_before = app
            .store()
            .audit_entries(&Default::default())
            .await
            .unwrap()
            .1;
        let bad = "code,name,expected_phones,pool\nGOOD,Good Srl,3,pbxA\nbad-code,Bad,1,pbxA\nNOPOOL,No Pool,2,pbxZ\nGOOD,Twice,1,pbxA\n";
        for action in ["preview", "apply"] {
            let res = app
                .admin
                .send(&app, multipart(&app, "/tenants/import", bad, action))
                .await;
            assert_eq!(res.status, 422, "{action}");
            assert!(res.body.contains("3 lines are refused"), "{}", res.body);
            assert!(
                res.body
                    .contains("<td class=\"num\">3</td><td>bad-code</td><td>refused</td>"),
                "{}",
                res.body
            );
            assert!(res.body.contains("no pool named"));
            assert!(res.body.contains("appears twice"));
        }
        assert!(
            app.store().tenant_by_code("GOOD").await.is_err(),
            "not even the good line was imported"
        );
        assert_eq!(
            app.store()
                .audit_entries(&Default::default())
                .await
                .unwrap()
                .1,
            audit_before
        );
        let res = app
            .admin
            .send(
                &app,
                multipart(&app, "/tenants/import", "code,colour\nA,red\n", "preview"),
            )
            .await;
        assert_eq!(res.status, 422);
        assert!(res.body.contains("unknown column"));

        // Servers the same way.
        let servers = app.get("/servers.csv").await.body;
        let edited = servers.replace(
            "voip1,voip1.example.com,5060,400",
            "voip1,voip1.example.com,5060,500",
        ) + "voip9,bad host,5060,,,active\n";
        let res = app
            .admin
            .send(&app, multipart(&app, "/servers/import", &edited, "apply"))
            .await;
        assert_eq!(res.status, 422);
        assert_eq!(
            app.store().server_by_name("voip1").await.unwrap().capacity,
            Some(400)
        );
        let fixed = edited.replace("bad host", "voip9.example.com");
        let res = app
            .admin
            .send(&app, multipart(&app, "/servers/import", &fixed, "apply"))
            .await;
        let done = finished(&app, res).await;
        assert!(
            done.contains("Server import: 1 created, 1 changed."),
            "{done}"
        );
        assert_eq!(
            app.store().server_by_name("voip1").await.unwrap().capacity,
            Some(500)
        );
        assert!(app.store().server_by_name("voip9").await.is_ok());
    })
    .await;
}

#[tokio::test]
async fn thousands_of_tenants_import_in_one_go() {
    helpers::each_backend(|app: TestApp| async move {
        app.store()
            .load_demo(&source_document_cluster(), "demo")
            .await
            .unwrap();
        let mut csv = String::from("code,name,expected_phones,pool\n");
        for i in 0..3000 {
            csv.push_str(&format!(
                "BULK{i},Bulk tenant {i},{},{}\n",
                i % 50 + 1,
                if i % 2 == 0 { "pbxA" } else { "pbxB" }
            ));
        }
        let started = std::time::Instant::now();
        let res = app
            .admin
            .send(&app, multipart(&app, "/tenants/import", &csv, "apply"))
            .await;
        finished(&app, res).await;
        eprintln!(
            "3,000-line import (dry run + apply, debug build): {:?}",
            started.elapsed()
        );
        assert_eq!(app.store().tenant_count().await.unwrap(), 3012);
    })
    .await;
}
