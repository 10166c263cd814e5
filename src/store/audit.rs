//! The audit log: one row per change, written in the same transaction as the change itself.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row, Transaction};

use super::{Bind, Result, Store, now};

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub object_kind: String,
    pub object_name: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub object_kind: Option<String>,
    pub object_name: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub page: u32,
    pub per_page: u32,
}

/// An audited write: a write transaction ([`Store::begin_write`]) that carries its actor and
/// records the audit entries of its changes in the same transaction, so a change and its entry
/// are committed together or not at all. It dereferences to the connection, so statements run
/// on it as on a plain transaction (`.execute(&mut *tx)`); dropping it uncommitted rolls back.
pub(super) struct AuditedTx {
    tx: Transaction<'static, Any>,
    actor: String,
}

impl std::ops::Deref for AuditedTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for AuditedTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

impl AuditedTx {
    /// Records one change. `before`/`after` are JSON snapshots of the object's editable fields.
    pub(super) async fn record(
        &mut self,
        action: &str,
        object_kind: &str,
        object_name: &str,
        before: Option<String>,
        after: Option<String>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, object_kind, object_name, before, after) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(now())
        .bind(&self.actor)
        .bind(action)
        .bind(object_kind)
        .bind(object_name)
        .bind(before)
        .bind(after)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Who makes the change.
    pub(super) fn actor(&self) -> &str {
        &self.actor
    }

    /// Commits the changes together with their audit entries.
    pub(super) async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// Starts an audited write by `actor`: change, [`AuditedTx::record`], [`AuditedTx::commit`].
    pub(super) async fn audited(&self, actor: &str) -> Result<AuditedTx> {
        Ok(AuditedTx {
            tx: self.begin_write().await?,
            actor: actor.to_string(),
        })
    }
}

/// JSON snapshot of an object's editable fields for the audit log.
pub(super) fn snapshot<T: Serialize>(value: &T) -> Option<String> {
    serde_json::to_string(value).ok()
}

fn entry_from_row(r: &AnyRow) -> Result<AuditEntry, sqlx::Error> {
    Ok(AuditEntry {
        id: r.try_get("id")?,
        at: r.try_get("at")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        object_kind: r.try_get("object_kind")?,
        object_name: r.try_get("object_name")?,
        before: r.try_get("before")?,
        after: r.try_get("after")?,
    })
}

impl Store {
    /// Newest first, filtered; returns the page and the total number of matching entries.
    pub async fn audit_entries(&self, q: &AuditQuery) -> Result<(Vec<AuditEntry>, u64)> {
        let mut clauses = Vec::new();
        let mut binds: Vec<Bind> = Vec::new();
        if let Some(a) = q.actor.as_deref().filter(|s| !s.is_empty()) {
            binds.push(Bind::Text(a.to_string()));
            clauses.push(format!("actor = ${}", binds.len()));
        }
        if let Some(k) = q.object_kind.as_deref().filter(|s| !s.is_empty()) {
            binds.push(Bind::Text(k.to_string()));
            clauses.push(format!("object_kind = ${}", binds.len()));
        }
        if let Some(n) = q.object_name.as_deref().filter(|s| !s.is_empty()) {
            binds.push(Bind::Text(n.to_string()));
            clauses.push(format!("object_name = ${}", binds.len()));
        }
        if let Some(s) = q.since {
            binds.push(Bind::Int(s));
            clauses.push(format!("at >= ${}", binds.len()));
        }
        if let Some(u) = q.until {
            binds.push(Bind::Int(u));
            clauses.push(format!("at < ${}", binds.len()));
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let count_sql = format!("SELECT COUNT(*) AS n FROM audit_log {filter}");
        let mut count = sqlx::query(&count_sql);
        for b in &binds {
            count = b.bind(count);
        }
        let total: i64 = count.fetch_one(&self.pool).await?.try_get("n")?;
        let per_page = q.per_page.clamp(1, 500);
        let offset = q.page.saturating_sub(1) as i64 * per_page as i64;
        let sql = format!(
            "SELECT * FROM audit_log {filter} ORDER BY id DESC LIMIT {per_page} OFFSET {offset}"
        );
        let mut query = sqlx::query(&sql);
        for b in &binds {
            query = b.bind(query);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let entries = rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((entries, total as u64))
    }
}
