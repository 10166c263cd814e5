//! Issue 18's must-shows in a real headless Chromium (the helpers of `browser.rs`): the header's
//! search finds an endpoint by its contact address and a tenant by its code, `/tenants/CODE`
//! opens, the auto-refresh switch toggles, refreshes and is remembered across a reload, and the
//! settings form saves.

use fantoccini::Locator;
use pbx_pools::domain::auth::Role;

use crate::browser::{ADMIN, ADMIN_PASSWORD, App, Browser, browser_test};

/// Types `text` into the header's search box and submits it with Enter.
async fn search(b: &Browser, text: &str) {
    let field = b.find(Locator::Id("global-q")).await;
    field.clear().await.unwrap();
    field.send_keys(&format!("{text}\u{E007}")).await.unwrap();
    b.at("/search").await;
}

async fn switch_is_on(b: &Browser) -> bool {
    let switch = b.find(Locator::Id("auto-refresh")).await;
    assert!(
        switch.is_displayed().await.unwrap(),
        "the switch shows with JavaScript"
    );
    switch.is_selected().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_names_and_auto_refresh() {
    let app = App::start(None).await;
    app.add_user(ADMIN, ADMIN_PASSWORD, Role::Admin).await;
    app.store()
        .load_demo(&pbx_pools::domain::demo::source_document_cluster(), "demo")
        .await
        .unwrap();
    app.store()
        .load_demo_registrations(
            &pbx_pools::domain::demo_registrations::source_document_rounds(),
            7200,
        )
        .await
        .unwrap();
    browser_test("search_names_and_auto_refresh", &app, |b| async move {
        b.login(ADMIN, ADMIN_PASSWORD).await;

        // An endpoint by its contact address, then to its tenant.
        search(&b, "198.51.100.103").await;
        b.see("Contact addresses").await;
        b.click_link_in("//section[@id='results-contacts']", "101-ROSSI")
            .await;
        b.at("/tenants/ROSSI").await;
        b.see("Studio Rossi").await;

        // A tenant by its code.
        search(&b, "canistracci").await;
        b.click_link_in("//section[@id='results-tenants']", "CANISTRACCI")
            .await;
        b.at("/tenants/CANISTRACCI").await;
        b.see("Canistracci Trasporti").await;

        // /tenants/CODE opens typed in.
        b.goto("/tenants/COLOMBO").await;
        b.see("Colombo Assicurazioni").await;
        b.goto("/tenants/NOSUCH").await;
        b.see("There is no tenant named").await;

        // Auto-refresh: off at first, on once ticked, still on after a reload.
        b.goto("/").await;
        assert!(!switch_is_on(&b).await, "off until switched on");
        b.tick("#auto-refresh").await;
        b.goto("/").await;
        assert!(switch_is_on(&b).await, "remembered across a reload");
        // While on, the page reloads itself (the interval shortened for the test).
        b.c.execute(
            "var s = document.getElementById('auto-refresh'); \
             document.querySelector('[data-refresh]').setAttribute('data-refresh', '1'); \
             window.pbxStay = 1; s.click(); s.click(); return s.checked;",
            vec![],
        )
        .await
        .unwrap();
        let mut reloaded = false;
        for _ in 0..60 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let stay =
                b.c.execute("return window.pbxStay === 1;", vec![])
                    .await
                    .unwrap();
            if stay == serde_json::Value::Bool(false) {
                reloaded = true;
                break;
            }
        }
        assert!(reloaded, "the page reloaded itself within 6 s");
        assert!(switch_is_on(&b).await);
        // Off again, and remembered off.
        b.find(Locator::Id("auto-refresh"))
            .await
            .click()
            .await
            .unwrap();
        b.goto("/").await;
        assert!(!switch_is_on(&b).await, "off is remembered too");
        // The registrations page has its own switch.
        b.goto("/registrations").await;
        assert!(!switch_is_on(&b).await);

        // The settings form saves: a changed warning level is stored and shown again.
        b.goto("/settings").await;
        b.fill("capacity_warning_pct", "75").await;
        b.click_button("Save settings").await;
        b.at("/settings").await;
        b.see("Settings saved.").await;
        let shown = b
            .find(Locator::Id("capacity_warning_pct"))
            .await
            .prop("value")
            .await
            .unwrap();
        assert_eq!(
            shown.as_deref(),
            Some("75"),
            "the form shows what was saved"
        );
    })
    .await;
    let (settings, _) = app.store().settings().await.unwrap();
    assert!(
        (settings.alerts.capacity_warning - 0.75).abs() < 1e-9,
        "stored: {}",
        settings.alerts.capacity_warning
    );
    app.stop().await;
}
