//! The JSON API against its own OpenAPI document: what `benches/schemathesis.sh` found, each
//! kept as a test (RELIABILITY.md, "API fuzzing from the OpenAPI document").

use pbx_pools::domain::demo::source_document_cluster;
use serde_json::json;

use crate::helpers::{self, TestApp};

async fn load_demo(app: &TestApp) {
    app.store()
        .load_demo(&source_document_cluster(), "demo")
        .await
        .unwrap();
}

/// serde fills a struct from an array of its fields in order, so `[]` was a plan request with
/// every default and `[null, version]` unplaced a tenant. Every API body is an object.
#[tokio::test]
async fn a_json_body_that_is_not_an_object_is_refused() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let admin = app.token_client("ops", "admin").await;
        let rossi = admin.json(&app, "GET", "/api/v1/tenants/ROSSI", None).await;
        assert_eq!(rossi.status, 200, "{}", rossi.body);
        let version = rossi.json()["version"].clone();
        assert!(rossi.json()["pool_name"].is_string());

        for (method, path, body) in [
            ("POST", "/api/v1/plan", json!([])),
            ("POST", "/api/v1/plan", json!([30.0, "expected", []])),
            ("PUT", "/api/v1/tenants/ROSSI/pool", json!([null, version])),
            ("POST", "/api/v1/plan/apply", json!(["x"])),
            (
                "POST",
                "/api/v1/srv/shares",
                json!(["weighted", [[10, 60, 5060, "voip1.example.com"]], []]),
            ),
        ] {
            let res = admin.json(&app, method, path, Some(body.clone())).await;
            assert_eq!(res.status, 400, "{method} {path} {body}: {}", res.body);
            assert_eq!(res.content_type, "application/problem+json");
            assert!(
                res.json()["detail"].as_str().unwrap().contains("object"),
                "{}",
                res.body
            );
        }
        let after = admin
            .json(&app, "GET", "/api/v1/tenants/ROSSI", None)
            .await
            .json();
        assert!(
            after["pool_name"].is_string(),
            "the tenant kept its pool: {after}"
        );

        // The same calls with objects still work, leading whitespace and all.
        let res = admin
            .send(
                &app,
                axum::http::Request::post("/api/v1/plan")
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(" \n {}"))
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
    })
    .await;
}

/// `sort=AAA` sorted by code and `page=0` read as page 1 without a word: a client's typo went
/// unnoticed. The API refuses them, naming the parameter (the page keeps its lenient links).
#[tokio::test]
async fn tenant_list_parameters_out_of_their_range_are_refused() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let reader = app.token_client("reader", "read").await;
        for (query, field) in [
            ("sort=AAA", "sort"),
            ("sort=Name", "sort"),
            ("page=0", "page"),
            ("per_page=0", "per_page"),
            ("before=0", "before"),
            ("after=-5", "after"),
        ] {
            let res = reader
                .json(&app, "GET", &format!("/api/v1/tenants?{query}"), None)
                .await;
            assert_eq!(res.status, 400, "{query}: {}", res.body);
            assert_eq!(res.json()["errors"][0]["field"], field, "{}", res.body);
        }
        for query in [
            "",
            "sort=",
            "sort=phones&desc=true",
            "page=1&per_page=5",
            "sort=pool",
        ] {
            let res = reader
                .json(&app, "GET", &format!("/api/v1/tenants?{query}"), None)
                .await;
            assert_eq!(res.status, 200, "{query}: {}", res.body);
        }
    })
    .await;
}

/// The document's JSON export schema is the export's real shape (it said "object"; the export
/// is an array of records).
#[tokio::test]
async fn the_json_export_is_the_documented_array_of_records() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let reader = app.token_client("reader", "read").await;
        let doc = helpers::Client::anonymous()
            .get(&app, "/api/v1/openapi.json")
            .await
            .json();
        let content = &doc["paths"]["/api/v1/export"]["get"]["responses"]["200"]["content"];
        assert_eq!(content["application/json"]["schema"]["type"], "array");
        let res = reader
            .json(&app, "GET", "/api/v1/export?format=json", None)
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert!(
            content.get(&res.content_type).is_some(),
            "{}",
            res.content_type
        );
        let records = res.json();
        let record = &records[0];
        for field in ["owner", "ttl", "priority", "weight", "port", "target"] {
            assert!(record.get(field).is_some(), "{field} in {record}");
        }
    })
    .await;
}
