//! The use cases of pbx-pools: what the web pages, the JSON API, the command line and the
//! background jobs ask for, each implemented once here.
//!
//! - [`cluster`]: the cluster view (per-server and per-pool phones, homes, projections) and the
//!   alerts, cached per data version;
//! - [`tenants`]: where a tenant's phones are, which tenants a server carries, assignment and
//!   bulk assignment;
//! - [`plan`]: compute and apply a rebalance plan;
//! - [`dns`]: run the live DNS check, render an export, import a zone file;
//! - [`ingest`]: store a server's registration report;
//! - [`imports`]: CSV imports of tenants and servers as background jobs ([`jobs`]), which any
//!   instance on the database can show;
//! - [`accounts`]: logging in and checking a current password, under the throttle on guessing;
//! - [`alert_log`]: silences, acknowledgements and the history of alerts, and the tracker that
//!   records transitions and delivers them to the webhook.
//!
//! May import: [`crate::domain`] (the rules), [`crate::store`] (persistence) and
//! [`crate::dnscheck`] (DNS lookups); never the HTTP framework or anything of the web layer.
//! Callers hold an [`App`], which is cheap to clone. Writes go through the use cases; a reader
//! that wrote passes the data version it saw ([`cache::Seen`]) so that the cached view it gets
//! includes its change. Plain reads with no rule of their own (an inventory list,
//! a user) may go to [`App::store`] directly.

pub mod accounts;
pub mod alert_log;
pub mod cache;
pub mod charts;
pub mod cluster;
pub mod dns;
mod error;
pub mod impact;
pub mod imports;
pub mod ingest;
pub mod inventory;
pub mod jobs;
pub mod moves;
pub mod plan;
pub mod search;
pub mod tenant_book;
pub mod tenants;
mod webhook;
pub mod whatif;

pub use cache::Seen;
pub use error::{Error, Result, chain};

use std::sync::Arc;

use crate::store::Store;

/// The application: the store and what is cached over it. Clones share the caches.
#[derive(Clone)]
pub struct App {
    store: Store,
    shared: Arc<Shared>,
}

struct Shared {
    /// The cluster view and the alerts of the newest data version (see [`cache`]).
    view: cache::Slot<cluster::ClusterView>,
    alerts: cache::Slot<crate::domain::alerts::AlertBook>,
    /// Silences, acknowledgements and raised-since times over the alerts (see [`alert_log`]).
    overlay: cache::Slot<alert_log::AlertOverlay>,
    /// The overview's charts, one slot per range (see [`charts::overview`]).
    charts: [cache::Slot<(String, String)>; 4],
    /// Every tenant with its phones, patched per change (see [`tenant_book`]).
    book: tokio::sync::Mutex<Option<tenant_book::KeptBook>>,
    /// This instance, as the jobs it runs name it (see [`jobs`]): the process and a random
    /// part, so that a restarted process is another instance.
    instance: String,
}

impl App {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            shared: Arc::new(Shared {
                view: cache::Slot::default(),
                alerts: cache::Slot::default(),
                overlay: cache::Slot::default(),
                charts: Default::default(),
                book: tokio::sync::Mutex::new(None),
                instance: instance_name(),
            }),
        }
    }

    /// The store, for reads and writes that involve no rule of their own (an inventory list, a
    /// user's record). Every SQL statement still lives in [`crate::store`].
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Waits for the cached values' background rebuilds in progress: `serve` calls it, after
    /// the server and the jobs stopped, before it closes the store. A rebuild is a task of its
    /// own that a request started; caught by the close it logged "background rebuild failed:
    /// the database failed" (the load bench's server log, at a restart).
    pub async fn settle(&self) {
        let s = &self.shared;
        s.view.settled().await;
        s.alerts.settled().await;
        s.overlay.settled().await;
        for slot in &s.charts {
            slot.settled().await;
        }
    }
}

fn instance_name() -> String {
    let random = crate::domain::auth::new_secret("")
        .map(|s| s[..8].to_string())
        .unwrap_or_else(|_| format!("{:08x}", fastrand::u32(..)));
    format!("pid{}-{random}", std::process::id())
}
