//! Job leases and job records in the store, on SQLite and (when configured) PostgreSQL.

use pbx_pools::store::{JobState, NewJob, Store};

use super::store::{assert_corrupt, for_each_backend, raw_pool};
use crate::helpers;

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
