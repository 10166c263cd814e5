//! Accounts, sessions, CSRF, roles and API token scopes, checked against the real router.

use axum::body::Body;
use axum::http::{Method, Request};
use pbx_pools::domain::auth::Role;

use crate::helpers::{self, ADMIN_PASSWORD, Client, TestApp};

fn concrete(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{tenant}", "ACME")
        .replace("{pool}", "pbxA")
        .replace("{kind}", "server")
        .replace("{name}", "voip1")
        .replace("{code}", "ACME")
        .replace("{server}", "voip1")
}

fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/setup" | "/healthz" | "/metrics" | "/api/v1/openapi.json"
    ) || path.starts_with("/static/")
}

/// Every route the router has, without a session or token: pages send to the login, the API
/// answers 401 with a problem document. Only login, setup, health, metrics and static are open.
#[tokio::test]
async fn every_route_but_the_public_ones_needs_a_login_or_a_token() {
    helpers::each_backend(|app: TestApp| async move {
        let table = pbx_pools::web::route_table();
        assert!(
            table.len() > 30,
            "the route table lists every route ({} found)",
            table.len()
        );
        let anon = Client::anonymous();
        let mut checked = 0;
        for (method, path) in &table {
            if is_public(path) {
                continue;
            }
            let uri = concrete(path);
            let req = Request::builder()
                .method(method.clone())
                .uri(&uri)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from("name=x"))
                .unwrap();
            let res = anon.send(&app, req).await;
            if path.starts_with("/api/") {
                assert_eq!(res.status, 401, "{method} {uri} must need a token");
                assert_eq!(
                    res.content_type, "application/problem+json",
                    "{method} {uri}"
                );
                assert_eq!(res.json()["status"], 401);
            } else {
                assert_eq!(res.status, 303, "{method} {uri} must redirect to the login");
                assert!(
                    res.location.as_deref().unwrap_or("").starts_with("/login"),
                    "{method} {uri} -> {:?}",
                    res.location
                );
            }
            checked += 1;
        }
        assert!(checked > 25);
        for open in ["/login", "/healthz", "/static/style.css"] {
            assert_eq!(anon.get(&app, open).await.status, 200, "{open} is public");
        }
    })
    .await;
}

#[tokio::test]
async fn viewers_see_everything_but_change_nothing() {
    helpers::each_backend(|app: TestApp| async move {
        app.post_form(
            "/servers",
            &[("name", "voip1"), ("host", "voip1.example.com")],
        )
        .await;
        app.add_user("vera", Role::Viewer, "viewer-password-1")
            .await;
        let viewer = app.login("vera", "viewer-password-1").await;

        for (method, path) in pbx_pools::web::route_table() {
            if method == Method::GET
                || is_public(path)
                || path.starts_with("/api/")
                || path == "/logout"
                || path == "/account"
            {
                continue;
            }
            let uri = concrete(path);
            let res = viewer
                .post_form(&app, &uri, &[("name", "x"), ("version", "1")])
                .await;
            assert_eq!(res.status, 403, "viewer {method} {uri} must be refused");
        }
        let servers = viewer.get(&app, "/servers").await;
        assert_eq!(servers.status, 200);
        assert!(servers.body.contains("voip1"));
        assert!(
            !servers.body.contains("New server"),
            "no write buttons for a viewer"
        );
        let detail = viewer.get(&app, "/servers/voip1").await;
        assert_eq!(detail.status, 200);
        assert!(!detail.body.contains("/servers/voip1/edit"));
        let tenants = viewer.get(&app, "/tenants").await;
        assert!(!tenants.body.contains("Move selected"));
        assert_eq!(viewer.get(&app, "/users").await.status, 403);
        assert_eq!(viewer.get(&app, "/tokens").await.status, 403);
        assert_eq!(
            app.store().server_by_name("voip1").await.unwrap().version,
            1,
            "nothing changed"
        );
        // The admin does see the buttons.
        assert!(app.get("/servers").await.body.contains("New server"));
    })
    .await;
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused() {
    helpers::each_backend(|app: TestApp| async move {
        let form = [("name", "voip9"), ("host", "voip9.example.com")];
        let res = app.admin.post_form_raw(&app, "/servers", &form).await;
        assert_eq!(res.status, 403, "no token");
        let mut wrong = vec![("csrf", "0123456789abcdef")];
        wrong.extend_from_slice(&form);
        assert_eq!(
            app.admin
                .post_form_raw(&app, "/servers", &wrong)
                .await
                .status,
            403,
            "wrong token"
        );
        // Another admin's token, from another session, does not work either.
        app.add_user("other", Role::Admin, "other-password-1").await;
        let other = app.login("other", "other-password-1").await;
        let theirs = other.csrf();
        assert_ne!(theirs, app.admin.csrf());
        let mut stolen = vec![("csrf", theirs.as_str())];
        stolen.extend_from_slice(&form);
        assert_eq!(
            app.admin
                .post_form_raw(&app, "/servers", &stolen)
                .await
                .status,
            403,
            "another session's token"
        );
        // A cross-site Origin is refused even with the right token.
        let body = format!(
            "csrf={}&name=voip9&host=voip9.example.com",
            app.admin.csrf()
        );
        let req = Request::post("/servers")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", "https://evil.example")
            .header("host", "dashboard.example")
            .body(Body::from(body))
            .unwrap();
        assert_eq!(
            app.admin.send(&app, req).await.status,
            403,
            "foreign origin"
        );
        assert!(
            app.store().servers().await.unwrap().is_empty(),
            "nothing was created"
        );
        assert_eq!(
            app.post_form("/servers", &form).await.status,
            303,
            "the right token works"
        );
    })
    .await;
}

#[tokio::test]
async fn api_tokens_are_scoped() {
    helpers::each_backend(|app: TestApp| async move {
        app.post_form(
            "/pools",
            &[
                ("name", "pbxA"),
                ("srv_name", "pbxa.example.com"),
                ("transport", "udp"),
            ],
        )
        .await;
        app.post_form("/tenants", &[("code", "ACME"), ("name", "Acme")])
            .await;
        let assign = serde_json::json!({"pool": "pbxA", "version": 1});

        let ingest = app.token_client("voip1-cron", "ingest:voip1").await;
        let res = ingest
            .json(&app, "POST", "/api/v1/servers/voip2/registrations", None)
            .await;
        assert_eq!(res.status, 403, "ingest:voip1 cannot push for voip2");
        assert_eq!(res.content_type, "application/problem+json");
        assert!(
            res.json()["detail"]
                .as_str()
                .unwrap()
                .contains("ingest:voip1")
        );
        assert_eq!(
            ingest
                .json(
                    &app,
                    "PUT",
                    "/api/v1/tenants/ACME/pool",
                    Some(assign.clone())
                )
                .await
                .status,
            403
        );
        assert_eq!(
            ingest
                .json(&app, "GET", "/api/v1/servers", None)
                .await
                .status,
            403
        );
        let own = ingest
            .json(&app, "POST", "/api/v1/servers/voip1/registrations", None)
            .await;
        assert!(
            own.status != 401 && own.status != 403,
            "its own server is allowed through ({})",
            own.status
        );

        let reader = app.token_client("grafana", "read").await;
        let res = reader.json(&app, "GET", "/api/v1/tenants/ACME", None).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.json()["code"], "ACME");
        assert_eq!(
            reader
                .json(
                    &app,
                    "PUT",
                    "/api/v1/tenants/ACME/pool",
                    Some(assign.clone())
                )
                .await
                .status,
            403
        );

        let admin = app.token_client("automation", "admin").await;
        let res = admin
            .json(
                &app,
                "PUT",
                "/api/v1/tenants/ACME/pool",
                Some(assign.clone()),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.json()["pool_name"], "pbxA");
        let stale = admin
            .json(&app, "PUT", "/api/v1/tenants/ACME/pool", Some(assign))
            .await;
        assert_eq!(stale.status, 409, "stale version");
        let bad = admin
            .json(
                &app,
                "PUT",
                "/api/v1/tenants/ACME/pool",
                Some(serde_json::json!({"pool": 7})),
            )
            .await;
        assert_eq!(bad.status, 400);
        assert_eq!(bad.content_type, "application/problem+json");
        let (entries, _) = app
            .store()
            .audit_entries(&pbx_pools::store::AuditQuery {
                actor: Some("token:automation".into()),
                per_page: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(entries.len(), 1, "the audit log names the token");

        app.store()
            .revoke_token("automation", "test")
            .await
            .unwrap();
        assert_eq!(
            admin
                .json(&app, "GET", "/api/v1/servers", None)
                .await
                .status,
            401,
            "revoked"
        );
        let tokens = app.store().tokens().await.unwrap();
        assert!(
            tokens
                .iter()
                .find(|t| t.name == "grafana")
                .unwrap()
                .last_used_at
                .is_some(),
            "last use recorded"
        );
    })
    .await;
}

#[tokio::test]
async fn failed_logins_are_throttled_with_one_generic_message() {
    helpers::each_backend(|app: TestApp| async move {
        let anon = Client::anonymous();
        let unknown = anon
            .post_form_raw(
                &app,
                "/login",
                &[("name", "nobody"), ("password", "whatever-123")],
            )
            .await;
        let wrong = anon
            .post_form_raw(
                &app,
                "/login",
                &[("name", "admin"), ("password", "wrong-password")],
            )
            .await;
        assert_eq!(unknown.status, 401);
        assert_eq!(wrong.status, 401);
        assert!(unknown.body.contains("Wrong user name or password."));
        assert!(
            wrong.body.contains("Wrong user name or password."),
            "the same message either way"
        );
        for _ in 0..4 {
            anon.post_form_raw(
                &app,
                "/login",
                &[("name", "admin"), ("password", "wrong-password")],
            )
            .await;
        }
        let blocked = anon
            .post_form_raw(
                &app,
                "/login",
                &[("name", "admin"), ("password", ADMIN_PASSWORD)],
            )
            .await;
        assert_eq!(
            blocked.status, 429,
            "five failures lock the user for a while, even with the right password"
        );
        assert!(blocked.body.contains("Too many failed logins"));
    })
    .await;
}

#[tokio::test]
async fn passwords_are_stored_only_as_argon2id_hashes() {
    helpers::each_backend(|app: TestApp| async move {
        let user = app.store().user_by_name("admin").await.unwrap();
        assert!(
            user.password_hash.starts_with("$argon2id$v=19$"),
            "{}",
            user.password_hash
        );
        assert!(!user.password_hash.contains(ADMIN_PASSWORD));
        // Read the row itself, not the model.
        let pool = sqlx::AnyPool::connect(&app.db.url).await.unwrap();
        let stored: String = sqlx::Row::get(
            &sqlx::query("SELECT password_hash FROM users WHERE name = 'admin'")
                .fetch_one(&pool)
                .await
                .unwrap(),
            "password_hash",
        );
        pool.close().await;
        assert!(stored.starts_with("$argon2id$"));
        assert!(!stored.contains(ADMIN_PASSWORD));
    })
    .await;
}

#[tokio::test]
async fn sessions_rotate_at_login_end_at_logout_and_with_the_account() {
    helpers::each_backend(|app: TestApp| async move {
        // A session id planted before login is not the one used after it.
        let planted = "pbx_session=AAAAAAAAAAAAAAAAAAAAAA";
        let req = Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", planted)
            .body(Body::from(format!("name=admin&password={ADMIN_PASSWORD}")))
            .unwrap();
        let res = app.raw(req).await;
        assert_eq!(res.status, 303);
        let cookie = res
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with("pbx_session="))
            .expect("a session cookie");
        assert!(!cookie.starts_with(planted));
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );

        let logout = app.admin.post_form(&app, "/logout", &[]).await;
        assert_eq!(logout.status, 303);
        let after = app.admin.get(&app, "/servers").await;
        assert_eq!(after.status, 303, "logged out");

        app.add_user("dora", Role::Admin, "dora-password-1").await;
        let dora = app.login("dora", "dora-password-1").await;
        assert_eq!(dora.get(&app, "/servers").await.status, 200);
        app.store()
            .set_user_disabled("dora", true, "test")
            .await
            .unwrap();
        assert_eq!(
            dora.get(&app, "/servers").await.status,
            303,
            "a disabled account's session ends"
        );
        let again = Client::anonymous()
            .post_form_raw(
                &app,
                "/login",
                &[("name", "dora"), ("password", "dora-password-1")],
            )
            .await;
        assert_eq!(again.status, 401);
    })
    .await;
}

#[tokio::test]
async fn first_admin_setup_link_works_once() {
    // No admin yet: the app is built by hand, with a setup token and no logged-in client.
    helpers::each_db(|db| async move {
        let state = pbx_pools::web::AppState::new(db.store.clone());
        state.set_setup_token(Some("setup-secret".into()));
        let router = pbx_pools::web::router(state);
        let app = TestApp {
            db,
            router,
            admin: Client::anonymous(),
        };
        let anon = Client::anonymous();
        assert_eq!(anon.get(&app, "/setup").await.status, 403, "no token");
        assert_eq!(anon.get(&app, "/setup?token=guess").await.status, 403);
        assert_eq!(
            anon.get(&app, "/setup?token=setup-secret").await.status,
            200
        );
        let weak = anon
            .post_form_raw(
                &app,
                "/setup",
                &[
                    ("token", "setup-secret"),
                    ("name", "root"),
                    ("password", "short"),
                    ("password2", "short"),
                ],
            )
            .await;
        assert_eq!(weak.status, 422);
        assert_eq!(app.store().user_count().await.unwrap(), 0);
        let ok = anon
            .post_form_raw(
                &app,
                "/setup",
                &[
                    ("token", "setup-secret"),
                    ("name", "root"),
                    ("password", "root-password-1"),
                    ("password2", "root-password-1"),
                ],
            )
            .await;
        assert_eq!(ok.status, 303, "{}", ok.body);
        assert_eq!(
            anon.get(&app, "/servers").await.status,
            200,
            "logged in as the new admin"
        );
        let again = Client::anonymous()
            .post_form_raw(
                &app,
                "/setup",
                &[
                    ("token", "setup-secret"),
                    ("name", "eve"),
                    ("password", "eve-password-1"),
                    ("password2", "eve-password-1"),
                ],
            )
            .await;
        assert_eq!(again.status, 403, "the link works once");
        assert_eq!(app.store().user_count().await.unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn hardening_headers_and_body_limit() {
    helpers::each_backend(|app: TestApp| async move {
        let res = app.get("/servers").await;
        let csp = res
            .headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(
            res.headers.get("x-content-type-options").unwrap(),
            "nosniff"
        );
        assert!(res.headers.get("referrer-policy").is_some());
        let big = "x".repeat(pbx_pools::web::BODY_LIMIT + 1);
        let req = Request::post("/servers")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-length", big.len().to_string())
            .body(Body::from(big))
            .unwrap();
        let res = app.admin.send(&app, req).await;
        assert_eq!(res.status, 413);
        assert!(res.body.contains("larger than allowed"));
        // Internal details never reach the page.
        let res = app.get("/tenants?page=abc").await;
        assert!(!res.body.contains("sqlx") && !res.body.contains("panicked"));
    })
    .await;
}

#[tokio::test]
async fn users_and_tokens_pages_manage_accounts() {
    helpers::each_backend(|app: TestApp| async move {
        let res = app
            .post_form(
                "/users",
                &[("name", "vic"), ("role", "viewer"), ("password", "short")],
            )
            .await;
        assert_eq!(res.status, 422);
        assert!(res.body.contains("at least 10"));
        let res = app
            .post_form(
                "/users",
                &[
                    ("name", "vic"),
                    ("role", "viewer"),
                    ("password", "vic-password-1"),
                ],
            )
            .await;
        assert_eq!(res.status, 303);
        assert_eq!(
            app.store().user_by_name("vic").await.unwrap().role,
            Role::Viewer
        );
        let res = app
            .post_form(
                "/tokens",
                &[("name", "voip1-cron"), ("scope", "ingest:voip1")],
            )
            .await;
        assert_eq!(res.status, 200);
        let marker = "<code class=\"secret\">";
        let start = res.body.find(marker).expect("secret shown once") + marker.len();
        let secret = &res.body[start..start + 69];
        assert!(secret.starts_with("pbxp_"));
        assert!(
            app.store()
                .authenticate_token(secret)
                .await
                .unwrap()
                .is_some()
        );
        let list = app.get("/tokens").await;
        assert!(
            !list.body.contains(secret),
            "the secret is never shown again"
        );
        let res = app
            .post_form("/tokens", &[("name", "bad"), ("scope", "ingest:voip 1")])
            .await;
        assert_eq!(res.status, 422);
        assert_eq!(
            app.post_form("/tokens/voip1-cron/revoke", &[]).await.status,
            303
        );
        assert!(
            app.store()
                .authenticate_token(secret)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            app.post_form("/users/admin/disable", &[]).await.status,
            409,
            "not yourself"
        );
    })
    .await;
}

/// Sessions, tokens and throttling live in the database, so every backend must carry them.
#[tokio::test]
async fn login_session_and_tokens_work_on_every_backend() {
    helpers::each_backend(|app: TestApp| async move {
        let label = app.db.label;
        let res = app
            .post_form(
                "/servers",
                &[("name", "voip1"), ("host", "voip1.example.com")],
            )
            .await;
        assert_eq!(res.status, 303, "{label}: {}", res.body);
        assert_eq!(app.get("/servers").await.status, 200, "{label}");
        let reader = app.token_client("reader", "read").await;
        assert_eq!(
            reader
                .json(&app, "GET", "/api/v1/servers", None)
                .await
                .status,
            200,
            "{label}"
        );
        let anon = Client::anonymous();
        for _ in 0..5 {
            anon.post_form_raw(
                &app,
                "/login",
                &[("name", "admin"), ("password", "nope-nope-nope")],
            )
            .await;
        }
        let res = anon
            .post_form_raw(
                &app,
                "/login",
                &[("name", "admin"), ("password", ADMIN_PASSWORD)],
            )
            .await;
        assert_eq!(res.status, 429, "{label}");
        assert_eq!(app.admin.post_form(&app, "/logout", &[]).await.status, 303);
        assert_eq!(app.get("/servers").await.status, 303, "{label}: logged out");
    })
    .await;
}

#[tokio::test]
async fn each_user_reads_times_in_their_own_time_zone() {
    helpers::each_backend(|app: TestApp| async move {
        app.post_form(
            "/servers",
            &[("name", "voip1"), ("host", "voip1.example.com")],
        )
        .await;
        app.add_user("vera", Role::Viewer, "viewer-password-1")
            .await;
        let viewer = app.login("vera", "viewer-password-1").await;
        let res = viewer
            .post_form(&app, "/account", &[("time_zone", "Mars/Olympus")])
            .await;
        assert_eq!(res.status, 422);
        assert!(res.body.contains("id=\"time_zone-error\""));
        let res = viewer
            .post_form(&app, "/account", &[("time_zone", "Asia/Tokyo")])
            .await;
        assert_eq!(res.status, 303, "a viewer may set their own account");
        let audit = viewer.get(&app, "/audit").await;
        assert!(audit.body.contains(" JST"), "{}", audit.body);
        let admin_view = app.get("/audit").await;
        assert!(admin_view.body.contains(" UTC"));
        // Changing the password needs the current one.
        let res = viewer
            .post_form(
                &app,
                "/account",
                &[
                    ("current_password", "wrong"),
                    ("new_password", "another-pass-1"),
                ],
            )
            .await;
        assert_eq!(res.status, 422);
        let res = viewer
            .post_form(
                &app,
                "/account",
                &[
                    ("current_password", "viewer-password-1"),
                    ("new_password", "another-pass-1"),
                ],
            )
            .await;
        assert_eq!(res.status, 303);
        app.login("vera", "another-pass-1").await;
    })
    .await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    helpers::each_backend(|app: TestApp| async move {
        let res = Client::anonymous().get(&app, "/api/v1/openapi.json").await;
        assert_eq!(res.status, 200);
        let doc = res.json();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        for (method, path) in pbx_pools::web::route_table() {
            if !path.starts_with("/api/") {
                continue;
            }
            let op = &doc["paths"][path][method.as_str().to_lowercase()];
            assert!(op.is_object(), "{method} {path} is not in the document");
            assert!(
                !op["summary"].as_str().unwrap_or("").is_empty(),
                "{method} {path} has no summary"
            );
        }
        let ingest = &doc["paths"]["/api/v1/servers/{server}/registrations"]["post"];
        assert!(
            ingest["description"]
                .as_str()
                .unwrap()
                .contains("ingest:{server}")
        );
        assert_eq!(ingest["parameters"][0]["name"], "server");
    })
    .await;
}

/// A log sink for one test: the fmt subscriber writes into a shared buffer.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The log of the whole test binary, captured once: a scoped subscriber would miss spans whose
/// callsites other test threads registered first (tracing caches their interest globally).
fn captured_logs() -> LogBuffer {
    static LOGS: std::sync::OnceLock<LogBuffer> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = LogBuffer::default();
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        // Another test binary module may have installed one first; then this test fails loudly.
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in the test binary");
        logs
    })
    .clone()
}

#[tokio::test]
async fn requests_are_logged_by_route_with_an_id_never_with_their_query() {
    helpers::each_backend(|app: TestApp| async move {
        let logs = captured_logs();
        let mut ids = Vec::new();
        for path in [
            "/setup?token=SECRET-TOKEN-123",
            "/servers/42/edit?csrf=CSRF-IN-URL",
        ] {
            let res = app.get(path).await;
            let id = res
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .expect("every response carries its request id")
                .to_string();
            assert!(!id.is_empty());
            ids.push(id);
        }
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        for (id, route) in ids.iter().zip(["/setup", "/servers/{server}/edit"]) {
            let line = text
                .lines()
                .find(|l| l.contains(id.as_str()) && l.contains("status="))
                .unwrap_or_else(|| panic!("no response line for request {id}: {text}"));
            assert!(line.contains(&format!("route=\"{route}\"")), "{line}");
            assert!(
                line.contains("method=GET") && line.contains("latency="),
                "{line}"
            );
        }
        assert!(
            !text.contains("SECRET-TOKEN-123") && !text.contains("CSRF-IN-URL"),
            "a query string reached the log: {text}"
        );
    })
    .await;
}
