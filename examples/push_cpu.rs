//! Bench-only (issue 14): the registration push of `benches/load/push.py` without HTTP, in a
//! process of its own, so that its cost can be read on a busy machine. Each round swaps 1% of
//! a server's contacts for others, as push.py does, parses the `pjsip show contacts` text and
//! stores it through `Store::ingest`, and reports the median wall time per push and the CPU
//! time (all threads: the caller and SQLite's worker) per push, which other processes' load
//! does not inflate as much as the wall time.
//!
//! ```text
//! cargo build --release --example push_cpu
//! target/release/examples/push_cpu DB [SERVER] [PUSHES] [CONTACTS]
//! ```
//!
//! DB is a SQLite file (a copy: the pushes change it), SERVER defaults to voip1, PUSHES to 40,
//! CONTACTS to 5,000. The endpoints are the first 2 × CONTACTS registrations by id, as push.py
//! takes them.

use pbx_pools::domain::registrations::{DumpFormat, parse_dump};
use pbx_pools::store::{IngestPolicy, Store};
use std::time::Instant;

/// User + system CPU seconds of this process so far (all threads), from /proc/self/stat.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// The report push.py sends for `endpoints`.
fn dump(endpoints: &[String]) -> String {
    let mut out = String::from(
        "\n  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>\n ",
    );
    out.push_str(&"=".repeat(90));
    out.push_str("\n\n");
    for (i, e) in endpoints.iter().enumerate() {
        out.push_str(&format!(
            "  Contact:  {e}/sip:{e}@10.{}.{}.{}:5060 {i:010x} Avail        12.345\n",
            i / 65536 % 256,
            i / 256 % 256,
            i % 256
        ));
    }
    out.push_str(&format!("\nObjects found: {}\n\n", endpoints.len()));
    out
}

#[tokio::main]
async fn main() {
    // `RUST_LOG=pbx_pools::store=debug` shows each push's phases (see `Store::ingest`).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().collect();
    let db = args
        .get(1)
        .expect("usage: push_cpu DB [SERVER] [PUSHES] [CONTACTS]");
    let server = args.get(2).map_or("voip1", String::as_str);
    let pushes: usize = args.get(3).map_or(40, |s| s.parse().expect("PUSHES"));
    let n: usize = args.get(4).map_or(5000, |s| s.parse().expect("CONTACTS"));
    let store = Store::open(&format!("sqlite://{db}")).await.expect("open");
    let endpoints: Vec<String> = {
        use sqlx::Row;
        let pool = sqlx::AnyPool::connect(&format!("sqlite://{db}"))
            .await
            .expect("open");
        sqlx::query("SELECT endpoint FROM registrations ORDER BY id LIMIT $1")
            .bind((2 * n) as i64)
            .fetch_all(&pool)
            .await
            .expect("registrations")
            .iter()
            .map(|r| r.get::<String, _>("endpoint"))
            .collect()
    };
    let (mut current, mut reserve) = (endpoints[..n].to_vec(), endpoints[n..].to_vec());
    let id = store.server_by_name(server).await.expect("server").id;
    // As `serve` does (`jobs::checkpoint_wal`): the log is checkpointed beside the pushes, not
    // by the commits.
    store.take_over_checkpoints().await.expect("checkpoints");
    let checkpointer = store.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            checkpointer.checkpoint().await.expect("checkpoint");
        }
    });
    // push.py's generator: Python's random.Random(1) is not reproduced, a simple LCG is.
    let mut seed: u64 = 1;
    let mut next = |m: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % m
    };
    // The first push brings the server to push.py's contacts (a full rewrite): not counted.
    let (mut wall, mut cpu) = (Vec::new(), 0.0);
    for round in 0..=pushes {
        for _ in 0..n / 100 {
            let (i, j) = (next(current.len()), next(reserve.len()));
            std::mem::swap(&mut current[i], &mut reserve[j]);
        }
        let text = dump(&current);
        let (c0, t0) = (cpu_secs(), Instant::now());
        let rows = parse_dump(DumpFormat::PjsipContacts, &text).expect("parse");
        let (settings, _) = store.settings().await.expect("settings");
        let policy = IngestPolicy::from_settings(&settings);
        store
            .ingest(id, "pjsip-contacts", rows, &policy, "push_cpu")
            .await
            .expect("ingest");
        if round > 0 {
            wall.push(t0.elapsed().as_secs_f64() * 1e3);
            cpu += cpu_secs() - c0;
        }
        // push.py pushes once a second; a pause lets SQLite's worker settle the same way.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    wall.sort_by(f64::total_cmp);
    // The process's resident memory at the end: SQLite's page caches are part of it.
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .map_or("?", |l| l["VmRSS:".len()..].trim());
    println!(
        "pushes {}  wall p50 {:.1} ms  max {:.1} ms  cpu {:.1} ms per push  RSS {rss}",
        wall.len(),
        wall[wall.len() / 2],
        wall[wall.len() - 1],
        cpu * 1e3 / wall.len() as f64
    );
}
