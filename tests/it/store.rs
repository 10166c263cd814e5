//! The store suite, run on SQLite and (when configured) PostgreSQL: the same specification for
//! both backends.

use pbx_pools::domain::auth::{Role, Scope};
use pbx_pools::domain::demo::{GeneratorSpec, generate_cluster, source_document_cluster};
use pbx_pools::domain::ids::{PoolId, TenantId};
use pbx_pools::domain::model::{NewMember, NewPool, NewServer, NewTenant, ServerState, Transport};
use pbx_pools::domain::names::{HostName, PoolName, ServerName, TenantCode};
use pbx_pools::store::{
    AuditQuery, Error, JobState, NewJob, PoolFilter, Store, TenantQuery, TenantSort,
};

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

async fn for_each_backend<F, Fut>(test: F)
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

#[tokio::test]
async fn ingest_maintains_counts_and_moves_on_every_backend() {
    use pbx_pools::domain::demo_registrations::source_document_rounds;
    use pbx_pools::domain::registrations::{DumpFormat, TenantMatcher, parse_dump};
    use pbx_pools::store::IngestPolicy;
    for_each_backend(|store, label| async move {
        store
            .load_demo(&source_document_cluster(), "demo")
            .await
            .unwrap();
        let contacts = store
            .load_demo_registrations(&source_document_rounds(), 7200)
            .await
            .unwrap();
        assert!(contacts > 500, "{label}");
        let latest = store.latest_snapshots().await.unwrap();
        assert_eq!(latest.len(), 6, "{label}: every demo server reported");
        let canistracci = store.tenant_by_code("CANISTRACCI").await.unwrap();
        let by_server = store.tenant_phones_by_server(canistracci.id).await.unwrap();
        assert_eq!(
            by_server
                .values()
                .copied()
                .collect::<Vec<_>>()
                .iter()
                .sum::<u64>(),
            48,
            "{label}"
        );
        assert_eq!(by_server.len(), 2);
        let esposito = store.tenant_by_code("ESPOSITO").await.unwrap();
        assert_eq!(
            store.tenant_moves(esposito.id, 10).await.unwrap().len(),
            3,
            "{label}: the flapping phone"
        );
        let since = jiff::Timestamp::now().as_second() - 3600;
        let flapping = store.flapping_phones(since, 3).await.unwrap();
        assert_eq!(flapping.len(), 1, "{label}");
        assert_eq!(flapping[0].endpoint, "101-esposito");
        assert_eq!(flapping[0].server_ids.len(), 2);
        let pools = store.pool_server_counts().await.unwrap();
        assert!(pools.iter().any(|c| c.pool_id.is_some() && c.phones > 0));
        let voip2 = store.server_by_name("voip2").await.unwrap();
        let unmatched = store.unmatched_on(voip2.id, 10).await.unwrap();
        assert_eq!(unmatched.len(), 2, "{label}");

        // A new report replaces the picture: voip2 now reports nothing.
        let policy = IngestPolicy {
            matcher: TenantMatcher::default(),
            stale_after_secs: 900,
            retention_secs: 86_400,
        };
        let empty = parse_dump(DumpFormat::PjsipContacts, "No objects found.").unwrap();
        let s = store
            .ingest(voip2.id, "pjsip-contacts", &empty, &policy, "t")
            .await
            .unwrap();
        assert_eq!((s.registered, s.unmatched), (0, 0));
        assert!(store.unmatched_on(voip2.id, 10).await.unwrap().is_empty());
        let by_server = store.tenant_phones_by_server(canistracci.id).await.unwrap();
        assert_eq!(
            by_server.len(),
            1,
            "{label}: only voip1 still lists CANISTRACCI"
        );
        assert!(store.data_version().await.unwrap() > 1);
    })
    .await;
}

#[tokio::test]
async fn one_instance_at_a_time_holds_a_job_lease() {
    for_each_backend(|store, label| async move {
        assert!(
            store.try_lease("dns-check", "a", 60).await.unwrap(),
            "{label}"
        );
        assert!(
            !store.try_lease("dns-check", "b", 60).await.unwrap(),
            "{label}: b must wait"
        );
        assert!(
            store.try_lease("dns-check", "a", 60).await.unwrap(),
            "{label}: a renews"
        );
        assert!(store.try_lease("other-job", "b", 60).await.unwrap());
        // An expired lease can be taken over.
        assert!(store.try_lease("short", "a", -1).await.unwrap());
        assert!(store.try_lease("short", "b", 60).await.unwrap(), "{label}");
    })
    .await;
}

/// A second connection to a test database, for writing what the application never would.
async fn raw_pool(db: &helpers::TestDb) -> sqlx::AnyPool {
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
fn assert_corrupt<T: std::fmt::Debug>(
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

/// Two dashboard instances on one database race for an expired lease: exactly one takes it,
/// every time (the background DNS check must run on one instance only).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_lease_is_taken_by_exactly_one_of_two_instances() {
    for db in helpers::all_backends().await {
        let other = Store::connect(&db.url).await.expect("second instance");
        for round in 0..20 {
            let name = format!("race-{round}");
            // A lease that expired a minute ago, held by an instance that died.
            assert!(db.store.try_lease(&name, "dead", -60).await.unwrap());
            let attempts: Vec<_> = (0..16)
                .map(|i| {
                    let store = if i % 2 == 0 {
                        db.store.clone()
                    } else {
                        other.clone()
                    };
                    let name = name.clone();
                    tokio::spawn(
                        async move { store.try_lease(&name, &format!("holder-{i}"), 60).await },
                    )
                })
                .collect();
            let mut won = 0;
            for a in attempts {
                if a.await.unwrap().unwrap() {
                    won += 1;
                }
            }
            assert_eq!(
                won, 1,
                "{}: round {round}: {won} instances took the lease",
                db.label
            );
            // The holder keeps it; nobody else gets it before it expires.
            assert!(!other.try_lease(&name, "latecomer", 60).await.unwrap());
        }
        other.close().await;
        db.cleanup().await;
    }
}

fn new_job<'a>(id: &'a str, instance: &'a str) -> NewJob<'a> {
    NewJob {
        id,
        kind: "import-tenants",
        title: "Tenant import",
        owner: "alice",
        total: 10,
        next: "/tenants",
        instance,
    }
}

/// A background job's row: progress refreshes its heartbeat, its end is recorded once (a late
/// progress write or a second end changes nothing), an unreadable state names the row, and old
/// jobs are purged: finished a day ago, or running with an instance silent for a day.
#[tokio::test]
async fn jobs_keep_progress_heartbeat_and_outcome_and_are_purged() {
    for db in helpers::all_backends().await {
        let (store, label) = (db.store.clone(), db.label);
        eprintln!("-- backend {label}");
        let raw = raw_pool(&db).await;

        store.create_job(&new_job("job-a", "one")).await.unwrap();
        let a = store.job("job-a").await.unwrap().expect("created");
        assert_eq!(
            (
                &a.state,
                a.done,
                a.total,
                a.owner.as_str(),
                a.instance.as_str()
            ),
            (&JobState::Running, 0, 10, "alice", "one"),
            "{label}"
        );
        assert_eq!(
            (a.kind.as_str(), a.title.as_str(), a.next.as_str()),
            ("import-tenants", "Tenant import", "/tenants")
        );
        assert_eq!(a.heartbeat_at, a.created_at);
        assert_eq!(a.finished_at, None);

        // Progress says the instance is alive.
        sqlx::query("UPDATE jobs SET heartbeat_at = heartbeat_at - 100 WHERE id = 'job-a'")
            .execute(&raw)
            .await
            .unwrap();
        assert!(store.job_progress("job-a", 4).await.unwrap());
        let a = store.job("job-a").await.unwrap().unwrap();
        assert_eq!(a.done, 4, "{label}");
        assert!(
            a.heartbeat_at >= a.created_at,
            "{label}: heartbeat refreshed"
        );

        // Done: all of it, once.
        assert!(
            store
                .finish_job("job-a", &Ok("Tenant import: 10 created, 0 changed.".into()))
                .await
                .unwrap()
        );
        let a = store.job("job-a").await.unwrap().unwrap();
        assert_eq!(
            a.state,
            JobState::Done {
                outcome: "Tenant import: 10 created, 0 changed.".into()
            },
            "{label}"
        );
        assert_eq!(a.done, 10);
        assert!(a.finished_at.is_some());
        assert!(!store.job_progress("job-a", 5).await.unwrap(), "{label}");
        assert!(
            !store
                .finish_job("job-a", &Err("late".into()))
                .await
                .unwrap()
        );
        assert_eq!(store.job("job-a").await.unwrap().unwrap(), a, "{label}");

        // Failed: it keeps the line it reached.
        store.create_job(&new_job("job-b", "two")).await.unwrap();
        store.job_progress("job-b", 3).await.unwrap();
        assert!(
            store
                .finish_job("job-b", &Err("tenant X: its pool no longer exists".into()))
                .await
                .unwrap()
        );
        let b = store.job("job-b").await.unwrap().unwrap();
        assert_eq!(
            (b.state, b.done),
            (
                JobState::Failed {
                    error: "tenant X: its pool no longer exists".into()
                },
                3
            ),
            "{label}"
        );

        assert_eq!(store.job("nope").await.unwrap(), None);
        assert!(!store.job_progress("nope", 1).await.unwrap());

        // A state the application cannot show: the database refuses it; stored anyway, reading
        // it is an error naming the job, not a job shown as running (or done).
        let bad = sqlx::query("UPDATE jobs SET state = 'paused' WHERE id = 'job-b'")
            .execute(&raw)
            .await;
        assert!(bad.is_err(), "{label}: the database refuses a bad state");
        if label == "postgres" {
            sqlx::query("ALTER TABLE jobs DROP CONSTRAINT jobs_state_check")
                .execute(&raw)
                .await
                .unwrap();
        } else {
            // A CHECK constraint of SQLite cannot be dropped; this connection ignores them.
            sqlx::query("PRAGMA ignore_check_constraints = ON")
                .execute(&raw)
                .await
                .unwrap();
        }
        sqlx::query("UPDATE jobs SET state = 'paused' WHERE id = 'job-b'")
            .execute(&raw)
            .await
            .unwrap();
        assert_corrupt(store.job("job-b").await, "jobs", "job-b", "paused", label);
        // A finished job without its text is no empty outcome either.
        sqlx::query("UPDATE jobs SET outcome = NULL WHERE id = 'job-a'")
            .execute(&raw)
            .await
            .unwrap();
        assert_corrupt(store.job("job-a").await, "jobs", "job-a", "outcome", label);
        sqlx::query("DELETE FROM jobs").execute(&raw).await.unwrap();

        // Purge: what finished a day ago, and what a dead instance left running a day ago.
        for id in ["old-done", "new-done", "old-running", "new-running"] {
            store.create_job(&new_job(id, "one")).await.unwrap();
        }
        for id in ["old-done", "new-done"] {
            store.finish_job(id, &Ok("ok".into())).await.unwrap();
        }
        sqlx::query(
            "UPDATE jobs SET created_at = created_at - 90000, heartbeat_at = heartbeat_at - 90000, \
             finished_at = finished_at - 90000 WHERE id IN ('old-done', 'old-running')",
        )
        .execute(&raw)
        .await
        .unwrap();
        assert_eq!(store.purge_jobs(86_400).await.unwrap(), 2, "{label}");
        for (id, kept) in [
            ("old-done", false),
            ("new-done", true),
            ("old-running", false),
            ("new-running", true),
        ] {
            assert_eq!(
                store.job(id).await.unwrap().is_some(),
                kept,
                "{label}: {id}"
            );
        }

        raw.close().await;
        db.cleanup().await;
    }
}

/// Issue #14: ingest is incremental. An identical report writes nothing but its snapshot, a
/// report with a few contacts changed writes just those, and the maintained counts always equal
/// what a full rewrite of the same report gives (checked against a second server that receives
/// the same report fresh). A tenant created after its phones were reported is matched by the
/// next report, even an identical one.
#[tokio::test]
async fn incremental_ingest_writes_only_what_changed_and_keeps_counts_exact() {
    use pbx_pools::domain::model::NewTenant;
    use pbx_pools::domain::registrations::{DumpFormat, TenantMatcher, parse_dump};
    use pbx_pools::store::IngestPolicy;
    use std::collections::HashMap;
    for_each_backend(|store, label| async move {
        store
            .load_demo(&source_document_cluster(), "demo")
            .await
            .unwrap();
        let policy = IngestPolicy {
            matcher: TenantMatcher::default(),
            stale_after_secs: 900,
            retention_secs: 86_400,
        };
        let codes: Vec<String> = store
            .all_tenants()
            .await
            .unwrap()
            .iter()
            .take(4)
            .map(|t| t.code.to_string())
            .collect();
        // 200 contacts over four tenants, plus two of a tenant that does not exist yet.
        let mut endpoints: Vec<String> = (0..200)
            .map(|i| format!("{}-{}", 100 + i, codes[i % 4]))
            .collect();
        endpoints.push("100-NEWCO".into());
        endpoints.push("101-NEWCO".into());
        let parse = |eps: &[String]| {
            parse_dump(
                DumpFormat::PjsipContacts,
                &helpers::pjsip_contacts(eps.iter()),
            )
            .unwrap()
        };
        let voip1 = store.server_by_name("voip1").await.unwrap();
        let voip2 = store.server_by_name("voip2").await.unwrap();
        let first = store
            .ingest(voip1.id, "pjsip-contacts", &parse(&endpoints), &policy, "t")
            .await
            .unwrap();
        assert_eq!(
            (first.written, first.matched, first.unmatched),
            (202, 200, 2),
            "{label}"
        );

        let again = store
            .ingest(voip1.id, "pjsip-contacts", &parse(&endpoints), &policy, "t")
            .await
            .unwrap();
        assert_eq!(
            (again.written, again.registered),
            (0, 202),
            "{label}: an identical report writes no contact"
        );

        // The dump builder numbers addresses by position: swapping two endpoints changes both
        // rows, replacing one changes one, and the last one is replaced by a new phone.
        let mut changed = endpoints.clone();
        changed.swap(10, 11);
        changed[50] = format!("998-{}", codes[1]);
        changed.pop(); // 101-NEWCO leaves
        changed.push(format!("999-{}", codes[0]));
        let third = store
            .ingest(voip1.id, "pjsip-contacts", &parse(&changed), &policy, "t")
            .await
            .unwrap();
        assert!(
            third.written <= 10,
            "{label}: {} rows written for 4 changed contacts and 1 replaced",
            third.written
        );
        // The same report stored fresh on another server gives the same counts.
        let fresh = store
            .ingest(voip2.id, "pjsip-contacts", &parse(&changed), &policy, "t")
            .await
            .unwrap();
        assert_eq!(fresh.written, changed.len() as u64, "{label}");
        assert_eq!(
            (third.registered, third.matched, third.unmatched),
            (fresh.registered, fresh.matched, fresh.unmatched),
            "{label}"
        );
        let per_server = |server| {
            let store = store.clone();
            async move {
                let mut out = HashMap::new();
                for t in store.all_tenants().await.unwrap() {
                    let n = store
                        .tenant_phones_by_server(t.id)
                        .await
                        .unwrap()
                        .get(&server)
                        .copied()
                        .unwrap_or(0);
                    if n > 0 {
                        out.insert(t.code.to_string(), n);
                    }
                }
                out
            }
        };
        let incremental = per_server(voip1.id).await;
        assert_eq!(incremental, per_server(voip2.id).await, "{label}");
        let expected: u64 = changed.iter().filter(|e| !e.ends_with("NEWCO")).count() as u64;
        assert_eq!(incremental.values().sum::<u64>(), expected, "{label}");

        // NEWCO is created after its phones were reported: the next report matches them, even
        // though it is identical to the last one.
        store
            .create_tenant(
                &NewTenant {
                    code: "NEWCO".parse().unwrap(),
                    name: "New Co".into(),
                    expected_phones: 2,
                    pool_id: None,
                    notes: String::new(),
                },
                "t",
            )
            .await
            .unwrap();
        let matched = store
            .ingest(voip1.id, "pjsip-contacts", &parse(&changed), &policy, "t")
            .await
            .unwrap();
        assert_eq!(
            (matched.written, matched.unmatched, matched.matched),
            (0, 0, third.matched + 1),
            "{label}"
        );
        assert_eq!(per_server(voip1.id).await.get("NEWCO"), Some(&1), "{label}");
    })
    .await;
}
