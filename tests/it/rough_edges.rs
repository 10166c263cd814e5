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

/// Creating an `ingest:SERVER` token shows the crontab line with the token and the address the
/// admin reached the dashboard at; other scopes show none.
#[tokio::test]
async fn an_ingest_token_comes_with_its_cron_line() {
    helpers::each_backend(|app: TestApp| async move {
        load_demo(&app).await;
        let body = format!(
            "csrf={}&name=voip1-cron&scope=ingest%3Avoip1",
            helpers::urlencode(&app.admin.csrf())
        );
        let req = axum::http::Request::post("/tokens")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("host", "pbx.test:8080")
            .header("origin", "http://pbx.test:8080")
            .body(axum::body::Body::from(body))
            .unwrap();
        let res = app.admin.send(&app, req).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let secret = res
            .body
            .split(r#"<code class="secret">"#)
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .expect("the secret is shown")
            .to_string();
        assert!(secret.starts_with("pbxp_"), "{secret}");
        let line = format!(
            "* * * * * asterisk -rx &#34;pjsip show contacts&#34; | curl -fsS -X POST -H &#34;Authorization: Bearer {secret}&#34; --data-binary @- &#34;http://pbx.test:8080/api/v1/servers/voip1/registrations?format=pjsip-contacts&#34; &#62;/dev/null"
        );
        assert!(res.body.contains(&line), "{}", res.body);

        let read = app
            .admin
            .post_form(&app, "/tokens", &[("name", "reader"), ("scope", "read")])
            .await;
        assert_eq!(read.status, 200);
        assert!(read.body.contains(r#"class="secret""#));
        assert!(!read.body.contains("cron-line"));
    })
    .await;
}

/// The login page shows no navigation to someone logged out; a logged-in page still has it.
#[tokio::test]
async fn the_login_page_has_no_navigation() {
    helpers::each_backend(|app: TestApp| async move {
        let login = helpers::Client::anonymous().get(&app, "/login").await;
        assert_eq!(login.status, 200, "{}", login.body);
        assert!(login.body.contains("Log in"));
        assert!(!login.body.contains(r#"<nav aria-label="Main">"#));
        assert!(!login.body.contains(r#"href="/audit""#), "{}", login.body);
        let overview = app.get("/").await;
        assert_eq!(overview.status, 200);
        assert!(overview.body.contains(r#"<nav aria-label="Main">"#));
        assert!(overview.body.contains(r#"href="/audit""#));
    })
    .await;
}

/// The audit log offers "user" in its object filter and shows each change as the changed
/// fields, before → after, with the full documents behind a `<details>`.
#[tokio::test]
async fn the_audit_log_shows_changed_fields() {
    helpers::each_backend(|app: TestApp| async move {
        let mut form = [
            ("version", "0"),
            ("normal_away_pct", "15"),
            ("capacity_warning_pct", "85"),
            ("stale_after_minutes", "10"),
            ("flap_moves", "4"),
            ("flap_window_minutes", "30"),
            ("failback_after_minutes", "20"),
            ("tenant_rule", r"^\d+-(?P<tenant>[A-Za-z]+)$"),
            ("retention_days", "7"),
            ("dns_check_minutes", "5"),
            ("dns_nameservers", ""),
            ("dns_timeout_ms", "2000"),
            ("dns_attempts", "2"),
        ];
        let res = app.post_form("/settings", &form).await;
        assert_eq!(res.status, 303, "{}", res.body);
        form[0] = ("version", "1");
        form[2] = ("capacity_warning_pct", "90");
        let res = app.post_form("/settings", &form).await;
        assert_eq!(res.status, 303, "{}", res.body);
        let res = app
            .post_form(
                "/users",
                &[
                    ("name", "alice"),
                    ("role", "viewer"),
                    ("password", "a long enough password"),
                ],
            )
            .await;
        assert!(res.status == 303 || res.status == 200, "{}", res.body);

        let audit = app.get("/audit?kind=settings").await;
        assert_eq!(audit.status, 200);
        let newest = audit
            .body
            .split(r#"<ul class="changes">"#)
            .nth(1)
            .and_then(|rest| rest.split("</ul>").next())
            .unwrap_or_else(|| panic!("no changes listed: {}", audit.body));
        assert_eq!(
            newest,
            r#"<li><code>alerts.capacity_warning</code>: <span class="before">0.85</span> → <span class="after">0.9</span></li>"#,
            "only the changed field"
        );
        assert!(audit.body.contains("<summary>Full documents</summary>"));

        let users = app.get("/audit?kind=user").await;
        assert!(
            users.body.contains(r#"<option value="user" selected>user</option>"#),
            "{}",
            users.body
        );
        assert!(users.body.contains("<strong>alice</strong>"), "{}", users.body);
        assert!(!users.body.contains("<strong>settings</strong>"));
    })
    .await;
}

/// Settings is laid out as a form: each fieldset a grid (label beside input, one per row), the
/// tenant rule wide; the stylesheet carries the layout (no inline styles: CSP).
#[tokio::test]
async fn the_settings_form_is_a_grid() {
    helpers::each_backend(|app: TestApp| async move {
        let page = app.get("/settings").await;
        assert_eq!(page.status, 200);
        assert!(
            page.body
                .contains(r#"<form method="post" action="/settings" class="settings-form">"#)
        );
        assert_eq!(
            page.body.matches(r#"<fieldset class="form-grid""#).count(),
            3
        );
        let rule = page
            .body
            .split(r#"<input id="tenant_rule""#)
            .nth(1)
            .and_then(|rest| rest.split('>').next())
            .expect("the tenant rule input");
        assert!(rule.contains(r#"class="mono wide""#), "{rule}");
        assert!(!page.body.contains("style="), "no inline styles");
        let css = app.get("/static/style.css").await;
        assert_eq!(css.status, 200);
        assert!(css.body.contains("fieldset.form-grid { display: grid;"));
        assert!(
            css.body
                .contains("fieldset.form-grid > input.wide { width: 100%; }")
        );
    })
    .await;
}

/// The overview says "N unmatched" with a link to where they are listed, and a server no single
/// failure loads says so instead of naming an unrelated failure.
#[tokio::test]
async fn the_overview_says_what_it_means() {
    helpers::each_backend(|app: TestApp| async move {
        helpers::load_demo_with_history(app.store()).await;
        let page = app.get("/").await;
        assert_eq!(page.status, 200);
        assert!(
            !page.body.contains("?)</span>"),
            "no bare (N?): {}",
            page.body
        );
        let unmatched = page
            .body
            .split(r#"<a class="warn unmatched" href="/servers/"#)
            .nth(1)
            .unwrap_or_else(|| panic!("an unmatched link: {}", page.body));
        assert!(unmatched.contains("#unmatched\">"), "{unmatched}");
        assert!(
            unmatched
                .split("</a>")
                .next()
                .unwrap()
                .ends_with(" unmatched")
        );
        let backupbox = page
            .body
            .split(r#"<a href="/servers/backupbox">"#)
            .nth(1)
            .and_then(|rest| rest.split("</tr>").next())
            .expect("backupbox's row");
        assert!(
            backupbox.contains("no single failure sends phones here"),
            "{backupbox}"
        );
        assert!(!backupbox.contains(" fails</span>"), "{backupbox}");
        // A server that a failure does load still names it.
        assert!(page.body.contains(" fails</span>"), "{}", page.body);
        let server = app.get("/go/server/voip1").await;
        assert!(server.status == 303 || server.status == 308 || server.status == 302);
    })
    .await;
}

/// At 800 px wide the overview does not scroll sideways: its tables fit or scroll inside
/// themselves (stylesheet only: the CSP allows no inline styles).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_fits_800_px() {
    use crate::browser::{ADMIN, ADMIN_PASSWORD, App, browser_test};
    use pbx_pools::domain::auth::Role;
    let app = App::start(None).await;
    app.add_user(ADMIN, ADMIN_PASSWORD, Role::Admin).await;
    helpers::load_demo_with_history(app.store()).await;
    browser_test("the_overview_fits_800_px", &app, |b| async move {
        b.login(ADMIN, ADMIN_PASSWORD).await;
        b.c.set_window_size(800, 900).await.unwrap();
        b.goto("/").await;
        b.see("no single failure sends phones here").await;
        let widths = b
            .c
            .execute(
                "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
                vec![],
            )
            .await
            .unwrap();
        let (scroll, client) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
        assert!(client <= 800, "the window is 800 px wide: {client}");
        assert!(scroll <= client, "the page scrolls sideways: {scroll} > {client}");
    })
    .await;
    app.stop().await;
}
