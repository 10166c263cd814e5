//! Registrations end to end: dumps pushed through the API with ingest tokens become counts,
//! split warnings and alerts; malformed dumps change nothing.

use pbx_pools::domain::demo::source_document_cluster;
use pbx_pools::domain::demo_registrations::source_document_rounds;

use crate::helpers::{self, Client, TestApp};

/// voip1/voip2 with pools pbxA/pbxB and three tenants.
async fn build_cluster(app: &TestApp) {
    for s in ["voip1", "voip2"] {
        let host = format!("{s}.example.com");
        let res = app
            .post_form(
                "/servers",
                &[("name", s), ("host", host.as_str()), ("capacity", "100")],
            )
            .await;
        assert_eq!(res.status, 303);
    }
    for (pool, first, second) in [("pbxA", "voip1", "voip2"), ("pbxB", "voip2", "voip1")] {
        let srv = format!("{}.example.com", pool.to_lowercase());
        app.post_form(
            "/pools",
            &[
                ("name", pool),
                ("srv_name", srv.as_str()),
                ("transport", "udp"),
            ],
        )
        .await;
        let p = app.store().pool_by_name(pool).await.unwrap();
        let res = app
            .post_form(
                &format!("/pools/{}/members", p.name),
                &[
                    ("version", "1"),
                    ("server", first),
                    ("priority", "10"),
                    ("weight", "10"),
                    ("port", ""),
                    ("server", second),
                    ("priority", "20"),
                    ("weight", "10"),
                    ("port", ""),
                ],
            )
            .await;
        assert_eq!(res.status, 303);
    }
    for (code, pool, phones) in [
        ("ACME", "pbxA", "20"),
        ("ROSSI", "pbxA", "10"),
        ("ROMANO", "pbxB", "10"),
    ] {
        let res = app
            .post_form(
                "/tenants",
                &[
                    ("code", code),
                    ("name", code),
                    ("expected_phones", phones),
                    ("pool", pool),
                ],
            )
            .await;
        assert_eq!(res.status, 303);
    }
}

fn eps(code: &str, from: u32, n: u32) -> Vec<String> {
    (from..from + n).map(|i| format!("{i}-{code}")).collect()
}

async fn push(
    app: &TestApp,
    client: &Client,
    server: &str,
    body: String,
    format: &str,
) -> helpers::TestResponse {
    let req = axum::http::Request::post(format!(
        "/api/v1/servers/{server}/registrations?format={format}"
    ))
    .header("content-type", "text/plain")
    .body(axum::body::Body::from(body))
    .unwrap();
    client.send(app, req).await
}

#[tokio::test]
async fn pushed_dumps_become_counts_splits_and_alerts() {
    helpers::each_backend(|app: TestApp| async move {
        build_cluster(&app).await;
        let voip1 = app.token_client("voip1-cron", "ingest:voip1").await;
        let voip2 = app.token_client("voip2-cron", "ingest:voip2").await;
        // ACME: 10 on voip1 (home), 10 on voip2 -> split; ROSSI whole on voip1; ROMANO whole on voip2;
        // plus one endpoint that matches no tenant.
        let mut on1 = eps("ACME", 100, 10);
        on1.extend(eps("ROSSI", 100, 10));
        let mut on2 = eps("ACME", 110, 10);
        on2.extend(eps("ROMANO", 100, 10));
        on2.push("reception".into());
        let res = push(&app, &voip1, "voip1", helpers::pjsip_contacts(&on1), "pjsip-contacts").await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.json()["registered"], 20);
        // chan_sip output for voip2, recognised without ?format= from its header.
        let mut peers = String::from(
            "Name/username             Host                                    Dyn Forcerport Comedia    ACL Port     Status      Description\n",
        );
        for e in &on2 {
            peers.push_str(&format!(
                "{e}/{e} 198.51.100.20 D  Auto (No)  Auto (No)  A  5060     OK (12 ms)\n"
            ));
        }
        peers.push_str("offline-ROMANO/offline-ROMANO (Unspecified) D  Auto (No)  Auto (No)  A  0        UNKNOWN\n");
        peers.push_str(&format!(
            "{} sip peers [Monitored: {} online, 1 offline Unmonitored: 0 online, 0 offline]\n",
            on2.len() + 1,
            on2.len()
        ));
        let req = axum::http::Request::post("/api/v1/servers/voip2/registrations")
            .header("content-type", "text/plain")
            .body(axum::body::Body::from(peers))
            .unwrap();
        let res = voip2.send(&app, req).await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(
            res.json()["registered"],
            21,
            "the unregistered peer is not a phone here"
        );
        assert_eq!(res.json()["unmatched"], 1);

        let reader = app.token_client("grafana", "read").await;
        let stats = reader
            .json(&app, "GET", "/api/v1/servers/stats", None)
            .await
            .json();
        let get = |name: &str| {
            stats
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["server"] == name)
                .unwrap()
                .clone()
        };
        assert_eq!(get("voip1")["registered"], 20);
        assert_eq!(get("voip1")["home"], 20);
        assert_eq!(get("voip2")["registered"], 21);
        assert_eq!(
            get("voip2")["away"],
            10,
            "ACME's ten phones are away from voip1"
        );
        assert_eq!(get("voip2")["unmatched"], 1);
        assert!(get("voip1")["last_report_at"].is_i64());

        let acme = reader
            .json(&app, "GET", "/api/v1/tenants/ACME", None)
            .await
            .json();
        let split = &acme["registrations"]["placement"];
        assert_eq!(split["away_phones"], 10);
        assert_eq!(split["status"], "split");
        assert_eq!(split["home_servers"], serde_json::json!(["voip1"]));
        assert_eq!(acme["registrations"]["home"], "voip1");
        let rossi = reader
            .json(&app, "GET", "/api/v1/tenants/ROSSI", None)
            .await
            .json();
        assert_eq!(rossi["registrations"]["placement"]["status"], "at_home");

        let alerts = reader
            .json(&app, "GET", "/api/v1/alerts?kind=tenant_split", None)
            .await
            .json();
        let alerts = alerts["rows"].as_array().unwrap();
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert!(alerts[0]["summary"].as_str().unwrap().contains("ACME"));
        assert!(
            alerts[0]["why"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("transfer")
        );
        let unmatched = reader
            .json(&app, "GET", "/api/v1/alerts?kind=unmatched", None)
            .await
            .json();
        assert!(unmatched.to_string().contains("reception"));
        let bad = reader
            .json(&app, "GET", "/api/v1/alerts?severity=loud", None)
            .await;
        assert_eq!(bad.status, 400);

        let overview = app.get("/").await;
        assert_eq!(overview.status, 200);
        assert!(
            overview.body.contains("Tenant ACME is split"),
            "{}",
            overview.body
        );
        let page = app.get("/alerts?tenant=ACME").await;
        assert!(
            page.body.contains("href=\"/tenants/ACME\""),
            "alerts link their objects"
        );
        let tenant = app
            .get(&format!(
                "/tenants/{}",
                app.store().tenant_by_code("ACME").await.unwrap().code
            ))
            .await;
        assert!(tenant.body.contains("Phones away from home") && tenant.body.contains("110-ACME"));
        let server = app
            .get(&format!(
                "/servers/{}",
                app.store().server_by_name("voip2").await.unwrap().name
            ))
            .await;
        assert!(server.body.contains("reception") && server.body.contains("away"));
        let metrics = Client::anonymous().get(&app, "/metrics").await;
        assert_eq!(metrics.status, 200);
        assert!(
            metrics
                .body
                .contains("pbx_pools_server_phones{server=\"voip1\"} 20"),
            "{}",
            metrics.body
        );
        assert!(
            metrics
                .body
                .contains("pbx_pools_alerts{kind=\"tenant_split\",severity=\"warning\"} 1")
        );
    })
    .await;
}

#[tokio::test]
async fn a_malformed_dump_is_refused_whole_and_the_previous_picture_stays() {
    helpers::each_backend(|app: TestApp| async move {
        build_cluster(&app).await;
        let voip1 = app.token_client("voip1-cron", "ingest:voip1").await;
        let res = push(
            &app,
            &voip1,
            "voip1",
            helpers::pjsip_contacts(eps("ACME", 100, 10)),
            "pjsip-contacts",
        )
        .await;
        assert_eq!(res.status, 200);
        // Truncated: the footer promises more rows than there are.
        let mut truncated = helpers::pjsip_contacts(eps("ACME", 100, 5));
        truncated = truncated.replace("Objects found: 5", "Objects found: 9");
        let res = push(&app, &voip1, "voip1", truncated, "pjsip-contacts").await;
        assert_eq!(res.status, 400);
        assert_eq!(res.content_type, "application/problem+json");
        assert!(
            res.json()["detail"].as_str().unwrap().contains("line"),
            "{}",
            res.body
        );
        // Garbage in the middle names its line.
        let mut garbage = helpers::pjsip_contacts(eps("ACME", 100, 3));
        garbage = garbage.replacen(
            "  Contact:  101-ACME",
            "this is not a contact row\n  Contact:  101-ACME",
            1,
        );
        let res = push(&app, &voip1, "voip1", garbage, "pjsip-contacts").await;
        assert_eq!(res.status, 400);
        assert!(res.body.contains("line 6"), "{}", res.body);
        let res = push(&app, &voip1, "voip1", "{not json".into(), "json").await;
        assert_eq!(res.status, 400);
        let res = push(&app, &voip1, "voip1", "whatever".into(), "carrier-pigeon").await;
        assert_eq!(res.status, 400);
        let reader = app.token_client("r", "read").await;
        let stats = reader
            .json(&app, "GET", "/api/v1/servers/stats", None)
            .await
            .json();
        assert_eq!(stats[0]["registered"], 10, "the previous picture is intact");
        let snaps = app.store().latest_snapshots().await.unwrap();
        assert_eq!(snaps.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn phones_that_keep_moving_are_flapping() {
    helpers::each_backend(|app: TestApp| async move {
        build_cluster(&app).await;
        let voip1 = app.token_client("voip1-cron", "ingest:voip1").await;
        let voip2 = app.token_client("voip2-cron", "ingest:voip2").await;
        let phone = vec!["100-ACME".to_string()];
        for (client, server) in [
            (&voip1, "voip1"),
            (&voip2, "voip2"),
            (&voip1, "voip1"),
            (&voip2, "voip2"),
        ] {
            // The other server's next report no longer lists the phone.
            let other = if server == "voip1" {
                ("voip2", &voip2)
            } else {
                ("voip1", &voip1)
            };
            push(
                &app,
                other.1,
                other.0,
                helpers::pjsip_contacts(&[] as &[&str]),
                "pjsip-contacts",
            )
            .await;
            let res = push(
                &app,
                client,
                server,
                helpers::pjsip_contacts(&phone),
                "pjsip-contacts",
            )
            .await;
            assert_eq!(res.status, 200, "{}", res.body);
        }
        let acme = app.store().tenant_by_code("ACME").await.unwrap();
        let moves = app.store().tenant_moves(acme.id, 10).await.unwrap();
        assert_eq!(moves.len(), 3, "{moves:?}");
        let reader = app.token_client("r", "read").await;
        // A known tenant's flapping phone is a facet of that tenant's one alert.
        let alerts = reader
            .json(&app, "GET", "/api/v1/alerts?tenant=ACME", None)
            .await
            .json();
        let acme_alert = alerts["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["objects"][0]["name"] == "ACME")
            .unwrap_or_else(|| panic!("no alert about ACME in {alerts}"));
        let flapping = acme_alert["facets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == "flapping")
            .unwrap_or_else(|| panic!("no flapping facet in {acme_alert}"));
        assert!(flapping.to_string().contains("100-acme"), "{flapping}");
    })
    .await;
}

#[tokio::test]
async fn the_upload_form_stores_a_pasted_csv_dump() {
    helpers::each_backend(|app: TestApp| async move {
        build_cluster(&app).await;
        let csv = "endpoint,tenant,contact,user_agent,status\n100-ACME,,sip:100-ACME@192.0.2.1,Yealink,Avail\nfront-desk,ROSSI,sip:fd@192.0.2.2,Snom,Avail\n";
        let boundary = "BOUNDARY";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"server\"\r\n\r\nvoip1\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\ncsv\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"dump\"\r\n\r\n{csv}\r\n--{boundary}--\r\n"
        );
        let req = axum::http::Request::post("/registrations")
            .header("x-csrf-token", app.admin.csrf())
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(axum::body::Body::from(body))
            .unwrap();
        let res = app.admin.send(&app, req).await;
        assert_eq!(res.status, 303, "{}", res.body);
        let page = app.get("/registrations").await;
        assert!(
            page.body.contains("2 phones registered, 2 matched"),
            "{}",
            page.body
        );
        let rossi = app.store().tenant_by_code("ROSSI").await.unwrap();
        assert_eq!(
            app.store()
                .tenant_phones_by_server(rossi.id)
                .await
                .unwrap()
                .values()
                .sum::<u64>(),
            1,
            "explicit tenant column wins"
        );
    })
    .await;
}

#[tokio::test]
async fn settings_are_validated_and_the_rule_tester_shows_matches() {
    helpers::each_backend(|app: TestApp| async move {
        let page = app
            .get("/settings?rule=%5E(%3FP%3Ctenant%3E%5Cd%2B)-&samples=100-ACME%0Abob")
            .await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("<code>100-ACME</code></td><td>100</td>"),
            "{}",
            page.body
        );
        let mut form = vec![
            ("version", "0"),
            ("normal_away_pct", "15"),
            ("capacity_warning_pct", "85"),
            ("stale_after_minutes", "10"),
            ("flap_moves", "4"),
            ("flap_window_minutes", "30"),
            ("failback_after_minutes", "20"),
            ("tenant_rule", "(unclosed"),
            ("retention_days", "7"),
            ("dns_check_minutes", "5"),
            ("dns_nameservers", ""),
            ("dns_timeout_ms", "2000"),
            ("dns_attempts", "2"),
        ];
        let res = app.post_form("/settings", &form).await;
        assert_eq!(res.status, 422);
        assert!(res.body.contains("id=\"tenant_rule-error\""));
        assert_eq!(app.store().settings().await.unwrap().1, 0, "nothing saved");
        form[7] = ("tenant_rule", r"^\d+-(?P<tenant>[A-Za-z]+)$");
        let res = app.post_form("/settings", &form).await;
        assert_eq!(res.status, 303, "{}", res.body);
        let (s, version) = app.store().settings().await.unwrap();
        assert_eq!(version, 1);
        assert_eq!(s.alerts.normal_away_share, 0.15);
        assert_eq!(s.alerts.flap_moves, 4);
        let stale = app.post_form("/settings", &form).await;
        assert_eq!(stale.status, 409, "version 0 is stale now");
    })
    .await;
}

#[tokio::test]
async fn the_demo_shows_every_alert_kind() {
    helpers::each_backend(|app: TestApp| async move {
        app.store()
            .load_demo(&source_document_cluster(), "demo")
            .await
            .unwrap();
        app.store()
            .load_demo_registrations(&source_document_rounds(), 7200)
            .await
            .unwrap();
        let reader = app.token_client("r", "read").await;
        let alerts = reader
            .json(&app, "GET", "/api/v1/alerts?per_page=200", None)
            .await
            .json();
        // Kinds of the alerts and of their facets (a tenant's split, failback lag and flapping
        // phones are facets of its one alert).
        let kinds: std::collections::BTreeSet<String> = alerts["rows"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|a| {
                std::iter::once(a["kind"].as_str().unwrap().to_string()).chain(
                    a["facets"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| f["kind"].as_str().unwrap().to_string()),
                )
            })
            .collect();
        for kind in [
            "tenant_split",
            "pool_drift",
            "outside_pool",
            "capacity_n1",
            "pool_lint",
            "tenant_no_pool",
            "tenant_no_phones",
            "unmatched",
            "flapping",
            "failback_lag",
            "stale_snapshot",
        ] {
            assert!(kinds.contains(kind), "{kind} missing from {kinds:?}");
        }
        let canistracci = reader
            .json(&app, "GET", "/api/v1/tenants/CANISTRACCI", None)
            .await
            .json();
        assert_eq!(canistracci["registrations"]["placement"]["away_phones"], 24);
        // CANISTRACCI: one alert, its split with its lagging phones as facets.
        let about: Vec<&serde_json::Value> = alerts["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["objects"][0]["name"] == "CANISTRACCI")
            .collect();
        assert_eq!(about.len(), 1, "{about:?}");
        let facets: Vec<&str> = about[0]["facets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["kind"].as_str().unwrap())
            .collect();
        assert_eq!(facets, ["tenant_split", "failback_lag"]);
    })
    .await;
}

#[tokio::test]
async fn the_tenants_list_shows_and_filters_where_phones_are() {
    helpers::each_backend(|app: TestApp| async move {
        build_cluster(&app).await;
        let voip1 = app.token_client("voip1-cron", "ingest:voip1").await;
        let voip2 = app.token_client("voip2-cron", "ingest:voip2").await;
        // ACME split 10/10 over voip1 (home) and voip2; ROSSI whole on voip1 (home); ROMANO whole
        // on voip2 (its pool pbxB's home).
        let mut on1 = eps("ACME", 100, 10);
        on1.extend(eps("ROSSI", 100, 10));
        let mut on2 = eps("ACME", 110, 10);
        on2.extend(eps("ROMANO", 100, 7));
        for (client, server, list) in [(&voip1, "voip1", &on1), (&voip2, "voip2", &on2)] {
            let res = push(
                &app,
                client,
                server,
                helpers::pjsip_contacts(list),
                "pjsip-contacts",
            )
            .await;
            assert_eq!(res.status, 200, "{}", res.body);
        }
        let listed = |body: &str| -> Vec<&'static str> {
            ["ACME", "ROSSI", "ROMANO"]
                .into_iter()
                .filter(|code| body.contains(&format!(">{code}</a>")))
                .collect()
        };
        let all = app.get("/tenants").await;
        assert_eq!(all.status, 200);
        assert_eq!(listed(&all.body), ["ACME", "ROSSI", "ROMANO"]);
        // The columns: ROMANO's 7 registered phones, none away, at home; ACME's 10 away, split.
        assert!(
            all.body.contains(
                "<td class=\"num\">7</td><td class=\"num\">0</td>\n      <td>at home</td>"
            ),
            "{}",
            all.body
        );
        assert!(all.body.contains("<span class=\"bad\">split</span>"));

        for (query, expected) in [
            ("status=split", vec!["ACME"]),
            ("status=off_home", vec!["ACME"]),
            ("status=at_home", vec!["ROSSI", "ROMANO"]),
            ("server=voip2", vec!["ACME", "ROMANO"]),
            ("server=VOIP2&status=at_home", vec!["ROMANO"]),
            ("status=no_phones", vec![]),
        ] {
            let page = app.get(&format!("/tenants?{query}")).await;
            assert_eq!(page.status, 200, "{query}");
            assert_eq!(listed(&page.body), expected, "{query}");
        }
        // The pager keeps the placement filters.
        let page = app.get("/tenants?status=at_home&per_page=1").await;
        assert!(page.body.contains("status=at_home"), "{}", page.body);

        let bad = app.get("/tenants?status=sideways").await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("status"), "{}", bad.body);
        assert_eq!(app.get("/tenants?server=voip9").await.status, 404);
    })
    .await;
}
