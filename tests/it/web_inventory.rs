//! The inventory pages over HTTP: create a server, a pool with members and tenants, assign and
//! bulk-assign them; bad input is refused next to its field and stores nothing; stale edits get 409.

use crate::helpers::{self, TestApp};
use pbx_pools::domain::ids::ServerId;

async fn create_server(app: &TestApp, name: &str) -> ServerId {
    let res = app
        .post_form(
            "/servers",
            &[
                ("name", name),
                ("host", &format!("{name}.example.com")),
                ("sip_port", "5060"),
                ("capacity", "400"),
                ("site", ""),
                ("state", "active"),
            ],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    app.store().server_by_name(name).await.unwrap().id
}

#[tokio::test]
async fn admin_builds_a_cluster_through_the_forms() {
    helpers::each_backend(|app: TestApp| async move {
        let v1 = create_server(&app, "voip1").await;
        let v2 = create_server(&app, "voip2").await;

        let res = app
            .post_form(
                "/pools",
                &[
                    ("name", "pbxA"),
                    ("srv_name", "PBXA.example.com."),
                    ("ttl", "3600"),
                    ("transport", "udp"),
                    ("transport", "tls"),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        let pool = app.store().pool_by_name("pbxA").await.unwrap();
        assert_eq!(pool.srv_name, "pbxa.example.com");
        assert_eq!(
            res.location.as_deref(),
            Some(format!("/pools/{}/members", pool.name).as_str())
        );

        let res = app
            .post_form(
                &format!("/pools/{}/members", pool.name),
                &[
                    ("version", &pool.version.to_string()),
                    ("server", "voip1"),
                    ("priority", "10"),
                    ("weight", "10"),
                    ("port", ""),
                    ("server", "voip2"),
                    ("priority", "20"),
                    ("weight", "10"),
                    ("port", ""),
                    ("server", "voip2"),
                    ("priority", "20"),
                    ("weight", "5"),
                    ("port", "5066"),
                    ("server", ""),
                    ("priority", ""),
                    ("weight", ""),
                    ("port", ""),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        let pool = app.store().pool(pool.id).await.unwrap();
        let members: Vec<_> = pool
            .members
            .iter()
            .map(|m| (m.server_id, m.priority, m.weight, m.effective_port))
            .collect();
        assert_eq!(
            members,
            vec![(v1, 10, 10, 5060), (v2, 20, 10, 5060), (v2, 20, 5, 5066)]
        );

        // The flash message survives the redirect and shows on the next page, once.
        let to = res.location.expect("the save redirects");
        assert_eq!(to, format!("/pools/{}", pool.name));
        let flash = "Members of pool pbxA saved (3 records).";
        let detail = app.get(&to).await;
        assert_eq!(detail.status, 200);
        assert!(detail.body.contains("voip2.example.com"));
        assert!(
            detail
                .body
                .contains(&format!(r#"<p class="flash" role="status">{flash}</p>"#)),
            "no flash {flash:?} on the page after the redirect: {}",
            detail.body
        );
        let again = app.get(&to).await;
        assert_eq!(again.status, 200);
        assert!(
            !again.body.contains(flash) && !again.body.contains(r#"class="flash""#),
            "the flash is shown a second time: {}",
            again.body
        );

        let res = app
            .post_form(
                "/tenants",
                &[
                    ("code", "CANISTRACCI"),
                    ("name", "Canistracci Trasporti"),
                    ("expected_phones", "48"),
                    ("pool", ""),
                    ("notes", ""),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        let t = app.store().tenant_by_code("CANISTRACCI").await.unwrap();
        assert_eq!(t.pool_id, None);
        let res = app
            .post_form(
                &format!("/tenants/{}/assign", t.code),
                &[("version", &t.version.to_string()), ("pool", "pbxA")],
            )
            .await;
        assert_eq!(res.status, 303);
        assert_eq!(
            app.store().tenant(t.id).await.unwrap().pool_name.as_deref(),
            Some("pbxA")
        );

        // Ten tenants, bulk-assigned in one request.
        let mut ids = Vec::new();
        for i in 0..10 {
            let code = format!("BULK{i}");
            let res = app
                .post_form(
                    "/tenants",
                    &[
                        ("code", &code),
                        ("name", "Bulk Srl"),
                        ("expected_phones", "5"),
                    ],
                )
                .await;
            assert_eq!(res.status, 303, "{}", res.body);
            let t = app.store().tenant_by_code(&code).await.unwrap();
            ids.push(format!("{}:{}", t.id, t.version));
        }
        let mut form: Vec<(&str, &str)> = ids.iter().map(|id| ("tenant", id.as_str())).collect();
        form.push(("pool", "pbxA"));
        form.push(("return", "/tenants?q=bulk"));
        let res = app.post_form("/tenants/bulk-assign", &form).await;
        assert_eq!(res.status, 303);
        assert_eq!(res.location.as_deref(), Some("/tenants?q=bulk"));
        let list = app.get("/tenants?pool=pbxA&per_page=50").await;
        assert_eq!(list.status, 200);
        assert!(list.body.contains("11 tenants"), "{}", list.body);
        for i in 0..10 {
            assert!(list.body.contains(&format!("BULK{i}")));
        }
        // The same selection again, from the list as it was before the move: every row is stale, so
        // nothing moves and the refusal names the tenants that changed.
        let mut stale: Vec<(&str, &str)> = ids.iter().map(|id| ("tenant", id.as_str())).collect();
        stale.push(("pool", "-"));
        let res = app.post_form("/tenants/bulk-assign", &stale).await;
        assert_eq!(res.status, 409, "{}", res.body);
        assert!(
            res.body.contains("BULK0") && res.body.contains("BULK9"),
            "{}",
            res.body
        );
        let list = app.get("/tenants?pool=pbxA&per_page=50").await;
        assert!(
            list.body.contains("11 tenants"),
            "nothing moved: {}",
            list.body
        );

        // Every page renders with this data.
        for path in [
            "/",
            "/servers",
            "/pools",
            "/tenants",
            "/audit",
            "/servers/voip1",
            &format!("/tenants/{}", t.code),
            &format!("/pools/{}/members", pool.name),
            "/tenants?sort=phones&dir=desc&page=1",
        ] {
            let res = app.get(path).await;
            assert_eq!(res.status, 200, "{path}: {}", res.body);
        }
        let audit = app.get("/audit?kind=tenant&object=CANISTRACCI").await;
        assert!(
            audit.body.contains("assign"),
            "the assignment is in the audit log"
        );
    })
    .await;
}

/// Each form refuses bad input with the field's error, keeps what was typed, and stores nothing.
#[tokio::test]
async fn bad_input_is_refused_next_to_its_field_and_stores_nothing() {
    helpers::each_backend(|app: TestApp| async move {
        create_server(&app, "voip1").await;
        let audit_before = app
            .store()
            .audit_entries(&Default::default())
            .await
            .unwrap()
            .1;

        let res = app
            .post_form(
                "/servers",
                &[
                    ("name", "voip 2"),
                    ("host", "voip2.example.com\n@ IN NS evil."),
                    ("sip_port", "70000"),
                    ("capacity", "lots"),
                    ("state", "asleep"),
                ],
            )
            .await;
        assert_eq!(res.status, 422);
        for field in ["name", "host", "sip_port", "capacity", "state"] {
            assert!(
                res.body.contains(&format!("id=\"{field}-error\"")),
                "no error shown for {field}"
            );
        }
        assert!(
            res.body.contains("value=\"lots\""),
            "the typed input is kept"
        );

        let res = app
            .post_form(
                "/servers",
                &[("name", "voip1"), ("host", "other.example.com")],
            )
            .await;
        assert_eq!(res.status, 422);
        assert!(res.body.contains("already exists"));

        let res = app
            .post_form(
                "/pools",
                &[
                    ("name", "pbxA"),
                    ("srv_name", "_sip._udp.pbxa.example.com"),
                    ("ttl", "0"),
                ],
            )
            .await;
        assert_eq!(res.status, 422);
        for field in ["srv_name", "ttl", "transports"] {
            assert!(
                res.body.contains(&format!("id=\"{field}-error\"")),
                "no error shown for {field}"
            );
        }

        let res = app
            .post_form(
                "/pools",
                &[
                    ("name", "pbxA"),
                    ("srv_name", "pbxa.example.com"),
                    ("transport", "udp"),
                ],
            )
            .await;
        assert_eq!(res.status, 303);
        let pool = app.store().pool_by_name("pbxA").await.unwrap();
        let res = app
            .post_form(
                &format!("/pools/{}/members", pool.name),
                &[
                    ("version", &pool.version.to_string()),
                    ("server", "voip1"),
                    ("priority", "10"),
                    ("weight", "10"),
                    ("port", ""),
                    ("server", "voip1"),
                    ("priority", "99999"),
                    ("weight", "1"),
                    ("port", "0"),
                    ("server", "ghost"),
                    ("priority", "1"),
                    ("weight", "1"),
                    ("port", ""),
                ],
            )
            .await;
        assert_eq!(res.status, 422);
        assert!(res.body.contains("between 0 and 65535"));
        assert!(res.body.contains("no server named"));
        assert!(
            res.body.contains("value=\"99999\""),
            "the typed cell is kept"
        );
        assert!(app.store().pool(pool.id).await.unwrap().members.is_empty());

        let res = app
            .post_form(
                "/tenants",
                &[
                    ("code", "acme-corp"),
                    ("name", ""),
                    ("expected_phones", "-1"),
                    ("pool", "nosuch"),
                ],
            )
            .await;
        assert_eq!(res.status, 422);
        for field in ["code", "name", "expected_phones", "pool"] {
            assert!(
                res.body.contains(&format!("id=\"{field}-error\"")),
                "no error shown for {field}"
            );
        }

        let res = app
            .post_form(
                "/tenants/bulk-assign",
                &[("tenant", "x1"), ("pool", "pbxA")],
            )
            .await;
        assert_eq!(res.status, 400);

        assert_eq!(app.store().servers().await.unwrap().len(), 1);
        assert_eq!(app.store().tenant_count().await.unwrap(), 0);
        let audit_after = app
            .store()
            .audit_entries(&Default::default())
            .await
            .unwrap()
            .1;
        assert_eq!(
            audit_after,
            audit_before + 1,
            "only the one valid pool was recorded"
        );
    })
    .await;
}

#[tokio::test]
async fn stale_edit_gets_409_and_keeps_the_newer_data() {
    helpers::each_backend(|app: TestApp| async move {
        let id = create_server(&app, "voip1").await;
        let fields = |cap: &'static str| {
            vec![
                ("version", "1"),
                ("name", "voip1"),
                ("host", "voip1.example.com"),
                ("sip_port", "5060"),
                ("capacity", cap),
                ("state", "active"),
            ]
        };
        let res = app.post_form("/servers/voip1", &fields("800")).await;
        assert_eq!(res.status, 303);
        let res = app.post_form("/servers/voip1", &fields("100")).await;
        assert_eq!(res.status, 409);
        assert!(res.body.contains("was changed by"), "{}", res.body);
        assert!(
            res.body.contains("value=\"100\""),
            "the admin's input is kept"
        );
        assert_eq!(app.store().server(id).await.unwrap().capacity, Some(800));

        let res = app
            .post_form("/servers/voip1/delete", &[("version", "1")])
            .await;
        assert_eq!(res.status, 409);
        assert!(app.store().server(id).await.is_ok());
    })
    .await;
}

#[tokio::test]
async fn deleting_a_server_in_a_pool_is_refused_with_a_clear_message() {
    helpers::each_backend(|app: TestApp| async move {
        let id = create_server(&app, "voip1").await;
        app.post_form(
            "/pools",
            &[
                ("name", "pbxA"),
                ("srv_name", "pbxa.example.com"),
                ("transport", "udp"),
            ],
        )
        .await;
        let pool = app.store().pool_by_name("pbxA").await.unwrap();
        app.post_form(
            &format!("/pools/{}/members", pool.name),
            &[
                ("version", "1"),
                ("server", "voip1"),
                ("priority", "10"),
                ("weight", "10"),
                ("port", ""),
            ],
        )
        .await;
        let confirm = app.get("/servers/voip1/delete").await;
        assert!(confirm.body.contains("Delete server voip1?"));
        let res = app
            .post_form("/servers/voip1/delete", &[("version", "1")])
            .await;
        assert_eq!(res.status, 409);
        assert!(res.body.contains("member of pool pbxA"), "{}", res.body);
        assert!(app.store().server(id).await.is_ok());
    })
    .await;
}

#[tokio::test]
async fn health_and_unknown_pages() {
    helpers::each_backend(|app: TestApp| async move {
        let res = app.get("/healthz").await;
        assert_eq!(res.status, 200);
        assert!(res.body.contains("\"database\":\"ok\""));
        let res = app.get("/no/such/page").await;
        assert_eq!(res.status, 404);
        assert!(res.body.contains("<html"));
        let res = app.get("/tenants/999999").await;
        assert_eq!(res.status, 404);
        assert!(res.body.contains("no tenant named"), "{}", res.body);
    })
    .await;
}

#[tokio::test]
async fn lists_sort_and_filter_with_their_state_in_the_url() {
    helpers::each_backend(|app: TestApp| async move {
        app.store()
            .load_demo(&pbx_pools::domain::demo::source_document_cluster(), "demo")
            .await
            .unwrap();
        let res = app.get("/servers?sort=capacity&dir=desc").await;
        let big = res.body.find(">bigbox<").unwrap();
        let small = res.body.find(">smallbox1<").unwrap();
        assert!(
            big < small,
            "capacity 600 before 200 when sorted descending"
        );
        assert!(
            res.body.contains("sort=capacity&#38;dir=asc"),
            "clicking again flips the order"
        );
        let res = app.get("/servers?site=Rome").await;
        assert!(res.body.contains(">bigbox<") && !res.body.contains(">voip1<"));
        let res = app.get("/servers?q=nomatch").await;
        assert!(res.body.contains("matches this filter"));
        let res = app.get("/pools?sort=phones&dir=desc").await;
        let wiki = res.body.find(">wiki<").unwrap();
        let pbxb = res.body.find(">pbxB<").unwrap();
        assert!(wiki < pbxb, "285 phones before 118");
        let res = app.get("/pools?server=bigbox").await;
        assert!(res.body.contains(">wiki<") && !res.body.contains(">pbxA<"));
        // A tenant without a pool (GALLO) sorts as the lowest pool on every backend: first
        // ascending, last descending (PostgreSQL puts NULL last ascending unless told).
        for (dir, gallo_first) in [("asc", true), ("desc", false)] {
            let res = app
                .get(&format!("/tenants?sort=pool&dir={dir}&per_page=50"))
                .await;
            assert_eq!(res.status, 200);
            let gallo = res.body.find(">GALLO<").expect("GALLO listed");
            let rossi = res.body.find(">ROSSI<").expect("ROSSI listed");
            assert_eq!(gallo < rossi, gallo_first, "sort=pool&dir={dir}");
        }
        // Destructive actions ask first.
        let t = app.token_client("cron", "read").await;
        let _ = t;
        let confirm = app.get("/tokens/cron/revoke").await;
        assert_eq!(confirm.status, 200);
        assert!(confirm.body.contains("Revoke token cron?"));
    })
    .await;
}
