//! The Alerts page in a real headless Chromium (the helpers of `browser.rs`): paging through the
//! alerts of a generated cluster with the pager's links, a filter kept across pages, a card's
//! "What to do" leading to its kind's legend entry, and silencing an alert from its card.
//!
//! The card helpers ([`card_ids`], [`card`]) are what a flow acting on one alert (silencing or
//! acknowledging it through the card's forms) builds on.

use fantoccini::Locator;
use pbx_pools::domain::auth::Role;

use crate::browser::{ADMIN, ADMIN_PASSWORD, App, Browser, browser_test};
use crate::web_alerts::load_generated_cluster;

/// The ids of the alert cards on the page shown, in order.
pub(crate) async fn card_ids(b: &Browser) -> Vec<String> {
    let mut out = Vec::new();
    for li in
        b.c.find_all(Locator::Css("ul.alerts > li.alert"))
            .await
            .unwrap()
    {
        let id = li.attr("id").await.unwrap().expect("every card has an id");
        out.push(id.trim_start_matches("alert-").to_string());
    }
    out
}

/// The XPath of the card of alert `id`, for finding what is inside it (its links, its silence
/// and acknowledge forms).
pub(crate) fn card(id: &str) -> String {
    format!("//li[@id='alert-{id}']")
}

/// The number of alerts the counts line says the filter kept.
async fn total_shown(b: &Browser) -> usize {
    let line = b
        .find(Locator::Id("alert-counts"))
        .await
        .text()
        .await
        .unwrap();
    line.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the counts line starts with a number: {line}"))
}

fn rank(severity: &str) -> u8 {
    match severity {
        "critical" => 2,
        "warning" => 1,
        _ => 0,
    }
}

/// Follows "Next »" from the page shown to the last page, collecting the cards' ids and
/// severities; checks each page holds at most 50.
async fn page_through(b: &Browser) -> (Vec<String>, Vec<u8>, usize) {
    let mut ids = Vec::new();
    let mut severities = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        let here = card_ids(b).await;
        assert!(
            !here.is_empty() && here.len() <= 50,
            "page {pages}: {} cards",
            here.len()
        );
        for id in &here {
            let badge = b
                .find(Locator::XPath(&format!("{}/div[1]/span[1]", card(id))))
                .await
                .text()
                .await
                .unwrap();
            severities.push(rank(badge.trim()));
        }
        ids.extend(here);
        let next =
            b.c.find_all(Locator::XPath(
                "//nav[@class='pager']/a[normalize-space(.)='Next »']",
            ))
            .await
            .unwrap();
        let Some(next) = next.into_iter().next() else {
            break;
        };
        let before = b.path().await;
        next.click().await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while b.path().await == before {
            assert!(std::time::Instant::now() < deadline, "Next » did not load");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        b.see("alerts").await;
    }
    (ids, severities, pages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_through_the_alerts_of_a_generated_cluster() {
    let app = App::start(None).await;
    app.add_user(ADMIN, ADMIN_PASSWORD, Role::Admin).await;
    load_generated_cluster(app.store(), 300).await;
    browser_test(
        "paging_through_the_alerts_of_a_generated_cluster",
        &app,
        |b| async move {
            b.login(ADMIN, ADMIN_PASSWORD).await;
            b.click_link("Alerts").await;
            b.at("/alerts").await;
            let total = total_shown(&b).await;
            assert!(total > 100, "several pages: {total}");

            let (ids, severities, pages) = page_through(&b).await;
            assert_eq!(ids.len(), total, "every alert once");
            let mut unique = ids.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), total, "no alert on two pages");
            assert_eq!(pages, total.div_ceil(50));
            assert!(
                severities.windows(2).all(|w| w[0] >= w[1]),
                "ranked by severity across pages: {severities:?}"
            );

            // A filter chosen in the form is kept by the pager's links.
            b.goto("/alerts").await;
            b.choose("severity", "warning").await;
            b.click_button("Filter").await;
            b.see("match this filter").await;
            let filtered = total_shown(&b).await;
            let (ids, severities, pages) = page_through(&b).await;
            assert_eq!(ids.len(), filtered);
            assert!(severities.iter().all(|s| *s >= 1), "warning or worse");
            if pages > 1 {
                assert!(
                    b.path().await.contains("severity=warning"),
                    "{}",
                    b.path().await
                );
            }

            // A card's "What to do" opens its kind's legend entry.
            b.goto("/alerts").await;
            let first = card_ids(&b).await.remove(0);
            let what = format!("{}//a[normalize-space(.)='What to do']", card(&first));
            let link = b.find(Locator::XPath(&what)).await;
            let href = link.attr("href").await.unwrap().unwrap();
            assert!(href.starts_with("#kind-"), "{href}");
            link.click().await.unwrap();
            // The entry's text is inside the kind's <details>, which the browser opens to show it.
            let entry = b.find(Locator::Id(&href[1..])).await;
            let details = b
                .find(Locator::XPath(&format!(
                    "//details[.//*[@id='{}']]",
                    &href[1..]
                )))
                .await;
            assert!(
                details.attr("open").await.unwrap().is_some(),
                "the legend entry opens"
            );
            assert!(
                entry.text().await.unwrap().contains("What to do:"),
                "the legend entry tells what to do"
            );

            // The admin's forms on the card: silence with a reason, acknowledge with a note.
            let forms =
                b.c.find_all(Locator::XPath(&format!("{}//form", card(&first))))
                    .await
                    .unwrap();
            assert_eq!(forms.len(), 2);
            b.find(Locator::XPath(&format!(
                "{}//button[normalize-space(.)='Silence 1 h']",
                card(&first)
            )))
            .await;
            b.find(Locator::XPath(&format!(
                "{}//button[normalize-space(.)='Acknowledge']",
                card(&first)
            )))
            .await;
        },
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silencing_an_alert_hides_it_until_the_silence_is_removed() {
    let app = App::start(None).await;
    app.add_user(ADMIN, ADMIN_PASSWORD, Role::Admin).await;
    load_generated_cluster(app.store(), 60).await;
    browser_test(
        "silencing_an_alert_hides_it_until_the_silence_is_removed",
        &app,
        |b| async move {
            b.login(ADMIN, ADMIN_PASSWORD).await;
            b.goto("/alerts").await;
            let before = total_shown(&b).await;
            let first = card_ids(&b).await.remove(0);

            // Silence the first card for an hour, with a reason typed into its form.
            let reason = b
                .find(Locator::XPath(&format!(
                    "{}//input[@name='reason']",
                    card(&first)
                )))
                .await;
            reason.send_keys("waiting for the provider").await.unwrap();
            b.find(Locator::XPath(&format!(
                "{}//button[normalize-space(.)='Silence 1 h']",
                card(&first)
            )))
            .await
            .click()
            .await
            .unwrap();
            b.see("1 silenced").await;
            assert!(
                !card_ids(&b).await.contains(&first),
                "a silenced alert leaves the default view"
            );
            assert_eq!(total_shown(&b).await, before - 1);

            // Under "silenced" it is still there, saying who silenced it and why.
            b.click_link("1 silenced").await;
            assert_eq!(card_ids(&b).await, vec![first.clone()]);
            let text = b
                .find(Locator::XPath(&card(&first)))
                .await
                .text()
                .await
                .unwrap();
            assert!(
                text.contains("silenced until") && text.contains("waiting for the provider"),
                "{text}"
            );

            // Removing the silence on the Silences page brings it back.
            b.goto("/alerts/silences").await;
            b.see("waiting for the provider").await;
            b.click_button("Remove").await;
            // Wait for the removal's answer before asking for the alerts again.
            b.see("the alerts it hid show again").await;
            b.goto("/alerts").await;
            assert!(card_ids(&b).await.contains(&first));
            assert_eq!(total_shown(&b).await, before);
        },
    )
    .await;
    app.stop().await;
}
