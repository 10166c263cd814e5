//! One phone, two servers (issue 16, part 6): during a handover the old server still lists the
//! phone until its contact expires. The phone counts once, where it registered last; reports of
//! both servers, even at the same time, keep the counts exact and record no flapping.

use pbx_pools::domain::demo::source_document_cluster;
use pbx_pools::domain::ids::{ServerId, TenantId};
use pbx_pools::domain::registrations::{DumpFormat, Registration, TenantMatcher, parse_dump};
use pbx_pools::store::{IngestPolicy, Store};
use std::collections::{BTreeSet, HashMap};

use super::store::for_each_backend;
use crate::helpers::{self, TestApp};

fn policy() -> IngestPolicy {
    IngestPolicy {
        matcher: TenantMatcher::default(),
        stale_after_secs: 900,
        retention_secs: 86_400,
    }
}

/// A `pjsip show contacts` dump of `(endpoint, host octet)`: the octet picks the contact, so a
/// phone that re-registers gets a new contact.
fn dump(rows: &[(String, u32)]) -> Vec<Registration> {
    let registered: Vec<(String, u32, bool)> = rows
        .iter()
        .map(|(e, octet)| (e.clone(), *octet, true))
        .collect();
    dump_with_status(&registered)
}

fn eps(code: &str, exts: impl IntoIterator<Item = u32>) -> Vec<(String, u32)> {
    exts.into_iter()
        .map(|i| (format!("{i}-{code}"), i % 250))
        .collect()
}

async fn push(store: &Store, server: ServerId, rows: &[(String, u32)]) {
    store
        .ingest(server, "pjsip-contacts", dump(rows), &policy(), "t")
        .await
        .unwrap();
}

/// The source document's demo, and the ids of the tenants of `codes`.
async fn demo_with_tenants(store: &Store, codes: &[&str]) -> Vec<TenantId> {
    store
        .load_demo(&source_document_cluster(), "demo")
        .await
        .unwrap();
    let mut ids = Vec::new();
    for c in codes {
        ids.push(store.tenant_by_code(c).await.unwrap().id);
    }
    ids
}

/// (voip1, voip2) phones of `tenant`, and the server totals of the maintained counts.
async fn split(store: &Store, tenant: TenantId, v1: ServerId, v2: ServerId) -> (u64, u64) {
    let by = store.tenant_phones_by_server(tenant).await.unwrap();
    let totals: HashMap<ServerId, u64> =
        store
            .tenant_server_counts()
            .await
            .unwrap()
            .iter()
            .fold(HashMap::new(), |mut m, c| {
                *m.entry(c.server_id).or_default() += c.phones;
                m
            });
    let pair = (
        by.get(&v1).copied().unwrap_or(0),
        by.get(&v2).copied().unwrap_or(0),
    );
    // Only this tenant reports here: the server totals say the same.
    assert_eq!(
        (
            totals.get(&v1).copied().unwrap_or(0),
            totals.get(&v2).copied().unwrap_or(0)
        ),
        pair
    );
    pair
}

#[tokio::test]
async fn a_phone_listed_by_two_servers_counts_once_where_it_registered_last() {
    for_each_backend(|store, label| async move {
        store
            .load_demo(&source_document_cluster(), "demo")
            .await
            .unwrap();
        let t = store.tenant_by_code("CANISTRACCI").await.unwrap();
        let v1 = store.server_by_name("voip1").await.unwrap().id;
        let v2 = store.server_by_name("voip2").await.unwrap().id;
        let three = eps("CANISTRACCI", [100, 101, 102]);
        let handed = eps("CANISTRACCI", [101]);
        push(&store, v1, &three).await;
        assert_eq!(split(&store, t.id, v1, v2).await, (3, 0), "{label}");
        // 101 re-registers on voip2; voip1 still lists its old contact.
        push(&store, v2, &handed).await;
        assert_eq!(split(&store, t.id, v1, v2).await, (2, 1), "{label}");
        // voip1 reports again, unchanged: 101 still counts on voip2.
        push(&store, v1, &three).await;
        assert_eq!(split(&store, t.id, v1, v2).await, (2, 1), "{label}");
        // voip1's old contact expires: still once, on voip2.
        push(&store, v1, &eps("CANISTRACCI", [100, 102])).await;
        assert_eq!(split(&store, t.id, v1, v2).await, (2, 1), "{label}");
        assert_eq!(
            store.tenant_moves(t.id, 10).await.unwrap().len(),
            1,
            "{label}: the handover is one move"
        );

        // Listed on both again (it re-registers on voip1: newest there), then voip2 drops its
        // contact while voip1 still lists it: it counts on voip1.
        push(&store, v2, &handed).await;
        assert_eq!(split(&store, t.id, v1, v2).await, (2, 1), "{label}");
        push(&store, v1, &three).await;
        assert_eq!(split(&store, t.id, v1, v2).await, (3, 0), "{label}");
        push(&store, v1, &three).await;
        push(&store, v2, &handed).await;
        assert_eq!(
            split(&store, t.id, v1, v2).await,
            (3, 0),
            "{label}: voip2's unchanged report does not take it back"
        );
        push(&store, v2, &[]).await;
        assert_eq!(split(&store, t.id, v1, v2).await, (3, 0), "{label}");
        // And the other way round: newest on voip2, voip2 drops it, voip1 still lists it.
        push(&store, v2, &eps("CANISTRACCI", [101])).await;
        assert_eq!(split(&store, t.id, v1, v2).await, (2, 1), "{label}");
        push(&store, v2, &[]).await;
        assert_eq!(split(&store, t.id, v1, v2).await, (3, 0), "{label}");
    })
    .await;
}

#[tokio::test]
async fn alternating_reports_of_a_phone_on_two_servers_are_no_flapping() {
    for_each_backend(|store, label| async move {
        store
            .load_demo(&source_document_cluster(), "demo")
            .await
            .unwrap();
        let t = store.tenant_by_code("CANISTRACCI").await.unwrap();
        let v1 = store.server_by_name("voip1").await.unwrap().id;
        let v2 = store.server_by_name("voip2").await.unwrap().id;
        let e = "100-CANISTRACCI".to_string();
        push(&store, v1, &[(e.clone(), 1)]).await;
        // The handover, then both servers keep reporting it, each time with a refreshed
        // contact (a new port or address: a new row on each side).
        for round in 0..5u32 {
            push(&store, v2, &[(e.clone(), 100 + round)]).await;
            push(&store, v1, &[(e.clone(), 10 + round)]).await;
        }
        let moves = store.tenant_moves(t.id, 50).await.unwrap();
        assert_eq!(moves.len(), 1, "{label}: only the handover is a move");
        let since = jiff::Timestamp::now().as_second() - 3600;
        assert!(
            store.flapping_phones(since, 3).await.unwrap().is_empty(),
            "{label}"
        );
        let by = store.tenant_phones_by_server(t.id).await.unwrap();
        assert_eq!(by.values().sum::<u64>(), 1, "{label}: counted once");
    })
    .await;
}

#[tokio::test]
async fn concurrent_ingests_of_two_servers_sharing_phones_keep_counts_exact() {
    for_each_backend(|store, label| async move {
        let codes = ["CANISTRACCI", "ESPOSITO", "BIANCHI"];
        let tenants = demo_with_tenants(&store, &codes).await;
        let v1 = store.server_by_name("voip1").await.unwrap().id;
        let v2 = store.server_by_name("voip2").await.unwrap().id;
        for round in 0..6u32 {
            // Overlapping, shifting halves: every round adds and removes contacts of phones
            // the other server lists too.
            let mut on1 = Vec::new();
            let mut on2 = Vec::new();
            for c in codes {
                on1.extend(eps(c, (100 + round)..(140 + round)));
                on2.extend(eps(c, (120 + 2 * round)..(160 + 2 * round)));
            }
            let (s1, s2) = (store.clone(), store.clone());
            let (o1, o2) = (on1.clone(), on2.clone());
            let a = tokio::spawn(async move { push(&s1, v1, &o1).await });
            let b = tokio::spawn(async move { push(&s2, v2, &o2).await });
            a.await.expect("voip1's ingest");
            b.await.expect("voip2's ingest");
            let listed: BTreeSet<&String> = on1.iter().chain(on2.iter()).map(|(e, _)| e).collect();
            let counts = store.tenant_server_counts().await.unwrap();
            for (code, t) in codes.iter().zip(&tenants) {
                let total: u64 = counts
                    .iter()
                    .filter(|c| c.tenant_id == *t)
                    .map(|c| c.phones)
                    .sum();
                let expected = listed.iter().filter(|e| e.ends_with(code)).count() as u64;
                assert_eq!(total, expected, "{label} round {round}: {code} once each");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn the_tenant_page_lists_phones_on_two_servers() {
    helpers::each_backend(|app: TestApp| async move {
        let store = app.store().clone();
        store
            .load_demo(&source_document_cluster(), "demo")
            .await
            .unwrap();
        let t = store.tenant_by_code("CANISTRACCI").await.unwrap();
        let v1 = store.server_by_name("voip1").await.unwrap().id;
        let v2 = store.server_by_name("voip2").await.unwrap().id;
        push(&store, v1, &eps("CANISTRACCI", [100, 101])).await;
        let page = app.get(&format!("/tenants/{}", t.code)).await;
        assert_eq!(page.status, 200);
        assert!(
            !page.body.contains("Listed on two servers"),
            "{}",
            page.body
        );
        push(&store, v2, &eps("CANISTRACCI", [101])).await;
        let page = app.get(&format!("/tenants/{}", t.code)).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Listed on two servers"), "{}", page.body);
        let table = &page.body[page.body.find("listed-twice").unwrap()..];
        let row = &table[table.find("<tbody>").unwrap()..table.find("</tbody>").unwrap()];
        assert!(row.contains("101-CANISTRACCI"), "{row}");
        assert!(!row.contains("100-CANISTRACCI"), "{row}");
        assert!(
            row.contains(">voip2</a></td><td>voip1</td>"),
            "counts on voip2, also on voip1: {row}"
        );
    })
    .await;
}

/// A `pjsip show contacts` dump of `(endpoint, host octet, registered)`.
fn dump_with_status(rows: &[(String, u32, bool)]) -> Vec<Registration> {
    let mut out = String::from(
        "\n  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>\n \
         ==========================================================================================\n\n",
    );
    for (i, (e, octet, registered)) in rows.iter().enumerate() {
        let status = if *registered { "Avail  " } else { "Unavail" };
        out.push_str(&format!(
            "  Contact:  {e}/sip:{e}@192.0.2.{octet}:5060 {:010x} {status}      12.345\n",
            i + 1
        ));
    }
    out.push_str(&format!("\nObjects found: {}\n\n", rows.len()));
    parse_dump(DumpFormat::PjsipContacts, &out).unwrap()
}

/// The maintained counts are a cache of a rule over the registrations (a phone counts for its
/// tenant where its newest registered contact is). Whatever reports arrive, in any order, they
/// must equal the rule applied from scratch. SQLite moves them by difference
/// (`store::count_deltas`), PostgreSQL recounts: both are held to a model of the rule here,
/// over random reports of two servers sharing phones (phones that move, re-register with a new
/// contact, turn unavailable, leave).
#[tokio::test]
async fn maintained_counts_equal_the_counting_rule_after_random_reports() {
    for_each_backend(|store, label| async move {
        let codes = ["CANISTRACCI", "ESPOSITO", "BIANCHI"];
        let tenant_of_code: HashMap<&str, TenantId> = codes
            .into_iter()
            .zip(demo_with_tenants(&store, &codes).await)
            .collect();
        let servers = [
            store.server_by_name("voip1").await.unwrap().id,
            store.server_by_name("voip2").await.unwrap().id,
        ];
        // Every server starts with an empty picture (the demo lists phones of its own).
        for s in store.servers().await.unwrap() {
            store
                .ingest(s.id, "pjsip-contacts", &[], &policy(), "t")
                .await
                .unwrap();
        }
        // The model: per server, each listed contact (endpoint, octet) with whether it is
        // registered and the report that first listed it as it is (a later contact of a phone
        // is newer than an earlier one on another server).
        type Listed = HashMap<(String, u32, bool), u32>;
        let mut model: HashMap<ServerId, Listed> = HashMap::new();
        let mut seed: u64 = 7;
        let mut next = |m: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % m
        };
        for report in 1..=40u32 {
            let server = servers[next(2) as usize];
            let mut rows = Vec::new();
            for c in codes {
                for ext in 100..112u32 {
                    // Each phone is on this server's list about half the time, with one of
                    // two contacts, registered seven times in eight.
                    if next(2) == 0 {
                        rows.push((format!("{ext}-{c}"), 10 + next(2) as u32, next(8) != 0));
                    }
                }
            }
            store
                .ingest(
                    server,
                    "pjsip-contacts",
                    dump_with_status(&rows),
                    &policy(),
                    "t",
                )
                .await
                .unwrap();
            let before = model.remove(&server).unwrap_or_default();
            let now: Listed = rows
                .iter()
                .map(|row| (row.clone(), before.get(row).copied().unwrap_or(report)))
                .collect();
            model.insert(server, now);
            // The rule over the model: (tenant, server) → phones.
            let mut expected: HashMap<(TenantId, ServerId), u64> = HashMap::new();
            for (s, listed) in &model {
                let mut counted: BTreeSet<&String> = BTreeSet::new();
                for ((endpoint, _, registered), since) in listed {
                    let newer_elsewhere = model.iter().filter(|(o, _)| *o != s).any(|(_, l)| {
                        l.iter()
                            .any(|((e, _, r), t)| e == endpoint && *r && t > since)
                    });
                    if *registered && !newer_elsewhere {
                        counted.insert(endpoint);
                    }
                }
                for endpoint in counted {
                    let code = endpoint.split('-').nth(1).unwrap();
                    *expected.entry((tenant_of_code[code], *s)).or_default() += 1;
                }
            }
            let stored: HashMap<(TenantId, ServerId), u64> = store
                .tenant_server_counts()
                .await
                .unwrap()
                .into_iter()
                .filter(|c| tenant_of_code.values().any(|t| *t == c.tenant_id))
                .map(|c| ((c.tenant_id, c.server_id), c.phones))
                .collect();
            assert_eq!(
                stored, expected,
                "{label}, report {report} (to server {server})"
            );
        }
    })
    .await;
}

/// A report that replaces a server's whole picture with more contacts than the counts follow by
/// difference (a server restarted, or new): on SQLite its recount skips the probe for newer
/// contacts elsewhere, since its contacts are the newest rows. The phones it takes over from
/// another server still count once, on it, and the other server's repeat does not win them
/// back.
#[tokio::test]
async fn a_whole_new_picture_of_thousands_of_phones_counts_each_once() {
    for_each_backend(|store, label| async move {
        let tenant = demo_with_tenants(&store, &["CANISTRACCI"]).await[0];
        let v1 = store.server_by_name("voip1").await.unwrap().id;
        let v2 = store.server_by_name("voip2").await.unwrap().id;
        let phones = eps("CANISTRACCI", 1000..7000);
        push(&store, v2, &phones).await;
        assert_eq!(split(&store, tenant, v1, v2).await, (0, 6000), "{label}");
        // voip1 now lists all of them, with other contacts: they are newest there.
        let moved: Vec<(String, u32)> = phones.iter().map(|(e, o)| (e.clone(), o + 1)).collect();
        push(&store, v1, &moved).await;
        assert_eq!(split(&store, tenant, v1, v2).await, (6000, 0), "{label}");
        // voip2 repeats its older contacts: nothing changes.
        push(&store, v2, &phones).await;
        assert_eq!(split(&store, tenant, v1, v2).await, (6000, 0), "{label}");
    })
    .await;
}
