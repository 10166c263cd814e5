//! Moving a tenant in a real headless Chromium (the helpers of `browser.rs`): the assign form
//! starts a move, the tenant page shows it in progress with the SRV name to configure on the
//! phones, a pushed report with the phones at the new home completes it.

use pbx_pools::domain::auth::{Role, new_secret};

use crate::browser::{ADMIN, ADMIN_PASSWORD, App, browser_test, http_post};
use crate::helpers;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_a_tenant_shows_the_move_until_its_phones_arrive() {
    let app = App::start(None).await;
    app.add_user(ADMIN, ADMIN_PASSWORD, Role::Admin).await;
    let cluster = pbx_pools::domain::demo::source_document_cluster();
    app.store().load_demo(&cluster, "demo").await.unwrap();
    let mut secrets = Vec::new();
    for server in ["voip1", "voip2"] {
        let secret = new_secret("pbxp_").unwrap();
        app.store()
            .create_token(
                &format!("{server}-cron"),
                &secret,
                &format!("ingest:{server}").parse().unwrap(),
                "test",
            )
            .await
            .unwrap();
        secrets.push(secret);
    }
    let rossi = app.store().tenant_by_code("ROSSI").await.unwrap();
    let phones: Vec<String> = (0..12).map(|i| format!("{}-ROSSI", 200 + i)).collect();
    let addr = app.addr;
    let push = move |server: &'static str, secret: String, endpoints: Vec<String>| async move {
        let (status, body) = http_post(
            addr,
            &format!("/api/v1/servers/{server}/registrations?format=pjsip-contacts"),
            &secret,
            &helpers::pjsip_contacts(&endpoints),
        )
        .await;
        assert!(
            (200..300).contains(&status),
            "push {server}: {status} {body}"
        );
    };
    // ROSSI's twelve phones at home on voip1 (pbxA's primary).
    push("voip1", secrets[0].clone(), phones.clone()).await;
    push("voip2", secrets[1].clone(), Vec::new()).await;
    let (s1, s2) = (secrets[0].clone(), secrets[1].clone());
    browser_test(
        "moving_a_tenant_shows_the_move_until_its_phones_arrive",
        &app,
        |b| async move {
            b.login(ADMIN, ADMIN_PASSWORD).await;
            b.goto(&format!("/tenants/{}", rossi.code)).await;
            b.see("At home").await;
            // Assign pool pbxB with the tenant page's form.
            b.choose("assign-pool", "pbxB").await;
            b.click_button("Assign").await;
            // The impact preview first (impact_preview), then Apply.
            b.see("Impact on the servers").await;
            b.click_button("Apply").await;
            b.see("Tenant ROSSI assigned to pool pbxB.").await;
            // The move in progress, with what to configure on the phones.
            b.see("Move pbxA → pbxB: in progress").await;
            b.see("_sip._udp.pbxb.example.com").await;
            b.see("0 of 12 (0%)").await;
            b.see("Phones not moved yet").await;
            b.see("211-ROSSI").await;
            b.not_see("Split across").await;
            b.click_link("Moves").await;
            b.at("/moves").await;
            b.see("pbxA → pbxB").await;

            // The phones re-registered on voip2, pbxB's primary.
            push("voip2", s2, phones.clone()).await;
            push("voip1", s1, Vec::new()).await;
            b.goto(&format!("/tenants/{}", rossi.code)).await;
            b.see("Move pbxA → pbxB: done").await;
            b.see("12 of 12 (100%)").await;
            b.not_see("Cancel the move").await;
            b.goto("/moves?state=done").await;
            b.see("ROSSI").await;
        },
    )
    .await;
    app.stop().await;
}
