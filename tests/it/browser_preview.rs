//! The impact preview in a real headless Chromium (the helpers of `browser.rs`): an admin moves a
//! tenant from its page, sees the per-server preview, and applies it; a move that pushes a server
//! over a level is applied only with "Apply anyway" ticked.

use fantoccini::Locator;
use pbx_pools::domain::auth::Role;
use pbx_pools::domain::demo::source_document_cluster;

use crate::browser::{ADMIN, ADMIN_PASSWORD, App, browser_test};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_a_tenant_see_the_preview_apply_it() {
    let app = App::start(None).await;
    app.add_user(ADMIN, ADMIN_PASSWORD, Role::Admin).await;
    app.store()
        .load_demo(&source_document_cluster(), "demo")
        .await
        .unwrap();
    let store = app.store().clone();
    browser_test(
        "move_a_tenant_see_the_preview_apply_it",
        &app,
        |b| async move {
            b.login(ADMIN, ADMIN_PASSWORD).await;

            // ROSSI moves from pbxA to pbxB: voip1 loses its 12 phones, voip2 gains them.
            b.click_link("Tenants").await;
            b.click_link("ROSSI").await;
            b.see("Studio Rossi").await;
            b.choose("assign-pool", "pbxB").await;
            b.click_button("Assign").await;
            b.see("Assign ROSSI to pool pbxB?").await;
            b.see("Impact on the servers").await;
            b.see("No server goes above the warning level").await;
            let voip1 = b
                .find(Locator::Css("tr[data-server='voip1']"))
                .await
                .text()
                .await
                .unwrap();
            assert!(voip1.contains("291 (73%) → 279 (70%)"), "{voip1}");
            assert_eq!(
                store
                    .tenant_by_code("ROSSI")
                    .await
                    .unwrap()
                    .pool_name
                    .as_deref(),
                Some("pbxA"),
                "the preview changes nothing"
            );
            b.click_button("Apply").await;
            b.see("Tenant ROSSI assigned to pool pbxB.").await;

            // GALLO into pbxA loads voip1 further in its worst single failure (voip2 down), where it
            // is above its capacity already: Apply alone is refused.
            b.click_link("Tenants").await;
            b.click_link("GALLO").await;
            b.choose("assign-pool", "pbxA").await;
            b.click_button("Assign").await;
            b.see("voip1 goes above its capacity in its worst single failure")
                .await;
            assert!(b.count(Locator::Css("tr.impact-crossing")).await >= 1);
            b.click_button("Apply").await;
            b.see("Nothing was changed").await;
            assert_eq!(store.tenant_by_code("GALLO").await.unwrap().pool_id, None);
            b.tick("#apply-anyway").await;
            b.click_button("Apply").await;
            b.see("Tenant GALLO assigned to pool pbxA.").await;
        },
    )
    .await;
    app.stop().await;
}
