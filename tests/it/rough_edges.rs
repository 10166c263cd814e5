//! Issue 18's rough edges an admin meets in the first hour, checked over HTTP.

use pbx_pools::domain::demo::source_document_cluster;

use crate::helpers::{self, TestApp};

async fn load_demo(app: &TestApp) {
    app.store()
        .load_demo(&source_document_cluster(), "demo")
        .await
        .unwrap();
}

/// The DNS page downloads exactly the ticked pools, refuses "none ticked" instead of exporting
/// everything, writes no `$TTL` into a snippet, and says when the ticked transports leave a pool
/// out rather than calling it transport-less.
#[tokio::test]
async fn dns_download_is_what_is_ticked() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let page = app.get("/dns").await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains(r#"formaction="/dns/export""#),
            "Download submits the form as ticked"
        );
        assert!(!page.body.contains("$TTL"), "{}", page.body);

        let file = app
            .get("/dns/export?picked=1&pools=pbxB&format=bind&ttl=300")
            .await;
        assert_eq!(file.status, 200, "{}", file.body);
        assert!(
            file.body.contains("_sip._udp.pbxb.example.com."),
            "{}",
            file.body
        );
        assert!(!file.body.contains("pbxa") && !file.body.contains("_sip._tcp"));
        assert!(!file.body.contains("$TTL"), "{}", file.body);
        assert!(file.body.contains(" 86400 IN SRV "), "per-record TTLs stay");

        let none = app.get("/dns/export?picked=1&format=bind").await;
        assert_eq!(none.status, 400);
        assert!(none.body.contains("No pool is ticked"), "{}", none.body);
        assert!(!none.body.contains("IN SRV"));
        let none = app.get("/dns?picked=1&format=bind").await;
        assert_eq!(none.status, 422);
        assert!(none.body.contains("No pool is ticked"));
        assert!(!none.body.contains("IN SRV"));
        assert!(
            !none.body.contains(r#"value="pbxA" checked"#),
            "no pool is shown ticked"
        );

        let wiki = app
            .get("/dns?picked=1&pools=wiki&transports=udp&format=bind")
            .await;
        assert_eq!(wiki.status, 200);
        assert!(
            wiki.body
                .contains("has none of the chosen transports (it has tcp), nothing published"),
            "{}",
            wiki.body
        );
        assert!(!wiki.body.contains("has no transports"));
    })
    .await;
}

fn multipart(fields: &[(&str, &str)]) -> (String, String) {
    let boundary = "BOUNDARY";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A refused dump comes back with the pasted text (escaped) and the chosen format still there.
#[tokio::test]
async fn a_refused_dump_keeps_the_pasted_text() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let dump = "colour,shape\nred,<square>\n";
        let (ct, body) = multipart(&[("server", "voip1"), ("format", "csv"), ("dump", dump)]);
        let req = axum::http::Request::post("/registrations")
            .header("x-csrf-token", app.admin.csrf())
            .header("content-type", ct)
            .body(axum::body::Body::from(body))
            .unwrap();
        let res = app.admin.send(&app, req).await;
        assert_eq!(res.status, 422, "{}", res.body);
        assert!(res.body.contains("error-box"), "{}", res.body);
        assert!(
            res.body.contains("colour,shape\nred,&#60;square&#62;"),
            "{}",
            res.body
        );
        assert!(
            res.body.contains(r#"<option value="csv" selected>"#),
            "{}",
            res.body
        );
        assert!(res.body.contains(r#"<option value="voip1" selected>"#));
    })
    .await;
}
