use super::*;
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

// --- arbitrary facts: nothing the store could send makes the rules panic or misbehave ---

fn name_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("voip1".to_string()),
        Just("voip2".to_string()),
        Just("VOIP2".to_string()),
        Just("voip3.example.com".to_string()),
        Just(String::new()),
        "[a-z]{1,6}",
    ]
}

fn float_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![0.0..5000.0f64, any::<f64>()]
}

fn time_strategy() -> impl Strategy<Value = i64> {
    prop_oneof![NOW - 10_000..NOW + 100, any::<i64>()]
}

fn counts_strategy() -> impl Strategy<Value = Vec<(String, u64)>> {
    prop::collection::vec(
        (name_strategy(), prop_oneof![0u64..200, any::<u64>()]),
        0..4,
    )
}

fn lint_strategy() -> impl Strategy<Value = PoolLint> {
    prop_oneof![
        Just(PoolLint::NoMembers),
        name_strategy().prop_map(|target| PoolLint::SingleServer { target }),
        (
            any::<u16>(),
            prop::collection::vec(name_strategy(), 0..3),
            float_strategy()
        )
            .prop_map(|(priority, servers, whole_chance_10)| {
                PoolLint::SharedTopPriority {
                    priority,
                    servers,
                    whole_chance_10,
                }
            }),
        (name_strategy(), "[a-z]{0,12}")
            .prop_map(|(target, state)| PoolLint::OutOfServiceMember { target, state }),
    ]
}

fn facts_strategy() -> impl Strategy<Value = ClusterFacts> {
    let server = (
        (
            name_strategy(),
            prop_oneof![
                Just("active".to_string()),
                Just("maintenance".to_string()),
                "[a-z]{0,6}"
            ],
            prop::option::of(prop_oneof![0u32..2000, any::<u32>()]),
            prop::option::of(time_strategy()),
            prop::option::of(time_strategy()),
        ),
        (
            prop_oneof![0u64..2000, any::<u64>()],
            prop_oneof![0u64..20, any::<u64>()],
            float_strategy(),
            prop::option::of((name_strategy(), float_strategy())),
        ),
    )
        .prop_map(
            |(
                (name, state, capacity, last_report_at, reporting_since),
                (registered, unmatched, projected_normal, worst_n1),
            )| ServerFacts {
                name,
                state,
                capacity,
                last_report_at,
                reporting_since,
                registered,
                unmatched,
                projected_normal,
                worst_n1,
            },
        );
    let pool = (
        name_strategy(),
        prop::option::of(name_strategy()),
        prop::collection::vec(name_strategy(), 0..3),
        prop::collection::vec(name_strategy(), 0..3),
        counts_strategy(),
        prop::collection::vec(lint_strategy(), 0..3),
        prop::option::of(float_strategy()),
    )
        .prop_map(
            |(
                name,
                home,
                home_servers,
                member_servers,
                phones_by_server,
                lint,
                expected_split_share,
            )| PoolFacts {
                changing: false,
                name,
                home,
                home_servers,
                member_servers,
                phones_by_server,
                lint,
                expected_split_share,
            },
        );
    let tenant = (
        name_strategy(),
        prop::option::of(name_strategy()),
        prop::option::of(name_strategy()),
        prop::collection::vec(name_strategy(), 0..3),
        prop::collection::vec(name_strategy(), 0..3),
        prop_oneof![0u32..50, any::<u32>()],
        counts_strategy(),
    )
        .prop_map(
            |(code, pool, home, home_servers, pool_servers, expected_phones, phones_by_server)| {
                TenantFacts {
                    pool_changing: false,
                    code,
                    pool,
                    home,
                    home_servers,
                    pool_servers,
                    expected_phones,
                    phones_by_server,
                    moving: None,
                }
            },
        );
    let flapping = (
        name_strategy(),
        prop::option::of(name_strategy()),
        prop_oneof![0u32..10, any::<u32>()],
        prop::collection::vec(name_strategy(), 0..3),
    )
        .prop_map(|(endpoint, tenant, moves, servers)| FlappingPhone {
            endpoint,
            tenant,
            moves,
            servers,
        });
    let away = (
        (name_strategy(), name_strategy(), name_strategy()),
        prop::option::of("[ A-Za-z0-9./-]{0,12}"),
        prop_oneof![0u64..50, any::<u64>()],
        time_strategy(),
        prop::collection::vec(name_strategy(), 0..3),
    )
        .prop_map(
            |((tenant, server, home), user_agent, phones, away_since, examples)| AwayPhones {
                tenant,
                server,
                home,
                user_agent,
                phones,
                away_since,
                examples,
            },
        );
    (
        time_strategy(),
        prop::collection::vec(server, 0..4),
        prop::collection::vec(pool, 0..3),
        prop::collection::vec(tenant, 0..4),
        prop::collection::vec((name_strategy(), name_strategy()), 0..8),
        prop::collection::vec(flapping, 0..4),
        prop::collection::vec(away, 0..6),
        any::<bool>(),
    )
        .prop_map(
            |(now, servers, pools, tenants, unmatched, flapping, away, any_registrations)| {
                ClusterFacts {
                    now,
                    servers,
                    pools,
                    tenants,
                    unmatched,
                    flapping,
                    away,
                    any_registrations,
                }
            },
        )
}

fn settings_strategy() -> impl Strategy<Value = AlertSettings> {
    prop_oneof![
        3 => Just(AlertSettings::default()),
        1 => (
            float_strategy(),
            float_strategy(),
            any::<i64>(),
            any::<u32>(),
            any::<i64>(),
            any::<i64>()
        )
            .prop_map(|(a, b, c, d, e, f)| AlertSettings {
                normal_away_share: a,
                capacity_warning: b,
                stale_after_secs: c,
                flap_moves: d,
                flap_window_secs: e,
                failback_after_secs: f,
            }),
    ]
}

/// What every evaluation must satisfy, whatever the facts.
fn check_book(book: &AlertBook) -> Result<(), TestCaseError> {
    let alerts = &book.alerts;
    let ids: HashSet<&str> = alerts.iter().map(|a| a.id.as_str()).collect();
    for alert in alerts {
        prop_assert!(!alert.objects.is_empty(), "{:?}", alert);
        prop_assert!(!alert.summary.is_empty(), "{:?}", alert);
        prop_assert!(!alert.why.is_empty());
        prop_assert!(!alert.action.is_empty());
        prop_assert!(alert.kind != AlertKind::DnsDrift);
        prop_assert_eq!(alert.id.len(), 16);
        // A tenant or pool alert is its worst facet; other alerts are about one thing.
        let main = alert.objects[0].kind;
        if main == ObjectKind::Tenant || main == ObjectKind::Pool {
            prop_assert!(!alert.facets.is_empty(), "{:?}", alert);
            prop_assert_eq!(alert.kind, alert.facets[0].kind);
            prop_assert_eq!(alert.severity, alert.facets[0].severity);
            prop_assert_eq!(&alert.summary, &alert.facets[0].summary);
            for pair in alert.facets.windows(2) {
                prop_assert!(pair[0].severity >= pair[1].severity, "{:?}", alert.facets);
            }
            let widest = alert.facets.iter().map(|f| f.phones).max().unwrap_or(0);
            prop_assert_eq!(alert.impact_phones, widest);
        } else {
            prop_assert!(alert.facets.is_empty(), "{:?}", alert);
        }
        // Links point at other alerts of the same evaluation, and only tenant alerts have them.
        for related in &alert.related {
            prop_assert!(ids.contains(related.as_str()), "{} not listed", related);
            prop_assert!(related != &alert.id);
            prop_assert_eq!(main, ObjectKind::Tenant);
        }
    }
    for pair in alerts.windows(2) {
        prop_assert!(impact_order(&pair[0], &pair[1]) != Ordering::Greater);
        // Ranked by severity, then by the phones affected.
        prop_assert!(pair[0].severity >= pair[1].severity);
        if pair[0].severity == pair[1].severity {
            prop_assert!(pair[0].impact_phones >= pair[1].impact_phones);
        }
    }
    prop_assert_eq!(count(alerts).total(), alerts.len());
    Ok(())
}

// --- well-formed facts, as the store builds them: unique names spelled one way ---

const SERVERS: [&str; 6] = ["voip1", "voip2", "voip3", "bigbox", "smallbox1", "spare"];
const POOLS: [&str; 3] = ["pbxA", "pbxB", "wiki"];
const TENANTS: [&str; 5] = ["ACME", "BETA", "CANISTRACCI", "MARINO", "ZETA"];
const AGENTS: [&str; 4] = [
    "Yealink SIP-T46S",
    "yealink sip-t46s",
    "PolycomVVX",
    " Yealink SIP-T46S ",
];

fn pick<const N: usize>(names: [&'static str; N]) -> impl Strategy<Value = String> {
    prop::sample::select(names.to_vec()).prop_map(str::to_string)
}

fn some_of<const N: usize>(names: [&'static str; N]) -> impl Strategy<Value = Vec<String>> {
    prop::sample::subsequence(names.to_vec(), 0..=N)
        .prop_map(|v| v.into_iter().map(str::to_string).collect())
}

fn server_counts() -> impl Strategy<Value = Vec<(String, u64)>> {
    prop::collection::vec((pick(SERVERS), 0u64..300), 0..4)
}

fn well_formed_strategy() -> impl Strategy<Value = ClusterFacts> {
    let servers = some_of(SERVERS).prop_flat_map(|names| {
        let n = names.len();
        (
            Just(names),
            prop::collection::vec(
                (
                    prop_oneof![4 => Just("active"), 1 => Just("maintenance")],
                    prop::option::of(NOW - 5000..=NOW),
                    prop::option::of(NOW - 8000..=NOW),
                    0u64..1500,
                    prop::option::of(100u32..1500),
                    prop::option::of((pick(SERVERS), 0.0..2000.0f64)),
                ),
                n,
            ),
        )
            .prop_map(|(names, rows)| {
                names
                    .into_iter()
                    .zip(rows)
                    .map(
                        |(name, (state, last, since, registered, capacity, n1))| ServerFacts {
                            name,
                            state: state.to_string(),
                            capacity,
                            last_report_at: last,
                            reporting_since: since,
                            registered,
                            unmatched: 0,
                            projected_normal: registered as f64,
                            worst_n1: n1,
                        },
                    )
                    .collect::<Vec<_>>()
            })
    });
    let pools = some_of(POOLS).prop_flat_map(|names| {
        let n = names.len();
        (
            Just(names),
            prop::collection::vec(
                (
                    prop::option::of(pick(SERVERS)),
                    some_of(SERVERS),
                    server_counts(),
                    prop::collection::vec(lint_strategy(), 0..2),
                    prop::option::of(0.0..0.7f64),
                ),
                n,
            ),
        )
            .prop_map(|(names, rows)| {
                names
                    .into_iter()
                    .zip(rows)
                    .map(|(name, (home, homes, phones, lint, split))| PoolFacts {
                        changing: false,
                        name,
                        home,
                        home_servers: homes.clone(),
                        member_servers: homes,
                        phones_by_server: phones,
                        lint,
                        expected_split_share: split,
                    })
                    .collect::<Vec<_>>()
            })
    });
    let tenants = some_of(TENANTS).prop_flat_map(|codes| {
        let n = codes.len();
        (
            Just(codes),
            prop::collection::vec(
                (
                    prop::option::of(pick(POOLS)),
                    prop::option::of(pick(SERVERS)),
                    some_of(SERVERS),
                    some_of(SERVERS),
                    0u32..300,
                    server_counts(),
                ),
                n,
            ),
        )
            .prop_map(|(codes, rows)| {
                codes
                    .into_iter()
                    .zip(rows)
                    .map(
                        |(code, (pool, home, home_servers, pool_servers, expected, phones))| {
                            TenantFacts {
                                pool_changing: false,
                                code,
                                pool,
                                home,
                                home_servers,
                                pool_servers,
                                expected_phones: expected,
                                phones_by_server: phones,
                                moving: None,
                            }
                        },
                    )
                    .collect::<Vec<_>>()
            })
    });
    let flapping = prop::collection::vec(
        (prop::option::of(pick(TENANTS)), 0u32..8, some_of(SERVERS)),
        0..5,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (tenant, moves, servers))| FlappingPhone {
                endpoint: format!("{}-{}", 100 + i, tenant.as_deref().unwrap_or("x")),
                tenant,
                moves,
                servers,
            })
            .collect::<Vec<_>>()
    });
    let away = prop::collection::vec(
        (
            pick(TENANTS),
            pick(SERVERS),
            pick(SERVERS),
            prop::option::of(pick(AGENTS)),
            0u64..60,
            NOW - 10_000..=NOW,
        ),
        0..8,
    )
    .prop_map(|rows| {
        // The store gives one row per (tenant, server, user agent), each tenant's home being
        // its pool's.
        let mut homes: HashMap<String, String> = HashMap::new();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (i, (tenant, server, home, ua, phones, since)) in rows.into_iter().enumerate() {
            if !seen.insert((tenant.clone(), server.clone(), ua.clone())) {
                continue;
            }
            let home = homes.entry(tenant.clone()).or_insert(home).clone();
            out.push(AwayPhones {
                examples: vec![format!("{}-{tenant}", 200 + i)],
                tenant,
                server,
                home,
                user_agent: ua,
                phones,
                away_since: since,
            });
        }
        out
    });
    let unmatched = prop::collection::vec((pick(SERVERS), 0u32..6), 0..6).prop_map(|rows| {
        rows.into_iter()
            .map(|(server, n)| (server, format!("9{n}")))
            .collect::<Vec<_>>()
    });
    (
        servers,
        pools,
        tenants,
        unmatched,
        flapping,
        away,
        any::<bool>(),
    )
        .prop_map(
            |(servers, pools, tenants, unmatched, flapping, away, any_registrations)| {
                ClusterFacts {
                    now: NOW,
                    servers,
                    pools,
                    tenants,
                    unmatched,
                    flapping,
                    away,
                    any_registrations,
                }
            },
        )
}

fn normal_share_strategy() -> impl Strategy<Value = AlertSettings> {
    prop_oneof![Just(0.0), Just(0.05), Just(0.10), Just(0.30), 0.0..0.6f64].prop_map(
        |normal_away_share| AlertSettings {
            normal_away_share,
            ..AlertSettings::default()
        },
    )
}

/// The same facts listed in another order (as another database plan might return them).
fn permuted(facts: &ClusterFacts, seed: u64) -> ClusterFacts {
    let mut state = seed | 1;
    let mut shuffle = |len: usize| -> Vec<usize> {
        let mut order: Vec<usize> = (0..len).collect();
        for i in (1..len).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        order
    };
    fn apply<T: Clone>(items: &[T], order: &[usize]) -> Vec<T> {
        order.iter().map(|&i| items[i].clone()).collect()
    }
    let mut out = facts.clone();
    out.servers = apply(&facts.servers, &shuffle(facts.servers.len()));
    out.pools = apply(&facts.pools, &shuffle(facts.pools.len()));
    out.tenants = apply(&facts.tenants, &shuffle(facts.tenants.len()));
    out.unmatched = apply(&facts.unmatched, &shuffle(facts.unmatched.len()));
    out.flapping = apply(&facts.flapping, &shuffle(facts.flapping.len()));
    out.away = apply(&facts.away, &shuffle(facts.away.len()));
    for p in &mut out.pools {
        p.phones_by_server = apply(&p.phones_by_server, &shuffle(p.phones_by_server.len()));
    }
    for t in &mut out.tenants {
        t.phones_by_server = apply(&t.phones_by_server, &shuffle(t.phones_by_server.len()));
    }
    for f in &mut out.flapping {
        f.servers = apply(&f.servers, &shuffle(f.servers.len()));
    }
    out
}

fn has_placement_facet(alert: &Alert) -> bool {
    alert
        .facets
        .iter()
        .any(|f| matches!(f.kind, AlertKind::TenantSplit | AlertKind::TenantAway))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn evaluate_never_panics_and_every_alert_names_an_object(
        facts in facts_strategy(),
        settings in settings_strategy(),
    ) {
        let book = evaluate(&facts, &settings);
        check_book(&book)?;
        prop_assert_eq!(evaluate(&facts, &settings), book);
    }

    #[test]
    fn placement_adds_up(
        rows in prop::collection::vec((name_strategy(), 0u64..1_000_000), 0..5),
        home in prop::option::of(name_strategy()),
        home_servers in prop::collection::vec(name_strategy(), 0..3),
        normal in float_strategy(),
    ) {
        let t = TenantFacts {
            home,
            home_servers,
            phones_by_server: rows,
            ..TenantFacts::default()
        };
        let settings = AlertSettings { normal_away_share: normal, ..AlertSettings::default() };
        let limit = if normal.is_finite() { normal.clamp(0.0, 1.0) } else { 0.10 };
        let Some(p) = tenant_placement(&t, &settings) else {
            prop_assert!(t.phones_by_server.iter().all(|(_, n)| *n == 0));
            return Ok(());
        };
        prop_assert!(p.total > 0);
        prop_assert_eq!(p.by_server.iter().map(|r| r.phones).sum::<u64>(), p.total);
        prop_assert_eq!(p.servers, p.by_server.len());
        prop_assert_eq!(p.home_phones + p.away_phones, p.total);
        prop_assert_eq!(p.away_servers.iter().map(|r| r.phones).sum::<u64>(), p.away_phones);
        prop_assert!(p.home_servers.iter().any(|h| same_name(h, &p.home)));
        prop_assert!(p
            .away_servers
            .iter()
            .all(|r| !p.home_servers.iter().any(|h| same_name(h, &r.server))));
        prop_assert_eq!(p.multi_primary, p.home_servers.len() > 1);
        prop_assert!((0.0..=1.0).contains(&p.away_share));
        prop_assert!((0.0..=1.0).contains(&p.split_share));
        if !p.multi_primary {
            // One primary: the away share is never below the split.
            prop_assert!(p.away_share >= p.split_share);
        }
        match p.status {
            PlacementStatus::AtHome => prop_assert_eq!(p.away_phones, 0),
            PlacementStatus::WithinNormal => prop_assert!(p.away_share <= limit),
            PlacementStatus::Split => {
                prop_assert!(p.away_share > limit);
                prop_assert!(!p.multi_primary && p.servers >= 2);
            }
            PlacementStatus::Away => {
                prop_assert!(p.away_share > limit);
                prop_assert!(p.multi_primary || p.servers == 1);
            }
        }
        let problem = matches!(p.status, PlacementStatus::Split | PlacementStatus::Away);
        prop_assert_eq!(p.severity().is_some(), problem);
        prop_assert_eq!(
            p.severity() == Some(Severity::Critical),
            problem && p.majority_away
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn well_formed_facts_give_unique_ids_whatever_their_order(
        facts in well_formed_strategy(),
        settings in normal_share_strategy(),
        seed in any::<u64>(),
    ) {
        let book = evaluate(&facts, &settings);
        check_book(&book)?;
        let mut ids: Vec<&str> = book.alerts.iter().map(|a| a.id.as_str()).collect();
        ids.sort_unstable();
        let listed = ids.len();
        ids.dedup();
        prop_assert_eq!(ids.len(), listed, "{:#?}", book.alerts);
        prop_assert_eq!(&evaluate(&permuted(&facts, seed), &settings), &book);
    }

    #[test]
    fn one_alert_per_tenant_and_the_normal_band_is_never_listed(
        facts in well_formed_strategy(),
        settings in normal_share_strategy(),
    ) {
        let book = evaluate(&facts, &settings);
        let mut within = WithinNormal::default();
        for t in &facts.tenants {
            let about: Vec<&Alert> = book
                .alerts
                .iter()
                .filter(|a| a.objects[0] == ObjectRef::tenant(&t.code))
                .collect();
            prop_assert!(about.len() <= 1);
            if let Some(alert) = about.first() {
                prop_assert_eq!(&alert.id, &stable_id(&["tenant", &t.code]));
            }
            let placement = tenant_placement(t, &settings);
            let status = placement.as_ref().map(|p| p.status);
            if let Some(p) = placement.as_ref().filter(|p| p.status == PlacementStatus::WithinNormal) {
                within.tenants += 1;
                within.away_phones += p.away_phones;
            }
            if matches!(status, None | Some(PlacementStatus::AtHome | PlacementStatus::WithinNormal)) {
                prop_assert!(
                    about.iter().all(|a| !has_placement_facet(a)),
                    "{} is {:?}: {:#?}", t.code, status, about
                );
            }
        }
        // Every flapping phone is reported: in its tenant's alert, or in the one alert about
        // phones of no known tenant.
        for phone in facts.flapping.iter().filter(|p| p.moves >= settings.flap_moves) {
            match facts.tenants.iter().find(|t| Some(&t.code) == phone.tenant.as_ref()) {
                Some(t) => {
                    let id = stable_id(&["tenant", &t.code]);
                    let alert = book.alerts.iter().find(|a| a.id == id);
                    prop_assert!(
                        alert.is_some_and(|a| a.facets.iter().any(|f| f.kind == AlertKind::Flapping)),
                        "{} flaps: {:#?}", t.code, alert
                    );
                }
                None if phone.tenant.is_none() => {
                    let id = stable_id(&["flapping", "no tenant"]);
                    prop_assert!(book.alerts.iter().any(|a| a.id == id));
                }
                // A tenant the facts do not list: the store never sends one.
                None => {}
            }
        }
        prop_assert_eq!(book.within_normal.tenants, within.tenants);
        prop_assert_eq!(book.within_normal.away_phones, within.away_phones);
        // Failback lag is counted once per (server, user agent), without naming tenants, and
        // once more in the facets of the tenants whose placement is itself a problem (a tenant
        // within normal is not listed for it).
        let mut per_agent = 0;
        let mut per_tenant = 0;
        for alert in &book.alerts {
            if alert.objects[0].kind == ObjectKind::Tenant {
                per_tenant += alert
                    .facets
                    .iter()
                    .filter(|f| f.kind == AlertKind::FailbackLag)
                    .map(|f| f.phones)
                    .sum::<u64>();
            } else if alert.kind == AlertKind::FailbackLag {
                prop_assert!(alert.objects.iter().all(|o| o.kind != ObjectKind::Tenant));
                per_agent += alert.impact_phones;
            }
        }
        let tenants_listed = facts
            .away
            .iter()
            .all(|a| facts.tenants.iter().any(|t| same_name(&t.code, &a.tenant)));
        if tenants_listed {
            prop_assert!(per_tenant <= per_agent, "{} > {}", per_tenant, per_agent);
        }
    }
}
