//! Steps 6 to 8 of the browser flow on the source document's cluster (what-if, a rebalance plan
//! applied, a zone download of the ticked pools), with the helper that waits for a download.
//! Split from `browser.rs`, whose helpers it uses.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use pbx_pools::domain::auth::Role;

use crate::browser::{ADMIN, ADMIN_PASSWORD, App, Browser, WAIT, browser_test};

/// 6 to 8 on the source document's cluster: what-if, a rebalance plan applied, a zone download.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatif_plan_and_zone_download() {
    let app = App::start(None).await;
    app.add_user(ADMIN, ADMIN_PASSWORD, Role::Admin).await;
    let cluster = pbx_pools::domain::demo::source_document_cluster();
    app.store().load_demo(&cluster, "demo").await.unwrap();
    // The demo's overload can be removed only through the multi-primary pool wiki.
    crate::helpers::allow_multi_primary_plans(app.store()).await;
    browser_test("whatif_plan_and_zone_download", &app, |b| async move {
        b.login(ADMIN, ADMIN_PASSWORD).await;

        // 6. What if voip1 dies? pbxA (291 phones) and pbxB (118) all land on voip2 (400).
        b.click_link("What if").await;
        b.at("/whatif").await;
        b.tick("input[name='down'][value='voip1']").await;
        b.click_button("Project").await;
        b.see("projected phones per server").await;
        assert!(b.path().await.contains("down=voip1"), "{}", b.path().await);
        let row = b.row("voip1 down").await;
        assert_eq!(row[1..3], ["291", "0"], "voip1: {row:?}");
        let row = b.row("voip2 overloaded").await;
        assert_eq!(row[1..4], ["118", "409", "400"], "voip2: {row:?}");
        b.see("Tenants that move").await;
        let row = b.row("FERRARI").await;
        assert_eq!(row[1..4], ["140", "voip1 140", "voip2 140"], "{row:?}");
        // The box stays ticked on the result.
        let ticked = b
            .find(Locator::Css("input[name='down'][value='voip1']"))
            .await;
        assert!(ticked.is_selected().await.unwrap());

        // 7. Compute and apply a plan.
        b.click_link("Rebalance").await;
        b.at("/plan").await;
        b.click_button("Compute plan").await;
        b.see("worst utilisation now").await;
        b.see("after the plan").await;
        let moves = b.count(Locator::Css("input[name='move']")).await;
        assert!(
            moves > 0,
            "the overloaded demo cluster gets moves:\n{}",
            b.text().await
        );
        let now_card = b
            .find(Locator::XPath(
                "//div[contains(@class,'card')][contains(., 'worst utilisation now')]/span",
            ))
            .await
            .text()
            .await
            .unwrap();
        let after_card = b
            .find(Locator::XPath(
                "//div[contains(@class,'card')][contains(., 'after the plan')]/span",
            ))
            .await
            .text()
            .await
            .unwrap();
        let pct = |s: &str| s.trim_end_matches('%').parse::<f64>().unwrap();
        assert!(
            pct(&after_card) < pct(&now_card),
            "the plan improves the worst utilisation: {now_card} → {after_card}"
        );
        // Apply only the first proposed move.
        let first = b.find(Locator::Css("input[name='move']")).await;
        let first_tenant = first.attr("value").await.unwrap().unwrap();
        let to_xpath =
            format!("//tr[td/a[normalize-space(.)='{first_tenant}']]/td[4]/span[@class='to-pool']");
        let to_pool = b
            .find(Locator::XPath(&to_xpath))
            .await
            .text()
            .await
            .unwrap();
        let all =
            b.c.find_all(Locator::Css("input[name='move']"))
                .await
                .unwrap();
        for other in all.iter().skip(1) {
            other.click().await.unwrap();
            assert!(!other.is_selected().await.unwrap());
        }
        b.click_button("Apply the selected moves").await;
        b.see("applied: 1 tenants moved.").await;
        b.at("/tenants").await;
        let pool_xpath = format!("//tr[td/a[normalize-space(.)='{first_tenant}']]/td[5]");
        let pool = b
            .find(Locator::XPath(&pool_xpath))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(pool, to_pool, "{first_tenant} after the plan");

        // 8. Preview and download a zone file.
        b.click_link("DNS").await;
        b.at("/dns").await;
        b.see("SRV records to publish").await;
        // Only pool pbxA, BIND format.
        for p in ["pbxB", "wiki"] {
            let boxed = b
                .find(Locator::Css(&format!("input[name='pools'][value='{p}']")))
                .await;
            if boxed.is_selected().await.unwrap() {
                boxed.click().await.unwrap();
            }
        }
        b.tick("input[name='pools'][value='pbxA']").await;
        b.choose("format", "bind").await;
        b.click_button("Preview").await;
        b.see("_sip._udp.pbxa.example.com.").await;
        let preview = b.find(Locator::Css("pre.zone")).await.text().await.unwrap();
        assert!(
            preview
                .contains("_sip._udp.pbxa.example.com. 86400 IN SRV 10 10 5060 voip1.example.com."),
            "{preview}"
        );
        assert!(!preview.contains("pbxb"), "{preview}");
        // Download sends the form as ticked, not the last preview.
        b.click_button("Download").await;
        let (name, zone) = b.downloaded().await;
        assert!(
            zone.contains("_sip._udp.pbxa.example.com."),
            "{name}: {zone}"
        );
        assert!(zone.contains("IN SRV"), "{name}: {zone}");
        assert!(
            zone.contains("_sip._udp.pbxa.example.com. 86400 IN SRV 20 10 5060 voip2.example.com."),
            "{name}: {zone}"
        );
        assert!(!zone.contains("pbxb"), "{name}: {zone}");
        // Downloading leaves the page where it was.
        b.at("/dns").await;
    })
    .await;
    app.stop().await;
}

impl Browser {
    /// Waits for a finished download and returns its file name and text.
    async fn downloaded(&self) -> (String, String) {
        let deadline = Instant::now() + WAIT;
        loop {
            let done: Vec<PathBuf> = std::fs::read_dir(&self.downloads)
                .map(|d| {
                    d.filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| {
                            let name = p.file_name().unwrap().to_string_lossy().to_string();
                            !name.ends_with(".crdownload") && !name.starts_with('.')
                        })
                        .collect()
                })
                .unwrap_or_default();
            if let Some(path) = done.first() {
                let text = std::fs::read_to_string(path).unwrap();
                if !text.is_empty() {
                    let name = path.file_name().unwrap().to_string_lossy().to_string();
                    return (name, text);
                }
            }
            assert!(
                Instant::now() < deadline,
                "no download arrived in {}",
                self.downloads.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
