//! Typed configuration from flags and environment variables (each flag has a `PBX_POOLS_*` twin).

use clap::Args;
use std::net::SocketAddr;

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database: a SQLite file path or sqlite:// URL (created when missing), or postgres://…
    #[arg(long, env = "PBX_POOLS_DATABASE_URL", default_value = "pbx-pools.db")]
    pub database_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Address and port to listen on.
    #[arg(long, env = "PBX_POOLS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Load the source document's demo cluster when the database is empty, and create the
    /// user `admin` with a random password printed once.
    #[arg(long, env = "PBX_POOLS_DEMO")]
    pub demo: bool,
    /// Mark the session cookie Secure: set this when users reach the dashboard over HTTPS.
    #[arg(long, env = "PBX_POOLS_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Minutes of inactivity after which a session ends (sessions also end 12 hours after login).
    #[arg(long, env = "PBX_POOLS_SESSION_IDLE_MINUTES", default_value_t = 120)]
    pub session_idle_minutes: u32,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Generate this many tenants instead of the source document's dozen.
    #[arg(long, env = "PBX_POOLS_DEMO_TENANTS")]
    pub tenants: Option<u32>,
    /// Servers of the generated cluster (paired: voip1+voip2, voip3+voip4, …).
    #[arg(long, env = "PBX_POOLS_DEMO_SERVERS", default_value_t = 4)]
    pub servers: u32,
    /// Phones per generated tenant, as LOW-HIGH; sizes are skewed towards LOW.
    #[arg(
        long,
        env = "PBX_POOLS_DEMO_PHONES_PER_TENANT",
        default_value = "2-180"
    )]
    pub phones_per_tenant: String,
    /// Seed of the generator: the same seed gives the same cluster.
    #[arg(long, env = "PBX_POOLS_DEMO_SEED", default_value_t = 1)]
    pub seed: u64,
}
