//! Issue 18, parts 3 and 4 over HTTP: pages addressed by name (old ids redirect, unknown names
//! are the styled 404) and the global search, grouped by kind, on the source document's demo
//! with its registrations.

use pbx_pools::domain::demo::source_document_cluster;
use pbx_pools::domain::demo_registrations::source_document_rounds;

use crate::helpers::{self, TestApp};

async fn demo(app: &TestApp) {
    app.store()
        .load_demo(&source_document_cluster(), "demo")
        .await
        .unwrap();
    app.store()
        .load_demo_registrations(&source_document_rounds(), 7200)
        .await
        .unwrap();
}

fn assert_redirect(res: &helpers::TestResponse, to: &str) {
    assert!(
        matches!(res.status, 303 | 308),
        "{to}: status {} {}",
        res.status,
        res.body
    );
    assert_eq!(res.location.as_deref(), Some(to));
}

#[tokio::test]
async fn pages_are_addressed_by_name_and_link_by_name() {
    helpers::each_backend(|app: TestApp| async move {
        demo(&app).await;
        let page = app.get("/tenants/CANISTRACCI").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Canistracci Trasporti"));
        assert!(page.body.contains(r#"href="/tenants/CANISTRACCI/edit""#));
        assert!(
            page.body.contains(r#"href="/pools/pbxA""#),
            "its pool by name"
        );
        assert!(
            page.body.contains(r#"href="/servers/voip2""#),
            "its servers by name"
        );
        for path in [
            "/tenants/CANISTRACCI/edit",
            "/tenants/CANISTRACCI/delete",
            "/tenants/CANISTRACCI/assign?pool=pbxB",
            "/servers/voip2",
            "/servers/voip2/edit",
            "/servers/voip2/delete",
            "/pools/pbxA",
            "/pools/pbxA/edit",
            "/pools/pbxA/members",
            "/pools/pbxA/delete",
        ] {
            let res = app.get(path).await;
            assert_eq!(res.status, 200, "{path}: {}", res.body);
        }
        // Lists and the overview link by name.
        assert!(
            app.get("/tenants")
                .await
                .body
                .contains(r#"href="/tenants/CANISTRACCI""#)
        );
        assert!(
            app.get("/servers")
                .await
                .body
                .contains(r#"href="/servers/voip1""#)
        );
        assert!(
            app.get("/pools")
                .await
                .body
                .contains(r#"href="/pools/wiki""#)
        );
        let overview = app.get("/").await.body;
        assert!(overview.contains(r#"href="/servers/bigbox""#), "{overview}");
        assert!(overview.contains(r#"href="/pools/pbxB""#), "{overview}");
        // A save sends to the page by its (new) name.
        let t = app.store().tenant_by_code("ROSSI").await.unwrap();
        let version = t.version.to_string();
        let res = app
            .post_form(
                "/tenants/ROSSI",
                &[
                    ("version", version.as_str()),
                    ("code", "ROSSI2"),
                    ("name", "Studio Rossi"),
                    ("expected_phones", "12"),
                    ("pool", "pbxA"),
                ],
            )
            .await;
        assert_redirect(&res, "/tenants/ROSSI2");
        assert_eq!(app.get("/tenants/ROSSI2").await.status, 200);
    })
    .await;
}

#[tokio::test]
async fn old_ids_and_other_spellings_redirect_to_the_name() {
    helpers::each_backend(|app: TestApp| async move {
        demo(&app).await;
        let t = app.store().tenant_by_code("CANISTRACCI").await.unwrap();
        let s = app.store().server_by_name("voip2").await.unwrap();
        let p = app.store().pool_by_name("pbxA").await.unwrap();
        assert_redirect(
            &app.get(&format!("/tenants/{}", t.id)).await,
            "/tenants/CANISTRACCI",
        );
        assert_redirect(
            &app.get(&format!("/tenants/{}/edit?from=old", t.id)).await,
            "/tenants/CANISTRACCI/edit?from=old",
        );
        assert_redirect(
            &app.get("/tenants/canistracci").await,
            "/tenants/CANISTRACCI",
        );
        assert_redirect(
            &app.get(&format!("/servers/{}", s.id)).await,
            "/servers/voip2",
        );
        assert_redirect(&app.get("/servers/VOIP2").await, "/servers/voip2");
        assert_redirect(
            &app.get(&format!("/pools/{}/members", p.id)).await,
            "/pools/pbxA/members",
        );
        assert_redirect(
            &app.get("/go/tenant/CANISTRACCI").await,
            "/tenants/CANISTRACCI",
        );
        // A write to an old address acts on the object it names.
        let version = s.version.to_string();
        let res = app
            .post_form(
                &format!("/servers/{}", s.id),
                &[
                    ("version", version.as_str()),
                    ("name", "voip2"),
                    ("host", s.host.as_ref()),
                    ("sip_port", "5060"),
                    ("capacity", "321"),
                    ("state", "active"),
                ],
            )
            .await;
        assert_redirect(&res, "/servers/voip2");
        assert_eq!(app.store().server(s.id).await.unwrap().capacity, Some(321));
    })
    .await;
}

#[tokio::test]
async fn a_name_that_is_a_number_is_a_name_first() {
    helpers::each_backend(|app: TestApp| async move {
        demo(&app).await;
        let rossi = app.store().tenant_by_code("ROSSI").await.unwrap();
        let code = rossi.id.to_string();
        let res = app
            .post_form(
                "/tenants",
                &[
                    ("code", code.as_str()),
                    ("name", "Numbered Srl"),
                    ("expected_phones", "1"),
                ],
            )
            .await;
        assert_redirect(&res, &format!("/tenants/{code}"));
        let page = app.get(&format!("/tenants/{code}")).await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("Numbered Srl"),
            "the tenant named {code}"
        );
        assert!(
            !page.body.contains("Studio Rossi"),
            "not the tenant with id {code}"
        );
    })
    .await;
}

#[tokio::test]
async fn names_that_are_pages_of_their_own_are_refused() {
    helpers::each_backend(|app: TestApp| async move {
        let res = app
            .post_form(
                "/tenants",
                &[
                    ("code", "new"),
                    ("name", "New Srl"),
                    ("expected_phones", "1"),
                ],
            )
            .await;
        assert_eq!(res.status, 422, "{}", res.body);
        assert!(res.body.contains("page of its own"), "{}", res.body);
        let res = app
            .post_form(
                "/servers",
                &[("name", "import"), ("host", "import.example.com")],
            )
            .await;
        assert_eq!(res.status, 422, "{}", res.body);
        assert_eq!(app.store().tenant_count().await.unwrap(), 0);
        assert!(app.store().servers().await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn unknown_names_get_the_styled_404() {
    helpers::each_backend(|app: TestApp| async move {
        demo(&app).await;
        let tenants = app.store().tenant_count().await.unwrap();
        for (path, kind) in [
            ("/tenants/NOSUCH", "tenant"),
            ("/tenants/NOSUCH/edit", "tenant"),
            ("/tenants/999999", "tenant"),
            ("/servers/nosuch", "server"),
            ("/pools/nosuch/members", "pool"),
            ("/pools/0", "pool"),
        ] {
            let res = app.get(path).await;
            assert_eq!(res.status, 404, "{path}");
            assert!(res.content_type.starts_with("text/html"), "{path}");
            assert!(res.body.contains("<html"), "{path}: the product's page");
            assert!(
                res.body.contains(&format!("There is no {kind} named")),
                "{path}: {}",
                res.body
            );
        }
        let res = app
            .post_form("/tenants/NOSUCH/delete", &[("version", "1")])
            .await;
        assert_eq!(res.status, 404);
        assert_eq!(
            app.store().tenant_count().await.unwrap(),
            tenants,
            "nothing deleted"
        );
    })
    .await;
}

#[tokio::test]
async fn search_groups_results_by_kind_with_links() {
    helpers::each_backend(|app: TestApp| async move {
        demo(&app).await;
        // Every page carries the search box.
        assert!(app.get("/").await.body.contains(r#"action="/search""#));

        let res = app.get("/search?q=canis").await;
        assert_eq!(res.status, 200, "{}", res.body);
        let tenants = section(&res.body, "results-tenants");
        assert!(
            tenants.contains(r#"href="/tenants/CANISTRACCI""#),
            "{tenants}"
        );
        assert!(
            !res.body.contains("results-endpoints"),
            "endpoints match from their start (EXT-CODE)"
        );
        let res = app.get("/search?q=100-Canis").await;
        let endpoints = section(&res.body, "results-endpoints");
        assert!(endpoints.contains("100-CANISTRACCI"), "{endpoints}");
        assert!(endpoints.contains(r#"href="/tenants/CANISTRACCI""#));

        // A tenant by name, anywhere in it.
        let res = app.get("/search?q=Trasporti").await;
        assert!(section(&res.body, "results-tenants").contains("CANISTRACCI"));

        // Phones by contact address, linking to their tenant.
        let res = app.get("/search?q=203.0.113.7").await;
        let contacts = section(&res.body, "results-contacts");
        assert!(
            contacts.contains("sip:reception@203.0.113.7:5060"),
            "{contacts}"
        );
        assert!(
            contacts.contains(r#"href="/servers/voip2#unmatched""#),
            "an unmatched phone links to its server's list: {contacts}"
        );
        let res = app.get("/search?q=sip%3A101-ROSSI%40198.51.100.103").await;
        let contacts = section(&res.body, "results-contacts");
        assert!(contacts.contains(r#"href="/tenants/ROSSI""#), "{contacts}");
        assert!(section(&res.body, "results-endpoints").contains("101-ROSSI"));
        // An address is matched from its start, not anywhere.
        let res = app.get("/search?q=51.100.103").await;
        assert!(!res.body.contains("results-contacts"), "{}", res.body);

        // User agents: the distinct ones, each listing its phones.
        let res = app.get("/search?q=yealink").await;
        let uas = section(&res.body, "results-user-agents");
        assert!(uas.contains("Yealink SIP-T46S 66.86.0.15"), "{uas}");
        assert_eq!(uas.matches("<li>").count(), 1, "one user agent: {uas}");
        let phones = app
            .get("/search?q=Yealink%20SIP-T46S%2066.86.0.15&kind=user_agent")
            .await;
        let phones = section(&phones.body, "results-phones");
        assert!(phones.contains("Yealink SIP-T46S") && phones.contains("-CANISTRACCI"));

        // Servers and pools by name or host.
        let res = app.get("/search?q=VOIP").await;
        let servers = section(&res.body, "results-servers");
        assert!(servers.contains(r#"href="/servers/voip1""#) && servers.contains("voip2"));
        let res = app.get("/search?q=pbxb.example").await;
        assert!(section(&res.body, "results-pools").contains(r#"href="/pools/pbxB""#));

        // A group is cut at 20 with a link to the rest.
        let res = app.get("/search?q=1").await;
        let endpoints = section(&res.body, "results-endpoints");
        assert_eq!(endpoints.matches("<tr><td>").count(), 20, "{endpoints}");
        assert!(
            endpoints.contains(r#"href="/search?q=1&#38;kind=endpoints""#),
            "{endpoints}"
        );
        let more = app.get("/search?q=1&kind=endpoints").await;
        assert!(
            section(&more.body, "results-endpoints")
                .matches("<tr><td>")
                .count()
                > 20
        );
        assert!(!more.body.contains("results-tenants"), "one kind alone");

        // Nothing found; wildcards are text.
        let res = app.get("/search?q=%25").await;
        assert!(res.body.contains("no-results"), "{}", res.body);
        let res = app.get("/search?q=zzzz").await;
        assert!(res.body.contains("no-results"));
        // Bad input is refused clearly.
        let res = app.get(&format!("/search?q={}", "x".repeat(201))).await;
        assert_eq!(res.status, 400);
        assert!(res.body.contains("at most 200 characters"), "{}", res.body);
        assert_eq!(app.get("/search?q=a&kind=phones").await.status, 400);
    })
    .await;
}

#[tokio::test]
async fn the_search_api_answers_the_same_groups() {
    helpers::each_backend(|app: TestApp| async move {
        demo(&app).await;
        let reader = app.token_client("grafana", "read").await;
        let res = reader
            .json(&app, "GET", "/api/v1/search?q=canis", None)
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        let body = res.json();
        assert_eq!(body["query"], "canis");
        assert_eq!(body["tenants"]["hits"][0]["code"], "CANISTRACCI");
        assert_eq!(body["tenants"]["more"], false);
        let res = reader
            .json(&app, "GET", "/api/v1/search?q=100-canis", None)
            .await;
        assert_eq!(res.json()["endpoints"]["hits"][0]["tenant"], "CANISTRACCI");
        let res = reader
            .json(
                &app,
                "GET",
                "/api/v1/search?q=198.51.100&kind=contacts",
                None,
            )
            .await;
        let body = res.json();
        assert_eq!(body["kind"], "contacts");
        assert_eq!(body["contacts"]["hits"].as_array().unwrap().len(), 200);
        assert_eq!(body["contacts"]["more"], true);
        assert!(body["tenants"]["hits"].as_array().unwrap().is_empty());
        let res = reader
            .json(&app, "GET", "/api/v1/search?q=a&kind=nope", None)
            .await;
        assert_eq!(res.status, 400);
        assert_eq!(res.content_type, "application/problem+json");
    })
    .await;
}

/// The HTML of the results section with this id.
fn section<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no section {id}: {body}"));
    let rest = &body[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}
