//! The rebalance planner through the page, the API and the command line.

use pbx_pools::domain::demo::source_document_cluster;
use pbx_pools::domain::model::NewTenant;
use pbx_pools::domain::names::TenantCode;
use serde_json::json;

use crate::helpers::{self, TestApp};

async fn load_demo(app: &TestApp) {
    app.store()
        .load_demo(&source_document_cluster(), "demo")
        .await
        .unwrap();
}

/// The demo with Settings letting the plan use the multi-primary pool `wiki`: voip1 and voip2
/// alone cannot carry pbxA and pbxB through a single failure (442 phones, 400 each), so only
/// then has the plan an overload to remove by moving tenants.
async fn load_demo_allowing_multi_primary(app: &TestApp) {
    load_demo(app).await;
    helpers::allow_multi_primary_plans(app.store()).await;
}

#[tokio::test]
async fn the_plan_fixes_the_demos_overloaded_single_failure() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo_allowing_multi_primary(&app).await;
        let reader = app.token_client("reader", "read").await;
        let before = reader
            .json(&app, "GET", "/api/v1/whatif?down=voip1", None)
            .await
            .json();
        assert_eq!(
            before["overloaded"],
            json!(["voip2"]),
            "the demo contains an N-1 overload"
        );

        let res = reader
            .json(&app, "POST", "/api/v1/plan", Some(json!({})))
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        let plan = res.json();
        assert!(plan["plan"]["before_value"].as_f64().unwrap() > 1.0);
        let value = plan["plan"]["value"].as_f64().unwrap();
        let bound = plan["plan"]["lower_bound"].as_f64().unwrap();
        assert!(value <= 1.0, "the plan removes the overload: {value}");
        assert!(bound <= value + 1e-9);
        assert!(plan["lpt_value"].as_f64().unwrap() >= value - 1e-9);
        assert!(plan["plan"]["moved_phones"].as_u64().unwrap() <= plan["budget"].as_u64().unwrap());
        let moves = plan["moves"].as_array().unwrap();
        assert!(!moves.is_empty());
        assert!(moves.iter().all(|m| m["to"] != "nowhere"));

        // A read token may compute but not apply.
        let apply = json!({"plan": plan["id"], "request": {}});
        assert_eq!(
            reader
                .json(&app, "POST", "/api/v1/plan/apply", Some(apply.clone()))
                .await
                .status,
            403
        );
        let admin = app.token_client("ops", "admin").await;
        // The plan's JSON has the impact shape every preview shares.
        assert_eq!(plan["warning_level"], 0.8);
        assert!(plan["per_server"].as_array().unwrap().iter().all(|r| {
            r["server"].is_string()
                && r["before"]["worst"].is_number()
                && r["after"]["normal"].is_number()
        }));
        // It lifts smallbox1 and smallbox2 above the warning level in their worst single failure:
        // applying needs force=1, and a dry run answers the same figures.
        let dry = admin
            .json(
                &app,
                "POST",
                "/api/v1/plan/apply?dry_run=1",
                Some(apply.clone()),
            )
            .await;
        assert_eq!(dry.status, 200, "{}", dry.body);
        // The same per-server figures; the plan adds only why it leaves a server above the
        // warning level.
        let mut per_server = plan["per_server"].clone();
        for row in per_server.as_array_mut().unwrap() {
            row.as_object_mut().unwrap().remove("above_warning");
        }
        assert_eq!(dry.json()["per_server"], per_server);
        let res = admin
            .json(&app, "POST", "/api/v1/plan/apply", Some(apply.clone()))
            .await;
        assert_eq!(res.status, 409, "{}", res.body);
        assert!(
            res.body.contains("smallbox1 goes above the warning level"),
            "{}",
            res.body
        );
        let res = admin
            .json(&app, "POST", "/api/v1/plan/apply?force=1", Some(apply))
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.json()["moved"].as_u64().unwrap(), moves.len() as u64);
        let after = reader
            .json(&app, "GET", "/api/v1/whatif?down=voip1", None)
            .await
            .json();
        assert_eq!(
            after["overloaded"],
            json!([]),
            "no single failure overloads a server any more"
        );
        let (entries, _) = app
            .store()
            .audit_entries(&pbx_pools::store::AuditQuery {
                actor: Some("token:ops".into()),
                per_page: 50,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(entries.len(), moves.len());
        assert!(
            entries
                .iter()
                .all(|e| e.action == format!("plan {}", plan["id"].as_str().unwrap())),
            "audit names the plan"
        );
    })
    .await;
}

#[tokio::test]
async fn a_plan_computed_on_data_that_changed_since_is_refused() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo_allowing_multi_primary(&app).await;
        let page = app.get("/plan?run=1").await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("Apply the selected moves"),
            "{}",
            page.body
        );
        let id = {
            let marker = "name=\"plan\" value=\"";
            let start = page.body.find(marker).unwrap() + marker.len();
            page.body[start..start + 12].to_string()
        };
        let first_move = {
            let marker = "name=\"move\" value=\"";
            let start = page.body.find(marker).unwrap() + marker.len();
            let end = page.body[start..].find('"').unwrap() + start;
            page.body[start..end].to_string()
        };
        // Someone moves a tenant meanwhile.
        let rossi = app.store().tenant_by_code("ROSSI").await.unwrap();
        app.store()
            .assign_tenant(rossi.id, rossi.version, rossi.pool_id, "someone")
            .await
            .unwrap();
        let before = app.store().tenant_by_code(&first_move).await.unwrap();
        let res = app
            .post_form(
                "/plan/apply",
                &[
                    ("plan", &id),
                    ("budget_pct", "30"),
                    ("counts", "expected"),
                    ("pins", ""),
                    ("move", &first_move),
                ],
            )
            .await;
        assert_eq!(res.status, 409, "{}", res.body);
        assert!(res.body.contains("changed since plan"), "{}", res.body);
        assert_eq!(
            app.store()
                .tenant_by_code(&first_move)
                .await
                .unwrap()
                .pool_id,
            before.pool_id,
            "nothing applied"
        );

        // Recomputed, one chosen move applies alone.
        let page = app.get("/plan?run=1").await;
        let marker = "name=\"plan\" value=\"";
        let start = page.body.find(marker).unwrap() + marker.len();
        let id = page.body[start..start + 12].to_string();
        let res = app
            .post_form(
                "/plan/apply",
                &[
                    ("plan", &id),
                    ("budget_pct", "30"),
                    ("counts", "expected"),
                    ("pins", ""),
                    ("move", &first_move),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_ne!(
            app.store()
                .tenant_by_code(&first_move)
                .await
                .unwrap()
                .pool_id,
            before.pool_id
        );
    })
    .await;
}

#[tokio::test]
async fn pins_budget_and_bad_parameters() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo_allowing_multi_primary(&app).await;
        let reader = app.token_client("reader", "read").await;
        let none = reader
            .json(
                &app,
                "POST",
                "/api/v1/plan",
                Some(json!({"budget_pct": 0.0})),
            )
            .await
            .json();
        assert_eq!(
            none["plan"]["moved_phones"], 0,
            "a zero budget moves nothing"
        );
        let all = reader
            .json(&app, "POST", "/api/v1/plan", Some(json!({})))
            .await
            .json();
        let moved: Vec<String> = all["moves"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| !m["from"].is_null())
            .map(|m| m["tenant"].as_str().unwrap().to_string())
            .collect();
        assert!(!moved.is_empty());
        let res = reader
            .json(&app, "POST", "/api/v1/plan", Some(json!({"pins": moved})))
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        let pinned = res.json();
        for m in pinned["moves"].as_array().unwrap() {
            assert!(
                !moved.contains(&m["tenant"].as_str().unwrap().to_string()),
                "pinned tenants never move"
            );
        }
        for bad in [
            json!({"budget_pct": 150.0}),
            json!({"counts": "guessed"}),
            json!({"pins": ["NOSUCH"]}),
        ] {
            let res = reader
                .json(&app, "POST", "/api/v1/plan", Some(bad.clone()))
                .await;
            assert_eq!(res.status, 400, "{bad}: {}", res.body);
        }
        let page = app.get("/plan?run=1&budget_pct=abc").await;
        assert_eq!(page.status, 422);
    })
    .await;
}

#[tokio::test]
async fn the_command_prints_and_applies_a_plan() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo_allowing_multi_primary(&app).await;
        let url = app.db.url.clone();
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_pbx-pools"))
                .args(["plan", "--database-url", &url, "--apply", "--force"])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("applied plan"), "{text}");
        let reader = app.token_client("reader", "read").await;
        let after = reader
            .json(&app, "GET", "/api/v1/whatif?down=voip1", None)
            .await
            .json();
        assert_eq!(after["overloaded"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn the_demo_plan_no_longer_moves_tenants_into_wiki_by_default() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let reader = app.token_client("reader", "read").await;
        // Every tenant placed (so that the plan has moves: GALLO has no pool yet).
        let res = reader
            .json(
                &app,
                "POST",
                "/api/v1/plan",
                Some(json!({"place_all": true})),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        let plan = res.json();
        let moves = plan["moves"].as_array().unwrap();
        assert!(!moves.is_empty());
        assert!(
            moves.iter().all(|m| m["to"] != "wiki"),
            "no tenant goes into the multi-primary pool: {moves:?}"
        );
        // By default GALLO finds no room under the warning level outside wiki: not placed.
        let default = reader
            .json(&app, "POST", "/api/v1/plan", Some(json!({})))
            .await
            .json();
        assert!(
            default["moves"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["to"] != "wiki")
        );
        assert_eq!(default["not_placed"][0]["tenant"], "GALLO", "{default}");
        let closed = plan["closed_pools"].as_array().unwrap();
        let wiki = closed
            .iter()
            .find(|c| c["pool"] == "wiki")
            .expect("wiki is listed as closed");
        assert!(
            wiki["reason"].as_str().unwrap().contains("multi-primary"),
            "{wiki}"
        );
        assert_eq!(plan["multi_primary_allowed"], false);
        let page = app.get("/plan?run=1").await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("Pools that receive no tenants"),
            "{}",
            page.body
        );
        assert!(page.body.contains("<strong>wiki</strong>: multi-primary"));

        // Allowed in Settings, wiki takes tenants again, and each such move says its split.
        let (mut settings, version) = app.store().settings().await.unwrap();
        settings.plan_multi_primary = true;
        app.store()
            .save_settings(&settings, version, "test")
            .await
            .unwrap();
        let plan = reader
            .json(&app, "POST", "/api/v1/plan", Some(json!({})))
            .await
            .json();
        assert_eq!(plan["multi_primary_allowed"], true);
        assert!(
            plan["closed_pools"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["pool"] != "wiki")
        );
        let into_wiki: Vec<_> = plan["moves"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["to"] == "wiki")
            .collect();
        assert!(!into_wiki.is_empty(), "{}", plan["moves"]);
        for m in into_wiki {
            let split = m["split_share"]
                .as_f64()
                .expect("split share of a move into wiki");
            assert!((split - 0.4).abs() < 1e-9, "60% primary: {split}");
        }
    })
    .await;
}

#[tokio::test]
async fn the_plan_page_says_what_it_could_not_fix_in_plain_words() {
    helpers::each_backend(|app: TestApp| async move {
        // By default wiki is closed: voip1 and voip2 alone carry pbxA and pbxB (409 phones, 400
        // each; GALLO, without a pool, is not placed there), so no plan keeps them under the
        // warning level through a failure.
        load_demo(&app).await;
        let page = app.get("/plan?run=1").await;
        assert_eq!(page.status, 200);
        let body = &page.body;
        assert!(body.contains("What the plan could not fix"), "{body}");
        assert!(
            body.contains("voip1 and voip2 together carry more than either can hold alone: voip1 carries 409 phones while voip2 is down, more than the 320 it holds under the warning level; and voip2 carries 409 phones while voip1 is down"),
            "{body}"
        );
        assert!(body.contains("The cluster lacks failover headroom"), "{body}");
        assert!(body.contains("No plan can do better than 102.2%"), "{body}");
        assert!(body.contains("GALLO"), "{body}");
        for jargon in ["lower bound", "gap", "LPT"] {
            assert!(!body.contains(jargon), "{jargon} on the page: {body}");
        }
    })
    .await;
}

#[tokio::test]
async fn the_json_says_what_the_plan_could_not_fix_and_whether_it_is_forced() {
    helpers::each_backend(|app: TestApp| async move {
        // wiki closed: voip1 and voip2 alone carry pbxA and pbxB through a failure.
        load_demo(&app).await;
        let reader = app.token_client("reader", "read").await;
        let res = reader
            .json(&app, "POST", "/api/v1/plan", Some(json!({})))
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        let plan = res.json();
        let entries = plan["could_not_fix"].as_array().unwrap();
        let pair = entries
            .iter()
            .find(|c| c["servers"].as_array().unwrap().contains(&json!("voip2")))
            .unwrap_or_else(|| panic!("voip2 is diagnosed: {entries:?}"));
        let servers: Vec<&str> = pair["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert!(servers.contains(&"voip1"), "{pair}");
        let reason = pair["reason"].as_str().unwrap();
        assert!(
            reason.contains("together carry more than either can hold alone")
                && reason.ends_with("add capacity or a third server"),
            "{reason}"
        );
        // 409 phones under 80% need 512 phones of capacity on each (400): 112 missing each.
        assert_eq!(pair["capacity_missing_phones"], 224, "{pair}");
        assert_eq!(pair["forced"], true, "{pair}");
        let total: u64 = entries
            .iter()
            .map(|c| c["capacity_missing_phones"].as_u64().unwrap())
            .sum();
        assert_eq!(plan["capacity_missing_phones"].as_u64().unwrap(), total);

        // Per server: voip2 is above the warning level whatever the plan, with its floor.
        let per_server = plan["per_server"].as_array().unwrap();
        let voip2 = per_server.iter().find(|s| s["server"] == "voip2").unwrap();
        let above = &voip2["above_warning"];
        assert_eq!(above["forced"], true, "{voip2}");
        assert!(
            above["why"].as_str().unwrap().contains("certified"),
            "{above}"
        );
        assert!(above["floor"].as_f64().unwrap() > plan["warning_level"].as_f64().unwrap());
        // Servers the plan leaves under the warning level carry no such member.
        for s in per_server {
            let worst = s["after"]["worst"].as_f64().unwrap_or(0.0);
            let normal = s["after"]["normal"].as_f64().unwrap_or(0.0);
            if worst.max(normal) <= plan["warning_level"].as_f64().unwrap() {
                assert!(s.get("above_warning").is_none(), "{s}");
            }
        }
        let cells = &plan["cells_above"];
        assert!(cells["forced"].as_u64().unwrap() >= 1, "{cells}");
        assert!(cells["forced"].as_u64().unwrap() <= cells["after"].as_u64().unwrap());

        let page = app.get("/plan?run=1").await;
        assert!(
            page.body
                .contains("together carry more than either can hold alone")
        );
        assert!(
            page.body.contains("<strong>forced</strong>"),
            "{}",
            page.body
        );
    })
    .await;
}

#[tokio::test]
async fn tenants_without_a_pool_go_only_where_there_is_room_under_the_warning_level() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        for (code, phones) in [("HUGE", 5_000), ("TINY", 1)] {
            app.store()
                .create_tenant(
                    &NewTenant {
                        code: TenantCode::parse(code).unwrap(),
                        name: format!("{code} Srl"),
                        expected_phones: phones,
                        pool_id: None,
                        notes: String::new(),
                    },
                    "test",
                )
                .await
                .unwrap();
        }
        let reader = app.token_client("reader", "read").await;
        let plan = reader
            .json(&app, "POST", "/api/v1/plan", Some(json!({})))
            .await
            .json();
        let not_placed = plan["not_placed"].as_array().unwrap();
        let huge = not_placed
            .iter()
            .find(|n| n["tenant"] == "HUGE")
            .unwrap_or_else(|| panic!("{not_placed:?}"));
        assert_eq!(huge["phones"], 5_000);
        assert_eq!(
            huge["reason"],
            "not placed: no pool has room under the warning level"
        );
        assert!(huge["capacity_missing_phones"].as_u64().unwrap() >= 5_000);
        let moves = plan["moves"].as_array().unwrap();
        assert!(moves.iter().all(|m| m["tenant"] != "HUGE"), "{moves:?}");

        let page = app.get("/plan?run=1").await;
        assert!(page.body.contains("Tenants not placed"), "{}", page.body);
        assert!(
            page.body
                .contains("not placed: no pool has room under the warning level")
        );

        // The old behaviour on request: every tenant gets a pool.
        let all = reader
            .json(
                &app,
                "POST",
                "/api/v1/plan",
                Some(json!({"place_all": true})),
            )
            .await
            .json();
        assert_eq!(all["not_placed"], json!([]));
        let huge_move = all["moves"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["tenant"] == "HUGE")
            .expect("placed with place_all");
        assert_eq!(huge_move["from"], json!(null));
        assert_ne!(all["id"], plan["id"], "the option is part of the plan's id");
        let page = app.get("/plan?run=1&place_all=1").await;
        assert!(!page.body.contains("Tenants not placed"));
    })
    .await;
}
