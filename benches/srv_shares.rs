//! Times `srv_shares` on a 64-member pool (three priorities, mixed weights including zero, some
//! servers on two ports, some servers at two priorities) for the normal scenario and every
//! single-server-down (N−1) scenario, under both client models.
//!
//! A plain bench binary (`harness = false`): `cargo bench --bench srv_shares`. Set
//! `SRV_BENCH_MS` to change the measuring time per scenario (default 20 ms).

use pbx_pools::domain::srv::*;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// 64 records: priority 10 (24 records), 20 (24 records), 30 (16 records that reuse the
/// priority-10 servers, as pbxA/pbxB do with voip1/voip2). Every eighth record's server also
/// listens on a second port; weights cycle through a mix that includes 0.
fn bench_pool() -> Vec<SrvRecord> {
    const WEIGHTS: [u16; 8] = [60, 20, 10, 10, 0, 30, 5, 15];
    let mut records: Vec<SrvRecord> = Vec::with_capacity(64);
    let mut server = 0;
    for i in 0..48 {
        let priority = if i < 24 { 10 } else { 20 };
        let (port, target) = if i % 8 == 3 {
            // The previous record's server, on its second port (the source's smallbox2).
            (5066, records[i - 1].target.clone())
        } else {
            server += 1;
            (5060, format!("voip{server:02}.example.com."))
        };
        records.push(SrvRecord::new(priority, WEIGHTS[i % 8], port, target));
    }
    for i in 0..16 {
        let target = records[i].target.clone();
        let port = records[i].port;
        records.push(SrvRecord::new(30, WEIGHTS[(i + 3) % 8], port, target));
    }
    records
}

fn measure_time() -> Duration {
    let ms = std::env::var("SRV_BENCH_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(20);
    Duration::from_millis(ms.max(1))
}

/// Nanoseconds per call, after a warm-up, over at least `budget` of repeated calls.
fn ns_per_call(records: &[SrvRecord], down: &[&str], model: ClientModel, budget: Duration) -> f64 {
    for _ in 0..100 {
        black_box(srv_shares(black_box(records), black_box(down), model));
    }
    let mut iterations: u64 = 0;
    let mut batch: u64 = 64;
    let start = Instant::now();
    loop {
        for _ in 0..batch {
            black_box(srv_shares(black_box(records), black_box(down), model));
        }
        iterations += batch;
        let elapsed = start.elapsed();
        if elapsed >= budget {
            return elapsed.as_nanos() as f64 / iterations as f64;
        }
        batch = (batch * 2).min(1 << 16);
    }
}

fn main() {
    let pool = bench_pool();
    let budget = measure_time();

    let mut servers: Vec<&str> = Vec::new();
    for record in &pool {
        if !servers.iter().any(|s| same_host(s, &record.target)) {
            servers.push(&record.target);
        }
    }
    let mut scenarios: Vec<(String, Vec<&str>)> = vec![("normal".to_string(), Vec::new())];
    scenarios.extend(
        servers
            .iter()
            .map(|&server| (format!("{server} down"), vec![server])),
    );

    println!(
        "srv_shares on a {}-member pool with {} servers: {} scenarios (normal + N-1)",
        pool.len(),
        servers.len(),
        scenarios.len()
    );
    println!(
        "{:<32} {:>14} {:>14}",
        "scenario", "weighted ns", "rfc2782 ns"
    );
    let mut totals = [0.0f64; 2];
    let mut worst = [0.0f64; 2];
    for (name, down) in &scenarios {
        let mut row = [0.0f64; 2];
        for (slot, model) in ClientModel::ALL.into_iter().enumerate() {
            row[slot] = ns_per_call(&pool, down, model, budget);
            totals[slot] += row[slot];
            worst[slot] = worst[slot].max(row[slot]);
        }
        println!("{name:<32} {:>14.0} {:>14.0}", row[0], row[1]);
    }
    let count = scenarios.len() as f64;
    println!(
        "{:<32} {:>14.0} {:>14.0}",
        "mean per scenario",
        totals[0] / count,
        totals[1] / count
    );
    println!(
        "{:<32} {:>14.0} {:>14.0}",
        "worst scenario", worst[0], worst[1]
    );
    println!(
        "{:<32} {:>14.0} {:>14.0}",
        "whole sweep (ns)", totals[0], totals[1]
    );
}
