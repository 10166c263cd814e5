//! Pages at the cost of their bytes (issue #14): the tenant list pages by keyset, covering every
//! tenant exactly once in either direction for every sort, and a page on a warm cache costs one
//! database round trip for the session, its user and the data version together.

use pbx_pools::domain::ids::{PoolId, TenantId};
use pbx_pools::domain::model::{NewPool, NewTenant, Transport};
use pbx_pools::domain::names::{HostName, PoolName, TenantCode};
use pbx_pools::store::{Backend, Cursor, PoolFilter, Store, TenantPage, TenantQuery, TenantSort};

use crate::helpers::{self, TestApp};

const SORTS: [TenantSort; 4] = [
    TenantSort::Code,
    TenantSort::Name,
    TenantSort::Phones,
    TenantSort::Pool,
];

/// 37 tenants with ties in every sort but the code: names from a handful, phones from three
/// values, two pools and a few tenants without a pool.
async fn tenants_with_ties(store: &Store) -> Vec<TenantId> {
    let mut pools: Vec<Option<PoolId>> = vec![None];
    for name in ["Zeta", "Alpha"] {
        let p = store
            .create_pool(
                &NewPool {
                    name: PoolName::parse(name).unwrap(),
                    srv_name: HostName::parse(&format!("{}.example.com", name.to_lowercase()))
                        .unwrap(),
                    ttl: 3600,
                    transports: vec![Transport::Udp],
                },
                "test",
            )
            .await
            .unwrap();
        pools.push(Some(p.id));
    }
    let mut ids = Vec::new();
    for i in 0..37u32 {
        let t = store
            .create_tenant(
                &NewTenant {
                    code: TenantCode::parse(&format!("T{:02}", (i * 17) % 37)).unwrap(),
                    name: ["Rossi", "Bianchi", "Verdi", "Neri"][(i % 4) as usize].to_string(),
                    expected_phones: [5, 40, 12][(i % 3) as usize],
                    pool_id: pools[(i % 3) as usize],
                    notes: String::new(),
                },
                "test",
            )
            .await
            .unwrap();
        ids.push(t.id);
    }
    ids
}

fn query(sort: TenantSort, desc: bool, per_page: u32, cursor: Option<Cursor>) -> TenantQuery {
    TenantQuery {
        sort,
        desc,
        per_page,
        page: 1,
        cursor,
        ..Default::default()
    }
}

fn ids(page: &TenantPage) -> Vec<TenantId> {
    page.rows.iter().map(|t| t.id).collect()
}

/// The order every page must follow, written out in Rust: the key, then the id (the code alone
/// for the code sort; pool name, then code, for the pool sort, unplaced first). Names and pool
/// names here are ASCII, so both backends' collations agree with byte order.
fn expected_order(
    store_rows: &[pbx_pools::domain::model::Tenant],
    sort: TenantSort,
    desc: bool,
) -> Vec<TenantId> {
    let mut rows: Vec<_> = store_rows.iter().collect();
    rows.sort_by(|a, b| {
        let key = |t: &&pbx_pools::domain::model::Tenant| match sort {
            TenantSort::Code => (String::new(), 0, t.code.to_lowercase(), 0),
            TenantSort::Name => (t.name.clone(), 0, String::new(), t.id.get()),
            TenantSort::Phones => (String::new(), t.expected_phones, String::new(), t.id.get()),
            TenantSort::Pool => (
                t.pool_name
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                0,
                t.code.to_lowercase(),
                0,
            ),
        };
        key(a).cmp(&key(b))
    });
    if desc {
        rows.reverse();
    }
    rows.into_iter().map(|t| t.id).collect()
}

#[tokio::test]
async fn keyset_pages_cover_every_tenant_once_in_order_for_each_sort_and_direction() {
    helpers::each_db(|db| async move {
        let store = &db.store;
        let mut created = tenants_with_ties(store).await;
        created.sort();
        let everyone = store
            .tenants(&query(TenantSort::Code, false, 1000, None))
            .await
            .unwrap();
        assert_eq!(everyone.rows.len(), 37);
        for sort in SORTS {
            for desc in [false, true] {
                let what = format!("{}: sort {sort:?}, desc {desc}", db.label);
                let expected = expected_order(&everyone.rows, sort, desc);

                // Forwards: page 1, then each page after the last row of the one before.
                let mut page = store.tenants(&query(sort, desc, 5, None)).await.unwrap();
                assert_eq!(page.prev_before, None, "{what}: nothing before page 1");
                let mut seen = ids(&page);
                let mut pages = 1;
                while let Some(after) = page.next_after {
                    assert_eq!(Some(after), page.rows.last().map(|t| t.id));
                    page = store
                        .tenants(&query(sort, desc, 5, Some(Cursor::After(after))))
                        .await
                        .unwrap();
                    assert!(!page.rows.is_empty(), "{what}: a Next cursor leads to rows");
                    assert_eq!(page.total, 37, "{what}");
                    seen.extend(ids(&page));
                    pages += 1;
                }
                assert_eq!(pages, 8, "{what}: 37 rows in pages of 5");
                assert_eq!(seen, expected, "{what}: forwards");

                // Backwards from the last page (reached by number), each page before the
                // first row of the one after.
                let mut page = store
                    .tenants(&TenantQuery {
                        page: 8,
                        ..query(sort, desc, 5, None)
                    })
                    .await
                    .unwrap();
                assert_eq!(page.next_after, None, "{what}: nothing after the last page");
                assert_eq!(page.rows.len(), 2, "{what}");
                let mut back = vec![ids(&page)];
                while let Some(before) = page.prev_before {
                    page = store
                        .tenants(&query(sort, desc, 5, Some(Cursor::Before(before))))
                        .await
                        .unwrap();
                    assert!(page.next_after.is_some(), "{what}: the page we came from");
                    back.push(ids(&page));
                }
                assert_eq!(back.len(), 8, "{what}");
                let back: Vec<TenantId> = back.into_iter().rev().flatten().collect();
                assert_eq!(back, expected, "{what}: backwards");

                // By page number: the same rows, page by page.
                let mut numbered = Vec::new();
                for n in 1..=8 {
                    let page = store
                        .tenants(&TenantQuery {
                            page: n,
                            ..query(sort, desc, 5, None)
                        })
                        .await
                        .unwrap();
                    assert_eq!(page.next_after.is_some(), n < 8, "{what}: page {n}");
                    assert_eq!(page.prev_before.is_some(), n > 1, "{what}: page {n}");
                    numbered.extend(ids(&page));
                }
                assert_eq!(numbered, expected, "{what}: by number");
            }
        }
        let mut listed = ids(&everyone);
        listed.sort();
        assert_eq!(listed, created);

        // A filter applies to keyset pages too, and a cursor whose tenant is gone leads to
        // the first page.
        let unplaced = |cursor| TenantQuery {
            pool: PoolFilter::Unplaced,
            ..query(TenantSort::Phones, false, 4, cursor)
        };
        let first = store.tenants(&unplaced(None)).await.unwrap();
        let second = store
            .tenants(&unplaced(first.next_after.map(Cursor::After)))
            .await
            .unwrap();
        assert_eq!(first.total, 13);
        assert!(second.rows.iter().all(|t| t.pool_id.is_none()));
        assert!(ids(&second).iter().all(|id| !ids(&first).contains(id)));
        let gone = TenantId::new(987_654);
        let restarted = store
            .tenants(&unplaced(Some(Cursor::After(gone))))
            .await
            .unwrap();
        assert_eq!(ids(&restarted), ids(&first));
    })
    .await;
}

/// Follows the list's "Next »" links from page 1 and returns the tenant links of every page.
async fn walk_next(app: &TestApp, start: &str) -> (Vec<String>, usize) {
    let mut path = start.to_string();
    let mut codes = Vec::new();
    let mut pages = 0;
    loop {
        let res = app.get(&path).await;
        assert_eq!(res.status, 200, "{path}: {}", res.body);
        pages += 1;
        for part in res.body.split("<td><a href=\"/tenants/").skip(1) {
            let code = part.split('>').nth(1).unwrap().split('<').next().unwrap();
            codes.push(code.to_string());
        }
        let Some(next) = res
            .body
            .split("<a href=\"")
            .filter_map(|a| a.split_once("\">Next »</a>"))
            .map(|(href, _)| href.replace("&#38;", "&").replace("&amp;", "&"))
            .find(|href| !href.contains('"'))
        else {
            return (codes, pages);
        };
        assert!(next.contains("after="), "Next follows a cursor: {next}");
        path = next;
    }
}

#[tokio::test]
async fn the_tenant_list_pages_by_cursor_and_by_number() {
    helpers::each_backend(|app| async move {
        tenants_with_ties(app.store()).await;
        let (codes, pages) = walk_next(&app, "/tenants?sort=phones&dir=desc&per_page=10").await;
        assert_eq!(pages, 4);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((codes.len(), unique.len()), (37, 37), "{codes:?}");
        // Page numbers still work, and a page reached by cursor links back by cursor.
        let third = app
            .get("/tenants?sort=phones&dir=desc&per_page=10&page=3")
            .await;
        assert_eq!(third.status, 200);
        assert!(third.body.contains("before="), "Prev follows a cursor");
        assert!(third.body.contains("page=4"), "numbered links");

        // The API takes the cursors its pages return.
        let api = app.token_client("reader", "read").await;
        let first = api.get(&app, "/api/v1/tenants?sort=name&per_page=20").await;
        assert_eq!(first.status, 200, "{}", first.body);
        let first = first.json();
        let after = first["next_after"].as_i64().expect("a next cursor");
        let second = api
            .get(
                &app,
                &format!("/api/v1/tenants?sort=name&per_page=20&after={after}"),
            )
            .await
            .json();
        assert_eq!(second["rows"].as_array().unwrap().len(), 17);
        assert!(second["next_after"].is_null());
        assert_eq!(second["prev_before"], second["rows"][0]["id"]);
    })
    .await;
}

/// The fewest connections taken from the pool by one of a few identical requests (sent without
/// the test client's own read of the data version): the first ones warm the caches, and a background rebuild (at a clock tick) may overlap one of them.
/// Each statement outside a transaction takes one (on PostgreSQL the pool also pings an idle
/// connection before handing it out, which this does not count).
async fn fewest_round_trips(app: &TestApp, path: &str) -> u64 {
    let mut fewest = u64::MAX;
    for _ in 0..6 {
        // Lets a background rebuild (started by a clock tick) finish outside the count.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let before = app.store().checkouts();
        let res = app.admin.get_unseen(app, path).await;
        assert_eq!(res.status, 200, "{path}: {}", res.body);
        fewest = fewest.min(app.store().checkouts() - before);
    }
    fewest
}

#[tokio::test]
async fn a_page_on_a_warm_cache_costs_one_round_trip_for_session_user_and_version() {
    helpers::each_backend(|app| async move {
        tenants_with_ties(app.store()).await;
        // PostgreSQL: the session, its user and the data version in one statement. SQLite,
        // which one process owns: the session loaded a moment ago and the version read a moment
        // ago come from memory. The overview renders from the cached view and alerts.
        let session = match app.store().backend() {
            Backend::Sqlite => 0,
            Backend::Postgres => 1,
        };
        assert_eq!(
            fewest_round_trips(&app, "/").await,
            session,
            "{}",
            app.db.label
        );
        // The tenant list asked again on the same data is sent as rendered the first time.
        assert_eq!(
            fewest_round_trips(&app, "/tenants?sort=phones&page=3&per_page=5").await,
            session,
            "{}",
            app.db.label
        );
        // A list not rendered yet adds its page (with the count) and takes pools from the view.
        let mut fewest = u64::MAX;
        for per_page in 6..12 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let path = format!("/tenants?sort=phones&page=3&per_page={per_page}");
            let before = app.store().checkouts();
            let res = app.admin.get_unseen(&app, &path).await;
            assert_eq!(res.status, 200, "{path}: {}", res.body);
            fewest = fewest.min(app.store().checkouts() - before);
        }
        assert_eq!(fewest, session + 1, "{}", app.db.label);
    })
    .await;
}

/// Every `name="csrf"` field's value in a page.
fn csrf_fields(html: &str) -> Vec<&str> {
    let marker = "name=\"csrf\" value=\"";
    html.match_indices(marker)
        .map(|(at, _)| {
            let start = at + marker.len();
            &html[start..start + html[start..].find('"').unwrap()]
        })
        .collect()
}

/// The tenant list's content is rendered once and shared: each user still gets the page as it
/// would be rendered for them alone, with their own name and CSRF token, and a viewer never
/// gets an admin's selection boxes (nor an admin a viewer's page).
#[tokio::test]
async fn the_shared_tenant_list_carries_each_users_own_token_and_role() {
    use pbx_pools::domain::auth::Role;
    helpers::each_backend(|app| async move {
        tenants_with_ties(app.store()).await;
        app.add_user("dora", Role::Admin, "dora-password-1").await;
        app.add_user("vera", Role::Viewer, "viewer-password-1")
            .await;
        let dora = app.login("dora", "dora-password-1").await;
        let vera = app.login("vera", "viewer-password-1").await;
        let path = "/tenants?sort=phones&dir=desc&per_page=10";
        // The viewer first, so that the admins' page could only come from the viewer's
        // rendering if the role were not part of what is shared.
        let viewed = vera.get(&app, path).await;
        let first = app.admin.get(&app, path).await;
        let second = dora.get(&app, path).await;
        let again = vera.get(&app, path).await;
        for res in [&viewed, &first, &second, &again] {
            assert_eq!(res.status, 200, "{}", res.body);
        }
        assert_eq!(viewed.body, again.body);
        assert!(!viewed.body.contains("id=\"sel-"), "{}", viewed.body);
        assert!(!viewed.body.contains("Move selected"));
        assert!(viewed.body.contains(">vera</a> <span>(viewer)</span>"));
        for (res, client, name) in [(&first, &app.admin, "admin"), (&second, &dora, "dora")] {
            let fields = csrf_fields(&res.body);
            // The logout form's and the bulk form's.
            assert_eq!(fields.len(), 2, "{}", res.body);
            assert!(
                fields.iter().all(|f| *f == client.csrf()),
                "{name}: {fields:?}"
            );
            assert!(res.body.contains(&format!(">{name}</a>")));
            assert!(res.body.contains("id=\"sel-"));
            assert!(res.body.contains("Move selected"));
        }
        assert_ne!(app.admin.csrf(), dora.csrf());
        // Apart from the user's name and token, the two admins' pages are the same bytes.
        let neutral = |body: &str, client: &helpers::Client, name: &str| {
            body.replace(&client.csrf(), "TOKEN")
                .replace(&format!(">{name}</a>"), ">USER</a>")
        };
        assert_eq!(
            neutral(&first.body, &app.admin, "admin"),
            neutral(&second.body, &dora, "dora")
        );
        // A change shows on the next page, shared or not.
        let t = app.store().tenant_by_code("T00").await.unwrap();
        app.store()
            .update_tenant(
                t.id,
                t.version,
                &NewTenant {
                    code: TenantCode::parse("T00").unwrap(),
                    name: "Renamed meanwhile".into(),
                    expected_phones: 1000,
                    pool_id: t.pool_id,
                    notes: String::new(),
                },
                "test",
            )
            .await
            .unwrap();
        for client in [&app.admin, &dora, &vera] {
            let res = client.get(&app, path).await;
            assert!(res.body.contains("Renamed meanwhile"), "{}", res.body);
        }
    })
    .await;
}
