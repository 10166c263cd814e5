//! The `pbx-pools` command line.

use clap::{Parser, Subcommand};
use std::time::Instant;

use crate::config::{DatabaseArgs, DemoArgs, ServeArgs};
use crate::domain::demo::{
    GeneratorSpec, generate_cluster, parse_phone_range, source_document_cluster,
};
use crate::store::Store;
use crate::web::{AppState, router};

#[derive(Debug, Parser)]
#[command(
    name = "pbx-pools",
    version,
    about = "Admin dashboard for the DNS SRV pools of multi-tenant Asterisk PBX clusters"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web dashboard.
    Serve(ServeArgs),
    /// Load demo data: the source document's clusters, or a generated one with --tenants.
    Demo(DemoArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
}

pub type CliResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

pub async fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Demo(args) => demo(args).await,
        Command::Migrate(args) => {
            let store = Store::open(&args.database_url).await?;
            println!("migrations applied ({:?})", store.backend());
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> CliResult {
    let store = Store::open(&args.db.database_url).await?;
    if args.demo {
        if store.is_empty().await? {
            let summary = store.load_demo(&source_document_cluster(), "demo").await?;
            tracing::info!(?summary, "demo data loaded");
        } else {
            tracing::info!("database already has data; --demo loads nothing");
        }
    }
    let app = router(AppState::new(store.clone()));
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("pbx-pools listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn demo(args: DemoArgs) -> CliResult {
    let started = Instant::now();
    let cluster = match args.tenants {
        None => source_document_cluster(),
        Some(tenants) => {
            let (min_phones, max_phones) = parse_phone_range(&args.phones_per_tenant)?;
            generate_cluster(GeneratorSpec {
                tenants,
                servers: args.servers,
                min_phones,
                max_phones,
                seed: args.seed,
            })
        }
    };
    let store = Store::open(&args.db.database_url).await?;
    let summary = store.load_demo(&cluster, "demo").await?;
    println!(
        "loaded {} servers, {} pools, {} tenants ({} phones) in {:.2?}",
        summary.servers,
        summary.pools,
        summary.tenants,
        summary.phones,
        started.elapsed()
    );
    Ok(())
}
