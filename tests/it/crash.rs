//! Issue #13's crash test: the real binary is killed with SIGKILL at random moments while
//! writers keep writing (registration pushes, tenant moves through the API, tenant edits
//! through the HTML form, CSV imports); after each kill the database must be whole (SQLite:
//! `PRAGMA integrity_check` and `foreign_key_check`) and every write the server acknowledged
//! (2xx/303, an import only once its job page says done) must be there.
//!
//! The short form runs in `cargo test` (5 kills on SQLite, 3 on PostgreSQL when
//! `PBX_POOLS_TEST_PG_URL` is set); the long form is the same code with more kills:
//! `PBX_POOLS_CRASH_KILLS=50 PBX_POOLS_CRASH_KILLS_PG=20 cargo test --release --test it crash -- --nocapture`
//! (`benches/crash.sh`). `PBX_POOLS_CRASH_SEED` replays a run's random choices (the timing of
//! the kill itself cannot be replayed exactly).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers;

const PASSWORD: &str = "crash-test-password-1";
const POOLS: [&str; 3] = ["pbxA", "pbxB", "wiki"];

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_pbx-pools")
}

fn env_count(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client (one connection per request, `Connection: close`).

struct Res {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Res {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = body.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&body[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        let end = (start + size).min(body.len());
        out.extend_from_slice(&body[start..end]);
        body = &body[(end + 2).min(body.len())..];
    }
}

async fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Option<Res> {
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).await.ok()?;
        s.write_all(body).await.ok()?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.ok()?;
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let mut lines = head.split("\r\n");
        let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let mut body = raw[split + 4..].to_vec();
        if headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
        }) {
            body = dechunk(&body);
        }
        Some(Res {
            status,
            headers,
            body: String::from_utf8_lossy(&body).to_string(),
        })
    };
    tokio::time::timeout(Duration::from_secs(30), attempt)
        .await
        .ok()
        .flatten()
}

fn form_body(fields: &[(&str, &str)]) -> Vec<u8> {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", helpers::urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

// ---------------------------------------------------------------------------------------------
// What the writers were told was stored.

#[derive(Default)]
struct Acked {
    /// Tenant code -> (version, name, pool) of the newest acknowledged write.
    tenants: HashMap<String, (i64, String, Option<String>)>,
    /// Server -> acknowledged snapshot ids.
    snapshots: Vec<(String, i64)>,
    /// Every endpoint set ever sent per server, acknowledged or not: the stored picture must be
    /// exactly one of them.
    pictures: HashMap<String, Vec<BTreeSet<String>>>,
    /// Imports: (codes, acknowledged).
    imports: Vec<(Vec<String>, bool)>,
    api_moves: u64,
    form_edits: u64,
    pushes: u64,
    imports_done: u64,
    imported_tenants: u64,
}

impl Acked {
    fn tenant(&mut self, code: &str, version: i64, name: String, pool: Option<String>) {
        let e = self
            .tenants
            .entry(code.to_string())
            .or_insert((0, String::new(), None));
        if version >= e.0 {
            *e = (version, name, pool);
        }
    }
}

type Shared = Arc<Mutex<Acked>>;

struct Ctx {
    port: u16,
    admin_token: String,
    ingest: HashMap<String, String>,
    cookie: String,
    csrf: String,
    seed: u64,
}

async fn pusher(ctx: Arc<Ctx>, acked: Shared, server: String, codes: Vec<String>, writer: u64) {
    let mut rng = fastrand::Rng::with_seed(ctx.seed ^ writer);
    let token = ctx.ingest[&server].clone();
    for n in 0u64.. {
        // A distinct set per push: the stored picture names the report it came from.
        let tag = format!("{:x}{:x}{n}", ctx.seed & 0xffff, rng.u32(..));
        let endpoints: BTreeSet<String> = (0..rng.usize(5..60))
            .map(|i| {
                format!(
                    "{}-{tag}-{i}",
                    codes[rng.usize(..codes.len())].to_lowercase()
                )
            })
            .collect();
        acked
            .lock()
            .unwrap()
            .pictures
            .entry(server.clone())
            .or_default()
            .push(endpoints.clone());
        let Some(res) = http(
            ctx.port,
            "POST",
            &format!("/api/v1/servers/{server}/registrations?format=pjsip-contacts"),
            &[
                ("authorization", format!("Bearer {token}")),
                ("content-type", "text/plain".into()),
            ],
            helpers::pjsip_contacts(&endpoints).as_bytes(),
        )
        .await
        else {
            return;
        };
        if res.status == 200 {
            let v: serde_json::Value =
                serde_json::from_str(&res.body).expect("ingest answers JSON");
            let id = v["snapshot_id"].as_i64().expect("snapshot_id");
            let mut a = acked.lock().unwrap();
            a.snapshots.push((server.clone(), id));
            a.pushes += 1;
        }
    }
}

async fn api_mover(ctx: Arc<Ctx>, acked: Shared, codes: Vec<String>, writer: u64) {
    let mut rng = fastrand::Rng::with_seed(ctx.seed ^ writer);
    let auth = ("authorization", format!("Bearer {}", ctx.admin_token));
    loop {
        let code = &codes[rng.usize(..codes.len())];
        let Some(res) = http(
            ctx.port,
            "GET",
            &format!("/api/v1/tenants/{code}"),
            std::slice::from_ref(&auth),
            b"",
        )
        .await
        else {
            return;
        };
        if res.status != 200 {
            continue;
        }
        let t: serde_json::Value = serde_json::from_str(&res.body).unwrap();
        let version = t["version"].as_i64().expect("a tenant has a version");
        let pool = POOLS[rng.usize(..POOLS.len())];
        let body = serde_json::json!({ "pool": pool, "version": version }).to_string();
        let Some(res) = http(
            ctx.port,
            "PUT",
            &format!("/api/v1/tenants/{code}/pool"),
            &[auth.clone(), ("content-type", "application/json".into())],
            body.as_bytes(),
        )
        .await
        else {
            return;
        };
        if (200..300).contains(&res.status) {
            let t: serde_json::Value = serde_json::from_str(&res.body).unwrap();
            let v = t["version"].as_i64().expect("version");
            let name = t["name"].as_str().unwrap().to_string();
            let pool = t["pool_name"].as_str().map(str::to_string);
            let mut a = acked.lock().unwrap();
            a.tenant(code, v, name, pool);
            a.api_moves += 1;
        } else {
            assert_eq!(
                res.status, 409,
                "a move is stored or refused as stale: {}",
                res.body
            );
        }
    }
}

async fn form_editor(ctx: Arc<Ctx>, acked: Shared, tenants: Vec<(i64, String)>, writer: u64) {
    let mut rng = fastrand::Rng::with_seed(ctx.seed ^ writer);
    let cookie = ("cookie", ctx.cookie.clone());
    loop {
        let (_id, code) = &tenants[rng.usize(..tenants.len())];
        let Some(page) = http(
            ctx.port,
            "GET",
            &format!("/tenants/{code}/edit"),
            std::slice::from_ref(&cookie),
            b"",
        )
        .await
        else {
            return;
        };
        assert_eq!(page.status, 200, "the edit form: {}", page.body);
        let version: i64 = hidden(&page.body, "version").unwrap().parse().unwrap();
        let csrf = hidden(&page.body, "csrf").unwrap_or_else(|| ctx.csrf.clone());
        let name = format!("Crash {} {}", writer, rng.u32(..));
        let pool = POOLS[rng.usize(..POOLS.len())];
        let phones = rng.u32(1..200).to_string();
        let version_text = version.to_string();
        let body = form_body(&[
            ("csrf", &csrf),
            ("code", code),
            ("name", &name),
            ("expected_phones", &phones),
            ("pool", pool),
            ("notes", "written by the crash test"),
            ("version", &version_text),
        ]);
        let Some(res) = http(
            ctx.port,
            "POST",
            &format!("/tenants/{code}"),
            &[
                cookie.clone(),
                ("content-type", "application/x-www-form-urlencoded".into()),
            ],
            &body,
        )
        .await
        else {
            return;
        };
        if res.status == 303 {
            let mut a = acked.lock().unwrap();
            a.tenant(code, version + 1, name, Some(pool.to_string()));
            a.form_edits += 1;
        } else {
            assert_eq!(
                res.status, 409,
                "an edit is stored or refused as stale: {}",
                res.body
            );
        }
    }
}

async fn importer(ctx: Arc<Ctx>, acked: Shared, cycle: u32, writer: u64) {
    let mut rng = fastrand::Rng::with_seed(ctx.seed ^ writer);
    let cookie = ("cookie", ctx.cookie.clone());
    for n in 0u32.. {
        let codes: Vec<String> = (0..rng.usize(3..25))
            .map(|i| format!("CR{:X}C{cycle}N{n}I{i}", ctx.seed & 0xffff))
            .collect();
        let mut csv = String::from("code,name,expected_phones,pool\n");
        for c in &codes {
            csv.push_str(&format!(
                "{c},Imported {c},{},{}\n",
                rng.u32(1..50),
                POOLS[rng.usize(..POOLS.len())]
            ));
        }
        let index = {
            let mut a = acked.lock().unwrap();
            a.imports.push((codes.clone(), false));
            a.imports.len() - 1
        };
        let b = "crashboundary7MA4YWxkTrZu0gW";
        // apply_anyway: the import may load a server past a level (the impact preview); the
        // crash, not the preview, is what this test is about.
        let body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n--{b}\r\nContent-Disposition: form-data; name=\"csv\"\r\n\r\n{csv}\r\n--{b}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\napply\r\n--{b}\r\nContent-Disposition: form-data; name=\"apply_anyway\"\r\n\r\n1\r\n--{b}--\r\n",
            ctx.csrf
        );
        let Some(res) = http(
            ctx.port,
            "POST",
            "/tenants/import",
            &[
                cookie.clone(),
                ("content-type", format!("multipart/form-data; boundary={b}")),
            ],
            body.as_bytes(),
        )
        .await
        else {
            return;
        };
        assert_eq!(res.status, 303, "an import starts: {}", res.body);
        let job = res.header("location").unwrap().to_string();
        assert!(job.starts_with("/jobs/"), "{job}");
        loop {
            let Some(page) = http(ctx.port, "GET", &job, std::slice::from_ref(&cookie), b"").await
            else {
                return;
            };
            assert_eq!(page.status, 200, "{}", page.body);
            if page.body.contains("class=\"flash\" role=\"status\"") {
                let mut a = acked.lock().unwrap();
                a.imports[index].1 = true;
                a.imports_done += 1;
                a.imported_tenants += codes.len() as u64;
                break;
            }
            assert!(
                !page.body.contains("role=\"alert\""),
                "an import failed while its server ran: {}",
                page.body
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The server process.

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn cli(args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pbx-pools");
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            writeln!(input, "{s}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "pbx-pools {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn token(url: &str, name: &str, scope: &str) -> String {
    let out = cli(
        &[
            "token",
            "create",
            "--name",
            name,
            "--scope",
            scope,
            "--database-url",
            url,
        ],
        None,
    );
    let start = out.find("pbxp_").expect("a token secret is printed");
    out[start..].split_whitespace().next().unwrap().to_string()
}

async fn start(url: &str, log: &std::path::Path) -> (Child, u16) {
    for _ in 0..5 {
        let port = free_port();
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let mut child = Command::new(bin())
            .args([
                "serve",
                "--database-url",
                url,
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::from(log_file.try_clone().unwrap()))
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("start pbx-pools serve");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(r) = http(port, "GET", "/healthz", &[], b"").await
                && r.status == 200
            {
                return (child, port);
            }
            if let Ok(Some(status)) = child.try_wait() {
                eprintln!("server exited ({status}) before it answered; retrying on another port");
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!(
        "the server did not come up after a restart; its log: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

async fn login(port: u16) -> (String, String) {
    let res = http(
        port,
        "POST",
        "/login",
        &[("content-type", "application/x-www-form-urlencoded".into())],
        &form_body(&[("name", "admin"), ("password", PASSWORD), ("next", "/")]),
    )
    .await
    .expect("login answers");
    assert_eq!(res.status, 303, "login: {}", res.body);
    let cookie = res
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| v.split(';').next())
        .find(|c| c.starts_with("pbx_session="))
        .expect("a session cookie")
        .to_string();
    let home = http(port, "GET", "/", &[("cookie", cookie.clone())], b"")
        .await
        .expect("home answers");
    assert_eq!(home.status, 200);
    let csrf = helpers::extract_csrf(&home.body).expect("pages carry a CSRF token");
    (cookie, csrf)
}

// ---------------------------------------------------------------------------------------------
// The checks, run with the server dead.

async fn check(url: &str, sqlite: bool, acked: &Acked, cycle: u32) -> u64 {
    let pool = sqlx::AnyPool::connect(url)
        .await
        .expect("open the database");
    let mut checks = 0u64;
    if sqlite {
        let (ok,): (String,) = sqlx::query_as("PRAGMA integrity_check")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(ok, "ok", "cycle {cycle}: integrity_check");
        let bad = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert!(
            bad.is_empty(),
            "cycle {cycle}: {} foreign key violations",
            bad.len()
        );
        checks += 2;
    }
    // Tenants: each acknowledged write is there, or a newer one.
    let rows: Vec<(String, i64, String, Option<String>)> = sqlx::query_as(
        "SELECT t.code, t.version, t.name, p.name FROM tenants t LEFT JOIN pools p ON p.id = t.pool_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let stored: HashMap<String, (i64, String, Option<String>)> = rows
        .into_iter()
        .map(|(c, v, n, p)| (c, (v, n, p)))
        .collect();
    for (code, (version, name, pool_name)) in &acked.tenants {
        let (sv, sn, sp) = stored
            .get(code)
            .unwrap_or_else(|| panic!("cycle {cycle}: tenant {code} is gone"));
        assert!(
            sv >= version,
            "cycle {cycle}: tenant {code} is at version {sv}, but version {version} was acknowledged"
        );
        if sv == version {
            assert_eq!(
                (sn, sp),
                (name, pool_name),
                "cycle {cycle}: tenant {code} at the acknowledged version {version} holds other values"
            );
        }
        checks += 1;
    }
    // Imports: acknowledged ones are there; each is all or nothing.
    for (codes, done) in &acked.imports {
        let present = codes.iter().filter(|c| stored.contains_key(*c)).count();
        if *done {
            assert_eq!(
                present,
                codes.len(),
                "cycle {cycle}: an acknowledged import of {} tenants has {present}",
                codes.len()
            );
        } else {
            assert!(
                present == 0 || present == codes.len(),
                "cycle {cycle}: an unfinished import was stored in part ({present} of {})",
                codes.len()
            );
        }
        checks += 1;
    }
    // Snapshots: each acknowledged id exists, for its server.
    let snaps: Vec<(i64, String)> = sqlx::query_as(
        "SELECT sn.id, s.name FROM snapshots sn JOIN servers s ON s.id = sn.server_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let snaps: BTreeMap<i64, String> = snaps.into_iter().collect();
    for (server, id) in &acked.snapshots {
        assert_eq!(
            snaps.get(id),
            Some(server),
            "cycle {cycle}: acknowledged snapshot {id} of {server} is missing"
        );
        checks += 1;
    }
    // Registration pictures: each server's stored registrations are one whole report.
    for (server, sent) in &acked.pictures {
        let picture = stored_picture(&pool, server).await;
        assert!(
            sent.contains(&picture),
            "cycle {cycle}: the registrations of {server} ({} rows) are not one pushed report",
            picture.len()
        );
        checks += 1;
    }
    pool.close().await;
    checks
}

// ---------------------------------------------------------------------------------------------

async fn run(db: helpers::TestDb, kills: u32) {
    let sqlite = db.label == "sqlite";
    let url = db.url.clone();
    let seed = std::env::var("PBX_POOLS_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!(
        "crash test on {}: {kills} kills, seed {seed} (PBX_POOLS_CRASH_SEED={seed} replays the choices)",
        db.label
    );
    let mut rng = fastrand::Rng::with_seed(seed);
    let began = Instant::now();
    cli(&["demo", "--database-url", &url], None);
    cli(
        &[
            "user",
            "add",
            "admin",
            "--role",
            "admin",
            "--password-stdin",
            "--database-url",
            &url,
        ],
        Some(PASSWORD),
    );
    let admin_token = token(&url, "crash-admin", "admin");
    let mut ingest = HashMap::new();
    for s in ["voip1", "voip2"] {
        ingest.insert(
            s.to_string(),
            token(&url, &format!("crash-{s}"), &format!("ingest:{s}")),
        );
    }
    let acked: Shared = Arc::default();
    let tenants: Vec<(i64, String)> = {
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let t = sqlx::query_as("SELECT id, code FROM tenants ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
        // The demo's own registrations are a picture too: a kill before a server's first push
        // commits leaves them (CI once killed cycle 0 before voip2's first push was stored).
        for server in ["voip1", "voip2"] {
            let picture = stored_picture(&pool, server).await;
            acked
                .lock()
                .unwrap()
                .pictures
                .entry(server.to_string())
                .or_default()
                .push(picture);
        }
        pool.close().await;
        t
    };
    assert!(tenants.len() >= 4, "the demo has tenants");
    // The API mover owns the even tenants, the form editor the odd ones.
    let api_codes: Vec<String> = tenants.iter().step_by(2).map(|t| t.1.clone()).collect();
    let form_tenants: Vec<(i64, String)> = tenants.iter().skip(1).step_by(2).cloned().collect();
    let all_codes: Vec<String> = tenants.iter().map(|t| t.1.clone()).collect();

    let log = std::path::PathBuf::from(format!(
        "{}/crash-{}-{}.log",
        std::env::temp_dir().display(),
        db.label,
        std::process::id()
    ));
    let mut checks = 0u64;
    for cycle in 0..kills {
        let (mut child, port) = start(&url, &log).await;
        let (cookie, csrf) = login(port).await;
        let ctx = Arc::new(Ctx {
            port,
            admin_token: admin_token.clone(),
            ingest: ingest.clone(),
            cookie,
            csrf,
            seed: seed.wrapping_add(cycle as u64 * 1000),
        });
        let mut tasks = tokio::task::JoinSet::new();
        for (i, s) in ["voip1", "voip1", "voip2"].iter().enumerate() {
            tasks.spawn(pusher(
                ctx.clone(),
                acked.clone(),
                s.to_string(),
                all_codes.clone(),
                i as u64 + 1,
            ));
        }
        tasks.spawn(api_mover(ctx.clone(), acked.clone(), api_codes.clone(), 10));
        tasks.spawn(form_editor(
            ctx.clone(),
            acked.clone(),
            form_tenants.clone(),
            20,
        ));
        tasks.spawn(importer(ctx.clone(), acked.clone(), cycle, 30));
        tokio::time::sleep(Duration::from_millis(rng.u64(200..2000))).await;
        // SIGKILL while requests are in flight.
        child.kill().expect("kill -9 the server");
        child.wait().unwrap();
        // The writers see their connections fail and stop; a panic is a wrong answer.
        while let Some(r) = tasks.join_next().await {
            if let Err(e) = r
                && e.is_panic()
            {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        let seen = std::mem::take(&mut *acked.lock().unwrap());
        checks += check(&url, sqlite, &seen, cycle).await;
        *acked.lock().unwrap() = seen;
    }
    // A last restart: the server comes up on what the kills left behind.
    let (mut child, _) = start(&url, &log).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let a = std::mem::take(&mut *acked.lock().unwrap());
    eprintln!(
        "crash test on {}: {kills} kills in {:.1?}; acknowledged: {} pushes, {} API moves, {} form edits, {} imports ({} tenants); {checks} checks passed (seed {seed})",
        db.label,
        began.elapsed(),
        a.pushes,
        a.api_moves,
        a.form_edits,
        a.imports_done,
        a.imported_tenants,
    );
    let _ = std::fs::remove_file(&log);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_sqlite_kill_9_loses_no_acknowledged_write() {
    let db = helpers::sqlite().await;
    run(db, env_count("PBX_POOLS_CRASH_KILLS", 5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_postgres_kill_9_loses_no_acknowledged_write() {
    let Some(db) = helpers::postgres().await else {
        return;
    };
    run(db, env_count("PBX_POOLS_CRASH_KILLS_PG", 3)).await;
}

/// The endpoints `server` has stored: its current registration picture.
async fn stored_picture(pool: &sqlx::AnyPool, server: &str) -> BTreeSet<String> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT r.endpoint FROM registrations r JOIN servers s ON s.id = r.server_id WHERE s.name = $1",
    )
    .bind(server)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().map(|(e,)| e).collect()
}
