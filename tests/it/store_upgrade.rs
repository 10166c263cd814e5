//! Upgrading a database that the previous release made, with data in every table: migrations
//! 1–6 only (the schema main had before the constraints of 0007), rows written through the
//! store as that release wrote them, then the full migration. Nothing may be lost, foreign keys
//! must still hold, and the new rules must be the database's own. Run on SQLite and, when
//! `PBX_POOLS_TEST_PG_URL` is set, PostgreSQL (mandatory when `CI=true`, see tests/it/helpers).

use crate::helpers;
use pbx_pools::domain::auth::{Role, Scope};
use pbx_pools::domain::demo::source_document_cluster;
use pbx_pools::domain::dnscheck::CheckReport;
use pbx_pools::store::Store;
use sqlx::{AnyPool, Row};

/// The last migration of the previous release.
const PREVIOUS: i64 = 6;
/// Every migration the binary embeds for `backend` (`sqlite`, `postgres`): an upgrade applies
/// all of them after `PREVIOUS`. Read from the directory the store embeds (its own unit test
/// holds the list and the directory equal), so that a new migration needs no edit here.
fn all_migrations(backend: &str) -> Vec<i64> {
    let dir = format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
    let mut versions: Vec<i64> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            name.get(..4)?.parse().ok()
        })
        .collect();
    versions.sort();
    versions
}

/// Every table of the schema that lives through the upgrade, to be counted before and after
/// (`login_failures` becomes `login_throttle` in 0011, checked on its own).
const TABLES: &[&str] = &[
    "servers",
    "pools",
    "pool_members",
    "tenants",
    "settings",
    "audit_log",
    "users",
    "sessions",
    "api_tokens",
    "snapshots",
    "registrations",
    "tenant_server_counts",
    "phones",
    "phone_moves",
    "dns_checks",
    "job_leases",
];

/// Every foreign key: (table, column, referenced table).
const FOREIGN_KEYS: &[(&str, &str, &str)] = &[
    ("pool_members", "pool_id", "pools"),
    ("pool_members", "server_id", "servers"),
    ("tenants", "pool_id", "pools"),
    ("snapshots", "server_id", "servers"),
    ("registrations", "server_id", "servers"),
    ("registrations", "tenant_id", "tenants"),
    ("tenant_server_counts", "tenant_id", "tenants"),
    ("tenant_server_counts", "server_id", "servers"),
    ("phones", "server_id", "servers"),
    ("phone_moves", "tenant_id", "tenants"),
    ("phone_moves", "from_server_id", "servers"),
    ("phone_moves", "to_server_id", "servers"),
];

/// A database migrated only to `PREVIOUS`, with a raw connection beside the store.
struct OldDb {
    label: &'static str,
    store: Store,
    raw: AnyPool,
    /// PostgreSQL: the admin URL and the schema to drop; SQLite: the directory to remove.
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(std::path::PathBuf),
    Schema { admin_url: String, schema: String },
}

fn unique(prefix: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

async fn old_sqlite() -> OldDb {
    let dir = std::env::temp_dir().join(unique("pbx_pools_upgrade"));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/old.db", dir.display());
    old_db("sqlite", &url, Cleanup::Dir(dir)).await
}

/// `None` (after tests/common's loud `skipped:` line) when PostgreSQL is not configured.
async fn old_postgres() -> Option<OldDb> {
    let admin_url = helpers::pg_admin_url()?;
    sqlx::any::install_default_drivers();
    let schema = unique("pbxu");
    let admin = AnyPool::connect(&admin_url).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{sep}options[search_path]={schema}");
    Some(old_db("postgres", &url, Cleanup::Schema { admin_url, schema }).await)
}

async fn old_db(label: &'static str, url: &str, cleanup: Cleanup) -> OldDb {
    let store = Store::connect(url).await.expect("connect");
    store.migrate_to(PREVIOUS).await.expect("migrations 1-6");
    sqlx::any::install_default_drivers();
    let raw = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap();
    OldDb {
        label,
        store,
        raw,
        cleanup,
    }
}

impl OldDb {
    async fn close(self) {
        self.raw.close().await;
        self.store.close().await;
        match self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema { admin_url, schema } => {
                if let Ok(admin) = AnyPool::connect(&admin_url).await {
                    let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                        .execute(&admin)
                        .await;
                    admin.close().await;
                }
            }
        }
    }

    async fn applied(&self) -> Vec<i64> {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&self.raw)
            .await
            .unwrap()
    }

    async fn counts(&self) -> Vec<(&'static str, i64)> {
        let mut out = Vec::new();
        for table in TABLES {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&self.raw)
                .await
                .unwrap();
            out.push((*table, n));
        }
        out
    }

    /// Rows whose foreign key names a row that does not exist, per key (SQLite also asked
    /// with `PRAGMA foreign_key_check`).
    async fn orphans(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (table, column, parent) in FOREIGN_KEYS {
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM {table} c WHERE c.{column} IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = c.{column})"
            ))
            .fetch_one(&self.raw)
            .await
            .unwrap();
            if n > 0 {
                out.push(format!("{n} rows of {table}.{column}"));
            }
        }
        if self.label == "sqlite" {
            let rows = sqlx::query("PRAGMA foreign_key_check")
                .fetch_all(&self.raw)
                .await
                .unwrap();
            if !rows.is_empty() {
                out.push(format!("PRAGMA foreign_key_check: {} rows", rows.len()));
            }
        }
        out
    }

    /// A server's reported picture as the releases before 0012 stored it (no fingerprints),
    /// with the counts, phones, moves and snapshot that went with it.
    async fn old_registrations(&self) {
        let now = jiff::Timestamp::now().as_second();
        let server: i64 = sqlx::query("SELECT id FROM servers ORDER BY id LIMIT 1")
            .fetch_one(&self.raw)
            .await
            .unwrap()
            .get(0);
        let row = sqlx::query("SELECT id, code_key FROM tenants ORDER BY id LIMIT 1")
            .fetch_one(&self.raw)
            .await
            .unwrap();
        let (tenant, key): (i64, String) = (row.get(0), row.get(1));
        for (i, endpoint) in ["100", "101"].iter().enumerate() {
            let endpoint = format!("{endpoint}-{key}");
            sqlx::query(
                "INSERT INTO registrations (server_id, endpoint, endpoint_key, tenant_key, tenant_id, contact, user_agent, status, registered) \
                 VALUES ($1, $2, $3, $4, $5, $6, NULL, 'Avail', 1)",
            )
            .bind(server)
            .bind(&endpoint)
            .bind(endpoint.to_lowercase())
            .bind(&key)
            .bind(tenant)
            .bind(format!("sip:{endpoint}@192.0.2.{}:5060", i + 10))
            .execute(&self.raw)
            .await
            .unwrap();
            sqlx::query("INSERT INTO phones (endpoint_key, server_id, since) VALUES ($1, $2, $3)")
                .bind(endpoint.to_lowercase())
                .bind(server)
                .bind(now - 7200)
                .execute(&self.raw)
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO phone_moves (endpoint_key, tenant_id, from_server_id, to_server_id, at) VALUES ($1, $2, NULL, $3, $4)",
            )
            .bind(endpoint.to_lowercase())
            .bind(tenant)
            .bind(server)
            .bind(now - 7200)
            .execute(&self.raw)
            .await
            .unwrap();
        }
        sqlx::query(
            "INSERT INTO tenant_server_counts (tenant_id, server_id, phones) VALUES ($1, $2, 2)",
        )
        .bind(tenant)
        .bind(server)
        .execute(&self.raw)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO snapshots (server_id, received_at, format, contacts, registered, unmatched, actor) \
             VALUES ($1, $2, 'pjsip-contacts', 2, 2, 0, 'demo')",
        )
        .bind(server)
        .bind(now - 7200)
        .execute(&self.raw)
        .await
        .unwrap();
        sqlx::query("UPDATE servers SET last_report_at = $1, reporting_since = $1 WHERE id = $2")
            .bind(now - 7200)
            .bind(server)
            .execute(&self.raw)
            .await
            .unwrap();
    }

    /// Data in every table, written the way the previous release writes it.
    async fn populate(&self) {
        let store = &self.store;
        store
            .load_demo(&source_document_cluster(), "demo")
            .await
            .unwrap();
        self.old_registrations().await;
        let hash = pbx_pools::domain::auth::hash_password("a-password-of-the-admin").unwrap();
        store
            .create_user("admin", &hash, Role::Admin, "setup", true)
            .await
            .unwrap();
        store
            .create_user("viewer", &hash, Role::Viewer, "admin", false)
            .await
            .unwrap();
        store
            .set_user_disabled("viewer", true, "admin")
            .await
            .unwrap();
        store
            .create_token("reader", "pbxp_reader_secret", &Scope::Read, "admin")
            .await
            .unwrap();
        store
            .create_token(
                "voip1-push",
                "pbxp_voip1_secret",
                &Scope::Ingest("voip1".into()),
                "admin",
            )
            .await
            .unwrap();
        let (settings, version) = store.settings().await.unwrap();
        store
            .save_settings(&settings, version, "admin")
            .await
            .unwrap();
        store
            .save_dns_check(
                &CheckReport {
                    at: 1,
                    nameservers: vec!["192.0.2.53".into()],
                    pools: Vec::new(),
                },
                "admin",
            )
            .await
            .unwrap();
        assert!(
            store
                .try_lease("dns-check", "instance-a", 60)
                .await
                .unwrap()
        );
        // Recent failed logins, as the release before 0011 recorded them.
        for key in ["user:mallory", "addr:203.0.113.9"] {
            sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)")
                .bind(key)
                .bind(jiff::Timestamp::now().as_second() - 60)
                .execute(&self.raw)
                .await
                .unwrap();
        }
        sqlx::query("INSERT INTO sessions (id_hash, data, expires_at) VALUES ('abc', '{}', $1)")
            .bind(jiff::Timestamp::now().as_second() + 3600)
            .execute(&self.raw)
            .await
            .unwrap();
    }
}

async fn old_databases() -> Vec<OldDb> {
    let mut dbs = vec![old_sqlite().await];
    if let Some(pg) = old_postgres().await {
        dbs.push(pg);
    }
    dbs
}

#[tokio::test]
async fn upgrading_a_populated_database_keeps_every_row_and_adds_the_rules() {
    for db in old_databases().await {
        let label = db.label;
        eprintln!("-- backend {label}");
        assert_eq!(db.applied().await, (1..=PREVIOUS).collect::<Vec<_>>());
        db.populate().await;
        let before = db.counts().await;
        for (table, n) in &before {
            assert!(*n > 0, "{label}: the old database has rows in {table}");
        }
        let servers = db.store.servers().await.unwrap();
        let pools = db.store.pools().await.unwrap();
        let tenants = db.store.all_tenants().await.unwrap();
        let users = db.store.users().await.unwrap();
        let tokens = db.store.tokens().await.unwrap();
        let settings = db.store.settings().await.unwrap();
        assert!(db.orphans().await.is_empty(), "{label}");

        db.store.migrate().await.expect("upgrade");

        assert_eq!(db.applied().await, all_migrations(label), "{label}");
        assert_eq!(
            db.counts().await,
            before,
            "{label}: every row is still there"
        );
        assert_eq!(db.orphans().await, Vec::<String>::new(), "{label}");
        assert_eq!(db.store.servers().await.unwrap(), servers, "{label}");
        assert_eq!(
            serde_json::to_value(db.store.pools().await.unwrap()).unwrap(),
            serde_json::to_value(&pools).unwrap()
        );
        assert_eq!(
            serde_json::to_value(db.store.all_tenants().await.unwrap()).unwrap(),
            serde_json::to_value(&tenants).unwrap()
        );
        assert_eq!(
            serde_json::to_value(db.store.users().await.unwrap()).unwrap(),
            serde_json::to_value(&users).unwrap()
        );
        assert_eq!(
            serde_json::to_value(db.store.tokens().await.unwrap()).unwrap(),
            serde_json::to_value(&tokens).unwrap()
        );
        assert_eq!(db.store.settings().await.unwrap(), settings);
        // Migration 0011 turned the recent failed logins into throttle counters.
        let carried: Vec<(String, i64)> =
            sqlx::query_as("SELECT key, attempts FROM login_throttle ORDER BY key")
                .fetch_all(&db.raw)
                .await
                .unwrap();
        assert_eq!(
            carried,
            vec![
                ("addr:203.0.113.9".to_string(), 1),
                ("user:mallory".to_string(), 1)
            ],
            "{label}"
        );

        // The database itself now refuses what the application could not read.
        let voip1 = servers.iter().find(|s| s.name == "voip1").unwrap();
        for (sql, rule) in [
            (
                format!(
                    "UPDATE servers SET state = 'paused' WHERE id = {}",
                    voip1.id
                ),
                "servers_state_check",
            ),
            (
                "INSERT INTO servers (name, host, state, updated_at, updated_by) \
                 VALUES ('voip99', 'voip99.example.com', 'paused', 1, 'x')"
                    .to_string(),
                "servers_state_check",
            ),
            (
                "UPDATE users SET role = 'root' WHERE name = 'admin'".to_string(),
                "users_role_check",
            ),
            (
                "UPDATE users SET disabled = 2 WHERE name = 'admin'".to_string(),
                "users_disabled_check",
            ),
            (
                "UPDATE api_tokens SET scope = 'ingest:' WHERE name = 'reader'".to_string(),
                "api_tokens_scope_check",
            ),
            (
                "UPDATE tenants SET expected_phones = -1".to_string(),
                "tenants_expected_phones_check",
            ),
            (
                "UPDATE pool_members SET weight = 65536".to_string(),
                "pool_members_weight_check",
            ),
            (
                "UPDATE pools SET version = 0".to_string(),
                "pools_version_check",
            ),
        ] {
            match sqlx::query(&sql).execute(&db.raw).await {
                Err(e) => assert!(
                    e.to_string().contains(rule),
                    "{label}: {sql} was refused, but not by {rule}: {e}"
                ),
                Ok(_) => panic!("{label}: the database accepted {sql}"),
            }
        }
        assert_eq!(db.counts().await, before, "{label}: nothing was written");
        // Valid writes still pass.
        let mut edit = pbx_pools::domain::model::NewServer {
            name: pbx_pools::domain::names::ServerName::parse(&voip1.name).unwrap(),
            host: pbx_pools::domain::names::HostName::parse(&voip1.host).unwrap(),
            sip_port: voip1.sip_port,
            capacity: voip1.capacity,
            site: voip1.site.clone(),
            state: pbx_pools::domain::model::ServerState::Maintenance,
        };
        edit.capacity = Some(1);
        db.store
            .update_server(voip1.id, voip1.version, &edit, "admin")
            .await
            .unwrap();
        // Migration 0012: the old rows have no fingerprint, so the first report after the
        // upgrade rewrites them once (and keeps the counts right); the next identical one
        // writes nothing.
        let server = servers.iter().min_by_key(|s| s.id).unwrap();
        let tenant = tenants.iter().min_by_key(|t| t.id).unwrap();
        let dump = helpers::pjsip_contacts([format!("100-{}", tenant.code)]);
        let rows = pbx_pools::domain::registrations::parse_dump(
            pbx_pools::domain::registrations::DumpFormat::PjsipContacts,
            &dump,
        )
        .unwrap();
        let policy = pbx_pools::store::IngestPolicy::from_settings(&settings.0);
        let first = db
            .store
            .ingest(server.id, "pjsip-contacts", &rows[..], &policy, "test")
            .await
            .unwrap();
        assert_eq!((first.written, first.matched), (3, 1), "{label}");
        let again = db
            .store
            .ingest(server.id, "pjsip-contacts", &rows[..], &policy, "test")
            .await
            .unwrap();
        assert_eq!((again.written, again.matched), (0, 1), "{label}");
        db.close().await;
    }
}

#[tokio::test]
async fn an_invalid_stored_row_fails_the_upgrade_and_changes_nothing() {
    for db in old_databases().await {
        let label = db.label;
        eprintln!("-- backend {label}");
        db.populate().await;
        sqlx::query("UPDATE servers SET state = 'paused' WHERE name = 'voip2'")
            .execute(&db.raw)
            .await
            .unwrap();
        let before = db.counts().await;
        match db.store.migrate().await {
            Err(e) => assert!(
                e.to_string().contains("servers_state_check"),
                "{label}: the failure names the rule: {e}"
            ),
            Ok(()) => panic!("{label}: the upgrade accepted a server in state 'paused'"),
        }
        assert_eq!(
            db.applied().await,
            (1..=PREVIOUS).collect::<Vec<_>>(),
            "{label}: 0007 is not recorded"
        );
        assert_eq!(db.counts().await, before, "{label}");
        // Rolled back as a whole: the first rules are gone too, so an invalid role still passes
        // (and repairing the row lets the upgrade through).
        sqlx::query("UPDATE users SET role = 'root' WHERE name = 'viewer'")
            .execute(&db.raw)
            .await
            .expect("no rule was left behind");
        sqlx::query("UPDATE users SET role = 'viewer' WHERE name = 'viewer'")
            .execute(&db.raw)
            .await
            .unwrap();
        sqlx::query("UPDATE servers SET state = 'retired' WHERE name = 'voip2'")
            .execute(&db.raw)
            .await
            .unwrap();
        db.store.migrate().await.expect("upgrade after the repair");
        assert_eq!(db.counts().await, before, "{label}");
        db.close().await;
    }
}

/// Issue #13, defect 4: the old release let two pools share an SRV owner (here in other case and
/// with the trailing dot, as an older writer stored it). The upgrade must not fail on such a
/// database; the newer pool is left out of the owner index until it is saved, and saving it is
/// refused while it still clashes, naming the other pool. New rows are held to the index.
#[tokio::test]
async fn pools_sharing_an_owner_do_not_stop_the_upgrade() {
    for previous in [PREVIOUS, 7] {
        for db in old_databases().await {
            let label = db.label;
            eprintln!("-- backend {label}, from migration {previous}");
            db.store.migrate_to(previous).await.unwrap();
            db.populate().await;
            sqlx::query(
                "INSERT INTO pools (name, srv_name, ttl, transports, updated_at, updated_by) \
                 VALUES ('pbxA2', 'PBXA.Example.com.', 3600, 'udp', 1, 'old-release')",
            )
            .execute(&db.raw)
            .await
            .unwrap();
            let before = db.counts().await;

            db.store.migrate().await.expect("the upgrade passes");
            assert!(
                db.applied().await.contains(&10),
                "{label}: 0010 is recorded"
            );
            assert_eq!(db.counts().await, before, "{label}: nothing is lost");
            let pools = db.store.pools().await.unwrap();
            let dup = pools.iter().find(|p| p.name == "pbxA2").unwrap().clone();
            assert_eq!(dup.srv_name, "pbxa.example.com", "{label}");

            // The database refuses a third pool on that owner, whatever its spelling.
            let third = sqlx::query(
                "INSERT INTO pools (name, srv_name, ttl, transports, updated_at, updated_by) \
                 VALUES ('pbxA3', 'pbxa.EXAMPLE.com', 3600, 'udp', 1, 'script')",
            )
            .execute(&db.raw)
            .await;
            match third {
                Err(e) => assert!(e.to_string().contains("pools_owner_key"), "{label}: {e}"),
                Ok(_) => panic!("{label}: a third pool on pbxa.example.com was stored"),
            }

            // Saving the old duplicate as it is: refused, naming pbxA.
            let mut edit = pbx_pools::domain::model::NewPool {
                name: dup.name.clone(),
                srv_name: dup.srv_name.clone(),
                ttl: dup.ttl,
                transports: dup.transports.clone(),
            };
            match db
                .store
                .update_pool(dup.id, dup.version, &edit, "admin")
                .await
            {
                Err(pbx_pools::store::Error::Invalid(f)) => {
                    let message = f.get("srv_name").unwrap_or_default().to_string();
                    assert!(message.contains("pool pbxA "), "{label}: {message}");
                }
                other => panic!("{label}: saving the clash was not refused: {other:?}"),
            }
            // Its members can still be edited (nothing about the owner changes)...
            db.store
                .replace_members(dup.id, dup.version, &[], "admin")
                .await
                .unwrap();
            // ...and moving it to its own owner is accepted and puts it under the index.
            edit.srv_name = "pbxa2.example.com".parse().unwrap();
            db.store
                .update_pool(dup.id, dup.version + 1, &edit, "admin")
                .await
                .expect("moved to an owner of its own");
            let back =
                sqlx::query("UPDATE pools SET srv_name = 'pbxa.example.com' WHERE name = 'pbxA2'")
                    .execute(&db.raw)
                    .await;
            assert!(back.is_err(), "{label}: the moved pool is indexed now");
            db.close().await;
        }
    }
}
