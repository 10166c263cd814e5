//! Issue #13: login throttling that holds under concurrency, redirects that stay on this site,
//! deliberate body limits with the product's own 413, password changes that end the other
//! sessions, no framework default answers, and no CSRF token in a URL.

use axum::body::Body;
use axum::http::Request;
use pbx_pools::domain::auth::Role;
use pbx_pools::store::AuditQuery;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use crate::helpers::{self, ADMIN_PASSWORD, Client, TestApp, TestResponse, urlencode};

const MIB: usize = 1024 * 1024;

/// Runs all `futures` at once on this task and returns their outputs in order. Each is first
/// polled in order, so a request listed later starts later; how far each gets is up to the
/// router and the database.
async fn all_at_once<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(v) => *output = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

/// The start of a long body, for a failure message.
fn head(body: &str) -> String {
    body.chars().take(500).collect()
}

fn statuses(responses: &[TestResponse]) -> Vec<u16> {
    responses.iter().map(|r| r.status).collect()
}

// --- 1. login throttling ---------------------------------------------------------------------

#[tokio::test]
async fn thirty_concurrent_guesses_get_at_most_five_password_checks() {
    for db in helpers::all_backends().await {
        let label = db.label;
        eprintln!("-- backend {label}");
        thirty_concurrent_guesses(TestApp::on(db).await).await;
    }
}

async fn thirty_concurrent_guesses(app: TestApp) {
    app.add_user("erin", Role::Viewer, "erin-password-1").await;
    let mut passwords: Vec<String> = (0..29).map(|i| format!("wrong-guess-{i:02}")).collect();
    passwords.push("erin-password-1".into());
    let forms: Vec<[(&str, &str); 2]> = passwords
        .iter()
        .map(|pw| [("name", "erin"), ("password", pw.as_str())])
        .collect();
    let clients: Vec<Client> = forms.iter().map(|_| Client::anonymous()).collect();
    let answers = all_at_once(
        clients
            .iter()
            .zip(&forms)
            .map(|(c, form)| c.post_form_raw(&app, "/login", form))
            .collect(),
    )
    .await;
    let all = statuses(&answers);
    let checked_and_wrong = all.iter().filter(|s| **s == 401).count();
    assert!(
        (1..=5).contains(&checked_and_wrong),
        "at most five passwords were checked: {all:?}"
    );
    assert_eq!(
        all.iter().filter(|s| **s == 429).count(),
        30 - checked_and_wrong,
        "every other attempt was refused unchecked: {all:?}"
    );
    let right = &answers[29];
    assert_eq!(right.status, 429, "the right password came too late");
    assert!(
        right.body.contains("Too many failed logins"),
        "{}",
        right.body
    );
    let erin = app.store().user_by_name("erin").await.unwrap();
    assert_eq!(erin.last_login_at, None, "erin was never logged in");
    // The window is still closed for the right password, sent alone.
    let later = Client::anonymous()
        .post_form_raw(
            &app,
            "/login",
            &[("name", "erin"), ("password", "erin-password-1")],
        )
        .await;
    assert_eq!(later.status, 429);
    // All the attempts came from one address (the tests have none), which has now used up its
    // budget of 30: another account cannot be logged into from it either.
    assert_eq!(
        Client::anonymous()
            .post_form_raw(
                &app,
                "/login",
                &[("name", "admin"), ("password", ADMIN_PASSWORD)],
            )
            .await
            .status,
        429
    );
    app.db.cleanup().await;
}

#[tokio::test]
async fn wrong_current_passwords_on_the_account_page_are_throttled_like_logins() {
    for db in helpers::all_backends().await {
        let label = db.label;
        eprintln!("-- backend {label}");
        account_page_guesses(TestApp::on(db).await).await;
    }
}

async fn account_page_guesses(app: TestApp) {
    app.add_user("erin", Role::Viewer, "erin-password-1").await;
    let erin = app.login("erin", "erin-password-1").await;
    let guesses: Vec<String> = (0..10).map(|i| format!("guess-number-{i:02}")).collect();
    let forms: Vec<[(&str, &str); 3]> = guesses
        .iter()
        .map(|g| {
            [
                ("time_zone", ""),
                ("current_password", g.as_str()),
                ("new_password", "erin-takes-over-1"),
            ]
        })
        .collect();
    let answers = all_at_once(
        forms
            .iter()
            .map(|form| erin.post_form(&app, "/account", form))
            .collect(),
    )
    .await;
    let all = statuses(&answers);
    assert!(
        all.iter().filter(|s| **s == 422).count() <= 5,
        "at most five current passwords were checked: {all:?}"
    );
    assert!(all.iter().all(|s| *s == 422 || *s == 429), "{all:?}");
    let right = erin
        .post_form(
            &app,
            "/account",
            &[
                ("time_zone", ""),
                ("current_password", "erin-password-1"),
                ("new_password", "erin-takes-over-1"),
            ],
        )
        .await;
    assert_eq!(right.status, 429, "throttled even with the right password");
    assert!(
        right.body.contains("too many wrong passwords"),
        "{}",
        right.body
    );
    let stored = app.store().user_by_name("erin").await.unwrap();
    assert!(
        pbx_pools::domain::auth::verify_password("erin-password-1", &stored.password_hash),
        "the password did not change"
    );
    // The same counter: the login is closed for erin too.
    let login = Client::anonymous()
        .post_form_raw(
            &app,
            "/login",
            &[("name", "erin"), ("password", "erin-password-1")],
        )
        .await;
    assert_eq!(login.status, 429);
    app.db.cleanup().await;
}

// --- 2. redirects stay on this site ----------------------------------------------------------

/// `next` values that must not take the browser anywhere but `/`.
const HOSTILE_TARGETS: &[&str] = &[
    "//evil.example",
    "/\\evil.example",
    "/\t/evil.example",
    "https://evil.example/",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "/servers\r\nSet-Cookie: x=1",
    "/servers\n",
    "/servers\u{7f}",
    " /servers",
    "",
    "servers",
];

#[tokio::test]
async fn login_redirects_only_to_a_path_on_this_site() {
    helpers::each_backend(|app: TestApp| async move {
        for target in HOSTILE_TARGETS {
            let res = Client::anonymous()
                .post_form_raw(
                    &app,
                    "/login",
                    &[
                        ("name", "admin"),
                        ("password", ADMIN_PASSWORD),
                        ("next", target),
                    ],
                )
                .await;
            assert_eq!(res.status, 303, "next={target:?}: {}", res.body);
            assert_eq!(res.location.as_deref(), Some("/"), "next={target:?}");
        }
        let res = Client::anonymous()
            .post_form_raw(
                &app,
                "/login",
                &[
                    ("name", "admin"),
                    ("password", ADMIN_PASSWORD),
                    ("next", "/tenants?q=acme&page=2"),
                ],
            )
            .await;
        assert_eq!(res.location.as_deref(), Some("/tenants?q=acme&page=2"));
        // A logged-in visit of the login page follows `next` by the same rule.
        for target in HOSTILE_TARGETS {
            let res = app.get(&format!("/login?next={}", urlencode(target))).await;
            assert_eq!(res.status, 303, "next={target:?}");
            assert_eq!(res.location.as_deref(), Some("/"), "next={target:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn bulk_assign_returns_only_to_a_path_on_this_site() {
    helpers::each_backend(|app: TestApp| async move {
        for target in HOSTILE_TARGETS {
            let res = app
                .post_form("/tenants/bulk-assign", &[("pool", "-"), ("return", target)])
                .await;
            assert_eq!(res.status, 303, "return={target:?}: {}", res.body);
            assert_eq!(res.location.as_deref(), Some("/"), "return={target:?}");
        }
        let res = app
            .post_form(
                "/tenants/bulk-assign",
                &[("pool", "-"), ("return", "/tenants?page=2")],
            )
            .await;
        assert_eq!(res.location.as_deref(), Some("/tenants?page=2"));
    })
    .await;
}

// --- 3. body limits --------------------------------------------------------------------------

async fn with_server(app: &TestApp, name: &str) {
    let host = format!("{name}.example.com");
    let res = app
        .post_form("/servers", &[("name", name), ("host", &host)])
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
}

/// A CSV registration dump of `contacts` phones whose contact URIs carry the long parameters
/// real softphones send, so that it reaches the size of a big cluster's dump.
fn csv_dump(contacts: usize) -> String {
    let mut out = String::from("endpoint,tenant,contact,user_agent,status\n");
    let params = ";x-ast-orig-host=10.0.0.1:5060;ob;transport=tcp;rinstance=".to_string()
        + &"0123456789abcdef".repeat(20);
    for i in 0..contacts {
        out.push_str(&format!(
            "{i}-ACME,,sip:{i}-ACME@192.0.2.{}:5060{params},Yealink SIP-T54W 96.86.0.70,Avail\n",
            i % 250
        ));
    }
    out
}

#[tokio::test]
async fn a_ten_megabyte_dump_is_accepted_by_the_api() {
    helpers::each_backend(|app: TestApp| async move {
        with_server(&app, "voip1").await;
        let push = app.token_client("voip1-push", "ingest:voip1").await;
        let dump = csv_dump(26_000);
        assert!(dump.len() > 10 * MIB, "{} bytes", dump.len());
        let req = Request::post("/api/v1/servers/voip1/registrations?format=csv")
            .header("content-type", "text/csv")
            .body(Body::from(dump))
            .unwrap();
        let res = push.send(&app, req).await;
        assert_eq!(res.status, 200, "{}", head(&res.body));
        assert_eq!(res.json()["contacts"], 26_000);
    })
    .await;
}

#[tokio::test]
async fn a_three_megabyte_upload_is_accepted_by_the_registrations_page() {
    helpers::each_backend(|app: TestApp| async move {
        with_server(&app, "voip1").await;
        let dump = csv_dump(7_500);
        assert!(dump.len() > 3 * MIB, "{} bytes", dump.len());
        let res = app
            .admin
            .send(
                &app,
                multipart(
                    "/registrations",
                    &[
                        ("csrf", &app.admin.csrf()),
                        ("server", "voip1"),
                        ("format", "csv"),
                        ("dump", &dump),
                    ],
                ),
            )
            .await;
        assert_eq!(res.status, 303, "{}", head(&res.body));
    })
    .await;
}

#[tokio::test]
async fn bodies_over_the_limit_get_the_products_413_naming_the_limit() {
    helpers::each_backend(|app: TestApp| async move {
        with_server(&app, "voip1").await;
        let push = app.token_client("voip1-push", "ingest:voip1").await;
        let huge = "x".repeat(33 * MIB);
        let req = Request::post("/api/v1/servers/voip1/registrations?format=csv")
            .header("content-type", "text/csv")
            .header("content-length", huge.len().to_string())
            .body(Body::from(huge))
            .unwrap();
        let res = push.send(&app, req).await;
        assert_eq!(res.status, 413);
        assert_eq!(res.content_type, "application/problem+json");
        let problem = res.json();
        assert_eq!(problem["status"], 413);
        assert!(
            problem["detail"].as_str().unwrap().contains("32 MiB"),
            "{problem}"
        );

        // An ordinary form is small: 1.5 MiB is over its limit, with or without a length.
        let padding = "p".repeat(MIB + MIB / 2);
        let body = format!(
            "csrf={}&name=voip9&host=voip9.example.com&notes={padding}",
            app.admin.csrf()
        );
        let with_length = Request::post("/servers")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-length", body.len().to_string())
            .body(Body::from(body.clone()))
            .unwrap();
        // Without a Content-Length the limit must hold while the body is read.
        let unannounced = Request::post("/servers")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        for req in [with_length, unannounced] {
            let res = app.admin.send(&app, req).await;
            assert_eq!(res.status, 413, "{}", res.body);
            assert!(
                res.content_type.starts_with("text/html"),
                "{}",
                res.content_type
            );
            assert!(res.body.contains("Request too large"), "{}", res.body);
            assert!(res.body.contains("1 MiB"), "{}", res.body);
        }
        assert!(app.store().server_by_name("voip9").await.is_err());
    })
    .await;
}

// --- 7. a password change ends the other sessions --------------------------------------------

async fn audit_actions(app: &TestApp, name: &str) -> Vec<String> {
    let (entries, _) = app
        .store()
        .audit_entries(&AuditQuery {
            object_name: Some(name.into()),
            per_page: 100,
            page: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    entries.into_iter().map(|e| e.action).collect()
}

#[tokio::test]
async fn changing_ones_password_ends_ones_other_sessions() {
    helpers::each_backend(|app: TestApp| async move {
        app.add_user("erin", Role::Viewer, "erin-password-1").await;
        let laptop = app.login("erin", "erin-password-1").await;
        let phone = app.login("erin", "erin-password-1").await;
        let res = laptop
            .post_form(
                &app,
                "/account",
                &[
                    ("time_zone", ""),
                    ("current_password", "erin-password-1"),
                    ("new_password", "erin-password-2"),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(laptop.get(&app, "/servers").await.status, 200, "kept");
        let ended = phone.get(&app, "/servers").await;
        assert_eq!(ended.status, 303, "the other session ended");
        assert!(ended.location.unwrap().starts_with("/login"));
        assert!(
            audit_actions(&app, "erin")
                .await
                .contains(&"end-sessions".to_string()),
            "{:?}",
            audit_actions(&app, "erin").await
        );
    })
    .await;
}

#[tokio::test]
async fn an_admins_reset_ends_the_users_sessions_and_keeps_the_admins_own() {
    helpers::each_backend(|app: TestApp| async move {
        app.add_user("erin", Role::Viewer, "erin-password-1").await;
        let erin = app.login("erin", "erin-password-1").await;
        let res = app
            .post_form("/users/erin/password", &[("password", "reset-by-admin-1")])
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(erin.get(&app, "/servers").await.status, 303, "erin is out");
        assert_eq!(app.get("/servers").await.status, 200, "the admin is not");
        assert!(
            audit_actions(&app, "erin")
                .await
                .contains(&"end-sessions".to_string())
        );

        // Resetting one's own password on the users page keeps the session that did it.
        let elsewhere = app.login("admin", ADMIN_PASSWORD).await;
        let res = app
            .post_form("/users/admin/password", &[("password", "admin-password-2")])
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(app.get("/servers").await.status, 200, "kept");
        assert_eq!(elsewhere.get(&app, "/servers").await.status, 303, "ended");
    })
    .await;
}

#[tokio::test]
async fn passwords_of_only_whitespace_are_refused() {
    helpers::each_backend(|app: TestApp| async move {
        app.add_user("erin", Role::Viewer, "erin-password-1").await;
        let blank = " \t  \u{a0}      \u{3000} ";
        let res = app
            .post_form("/users/erin/password", &[("password", blank)])
            .await;
        assert_eq!(res.status, 422, "{}", res.body);
        let res = app
            .post_form(
                "/users",
                &[("name", "fred"), ("role", "viewer"), ("password", blank)],
            )
            .await;
        assert_eq!(res.status, 422, "{}", res.body);
        let erin = app.login("erin", "erin-password-1").await;
        let res = erin
            .post_form(
                &app,
                "/account",
                &[
                    ("time_zone", ""),
                    ("current_password", "erin-password-1"),
                    ("new_password", blank),
                ],
            )
            .await;
        assert_eq!(res.status, 422, "{}", res.body);
        let stored = app.store().user_by_name("erin").await.unwrap();
        assert!(pbx_pools::domain::auth::verify_password(
            "erin-password-1",
            &stored.password_hash
        ));
    })
    .await;
}

// --- 8. no framework default answers ---------------------------------------------------------

#[tokio::test]
async fn every_rejection_is_the_products_page_or_problem() {
    helpers::each_backend(|app: TestApp| async move {
        let api = app.token_client("api-admin", "admin").await;
        let csrf = app.admin.csrf();
        // (who asks, method, path, content type, body, expected status)
        type Case = (
            &'static str,
            &'static str,
            &'static str,
            Option<&'static str>,
            &'static str,
            u16,
        );
        let cases: &[Case] = &[
            // A path parameter that is not an id names nothing.
            ("page", "GET", "/servers/abc", None, "", 404),
            ("page", "GET", "/tenants/12abc/edit", None, "", 404),
            ("page", "GET", "/tenants?page=abc", None, "", 400),
            ("page", "POST", "/users", Some("text/plain"), "name=x", 415),
            // Refused by the framework's multipart reader (no boundary): the product's page anyway.
            (
                "page",
                "POST",
                "/tenants/import",
                Some("multipart/form-data"),
                "x",
                400,
            ),
            ("page", "DELETE", "/servers", None, "", 405),
            ("page", "GET", "/no/such/page", None, "", 404),
            ("api", "GET", "/api/v1/tenants?page=abc", None, "", 400),
            (
                "api",
                "PUT",
                "/api/v1/tenants/ACME/pool",
                Some("application/json"),
                "{not",
                400,
            ),
            ("api", "POST", "/api/v1/plan", Some("text/plain"), "{}", 400),
            // A server name that is not UTF-8 cannot name a server.
            (
                "api",
                "POST",
                "/api/v1/servers/%FF/registrations",
                Some("text/csv"),
                "",
                404,
            ),
            ("api", "DELETE", "/api/v1/servers", None, "", 405),
            ("api", "GET", "/api/v1/no-such-call", None, "", 404),
            ("api", "GET", "/api/v2/servers", None, "", 404),
        ];
        for &(who, method, path, content_type, body, status) in cases {
            let mut req = Request::builder().method(method).uri(path);
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            if who == "page" {
                req = req.header("x-csrf-token", csrf.as_str());
            }
            let req = req.body(Body::from(body)).unwrap();
            let res = if who == "page" {
                app.admin.send(&app, req).await
            } else {
                api.send(&app, req).await
            };
            let what = format!(
                "{method} {path} -> {} {}: {}",
                res.status, res.content_type, res.body
            );
            assert_eq!(res.status, status, "{what}");
            if who == "page" {
                assert!(res.content_type.starts_with("text/html"), "{what}");
                assert!(res.body.contains("· pbx-pools</title>"), "{what}");
                assert!(res.body.contains(&format!("HTTP {status}")), "{what}");
            } else {
                assert_eq!(res.content_type, "application/problem+json", "{what}");
                let p = res.json();
                assert_eq!(p["status"], status, "{what}");
                assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()), "{what}");
                assert!(
                    p["detail"].as_str().is_some_and(|t| !t.is_empty()),
                    "{what}"
                );
            }
            for leak in ["Cannot parse", "Failed to deserialize", "`i64`", "axum"] {
                assert!(!res.body.contains(leak), "{what}");
            }
            if status == 405 {
                assert!(res.headers.get("allow").is_some(), "{what}");
            }
        }
    })
    .await;
}

// --- 9. no CSRF token in a URL ---------------------------------------------------------------

/// A multipart form with `fields` in order.
fn multipart(path: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let b = "HARDENINGBOUNDARY";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{b}--\r\n"));
    Request::post(path)
        .header("content-type", format!("multipart/form-data; boundary={b}"))
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn multipart_forms_carry_the_csrf_token_in_their_body_never_in_the_url() {
    helpers::each_backend(|app: TestApp| async move {
        let csrf = app.admin.csrf();
        let csv = "code,name,expected_phones,pool,notes\nACME,Acme,10,,\n";
        let in_url = app
            .admin
            .send(
                &app,
                multipart(
                    &format!("/tenants/import?csrf={csrf}"),
                    &[("csv", csv), ("action", "preview")],
                ),
            )
            .await;
        assert_eq!(in_url.status, 403, "a token in the URL is not accepted");
        let in_body = app
            .admin
            .send(
                &app,
                multipart(
                    "/tenants/import",
                    &[("csrf", &csrf), ("csv", csv), ("action", "preview")],
                ),
            )
            .await;
        assert_eq!(in_body.status, 200, "{}", in_body.body);
        assert!(in_body.body.contains("1 to create"), "{}", in_body.body);
        let wrong = app
            .admin
            .send(
                &app,
                multipart(
                    "/tenants/import",
                    &[
                        ("csrf", "not-the-token"),
                        ("csv", csv),
                        ("action", "preview"),
                    ],
                ),
            )
            .await;
        assert_eq!(wrong.status, 403);
        // The pages' upload forms carry it as their first field, not in their action.
        for page in [
            "/tenants/import",
            "/servers/import",
            "/registrations",
            "/dns/import",
        ] {
            let html = app.get(page).await.body;
            assert!(!html.contains("?csrf="), "{page} puts the token in a URL");
            for form in html.split("<form").skip(1) {
                if form.contains("multipart/form-data") {
                    let first_field = form.split("<input").nth(1).unwrap_or("");
                    assert!(
                        first_field.contains("name=\"csrf\""),
                        "{page}: the token is the form's first field: {form}"
                    );
                }
            }
        }
    })
    .await;
}
