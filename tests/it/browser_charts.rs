//! Charts over time in a real headless Chromium (issue 18): on the demo with its generated
//! history, every chart (overview, server, pool, tenant and move pages) renders with non-empty
//! series, the range switch is a plain link, and the overview with its charts is captured as
//! `docs/overview.png` (linked from the README).

use fantoccini::Locator;
use pbx_pools::domain::auth::Role;

use crate::browser::{ADMIN, ADMIN_PASSWORD, App, Browser, browser_test};

/// The chart in panel `#id`: its series count and each line's point count, failing unless
/// every line has points.
async fn chart(b: &Browser, id: &str) -> (usize, Vec<usize>) {
    let svg = b.find(Locator::Css(&format!("#{id} svg.chart"))).await;
    let series: usize = svg
        .attr("data-series")
        .await
        .unwrap()
        .unwrap_or_default()
        .parse()
        .unwrap();
    let mut points = Vec::new();
    for line in
        b.c.find_all(Locator::Css(&format!(
            "#{id} svg.chart polyline.chart-line"
        )))
        .await
        .unwrap()
    {
        let n: usize = line
            .attr("data-points")
            .await
            .unwrap()
            .unwrap_or_default()
            .parse()
            .unwrap();
        points.push(n);
    }
    assert!(series > 0, "#{id}: no series on {}", b.path().await);
    assert_eq!(points.len(), series, "#{id}: one line per series");
    assert!(
        points.iter().all(|n| *n > 0),
        "#{id}: every series has points: {points:?}"
    );
    // A readable title on every point in time.
    let titles = b
        .count(Locator::Css(&format!(
            "#{id} svg.chart rect.chart-point title"
        )))
        .await;
    assert!(titles > 0, "#{id}: hover titles");
    (series, points)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_chart_renders_on_the_demo_history_and_the_overview_is_captured() {
    let app = App::start(None).await;
    app.add_user(ADMIN, ADMIN_PASSWORD, Role::Admin).await;
    let store = app.store();
    crate::helpers::load_demo_with_history(store).await;
    let voip1 = store.server_by_name("voip1").await.unwrap();
    let pbx_b = store.pool_by_name("pbxB").await.unwrap();
    let canistracci = store.tenant_by_code("CANISTRACCI").await.unwrap();
    // A move in flight: ROSSI to pbxB.
    let rossi = store.tenant_by_code("ROSSI").await.unwrap();
    store
        .assign_tenant(rossi.id, rossi.version, Some(pbx_b.id), "test")
        .await
        .unwrap();
    let moved = store.latest_move(rossi.id).await.unwrap().expect("a move");
    let shot = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/overview.png");
    browser_test(
        "every_chart_renders_on_the_demo_history_and_the_overview_is_captured",
        &app,
        |b| async move {
            b.login(ADMIN, ADMIN_PASSWORD).await;
            b.c.set_window_size(1280, 1500).await.unwrap();
            b.goto("/").await;
            // The overview: phones per server (voip1 … smallbox2) and away share per pool.
            let (servers, points) = chart(&b, "chart-servers").await;
            assert_eq!(servers, 6, "six demo servers, under the top N");
            assert!(
                points.iter().all(|n| *n >= 280),
                "24 h of 5-minute points: {points:?}"
            );
            let (pools, _) = chart(&b, "chart-pools").await;
            assert_eq!(pools, 3, "pbxA, pbxB, wiki");
            b.see("Registered phones per server").await;
            let png = b.c.screenshot().await.unwrap();
            std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
            std::fs::write(&shot, png).unwrap();
            // The range switch is a link: 14 days, an hour per point.
            b.click_link_in("//figure[@id='chart-servers']", "14 d")
                .await;
            b.find(Locator::XPath(
                "//figure[@id='chart-servers']//strong[normalize-space(.)='14 d']",
            ))
            .await;
            assert_eq!(b.path().await, "/?range=14d");
            let (_, points) = chart(&b, "chart-servers").await;
            assert!(points.iter().all(|n| (300..=340).contains(n)), "{points:?}");
            // The server, pool, tenant and move pages.
            b.goto(&format!("/servers/{}?range=6h", voip1.id)).await;
            let (n, _) = chart(&b, "chart-server").await;
            assert_eq!(n, 2, "registered and away");
            b.goto(&format!("/pools/{}?range=7d", pbx_b.id)).await;
            chart(&b, "chart-pool").await;
            b.goto(&format!("/tenants/{}", canistracci.id)).await;
            let (n, _) = chart(&b, "chart-tenant").await;
            assert_eq!(n, 2, "CANISTRACCI is split over voip1 and voip2");
            b.goto(&format!("/moves/{}", moved.id)).await;
            b.see("Move of ROSSI").await;
            chart(&b, "chart-move").await;
        },
    )
    .await;
    app.stop().await;
}
