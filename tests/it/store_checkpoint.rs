//! SQLite's write-ahead log under `serve` (issue 14): once a job took the checkpoints over
//! (`Store::take_over_checkpoints`, `jobs::checkpoint_wal`) no commit copies the log into the
//! database file, and `Store::checkpoint` does; a short command, which never takes them over,
//! keeps SQLite's own checkpoints, so what it wrote reaches the database file without a job.

use pbx_pools::domain::demo::source_document_cluster;
use pbx_pools::domain::registrations::{DumpFormat, TenantMatcher, parse_dump};
use pbx_pools::store::IngestPolicy;

use crate::helpers::{self, TestDb};

/// The size of the database file itself (not its log): it grows when a checkpoint copies the
/// log's new pages into it.
fn file_size(db: &TestDb) -> u64 {
    let path = db.url.strip_prefix("sqlite://").expect("a SQLite URL");
    std::fs::metadata(path).expect("the database file").len()
}

/// The source document's demo, then a report of 20,000 new contacts for voip1: several
/// thousand pages, well over the 1,000 at which SQLite's own checkpoint runs at commit.
async fn demo_then_big_report(db: &TestDb) -> (u64, u64) {
    db.store
        .load_demo(&source_document_cluster(), "demo")
        .await
        .unwrap();
    let before = file_size(db);
    let endpoints = (0..20_000).map(|i| format!("{}-CANISTRACCI", 10_000 + i));
    let rows = parse_dump(
        DumpFormat::PjsipContacts,
        &helpers::pjsip_contacts(endpoints),
    )
    .unwrap();
    let voip1 = db.store.server_by_name("voip1").await.unwrap().id;
    let policy = IngestPolicy {
        matcher: TenantMatcher::default(),
        stale_after_secs: 900,
        retention_secs: 86_400,
    };
    db.store
        .ingest(voip1, "pjsip-contacts", &rows[..], &policy, "t")
        .await
        .unwrap();
    (before, file_size(db))
}

#[tokio::test]
async fn commits_leave_the_checkpoints_to_the_job_that_took_them_over() {
    // A short command: the report's commit checkpoints, the file grows at once.
    let command = helpers::sqlite().await;
    let (before, after) = demo_then_big_report(&command).await;
    assert!(
        after > before,
        "without a checkpoint job the commit itself checkpoints ({before} -> {after} bytes)"
    );

    // `serve`: the checkpoints are the job's; the commit leaves the pages in the log.
    let served = helpers::sqlite().await;
    assert!(served.store.take_over_checkpoints().await.unwrap());
    let (before, after) = demo_then_big_report(&served).await;
    assert_eq!(
        after, before,
        "a commit checkpointed although the checkpoints were taken over"
    );
    served.store.checkpoint().await.unwrap();
    let checkpointed = file_size(&served);
    assert!(
        checkpointed > before,
        "the job's checkpoint copies the log into the file ({before} -> {checkpointed} bytes)"
    );
    // The pages are all there: the report reads back whole.
    let voip1 = served.store.server_by_name("voip1").await.unwrap().id;
    let phones: u64 = served
        .store
        .tenant_server_counts()
        .await
        .unwrap()
        .iter()
        .filter(|c| c.server_id == voip1)
        .map(|c| c.phones)
        .sum();
    assert_eq!(phones, 20_000);
}
