//! CSV imports of tenants and servers: a dry run that says, line by line, what would be created,
//! changed or refused and why; then the apply, all of it or nothing, as a background job.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::{App, Error, Result, jobs};
use crate::domain::csvio::{DryRun, servers_dry_run, tenants_dry_run};
use crate::domain::ids::PoolId;
use crate::domain::model::{NewServer, NewTenant};
use crate::store::Store;

/// The store's import of a batch: (created, changed).
type StoreImport<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = crate::store::Result<(u64, u64)>> + Send + 'a>,
>;

/// Rows an import can store, and where its job leads afterwards.
pub trait Importable: Sized + Send + Sync + 'static {
    const LABEL: &'static str;
    /// The job's kind, for the log.
    const KIND: &'static str;
    const NEXT: &'static str;
    /// What rows are matched by, as the store compares it (lower case).
    fn key(&self) -> String;
    fn store<'a>(
        store: &'a Store,
        rows: &'a [(Self, Option<i64>)],
        actor: &'a str,
        progress: &'a (dyn Fn(usize) + Send + Sync),
    ) -> StoreImport<'a>;
}

impl Importable for NewTenant {
    const LABEL: &'static str = "Tenant import";
    const KIND: &'static str = "import-tenants";
    const NEXT: &'static str = "/tenants";
    fn key(&self) -> String {
        self.code.to_lowercase()
    }
    fn store<'a>(
        store: &'a Store,
        rows: &'a [(Self, Option<i64>)],
        actor: &'a str,
        progress: &'a (dyn Fn(usize) + Send + Sync),
    ) -> StoreImport<'a> {
        Box::pin(store.import_tenants(rows, actor, progress))
    }
}

impl Importable for NewServer {
    const LABEL: &'static str = "Server import";
    const KIND: &'static str = "import-servers";
    const NEXT: &'static str = "/servers";
    fn key(&self) -> String {
        self.name.to_string()
    }
    fn store<'a>(
        store: &'a Store,
        rows: &'a [(Self, Option<i64>)],
        actor: &'a str,
        progress: &'a (dyn Fn(usize) + Send + Sync),
    ) -> StoreImport<'a> {
        Box::pin(store.import_servers(rows, actor, progress))
    }
}

/// The version of each stored row a dry run was computed against, by key; `None` for a line that
/// creates its row. The dry-run page carries it to the apply, which refuses the whole import
/// when any of those rows changed in between (a lost update otherwise), and the store writes
/// each row only at that version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basis(pub BTreeMap<String, Option<i64>>);

/// A dry run and the stored versions it read.
pub struct Prepared<T> {
    pub dry: DryRun<T>,
    pub basis: Basis,
}

fn prepared<T: Importable>(dry: DryRun<T>, versions: &HashMap<String, i64>) -> Prepared<T> {
    let basis = Basis(
        dry.lines
            .iter()
            .filter_map(|l| l.row.as_ref())
            .map(|row| {
                let key = row.key();
                let version = versions.get(&key).copied();
                (key, version)
            })
            .collect(),
    );
    Prepared { dry, basis }
}

impl Basis {
    /// Refuses the apply when a row the admin's dry run read has changed, appeared or gone
    /// since: nothing is imported, and the message names the rows.
    pub fn check_unchanged_since(&self, seen: &Basis) -> Result<()> {
        let changed: Vec<&str> = self
            .0
            .keys()
            .chain(seen.0.keys())
            .filter(|k| self.0.get(*k) != seen.0.get(*k))
            .map(String::as_str)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        Err(Error::Conflict(format!(
            "since the dry run, someone changed {}; nothing was imported — run the dry run again",
            changed.join(", ")
        )))
    }

    /// The rows of the dry run with the version each must still have when written.
    pub fn rows<T: Importable>(&self, dry: DryRun<T>) -> Vec<(T, Option<i64>)> {
        dry.lines
            .into_iter()
            .filter_map(|l| l.row)
            .map(|row| {
                let version = self.0.get(&row.key()).copied().flatten();
                (row, version)
            })
            .collect()
    }
}

/// The dry run of a tenants CSV against the stored tenants and pools; `Err` when the text is not
/// a CSV with the expected header.
pub async fn tenants(app: &App, text: &str) -> Result<Result<Prepared<NewTenant>, String>> {
    let pools: HashMap<String, PoolId> = app
        .store()
        .pools()
        .await?
        .into_iter()
        .map(|p| (p.name.into_string(), p.id))
        .collect();
    let existing = app.store().all_tenants().await?;
    let versions: HashMap<String, i64> = existing
        .iter()
        .map(|t| (t.code.to_lowercase(), t.version))
        .collect();
    Ok(tenants_dry_run(text, &existing, &pools).map(|dry| prepared(dry, &versions)))
}

/// The dry run of a servers CSV against the stored servers.
pub async fn servers(app: &App, text: &str) -> Result<Result<Prepared<NewServer>, String>> {
    let existing = app.store().servers().await?;
    let versions: HashMap<String, i64> = existing
        .iter()
        .map(|s| (s.name.to_string(), s.version))
        .collect();
    Ok(servers_dry_run(text, &existing).map(|dry| prepared(dry, &versions)))
}

/// Starts applying `rows` in the background (one transaction) as a job of `actor` and returns
/// the job's id, once any instance can show it.
pub async fn start<T: Importable>(
    app: &App,
    rows: Vec<(T, Option<i64>)>,
    actor: String,
) -> Result<String> {
    let spec = jobs::Spec {
        kind: T::KIND,
        title: T::LABEL.into(),
        total: rows.len() as u64,
        next: T::NEXT.into(),
        owner: actor.clone(),
    };
    let store = app.store().clone();
    jobs::spawn(app, spec, move |progress| async move {
        let outcome = T::store(&store, &rows, &actor, &|i| progress.set(i as u64)).await;
        match outcome.map_err(Error::from) {
            Ok((c, u)) => Ok(format!("{}: {c} created, {u} changed.", T::LABEL)),
            // A storage failure keeps its cause for the log; its owner reads only that it
            // failed, as on any page.
            Err(Error::Store(cause)) => {
                tracing::error!(kind = T::KIND, %actor, error = %cause, "an import failed");
                Err("The database failed (the log says why).".into())
            }
            Err(e) => Err(e.to_string()),
        }
    })
    .await
}
