//! Input that must be refused at the door, over HTTP on both backends (issue #13): a
//! registration dump carrying control characters (defect 5), and a pool whose SRV owner would
//! break every export (defect 4). Each refusal names what is wrong and stores nothing.

use crate::helpers::{self, Client, TestApp};

async fn push(app: &TestApp, client: &Client, body: String, format: &str) -> helpers::TestResponse {
    let req = axum::http::Request::post(format!(
        "/api/v1/servers/voip1/registrations?format={format}"
    ))
    .header("content-type", "text/plain")
    .body(axum::body::Body::from(body))
    .unwrap();
    client.send(app, req).await
}

#[tokio::test]
async fn a_dump_with_a_nul_is_refused_naming_the_line_and_the_previous_picture_stays() {
    for db in helpers::all_backends().await {
        let label = db.label;
        let app = TestApp::on(db).await;
        let res = app
            .post_form(
                "/servers",
                &[("name", "voip1"), ("host", "voip1.example.com")],
            )
            .await;
        assert_eq!(res.status, 303, "{label}: {}", res.body);
        let voip1 = app.token_client("voip1-cron", "ingest:voip1").await;
        let good = helpers::pjsip_contacts(["100-ACME", "101-ACME", "102-ACME"]);
        let res = push(&app, &voip1, good, "pjsip-contacts").await;
        assert_eq!(res.status, 200, "{label}: {}", res.body);
        let server = app.store().servers().await.unwrap()[0].id;
        let before = app.store().unmatched_on(server, 100).await.unwrap();
        assert_eq!(before.len(), 3, "{label}");

        // Line 6 is the second contact row; its AoR carries a NUL (PostgreSQL's text type
        // refuses NUL outright: this used to be a 500 there, and stored as-is on SQLite).
        let nul = helpers::pjsip_contacts(["100-ACME", "101-A\0CME", "102-ACME"]);
        let res = push(&app, &voip1, nul, "pjsip-contacts").await;
        assert_eq!(res.status, 400, "{label}: {}", res.body);
        assert_eq!(res.content_type, "application/problem+json", "{label}");
        let detail = res.json()["detail"].as_str().unwrap().to_string();
        assert!(detail.contains("line 6"), "{label}: {detail}");
        assert!(
            detail.contains("the endpoint contains a control character (U+0000)"),
            "{label}: {detail}"
        );

        // ESC in a chan_sip host: refused the same way, naming the field.
        let peers = "Name/username             Host            Dyn Forcerport Comedia    ACL Port     Status      Description\n\
                     100-ACME                  192.0.2.1\u{1b}[2J    D  No         No         A  5060     OK (12 ms)\n\
                     1 sip peers [Monitored: 1 online, 0 offline Unmonitored: 0 online, 0 offline]\n";
        let res = push(&app, &voip1, peers.to_string(), "sip-peers").await;
        assert_eq!(res.status, 400, "{label}: {}", res.body);
        let detail = res.json()["detail"].as_str().unwrap().to_string();
        assert!(
            detail.contains("line 2") && detail.contains("the contact contains a control"),
            "{label}: {detail}"
        );

        let after = app.store().unmatched_on(server, 100).await.unwrap();
        let endpoints = |rows: &[pbx_pools::store::PhoneRow]| {
            rows.iter().map(|r| r.endpoint.clone()).collect::<Vec<_>>()
        };
        assert_eq!(endpoints(&after), endpoints(&before), "{label}");
        let snapshots = app.store().latest_snapshots().await.unwrap();
        assert_eq!(snapshots.len(), 1, "{label}");
        assert_eq!(
            snapshots[0].contacts, 3,
            "{label}: the previous picture stays"
        );
        app.db.cleanup().await;
    }
}

/// A name of `len` characters: labels of at most 63 under `example.com`.
fn long_owner(len: usize) -> String {
    let mut name = String::from("example.com");
    while name.len() < len {
        let room = len - name.len() - 1;
        // Never leave room for only an empty label.
        let take = if room > 63 && room - 63 < 2 {
            60
        } else {
            room.min(63)
        };
        name = format!("{}.{name}", "a".repeat(take));
    }
    assert_eq!(name.len(), len);
    name
}

#[tokio::test]
async fn a_pool_that_would_break_every_export_is_refused_on_save() {
    for db in helpers::all_backends().await {
        let label = db.label;
        let app = TestApp::on(db).await;
        let pool = |name: &'static str, owner: String, transports: &'static str| {
            vec![
                ("name", name.to_string()),
                ("srv_name", owner),
                ("ttl", "3600".to_string()),
                ("transport", transports.to_string()),
            ]
        };
        let post = |path: String, fields: Vec<(&'static str, String)>| {
            let app = &app;
            async move {
                let fields: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.post_form(&path, &fields).await
            }
        };
        let res = post(
            "/pools".into(),
            pool("pbxA", "pbxa.example.com".into(), "udp"),
        )
        .await;
        assert_eq!(res.status, 303, "{label}: {}", res.body);

        // The same owner in other case, with the trailing dot: refused, naming pbxA.
        let res = post(
            "/pools".into(),
            pool("pbxB", "PBXA.Example.COM.".into(), "udp"),
        )
        .await;
        assert_eq!(res.status, 422, "{label}: {}", res.body);
        assert!(
            res.body
                .contains("pool pbxA is already published at pbxa.example.com"),
            "{label}: {}",
            res.body
        );

        // Saved elsewhere first, then moved onto pbxA's owner: refused the same way.
        let res = post(
            "/pools".into(),
            pool("pbxB", "pbxb.example.com".into(), "udp"),
        )
        .await;
        assert_eq!(res.status, 303, "{label}: {}", res.body);
        let b = app.store().pool_by_name("pbxB").await.unwrap();
        let mut edit = pool("pbxB", "pbxa.example.com".into(), "udp,tcp");
        edit.push(("version", b.version.to_string()));
        let res = post(format!("/pools/{}", b.name), edit).await;
        assert_eq!(res.status, 422, "{label}: {}", res.body);
        assert!(res.body.contains("pool pbxA"), "{label}: {}", res.body);

        // 243 characters: `_sip._udp.` (10) makes 253, which fits; `_sips._tcp.` (11) does not.
        let owner = long_owner(243);
        let res = post("/pools".into(), pool("pbxL", owner.clone(), "udp,tls")).await;
        assert_eq!(res.status, 422, "{label}: {}", res.body);
        assert!(
            res.body.contains("254 characters"),
            "{label}: the length is named: {}",
            res.body
        );
        let res = post("/pools".into(), pool("pbxL", owner, "udp,tcp")).await;
        assert_eq!(res.status, 303, "{label}: {}", res.body);

        // Nothing that was refused got in: every export still renders.
        let pools = app.store().pools().await.unwrap();
        assert_eq!(pools.len(), 3, "{label}");
        let res = app.get("/dns?format=bind").await;
        assert_eq!(res.status, 200, "{label}: {}", res.body);
        assert!(!res.body.contains("publishing-problems"), "{label}");
        app.db.cleanup().await;
    }
}

#[tokio::test]
async fn a_zone_import_onto_a_taken_owner_is_refused_naming_the_pool() {
    for db in helpers::all_backends().await {
        let label = db.label;
        let app = TestApp::on(db).await;
        let res = app
            .post_form(
                "/pools",
                &[
                    ("name", "main"),
                    ("srv_name", "pbxa.example.com"),
                    ("transport", "udp"),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{label}: {}", res.body);
        // The proposal calls its pool `pbxa` (the owner's first label): no name clash, but the
        // owner is main's.
        let zone = "$ORIGIN example.com.\n\
                    _sip._udp.PBXA 3600 IN SRV 10 10 5060 voip9.example.com.\n\
                    _sip._udp.pbxq 3600 IN SRV 10 10 5060 voip9.example.com.\n";
        let boundary = "XBOUNDARYX";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"zone\"\r\n\r\n{zone}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\napply\r\n--{boundary}--\r\n"
        );
        let req = axum::http::Request::post("/dns/import")
            .header("x-csrf-token", app.admin.csrf())
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(axum::body::Body::from(body))
            .unwrap();
        let res = app.admin.send(&app, req).await;
        assert_eq!(res.status, 409, "{label}: {}", res.body);
        assert!(
            res.body
                .contains("pool main is already published at pbxa.example.com"),
            "{label}: {}",
            res.body
        );
        let names: Vec<String> = app
            .store()
            .pools()
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.name.into_string())
            .collect();
        assert_eq!(names, vec!["main".to_string()], "{label}: all or nothing");
        assert!(app.store().servers().await.unwrap().is_empty(), "{label}");
        app.db.cleanup().await;
    }
}

#[tokio::test]
async fn pools_left_sharing_an_owner_by_an_old_release_are_named_on_the_dns_page() {
    for db in helpers::all_backends().await {
        let label = db.label;
        let app = TestApp::on(db).await;
        for (name, owner) in [("pbxA", "pbxa.example.com"), ("pbxB", "pbxb.example.com")] {
            let res = app
                .post_form(
                    "/pools",
                    &[("name", name), ("srv_name", owner), ("transport", "udp")],
                )
                .await;
            assert_eq!(res.status, 303, "{label}: {}", res.body);
        }
        // What migration 0010 leaves of a clash an older release stored: the newer pool marked
        // as outside the owner index, its owner spelt as that release wrote it.
        let raw = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&app.db.url)
            .await
            .unwrap();
        sqlx::query(
            "UPDATE pools SET owner_unchecked = 1, srv_name = 'PBXA.example.com.' \
             WHERE name = 'pbxB'",
        )
        .execute(&raw)
        .await
        .unwrap();
        raw.close().await;

        let res = app.get("/dns").await;
        assert!(
            res.body
                .contains("Pools pbxA and pbxB are published at the same owner pbxa.example.com"),
            "{label}: {}",
            res.body
        );
        app.db.cleanup().await;
    }
}
