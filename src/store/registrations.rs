//! Registration snapshots: what a report leaves (the snapshot, the phones, their moves, the
//! maintained counts) as the pages read it, the ingest's policy and summary, and the helpers the
//! store's set-based statements share. The ingest itself, which replaces a server's picture in
//! one transaction and maintains those counts right there, is [`super::ingest`].

use crate::domain::ids::{PoolId, ServerId, TenantId};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store};
use crate::domain::registrations::TenantMatcher;

/// Newest ids of the audit log, snapshots and DNS checks: it moves with every change.
/// The data version: a counter every committed change of inventory, settings, registrations or
/// DNS checks moves (by trigger, in commit order; migration 0008). Views computed from the data
/// are cached under it.
pub type DataVersion = i64;

/// Ids per `IN (…)` list written into a statement.
pub(super) const ID_CHUNK: usize = 5_000;

/// `1,2,3`: a list of integers for an `IN (…)`. Only ever given integers read from the
/// database, never input.
pub(super) fn id_list(ids: impl Iterator<Item = i64>) -> String {
    let mut out = String::new();
    for (i, id) in ids.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&id.to_string());
    }
    out
}

/// A JSON parameter; serialising these plain rows cannot fail, but the cause is kept if it does.
pub(super) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| super::Error::Database(sqlx::Error::Encode(e.into())))
}

/// How a snapshot is read and kept: the tenant rule, when a silence counts as a gap in the
/// server's reports, and how long history is kept.
#[derive(Debug, Clone)]
pub struct IngestPolicy {
    pub matcher: TenantMatcher,
    pub stale_after_secs: i64,
    pub retention_secs: i64,
}

impl IngestPolicy {
    pub fn from_settings(s: &crate::domain::settings::Settings) -> Self {
        Self {
            matcher: s.matcher(),
            stale_after_secs: s.alerts.stale_after_secs,
            retention_secs: s.retention_secs(),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IngestSummary {
    pub snapshot_id: i64,
    pub contacts: u64,
    pub registered: u64,
    pub matched: u64,
    pub unmatched: u64,
    pub moves: u64,
    /// Stored contacts written (added or removed): 0 for a report identical to the last one.
    pub written: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub id: i64,
    pub server_id: ServerId,
    pub received_at: i64,
    pub format: String,
    pub contacts: i64,
    pub registered: i64,
    pub unmatched: i64,
    pub actor: String,
}

pub(super) fn snapshot_from_row(r: &AnyRow) -> Result<Snapshot, sqlx::Error> {
    Ok(Snapshot {
        id: r.try_get("id")?,
        server_id: r.try_get("server_id")?,
        received_at: r.try_get("received_at")?,
        format: r.try_get("format")?,
        contacts: r.try_get("contacts")?,
        registered: r.try_get("registered")?,
        unmatched: r.try_get("unmatched")?,
        actor: r.try_get("actor")?,
    })
}

/// One registered contact, as the tenant and server pages list them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PhoneRow {
    pub endpoint: String,
    pub server_id: ServerId,
    pub server: String,
    pub tenant_id: Option<TenantId>,
    pub contact: String,
    pub user_agent: Option<String>,
    pub status: String,
    /// Since when the phone is on this server.
    pub since: Option<i64>,
}

pub(super) fn phone_from_row(r: &AnyRow) -> Result<PhoneRow, sqlx::Error> {
    Ok(PhoneRow {
        endpoint: r.try_get("endpoint")?,
        server_id: r.try_get("server_id")?,
        server: r.try_get("server_name")?,
        tenant_id: r.try_get("tenant_id")?,
        contact: r.try_get("contact")?,
        user_agent: r.try_get("user_agent")?,
        status: r.try_get("status")?,
        since: r.try_get("since")?,
    })
}

/// An endpoint registered on more than one server: it counts on `counted_on`, where its
/// registered contact arrived last.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ListedTwice {
    pub endpoint: String,
    pub counted_on: String,
    /// The other servers still listing it (by newest contact first).
    pub also_on: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhoneMove {
    pub endpoint_key: String,
    pub tenant_id: Option<TenantId>,
    pub from_server_id: Option<ServerId>,
    pub to_server_id: Option<ServerId>,
    pub at: i64,
}

pub(super) const PHONE_SELECT: &str = "SELECT r.endpoint, r.server_id, s.name AS server_name, r.tenant_id, r.contact, r.user_agent, r.status, p.since \
     FROM registrations r JOIN servers s ON s.id = r.server_id \
     LEFT JOIN phones p ON p.endpoint_key = r.endpoint_key AND p.server_id = r.server_id";

/// When a server last reported, and since when it has been reporting without a gap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportTimes {
    pub last_report_at: Option<i64>,
    pub reporting_since: Option<i64>,
}

/// Registered phones of one tenant on one server (maintained at ingest).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TenantServerCount {
    pub tenant_id: TenantId,
    pub server_id: ServerId,
    pub phones: u64,
}

/// Registered phones of one pool's tenants on one server; `pool_id` is `None` for unplaced
/// tenants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolServerCount {
    pub pool_id: Option<PoolId>,
    pub server_id: ServerId,
    pub phones: u64,
}

/// A tenant's registered phones on one server, as the server page lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantPhones {
    pub tenant_id: TenantId,
    pub code: String,
    pub pool_id: Option<PoolId>,
    pub phones: u64,
}

/// Phones of one tenant and user agent away on one server (see `Store::away_groups`).
#[derive(Debug, Clone, PartialEq)]
pub struct AwayGroup {
    pub tenant: String,
    pub user_agent: Option<String>,
    pub phones: u64,
    pub since: Option<i64>,
    pub example: String,
}

/// A phone that changed servers often in a window: its moves and the servers involved.
#[derive(Debug, Clone, PartialEq)]
pub struct FlappingMoves {
    pub endpoint: String,
    pub tenant_id: Option<TenantId>,
    pub moves: u32,
    pub server_ids: Vec<ServerId>,
}

impl Store {
    /// Test and demo support: shifts every recorded time back by `secs`, as if the history
    /// had happened that much earlier.
    pub async fn age_history(&self, server_id: Option<ServerId>, secs: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let (filter, id) = match server_id {
            Some(id) => ("WHERE server_id = $2", id),
            None => ("WHERE $2 = $2", ServerId::new(0)),
        };
        for (table, col) in [("snapshots", "received_at"), ("phones", "since")] {
            sqlx::query(&format!("UPDATE {table} SET {col} = {col} - $1 {filter}"))
                .bind(secs)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let sfilter = if server_id.is_some() {
            "WHERE id = $2"
        } else {
            "WHERE $2 = $2"
        };
        sqlx::query(&format!(
            "UPDATE servers SET last_report_at = last_report_at - $1, reporting_since = reporting_since - $1 {sfilter}"
        ))
        .bind(secs)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let mfilter = if server_id.is_some() {
            "WHERE to_server_id = $2"
        } else {
            "WHERE $2 = $2"
        };
        sqlx::query(&format!("UPDATE phone_moves SET at = at - $1 {mfilter}"))
            .bind(secs)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        super::series::age(&mut tx, server_id, secs).await?;
        tx.commit().await?;
        Ok(())
    }
}
