//! CSV imports applied in one transaction: every line or none.

use super::audit::snapshot;
use sqlx::Row;

use super::{Error, Result, ResultExt, Store, now};
use crate::domain::ids::{PoolId, TenantId};
use crate::domain::model::{NewServer, NewTenant};

impl Store {
    /// Creates or updates tenants by code (case-insensitive), all or nothing. Each row comes with
    /// the version the dry run saw (`None`: it did not exist); a row changed, created or deleted
    /// since refuses the whole import.
    pub async fn import_tenants(
        &self,
        rows: &[(NewTenant, Option<i64>)],
        actor: &str,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<(u64, u64)> {
        let mut tx = self.audited(actor).await?;
        let at = now();
        let (mut created, mut changed) = (0, 0);
        for (i, (t, seen)) in rows.iter().enumerate() {
            progress(i);
            if let Some(seen) = seen {
                let now = current_version(
                    &mut tx,
                    self.backend,
                    "tenants",
                    "code_key",
                    &t.code.to_lowercase(),
                )
                .await?;
                if now != Some(*seen) {
                    return Err(stale("tenant", &t.code));
                }
            }
            // The pool before, to start or end the tenant's move when the import changes it.
            let prior: Option<(TenantId, Option<PoolId>)> =
                sqlx::query("SELECT id, pool_id FROM tenants WHERE code_key = $1")
                    .bind(t.code.to_lowercase())
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| Ok::<_, sqlx::Error>((r.try_get("id")?, r.try_get("pool_id")?)))
                    .transpose()?;
            let updated = sqlx::query(
                "UPDATE tenants SET code = $1, name = $2, expected_phones = $3, pool_id = $4, notes = $5, \
                 version = version + 1, updated_at = $6, updated_by = $7 \
                 WHERE code_key = $8 AND (code <> $1 OR name <> $2 OR expected_phones <> $3 OR notes <> $5 \
                 OR COALESCE(pool_id, -1) <> COALESCE($4, -1))",
            )
            .bind(&t.code)
            .bind(&t.name)
            .bind(t.expected_phones as i64)
            .bind(t.pool_id)
            .bind(&t.notes)
            .bind(at)
            .bind(actor)
            .bind(t.code.to_lowercase())
            .execute(&mut *tx)
            .await
            .on_foreign_key("file", || format!("tenant {}: its pool no longer exists", t.code))?
            .rows_affected();
            if updated > 0 {
                if let Some((id, before)) = prior {
                    super::moves::pool_changed(&mut tx, id, &t.code, before, t.pool_id).await?;
                }
                changed += 1;
                tx.record("import", "tenant", &t.code, None, snapshot(t))
                    .await?;
                continue;
            }
            if seen.is_some() {
                continue; // unchanged
            }
            let inserted = sqlx::query(
                "INSERT INTO tenants (code, code_key, name, expected_phones, pool_id, notes, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (code_key) DO NOTHING",
            )
            .bind(&t.code)
            .bind(t.code.to_lowercase())
            .bind(&t.name)
            .bind(t.expected_phones as i64)
            .bind(t.pool_id)
            .bind(&t.notes)
            .bind(at)
            .bind(actor)
            .execute(&mut *tx)
            .await
            .on_foreign_key("file", || format!("tenant {}: its pool no longer exists", t.code))?
            .rows_affected();
            if inserted == 0 {
                return Err(stale("tenant", &t.code));
            }
            created += 1;
            tx.record("import", "tenant", &t.code, None, snapshot(t))
                .await?;
        }
        tx.commit().await?;
        Ok((created, changed))
    }

    /// Creates or updates servers by name, all or nothing, each at the version the dry run saw
    /// (as [`Store::import_tenants`]).
    pub async fn import_servers(
        &self,
        rows: &[(NewServer, Option<i64>)],
        actor: &str,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<(u64, u64)> {
        let mut tx = self.audited(actor).await?;
        let at = now();
        let (mut created, mut changed) = (0, 0);
        for (i, (s, seen)) in rows.iter().enumerate() {
            progress(i);
            if let Some(seen) = seen {
                let now =
                    current_version(&mut tx, self.backend, "servers", "name", &s.name).await?;
                if now != Some(*seen) {
                    return Err(stale("server", &s.name));
                }
            }
            let updated = sqlx::query(
                "UPDATE servers SET host = $1, sip_port = $2, capacity = $3, site = $4, state = $5, \
                 version = version + 1, updated_at = $6, updated_by = $7 WHERE name = $8 \
                 AND (host <> $1 OR sip_port <> $2 OR COALESCE(capacity, -1) <> COALESCE($3, -1) \
                 OR COALESCE(site, '') <> COALESCE($4, '') OR state <> $5)",
            )
            .bind(&s.host)
            .bind(s.sip_port as i64)
            .bind(s.capacity.map(i64::from))
            .bind(s.site.as_deref())
            .bind(s.state.as_str())
            .bind(at)
            .bind(actor)
            .bind(&s.name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated > 0 {
                changed += 1;
                tx.record("import", "server", &s.name, None, snapshot(s))
                    .await?;
                continue;
            }
            if seen.is_some() {
                continue; // unchanged
            }
            let inserted = sqlx::query(
                "INSERT INTO servers (name, host, sip_port, capacity, site, state, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO NOTHING",
            )
            .bind(&s.name)
            .bind(&s.host)
            .bind(s.sip_port as i64)
            .bind(s.capacity.map(i64::from))
            .bind(s.site.as_deref())
            .bind(s.state.as_str())
            .bind(at)
            .bind(actor)
            .execute(&mut *tx)
            .await
            .on_unique("servers_name_key", "servers.name", "file", || {
                format!("server {} clashes with another", s.name)
            })?
            .rows_affected();
            if inserted == 0 {
                return Err(stale("server", &s.name));
            }
            created += 1;
            tx.record("import", "server", &s.name, None, snapshot(s))
                .await?;
        }
        tx.commit().await?;
        Ok((created, changed))
    }
}

/// The version of the row whose `column` is `key`, locked for the rest of the transaction
/// (PostgreSQL; SQLite's write transaction already excludes other writers).
async fn current_version(
    tx: &mut super::audit::AuditedTx,
    backend: super::Backend,
    table: &str,
    column: &str,
    key: &str,
) -> Result<Option<i64>> {
    let lock = if backend == super::Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let row = sqlx::query(&format!(
        "SELECT version FROM {table} WHERE {column} = $1{lock}"
    ))
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| r.try_get("version")).transpose()?)
}

fn stale(kind: &str, key: &str) -> Error {
    Error::Conflict(format!(
        "{kind} {key} was changed, created or deleted by someone else since the dry run; nothing was imported — run the dry run again"
    ))
}
