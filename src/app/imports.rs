//! CSV imports of tenants and servers: a dry run that says, line by line, what would be created,
//! changed or refused and why; then the apply, all of it or nothing, as a background job.

use std::collections::HashMap;

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
    fn store<'a>(
        store: &'a Store,
        rows: &'a [Self],
        actor: &'a str,
        progress: &'a (dyn Fn(usize) + Send + Sync),
    ) -> StoreImport<'a>;
}

impl Importable for NewTenant {
    const LABEL: &'static str = "Tenant import";
    const KIND: &'static str = "import-tenants";
    const NEXT: &'static str = "/tenants";
    fn store<'a>(
        store: &'a Store,
        rows: &'a [Self],
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
    fn store<'a>(
        store: &'a Store,
        rows: &'a [Self],
        actor: &'a str,
        progress: &'a (dyn Fn(usize) + Send + Sync),
    ) -> StoreImport<'a> {
        Box::pin(store.import_servers(rows, actor, progress))
    }
}

/// The dry run of a tenants CSV against the stored tenants and pools; `Err` when the text is not
/// a CSV with the expected header.
pub async fn tenants(app: &App, text: &str) -> Result<Result<DryRun<NewTenant>, String>> {
    let pools: HashMap<String, PoolId> = app
        .store()
        .pools()
        .await?
        .into_iter()
        .map(|p| (p.name.into_string(), p.id))
        .collect();
    let existing = app.store().all_tenants().await?;
    Ok(tenants_dry_run(text, &existing, &pools))
}

/// The dry run of a servers CSV against the stored servers.
pub async fn servers(app: &App, text: &str) -> Result<Result<DryRun<NewServer>, String>> {
    let existing = app.store().servers().await?;
    Ok(servers_dry_run(text, &existing))
}

/// Starts applying `rows` in the background (one transaction) as a job of `actor` and returns
/// the job's id, once any instance can show it.
pub async fn start<T: Importable>(app: &App, rows: Vec<T>, actor: String) -> Result<String> {
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
