use super::*;
use proptest::prelude::*;

// --- properties ---

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
        name_strategy(),
        prop_oneof![
            Just("active".to_string()),
            Just("maintenance".to_string()),
            "[a-z]{0,6}"
        ],
        prop::option::of(prop_oneof![0u32..2000, any::<u32>()]),
        prop::option::of(time_strategy()),
        prop::option::of(time_strategy()),
        prop_oneof![0u64..2000, any::<u64>()],
        float_strategy(),
        prop::option::of((name_strategy(), float_strategy())),
    )
        .prop_map(
            |(
                name,
                state,
                capacity,
                last_report_at,
                reporting_since,
                registered,
                projected_normal,
                worst_n1,
            )| {
                ServerFacts {
                    name,
                    state,
                    capacity,
                    last_report_at,
                    reporting_since,
                    registered,
                    projected_normal,
                    worst_n1,
                }
            },
        );
    let pool = (
        name_strategy(),
        prop::option::of(name_strategy()),
        prop::collection::vec(name_strategy(), 0..3),
        counts_strategy(),
        prop::collection::vec(lint_strategy(), 0..3),
    )
        .prop_map(
            |(name, home, member_servers, phones_by_server, lint)| PoolFacts {
                name,
                home,
                member_servers,
                phones_by_server,
                lint,
            },
        );
    let tenant = (
        name_strategy(),
        prop::option::of(name_strategy()),
        prop::option::of(name_strategy()),
        prop::collection::vec(name_strategy(), 0..3),
        prop_oneof![0u32..50, any::<u32>()],
        counts_strategy(),
    )
        .prop_map(
            |(code, pool, home, pool_servers, expected_phones, phones_by_server)| TenantFacts {
                code,
                pool,
                home,
                pool_servers,
                expected_phones,
                phones_by_server,
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
        name_strategy(),
        name_strategy(),
        name_strategy(),
        name_strategy(),
        prop::option::of("[ A-Za-z0-9./-]{0,12}"),
        time_strategy(),
    )
        .prop_map(
            |(endpoint, tenant, server, home, user_agent, away_since)| AwayPhone {
                endpoint,
                tenant,
                server,
                home,
                user_agent,
                away_since,
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn evaluate_never_panics_and_every_alert_names_an_object(
        facts in facts_strategy(),
        settings in settings_strategy(),
    ) {
        let alerts = evaluate(&facts, &settings);
        for alert in &alerts {
            prop_assert!(!alert.objects.is_empty(), "{:?}", alert);
            prop_assert!(!alert.summary.is_empty());
            prop_assert!(!alert.why.is_empty());
            prop_assert!(!alert.action.is_empty());
            prop_assert!(alert.kind != AlertKind::DnsDrift);
        }
        for pair in alerts.windows(2) {
            prop_assert!(alert_order(&pair[0], &pair[1]) != Ordering::Greater);
        }
        let counts = count(&alerts);
        prop_assert_eq!(counts.total(), alerts.len());
        prop_assert_eq!(evaluate(&facts, &settings), alerts);
    }

    #[test]
    fn split_status_adds_up(
        rows in prop::collection::vec((name_strategy(), 0u64..1_000_000), 0..5),
        home in prop::option::of(name_strategy()),
        normal in float_strategy(),
    ) {
        let t = TenantFacts { home, phones_by_server: rows, ..TenantFacts::default() };
        let settings = AlertSettings { normal_away_share: normal, ..AlertSettings::default() };
        if let Some(split) = tenant_split(&t, &settings) {
            prop_assert!(split.servers >= 2);
            prop_assert_eq!(split.home_phones.saturating_add(split.away_phones), split.total);
            prop_assert!((0.0..=1.0).contains(&split.away_share));
            prop_assert_eq!(
                split.majority_away,
                split.severity == Severity::Critical
            );
            let away_sum = split
                .away_servers
                .iter()
                .fold(0u64, |sum, row| sum.saturating_add(row.phones));
            prop_assert_eq!(away_sum, split.away_phones);
        }
    }
}
