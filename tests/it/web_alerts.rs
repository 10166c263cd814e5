//! The Alerts page and API at scale: a generated cluster's alerts a page at a time, ranked by
//! impact, filtered (pool and state included), wrong filters refused with the field's name; the
//! overview's headline linking its alerts; `/metrics` counting what the list counts.
//!
//! The assertions hold whatever the alert rules find: each compares one view of the alerts with
//! another (a page with the slice of the whole list, a filter with the list filtered here), so
//! they test the listing, not the rules.

use std::collections::BTreeSet;

use pbx_pools::domain::auth::Role;
use pbx_pools::domain::demo::{DemoTenant, GeneratorSpec, generate_cluster};
use pbx_pools::domain::demo_registrations::generated_registrations;
use pbx_pools::store::Store;
use serde_json::Value;

use crate::helpers::{self, TestApp};

/// Tenants added to the generated cluster without a pool, each expecting phones: one alert each
/// whatever else the rules find, so every listing has several pages.
pub const UNPLACED: u32 = 60;

/// A generated cluster of `tenants` tenants on 6 servers, its registrations, and [`UNPLACED`]
/// tenants without a pool.
pub async fn load_generated_cluster(store: &Store, tenants: u32) {
    let mut cluster = generate_cluster(GeneratorSpec {
        tenants,
        servers: 6,
        min_phones: 3,
        max_phones: 120,
        seed: 7,
    });
    let rounds = vec![generated_registrations(&cluster, 7)];
    for i in 0..UNPLACED {
        cluster.tenants.push(DemoTenant {
            code: format!("NOPOOL{i:03}"),
            name: format!("Unplaced {i}"),
            expected_phones: 4,
            pool: None,
        });
    }
    store.load_demo(&cluster, "demo").await.unwrap();
    store.load_demo_registrations(&rounds, 0).await.unwrap();
}

/// Every alert the API lists for `filter` (all pages of 200), and the total it reported.
async fn all_rows(app: &TestApp, reader: &helpers::Client, filter: &str) -> (Vec<Value>, u64) {
    let mut rows = Vec::new();
    let mut total = None;
    for page in 1.. {
        let res = reader
            .json(
                app,
                "GET",
                &format!("/api/v1/alerts?per_page=200&page={page}{filter}"),
                None,
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        let body = res.json();
        let got = body["rows"].as_array().unwrap().clone();
        total = Some(body["total"].as_u64().unwrap());
        if got.is_empty() {
            break;
        }
        rows.extend(got);
    }
    (rows, total.unwrap())
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn rank(severity: &str) -> u8 {
    match severity {
        "critical" => 2,
        "warning" => 1,
        "info" => 0,
        other => panic!("unknown severity {other}"),
    }
}

fn names(row: &Value, kind: &str) -> Vec<String> {
    row["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == kind)
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect()
}

/// The alert ids of the cards of an alerts page, in order.
fn card_ids(html: &str) -> Vec<String> {
    html.match_indices("<li class=\"alert alert-")
        .map(|(i, _)| {
            let rest = &html[i..];
            let at = rest.find("id=\"alert-").unwrap() + "id=\"alert-".len();
            rest[at..at + rest[at..].find('"').unwrap()].to_string()
        })
        .collect()
}

/// Text as askama writes it into HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[tokio::test]
async fn the_api_pages_through_the_ranking_in_the_tenants_envelope() {
    helpers::each_backend(|app: TestApp| async move {
        load_generated_cluster(app.store(), 300).await;
        let reader = app.token_client("r", "read").await;
        let (all, total) = all_rows(&app, &reader, "").await;
        assert_eq!(all.len() as u64, total);
        assert!(
            total > 100,
            "a generated cluster has pages of alerts: {total}"
        );

        let first = reader.json(&app, "GET", "/api/v1/alerts", None).await;
        assert_eq!(first.status, 200);
        let first = first.json();
        let keys: BTreeSet<&str> = first
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(keys, BTreeSet::from(["page", "per_page", "rows", "total"]));
        assert_eq!(
            (first["page"].as_u64(), first["per_page"].as_u64()),
            (Some(1), Some(50))
        );
        assert_eq!(first["total"].as_u64(), Some(total));
        let row = &first["rows"][0];
        for field in [
            "id",
            "kind",
            "severity",
            "impact_phones",
            "since",
            "objects",
            "facets",
            "summary",
            "why",
            "action",
            "state",
        ] {
            assert!(row.get(field).is_some(), "{field} missing from {row}");
        }
        assert_eq!(row["state"], "active");
        assert_eq!(ids(first["rows"].as_array().unwrap()), ids(&all[..50]));

        let second = reader
            .json(&app, "GET", "/api/v1/alerts?page=2", None)
            .await
            .json();
        assert_eq!(second["page"], 2);
        assert_eq!(second["total"].as_u64(), Some(total));
        assert_eq!(
            ids(second["rows"].as_array().unwrap()),
            ids(&all[50..100]),
            "page 2 has the next 50"
        );
        let small = reader
            .json(&app, "GET", "/api/v1/alerts?per_page=7&page=3", None)
            .await
            .json();
        assert_eq!(ids(small["rows"].as_array().unwrap()), ids(&all[14..21]));
        let past = reader
            .json(&app, "GET", "/api/v1/alerts?page=999", None)
            .await
            .json();
        assert_eq!(past["rows"].as_array().unwrap().len(), 0);
        assert_eq!(past["total"].as_u64(), Some(total));

        // Ranked by severity, then phones affected.
        for pair in all.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let (ra, rb) = (
                rank(a["severity"].as_str().unwrap()),
                rank(b["severity"].as_str().unwrap()),
            );
            assert!(ra >= rb, "{a} before {b}");
            if ra == rb {
                assert!(
                    a["impact_phones"].as_u64() >= b["impact_phones"].as_u64(),
                    "{a} before {b}"
                );
            }
        }
        // Ids are unique: they name alerts in links, silences and history.
        assert_eq!(
            ids(&all).into_iter().collect::<BTreeSet<_>>().len(),
            all.len()
        );
    })
    .await;
}

#[tokio::test]
async fn filters_narrow_the_list_by_pool_tenant_server_kind_severity_state_and_id() {
    helpers::each_backend(|app: TestApp| async move {
        load_generated_cluster(app.store(), 300).await;
        let reader = app.token_client("r", "read").await;
        let (all, _) = all_rows(&app, &reader, "").await;

        let pool = all
            .iter()
            .find_map(|r| names(r, "pool").into_iter().next())
            .expect("some alert names a pool");
        let (by_pool, total) = all_rows(&app, &reader, &format!("&pool={pool}")).await;
        let expected: Vec<Value> = all
            .iter()
            .filter(|r| {
                names(r, "pool")
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(&pool))
            })
            .cloned()
            .collect();
        assert_eq!(ids(&by_pool), ids(&expected), "pool {pool}");
        assert!(total > 0 && total < all.len() as u64);
        // Names are matched without regard to case.
        let (lower, _) = all_rows(&app, &reader, &format!("&pool={}", pool.to_lowercase())).await;
        assert_eq!(ids(&lower), ids(&by_pool));

        let (by_tenant, _) = all_rows(&app, &reader, "&tenant=nopool007").await;
        assert!(!by_tenant.is_empty());
        assert!(
            by_tenant
                .iter()
                .all(|r| names(r, "tenant") == ["NOPOOL007"])
        );

        let (by_server, _) = all_rows(&app, &reader, "&server=voip3").await;
        let expected: Vec<Value> = all
            .iter()
            .filter(|r| names(r, "server").iter().any(|s| s == "voip3"))
            .cloned()
            .collect();
        assert_eq!(ids(&by_server), ids(&expected));

        let (no_pool, _) = all_rows(&app, &reader, "&kind=tenant_no_pool").await;
        assert!(no_pool.len() >= UNPLACED as usize, "{}", no_pool.len());
        assert!(no_pool.iter().all(|r| {
            r["kind"] == "tenant_no_pool"
                || r["facets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["kind"] == "tenant_no_pool")
        }));

        let (warning_up, _) = all_rows(&app, &reader, "&severity=warning").await;
        let expected: Vec<Value> = all
            .iter()
            .filter(|r| r["severity"] != "info")
            .cloned()
            .collect();
        assert_eq!(ids(&warning_up), ids(&expected), "warning or worse");

        // Without an alert log nothing is silenced: all = active, silenced is empty.
        let (every, _) = all_rows(&app, &reader, "&state=all").await;
        assert_eq!(ids(&every), ids(&all));
        let (silenced, total) = all_rows(&app, &reader, "&state=silenced").await;
        assert_eq!((silenced.len(), total), (0, 0));

        let one = &all[all.len() / 2];
        let id = one["id"].as_str().unwrap();
        let (by_id, _) = all_rows(&app, &reader, &format!("&id={id}")).await;
        assert_eq!(ids(&by_id), [id]);

        // The page applies the same filter, and its pager keeps it.
        let page = app.get(&format!("/alerts?pool={pool}&per_page=5")).await;
        assert_eq!(page.status, 200);
        let shown = card_ids(&page.body);
        assert_eq!(shown, ids(&by_pool[..by_pool.len().min(5)]));
        if by_pool.len() > 5 {
            assert!(
                page.body.contains(&format!(
                    "href=\"/alerts?pool={pool}&#38;per_page=5&#38;page=2\""
                )),
                "the pager keeps the filter: {}",
                page.body
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_wrong_filter_is_refused_with_the_field_named() {
    helpers::each_backend(|app: TestApp| async move {
        load_generated_cluster(app.store(), 40).await;
        let reader = app.token_client("r", "read").await;
        for (query, field) in [
            ("severity=loud", "severity"),
            ("kind=nonsense", "kind"),
            ("state=forgotten", "state"),
            ("sort=size", "sort"),
            ("page=0", "page"),
            ("page=abc", "page"),
            ("per_page=201", "per_page"),
        ] {
            let page = app.get(&format!("/alerts?{query}")).await;
            assert_eq!(page.status, 400, "{query}: {}", page.body);
            assert!(page.content_type.starts_with("text/html"), "{query}");
            assert!(
                page.body.contains(&format!("<strong>{field}</strong>")),
                "{query}: the page names {field}: {}",
                page.body
            );
            assert!(card_ids(&page.body).is_empty(), "{query}: no alerts shown");
            let api = reader
                .json(&app, "GET", &format!("/api/v1/alerts?{query}"), None)
                .await;
            assert_eq!(api.status, 400, "{query}: {}", api.body);
            assert!(api.content_type.starts_with("application/problem+json"));
            let problem = api.json();
            assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
        }
        // The page shows at most 50 cards (its size budget); the API gives up to 200 rows.
        let page = app.get("/alerts?per_page=51").await;
        assert_eq!(page.status, 400);
        assert!(page.body.contains("<strong>per_page</strong>"));
        let api = reader
            .json(&app, "GET", "/api/v1/alerts?per_page=200", None)
            .await;
        assert_eq!(api.status, 200);
    })
    .await;
}

#[tokio::test]
async fn the_page_shows_fifty_cards_a_legend_counts_and_pager() {
    helpers::each_backend(|app: TestApp| async move {
        load_generated_cluster(app.store(), 300).await;
        let reader = app.token_client("r", "read").await;
        let (all, total) = all_rows(&app, &reader, "").await;

        let page = app.get("/alerts").await;
        assert_eq!(page.status, 200);
        let body = &page.body;
        assert_eq!(card_ids(body), ids(&all[..50]));
        assert!(body.contains("href=\"/alerts?page=2\""), "a pager");
        assert!(body.contains(&format!("{total} alerts")), "the counts line");
        let counts = |sev: &str| all.iter().filter(|r| r["severity"] == sev).count();
        assert!(body.contains(&format!(
            "<strong>{}</strong> critical, <strong>{}</strong> warning",
            counts("critical"),
            counts("warning")
        )));
        assert!(body.contains("0 silenced"));
        assert!(body.contains("within normal ("));

        // Each kind on the page has one legend entry, and its texts appear once.
        let kinds: BTreeSet<&str> = all[..50]
            .iter()
            .map(|r| r["kind"].as_str().unwrap())
            .collect();
        for kind in &kinds {
            assert_eq!(
                body.matches(&format!("id=\"kind-{kind}\"")).count(),
                1,
                "{kind}"
            );
            assert!(body.contains(&format!("href=\"#kind-{kind}\"")));
        }
        // Each kind's explanation is told once, in the legend, not on the cards.
        for kind in &kinds {
            let kind: pbx_pools::domain::alerts::AlertKind = kind.parse().unwrap();
            let why = escape(kind.explanation());
            assert_eq!(body.matches(why.as_str()).count(), 1, "told once: {why}");
        }
        assert!(body.matches("What to do").count() >= 50);

        // Admins get the silence and acknowledge forms, with the session's CSRF token.
        assert_eq!(body.matches("action=\"/alerts/silences\"").count(), 50);
        assert_eq!(body.matches("action=\"/alerts/ack\"").count(), 50);
        let csrf = app.admin.csrf();
        assert!(
            body.matches(&format!("name=\"csrf\" value=\"{csrf}\""))
                .count()
                >= 100
        );

        let second = app.get("/alerts?page=2").await;
        assert_eq!(card_ids(&second.body), ids(&all[50..100]));

        app.add_user("vera", Role::Viewer, "vera-password-1").await;
        let viewer = app.login("vera", "vera-password-1").await;
        let seen = viewer.get(&app, "/alerts").await;
        assert_eq!(seen.status, 200);
        assert_eq!(card_ids(&seen.body).len(), 50);
        assert!(
            !seen.body.contains("/alerts/silences"),
            "viewers get no write forms"
        );
        assert!(!seen.body.contains("/alerts/ack"));

        // One alert by its id, and an id that matches nothing.
        let id = all[0]["id"].as_str().unwrap();
        let one = app.get(&format!("/alerts?id={id}&state=all")).await;
        assert_eq!(card_ids(&one.body), [id]);
        let none = app.get("/alerts?id=0000000000000000").await;
        assert!(card_ids(&none.body).is_empty());
        assert!(none.body.contains("No alert with this id"));
    })
    .await;
}

#[tokio::test]
async fn the_overview_headline_links_the_top_alerts_by_impact() {
    helpers::each_backend(|app: TestApp| async move {
        load_generated_cluster(app.store(), 300).await;
        let reader = app.token_client("r", "read").await;
        let top = reader
            .json(&app, "GET", "/api/v1/alerts?per_page=5", None)
            .await
            .json();
        let top = ids(top["rows"].as_array().unwrap());
        assert_eq!(top.len(), 5);
        let overview = app.get("/").await;
        assert_eq!(overview.status, 200);
        let headline = &overview.body[overview.body.find("id=\"headline\"").unwrap()..];
        let headline = &headline[..headline.find("</ul>").unwrap()];
        let linked: Vec<String> = headline
            .match_indices("href=\"/alerts?id=")
            .map(|(i, _)| {
                let rest = &headline[i + "href=\"/alerts?id=".len()..];
                rest[..rest.find('&').unwrap()].to_string()
            })
            .collect();
        assert_eq!(
            linked, top,
            "the headline is the top 5 by impact, each a link"
        );
        assert!(headline.contains("affected"));
        assert!(overview.body.contains("within normal"));
        // The link shows that alert.
        let followed = app.get(&format!("/alerts?id={}&state=all", top[0])).await;
        assert_eq!(card_ids(&followed.body), [top[0].clone()]);
    })
    .await;
}

#[tokio::test]
async fn metrics_count_what_the_list_counts_and_the_silenced_apart() {
    helpers::each_backend(|app: TestApp| async move {
        load_generated_cluster(app.store(), 100).await;
        let reader = app.token_client("r", "read").await;
        let (all, total) = all_rows(&app, &reader, "").await;
        let metrics = helpers::Client::anonymous().get(&app, "/metrics").await;
        assert_eq!(metrics.status, 200);
        let mut counted = 0u64;
        for line in metrics.body.lines() {
            if let Some(rest) = line.strip_prefix("pbx_pools_alerts{") {
                counted += rest.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64;
            }
        }
        assert_eq!(counted, total, "{}", metrics.body);
        let critical = all.iter().filter(|r| r["severity"] == "critical").count();
        let in_metrics: f64 = metrics
            .body
            .lines()
            .filter(|l| l.starts_with("pbx_pools_alerts{") && l.contains("severity=\"critical\""))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum();
        assert_eq!(in_metrics as usize, critical);
        let silenced: Vec<f64> = metrics
            .body
            .lines()
            .filter_map(|l| l.strip_prefix("pbx_pools_alerts_silenced "))
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(silenced, [0.0], "{}", metrics.body);
    })
    .await;
}
