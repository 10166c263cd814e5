//! End-to-end tests in a real headless Chromium, driven through chromedriver with fantoccini.
//!
//! Each test serves the real router on 127.0.0.1:0, starts its own chromedriver on a free port
//! and clicks and types through the pages like a person (no form is posted directly). The tests
//! run one browser at a time. On a failure the page is saved as a screenshot (and its HTML) under
//! `$CARGO_TARGET_DIR/browser-screenshots/<test>.png` (default `target/`) before the test fails.
//!
//! Without `chromium` and `chromedriver` on the machine the tests print one `skipped:` line and
//! pass, except with `CI=true`, where they fail.

use std::any::Any;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use pbx_pools::domain::auth::{Role, hash_password, new_secret};
use pbx_pools::store::Store;
use pbx_pools::web::{AppState, router};
use serde_json::json;

use crate::helpers;

/// One browser at a time: Chromium is heavy and the machine is small.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
static SKIP_NOTICE: Once = Once::new();

/// How long one whole flow may take before it counts as hung.
const FLOW_TIMEOUT: Duration = Duration::from_secs(90);
/// How long to wait for a page to show something.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

pub(crate) const ADMIN: &str = "admin";
pub(crate) const ADMIN_PASSWORD: &str = "admin-password-1";

// ---------------------------------------------------------------------------------------------
// Tools: chromium and chromedriver
// ---------------------------------------------------------------------------------------------

struct Tools {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

fn find_in_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// The browser and its driver, or `None` (after one `skipped:` line) when either is missing.
fn tools() -> Option<Tools> {
    let chromium = std::env::var_os("CHROME_BIN")
        .map(PathBuf::from)
        .or_else(|| find_in_path(&["chromium", "chromium-browser", "google-chrome"]));
    let chromedriver = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .or_else(|| find_in_path(&["chromedriver"]));
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => Some(Tools {
            chromium,
            chromedriver,
        }),
        (chromium, chromedriver) => {
            let missing = match (chromium.is_none(), chromedriver.is_none()) {
                (true, true) => "chromium and chromedriver are",
                (true, false) => "chromium is",
                _ => "chromedriver is",
            };
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but {missing} not installed: the browser tests must run in CI");
            }
            SKIP_NOTICE.call_once(|| {
                // Straight to stderr: the test harness would swallow `eprintln!` of a passing test.
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: chromium browser tests ({missing} not installed; apt-get install chromium chromium-driver)"
                );
            });
            None
        }
    }
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("{prefix}_{}_{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A chromedriver process, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start(tools: &Tools) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&tools.chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", tools.chromedriver.display()));
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The app under test
// ---------------------------------------------------------------------------------------------

pub(crate) struct App {
    db: helpers::TestDb,
    state: AppState,
    pub(crate) addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl App {
    /// The real router on a fresh database, served on 127.0.0.1:0.
    ///
    /// SQLite only, unlike the HTTP suite (`helpers::each_backend`): driving Chromium is slow,
    /// and what the browser adds (scripts, focus, layout) does not depend on the backend, which
    /// the in-process web tests already cover on PostgreSQL.
    pub(crate) async fn start(setup_token: Option<&str>) -> Self {
        let db = helpers::sqlite().await;
        let state = AppState::new(db.store.clone());
        state.set_setup_token(setup_token.map(str::to_string));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Self {
            db,
            state,
            addr,
            server,
        }
    }

    pub(crate) fn store(&self) -> &Store {
        self.state.store()
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) async fn add_user(&self, name: &str, password: &str, role: Role) {
        self.store()
            .create_user(name, &hash_password(password).unwrap(), role, "test", false)
            .await
            .unwrap();
    }

    pub(crate) async fn stop(self) {
        self.server.abort();
        self.db.cleanup().await;
    }
}

/// Sends one HTTP/1.1 request over a plain TCP connection (what `curl` in a PBX's crontab does)
/// and returns the status and body.
pub(crate) async fn http_post(
    addr: SocketAddr,
    path: &str,
    bearer: &str,
    body: &str,
) -> (u16, String) {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {bearer}\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    })
    .await
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The browser
// ---------------------------------------------------------------------------------------------

/// One browser session on the app: the WebDriver client and helpers that act like a person.
#[derive(Clone)]
pub(crate) struct Browser {
    pub(crate) c: Client,
    base: String,
    pub(crate) downloads: PathBuf,
}

type Failure = Box<dyn Any + Send>;

/// Runs `flow` in a fresh browser against `app`, one browser at a time; on a failure (panic,
/// WebDriver error or timeout) saves a screenshot and the page's HTML, then fails the test.
pub(crate) async fn browser_test<F, Fut>(test: &str, app: &App, flow: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let _serial = SERIAL.lock().await;
    let Some(tools) = tools() else { return };
    let driver = Driver::start(&tools).await;
    let profile = TempDir::new("pbx_pools_chromium_profile");
    let downloads = TempDir::new("pbx_pools_chromium_downloads");
    let client = connect(&driver, &tools, &profile.0, &downloads.0).await;
    let browser = Browser {
        c: client.clone(),
        base: app.base(),
        downloads: downloads.0.clone(),
    };
    let started = Instant::now();
    let outcome = tokio::spawn(tokio::time::timeout(FLOW_TIMEOUT, flow(browser))).await;
    let failure: Option<Failure> = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(_)) => Some(Box::new(format!(
            "{test}: the flow did not finish within {FLOW_TIMEOUT:?}"
        ))),
        Err(e) if e.is_panic() => Some(e.into_panic()),
        Err(e) => Some(Box::new(format!("{test}: the flow task failed: {e}"))),
    };
    if failure.is_some() {
        save_evidence(&client, test).await;
    } else {
        eprintln!("{test}: browser flow took {:?}", started.elapsed());
    }
    let _ = client.close().await;
    drop(driver);
    if let Some(failure) = failure {
        std::panic::resume_unwind(failure);
    }
}

async fn connect(driver: &Driver, tools: &Tools, profile: &Path, downloads: &Path) -> Client {
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": tools.chromium.to_string_lossy(),
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=1280,1024",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "download.default_directory": downloads.to_string_lossy(),
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
                "safebrowsing.enabled": false,
            },
        },
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    let mut builder = ClientBuilder::rustls().expect("rustls connector");
    builder.capabilities(caps);
    let deadline = Instant::now() + WAIT;
    loop {
        match builder.connect(&driver.url).await {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("could not start a Chromium session through chromedriver: {e}"),
        }
    }
}

fn evidence_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("browser-screenshots")
}

async fn save_evidence(c: &Client, test: &str) {
    let dir = evidence_dir();
    let _ = std::fs::create_dir_all(&dir);
    let png = dir.join(format!("{test}.png"));
    match c.screenshot().await {
        Ok(bytes) => match std::fs::write(&png, bytes) {
            Ok(()) => eprintln!("{test}: screenshot saved to {}", png.display()),
            Err(e) => eprintln!("{test}: could not write {}: {e}", png.display()),
        },
        Err(e) => eprintln!("{test}: no screenshot: {e}"),
    }
    if let Ok(html) = c.source().await {
        let _ = std::fs::write(dir.join(format!("{test}.html")), html);
    }
    if let Ok(url) = c.current_url().await {
        eprintln!("{test}: the browser was at {url}");
    }
}

impl Browser {
    pub(crate) async fn goto(&self, path: &str) {
        self.c
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    pub(crate) async fn path(&self) -> String {
        let url = self.c.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The text the page shows.
    pub(crate) async fn text(&self) -> String {
        match self.c.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until the page shows `needle`; fails with what it shows instead.
    pub(crate) async fn see(&self, needle: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.text().await;
            if text.contains(needle) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "expected the page {} to show {needle:?}; it shows:\n{text}",
                    self.path().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn not_see(&self, needle: &str) {
        let text = self.text().await;
        assert!(
            !text.contains(needle),
            "the page {} should not show {needle:?}; it shows:\n{text}",
            self.path().await
        );
    }

    /// Waits for the page at `path` (its path, without the query) to be shown.
    pub(crate) async fn at(&self, path: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.c.current_url().await.unwrap();
            if url.path() == path {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "expected to be at {path}, the browser is at {url}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn find(&self, locator: Locator<'_>) -> fantoccini::elements::Element {
        let what = format!("{locator:?}");
        match self.c.wait().at_most(WAIT).for_element(locator).await {
            Ok(e) => e,
            Err(e) => panic!(
                "no element {what} on {}: {e}\n{}",
                self.path().await,
                self.text().await
            ),
        }
    }

    pub(crate) async fn count(&self, locator: Locator<'_>) -> usize {
        self.c.find_all(locator).await.map(|v| v.len()).unwrap_or(0)
    }

    /// Clicks the link whose text is exactly `text`.
    pub(crate) async fn click_link(&self, text: &str) {
        self.find(Locator::LinkText(text))
            .await
            .click()
            .await
            .unwrap();
    }

    /// Clicks the button whose text starts with `text`.
    pub(crate) async fn click_button(&self, text: &str) {
        let xpath = format!("//button[starts-with(normalize-space(.), '{text}')]");
        self.find(Locator::XPath(&xpath))
            .await
            .click()
            .await
            .unwrap();
    }

    /// Clicks the link `text` inside the element matched by `within` (an XPath).
    pub(crate) async fn click_link_in(&self, within: &str, text: &str) {
        let xpath = format!("{within}//a[normalize-space(.)='{text}']");
        self.find(Locator::XPath(&xpath))
            .await
            .click()
            .await
            .unwrap();
    }

    /// Types `value` into the field with id `id`, replacing what it held.
    pub(crate) async fn fill(&self, id: &str, value: &str) {
        let field = self.find(Locator::Id(id)).await;
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Picks the option of the select `id` whose value is `value`.
    pub(crate) async fn choose(&self, id: &str, value: &str) {
        let select = self.find(Locator::Id(id)).await;
        select
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("select {value:?} in #{id}: {e}"));
    }

    /// Ticks the checkbox matched by `css` (unless it already is).
    pub(crate) async fn tick(&self, css: &str) {
        let b = self.find(Locator::Css(css)).await;
        if !b.is_selected().await.unwrap() {
            b.click().await.unwrap();
        }
        assert!(b.is_selected().await.unwrap(), "{css} did not get ticked");
    }

    /// The cells' texts of the table row whose first cell is `first`.
    pub(crate) async fn row(&self, first: &str) -> Vec<String> {
        let xpath = format!("//tr[td[1][normalize-space(.)='{first}']]/td");
        let deadline = Instant::now() + WAIT;
        loop {
            let cells = self.c.find_all(Locator::XPath(&xpath)).await.unwrap();
            if !cells.is_empty() {
                let mut out = Vec::new();
                for c in cells {
                    out.push(c.text().await.unwrap().trim().to_string());
                }
                return out;
            }
            if Instant::now() > deadline {
                panic!(
                    "no table row for {first:?} on {}:\n{}",
                    self.path().await,
                    self.text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The user box in the page header (name, role mark and the logout button), as shown.
    pub(crate) async fn whoami(&self) -> String {
        let text = self
            .find(Locator::Css("form.whoami"))
            .await
            .text()
            .await
            .unwrap();
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    pub(crate) async fn login(&self, name: &str, password: &str) {
        self.goto("/login").await;
        self.fill("name", name).await;
        self.fill("password", password).await;
        self.click_button("Log in").await;
        self.see("Cluster overview").await;
        self.see(name).await;
    }

    pub(crate) async fn logout(&self) {
        self.click_button("Log out").await;
        self.see("You are logged out.").await;
        self.at("/login").await;
        // The session is over: a page asks for a login again.
        self.goto("/tenants").await;
        self.at("/login").await;
        self.see("Log in").await;
        self.not_see("Log out").await;
    }
}

// ---------------------------------------------------------------------------------------------
// The flows
// ---------------------------------------------------------------------------------------------

/// 1 and 10: the first administrator through the one-time setup link, logout, login again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_admin_setup_logout_and_login() {
    const TOKEN: &str = "setup-token-for-the-browser-test-0123456789";
    let app = App::start(Some(TOKEN)).await;
    browser_test("first_admin_setup_logout_and_login", &app, |b| async move {
        // Without a login every page leads to the login form.
        b.goto("/").await;
        b.at("/login").await;

        b.goto(&format!("/setup?token={TOKEN}")).await;
        b.see("Create the first administrator").await;
        b.fill("name", "alice").await;
        b.fill("password", "correct-horse-1").await;
        b.fill("password2", "correct-horse-2").await;
        b.click_button("Create administrator").await;
        b.see("the two passwords differ").await;
        b.fill("password", "correct-horse-1").await;
        b.fill("password2", "correct-horse-1").await;
        b.click_button("Create administrator").await;
        b.see("Welcome, alice: you are the first administrator.")
            .await;
        b.see("Cluster overview").await;
        b.at("/").await;
        assert_eq!(b.whoami().await, "alice Log out");
        // An admin sees the admin pages in the menu.
        b.find(Locator::LinkText("Users")).await;

        b.logout().await;

        // The link worked once.
        b.goto(&format!("/setup?token={TOKEN}")).await;
        b.see("Already set up").await;
        b.not_see("Create the first administrator").await;

        // A wrong password is refused, the right one lets alice in.
        b.goto("/login").await;
        b.fill("name", "alice").await;
        b.fill("password", "wrong-password-9").await;
        b.click_button("Log in").await;
        b.find(Locator::Css("p.error-box")).await;
        b.not_see("Cluster overview").await;
        b.login("alice", "correct-horse-1").await;
        b.at("/").await;
        b.logout().await;
    })
    .await;
    app.stop().await;
}

/// 2 to 5: servers, a pool and its members, tenants placed one by one and in bulk, a
/// registration push that changes the overview, and alerts that link to what they name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_assignment_registrations_and_alerts() {
    let app = App::start(None).await;
    app.add_user(ADMIN, ADMIN_PASSWORD, Role::Admin).await;
    let secret1 = new_secret("pbxp_").unwrap();
    let secret2 = new_secret("pbxp_").unwrap();
    app.store()
        .create_token(
            "voip1-cron",
            &secret1,
            &"ingest:voip1".parse().unwrap(),
            "test",
        )
        .await
        .unwrap();
    app.store()
        .create_token(
            "voip2-cron",
            &secret2,
            &"ingest:voip2".parse().unwrap(),
            "test",
        )
        .await
        .unwrap();
    let addr = app.addr;
    browser_test(
        "inventory_assignment_registrations_and_alerts",
        &app,
        |b| async move {
            b.login(ADMIN, ADMIN_PASSWORD).await;

            // 2. Servers → New server, twice.
            for (name, capacity) in [("voip1", "100"), ("voip2", "100")] {
                b.click_link("Servers").await;
                b.at("/servers").await;
                b.click_link("New server").await;
                b.at("/servers/new").await;
                b.fill("name", name).await;
                b.fill("host", &format!("{name}.example.com")).await;
                b.fill("capacity", capacity).await;
                b.fill("site", "Milan").await;
                b.click_button("Save").await;
                b.see(&format!("Server {name} created.")).await;
                b.see(&format!("Server {name}")).await;
                b.see(&format!("{name}.example.com")).await;
                b.see("100 phones").await;
            }
            b.click_link("Servers").await;
            let row = b.row("voip2").await;
            assert_eq!(row[1], "voip2.example.com", "{row:?}");
            assert_eq!(row[2], "5060", "{row:?}");
            assert_eq!(row[3], "100", "{row:?}");

            // A refused form says why and keeps what was typed.
            b.click_link("New server").await;
            b.fill("name", "voip1").await;
            b.fill("host", "not a host name").await;
            b.click_button("Save").await;
            b.see("The server was not saved").await;
            let kept = b.find(Locator::Id("name")).await.prop("value").await.unwrap();
            assert_eq!(kept.as_deref(), Some("voip1"));

            // Pools → New pool, then the members editor.
            b.click_link("Pools").await;
            b.at("/pools").await;
            b.click_link("New pool").await;
            b.fill("name", "pbxA").await;
            b.fill("srv_name", "pbxa.example.com").await;
            b.tick("input[name='transport'][value='udp']").await;
            b.click_button("Save").await;
            b.see("Pool pbxA created. Now add its members.").await;
            b.see("Members of pool pbxA").await;
            b.choose("server-0", "voip1").await;
            b.fill("priority-0", "10").await;
            b.fill("weight-0", "10").await;
            b.choose("server-1", "voip2").await;
            b.fill("priority-1", "20").await;
            b.fill("weight-1", "10").await;
            b.click_button("Preview the change").await;
            b.see("Impact on the servers").await;
            b.click_button("Apply").await;
            b.see("Members of pool pbxA saved (2 records).").await;
            b.see("Pool pbxA").await;
            let row = b.row("voip1").await;
            assert_eq!(row[1..4], ["voip1.example.com", "10", "10"], "{row:?}");
            let row = b.row("voip2").await;
            assert_eq!(row[1..4], ["voip2.example.com", "20", "10"], "{row:?}");
            b.see("_sip._udp.pbxa.example.com").await;
            b.click_link("Pools").await;
            let row = b.row("pbxA").await;
            assert!(row[4].contains("voip1 10/10"), "{row:?}");
            assert!(row[4].contains("voip2 20/10"), "{row:?}");

            // 3. Tenants, one assigned from its page, several in bulk from the list.
            for (code, name, phones) in [
                ("ACME", "Acme Srl", "10"),
                ("BETA", "Beta Hotel", "5"),
                ("GAMMA", "Gamma Dental", "3"),
                ("DELTA", "Delta Legal", "2"),
            ] {
                b.click_link("Tenants").await;
                b.at("/tenants").await;
                b.click_link("New tenant").await;
                b.fill("code", code).await;
                b.fill("name", name).await;
                b.fill("expected_phones", phones).await;
                b.click_button("Save").await;
                b.see(&format!("Tenant {code} created.")).await;
                b.see("not placed").await;
            }
            // DELTA's page is open: place ACME instead, from its own page.
            b.click_link("Tenants").await;
            b.click_link("ACME").await;
            b.see("Acme Srl").await;
            b.choose("assign-pool", "pbxA").await;
            b.click_button("Assign").await;
            // The impact preview comes first; nothing changes until Apply.
            b.see("Assign ACME to pool pbxA?").await;
            b.see("Impact on the servers").await;
            b.click_button("Apply").await;
            b.see("Tenant ACME assigned to pool pbxA.").await;
            b.find(Locator::XPath("//dd/a[normalize-space(.)='pbxA']"))
                .await;

            b.click_link("Tenants").await;
            b.see("4 tenants").await;
            b.tick("input[aria-label='Select BETA']").await;
            b.tick("input[aria-label='Select GAMMA']").await;
            b.choose("bulk-pool", "pbxA").await;
            b.click_button("Move selected").await;
            b.see("Move 2 tenants to pool pbxA?").await;
            b.click_button("Apply").await;
            b.see("2 of 2 selected tenants moved to pool pbxA.").await;
            b.at("/tenants").await;
            for code in ["ACME", "BETA", "GAMMA"] {
                let xpath = format!("//tr[td/a[normalize-space(.)='{code}']]/td[5]");
                let pool = b.find(Locator::XPath(&xpath)).await.text().await.unwrap();
                assert_eq!(pool, "pbxA", "{code}");
            }
            let delta = b
                .find(Locator::XPath("//tr[td/a[normalize-space(.)='DELTA']]/td[5]"))
                .await
                .text()
                .await
                .unwrap();
            assert_eq!(delta, "not placed");
            // The list filters by pool.
            b.choose("pool-filter", "-").await;
            b.click_button("Filter").await;
            b.see("1 tenants").await;
            b.find(Locator::LinkText("DELTA")).await;
            assert_eq!(b.count(Locator::LinkText("ACME")).await, 0);

            // 4. The overview before and after the servers report their phones.
            b.click_link("Overview").await;
            b.see("Cluster overview").await;
            let row = b.row("voip1").await;
            assert_eq!(row[1], "0", "voip1 registered before any report: {row:?}");
            let (status, body) = http_post(
                addr,
                "/api/v1/servers/voip1/registrations?format=pjsip-contacts",
                &secret1,
                &helpers::pjsip_contacts(["100-ACME", "101-ACME", "102-ACME", "200-BETA", "300-gamma"]),
            )
            .await;
            assert!((200..300).contains(&status), "push voip1: {status} {body}");
            // voip2 holds one ACME phone away from home, and one phone of no tenant.
            let (status, body) = http_post(
                addr,
                "/api/v1/servers/voip2/registrations?format=pjsip-contacts",
                &secret2,
                &helpers::pjsip_contacts(["103-ACME", "900-NOBODY"]),
            )
            .await;
            assert!((200..300).contains(&status), "push voip2: {status} {body}");
            // The voip1 token may not push for voip2.
            let (status, _) = http_post(
                addr,
                "/api/v1/servers/voip2/registrations?format=pjsip-contacts",
                &secret1,
                &helpers::pjsip_contacts(["104-ACME"]),
            )
            .await;
            assert_eq!(status, 403, "an ingest:voip1 token pushing for voip2");

            // The browser wrote none of these pushes, so it may be shown the previous view
            // while the new one builds: refresh until the rebuild is in (seconds at most).
            let mut row = Vec::new();
            for _ in 0..40 {
                b.c.refresh().await.unwrap();
                b.see("Cluster overview").await;
                row = b.row("voip1").await;
                if row[1] == "5" {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            assert_eq!(row[1], "5", "voip1 registered: {row:?}");
            assert_eq!(row[2], "5", "voip1 home: {row:?}");
            assert_eq!(row[3], "0", "voip1 away: {row:?}");
            let row = b.row("voip2").await;
            // Registered counts every phone of the report; "1 unmatched" is the one of no tenant.
            assert_eq!(row[1], "2 1 unmatched", "voip2 registered: {row:?}");
            assert_eq!(row[2], "0", "voip2 home: {row:?}");
            assert_eq!(row[3], "1", "voip2 away: {row:?}");
            let row = b.row("pbxA").await;
            assert_eq!(row[1], "voip1", "pbxA home: {row:?}");
            assert_eq!(row[2..5], ["6", "5", "1"], "pbxA phones: {row:?}");

            // 5. Alerts link to what they name.
            b.click_link("Alerts").await;
            b.at("/alerts").await;
            let split = "//li[contains(@class,'alert')][.//strong[normalize-space(.)='Split tenant']]";
            b.find(Locator::XPath(split)).await;
            b.click_link_in(split, "tenant ACME").await;
            b.see("Acme Srl").await;
            assert!(b.path().await.starts_with("/tenants/"), "{}", b.path().await);
            b.see("Split across 2 servers").await;
            b.see("Phones away from home").await;
            b.see("103-ACME").await;

            b.click_link("Alerts").await;
            let unmatched = "//li[contains(@class,'alert')][.//strong[normalize-space(.)='Registrations matching no tenant']]";
            b.find(Locator::XPath(unmatched)).await;
            b.click_link_in(unmatched, "server voip2").await;
            b.see("Server voip2").await;
            b.see("Registrations matching no tenant").await;
            b.see("900-NOBODY").await;
            assert!(b.path().await.starts_with("/servers/"), "{}", b.path().await);

            // The alerts filter narrows the list.
            b.click_link("Alerts").await;
            b.choose("kind", "tenant_no_pool").await;
            b.click_button("Filter").await;
            b.see("Tenant without a pool").await;
            b.find(Locator::LinkText("tenant DELTA")).await;
            assert_eq!(b.count(Locator::LinkText("tenant ACME")).await, 0);

            // A dump pasted on the Registrations page: a multipart form, whose CSRF token the
            // browser sends as the form's first field (never in the URL).
            b.click_link("Registrations").await;
            b.at("/registrations").await;
            b.choose("server", "voip2").await;
            b.fill("dump", &helpers::pjsip_contacts(["103-ACME", "104-ACME"]))
                .await;
            b.click_button("Store snapshot").await;
            b.at("/registrations").await;
            b.see("voip2: 2 contacts read").await;
        },
    )
    .await;
    app.stop().await;
}

/// 9 and 10: a viewer sees every page but no button that changes anything, then logs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_sees_no_write_buttons() {
    let app = App::start(None).await;
    app.add_user(ADMIN, ADMIN_PASSWORD, Role::Admin).await;
    app.store()
        .create_user(
            "vera",
            &hash_password("viewer-pass-1").unwrap(),
            Role::Viewer,
            "test",
            false,
        )
        .await
        .unwrap();
    let cluster = pbx_pools::domain::demo::source_document_cluster();
    app.store().load_demo(&cluster, "demo").await.unwrap();
    browser_test("viewer_sees_no_write_buttons", &app, |b| async move {
        b.login("vera", "viewer-pass-1").await;
        assert_eq!(b.whoami().await, "vera (viewer) Log out");
        assert_eq!(b.count(Locator::LinkText("Users")).await, 0);
        assert_eq!(b.count(Locator::LinkText("API tokens")).await, 0);

        let buttons = |b: Browser| async move {
            let mut found = Vec::new();
            for e in
                b.c.find_all(Locator::Css("main a.button, main button"))
                    .await
                    .unwrap()
            {
                found.push(e.text().await.unwrap().trim().to_string());
            }
            found
        };
        let writes = [
            "New server",
            "New pool",
            "New tenant",
            "Edit",
            "Edit members",
            "Delete…",
            "Move selected",
            "Assign",
            "Import a zone file…",
            "Run the check now",
        ];
        let check = |page: String, shown: Vec<String>| {
            for w in writes {
                assert!(
                    !shown.iter().any(|s| s == w),
                    "a viewer sees {w:?} on {page}: {shown:?}"
                );
            }
        };

        b.click_link("Servers").await;
        b.see("voip1.example.com").await;
        check(b.path().await, buttons(b.clone()).await);
        b.click_link("voip1").await;
        b.see("Server voip1").await;
        check(b.path().await, buttons(b.clone()).await);

        b.click_link("Pools").await;
        b.see("pbxa.example.com").await;
        check(b.path().await, buttons(b.clone()).await);
        b.click_link("pbxA").await;
        b.see("Pool pbxA").await;
        check(b.path().await, buttons(b.clone()).await);

        b.click_link("Tenants").await;
        b.see("12 tenants").await;
        check(b.path().await, buttons(b.clone()).await);
        assert_eq!(b.count(Locator::Css("input[name='tenant']")).await, 0);
        assert_eq!(b.count(Locator::Id("bulk-pool")).await, 0);
        b.click_link("CANISTRACCI").await;
        b.see("Canistracci Trasporti").await;
        check(b.path().await, buttons(b.clone()).await);
        assert_eq!(b.count(Locator::Id("assign-pool")).await, 0);

        // The plan can be looked at but not applied.
        b.click_link("Rebalance").await;
        b.click_button("Compute plan").await;
        b.see("after the plan").await;
        assert_eq!(b.count(Locator::Css("input[name='move']")).await, 0);
        let apply = b
            .count(Locator::XPath(
                "//button[starts-with(normalize-space(.), 'Apply')]",
            ))
            .await;
        assert_eq!(apply, 0, "a viewer sees the apply button");

        b.click_link("DNS").await;
        b.see("SRV records to publish").await;
        check(b.path().await, buttons(b.clone()).await);

        // A write form typed into the address bar is not even shown to a viewer.
        b.goto("/servers/new").await;
        b.see("Only administrators may see or change this.").await;
        assert_eq!(
            b.count(Locator::Id("host")).await,
            0,
            "no server form for a viewer"
        );
        b.goto("/servers").await;
        b.see("voip1.example.com").await;
        b.not_see("sneaky").await;

        // 10. Logging out changes nothing in the cluster, so a viewer may do it too.
        b.goto("/").await;
        b.logout().await;
    })
    .await;
    app.stop().await;
}
