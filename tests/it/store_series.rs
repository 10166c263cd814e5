//! The charts' series (issue 18, migration 0019) as ingest writes them, on SQLite and (when
//! configured) PostgreSQL: a server's registered and away phones per bucket, a pool's, and a
//! tenant's per server only when its count changed; pruned with the registration history.

use pbx_pools::domain::demo::source_document_cluster;
use pbx_pools::domain::registrations::{DumpFormat, TenantMatcher, parse_dump};
use pbx_pools::store::{IngestPolicy, SeriesOf, SeriesRow, Store};

use super::store::for_each_backend;
use crate::helpers;

fn policy(retention_secs: i64) -> IngestPolicy {
    IngestPolicy {
        matcher: TenantMatcher::default(),
        stale_after_secs: 900,
        retention_secs,
    }
}

async fn push(store: &Store, server: &str, endpoints: &[String], retention_secs: i64) {
    let id = store.server_by_name(server).await.unwrap().id;
    let rows = parse_dump(
        DumpFormat::PjsipContacts,
        &helpers::pjsip_contacts(endpoints),
    )
    .unwrap();
    store
        .ingest(
            id,
            "pjsip-contacts",
            &rows[..],
            &policy(retention_secs),
            "t",
        )
        .await
        .unwrap();
}

fn eps(code: &str, n: u32) -> Vec<String> {
    (0..n).map(|i| format!("{}-{code}", 100 + i)).collect()
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Every stored row of a series (no grouping beyond the bucket).
async fn rows(store: &Store, of: SeriesOf) -> Vec<SeriesRow> {
    store.series(of, 0, now() + 3600, 300).await.unwrap()
}

#[tokio::test]
async fn ingest_writes_the_series_and_a_tenant_row_only_when_its_count_changes() {
    for_each_backend(|store, label| async move {
        store
            .load_demo(&source_document_cluster(), "demo")
            .await
            .unwrap();
        let voip1 = store.server_by_name("voip1").await.unwrap().id;
        let pbx_b = store.pool_by_name("pbxB").await.unwrap().id;
        let rossi = store.tenant_by_code("ROSSI").await.unwrap().id;
        let ricci = store.tenant_by_code("RICCI").await.unwrap().id;
        // ROSSI at home on voip1 (pbxA), RICCI (pbxB, home voip2) wrongly on voip1.
        let mut report = eps("ROSSI", 12);
        report.extend(eps("RICCI", 9));
        push(&store, "voip1", &report, 86_400).await;
        let server = rows(&store, SeriesOf::Servers(Some(voip1))).await;
        assert_eq!(server.len(), 1, "{label}");
        assert_eq!((server[0].value, server[0].away), (21, 9), "{label}");
        let pool = rows(&store, SeriesOf::Pools(Some(pbx_b))).await;
        assert_eq!(
            (pool[0].value, pool[0].away),
            (9, 9),
            "{label}: all of pbxB away"
        );
        let tenant = rows(&store, SeriesOf::Tenant(rossi)).await;
        assert_eq!(tenant.len(), 1, "{label}");
        assert_eq!(
            (tenant[0].key, tenant[0].value),
            (voip1.get(), 12),
            "{label}"
        );

        // An hour later the same report: the server gets its bucket, ROSSI no row (unchanged),
        // and the chart still reads 12 by carrying the last value forward.
        store.age_history(None, 3600).await.unwrap();
        push(&store, "voip1", &report, 86_400).await;
        assert_eq!(
            rows(&store, SeriesOf::Servers(Some(voip1))).await.len(),
            2,
            "{label}"
        );
        assert_eq!(
            rows(&store, SeriesOf::Tenant(rossi)).await.len(),
            1,
            "{label}"
        );
        let t = now();
        let window = store
            .series(SeriesOf::Tenant(rossi), t - 600, t + 300, 300)
            .await
            .unwrap();
        assert_eq!(window.len(), 1, "{label}: the seed before the window");
        assert_eq!(window[0].value, 12, "{label}");

        // Two of ROSSI's phones leave: a row for ROSSI, none for RICCI.
        report.retain(|e| e != "100-ROSSI" && e != "101-ROSSI");
        push(&store, "voip1", &report, 86_400).await;
        let tenant = rows(&store, SeriesOf::Tenant(rossi)).await;
        assert_eq!(
            tenant.iter().map(|r| r.value).collect::<Vec<_>>(),
            [12, 10],
            "{label}"
        );
        assert_eq!(
            rows(&store, SeriesOf::Tenant(ricci)).await.len(),
            1,
            "{label}"
        );

        // Retention: a report two days later with a one-day history keeps only the newest row
        // at or before the cut-off (the value carried into the window) and the new one.
        store.age_history(None, 2 * 86_400).await.unwrap();
        push(&store, "voip1", &report, 86_400).await;
        let server = rows(&store, SeriesOf::Servers(Some(voip1))).await;
        assert_eq!(server.len(), 2, "{label}: {server:?}");
        assert!(server[0].bucket < now() - 86_400, "{label}");
        let tenant = rows(&store, SeriesOf::Tenant(rossi)).await;
        assert_eq!(
            tenant.iter().map(|r| r.value).collect::<Vec<_>>(),
            [10],
            "{label}: 12 was superseded before the cut-off"
        );
    })
    .await;
}

#[tokio::test]
async fn the_demo_starts_with_two_weeks_of_history() {
    for_each_backend(|store, label| async move {
        crate::helpers::load_demo_with_history(&store).await;
        let t = now();
        let servers = store
            .series(SeriesOf::Servers(None), t - 14 * 86_400, t, 3600)
            .await
            .unwrap();
        let voip2 = store.server_by_name("voip2").await.unwrap().id;
        let of_voip2: Vec<&SeriesRow> = servers.iter().filter(|r| r.key == voip2.get()).collect();
        assert!(of_voip2.len() >= 330, "{label}: {}", of_voip2.len());
        // The newest bucket is the present: 119 registered on voip2 (2 unmatched).
        let newest = store
            .series(SeriesOf::Servers(Some(voip2)), t - 300, t, 300)
            .await
            .unwrap();
        assert_eq!(newest.last().unwrap().value, 119, "{label}");
        // The story's outage: about two and a quarter hours ago voip2 held only its strays.
        let outage = store
            .series(
                SeriesOf::Servers(Some(voip2)),
                t - 140 * 60,
                t - 125 * 60,
                300,
            )
            .await
            .unwrap();
        assert!(
            outage.iter().skip(1).all(|r| r.value == 2),
            "{label}: {outage:?}"
        );
        let canistracci = store.tenant_by_code("CANISTRACCI").await.unwrap().id;
        assert!(
            rows(&store, SeriesOf::Tenant(canistracci)).await.len() > 10,
            "{label}"
        );
    })
    .await;
}

/// Sets voip1's stored server series to -1 (a value no report computes), so that a test can see
/// whether a report wrote the row again.
async fn mark_server_rows(url: &str) {
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query(
        "UPDATE series_server SET registered = -1 \
         WHERE server_id = (SELECT id FROM servers WHERE name = 'voip1')",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn an_identical_report_within_the_bucket_writes_only_its_snapshot() {
    helpers::each_db(|db: helpers::TestDb| async move {
        let (store, label) = (db.store.clone(), db.label);
        store
            .load_demo(&source_document_cluster(), "demo")
            .await
            .unwrap();
        let voip1 = store.server_by_name("voip1").await.unwrap().id;
        let report = eps("ROSSI", 12);
        // Two reports within one bucket: tried again if the test crossed a bucket's edge.
        for attempt in 0.. {
            let bucket = pbx_pools::store::bucket_of(now());
            push(&store, "voip1", &report, 86_400).await;
            mark_server_rows(&db.url).await;
            let snapshots = store.snapshots_of(voip1, 100).await.unwrap().len();
            push(&store, "voip1", &report, 86_400).await;
            if pbx_pools::store::bucket_of(now()) != bucket && attempt == 0 {
                continue;
            }
            let server = rows(&store, SeriesOf::Servers(Some(voip1))).await;
            assert_eq!(
                server.last().map(|r| r.value),
                Some(-1),
                "{label}: the identical report left the bucket's row alone"
            );
            assert_eq!(
                store.snapshots_of(voip1, 100).await.unwrap().len(),
                snapshots + 1,
                "{label}: its snapshot is recorded"
            );
            break;
        }
        // A report that changes a contact writes the row again.
        push(&store, "voip1", &report[1..], 86_400).await;
        let server = rows(&store, SeriesOf::Servers(Some(voip1))).await;
        assert_eq!(server.last().map(|r| r.value), Some(11), "{label}");
        // So does the first report of the next bucket, identical or not.
        mark_server_rows(&db.url).await;
        store.age_history(None, 3600).await.unwrap();
        push(&store, "voip1", &report[1..], 86_400).await;
        let server = rows(&store, SeriesOf::Servers(Some(voip1))).await;
        assert_eq!(server.last().map(|r| r.value), Some(11), "{label}");
    })
    .await;
}
