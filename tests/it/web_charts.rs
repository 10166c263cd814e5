//! Charts on pages over HTTP (issue 18): the range switch, a refused range, the move page.

use crate::helpers;

#[tokio::test]
async fn pages_chart_the_requested_range_and_refuse_an_unknown_one() {
    helpers::each_backend(|app| async move {
        let store = app.store();
        crate::helpers::load_demo_with_history(store).await;
        let label = app.db.label;
        // The default range is 24 h; the others are links.
        let res = app.get("/").await;
        assert_eq!(res.status, 200, "{label}");
        assert!(
            res.body
                .contains(r#"<strong aria-current="true">24 h</strong>"#)
        );
        assert!(res.body.contains(r##"href="?range=14d#chart-servers""##));
        assert!(res.body.contains("Registered phones per server over 24 h"));
        let res = app.get("/servers/voip1?range=7d").await;
        assert_eq!(res.status, 200, "{label}");
        assert!(res.body.contains("Phones on voip1 over 7 d"), "{label}");
        // An unknown range is refused with the ranges there are.
        for path in ["/?range=1y", "/servers/voip1?range=2h"] {
            let res = app.get(path).await;
            assert_eq!(res.status, 422, "{label} {path}");
            assert!(
                res.body.contains("use 6h, 24h, 7d or 14d"),
                "{label} {path}"
            );
        }
        // A move's page: the tenant's phones since it started; an unknown move is a 404.
        let rossi = store.tenant_by_code("ROSSI").await.unwrap();
        let pbx_b = store.pool_by_name("pbxB").await.unwrap();
        store
            .assign_tenant(rossi.id, rossi.version, Some(pbx_b.id), "test")
            .await
            .unwrap();
        let m = store.latest_move(rossi.id).await.unwrap().unwrap();
        let res = app.get(&format!("/moves/{}", m.id)).await;
        assert_eq!(res.status, 200, "{label}");
        assert!(
            res.body
                .contains("ROSSI&#39;s phones per server since the move started")
        );
        assert!(res.body.contains(r#"data-name="voip1""#), "{label}");
        assert_eq!(app.get("/moves/999999").await.status, 404, "{label}");
    })
    .await;
}
