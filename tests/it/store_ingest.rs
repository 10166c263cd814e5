//! Registration reports in the store, on SQLite and (when configured) PostgreSQL: the maintained
//! counts, moves and the incremental picture.

use pbx_pools::domain::demo::source_document_cluster;

use super::store::for_each_backend;
use crate::helpers;

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
            .ingest(voip2.id, "pjsip-contacts", &empty[..], &policy, "t")
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
            .ingest(voip1.id, "pjsip-contacts", parse(&endpoints), &policy, "t")
            .await
            .unwrap();
        assert_eq!(
            (first.written, first.matched, first.unmatched),
            (202, 200, 2),
            "{label}"
        );

        let again = store
            .ingest(voip1.id, "pjsip-contacts", parse(&endpoints), &policy, "t")
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
            .ingest(voip1.id, "pjsip-contacts", parse(&changed), &policy, "t")
            .await
            .unwrap();
        assert!(
            third.written <= 10,
            "{label}: {} rows written for 4 changed contacts and 1 replaced",
            third.written
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
        // The same report stored fresh on another server gives the same counts there; the
        // phones now count on voip2 alone (listed on two servers: where they arrived last).
        let fresh = store
            .ingest(voip2.id, "pjsip-contacts", parse(&changed), &policy, "t")
            .await
            .unwrap();
        assert_eq!(fresh.written, changed.len() as u64, "{label}");
        assert_eq!(
            (third.registered, third.matched, third.unmatched),
            (fresh.registered, fresh.matched, fresh.unmatched),
            "{label}"
        );
        assert_eq!(incremental, per_server(voip2.id).await, "{label}");
        assert!(per_server(voip1.id).await.is_empty(), "{label}");
        let expected: u64 = changed.iter().filter(|e| !e.ends_with("NEWCO")).count() as u64;
        assert_eq!(incremental.values().sum::<u64>(), expected, "{label}");
        // voip2 drops them again: they count on voip1, which still lists them.
        store
            .ingest(voip2.id, "pjsip-contacts", parse(&[]), &policy, "t")
            .await
            .unwrap();
        assert_eq!(incremental, per_server(voip1.id).await, "{label}");

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
            .ingest(voip1.id, "pjsip-contacts", parse(&changed), &policy, "t")
            .await
            .unwrap();
        assert_eq!(
            (matched.written, matched.unmatched, matched.matched),
            (0, 0, third.matched + 1),
            "{label}"
        );
        assert_eq!(per_server(voip1.id).await.get("NEWCO"), Some(&1), "{label}");

        // Renamed, its phones no longer match it; deleted, nothing is left counted for it. Each
        // time the same report is pushed again unchanged.
        let newco = store.tenant_by_code("NEWCO").await.unwrap();
        let renamed = store
            .update_tenant(
                newco.id,
                newco.version,
                &NewTenant {
                    code: "OLDCO".parse().unwrap(),
                    name: "Old Co".into(),
                    expected_phones: 2,
                    pool_id: None,
                    notes: String::new(),
                },
                "t",
            )
            .await
            .unwrap();
        let after_rename = store
            .ingest(voip1.id, "pjsip-contacts", parse(&changed), &policy, "t")
            .await
            .unwrap();
        assert_eq!(
            (
                after_rename.written,
                after_rename.unmatched,
                after_rename.matched
            ),
            (0, 1, third.matched),
            "{label}"
        );
        assert_eq!(per_server(voip1.id).await.get("NEWCO"), None, "{label}");
        assert_eq!(per_server(voip1.id).await.get("OLDCO"), None, "{label}");
        store
            .delete_tenant(renamed.id, renamed.version, "t")
            .await
            .unwrap();
        let after_delete = store
            .ingest(voip1.id, "pjsip-contacts", parse(&changed), &policy, "t")
            .await
            .unwrap();
        assert_eq!(
            (after_delete.unmatched, after_delete.matched),
            (1, third.matched),
            "{label}"
        );
    })
    .await;
}
