//! Changes to the inventory (servers, pools and their members, tenants) and the settings. Each
//! is one audited transaction in the store, refused when the admin's version is stale; the
//! data version it moves tells every instance that its cached cluster view is out of date.
//!
//! Plain reads of the inventory go to the store directly ([`App::store`]): they involve no rule.

use super::{App, Result};
use crate::domain::ids::{PoolId, ServerId, TenantId};
use crate::domain::model::{NewMember, NewPool, NewServer, NewTenant, Pool, Server, Tenant};
use crate::domain::settings::Settings;

/// Runs one store write, its error as the application's. (Readers see the change through the
/// data version the store's triggers move.)
async fn write<T>(change: impl Future<Output = crate::store::Result<T>>) -> Result<T> {
    Ok(change.await?)
}

pub async fn create_server(app: &App, new: &NewServer, actor: &str) -> Result<Server> {
    write(app.store().create_server(new, actor)).await
}

pub async fn update_server(
    app: &App,
    id: ServerId,
    version: i64,
    new: &NewServer,
    actor: &str,
) -> Result<Server> {
    write(app.store().update_server(id, version, new, actor)).await
}

pub async fn delete_server(app: &App, id: ServerId, version: i64, actor: &str) -> Result<()> {
    write(app.store().delete_server(id, version, actor)).await
}

pub async fn create_pool(app: &App, new: &NewPool, actor: &str) -> Result<Pool> {
    write(app.store().create_pool(new, actor)).await
}

pub async fn update_pool(
    app: &App,
    id: PoolId,
    version: i64,
    new: &NewPool,
    actor: &str,
) -> Result<Pool> {
    write(app.store().update_pool(id, version, new, actor)).await
}

/// Replaces a pool's whole member list (its SRV records).
pub async fn replace_members(
    app: &App,
    id: PoolId,
    version: i64,
    members: &[NewMember],
    actor: &str,
) -> Result<Pool> {
    write(app.store().replace_members(id, version, members, actor)).await
}

/// Records that the pool's new records are published (for a zone the DNS check cannot see):
/// the pool waits for the old records' TTL from now on.
pub async fn mark_pool_published(app: &App, id: PoolId, actor: &str) -> Result<()> {
    write(app.store().mark_pool_published(id, actor)).await
}

pub async fn delete_pool(app: &App, id: PoolId, version: i64, actor: &str) -> Result<()> {
    write(app.store().delete_pool(id, version, actor)).await
}

pub async fn create_tenant(app: &App, new: &NewTenant, actor: &str) -> Result<Tenant> {
    write(app.store().create_tenant(new, actor)).await
}

pub async fn update_tenant(
    app: &App,
    id: TenantId,
    version: i64,
    new: &NewTenant,
    actor: &str,
) -> Result<Tenant> {
    write(app.store().update_tenant(id, version, new, actor)).await
}

pub async fn delete_tenant(app: &App, id: TenantId, version: i64, actor: &str) -> Result<()> {
    write(app.store().delete_tenant(id, version, actor)).await
}

/// Saves the settings document; returns its new version.
pub async fn save_settings(
    app: &App,
    settings: &Settings,
    version: i64,
    actor: &str,
) -> Result<i64> {
    write(app.store().save_settings(settings, version, actor)).await
}
