//! The store suite, run on SQLite and (when configured) PostgreSQL: the same specification for
//! both backends.

use pbx_pools::domain::auth::{Role, Scope};
use pbx_pools::domain::demo::{GeneratorSpec, generate_cluster, source_document_cluster};
use pbx_pools::domain::ids::{PoolId, TenantId};
use pbx_pools::domain::model::{NewMember, NewPool, NewServer, NewTenant, ServerState, Transport};
use pbx_pools::domain::names::{HostName, PoolName, ServerName, TenantCode};
use pbx_pools::store::{AuditQuery, Error, PoolFilter, Store, TenantQuery, TenantSort};

use crate::helpers;

fn server(name: &str) -> NewServer {
    NewServer {
        name: ServerName::parse(name).unwrap(),
        host: HostName::parse(&format!("{name}.example.com")).unwrap(),
        sip_port: 5060,
        capacity: Some(500),
        site: None,
        state: ServerState::Active,
    }
}

fn pool(name: &str) -> NewPool {
    NewPool {
        name: PoolName::parse(name).unwrap(),
        srv_name: HostName::parse(&format!("{}.example.com", name.to_lowercase())).unwrap(),
        ttl: 86_400,
        transports: vec![Transport::Udp, Transport::Tls],
    }
}

fn tenant(code: &str, pool_id: Option<PoolId>) -> NewTenant {
    NewTenant {
        code: TenantCode::parse(code).unwrap(),
        name: format!("{code} Srl"),
        expected_phones: 10,
        pool_id,
        notes: String::new(),
    }
}

pub(crate) async fn for_each_backend<F, Fut>(test: F)
where
    F: Fn(Store, &'static str) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in helpers::all_backends().await {
        eprintln!("-- backend {}", db.label);
        test(db.store.clone(), db.label).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn servers_and_pools_are_listed_in_natural_order() {
    for_each_backend(|store, label| async move {
        for name in ["voip10", "voip2", "voip1"] {
            store.create_server(&server(name), "alice").await.unwrap();
        }
        for name in ["pbx10", "pbx9"] {
            store.create_pool(&pool(name), "alice").await.unwrap();
        }
        let servers: Vec<String> = store
            .servers()
            .await
            .unwrap()
            .iter()
            .map(|s| s.name.to_string())
            .collect();
        assert_eq!(servers, ["voip1", "voip2", "voip10"], "{label}");
        let pools: Vec<String> = store
            .pools()
            .await
            .unwrap()
            .iter()
            .map(|p| p.name.to_string())
            .collect();
        assert_eq!(pools, ["pbx9", "pbx10"], "{label}");
    })
    .await;
}

#[tokio::test]
async fn inventory_round_trip() {
    for_each_backend(|store, label| async move {
        let v1 = store
            .create_server(&server("voip1"), "alice")
            .await
            .unwrap();
        let v2 = store
            .create_server(&server("voip2"), "alice")
            .await
            .unwrap();
        assert_eq!(v1.version, 1, "{label}");
        let p = store.create_pool(&pool("pbxA"), "alice").await.unwrap();
        assert_eq!(p.transports, vec![Transport::Udp, Transport::Tls]);
        let members = [
            NewMember {
                server_id: v1.id,
                priority: 10,
                weight: 10,
                port: None,
            },
            NewMember {
                server_id: v2.id,
                priority: 20,
                weight: 10,
                port: None,
            },
            NewMember {
                server_id: v2.id,
                priority: 20,
                weight: 5,
                port: Some(5066),
            },
        ];
        let p = store
            .replace_members(p.id, p.version, &members, "alice")
            .await
            .unwrap();
        assert_eq!(p.version, 2, "replacing members bumps the pool's version");
        assert_eq!(p.members.len(), 3);
        assert_eq!(p.members[0].server_name, "voip1");
        assert_eq!(p.members[2].effective_port, 5066);
        assert_eq!(p.members[1].effective_port, 5060);

        let t = store
            .create_tenant(&tenant("ACME", Some(p.id)), "bob")
            .await
            .unwrap();
        assert_eq!(t.pool_name.as_deref(), Some("pbxA"));
        let by_code = store.tenant_by_code("acme").await.unwrap();
        assert_eq!(by_code.id, t.id, "codes are found without regard to case");

        let pools = store.pools().await.unwrap();
        assert_eq!(pools.len(), 1);
        assert_eq!(pools[0].members.len(), 3);
        let counts = store.pool_tenant_counts().await.unwrap();
        assert_eq!(
            (counts[&p.id].tenants, counts[&p.id].expected_phones),
            (1, 10)
        );

        let (entries, total) = store
            .audit_entries(&AuditQuery {
                per_page: 50,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(total, 5, "{label}: every change is audited");
        assert_eq!(entries[0].object_name, "ACME", "newest first");
        assert_eq!(entries[0].actor, "bob");
        let (by_alice, n) = store
            .audit_entries(&AuditQuery {
                actor: Some("alice".into()),
                per_page: 50,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(n, 4);
        assert!(by_alice.iter().all(|e| e.actor == "alice"));
        let members_entry = by_alice.iter().find(|e| e.action == "members").unwrap();
        assert!(members_entry.after.as_deref().unwrap().contains("5066"));
    })
    .await;
}

#[tokio::test]
async fn unique_names_are_field_errors() {
    for_each_backend(|store, label| async move {
        store.create_server(&server("voip1"), "t").await.unwrap();
        match store.create_server(&server("voip1"), "t").await {
            Err(Error::Invalid(f)) => {
                assert!(f.get("name").unwrap().contains("already exists"), "{label}")
            }
            other => panic!("{label}: expected a field error, got {other:?}"),
        }
        store.create_pool(&pool("pbxA"), "t").await.unwrap();
        assert!(matches!(
            store.create_pool(&pool("pbxA"), "t").await,
            Err(Error::Invalid(_))
        ));
        store
            .create_tenant(&tenant("ACME", None), "t")
            .await
            .unwrap();
        match store.create_tenant(&tenant("acme", None), "t").await {
            Err(Error::Invalid(f)) => assert!(f.get("code").is_some()),
            other => panic!("{label}: expected a code error, got {other:?}"),
        }
        assert_eq!(store.servers().await.unwrap().len(), 1);
        assert_eq!(store.tenant_count().await.unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn stale_versions_are_refused_naming_who_changed_it() {
    for_each_backend(|store, label| async move {
        let s = store
            .create_server(&server("voip1"), "alice")
            .await
            .unwrap();
        let mut changed = server("voip1");
        changed.capacity = Some(900);
        store
            .update_server(s.id, s.version, &changed, "bob")
            .await
            .unwrap();
        changed.capacity = Some(100);
        match store
            .update_server(s.id, s.version, &changed, "carol")
            .await
        {
            Err(Error::Conflict(msg)) => {
                assert!(msg.contains("bob"), "{label}: {msg}");
                assert!(msg.contains("voip1"), "{msg}");
            }
            other => panic!("{label}: expected a conflict, got {other:?}"),
        }
        assert_eq!(
            store.server(s.id).await.unwrap().capacity,
            Some(900),
            "stale edit stored nothing"
        );

        let p = store.create_pool(&pool("pbxA"), "alice").await.unwrap();
        store
            .replace_members(p.id, p.version, &[], "bob")
            .await
            .unwrap();
        assert!(matches!(
            store.replace_members(p.id, p.version, &[], "carol").await,
            Err(Error::Conflict(_))
        ));
        assert!(matches!(
            store
                .update_pool(p.id, p.version, &pool("pbxA"), "carol")
                .await,
            Err(Error::Conflict(_))
        ));
        assert!(matches!(
            store.delete_pool(p.id, p.version, "carol").await,
            Err(Error::Conflict(_))
        ));

        let t = store
            .create_tenant(&tenant("ACME", None), "alice")
            .await
            .unwrap();
        store
            .assign_tenant(t.id, t.version, Some(p.id), "bob")
            .await
            .unwrap();
        assert!(matches!(
            store.assign_tenant(t.id, t.version, None, "carol").await,
            Err(Error::Conflict(_))
        ));
        assert!(matches!(
            store.delete_tenant(t.id, t.version, "carol").await,
            Err(Error::Conflict(_))
        ));
        assert_eq!(store.tenant(t.id).await.unwrap().pool_id, Some(p.id));
    })
    .await;
}

#[tokio::test]
async fn deletes_are_refused_while_in_use() {
    for_each_backend(|store, label| async move {
        let s = store.create_server(&server("voip1"), "t").await.unwrap();
        let p = store.create_pool(&pool("pbxA"), "t").await.unwrap();
        let p = store
            .replace_members(
                p.id,
                p.version,
                &[NewMember {
                    server_id: s.id,
                    priority: 10,
                    weight: 10,
                    port: None,
                }],
                "t",
            )
            .await
            .unwrap();
        match store.delete_server(s.id, s.version, "t").await {
            Err(Error::InUse(msg)) => assert!(msg.contains("pbxA"), "{label}: {msg}"),
            other => panic!("{label}: expected in-use, got {other:?}"),
        }
        let t = store
            .create_tenant(&tenant("ACME", Some(p.id)), "t")
            .await
            .unwrap();
        match store.delete_pool(p.id, p.version, "t").await {
            Err(Error::InUse(msg)) => assert!(msg.contains("1 tenant"), "{label}: {msg}"),
            other => panic!("{label}: expected in-use, got {other:?}"),
        }
        store.delete_tenant(t.id, t.version, "t").await.unwrap();
        store.delete_pool(p.id, p.version, "t").await.unwrap();
        store.delete_server(s.id, s.version, "t").await.unwrap();
        assert!(store.is_empty().await.unwrap());
        assert!(matches!(
            store.server(s.id).await,
            Err(Error::NotFound { .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn bulk_assign_is_all_or_nothing() {
    for_each_backend(|store, label| async move {
        let a = store.create_pool(&pool("pbxA"), "t").await.unwrap();
        let b = store.create_pool(&pool("pbxB"), "t").await.unwrap();
        let mut ids = Vec::new();
        for i in 0..10 {
            ids.push(
                store
                    .create_tenant(&tenant(&format!("T{i}"), Some(a.id)), "t")
                    .await
                    .unwrap()
                    .id,
            );
        }
        let moved = store.bulk_assign(&ids, Some(b.id), "alice").await.unwrap();
        assert_eq!(moved, 10, "{label}");
        let page = store
            .tenants(&TenantQuery {
                pool: PoolFilter::Pool(b.id),
                per_page: 50,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.total, 10);
        assert!(
            page.rows
                .iter()
                .all(|t| t.version == 2 && t.updated_by == "alice")
        );

        // One unknown id: nothing moves.
        let mut with_bad = ids.clone();
        with_bad.push(TenantId::new(999_999));
        assert!(matches!(
            store.bulk_assign(&with_bad, Some(a.id), "alice").await,
            Err(Error::NotFound { .. })
        ));
        let page = store
            .tenants(&TenantQuery {
                pool: PoolFilter::Pool(a.id),
                per_page: 50,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            page.total, 0,
            "{label}: a failed bulk move leaves every tenant where it was"
        );
        // An unknown pool: refused.
        assert!(
            store
                .bulk_assign(&ids, Some(PoolId::new(424_242)), "alice")
                .await
                .is_err()
        );
        let (_, audited) = store
            .audit_entries(&AuditQuery {
                actor: Some("alice".into()),
                per_page: 50,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(audited, 10, "only the committed moves are audited");
    })
    .await;
}

#[tokio::test]
async fn tenant_list_searches_filters_sorts_and_pages() {
    for_each_backend(|store, label| async move {
        let summary = store
            .load_demo(
                &generate_cluster(GeneratorSpec {
                    tenants: 1200,
                    servers: 4,
                    min_phones: 2,
                    max_phones: 300,
                    seed: 7,
                }),
                "demo",
            )
            .await
            .unwrap();
        assert_eq!(summary.tenants, 1200);
        let all = store
            .tenants(&TenantQuery {
                per_page: 100,
                page: 3,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(all.total, 1200, "{label}");
        assert_eq!(all.rows.len(), 100);
        assert_eq!(all.pages(), 12);
        let codes: Vec<String> = all.rows.iter().map(|t| t.code.to_lowercase()).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        assert_eq!(codes, sorted, "sorted by code");

        let by_phones = store
            .tenants(&TenantQuery {
                sort: TenantSort::Phones,
                desc: true,
                per_page: 20,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(
            by_phones
                .rows
                .windows(2)
                .all(|w| w[0].expected_phones >= w[1].expected_phones)
        );

        let unplaced = store
            .tenants(&TenantQuery {
                pool: PoolFilter::Unplaced,
                per_page: 1000,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(unplaced.total > 0 && unplaced.rows.iter().all(|t| t.pool_id.is_none()));

        let probe = all.rows[0].code.clone();
        let found = store
            .tenants(&TenantQuery {
                search: Some(probe.to_lowercase()),
                per_page: 50,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(
            found.rows.iter().any(|t| t.code == probe),
            "{label}: search ignores case"
        );
        // LIKE wildcards are literal.
        let none = store
            .tenants(&TenantQuery {
                search: Some("%_%".into()),
                per_page: 50,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(none.total, 0);
    })
    .await;
}

#[tokio::test]
async fn demo_loads_once_and_only_into_an_empty_database() {
    for_each_backend(|store, label| async move {
        let s = store
            .load_demo(&source_document_cluster(), "demo")
            .await
            .unwrap();
        assert_eq!((s.servers, s.pools), (6, 3), "{label}");
        let wiki = store.pool_by_name("wiki").await.unwrap();
        assert_eq!(wiki.members.len(), 5);
        assert_eq!(wiki.members[3].effective_port, 5066);
        assert!(matches!(
            store.load_demo(&source_document_cluster(), "demo").await,
            Err(Error::InUse(_))
        ));
        assert_eq!(store.servers().await.unwrap().len(), 6);
    })
    .await;
}

/// A second connection to a test database, for writing what the application never would.
pub(crate) async fn raw_pool(db: &helpers::TestDb) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&db.url)
        .await
        .expect("raw connection to the test database")
}

/// Lifts the database's own guard `rule` on `table` (a CHECK constraint on PostgreSQL, a pair of
/// validation triggers on SQLite), so that a bad value can be stored as a manual edit or an
/// older release might have stored it.
async fn lift_guard(raw: &sqlx::AnyPool, label: &str, table: &str, rule: &str) {
    let statements = if label == "postgres" {
        vec![format!("ALTER TABLE {table} DROP CONSTRAINT {rule}")]
    } else {
        vec![
            format!("DROP TRIGGER {rule}_insert"),
            format!("DROP TRIGGER {rule}_update"),
        ]
    };
    for sql in statements {
        sqlx::query(&sql).execute(raw).await.unwrap();
    }
}

/// Asserts that `res` is the corrupt-data error for row `id` of `table`, naming `value`.
#[track_caller]
pub(crate) fn assert_corrupt<T: std::fmt::Debug>(
    res: Result<T, Error>,
    table: &str,
    id: &str,
    value: &str,
    label: &str,
) {
    match res {
        Err(e @ Error::Corrupt { .. }) => {
            let Error::Corrupt {
                table: t, id: i, ..
            } = &e
            else {
                unreachable!()
            };
            assert_eq!((*t, i.as_str()), (table, id), "{label}: {e}");
            let msg = e.to_string();
            assert!(
                msg.contains(table) && msg.contains(id) && msg.contains(value),
                "{label}: the message names the table, the row and the value: {msg}"
            );
        }
        other => panic!("{label}: expected corrupt data in {table} row {id}, got {other:?}"),
    }
}

#[tokio::test]
async fn unreadable_stored_values_are_errors_naming_the_row() {
    for db in helpers::all_backends().await {
        let (store, label) = (db.store.clone(), db.label);
        eprintln!("-- backend {label}");
        let raw = raw_pool(&db).await;

        // Server state: the database refuses it; stored anyway, reading it is an error, not
        // a silently "active" server.
        let s = store.create_server(&server("voip1"), "t").await.unwrap();
        let bad_state = sqlx::query("UPDATE servers SET state = 'paused' WHERE id = $1")
            .bind(s.id)
            .execute(&raw)
            .await;
        assert!(
            bad_state.is_err(),
            "{label}: the database refuses a bad state"
        );
        lift_guard(&raw, label, "servers", "servers_state_check").await;
        sqlx::query("UPDATE servers SET state = 'paused' WHERE id = $1")
            .bind(s.id)
            .execute(&raw)
            .await
            .unwrap();
        let id = s.id.to_string();
        assert_corrupt(store.server(s.id).await, "servers", &id, "paused", label);
        assert_corrupt(store.servers().await, "servers", &id, "paused", label);
        assert_corrupt(
            store.server_by_name("voip1").await,
            "servers",
            &id,
            "paused",
            label,
        );

        // Pool transports, and a member's weight beyond u16.
        let good = store.create_server(&server("voip2"), "t").await.unwrap();
        let p = store.create_pool(&pool("pbxA"), "t").await.unwrap();
        store
            .replace_members(
                p.id,
                p.version,
                &[NewMember {
                    server_id: good.id,
                    priority: 10,
                    weight: 10,
                    port: None,
                }],
                "t",
            )
            .await
            .unwrap();
        sqlx::query("UPDATE pools SET transports = 'udp,pigeon' WHERE id = $1")
            .bind(p.id)
            .execute(&raw)
            .await
            .unwrap();
        let id = p.id.to_string();
        assert_corrupt(store.pool(p.id).await, "pools", &id, "pigeon", label);
        assert_corrupt(store.pools().await, "pools", &id, "pigeon", label);
        sqlx::query("UPDATE pools SET transports = 'udp' WHERE id = $1")
            .bind(p.id)
            .execute(&raw)
            .await
            .unwrap();
        lift_guard(&raw, label, "pool_members", "pool_members_weight_check").await;
        sqlx::query("UPDATE pool_members SET weight = 70000 WHERE pool_id = $1")
            .bind(p.id)
            .execute(&raw)
            .await
            .unwrap();
        let member: i64 = sqlx::query_scalar("SELECT id FROM pool_members WHERE pool_id = $1")
            .bind(p.id)
            .fetch_one(&raw)
            .await
            .unwrap();
        assert_corrupt(
            store.pool(p.id).await,
            "pool_members",
            &member.to_string(),
            "70000",
            label,
        );

        // The settings document.
        let (settings, version) = store.settings().await.unwrap();
        store.save_settings(&settings, version, "t").await.unwrap();
        sqlx::query("UPDATE settings SET value = '{\"alerts\": 5'")
            .execute(&raw)
            .await
            .unwrap();
        assert_corrupt(
            store.settings().await,
            "settings",
            "settings",
            "alerts",
            label,
        );

        // A user's role: not quietly a viewer.
        let user = store
            .create_user("mallory", "x", Role::Admin, "t", false)
            .await
            .unwrap();
        lift_guard(&raw, label, "users", "users_role_check").await;
        sqlx::query("UPDATE users SET role = 'root' WHERE id = $1")
            .bind(user.id)
            .execute(&raw)
            .await
            .unwrap();
        let id = user.id.to_string();
        assert_corrupt(store.user(user.id).await, "users", &id, "root", label);
        assert_corrupt(
            store.user_by_name("mallory").await,
            "users",
            &id,
            "root",
            label,
        );
        assert_corrupt(store.users().await, "users", &id, "root", label);

        // A token's scope: the token authenticates nothing.
        let secret = "pbxp_test_secret_of_the_token";
        store
            .create_token("ingest-voip1", secret, &Scope::Read, "t")
            .await
            .unwrap();
        lift_guard(&raw, label, "api_tokens", "api_tokens_scope_check").await;
        sqlx::query("UPDATE api_tokens SET scope = 'everything' WHERE name = 'ingest-voip1'")
            .execute(&raw)
            .await
            .unwrap();
        let token: i64 =
            sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = 'ingest-voip1'")
                .fetch_one(&raw)
                .await
                .unwrap();
        let id = token.to_string();
        assert_corrupt(store.tokens().await, "api_tokens", &id, "everything", label);
        assert_corrupt(
            store.authenticate_token(secret).await,
            "api_tokens",
            &id,
            "everything",
            label,
        );

        // The newest DNS check report: not "no check yet".
        let check: i64 = sqlx::query_scalar(
            "INSERT INTO dns_checks (at, exit_code, report, actor) VALUES (1, 0, 'not json', 't') RETURNING id",
        )
        .fetch_one(&raw)
        .await
        .unwrap();
        assert_corrupt(
            store.latest_dns_check().await,
            "dns_checks",
            &check.to_string(),
            "not json",
            label,
        );

        raw.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_write_racing_another_instance_is_refused_not_lost() {
    for db in helpers::all_backends().await {
        let (store, label) = (db.store.clone(), db.label);
        eprintln!("-- backend {label}");
        let raw = raw_pool(&db).await;
        let t = store
            .create_tenant(&tenant("ACME", None), "alice")
            .await
            .unwrap();
        // Another instance changes the tenant and holds its transaction open...
        let mut other = raw.acquire().await.unwrap();
        let begin = if label == "postgres" {
            "BEGIN"
        } else {
            "BEGIN IMMEDIATE"
        };
        sqlx::query(begin).execute(&mut *other).await.unwrap();
        sqlx::query(
            "UPDATE tenants SET name = 'Changed by mallory', version = version + 1, \
             updated_by = 'mallory' WHERE id = $1",
        )
        .bind(t.id)
        .execute(&mut *other)
        .await
        .unwrap();
        // ...while this one saves an edit made on the same version: on PostgreSQL it reads the
        // old row and then waits on the row lock; on SQLite it waits for the write lock.
        let edit = {
            let store = store.clone();
            let mut changed = tenant("ACME", None);
            changed.name = "Changed by bob".into();
            tokio::spawn(async move { store.update_tenant(t.id, t.version, &changed, "bob").await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        sqlx::query("COMMIT").execute(&mut *other).await.unwrap();
        drop(other);
        match edit.await.unwrap() {
            Err(Error::Conflict(msg)) => assert!(msg.contains("mallory"), "{label}: {msg}"),
            other => panic!("{label}: expected the later write to be refused, got {other:?}"),
        }
        let now = store.tenant(t.id).await.unwrap();
        assert_eq!(
            (now.name.as_str(), now.version),
            ("Changed by mallory", 2),
            "{label}: the first write stands"
        );
        raw.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bulk_assign_at_versions_refuses_everything_when_one_changed() {
    for_each_backend(|store, label| async move {
        let a = store.create_pool(&pool("pbxA"), "t").await.unwrap();
        let b = store.create_pool(&pool("pbxB"), "t").await.unwrap();
        let mut seen = Vec::new();
        for code in ["T1", "T2", "T3"] {
            let t = store
                .create_tenant(&tenant(code, Some(a.id)), "t")
                .await
                .unwrap();
            seen.push((t.id, t.version));
        }
        // Bob edits T2 after Alice loaded the list.
        let t2 = store.tenant(seen[1].0).await.unwrap();
        let mut edit = tenant("T2", Some(a.id));
        edit.expected_phones = 99;
        store
            .update_tenant(t2.id, t2.version, &edit, "bob")
            .await
            .unwrap();
        match store.bulk_assign_versions(&seen, Some(b.id), "alice").await {
            Err(Error::Conflict(msg)) => {
                assert!(msg.contains("T2"), "{label}: {msg}");
                assert!(!msg.contains("T1") && !msg.contains("T3"), "{msg}");
            }
            other => panic!("{label}: expected a conflict, got {other:?}"),
        }
        for &(id, version) in &seen {
            let t = store.tenant(id).await.unwrap();
            assert_eq!(t.pool_id, Some(a.id), "{label}: nothing moved");
            assert!(t.version == version || t.code == "T2");
        }
        let (_, by_alice) = store
            .audit_entries(&AuditQuery {
                actor: Some("alice".into()),
                per_page: 50,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(by_alice, 0, "{label}: nothing audited");

        // At the current versions everything moves.
        let current: Vec<(TenantId, i64)> = {
            let mut v = Vec::new();
            for &(id, _) in &seen {
                v.push((id, store.tenant(id).await.unwrap().version));
            }
            v
        };
        assert_eq!(
            store
                .bulk_assign_versions(&current, Some(b.id), "alice")
                .await
                .unwrap(),
            3,
            "{label}"
        );
        // A deleted tenant is a change too.
        let gone = store.tenant(current[0].0).await.unwrap();
        store
            .delete_tenant(gone.id, gone.version, "bob")
            .await
            .unwrap();
        let after: Vec<(TenantId, i64)> = vec![(gone.id, gone.version)];
        assert!(matches!(
            store
                .bulk_assign_versions(&after, Some(a.id), "alice")
                .await,
            Err(Error::Conflict(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn stale_settings_saves_are_refused_naming_who_saved() {
    for_each_backend(|store, label| async move {
        let (settings, version) = store.settings().await.unwrap();
        assert_eq!(version, 0, "{label}: never saved");
        assert_eq!(store.save_settings(&settings, 0, "alice").await.unwrap(), 1);
        // A second first save, from a form opened before Alice's.
        match store.save_settings(&settings, 0, "bob").await {
            Err(Error::Conflict(msg)) => {
                assert!(
                    msg.starts_with("settings was changed by alice"),
                    "{label}: {msg}"
                )
            }
            other => panic!("{label}: expected a conflict, got {other:?}"),
        }
        assert_eq!(store.save_settings(&settings, 1, "carol").await.unwrap(), 2);
        match store.save_settings(&settings, 1, "bob").await {
            Err(Error::Conflict(msg)) => assert!(
                msg.contains("carol") && msg.contains("version 2"),
                "{label}: {msg}"
            ),
            other => panic!("{label}: expected a conflict, got {other:?}"),
        }
        assert_eq!(store.settings().await.unwrap().1, 2, "{label}");
    })
    .await;
}
