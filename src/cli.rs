//! The `pbx-pools` command line.

use clap::{Parser, Subcommand};
use std::time::Instant;

use crate::app::App;
use crate::app::dns::{ExportParams, export_text};
use crate::app::plan::{PlanRequest, apply as apply_plan, compute as compute_plan};
use crate::config::{DatabaseArgs, DemoArgs, ServeArgs};
use crate::domain::auth::{Role, Scope, check_password, hash_password, new_secret};
use crate::domain::demo::{
    GeneratorSpec, generate_cluster, parse_phone_range, source_document_cluster,
};
use crate::domain::demo_registrations::{generated_registrations, source_document_rounds};
use crate::domain::names::check_short_name;
use crate::store::Store;

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
    /// Print the SRV records of pools as a BIND zone snippet, nsupdate script, JSON, octoDNS
    /// YAML or DNSControl lines.
    Export(ExportArgs),
    /// Check the live DNS against the export: exit 0 in sync, 1 drift, 2 DNS could not be asked.
    CheckDns(CheckDnsArgs),
    /// Propose a rebalance plan (and apply it with --apply).
    Plan(PlanArgs),
    /// Manage users (admins change things, viewers only look).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    /// Pool to export (repeatable); all pools when none is given.
    #[arg(long = "pool")]
    pools: Vec<String>,
    /// Transport to publish (repeatable: udp, tcp, tls); each pool's own when none is given.
    #[arg(long = "transport")]
    transports: Vec<String>,
    /// bind, nsupdate, json, octodns or dnscontrol.
    #[arg(long, default_value = "bind")]
    format: String,
    /// Write names relative to this zone origin (required for octodns and dnscontrol).
    #[arg(long)]
    origin: Option<String>,
    /// Checked but not written: the export is a snippet, and a $TTL line pasted into a zone
    /// would change the TTL of every record after it (each record carries its own TTL).
    #[arg(long)]
    ttl: Option<String>,
    /// nsupdate: the server line (HOST or HOST PORT).
    #[arg(long)]
    server: Option<String>,
    /// nsupdate: the TSIG key name to pass with -k.
    #[arg(long)]
    key: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct CheckDnsArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    /// Name server to ask, as IP or IP:PORT (repeatable); default: the settings' list, else the
    /// system's resolver.
    #[arg(long = "nameserver")]
    nameservers: Vec<String>,
    /// Pool to check (repeatable); all pools when none is given.
    #[arg(long = "pool")]
    pools: Vec<String>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Per-query timeout in milliseconds (default: the settings', 3000).
    #[arg(long)]
    timeout_ms: Option<u32>,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    /// Move at most this percentage of all phones.
    #[arg(long, default_value_t = 30.0)]
    budget_pct: f64,
    /// Phones per tenant: expected or registered.
    #[arg(long, default_value = "expected")]
    counts: String,
    /// Tenant to keep in its pool (repeatable).
    #[arg(long = "pin")]
    pins: Vec<String>,
    /// Place every tenant without a pool, wherever it raises the worst utilisation least (the
    /// old behaviour); by default each goes only where every server stays under the warning
    /// level, and the rest are listed as not placed.
    #[arg(long)]
    place_all: bool,
    /// Print the plan as JSON.
    #[arg(long)]
    json: bool,
    /// Apply every move of the plan (one transaction).
    #[arg(long)]
    apply: bool,
    /// With --apply: apply even when a server crosses the warning level or its capacity.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is asked for, or read from standard input.
    Add {
        name: String,
        /// admin or viewer.
        #[arg(long)]
        role: String,
        /// Read the password from the first line of standard input instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// List users.
    List {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Disable a user: their sessions stop working at once.
    Disable {
        name: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Set a user's password.
    Passwd {
        name: String,
        /// Read the password from the first line of standard input instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret once.
    Create {
        /// A name that says where the token is used, e.g. voip1-cron.
        #[arg(long)]
        name: String,
        /// read, admin or ingest:SERVER.
        #[arg(long)]
        scope: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Revoke a token.
    Revoke {
        name: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

pub type CliResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

pub async fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Demo(args) => demo(args).await,
        Command::Migrate(args) => {
            let store = Store::open(&args.database_url).await?;
            println!("migrations applied ({:?})", store.backend());
            for problem in crate::app::dns::publishing_problems(&App::new(store)).await? {
                eprintln!("warning: {problem}");
            }
            Ok(())
        }
        Command::Export(args) => export(args).await,
        Command::CheckDns(args) => {
            // Exit codes for cron and monitoring: 0 in sync, 1 drift, 2 could not check.
            let code = match check_dns(args).await {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("error: {e}");
                    2
                }
            };
            std::process::exit(code);
        }
        Command::Plan(args) => plan(args).await,
        Command::User(cmd) => user(cmd).await,
        Command::Token(cmd) => token(cmd).await,
    }
}

/// The actor the audit log records for command-line changes.
fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

fn read_password(from_stdin: bool) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password again: ")?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        first
    };
    check_password(&password).map_err(|e| format!("password {e}"))?;
    Ok(password)
}

async fn export(args: ExportArgs) -> CliResult {
    let params = ExportParams {
        pools: args.pools,
        transports: args
            .transports
            .iter()
            .map(|t| t.parse())
            .collect::<Result<_, String>>()?,
        format: args.format.parse::<crate::domain::zone::ExportFormat>()?,
        origin: args.origin.unwrap_or_default(),
        default_ttl: args.ttl.unwrap_or_default(),
        server: args.server.unwrap_or_default(),
        key: args.key.unwrap_or_default(),
    };
    let store = Store::open(&args.db.database_url).await?;
    let pools = store.pools().await?;
    let (text, _) = export_text(&pools, &params).map_err(|e| e.to_string())?;
    print!("{text}");
    Ok(())
}

async fn check_dns(args: CheckDnsArgs) -> Result<i32, Box<dyn std::error::Error + Send + Sync>> {
    let request = crate::app::dns::CheckRequest {
        nameservers: crate::domain::settings::parse_nameservers(&args.nameservers.join(","))?,
        pools: args.pools,
        timeout_ms: args.timeout_ms,
    };
    let app = App::new(Store::open(&args.db.database_url).await?);
    let report = crate::app::dns::run_check_with(&app, &request, &cli_actor()).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", crate::dnscheck::render_text(&report));
    }
    Ok(report.exit_code())
}

async fn plan(args: PlanArgs) -> CliResult {
    let store = Store::open(&args.db.database_url).await?;
    let app = App::new(store);
    let request = PlanRequest {
        budget_pct: args.budget_pct,
        counts: args.counts,
        pins: args.pins,
        place_all: args.place_all,
    };
    let outcome = compute_plan(&app, &request)
        .await
        .map_err(|e| e.to_string())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        println!(
            "plan {}: worst utilisation {:.1}% now, {:.1}% after (lower bound {:.1}%, greedy LPT {:.1}%); {} moves, {} of {} phones moved (budget {})",
            outcome.id,
            outcome.plan.before_value * 100.0,
            outcome.plan.value * 100.0,
            outcome.plan.lower_bound * 100.0,
            outcome.lpt_value * 100.0,
            outcome.moves.len(),
            outcome.plan.moved_phones,
            outcome.total_phones,
            outcome.budget
        );
        for m in &outcome.moves {
            println!(
                "  {:<24} {:>6} phones  {} -> {}",
                m.tenant,
                m.phones,
                m.from.as_deref().unwrap_or("(none)"),
                m.to
            );
        }
        println!(
            "cells above the warning level: {} now, {} after ({} forced: every plan keeping the worst leaves at least that many)",
            outcome.cells_above.before, outcome.cells_above.after, outcome.cells_above.forced
        );
        for c in &outcome.could_not_fix {
            println!("  could not fix: {}", c.reason);
        }
        if outcome.capacity_missing_phones > 0 {
            println!(
                "  capacity missing to bring every server under the warning level: {} phones",
                outcome.capacity_missing_phones
            );
        }
        for n in &outcome.not_placed {
            println!(
                "  {:<24} {:>6} phones  {} ({} phones of capacity would let it in)",
                n.tenant, n.phones, n.reason, n.capacity_missing_phones
            );
        }
    }
    if args.apply {
        if outcome.impact.needs_confirmation() && !args.force {
            eprint!("{}", impact_text(&outcome.impact));
            let what: Vec<String> = outcome
                .impact
                .crossings
                .iter()
                .map(|c| c.sentence())
                .collect();
            return Err(format!(
                "nothing was applied: {}. Run again with --force to apply the plan anyway.",
                what.join("; ")
            )
            .into());
        }
        if !args.json {
            print!("{}", impact_text(&outcome.impact));
        }
        let n = apply_plan(&app, &outcome.id, &request, &outcome.moves, &cli_actor())
            .await
            .map_err(|e| e.to_string())?;
        println!("applied plan {}: {n} tenants moved", outcome.id);
    }
    Ok(())
}

/// The impact preview per server as text: utilisation with nothing down and in the worst single
/// failure, before → after, a `!` marking a server that crosses a level.
fn impact_text(impact: &crate::domain::impact::Impact) -> String {
    let pct = |u: Option<f64>| u.map_or("—".to_string(), |u| format!("{:.0}%", u * 100.0));
    let mut out = format!(
        "impact per server (warning level {:.0}%):\n",
        impact.warning_level * 100.0
    );
    for s in &impact.per_server {
        out.push_str(&format!(
            "  {} {:<20} normal {:>5} -> {:>5}   worst {:>5} -> {:>5}\n",
            if impact.crosses(&s.server) { "!" } else { " " },
            s.server,
            pct(s.before.normal),
            pct(s.after.normal),
            pct(s.before.worst),
            pct(s.after.worst),
        ));
    }
    out
}

async fn user(cmd: UserCommand) -> CliResult {
    match cmd {
        UserCommand::Add {
            name,
            role,
            password_stdin,
            db,
        } => {
            let name = check_short_name(&name).map_err(|e| format!("user name {e}"))?;
            let role: Role = role.parse()?;
            let password = read_password(password_stdin)?;
            let store = Store::open(&db.database_url).await?;
            let hash = hash_password(&password)?;
            let u = store
                .create_user(&name, &hash, role, &cli_actor(), false)
                .await?;
            println!("user {} added ({})", u.name, u.role);
        }
        UserCommand::List { db } => {
            let store = Store::open(&db.database_url).await?;
            println!("{:<24} {:<8} {:<9} last login", "user", "role", "state");
            for u in store.users().await? {
                println!(
                    "{:<24} {:<8} {:<9} {}",
                    u.name,
                    u.role,
                    if u.disabled { "disabled" } else { "active" },
                    u.last_login_at
                        .map(utc_time)
                        .unwrap_or_else(|| "never".into())
                );
            }
        }
        UserCommand::Disable { name, db } => {
            let store = Store::open(&db.database_url).await?;
            store.set_user_disabled(&name, true, &cli_actor()).await?;
            println!("user {name} disabled");
        }
        UserCommand::Passwd {
            name,
            password_stdin,
            db,
        } => {
            let password = read_password(password_stdin)?;
            let store = Store::open(&db.database_url).await?;
            store
                .set_user_password(&name, &hash_password(&password)?, &cli_actor(), false)
                .await?;
            println!("password of {name} changed; their sessions have ended");
        }
    }
    Ok(())
}

async fn token(cmd: TokenCommand) -> CliResult {
    match cmd {
        TokenCommand::Create { name, scope, db } => {
            let name = check_short_name(&name).map_err(|e| format!("token name {e}"))?;
            let scope: Scope = scope.parse()?;
            let store = Store::open(&db.database_url).await?;
            let secret = new_secret("pbxp_")?;
            store
                .create_token(&name, &secret, &scope, &cli_actor())
                .await?;
            eprintln!("token {name} ({scope}) created; this is the only time its secret is shown:");
            println!("{secret}");
        }
        TokenCommand::List { db } => {
            let store = Store::open(&db.database_url).await?;
            println!("{:<24} {:<20} {:<9} last used", "token", "scope", "state");
            for t in store.tokens().await? {
                println!(
                    "{:<24} {:<20} {:<9} {}",
                    t.name,
                    t.scope,
                    if t.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                    t.last_used_at
                        .map(utc_time)
                        .unwrap_or_else(|| "never".into())
                );
            }
        }
        TokenCommand::Revoke { name, db } => {
            let store = Store::open(&db.database_url).await?;
            store.revoke_token(&name, &cli_actor()).await?;
            println!("token {name} revoked");
        }
    }
    Ok(())
}

async fn serve(args: ServeArgs) -> CliResult {
    let store = Store::open(&args.db.database_url).await?;
    if args.demo {
        if store.is_empty().await? {
            let summary = store.load_demo(&source_document_cluster(), "demo").await?;
            store
                .load_demo_registrations(&source_document_rounds(), 7200)
                .await?;
            tracing::info!(?summary, "demo data loaded");
        } else {
            tracing::info!("database already has data; --demo loads nothing");
        }
    }
    if args.demo && store.user_count().await? == 0 {
        let password = new_secret("")?[..20].to_string();
        store
            .create_user(
                "admin",
                &hash_password(&password)?,
                Role::Admin,
                "demo",
                true,
            )
            .await?;
        println!(
            "demo login: user admin, password {password} (shown once; change it on the Users page)"
        );
    }
    let app = App::new(store.clone());
    crate::app::dns::log_publishing_problems(&app).await?;
    let state = crate::web::AppState::with_config(
        app.clone(),
        crate::web::WebConfig {
            secure_cookies: args.secure_cookies,
            idle_timeout: time::Duration::minutes(args.session_idle_minutes.max(1).into()),
        },
    );
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    if store.user_count().await? == 0 {
        let token = new_secret("")?;
        state.set_setup_token(Some(token.clone()));
        println!(
            "no user exists yet: create the first administrator at http://{addr}/setup?token={token}"
        );
    }
    let jobs = [
        tokio::spawn(crate::jobs::checkpoint_wal(app.clone())),
        tokio::spawn(crate::jobs::purge_sessions(app.clone())),
        tokio::spawn(crate::jobs::background_dns_check(app.clone())),
        tokio::spawn(crate::jobs::track_alerts(app.clone())),
        tokio::spawn(crate::jobs::keep_views_warm(app.clone())),
    ];
    let router = crate::web::router(state);
    println!("pbx-pools listening on http://{addr}");
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    // The jobs stop before the store closes: one caught mid-work would otherwise log its
    // queries failing on the closed pool (its transaction is rolled back either way). `abort`
    // only asks; a job running on another worker thread stops at its next await, so each is
    // awaited (the load bench's log showed "recording alert transitions failed" at every stop).
    for job in &jobs {
        job.abort();
    }
    for job in jobs {
        let _stopped = job.await;
    }
    app.settle().await;
    store.close().await;
    Ok(())
}

/// A Unix time for the terminal, in UTC.
fn utc_time(at: i64) -> String {
    jiff::Timestamp::from_second(at)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
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
    let (cluster, rounds, age) = match args.tenants {
        None => (source_document_cluster(), source_document_rounds(), 7200),
        Some(tenants) => {
            let (min_phones, max_phones) = parse_phone_range(&args.phones_per_tenant)?;
            let cluster = generate_cluster(GeneratorSpec {
                tenants,
                servers: args.servers,
                min_phones,
                max_phones,
                seed: args.seed,
            });
            let rounds = vec![generated_registrations(&cluster, args.seed)];
            (cluster, rounds, 0)
        }
    };
    let store = Store::open(&args.db.database_url).await?;
    let summary = store.load_demo(&cluster, "demo").await?;
    let contacts = store.load_demo_registrations(&rounds, age).await?;
    println!("stored {contacts} demo registrations");
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
