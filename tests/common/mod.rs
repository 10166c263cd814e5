//! Test support: fresh databases on every backend the machine offers, and the real router.
#![allow(dead_code)]

use std::sync::Once;
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
    Schema { admin_url: String, schema: String },
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
                    "skipped: PostgreSQL store tests (set PBX_POOLS_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test to run them)"
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

impl TestDb {
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Cleanup::Schema { admin_url, schema } = &self.cleanup
            && let Ok(admin) = sqlx::AnyPool::connect(admin_url).await
        {
            let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&admin)
                .await;
            admin.close().await;
        }
    }
}

/// The real router over a fresh database, driven in-process.
pub struct TestApp {
    pub db: TestDb,
    pub router: axum::Router,
}

pub struct TestResponse {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl TestApp {
    pub async fn sqlite() -> Self {
        Self::on(sqlite().await)
    }

    pub fn on(db: TestDb) -> Self {
        let router = pbx_pools::web::router(pbx_pools::web::AppState::new(db.store.clone()));
        Self { db, router }
    }

    pub fn store(&self) -> &Store {
        &self.db.store
    }

    pub async fn send(&self, req: axum::http::Request<axum::body::Body>) -> TestResponse {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let res = self.router.clone().oneshot(req).await.expect("router");
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        TestResponse {
            status,
            location,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(
            axum::http::Request::get(path)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.send(
            axum::http::Request::post(path)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(body))
                .unwrap(),
        )
        .await
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
