//! Test support: fresh databases on every backend the machine offers, and the real router.

use std::sync::Once;

pub mod dns_server;
use std::sync::atomic::{AtomicU32, Ordering};

use pbx_pools::store::Store;

static COUNTER: AtomicU32 = AtomicU32::new(0);
static PG_SKIP_NOTICE: Once = Once::new();

/// A fresh, migrated database of one backend, removed again by `cleanup`.
pub struct TestDb {
    pub store: Store,
    pub label: &'static str,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(tempfile_path::TempPath),
    Schema {
        admin_url: String,
        schema: String,
    },
    /// Another instance's connection to a database that its first `TestDb` removes.
    Nothing,
    /// Removed by whoever took the cleanup out (`each_db`), after the test body is done.
    Taken,
}

/// A tiny temp-dir holder so tests need no extra crate.
mod tempfile_path {
    pub struct TempPath(pub std::path::PathBuf);
    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

pub async fn sqlite() -> TestDb {
    let dir = std::env::temp_dir().join(unique("pbx_pools_test"));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/test.db", dir.display());
    let store = Store::open(&url).await.expect("open sqlite");
    TestDb {
        store,
        label: "sqlite",
        url,
        cleanup: Cleanup::File(tempfile_path::TempPath(dir)),
    }
}

/// The PostgreSQL server to test against: `PBX_POOLS_TEST_PG_URL`. Mandatory when `CI=true`;
/// otherwise its absence prints one loud `skipped:` line and the PostgreSQL half is skipped.
pub fn pg_admin_url() -> Option<String> {
    match std::env::var("PBX_POOLS_TEST_PG_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "CI=true but PBX_POOLS_TEST_PG_URL is not set: the PostgreSQL suite must run in CI"
                );
            }
            PG_SKIP_NOTICE.call_once(|| {
                eprintln!(
                    "skipped: PostgreSQL runs of the store and web tests (set PBX_POOLS_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test to run them)"
                );
            });
            None
        }
    }
}

pub async fn postgres() -> Option<TestDb> {
    let admin_url = pg_admin_url()?;
    sqlx::any::install_default_drivers();
    let schema = unique("pbxt");
    let admin = sqlx::AnyPool::connect(&admin_url)
        .await
        .expect("connect to PBX_POOLS_TEST_PG_URL");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .expect("create test schema");
    admin.close().await;
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{sep}options[search_path]={schema}");
    let store = Store::open(&url).await.expect("open postgres");
    Some(TestDb {
        store,
        label: "postgres",
        url,
        cleanup: Cleanup::Schema { admin_url, schema },
    })
}

/// SQLite always, PostgreSQL when configured.
pub async fn all_backends() -> Vec<TestDb> {
    let mut dbs = vec![sqlite().await];
    if let Some(pg) = postgres().await {
        dbs.push(pg);
    }
    dbs
}

/// Runs `body` once per backend, each time on a fresh database: SQLite, then PostgreSQL when
/// `PBX_POOLS_TEST_PG_URL` is set (see `pg_admin_url`). Each run is announced on stderr
/// (`backend: sqlite`), so a failure's captured output names its backend. Every backend runs
/// even if an earlier one failed, each database is removed afterwards whatever happened, and
/// then the first failure is re-raised with the list of backends that failed.
///
/// For a test that builds its own router (for example with a setup token); most tests want
/// `each_backend`.
pub async fn each_db<F, Fut>(body: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    // The PostgreSQL schema (a connection and the migrations: a few hundred milliseconds, mostly
    // spent waiting for the server) is made while the SQLite run goes on; its run comes after.
    let (first, pg) = tokio::join!(async { run_on(&body, sqlite().await).await }, postgres());
    let mut outcomes = vec![first];
    if let Some(db) = pg {
        outcomes.push(run_on(&body, db).await);
    }
    let mut failed: Vec<_> = outcomes.into_iter().filter_map(Result::err).collect();
    if !failed.is_empty() {
        let labels: Vec<_> = failed.iter().map(|(label, _)| *label).collect();
        eprintln!("failed on: {}", labels.join(", "));
        std::panic::resume_unwind(failed.remove(0).1);
    }
}

/// `each_db` with the real router and a logged-in admin (`TestApp::on`): the usual way a web
/// test runs on every backend.
pub async fn each_backend<F, Fut>(body: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let body = &body;
    each_db(move |db| async move { body(TestApp::on(db).await).await }).await
}

type Failure = (&'static str, Box<dyn std::any::Any + Send>);

/// One run of `body` on `db`, which is removed afterwards, also after a panic.
async fn run_on<F, Fut>(body: &F, mut db: TestDb) -> Result<(), Failure>
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let label = db.label;
    eprintln!("backend: {label}");
    // The body owns the database (inside its TestApp); the removal stays here.
    let store = db.store.clone();
    let cleanup = std::mem::replace(&mut db.cleanup, Cleanup::Taken);
    let outcome = CatchUnwind(Box::pin(body(db))).await;
    remove(store, cleanup).await;
    outcome.map_err(|panic| {
        eprintln!("backend: {label} FAILED");
        (label, panic)
    })
}

/// A future that turns a panic while polling into `Err` (what `futures`' `catch_unwind` does).
struct CatchUnwind<F>(std::pin::Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = std::thread::Result<F::Output>;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Err(panic) => std::task::Poll::Ready(Err(panic)),
        }
    }
}

async fn remove(store: Store, cleanup: Cleanup) {
    store.close().await;
    match cleanup {
        // The store is closed: the directory goes now, with the database file in it.
        Cleanup::File(dir) => drop(dir),
        Cleanup::Schema { admin_url, schema } => {
            if let Ok(admin) = sqlx::AnyPool::connect(&admin_url).await {
                let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                    .execute(&admin)
                    .await;
                admin.close().await;
            }
        }
        Cleanup::Nothing | Cleanup::Taken => {}
    }
}

impl TestDb {
    pub async fn cleanup(self) {
        remove(self.store, self.cleanup).await;
    }
}

/// The real router over a fresh database, driven in-process, with a logged-in admin client.
pub struct TestApp {
    pub db: TestDb,
    pub router: axum::Router,
    pub admin: Client,
}

/// One browser: its cookies (session, flash) and the CSRF token its pages carry.
#[derive(Clone, Default)]
pub struct Client {
    cookies: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
    csrf: std::sync::Arc<std::sync::Mutex<String>>,
    bearer: Option<String>,
}

pub struct TestResponse {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: String,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub const ADMIN_PASSWORD: &str = "admin-password-1";

impl TestApp {
    /// The app on `db`, with user `admin` created and logged in as `self.admin`.
    pub async fn on(db: TestDb) -> Self {
        let router = pbx_pools::web::router(pbx_pools::web::AppState::new(db.store.clone()));
        let mut app = Self {
            db,
            router,
            admin: Client::default(),
        };
        app.add_user(
            "admin",
            pbx_pools::domain::auth::Role::Admin,
            ADMIN_PASSWORD,
        )
        .await;
        app.admin = app.login("admin", ADMIN_PASSWORD).await;
        app
    }

    pub fn store(&self) -> &Store {
        &self.db.store
    }

    /// A second dashboard instance on this app's database, as a load balancer would put beside
    /// the first: its own `Store` (connections), `App` (caches, instance name) and router. Its
    /// `admin` is the same browser as the first's (one session cookie), so a request may go to
    /// either instance. Clean it up before the first: only the first removes the database.
    pub async fn second_instance(&self) -> TestApp {
        let store = Store::open(&self.db.url)
            .await
            .expect("open the database again for a second instance");
        let router = pbx_pools::web::router(pbx_pools::web::AppState::new(store.clone()));
        TestApp {
            db: TestDb {
                store,
                label: self.db.label,
                url: self.db.url.clone(),
                cleanup: Cleanup::Nothing,
            },
            router,
            admin: self.admin.clone(),
        }
    }

    pub async fn add_user(&self, name: &str, role: pbx_pools::domain::auth::Role, password: &str) {
        let hash = password_hash(password);
        self.store()
            .create_user(name, &hash, role, "test", false)
            .await
            .unwrap();
    }

    /// A new client logged in as `name`.
    pub async fn login(&self, name: &str, password: &str) -> Client {
        let client = Client::default();
        let res = client
            .post_form_raw(
                self,
                "/login",
                &[("name", name), ("password", password), ("next", "/")],
            )
            .await;
        assert_eq!(res.status, 303, "login as {name} failed: {}", res.body);
        let home = client.get(self, "/").await;
        assert_eq!(home.status, 200);
        let csrf = extract_csrf(&home.body).expect("pages carry a CSRF token");
        *client.csrf.lock().unwrap() = csrf;
        client
    }

    /// A client with an API token of `scope`.
    pub async fn token_client(&self, name: &str, scope: &str) -> Client {
        let secret = pbx_pools::domain::auth::new_secret("pbxp_").unwrap();
        self.store()
            .create_token(name, &secret, &scope.parse().unwrap(), "test")
            .await
            .unwrap();
        Client {
            bearer: Some(secret),
            ..Client::default()
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.admin.get(self, path).await
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        self.admin.post_form(self, path, fields).await
    }

    pub async fn raw(&self, req: axum::http::Request<axum::body::Body>) -> TestResponse {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let res = self.router.clone().oneshot(req).await.expect("router");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let location = headers
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let content_type = headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        TestResponse {
            status,
            location,
            content_type,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

/// The Argon2id hash of `password`, made once per test binary: a hash costs a tenth of a second
/// or more in a debug build, and every `TestApp` (one per backend) creates its admin. Any valid
/// hash does for a test user; the login still verifies it the slow way.
fn password_hash(password: &str) -> String {
    static HASHES: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());
    let known = HASHES
        .lock()
        .unwrap()
        .iter()
        .find(|(p, _)| p == password)
        .map(|(_, h)| h.clone());
    known.unwrap_or_else(|| {
        let hash = pbx_pools::domain::auth::hash_password(password).unwrap();
        HASHES
            .lock()
            .unwrap()
            .push((password.to_string(), hash.clone()));
        hash
    })
}

pub fn extract_csrf(html: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

impl Client {
    pub fn anonymous() -> Self {
        Self::default()
    }

    pub fn csrf(&self) -> String {
        self.csrf.lock().unwrap().clone()
    }

    /// The API token secret of a client made by `token_client`.
    pub fn bearer_secret(&self) -> Option<String> {
        self.bearer.clone()
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&self, res: &TestResponse) {
        let mut jar = self.cookies.lock().unwrap();
        for v in res.headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            jar.retain(|(name, _)| name != k);
            if !val.is_empty() && !v.contains("Max-Age=0") {
                jar.push((k.to_string(), val.to_string()));
            }
        }
    }

    pub async fn send(
        &self,
        app: &TestApp,
        mut req: axum::http::Request<axum::body::Body>,
    ) -> TestResponse {
        let cookies = self.cookie_header();
        if !cookies.is_empty() {
            req.headers_mut().insert("cookie", cookies.parse().unwrap());
        }
        if let Some(b) = &self.bearer {
            req.headers_mut()
                .insert("authorization", format!("Bearer {b}").parse().unwrap());
        }
        // The test is one observer who knows of every committed write, through the API or
        // the store: each request asks for a view that includes them (read-your-writes), so
        // no assertion depends on how fast a background rebuild is.
        let seen = app.store().data_version().await.unwrap();
        req.headers_mut()
            .insert("x-seen-version", seen.to_string().parse().unwrap());
        let res = app.raw(req).await;
        self.remember(&res);
        res
    }

    /// A GET that does not read the data version first (see `send`), for a test that counts
    /// the database round trips of the request alone.
    pub async fn get_unseen(&self, app: &TestApp, path: &str) -> TestResponse {
        let mut req = axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap();
        req.headers_mut()
            .insert("cookie", self.cookie_header().parse().unwrap());
        let res = app.raw(req).await;
        self.remember(&res);
        res
    }

    pub async fn get(&self, app: &TestApp, path: &str) -> TestResponse {
        self.send(
            app,
            axum::http::Request::get(path)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
    }

    /// Posts a form with this client's CSRF token added.
    pub async fn post_form(
        &self,
        app: &TestApp,
        path: &str,
        fields: &[(&str, &str)],
    ) -> TestResponse {
        let csrf = self.csrf();
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_form_raw(app, path, &all).await
    }

    /// Posts a form exactly as given (no CSRF token added).
    pub async fn post_form_raw(
        &self,
        app: &TestApp,
        path: &str,
        fields: &[(&str, &str)],
    ) -> TestResponse {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.send(
            app,
            axum::http::Request::post(path)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(body))
                .unwrap(),
        )
        .await
    }

    pub async fn json(
        &self,
        app: &TestApp,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> TestResponse {
        let mut b = axum::http::Request::builder().method(method).uri(path);
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                axum::body::Body::from(v.to_string())
            }
            None => axum::body::Body::empty(),
        };
        self.send(app, b.body(body).unwrap()).await
    }
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A `pjsip show contacts` dump of `endpoints`, as Asterisk prints it.
pub fn pjsip_contacts<S: AsRef<str>>(endpoints: impl IntoIterator<Item = S>) -> String {
    let endpoints: Vec<S> = endpoints.into_iter().collect();
    let mut out = String::from(
        "\n  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>\n \
         ==========================================================================================\n\n",
    );
    for (i, e) in endpoints.iter().enumerate() {
        let e = e.as_ref();
        out.push_str(&format!(
            "  Contact:  {e}/sip:{e}@192.0.2.{}:5060 {:010x} Avail        12.345\n",
            i % 250 + 1,
            i + 1
        ));
    }
    out.push_str(&format!("\nObjects found: {}\n\n", endpoints.len()));
    out
}

/// Lets the rebalance plan move tenants into multi-primary pools (Settings). The source
/// document's demo needs it for the plan to remove its single-failure overload: voip1 and voip2
/// alone cannot carry pbxA and pbxB through a failure, and `wiki` is multi-primary.
pub async fn allow_multi_primary_plans(store: &Store) {
    let (mut settings, version) = store.settings().await.unwrap();
    settings.plan_multi_primary = true;
    store
        .save_settings(&settings, version, "test")
        .await
        .unwrap();
}

/// The source document's demo cluster with its registration history (two hours of report
/// rounds): the charts, series and tenant-book tests start from it.
pub async fn load_demo_with_history(store: &Store) {
    store
        .load_demo(&pbx_pools::domain::demo::source_document_cluster(), "demo")
        .await
        .unwrap();
    store
        .load_demo_registrations(
            &pbx_pools::domain::demo_registrations::source_document_rounds(),
            7200,
        )
        .await
        .unwrap();
}
