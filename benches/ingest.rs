//! Time to ingest one 100,000-contact `pjsip show contacts` dump into a server's picture
//! (parse + store + maintained counts), on a SQLite file with 10,000 tenants.
//!
//! `cargo bench --bench ingest` (set PBX_POOLS_BENCH_PG_URL to run it against PostgreSQL too).

use pbx_pools::domain::demo::{GeneratorSpec, generate_cluster};
use pbx_pools::domain::registrations::{DumpFormat, TenantMatcher, parse_dump};
use pbx_pools::store::{IngestPolicy, Store};
use std::time::Instant;

fn dump(codes: &[String], contacts: usize) -> String {
    let mut out = String::with_capacity(contacts * 90);
    out.push_str("\n  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>\n");
    out.push_str(" ==========================================================================================\n\n");
    for i in 0..contacts {
        let code = &codes[i % codes.len()];
        let ext = 100 + i / codes.len();
        out.push_str(&format!(
            "  Contact:  {ext}-{code}/sip:{ext}-{code}@10.{}.{}.{}:5060 {:010x} Avail        12.345\n",
            i / 65_536 % 256,
            i / 256 % 256,
            i % 256,
            i
        ));
    }
    out.push_str(&format!("\nObjects found: {contacts}\n\n"));
    out
}

async fn run(label: &str, url: &str) {
    let store = Store::open(url).await.expect("open database");
    let cluster = generate_cluster(GeneratorSpec {
        tenants: 10_000,
        servers: 40,
        min_phones: 2,
        max_phones: 180,
        seed: 1,
    });
    store
        .load_demo(&cluster, "bench")
        .await
        .expect("load tenants");
    let codes: Vec<String> = cluster.tenants.iter().map(|t| t.code.clone()).collect();
    let text = dump(&codes, 100_000);
    let server = store.server_by_name("voip1").await.expect("voip1");
    let policy = IngestPolicy {
        matcher: TenantMatcher::default(),
        stale_after_secs: 900,
        retention_secs: 14 * 86_400,
    };
    for round in 1..=3 {
        let t0 = Instant::now();
        let rows = parse_dump(DumpFormat::PjsipContacts, &text).expect("parse");
        let parsed = t0.elapsed();
        let summary = store
            .ingest(server.id, "pjsip-contacts", rows, &policy, "bench")
            .await
            .expect("ingest");
        let total = t0.elapsed();
        println!(
            "{label} round {round}: {} contacts ({:.1} MB), parse {:.0} ms, parse+store {:.0} ms, {} matched, {} moves",
            summary.contacts,
            text.len() as f64 / 1e6,
            parsed.as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e3,
            summary.matched,
            summary.moves
        );
    }
    store.close().await;
}

#[tokio::main]
async fn main() {
    // RUST_LOG=sqlx=debug shows each statement's time.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .try_init();
    let dir = std::env::temp_dir().join(format!("pbx-bench-ingest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    run("sqlite", &format!("sqlite://{}/bench.db", dir.display())).await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Ok(url) = std::env::var("PBX_POOLS_BENCH_PG_URL") {
        run("postgres", &url).await;
    }
}
