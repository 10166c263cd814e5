//! SRV shares, what-if, zone export and import through the pages and the API.

use pbx_pools::domain::demo::source_document_cluster;
use serde_json::json;

use crate::helpers::{self, TestApp};

async fn load_demo(app: &TestApp) {
    app.store()
        .load_demo(&source_document_cluster(), "demo")
        .await
        .unwrap();
}

fn share_of(v: &serde_json::Value, list: &str, target: &str, port: Option<u64>) -> f64 {
    v[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == target && port.is_none_or(|p| t["port"] == p))
        .unwrap_or_else(|| panic!("{target} not in {v}"))["share"]
        .as_f64()
        .unwrap()
}

const WIKI: &str = r#"[
  {"priority": 10, "weight": 60, "port": 5060, "target": "bigbox.example.com"},
  {"priority": 10, "weight": 20, "port": 5060, "target": "smallbox1.example.com"},
  {"priority": 10, "weight": 10, "port": 5060, "target": "smallbox2.example.com"},
  {"priority": 10, "weight": 10, "port": 5066, "target": "smallbox2.example.com"},
  {"priority": 20, "weight": 0, "port": 5060, "target": "backupbox.example.com"}
]"#;

#[tokio::test]
async fn the_source_documents_example_through_the_api() {
    helpers::each_backend(|app: TestApp| async move {
        let reader = app.token_client("reader", "read").await;
        let records: serde_json::Value = serde_json::from_str(WIKI).unwrap();
        let res = reader
            .json(
                &app,
                "POST",
                "/api/v1/srv/shares",
                Some(json!({"records": records})),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        let v = res.json();
        assert_eq!(v["model"], "weighted");
        assert!((share_of(&v, "servers", "bigbox.example.com", None) - 0.6).abs() < 1e-12);
        assert!((share_of(&v, "servers", "smallbox1.example.com", None) - 0.2).abs() < 1e-12);
        assert!((share_of(&v, "servers", "smallbox2.example.com", None) - 0.2).abs() < 1e-12);
        assert!((share_of(&v, "targets", "smallbox2.example.com", Some(5066)) - 0.1).abs() < 1e-12);
        assert_eq!(share_of(&v, "servers", "backupbox.example.com", None), 0.0);

        let res = reader
            .json(
                &app,
                "POST",
                "/api/v1/srv/shares",
                Some(json!({"records": records, "down": ["bigbox.example.com"]})),
            )
            .await;
        let v = res.json();
        assert!((share_of(&v, "servers", "smallbox1.example.com", None) - 0.5).abs() < 1e-12);
        assert!((share_of(&v, "servers", "smallbox2.example.com", None) - 0.5).abs() < 1e-12);
        assert!((share_of(&v, "targets", "smallbox2.example.com", Some(5060)) - 0.25).abs() < 1e-12);
        assert!((share_of(&v, "targets", "smallbox2.example.com", Some(5066)) - 0.25).abs() < 1e-12);

        let all_four = json!({"records": records, "down": ["bigbox.example.com", "smallbox1.example.com", "smallbox2.example.com"]});
        let v = reader
            .json(&app, "POST", "/api/v1/srv/shares", Some(all_four))
            .await
            .json();
        assert_eq!(share_of(&v, "servers", "backupbox.example.com", None), 1.0);

        // The literal RFC model gives each weighted record w/(T+1) plus its part of the R = 0 pick.
        let v = reader
            .json(
                &app,
                "POST",
                "/api/v1/srv/shares",
                Some(json!({"model": "rfc2782", "records": records})),
            )
            .await
            .json();
        assert!((share_of(&v, "servers", "bigbox.example.com", None) - 60.25 / 101.0).abs() < 1e-12);
    })
    .await;
}

#[tokio::test]
async fn malformed_share_requests_get_a_problem_naming_the_field() {
    helpers::each_backend(|app: TestApp| async move {
        let reader = app.token_client("reader", "read").await;
        let cases = [
            (
                json!({"records": [{"priority": 10, "weight": 1, "port": 5060, "target": "bad host"}]}),
                "records[0].target",
            ),
            (
                json!({"records": [{"priority": 10, "weight": 1, "port": 0, "target": "a.example.com"}]}),
                "records[0].port",
            ),
            (json!({"records": []}), "records"),
            (
                json!({"records": [{"priority": 10, "weight": 1, "port": 5060, "target": "a.example.com"}], "down": ["x;y"]}),
                "down[0]",
            ),
            (
                json!({"records": [{"priority": 70000, "weight": 1, "port": 5060, "target": "a.example.com"}]}),
                "priority",
            ),
            (
                json!({"records": [{"priority": 1, "weight": 1, "port": 5060, "target": "a.example.com"}], "model": "random"}),
                "model",
            ),
            (json!({"recordz": []}), "records"),
        ];
        for (body, field) in cases {
            let res = reader
                .json(&app, "POST", "/api/v1/srv/shares", Some(body.clone()))
                .await;
            assert_eq!(res.status, 400, "{body}: {}", res.body);
            assert_eq!(res.content_type, "application/problem+json");
            assert!(
                res.body.contains(field),
                "{body}: the problem must name {field}: {}",
                res.body
            );
        }
    })
    .await;
}

#[tokio::test]
async fn stored_pool_shares_and_what_if() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let reader = app.token_client("reader", "read").await;
        let v = reader
            .json(&app, "GET", "/api/v1/pools/wiki/shares?down=bigbox", None)
            .await
            .json();
        assert_eq!(v["pool"], "wiki");
        assert!((share_of(&v, "servers", "smallbox1.example.com", None) - 0.5).abs() < 1e-12);
        let res = reader
            .json(&app, "GET", "/api/v1/pools/wiki/shares?down=nosuch", None)
            .await;
        assert_eq!(res.status, 400);
        assert!(res.body.contains("nosuch"));

        let v = reader
            .json(&app, "GET", "/api/v1/whatif?down=voip1", None)
            .await
            .json();
        let voip2 = v["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["server"] == "voip2")
            .unwrap();
        // pbxA (48+12+85+140+6) and pbxB (64+27+9+18) all land on voip2: over its 400.
        assert_eq!(voip2["phones"].as_f64().unwrap(), 409.0);
        assert_eq!(voip2["overloaded"], true);
        assert_eq!(v["overloaded"], serde_json::json!(["voip2"]));
        let shifted: Vec<&str> = v["shifts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["tenant"].as_str().unwrap())
            .collect();
        assert!(shifted.contains(&"FERRARI") && !shifted.contains(&"ROMANO"));

        let page = app.get("/pools/wiki?down=bigbox&down=smallbox1").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("bigbox + smallbox1 down"));
        assert!(page.body.contains("50.00%"));
        assert!(
            page.body.contains("share the top priority"),
            "lint is shown"
        );
        let page = app.get("/whatif?down=voip1&down=voip2").await;
        assert!(page.body.contains("could register nowhere"));
        let overview = app.get("/").await;
        assert!(
            overview.body.contains("Worst single failure"),
            "{}",
            overview.body
        );
    })
    .await;
}

#[tokio::test]
async fn export_downloads_and_parses_back_to_the_stored_records() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let reader = app.token_client("reader", "read").await;
        let res = reader
            .json(
                &app,
                "GET",
                "/api/v1/export?pools=pbxA,pbxB&format=bind",
                None,
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(
            res.headers.get("content-disposition").unwrap(),
            "attachment; filename=\"pbx-pools-pbxA-pbxB.zone\""
        );
        let parsed = pbx_pools::domain::zone::parse_zone(&res.body, None).unwrap();
        let pools = app.store().pools().await.unwrap();
        let expected = pbx_pools::domain::zone::zone_records(
            &pools
                .iter()
                .filter(|p| p.name != "wiki")
                .map(|p| p.zone_pool(None))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert_eq!(parsed, expected);
        assert_eq!(parsed.len(), 4);

        // Deterministic: the same request gives the same bytes.
        let again = reader
            .json(
                &app,
                "GET",
                "/api/v1/export?pools=pbxA,pbxB&format=bind",
                None,
            )
            .await;
        assert_eq!(again.body, res.body);

        for format in ["nsupdate", "json", "octodns", "dnscontrol"] {
            let res = reader
                .json(
                    &app,
                    "GET",
                    &format!("/api/v1/export?format={format}&origin=example.com"),
                    None,
                )
                .await;
            assert_eq!(res.status, 200, "{format}: {}", res.body);
            assert!(res.body.contains("smallbox2"), "{format}");
        }
        let page = app
            .get("/dns?pools=wiki&format=bind&origin=example.com")
            .await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("$ORIGIN example.com."));
        let file = app.get("/dns/export?pools=wiki&format=json").await;
        assert_eq!(
            file.headers.get("content-disposition").unwrap(),
            "attachment; filename=\"pbx-pools-wiki.json\""
        );
        let json: serde_json::Value = serde_json::from_str(&file.body).unwrap();
        assert_eq!(json.as_array().map(|a| a.len()), Some(5), "{json}");
    })
    .await;
}

/// Nothing typed or stored can put anything but SRV records into an export.
#[tokio::test]
async fn hostile_names_never_reach_an_export() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let hostile = [
            "voip9.example.com\nevil 1 IN A 192.0.2.66",
            "voip9.example.com;",
            "voip9\".example.com",
            "voip9.(example).com",
            "$INCLUDE.example.com",
            "voip 9.example.com",
            &format!("{}.example.com", "a".repeat(64)),
            "vöip9.example.com",
        ];
        for bad in hostile {
            let res = app
                .post_form("/servers", &[("name", "voip9"), ("host", bad)])
                .await;
            assert_eq!(res.status, 422, "server host {bad:?}");
            assert!(res.body.contains("id=\"host-error\""), "{bad:?}");
            let res = app
                .post_form(
                    "/pools",
                    &[("name", "pbx9"), ("srv_name", bad), ("transport", "udp")],
                )
                .await;
            assert_eq!(res.status, 422, "pool srv name {bad:?}");
            let res = app
                .admin
                .json(
                    &app,
                    "GET",
                    &format!("/api/v1/export?origin={}", helpers::urlencode(bad)),
                    None,
                )
                .await;
            assert_eq!(res.status, 401, "API needs a token");
        }
        let reader = app.token_client("reader", "read").await;
        for bad in hostile {
            let res = reader
                .json(
                    &app,
                    "GET",
                    &format!(
                        "/api/v1/export?format=bind&origin={}",
                        helpers::urlencode(bad)
                    ),
                    None,
                )
                .await;
            assert_eq!(res.status, 400, "origin {bad:?}: {}", res.body);
            let body =
                json!({"records": [{"priority": 1, "weight": 1, "port": 5060, "target": bad}]});
            assert_eq!(
                reader
                    .json(&app, "POST", "/api/v1/srv/shares", Some(body))
                    .await
                    .status,
                400
            );
        }
        let res = app
            .post_form(
                "/pools",
                &[
                    ("name", "pbx;9"),
                    ("srv_name", "pbx9.example.com"),
                    ("transport", "udp"),
                ],
            )
            .await;
        assert_eq!(res.status, 422);
        assert!(app.store().server_by_name("voip9").await.is_err());

        // A value that got into the database behind the application's back cannot be read as a
        // host name: the read fails naming the row (in the log), and no partial file goes out.
        let pool = sqlx::AnyPool::connect(&app.db.url).await.unwrap();
        sqlx::query(
        "UPDATE servers SET host = 'voip1.example.com. 1 IN A 192.0.2.66 ;' WHERE name = 'voip1'",
    )
    .execute(&pool)
    .await
    .unwrap();
        pool.close().await;
        let res = reader
            .json(&app, "GET", "/api/v1/export?format=bind", None)
            .await;
        assert_eq!(res.status, 500, "{}", res.body);
        assert!(!res.body.contains("IN SRV"));
        assert!(!res.body.contains("192.0.2.66"), "{}", res.body);
    })
    .await;
}

#[tokio::test]
async fn a_zone_file_bootstraps_servers_and_pools() {
    // The zone file is only the input here, so it comes from the demo on SQLite; the import
    // below runs on every backend.
    let source = TestApp::on(helpers::sqlite().await).await;
    load_demo(&source).await;
    let reader = source.token_client("reader", "read").await;
    let zone = reader
        .json(&source, "GET", "/api/v1/export?format=bind", None)
        .await
        .body;
    source.db.cleanup().await;
    let zone = &zone;

    helpers::each_backend(|app: TestApp| async move {
        let multipart = |action: &str, zone: &str| {
            let boundary = "XBOUNDARYX";
            let body = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"zone\"\r\n\r\n{zone}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\n{action}\r\n--{boundary}--\r\n"
            );
            axum::http::Request::post("/dns/import")
                .header("x-csrf-token", app.admin.csrf())
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(axum::body::Body::from(body))
                .unwrap()
        };
        let preview = app.admin.send(&app, multipart("preview", zone)).await;
        assert_eq!(preview.status, 200, "{}", preview.body);
        assert!(preview.body.contains("smallbox2.example.com"));
        assert!(preview.body.contains("Create these servers and pools"));
        assert!(
            app.store().servers().await.unwrap().is_empty(),
            "a preview stores nothing"
        );

        let applied = app.admin.send(&app, multipart("apply", zone)).await;
        assert_eq!(applied.status, 303, "{}", applied.body);
        let pools = app.store().pools().await.unwrap();
        assert_eq!(pools.len(), 3);
        let wiki = pools.iter().find(|p| p.srv_name == "example.com").unwrap();
        let members: Vec<_> = wiki
            .members
            .iter()
            .map(|m| {
                (
                    m.server_name.as_str(),
                    m.priority,
                    m.weight,
                    m.effective_port,
                )
            })
            .collect();
        assert_eq!(
            members,
            vec![
                ("bigbox", 10, 60, 5060),
                ("smallbox1", 10, 20, 5060),
                ("smallbox2", 10, 10, 5060),
                ("smallbox2", 10, 10, 5066),
                ("backupbox", 20, 0, 5060)
            ]
        );
        assert_eq!(app.store().servers().await.unwrap().len(), 6);

        // Importing again clashes on the pool names: refused whole, nothing changes.
        let again = app.admin.send(&app, multipart("apply", zone)).await;
        assert_eq!(again.status, 409);
        assert!(again.body.contains("already exists"));
        assert_eq!(app.store().pools().await.unwrap().len(), 3);
        let bad = app
            .admin
            .send(
                &app,
                multipart(
                    "preview",
                    "_sip._udp.x.example.com. 60 IN SRV 10 10 0 voip1.example.com.",
                ),
            )
            .await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("line 1"), "{}", bad.body);
    })
    .await;
}
