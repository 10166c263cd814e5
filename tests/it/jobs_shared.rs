//! Background jobs behind a load balancer: two dashboard instances on one PostgreSQL database
//! (the setup the README prescribes for several instances). A job started on one shows, with
//! its progress and outcome, on the other; a job whose instance died shows as interrupted on
//! both, never as running forever. Needs `PBX_POOLS_TEST_PG_URL` (mandatory when `CI=true`).

use crate::helpers::{self, TestApp};

fn import_request(app: &TestApp, path: &str, csv: &str) -> axum::http::Request<axum::body::Body> {
    let b = "CSVBOUNDARY";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csv\"\r\n\r\n{csv}\r\n--{b}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\napply\r\n--{b}--\r\n"
    );
    axum::http::Request::post(path)
        .header("x-csrf-token", app.admin.csrf())
        .header("content-type", format!("multipart/form-data; boundary={b}"))
        .body(axum::body::Body::from(body))
        .unwrap()
}

/// Two instances on a fresh PostgreSQL schema, or `None` (with a loud `skipped:` line) when no
/// PostgreSQL server is configured.
async fn two_instances(test: &str) -> Option<(TestApp, TestApp)> {
    if helpers::pg_admin_url().is_none() {
        eprintln!(
            "skipped: jobs_shared::{test} needs PostgreSQL: set PBX_POOLS_TEST_PG_URL to run it"
        );
        return None;
    }
    let one = TestApp::on(helpers::postgres().await?).await;
    let two = one.second_instance().await;
    Some((one, two))
}

async fn cleanup(one: TestApp, two: TestApp) {
    two.db.cleanup().await;
    one.db.cleanup().await;
}

const CSV: &str = "code,name,expected_phones,pool,notes\nACME,Acme Srl,10,,\nBETA,Beta Spa,20,,\nGAMMA,Gamma Snc,5,,first\n";

#[tokio::test]
async fn an_import_started_on_one_instance_shows_its_outcome_on_the_other() {
    let Some((one, two)) =
        two_instances("an_import_started_on_one_instance_shows_its_outcome_on_the_other").await
    else {
        return;
    };
    let res = one
        .admin
        .send(&one, import_request(&one, "/tenants/import", CSV))
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let job = res.location.expect("the apply redirects to its job page");
    assert!(job.starts_with("/jobs/"), "{job}");

    // The load balancer sends every refresh to the other instance.
    let mut page = None;
    for _ in 0..250 {
        let p = two.get(&job).await;
        assert_eq!(p.status, 200, "instance two knows the job: {}", p.body);
        if !p.body.contains("http-equiv=\"refresh\"") {
            page = Some(p.body);
            break;
        }
        assert!(
            p.body.contains("lines ("),
            "progress while it works: {}",
            p.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let page = page.expect("the import finished within five seconds");
    assert!(
        page.contains("Tenant import: 3 created, 0 changed."),
        "{page}"
    );
    assert!(page.contains("href=\"/tenants\""), "it leads on: {page}");
    assert_eq!(
        two.store().tenant_by_code("GAMMA").await.unwrap().notes,
        "first"
    );
    // Instance one shows the same.
    assert!(one.get(&job).await.body.contains("3 created"));

    // Only its owner sees it, on either instance.
    one.add_user(
        "bob",
        pbx_pools::domain::auth::Role::Admin,
        "bob-password-1",
    )
    .await;
    let bob = two.login("bob", "bob-password-1").await;
    for app in [&one, &two] {
        let res = bob.get(app, &job).await;
        assert_eq!(res.status, 404, "{}", res.body);
        assert!(!res.body.contains("Tenant import"), "{}", res.body);
    }
    cleanup(one, two).await;
}

#[tokio::test]
async fn a_job_whose_instance_died_shows_as_interrupted_on_every_instance() {
    let Some((one, two)) =
        two_instances("a_job_whose_instance_died_shows_as_interrupted_on_every_instance").await
    else {
        return;
    };
    // Jobs of a third instance: one still beating, one whose heartbeat stopped a minute ago
    // (its process was killed mid-import).
    for id in ["alive0000000000", "dead00000000000"] {
        one.store()
            .create_job(&pbx_pools::store::NewJob {
                id,
                kind: "import-tenants",
                title: "Tenant import",
                owner: "admin",
                total: 5000,
                next: "/tenants",
                instance: "pid1-gone",
            })
            .await
            .unwrap();
        one.store().job_progress(id, 1200).await.unwrap();
    }
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(&one.db.url).await.unwrap();
    sqlx::query("UPDATE jobs SET heartbeat_at = heartbeat_at - 60 WHERE id = 'dead00000000000'")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;

    for app in [&one, &two] {
        let alive = app.get("/jobs/alive0000000000").await;
        assert_eq!(alive.status, 200, "{}", alive.body);
        assert!(
            alive.body.contains("Working: 1200 of 5000 lines (24%)"),
            "{}",
            alive.body
        );
        assert!(alive.body.contains("http-equiv=\"refresh\""));

        let dead = app.get("/jobs/dead00000000000").await;
        assert_eq!(dead.status, 200, "{}", dead.body);
        assert!(
            dead.body.contains("This import was interrupted."),
            "{}",
            dead.body
        );
        assert!(
            dead.body.contains("after 1200 of 5000 lines"),
            "{}",
            dead.body
        );
        assert!(
            dead.body.contains("Nothing of it was written")
                && dead.body.contains("Start the import again."),
            "{}",
            dead.body
        );
        assert!(
            !dead.body.contains("http-equiv=\"refresh\""),
            "an interrupted job is not waited for: {}",
            dead.body
        );
        assert!(!dead.body.contains("Working:"), "{}", dead.body);
    }
    cleanup(one, two).await;
}
