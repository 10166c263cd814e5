//! Bulk moves in a real headless Chromium (the helpers of `browser.rs`): an admin filters the
//! tenants list, presses "Move all N tenants matching this filter", sees the count and the impact
//! preview, and applies it; "Select all on this page" ticks the page's boxes without script.

use fantoccini::Locator;
use pbx_pools::domain::auth::Role;
use pbx_pools::domain::demo::source_document_cluster;
use pbx_pools::store::{PoolFilter, TenantQuery};

use crate::browser::{ADMIN, ADMIN_PASSWORD, App, browser_test};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_the_list_move_all_matching_see_the_preview_apply_it() {
    let app = App::start(None).await;
    app.add_user(ADMIN, ADMIN_PASSWORD, Role::Admin).await;
    app.store()
        .load_demo(&source_document_cluster(), "demo")
        .await
        .unwrap();
    let store = app.store().clone();
    let pbx_b = store.pool_by_name("pbxB").await.unwrap().id;
    let in_b = move |store: pbx_pools::store::Store| async move {
        store
            .tenants(&TenantQuery {
                pool: PoolFilter::Pool(pbx_b),
                per_page: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .total
    };
    let n = in_b(store.clone()).await;
    assert!(n >= 2, "the demo has tenants in pbxB");
    browser_test(
        "filter_the_list_move_all_matching_see_the_preview_apply_it",
        &app,
        |b| async move {
            b.login(ADMIN, ADMIN_PASSWORD).await;
            b.click_link("Tenants").await;
            b.click_link("Select all on this page").await;
            b.see("Clear the selection").await;
            assert!(
                b.count(Locator::Css("input[name='tenant']:checked")).await >= 2,
                "the page's boxes are ticked"
            );
            b.click_link("Clear the selection").await;
            assert_eq!(
                b.count(Locator::Css("input[name='tenant']:checked")).await,
                0
            );

            b.choose("pool-filter", "pbxB").await;
            b.click_button("Filter").await;
            b.see(&format!("Move all {n} tenants matching this filter"))
                .await;
            b.choose("bulk-pool", "pbxA").await;
            b.click_button("Move all").await;
            b.see(&format!("{n} tenants match the list's filter now"))
                .await;
            b.see("Impact on the servers").await;
            assert_eq!(in_b(store.clone()).await, n, "the preview changes nothing");
            if b.count(Locator::Id("apply-anyway")).await > 0 {
                b.tick("#apply-anyway").await;
            }
            b.click_button("Apply").await;
            b.see(&format!("{n} of {n} selected tenants moved to pool pbxA."))
                .await;
            assert_eq!(in_b(store.clone()).await, 0);
        },
    )
    .await;
    app.stop().await;
}
