//! Tenants and their pool assignment, including the bulk assignment of many tenants at once.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{Bind, record, snapshot};
use super::{Error, Result, Store, get_u32, now, stale_message, unique_violation};
use crate::domain::FieldErrors;
use crate::domain::model::{NewTenant, Tenant};

const TENANT_SELECT: &str = "SELECT t.*, p.name AS pool_name FROM tenants t \
     LEFT JOIN pools p ON p.id = t.pool_id";

fn tenant_from_row(r: &AnyRow) -> Result<Tenant, sqlx::Error> {
    Ok(Tenant {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        expected_phones: get_u32(r, "expected_phones")?,
        pool_id: r.try_get("pool_id")?,
        pool_name: r.try_get("pool_name")?,
        notes: r.try_get("notes")?,
        version: r.try_get("version")?,
        updated_at: r.try_get("updated_at")?,
        updated_by: r.try_get("updated_by")?,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoolFilter {
    #[default]
    Any,
    Unplaced,
    Pool(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TenantSort {
    #[default]
    Code,
    Name,
    Phones,
    Pool,
}

impl TenantSort {
    pub fn parse(s: &str) -> Self {
        match s {
            "name" => Self::Name,
            "phones" => Self::Phones,
            "pool" => Self::Pool,
            _ => Self::Code,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Name => "name",
            Self::Phones => "phones",
            Self::Pool => "pool",
        }
    }
    /// Whitelisted ORDER BY; the id tie-break keeps pages stable.
    fn order_by(self, desc: bool) -> String {
        let dir = if desc { "DESC" } else { "ASC" };
        match self {
            Self::Code => format!("t.code_key {dir}, t.id"),
            Self::Name => format!("t.name {dir}, t.id"),
            Self::Phones => format!("t.expected_phones {dir}, t.id"),
            Self::Pool => format!("p.name {dir}, t.code_key, t.id"),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct TenantQuery {
    /// Substring of the code or the name, without regard to case.
    pub search: Option<String>,
    pub pool: PoolFilter,
    pub sort: TenantSort,
    pub desc: bool,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct TenantPage {
    pub rows: Vec<Tenant>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

impl TenantPage {
    pub fn pages(&self) -> u32 {
        (self.total.div_ceil(self.per_page.max(1) as u64)).max(1) as u32
    }
}

#[derive(Serialize)]
struct TenantSnapshot<'a> {
    code: &'a str,
    name: &'a str,
    expected_phones: u32,
    pool: Option<&'a str>,
    notes: &'a str,
}

fn tenant_snapshot(t: &Tenant) -> Option<String> {
    snapshot(&TenantSnapshot {
        code: &t.code,
        name: &t.name,
        expected_phones: t.expected_phones,
        pool: t.pool_name.as_deref(),
        notes: &t.notes,
    })
}

fn map_unique(e: sqlx::Error, code: &str) -> Error {
    if unique_violation(&e, "tenants_code_key", "tenants.code_key") {
        Error::Invalid(FieldErrors::single(
            "code",
            format!("a tenant with code {code:?} already exists (codes ignore case)"),
        ))
    } else if matches!(&e, sqlx::Error::Database(db) if db.is_foreign_key_violation()) {
        Error::Invalid(FieldErrors::single("pool", "that pool no longer exists"))
    } else {
        e.into()
    }
}

fn check_version(t: &Tenant, version: i64) -> Result<()> {
    if t.version != version {
        return Err(Error::Conflict(stale_message(
            "tenant",
            &t.code,
            &t.updated_by,
            t.updated_at,
            t.version,
        )));
    }
    Ok(())
}

async fn current_tenant(conn: &mut sqlx::AnyConnection, id: i64) -> Result<Tenant> {
    let row = sqlx::query(&format!("{TENANT_SELECT} WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::NotFound {
            kind: "tenant",
            name: id.to_string(),
        })?;
    Ok(tenant_from_row(&row)?)
}

impl Store {
    /// One page of tenants. Filtering and sorting happen in SQL on indexed columns, so a page
    /// costs the same at 10 or 10,000 tenants.
    pub async fn tenants(&self, q: &TenantQuery) -> Result<TenantPage> {
        let mut clauses = Vec::new();
        let mut binds = Vec::new();
        if let Some(s) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            // LIKE wildcards typed by the admin are matched literally.
            let escaped = s
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            binds.push(Bind::Text(format!("%{escaped}%")));
            let n = binds.len();
            clauses.push(format!(
                "(t.code_key LIKE ${n} ESCAPE '\\' OR lower(t.name) LIKE ${n} ESCAPE '\\')"
            ));
        }
        match q.pool {
            PoolFilter::Any => {}
            PoolFilter::Unplaced => clauses.push("t.pool_id IS NULL".into()),
            PoolFilter::Pool(id) => {
                binds.push(Bind::Int(id));
                clauses.push(format!("t.pool_id = ${}", binds.len()));
            }
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let count_sql = format!("SELECT COUNT(*) AS n FROM tenants t {filter}");
        let mut count = sqlx::query(&count_sql);
        for b in &binds {
            count = b.bind(count);
        }
        let total: i64 = count.fetch_one(&self.pool).await?.try_get("n")?;
        let per_page = q.per_page.clamp(1, 1000);
        let page = q.page.max(1);
        let offset = (page - 1) as i64 * per_page as i64;
        let sql = format!(
            "{TENANT_SELECT} {filter} ORDER BY {} LIMIT {per_page} OFFSET {offset}",
            q.sort.order_by(q.desc)
        );
        let mut query = sqlx::query(&sql);
        for b in &binds {
            query = b.bind(query);
        }
        let rows = query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(tenant_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TenantPage {
            rows,
            total: total as u64,
            page,
            per_page,
        })
    }

    pub async fn tenant(&self, id: i64) -> Result<Tenant> {
        let mut conn = self.pool.acquire().await?;
        current_tenant(&mut conn, id).await
    }

    pub async fn tenant_by_code(&self, code: &str) -> Result<Tenant> {
        let row = sqlx::query(&format!("{TENANT_SELECT} WHERE t.code_key = $1"))
            .bind(code.to_lowercase())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "tenant",
                name: code.to_string(),
            })?;
        Ok(tenant_from_row(&row)?)
    }

    pub async fn create_tenant(&self, t: &NewTenant, actor: &str) -> Result<Tenant> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO tenants (code, code_key, name, expected_phones, pool_id, notes, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&t.code)
        .bind(t.code.to_lowercase())
        .bind(&t.name)
        .bind(t.expected_phones as i64)
        .bind(t.pool_id)
        .bind(&t.notes)
        .bind(now())
        .bind(actor)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map_unique(e, &t.code))?
        .try_get("id")?;
        let after = current_tenant(&mut tx, id).await?;
        record(
            &mut tx,
            actor,
            "create",
            "tenant",
            &after.code,
            None,
            tenant_snapshot(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn update_tenant(
        &self,
        id: i64,
        version: i64,
        t: &NewTenant,
        actor: &str,
    ) -> Result<Tenant> {
        let mut tx = self.begin_write().await?;
        let before = current_tenant(&mut tx, id).await?;
        check_version(&before, version)?;
        sqlx::query(
            "UPDATE tenants SET code = $1, code_key = $2, name = $3, expected_phones = $4, pool_id = $5, \
             notes = $6, version = version + 1, updated_at = $7, updated_by = $8 WHERE id = $9",
        )
        .bind(&t.code)
        .bind(t.code.to_lowercase())
        .bind(&t.name)
        .bind(t.expected_phones as i64)
        .bind(t.pool_id)
        .bind(&t.notes)
        .bind(now())
        .bind(actor)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_unique(e, &t.code))?;
        let after = current_tenant(&mut tx, id).await?;
        record(
            &mut tx,
            actor,
            "update",
            "tenant",
            &after.code,
            tenant_snapshot(&before),
            tenant_snapshot(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Moves one tenant to `pool_id` (or unplaces it) if it is still at `version`.
    pub async fn assign_tenant(
        &self,
        id: i64,
        version: i64,
        pool_id: Option<i64>,
        actor: &str,
    ) -> Result<Tenant> {
        let mut tx = self.begin_write().await?;
        let before = current_tenant(&mut tx, id).await?;
        check_version(&before, version)?;
        sqlx::query(
            "UPDATE tenants SET pool_id = $1, version = version + 1, updated_at = $2, updated_by = $3 WHERE id = $4",
        )
        .bind(pool_id)
        .bind(now())
        .bind(actor)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_unique(e, &before.code))?;
        let after = current_tenant(&mut tx, id).await?;
        record(
            &mut tx,
            actor,
            "assign",
            "tenant",
            &after.code,
            tenant_snapshot(&before),
            tenant_snapshot(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Moves many tenants to one pool in a single transaction: all of them or none. Tenants
    /// already in the pool are left alone. Returns how many moved.
    pub async fn bulk_assign(&self, ids: &[i64], pool_id: Option<i64>, actor: &str) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        if let Some(pid) = pool_id {
            let exists = sqlx::query("SELECT id FROM pools WHERE id = $1")
                .bind(pid)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(Error::NotFound {
                    kind: "pool",
                    name: pid.to_string(),
                });
            }
        }
        let mut moved = 0;
        for &id in ids {
            let before = current_tenant(&mut tx, id).await?;
            if before.pool_id == pool_id {
                continue;
            }
            sqlx::query(
                "UPDATE tenants SET pool_id = $1, version = version + 1, updated_at = $2, updated_by = $3 WHERE id = $4",
            )
            .bind(pool_id)
            .bind(now())
            .bind(actor)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            let after = current_tenant(&mut tx, id).await?;
            record(
                &mut tx,
                actor,
                "bulk-assign",
                "tenant",
                &after.code,
                tenant_snapshot(&before),
                tenant_snapshot(&after),
            )
            .await?;
            moved += 1;
        }
        tx.commit().await?;
        Ok(moved)
    }

    pub async fn delete_tenant(&self, id: i64, version: i64, actor: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let before = current_tenant(&mut tx, id).await?;
        check_version(&before, version)?;
        sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor,
            "delete",
            "tenant",
            &before.code,
            tenant_snapshot(&before),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every tenant's id, code, expected phones and pool: the input of projections, alerts and
    /// plans.
    pub async fn tenant_placements(&self) -> Result<Vec<(i64, String, i64, Option<i64>)>> {
        let rows =
            sqlx::query("SELECT id, code, expected_phones, pool_id FROM tenants ORDER BY code_key")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("code")?,
                    r.try_get("expected_phones")?,
                    r.try_get("pool_id")?,
                ))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Every tenant's id, code, expected phones, pool and version (plans check versions).
    pub async fn tenant_versions(&self) -> Result<Vec<(i64, String, i64, Option<i64>, i64)>> {
        let rows = sqlx::query(
            "SELECT id, code, expected_phones, pool_id, version FROM tenants ORDER BY code_key",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("code")?,
                    r.try_get("expected_phones")?,
                    r.try_get("pool_id")?,
                    r.try_get("version")?,
                ))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Every tenant, by code (for exports).
    pub async fn all_tenants(&self) -> Result<Vec<Tenant>> {
        let rows = sqlx::query(&format!("{TENANT_SELECT} ORDER BY t.code_key"))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(tenant_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn tenant_count(&self) -> Result<u64> {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tenants")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(n as u64)
    }
}
