use super::*;
use proptest::prelude::*;

const EPS: f64 = 1e-12;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= EPS
}

fn assert_close(actual: f64, expected: f64, what: &str) {
    assert!(
        close(actual, expected),
        "{what}: got {actual}, expected {expected}"
    );
}

/// The source document's example pool (Wikipedia's SRV example).
fn source_example() -> Vec<SrvRecord> {
    vec![
        SrvRecord::new(10, 60, 5060, "bigbox.example.com."),
        SrvRecord::new(10, 20, 5060, "smallbox1.example.com."),
        SrvRecord::new(10, 10, 5060, "smallbox2.example.com."),
        SrvRecord::new(10, 10, 5066, "smallbox2.example.com."),
        SrvRecord::new(20, 0, 5060, "backupbox.example.com."),
    ]
}

fn pbx_a() -> Vec<SrvRecord> {
    vec![
        SrvRecord::new(10, 10, 5060, "voip1.example.com."),
        SrvRecord::new(20, 10, 5060, "voip2.example.com."),
    ]
}

fn pbx_b() -> Vec<SrvRecord> {
    vec![
        SrvRecord::new(20, 10, 5060, "voip1.example.com."),
        SrvRecord::new(10, 10, 5060, "voip2.example.com."),
    ]
}

fn target_shares(shares: &Shares) -> Vec<f64> {
    shares.targets.iter().map(|t| t.share).collect()
}

fn total(shares: &Shares) -> f64 {
    shares.targets.iter().map(|t| t.share).sum()
}

#[test]
fn source_example_weighted_normal() {
    let shares = srv_shares(&source_example(), &[], ClientModel::Weighted);
    let expected = [0.6, 0.2, 0.1, 0.1, 0.0];
    for (got, want) in target_shares(&shares).iter().zip(expected) {
        assert_close(*got, want, "target share");
    }
    assert_close(shares.server_share("bigbox.example.com"), 0.6, "bigbox");
    assert_close(
        shares.server_share("smallbox1.example.com"),
        0.2,
        "smallbox1",
    );
    assert_close(
        shares.server_share("smallbox2.example.com"),
        0.2,
        "smallbox2",
    );
    assert_close(
        shares.server_share("backupbox.example.com"),
        0.0,
        "backupbox",
    );
    assert_eq!(
        shares.servers.len(),
        4,
        "smallbox2 is one server on two ports"
    );
    assert_close(shares.unreachable, 0.0, "unreachable");
    assert!(shares.exact);
}

#[test]
fn source_example_weighted_bigbox_down() {
    let shares = srv_shares(
        &source_example(),
        &["bigbox.example.com"],
        ClientModel::Weighted,
    );
    let expected = [0.0, 0.5, 0.25, 0.25, 0.0];
    for (got, want) in target_shares(&shares).iter().zip(expected) {
        assert_close(*got, want, "target share");
    }
    assert_close(
        shares.server_share("smallbox1.example.com."),
        0.5,
        "smallbox1",
    );
    assert_close(
        shares.server_share("smallbox2.example.com."),
        0.5,
        "smallbox2",
    );
}

#[test]
fn source_example_all_priority_10_down_goes_to_backup() {
    let down = [
        "bigbox.example.com",
        "smallbox1.example.com",
        "smallbox2.example.com",
    ];
    for model in ClientModel::ALL {
        let shares = srv_shares(&source_example(), &down, model);
        assert_close(
            shares.server_share("backupbox.example.com"),
            1.0,
            "backupbox",
        );
        assert_close(shares.targets[4].share, 1.0, "backup record");
        assert_close(shares.unreachable, 0.0, "unreachable");
    }
}

#[test]
fn down_names_compare_case_insensitively_and_without_trailing_dot() {
    let shares = srv_shares(
        &source_example(),
        &["BigBox.Example.COM."],
        ClientModel::Weighted,
    );
    assert_close(shares.server_share("bigbox.example.com"), 0.0, "bigbox");
    assert_close(
        shares.server_share("SMALLBOX1.example.com."),
        0.5,
        "smallbox1",
    );
}

#[test]
fn seed_pools_send_phones_to_their_primary_and_fail_over() {
    for model in ClientModel::ALL {
        let a = srv_shares(&pbx_a(), &[], model);
        assert_close(a.server_share("voip1.example.com"), 1.0, "pbxA voip1");
        assert_close(a.server_share("voip2.example.com"), 0.0, "pbxA voip2");
        let b = srv_shares(&pbx_b(), &[], model);
        assert_close(b.server_share("voip2.example.com"), 1.0, "pbxB voip2");

        let a_down = srv_shares(&pbx_a(), &["voip1.example.com"], model);
        assert_close(
            a_down.server_share("voip2.example.com"),
            1.0,
            "pbxA failover",
        );
        let b_down = srv_shares(&pbx_b(), &["voip2.example.com"], model);
        assert_close(
            b_down.server_share("voip1.example.com"),
            1.0,
            "pbxB failover",
        );

        let both = srv_shares(&pbx_a(), &["voip1.example.com", "voip2.example.com"], model);
        assert_close(both.unreachable, 1.0, "both down");
        assert_close(total(&both), 0.0, "nothing reachable");
    }
}

#[test]
fn zero_weight_records_get_phones_only_when_no_weighted_record_is_up() {
    let pool = vec![
        SrvRecord::new(10, 10, 5060, "voip1"),
        SrvRecord::new(10, 0, 5060, "voip2"),
        SrvRecord::new(10, 0, 5060, "voip3"),
    ];
    let normal = srv_shares(&pool, &[], ClientModel::Weighted);
    assert_eq!(target_shares(&normal), vec![1.0, 0.0, 0.0]);
    let down = srv_shares(&pool, &["voip1"], ClientModel::Weighted);
    assert_close(down.targets[1].share, 0.5, "voip2");
    assert_close(down.targets[2].share, 0.5, "voip3");
}

#[test]
fn all_zero_priority_is_split_equally() {
    let pool = vec![
        SrvRecord::new(5, 0, 5060, "a"),
        SrvRecord::new(5, 0, 5060, "b"),
        SrvRecord::new(5, 0, 5060, "c"),
        SrvRecord::new(5, 0, 5060, "d"),
    ];
    let shares = srv_shares(&pool, &[], ClientModel::Weighted);
    for t in &shares.targets {
        assert_close(t.share, 0.25, "equal part");
    }
    let one_down = srv_shares(&pool, &["c"], ClientModel::Weighted);
    assert_close(one_down.targets[0].share, 1.0 / 3.0, "a");
    assert_close(one_down.targets[2].share, 0.0, "c");
    // The RFC's process on an all-zero level: R is always 0, so the first-placed record
    // (uniform among them) is picked: equal parts too.
    let rfc = srv_shares(&pool, &["c"], ClientModel::Rfc2782);
    assert_close(rfc.targets[0].share, 1.0 / 3.0, "a (rfc2782)");
    assert_close(rfc.targets[3].share, 1.0 / 3.0, "d (rfc2782)");
}

#[test]
fn a_server_on_two_ports_sums_its_records_and_goes_down_whole() {
    let pool = vec![
        SrvRecord::new(10, 30, 5060, "voip1.example.com"),
        SrvRecord::new(10, 10, 5060, "voip2.example.com"),
        SrvRecord::new(10, 20, 5066, "VOIP2.example.com."),
    ];
    let shares = srv_shares(&pool, &[], ClientModel::Weighted);
    assert_eq!(shares.servers.len(), 2);
    assert_eq!(shares.servers[1].target, "voip2.example.com");
    assert_close(shares.servers[1].share, 0.5, "voip2 over both ports");
    let down = srv_shares(&pool, &["voip2.example.com"], ClientModel::Rfc2782);
    assert_close(down.targets[1].share, 0.0, "port 5060");
    assert_close(down.targets[2].share, 0.0, "port 5066");
    assert_close(down.server_share("voip1.example.com"), 1.0, "voip1");
}

#[test]
fn a_whole_priority_level_down_moves_to_the_next_level() {
    let pool = vec![
        SrvRecord::new(10, 50, 5060, "a"),
        SrvRecord::new(10, 50, 5060, "b"),
        SrvRecord::new(20, 30, 5060, "c"),
        SrvRecord::new(20, 10, 5060, "d"),
        SrvRecord::new(30, 10, 5060, "e"),
    ];
    let shares = srv_shares(&pool, &["a", "b"], ClientModel::Weighted);
    assert_eq!(target_shares(&shares), vec![0.0, 0.0, 0.75, 0.25, 0.0]);
    let rfc = srv_shares(&pool, &["a", "b"], ClientModel::Rfc2782);
    assert_close(rfc.targets[2].share, 30.5 / 41.0, "c");
    assert_close(rfc.targets[3].share, 10.5 / 41.0, "d");
    assert_close(rfc.targets[4].share, 0.0, "e");
}

#[test]
fn no_records_or_everything_down_is_unreachable() {
    for model in ClientModel::ALL {
        let empty = srv_shares(&[], &[], model);
        assert!(empty.targets.is_empty() && empty.servers.is_empty());
        assert_close(empty.unreachable, 1.0, "empty pool");

        let down = ["bigbox.example.com", "smallbox1.example.com"];
        let down = [
            &down[..],
            &["smallbox2.example.com", "backupbox.example.com"],
        ]
        .concat();
        let all_down = srv_shares(&source_example(), &down, model);
        assert_close(all_down.unreachable, 1.0, "all down");
        assert!(all_down.targets.iter().all(|t| t.share == 0.0));
        assert!(all_down.servers.iter().all(|s| s.share == 0.0));
    }
}

#[test]
fn a_dot_target_means_no_service() {
    let pool = vec![SrvRecord::new(0, 0, 0, ".")];
    let shares = srv_shares(&pool, &[], ClientModel::Weighted);
    assert_close(shares.unreachable, 1.0, "decidedly not available");
    assert_eq!(pool_lint(&pool, &[]), vec![PoolLint::NoMembers]);
}

#[test]
fn rfc2782_adds_the_first_placed_pick_to_every_record() {
    // No weight-0 record: R = 0 picks the first-placed record, uniform over the four, so
    // each record gets w/(T+1) plus (1/n)/(T+1).
    let shares = srv_shares(&source_example(), &[], ClientModel::Rfc2782);
    let expected = [
        60.25 / 101.0,
        20.25 / 101.0,
        10.25 / 101.0,
        10.25 / 101.0,
        0.0,
    ];
    for (got, want) in target_shares(&shares).iter().zip(expected) {
        assert_close(*got, want, "target share");
    }
    let weighted = srv_shares(&source_example(), &[], ClientModel::Weighted);
    assert!(shares.targets[0].share < weighted.targets[0].share);
    assert!(shares.targets[2].share > weighted.targets[2].share);
    assert_close(total(&shares), 1.0, "sum");
}

#[test]
fn rfc2782_bigbox_down_follows_the_ordering_process() {
    // bigbox is picked first with 60.25/101; then smallbox1 wins with (20 + 1/3)/41.
    let shares = srv_shares(
        &source_example(),
        &["bigbox.example.com"],
        ClientModel::Rfc2782,
    );
    let bigbox_first = 60.25 / 101.0;
    let smallbox1 = 20.25 / 101.0 + bigbox_first * (20.0 + 1.0 / 3.0) / 41.0;
    let smallbox2_port = 10.25 / 101.0 + bigbox_first * (10.0 + 1.0 / 3.0) / 41.0;
    assert_close(shares.targets[1].share, smallbox1, "smallbox1");
    assert_close(shares.targets[2].share, smallbox2_port, "smallbox2:5060");
    assert_close(shares.targets[3].share, smallbox2_port, "smallbox2:5066");
    // Not the renormalised 50/50 of the weighted model.
    assert!((shares.server_share("smallbox1.example.com") - 0.5).abs() > 1e-4);
    assert_close(total(&shares), 1.0, "sum");
}

#[test]
fn rfc2782_gives_weight_zero_records_the_r_equals_zero_pick() {
    let pool = vec![
        SrvRecord::new(10, 10, 5060, "voip1"),
        SrvRecord::new(10, 0, 5060, "voip2"),
    ];
    let shares = srv_shares(&pool, &[], ClientModel::Rfc2782);
    assert_close(shares.targets[0].share, 10.0 / 11.0, "voip1");
    assert_close(shares.targets[1].share, 1.0 / 11.0, "voip2");
}

#[test]
fn rfc2782_collapses_equal_weight_down_records() {
    // 40 down records of one weight are one class of 41 states, not 2^40 subsets.
    let mut pool: Vec<SrvRecord> = (0..40)
        .map(|i| SrvRecord::new(10, 10, 5060, format!("down{i}")))
        .collect();
    pool.push(SrvRecord::new(10, 10, 5060, "up1"));
    pool.push(SrvRecord::new(10, 30, 5060, "up2"));
    let down: Vec<String> = (0..40).map(|i| format!("down{i}")).collect();
    let down: Vec<&str> = down.iter().map(String::as_str).collect();
    let shares = srv_shares(&pool, &down, ClientModel::Rfc2782);
    assert!(shares.exact);
    assert_close(total(&shares), 1.0, "sum");
    assert!(shares.server_share("up2") > shares.server_share("up1"));
}

#[test]
fn rfc2782_approximates_when_the_state_budget_is_exceeded() {
    let pool: Vec<SrvRecord> = [1u16, 2, 3, 5, 8, 13, 21, 40]
        .iter()
        .enumerate()
        .map(|(i, &w)| SrvRecord::new(10, w, 5060, format!("s{i}")))
        .collect();
    let available: Vec<bool> = (0..pool.len()).map(|i| i >= 6).collect();
    let level: Vec<usize> = (0..pool.len()).collect();
    let mut exact_share = vec![0.0; pool.len()];
    assert!(rfc2782_level(
        &pool,
        &level,
        &available,
        &mut exact_share,
        1 << 10
    ));
    let mut rough_share = vec![0.0; pool.len()];
    assert!(!rfc2782_level(
        &pool,
        &level,
        &available,
        &mut rough_share,
        8
    ));
    assert_close(rough_share.iter().sum(), 1.0, "approximate sum");
    for (rough, exact) in rough_share.iter().zip(&exact_share) {
        assert!((rough - exact).abs() < 0.02, "{rough} vs {exact}");
    }
    // The public entry point reports exactness.
    let down: Vec<String> = (0..6).map(|i| format!("s{i}")).collect();
    let down: Vec<&str> = down.iter().map(String::as_str).collect();
    assert!(srv_shares(&pool, &down, ClientModel::Rfc2782).exact);
}

#[test]
fn rfc2782_falls_back_without_blowing_up_on_absurd_levels() {
    // 2100 weight-0 and 2100 weight-7 records down: 2101² states, more than the budget.
    let mut pool: Vec<SrvRecord> = (0..4200)
        .map(|i| SrvRecord::new(10, (i % 2) as u16 * 7, 5060, format!("d{i}")))
        .collect();
    pool.push(SrvRecord::new(10, 5, 5060, "up"));
    let down: Vec<String> = (0..4200).map(|i| format!("d{i}")).collect();
    let down: Vec<&str> = down.iter().map(String::as_str).collect();
    let shares = srv_shares(&pool, &down, ClientModel::Rfc2782);
    assert!(!shares.exact);
    assert_close(shares.server_share("up"), 1.0, "only survivor");
}

#[test]
fn client_model_parses_and_displays() {
    assert_eq!("weighted".parse::<ClientModel>(), Ok(ClientModel::Weighted));
    assert_eq!(" RFC2782 ".parse::<ClientModel>(), Ok(ClientModel::Rfc2782));
    let err = "random".parse::<ClientModel>().unwrap_err();
    assert!(err.to_string().contains("`random`"));
    for model in ClientModel::ALL {
        assert_eq!(model.to_string().parse::<ClientModel>(), Ok(model));
    }
    assert_eq!(ClientModel::default(), ClientModel::Weighted);
}

// ---- pool lint ----

#[test]
fn lint_empty_pool() {
    let lints = pool_lint(&[], &[]);
    assert_eq!(lints, vec![PoolLint::NoMembers]);
    assert_eq!(lints[0].severity(), Severity::Warning);
    assert!(lints[0].message().contains("no members"));
}

#[test]
fn lint_single_server_even_on_two_ports() {
    let pool = vec![
        SrvRecord::new(10, 10, 5060, "voip1.example.com."),
        SrvRecord::new(20, 10, 5066, "VOIP1.example.com"),
    ];
    let lints = pool_lint(&pool, &[]);
    assert_eq!(
        lints,
        vec![PoolLint::SingleServer {
            target: "voip1.example.com.".into()
        }]
    );
    assert!(lints[0].message().contains("voip1.example.com."));
    assert!(lints[0].message().contains("fail over"));
}

#[test]
fn lint_seed_pools_are_clean() {
    assert!(pool_lint(&pbx_a(), &[]).is_empty());
    assert!(pool_lint(&pbx_b(), &[]).is_empty());
}

#[test]
fn lint_shared_top_priority_on_the_source_example() {
    let lints = pool_lint(&source_example(), &[]);
    let expected_chance = 0.6f64.powi(10) + 2.0 * 0.2f64.powi(10);
    match lints.as_slice() {
        [
            PoolLint::SharedTopPriority {
                priority,
                servers,
                whole_chance_10,
            },
        ] => {
            assert_eq!(*priority, 10);
            assert_eq!(
                servers,
                &[
                    "bigbox.example.com.",
                    "smallbox1.example.com.",
                    "smallbox2.example.com."
                ]
            );
            assert!((whole_chance_10 - expected_chance).abs() < 1e-15);
        }
        other => panic!("unexpected lints {other:?}"),
    }
    let message = lints[0].message();
    assert!(message.contains("3 servers"), "{message}");
    assert!(message.contains("priority 10"), "{message}");
    assert_eq!(lints[0].severity(), Severity::Warning);
}

#[test]
fn lint_equal_servers_quote_n_to_the_one_minus_k() {
    let pool = vec![
        SrvRecord::new(10, 10, 5060, "voip1"),
        SrvRecord::new(10, 10, 5060, "voip2"),
    ];
    let lints = pool_lint(&pool, &[]);
    let [
        PoolLint::SharedTopPriority {
            whole_chance_10, ..
        },
    ] = lints.as_slice()
    else {
        panic!("expected one shared-top-priority lint, got {lints:?}");
    };
    assert!((whole_chance_10 - 2f64.powi(-9)).abs() < 1e-15);
    assert!(
        lints[0].message().contains("1 time in 512"),
        "{}",
        lints[0].message()
    );
}

#[test]
fn lint_ignores_a_weight_zero_standby_at_the_top_priority() {
    let pool = vec![
        SrvRecord::new(10, 10, 5060, "voip1"),
        SrvRecord::new(10, 0, 5060, "voip2"),
    ];
    assert!(pool_lint(&pool, &[]).is_empty());
}

#[test]
fn lint_out_of_service_members() {
    let lints = pool_lint(
        &pbx_a(),
        &[
            ("VOIP2.example.com", "maintenance"),
            ("voip9.example.com", "retired"),
        ],
    );
    assert_eq!(
        lints,
        vec![PoolLint::OutOfServiceMember {
            target: "voip2.example.com.".into(),
            state: "maintenance".into()
        }]
    );
    assert_eq!(lints[0].severity(), Severity::Info);
    assert!(lints[0].message().contains("maintenance"));
    let retired = PoolLint::OutOfServiceMember {
        target: "voip2".into(),
        state: "retired".into(),
    };
    assert_eq!(retired.severity(), Severity::Warning);
}

#[test]
fn severity_orders_info_warning_critical() {
    assert!(Severity::Info < Severity::Warning);
    assert!(Severity::Warning < Severity::Critical);
    assert_eq!(Severity::Critical.to_string(), "critical");
}

#[test]
fn whole_tenant_chance_examples() {
    assert!((whole_tenant_chance(&[0.5, 0.5], 10) - 2f64.powi(-9)).abs() < 1e-15);
    let third = 1.0 / 3.0;
    assert!((whole_tenant_chance(&[third; 3], 4) - 3f64.powi(-3)).abs() < 1e-15);
    assert_close(whole_tenant_chance(&[1.0], 50), 1.0, "one server");
    assert_close(whole_tenant_chance(&[0.7, 0.3], 1), 1.0, "one phone");
    assert_close(whole_tenant_chance(&[0.7, 0.3], 0), 1.0, "no phones");
    assert_close(whole_tenant_chance(&[f64::NAN, 1.0], 3), 1.0, "NaN ignored");
}

// ---- brute force of the RFC 2782 ordering process ----

/// An exact fraction for the brute force (small pools only).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ratio {
    num: i128,
    den: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

impl Ratio {
    fn new(num: i128, den: i128) -> Self {
        let g = gcd(num, den).max(1);
        Ratio {
            num: num / g,
            den: den / g,
        }
    }
    fn zero() -> Self {
        Ratio { num: 0, den: 1 }
    }
    fn add(self, other: Ratio) -> Ratio {
        Ratio::new(
            self.num * other.den + other.num * self.den,
            self.den * other.den,
        )
    }
    fn mul(self, other: Ratio) -> Ratio {
        Ratio::new(self.num * other.num, self.den * other.den)
    }
    fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
    if items.is_empty() {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for (i, &first) in items.iter().enumerate() {
        let rest: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, &x)| x)
            .collect();
        for mut tail in permutations(&rest) {
            tail.insert(0, first);
            out.push(tail);
        }
    }
    out
}

/// Follows RFC 2782's selection literally from a fixed arrangement: every R in [0, T],
/// the first record whose running sum is >= R, removal of an unavailable pick, repeat.
fn walk(order: &[usize], weights: &[u16], up: &[bool], prob: Ratio, acc: &mut [Ratio]) {
    let total: i128 = order.iter().map(|&i| i128::from(weights[i])).sum();
    let mut picks = vec![0i128; order.len()];
    for r in 0..=total {
        let mut running = 0i128;
        for (pos, &i) in order.iter().enumerate() {
            running += i128::from(weights[i]);
            if running >= r {
                picks[pos] += 1;
                break;
            }
        }
    }
    for (pos, &count) in picks.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let p = prob.mul(Ratio::new(count, total + 1));
        let record = order[pos];
        if up[record] {
            acc[record] = acc[record].add(p);
        } else {
            let rest: Vec<usize> = order
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != pos)
                .map(|(_, &x)| x)
                .collect();
            walk(&rest, weights, up, p, acc);
        }
    }
}

/// Exact rfc2782 shares by enumerating every arrangement (zero weights first) and every R.
fn brute_force(records: &[SrvRecord], down: &[&str]) -> Vec<f64> {
    let up: Vec<bool> = records
        .iter()
        .map(|r| !down.iter().any(|d| same_host(d, &r.target)))
        .collect();
    let weights: Vec<u16> = records.iter().map(|r| r.weight).collect();
    let mut priorities: Vec<u16> = records.iter().map(|r| r.priority).collect();
    priorities.sort_unstable();
    priorities.dedup();
    let mut acc = vec![Ratio::zero(); records.len()];
    for priority in priorities {
        let level: Vec<usize> = (0..records.len())
            .filter(|&i| records[i].priority == priority)
            .collect();
        if !level.iter().any(|&i| up[i]) {
            continue;
        }
        let zeros: Vec<usize> = level.iter().copied().filter(|&i| weights[i] == 0).collect();
        let weighted: Vec<usize> = level.iter().copied().filter(|&i| weights[i] > 0).collect();
        let zero_orders = permutations(&zeros);
        let weighted_orders = permutations(&weighted);
        let arrangements = (zero_orders.len() * weighted_orders.len()) as i128;
        for zero_order in &zero_orders {
            for weighted_order in &weighted_orders {
                let order = [zero_order.as_slice(), weighted_order.as_slice()].concat();
                walk(&order, &weights, &up, Ratio::new(1, arrangements), &mut acc);
            }
        }
        break;
    }
    acc.into_iter().map(Ratio::to_f64).collect()
}

fn assert_matches_brute_force(records: &[SrvRecord], down: &[&str]) {
    let shares = srv_shares(records, down, ClientModel::Rfc2782);
    let expected = brute_force(records, down);
    for (t, want) in shares.targets.iter().zip(&expected) {
        assert!(
            (t.share - want).abs() < 1e-12,
            "{records:?} down {down:?}: {} got {}, brute force {want}",
            t.target,
            t.share
        );
    }
    assert!(shares.exact);
}

#[test]
fn rfc2782_matches_brute_force_on_the_source_example() {
    let pool = source_example();
    assert_matches_brute_force(&pool, &[]);
    assert_matches_brute_force(&pool, &["bigbox.example.com"]);
    assert_matches_brute_force(&pool, &["smallbox2.example.com"]);
    assert_matches_brute_force(&pool, &["bigbox.example.com", "smallbox2.example.com"]);
}

#[test]
fn rfc2782_matches_brute_force_with_zero_weights_down_and_up() {
    let pool = vec![
        SrvRecord::new(1, 0, 5060, "z1"),
        SrvRecord::new(1, 0, 5060, "z2"),
        SrvRecord::new(1, 3, 5060, "a"),
        SrvRecord::new(1, 1, 5060, "b"),
        SrvRecord::new(1, 2, 5060, "c"),
    ];
    assert_matches_brute_force(&pool, &[]);
    assert_matches_brute_force(&pool, &["z1"]);
    assert_matches_brute_force(&pool, &["z1", "z2"]);
    assert_matches_brute_force(&pool, &["z1", "z2", "a"]);
    assert_matches_brute_force(&pool, &["z1", "a", "c"]);
    assert_matches_brute_force(&pool, &["a", "b", "c"]);
}

// ---- properties ----

fn pool_strategy(max_len: usize, max_weight: u16) -> impl Strategy<Value = Vec<SrvRecord>> {
    prop::collection::vec(
        (
            prop::sample::select(vec![0u16, 10, 20]),
            prop_oneof![Just(0u16), 1..=max_weight],
            0usize..5,
            prop::sample::select(vec![5060u16, 5066]),
        ),
        0..=max_len,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .map(|(priority, weight, server, port)| {
                SrvRecord::new(priority, weight, port, format!("voip{server}.example.com"))
            })
            .collect()
    })
}

fn down_names(mask: u8) -> Vec<String> {
    (0..5)
        .filter(|s| mask & (1 << s) != 0)
        .map(|s| format!("VOIP{s}.example.com."))
        .collect()
}

proptest! {
    #[test]
    fn rfc2782_matches_brute_force_on_small_pools(
        pool in pool_strategy(5, 4),
        mask in 0u8..32,
    ) {
        let down = down_names(mask);
        let down: Vec<&str> = down.iter().map(String::as_str).collect();
        assert_matches_brute_force(&pool, &down);
    }

    #[test]
    fn shares_are_probabilities_and_sum_to_one_while_anything_is_up(
        pool in pool_strategy(12, 65535),
        mask in 0u8..32,
    ) {
        let down = down_names(mask);
        let down: Vec<&str> = down.iter().map(String::as_str).collect();
        let any_up = pool.iter().any(|r| !down.iter().any(|d| same_host(d, &r.target)));
        for model in ClientModel::ALL {
            let shares = srv_shares(&pool, &down, model);
            prop_assert_eq!(shares.targets.len(), pool.len());
            for t in &shares.targets {
                prop_assert!((0.0..=1.0).contains(&t.share), "{} out of range", t.share);
            }
            for s in &shares.servers {
                prop_assert!((0.0..=1.0 + 1e-12).contains(&s.share));
            }
            let sum: f64 = shares.targets.iter().map(|t| t.share).sum();
            let server_sum: f64 = shares.servers.iter().map(|s| s.share).sum();
            prop_assert!((server_sum - sum).abs() < 1e-12);
            if any_up {
                prop_assert!((sum - 1.0).abs() < 1e-12, "{model}: sum {sum}");
                prop_assert_eq!(shares.unreachable, 0.0);
            } else {
                prop_assert_eq!(sum, 0.0);
                prop_assert_eq!(shares.unreachable, 1.0);
            }
        }
    }

    #[test]
    fn a_down_server_gets_nothing(pool in pool_strategy(12, 100), mask in 0u8..32) {
        let down = down_names(mask);
        let down: Vec<&str> = down.iter().map(String::as_str).collect();
        for model in ClientModel::ALL {
            let shares = srv_shares(&pool, &down, model);
            for t in &shares.targets {
                if down.iter().any(|d| same_host(d, &t.target)) {
                    prop_assert_eq!(t.share, 0.0);
                }
            }
            for name in &down {
                prop_assert_eq!(shares.server_share(name), 0.0);
            }
        }
    }

    #[test]
    fn weighted_ignores_the_records_of_down_servers(
        pool in pool_strategy(12, 100),
        mask in 0u8..32,
    ) {
        let down = down_names(mask);
        let down: Vec<&str> = down.iter().map(String::as_str).collect();
        let with_down = srv_shares(&pool, &down, ClientModel::Weighted);
        let survivors: Vec<SrvRecord> = pool
            .iter()
            .filter(|r| !down.iter().any(|d| same_host(d, &r.target)))
            .cloned()
            .collect();
        let without = srv_shares(&survivors, &[], ClientModel::Weighted);
        let kept: Vec<f64> = with_down
            .targets
            .iter()
            .filter(|t| !down.iter().any(|d| same_host(d, &t.target)))
            .map(|t| t.share)
            .collect();
        let alone: Vec<f64> = without.targets.iter().map(|t| t.share).collect();
        prop_assert_eq!(kept, alone);
        prop_assert_eq!(with_down.unreachable, without.unreachable);
    }

    #[test]
    fn record_order_does_not_change_shares(
        pool in pool_strategy(8, 50),
        mask in 0u8..32,
    ) {
        let down = down_names(mask);
        let down: Vec<&str> = down.iter().map(String::as_str).collect();
        let reversed: Vec<SrvRecord> = pool.iter().rev().cloned().collect();
        for model in ClientModel::ALL {
            let forward = srv_shares(&pool, &down, model);
            let backward = srv_shares(&reversed, &down, model);
            for (a, b) in forward.targets.iter().zip(backward.targets.iter().rev()) {
                prop_assert!((a.share - b.share).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn whole_chance_of_equal_servers_is_n_to_the_one_minus_k(n in 1usize..8, k in 1u32..20) {
        let shares = vec![1.0 / n as f64; n];
        let expected = (n as f64).powf(1.0 - f64::from(k));
        let got = whole_tenant_chance(&shares, k);
        prop_assert!((got - expected).abs() <= 1e-12 * expected.max(1e-300) + 1e-15);
    }
}
