//! Tenants and their pool assignment, including the bulk assignment of many tenants at once.

use crate::domain::ids::{PoolId, TenantId};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::snapshot;
use super::versioned::{Refused, TENANTS};
use super::{Backend, Bind, Error, Fields, Result, ResultExt, Store, now};
use crate::domain::model::{NewTenant, Tenant};

const TENANT_SELECT: &str = "SELECT t.*, p.name AS pool_name FROM tenants t \
     LEFT JOIN pools p ON p.id = t.pool_id";

use crate::domain::names::{PoolName, TenantCode};

fn tenant_from_row(r: &AnyRow) -> Result<Tenant> {
    let f = Fields::new(r, "tenants")?;
    Ok(Tenant {
        id: TenantId::new(f.id()),
        code: f.parse("code", TenantCode::parse)?,
        name: f.get("name")?,
        expected_phones: f.u32("expected_phones")?,
        pool_id: f.get("pool_id")?,
        pool_name: f.parse_opt("pool_name", PoolName::parse)?,
        notes: f.get("notes")?,
        version: f.get("version")?,
        updated_at: f.get("updated_at")?,
        updated_by: f.get("updated_by")?,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoolFilter {
    #[default]
    Any,
    Unplaced,
    Pool(PoolId),
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
    /// The sort key, most significant first, ending in a unique column so that the order is
    /// total and a page boundary is exact. A tenant without a pool sorts as the lowest pool
    /// (`''`; pool names are never empty), first ascending and last descending, on both
    /// backends. Descending is the exact reverse of ascending, ties included, so that an
    /// index serves both directions and a keyset cursor works either way.
    fn key(self) -> &'static [&'static str] {
        match self {
            Self::Code => &["t.code_key"],
            Self::Name => &["t.name", "t.id"],
            Self::Phones => &["t.expected_phones", "t.id"],
            Self::Pool => &["COALESCE(p.name, '')", "t.code_key"],
        }
    }

    /// The same key read from the row `c` (joined to its pool `cp`), for a cursor.
    fn cursor_key(self) -> &'static str {
        match self {
            Self::Code => "c.code_key",
            Self::Name => "c.name, c.id",
            Self::Phones => "c.expected_phones, c.id",
            Self::Pool => "COALESCE(cp.name, ''), c.code_key",
        }
    }

    fn order_by(self, desc: bool) -> String {
        let dir = if desc { " DESC" } else { "" };
        self.key()
            .iter()
            .map(|k| format!("{k}{dir}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Where a page starts: after the tenant that ended the previous page, or before the one that
/// began the next (keyset pagination: the cost does not grow with the position).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    After(TenantId),
    Before(TenantId),
}

#[derive(Debug, Clone, Default)]
pub struct TenantQuery {
    /// Substring of the code or the name, without regard to case.
    pub search: Option<String>,
    pub pool: PoolFilter,
    pub sort: TenantSort,
    pub desc: bool,
    /// The page number: with a cursor, only the label of the page it leads to; without one,
    /// the position (found by walking the sort's index, not by reading skipped rows).
    pub page: u32,
    pub per_page: u32,
    pub cursor: Option<Cursor>,
    /// Only the tenants with these codes (lowercased), when given: the tenants list's filters
    /// by where the phones are, resolved from the cached alert evaluation.
    pub codes: Option<Vec<String>>,
    /// Only the tenants with (or without) a move in flight, from the moves store.
    pub moving: MovingFilter,
}

/// The tenants list's filter by move state (`move=moving|stalled|none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MovingFilter {
    #[default]
    Any,
    /// A move in flight: moving or stalled (as the Moves page's "moving").
    InFlight,
    /// A move in flight that is stalled.
    Stalled,
    /// No move in flight.
    None,
}

impl MovingFilter {
    /// The `move` parameter: empty, `moving`, `stalled` or `none`.
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        match s.trim() {
            "" => Ok(Self::Any),
            "moving" => Ok(Self::InFlight),
            "stalled" => Ok(Self::Stalled),
            "none" => Ok(Self::None),
            other => Err(format!(
                "unknown move state {other:?}: use moving, stalled or none"
            )),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TenantPage {
    pub rows: Vec<Tenant>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    /// The cursor of the next page (`after=` this tenant id), when there is one.
    pub next_after: Option<TenantId>,
    /// The cursor of the previous page (`before=` this tenant id), when there is one.
    pub prev_before: Option<TenantId>,
    /// The move in flight of each of the page's tenants that has one (read with the page).
    #[serde(skip)]
    #[schema(ignore)]
    pub moves: std::collections::HashMap<TenantId, PageMove>,
}

/// A tenant's move in flight as the tenants list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageMove {
    pub state: crate::domain::moves::MoveState,
    pub from_pool: String,
    pub to_pool: String,
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

pub(super) fn tenant_snapshot(t: &Tenant) -> Option<String> {
    snapshot(&TenantSnapshot {
        code: &t.code,
        name: &t.name,
        expected_phones: t.expected_phones,
        pool: t.pool_name.as_deref(),
        notes: &t.notes,
    })
}

/// Where one tenant is placed, as projections, alerts and plans read it.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantPlacement {
    pub id: TenantId,
    pub code: String,
    pub expected_phones: u32,
    pub pool_id: Option<PoolId>,
    pub version: i64,
}

/// A taken code or a pool deleted meanwhile is the admin's to fix; other failures are not.
fn refused_input<T>(res: Result<T, impl Into<Error>>, code: &str) -> Result<T> {
    res.on_unique("tenants_code_key", "tenants.code_key", "code", || {
        format!("a tenant with code {code:?} already exists (codes ignore case)")
    })
    .on_foreign_key("pool", || "that pool no longer exists".into())
}

/// The refusal of a bulk change, naming every tenant that changed since the admin loaded it.
fn changed_meanwhile(codes: &[String]) -> Error {
    let (noun, verb) = if codes.len() == 1 {
        ("tenant", "was")
    } else {
        ("tenants", "were")
    };
    Error::Conflict(format!(
        "{noun} {} {verb} changed by someone else after you loaded the list; nothing was moved — \
         reload to see those changes, then make yours again",
        codes.join(", ")
    ))
}

pub(super) async fn current_tenant(conn: &mut sqlx::AnyConnection, id: TenantId) -> Result<Tenant> {
    let row = sqlx::query(&format!("{TENANT_SELECT} WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::NotFound {
            kind: "tenant",
            name: id.to_string(),
        })?;
    tenant_from_row(&row)
}

impl Store {
    /// One page of tenants, and the number matching, in one statement. Filtering and sorting
    /// happen in SQL; an index serves each unfiltered sort, so a page costs about the same at
    /// 10 or 10,000 tenants, and at the first or the last page: with a cursor only the page's
    /// rows are read; with a page number, the ids before it are skipped in the index alone.
    /// A cursor whose tenant has been deleted meanwhile leads to the first page.
    /// The WHERE clauses of a query's filters (search, codes, pool, move state) and their
    /// binds: the list's page and [`Store::tenant_versions_matching`] read the same set.
    fn tenant_filter(&self, q: &TenantQuery) -> Result<(Vec<String>, Vec<Bind>)> {
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
        if let Some(codes) = &q.codes {
            binds
                .push(Bind::Text(serde_json::to_string(codes).map_err(|e| {
                    Error::Database(sqlx::Error::Encode(e.into()))
                })?));
            let n = binds.len();
            clauses.push(match self.backend {
                Backend::Sqlite => format!("t.code_key IN (SELECT value FROM json_each(${n}))"),
                Backend::Postgres => {
                    format!("t.code_key IN (SELECT jsonb_array_elements_text(CAST(${n} AS jsonb)))")
                }
            });
        }
        match q.pool {
            PoolFilter::Any => {}
            PoolFilter::Unplaced => clauses.push("t.pool_id IS NULL".into()),
            PoolFilter::Pool(id) => {
                binds.push(Bind::Int(id.get()));
                clauses.push(format!("t.pool_id = ${}", binds.len()));
            }
        }
        match q.moving {
            MovingFilter::Any => {}
            MovingFilter::InFlight => clauses.push(
                "EXISTS (SELECT 1 FROM tenant_moves m WHERE m.tenant_id = t.id \
                 AND m.state IN ('moving', 'stalled'))"
                    .into(),
            ),
            MovingFilter::Stalled => clauses.push(
                "EXISTS (SELECT 1 FROM tenant_moves m WHERE m.tenant_id = t.id \
                 AND m.state = 'stalled')"
                    .into(),
            ),
            MovingFilter::None => clauses.push(
                "NOT EXISTS (SELECT 1 FROM tenant_moves m WHERE m.tenant_id = t.id \
                 AND m.state IN ('moving', 'stalled'))"
                    .into(),
            ),
        }
        Ok((clauses, binds))
    }

    /// Every tenant the query's filters keep (paging and cursor ignored), as `(id, version)` in
    /// code order, in one statement: "move all N tenants matching this filter".
    pub async fn tenant_versions_matching(&self, q: &TenantQuery) -> Result<Vec<(TenantId, i64)>> {
        let (clauses, binds) = self.tenant_filter(q)?;
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let sql = format!("SELECT t.id, t.version FROM tenants t {filter} ORDER BY t.code_key");
        let mut query = sqlx::query(&sql);
        for b in &binds {
            query = b.bind(query);
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((TenantId::new(r.try_get("id")?), r.try_get("version")?)))
            .collect()
    }

    pub async fn tenants(&self, q: &TenantQuery) -> Result<TenantPage> {
        let (clauses, binds) = self.tenant_filter(q)?;
        let mut binds = binds;
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let filter_binds = binds.len();
        let per_page = q.per_page.clamp(1, 1000);
        let page = q.page.max(1);
        // Backwards (a `before` cursor) reads the reverse order and turns the rows round.
        let backwards = matches!(q.cursor, Some(Cursor::Before(_)));
        let desc = q.desc != backwards;
        let mut page_filter = clauses;
        let offset = match q.cursor {
            Some(Cursor::After(id) | Cursor::Before(id)) => {
                binds.push(Bind::Int(id.get()));
                let key = q.sort.key().join(", ");
                page_filter.push(format!(
                    "({key}) {} (SELECT {} FROM tenants c LEFT JOIN pools cp ON cp.id = c.pool_id \
                     WHERE c.id = ${})",
                    if desc { "<" } else { ">" },
                    q.sort.cursor_key(),
                    binds.len()
                ));
                0
            }
            None => (page - 1) as i64 * per_page as i64,
        };
        let page_filter = if page_filter.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", page_filter.join(" AND "))
        };
        let join = if q.sort == TenantSort::Pool {
            "LEFT JOIN pools p ON p.id = t.pool_id"
        } else {
            ""
        };
        let order = q.sort.order_by(desc);
        // One row more than the page tells whether another page follows.
        let sql = format!(
            "SELECT t.*, p.name AS pool_name, \
             (SELECT COUNT(*) FROM tenants t {filter}) AS total_count, \
             mv.state AS move_state, mv.from_pool AS move_from, mv.to_pool AS move_to \
             FROM tenants t LEFT JOIN pools p ON p.id = t.pool_id \
             LEFT JOIN tenant_moves mv ON mv.tenant_id = t.id \
             AND mv.state IN ('moving', 'stalled') \
             WHERE t.id IN (SELECT t.id FROM tenants t {join} {page_filter} ORDER BY {order} \
             LIMIT {} OFFSET {offset}) ORDER BY {order}",
            per_page + 1
        );
        let mut query = sqlx::query(&sql);
        for b in &binds {
            query = b.bind(query);
        }
        let found = query.fetch_all(&self.pool).await?;
        if found.is_empty() && q.cursor.is_some() {
            return Box::pin(self.tenants(&TenantQuery {
                cursor: None,
                page: 1,
                ..q.clone()
            }))
            .await;
        }
        let total: i64 = match found.first() {
            Some(r) => r.try_get("total_count")?,
            None => {
                let count_sql = format!("SELECT COUNT(*) AS n FROM tenants t {filter}");
                let mut count = sqlx::query(&count_sql);
                for b in &binds[..filter_binds] {
                    count = b.bind(count);
                }
                count.fetch_one(&self.pool).await?.try_get("n")?
            }
        };
        let more = found.len() > per_page as usize;
        let mut moves = std::collections::HashMap::new();
        for r in found.iter().take(per_page as usize) {
            let state: Option<String> = r.try_get("move_state")?;
            if let Some(state) = state.and_then(|s| crate::domain::moves::MoveState::parse(&s).ok())
            {
                moves.insert(
                    TenantId::new(r.try_get("id")?),
                    PageMove {
                        state,
                        from_pool: r.try_get("move_from")?,
                        to_pool: r.try_get("move_to")?,
                    },
                );
            }
        }
        let mut rows = found
            .iter()
            .take(per_page as usize)
            .map(tenant_from_row)
            .collect::<Result<Vec<_>>>()?;
        if backwards {
            rows.reverse();
        }
        // Backwards, the rows that follow are the cursor's; forwards, those that precede.
        let (has_prev, has_next) = match q.cursor {
            Some(Cursor::Before(_)) => (more, true),
            Some(Cursor::After(_)) => (true, more),
            None => (page > 1, more),
        };
        Ok(TenantPage {
            next_after: rows.last().filter(|_| has_next).map(|t| t.id),
            prev_before: rows.first().filter(|_| has_prev).map(|t| t.id),
            rows,
            total: total as u64,
            page,
            per_page,
            moves,
        })
    }

    pub async fn tenant(&self, id: TenantId) -> Result<Tenant> {
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
        tenant_from_row(&row)
    }

    pub async fn create_tenant(&self, t: &NewTenant, actor: &str) -> Result<Tenant> {
        let mut tx = self.audited(actor).await?;
        let row = sqlx::query(
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
        .await;
        let id: TenantId = refused_input(row, &t.code)?.try_get("id")?;
        let after = current_tenant(&mut tx, id).await?;
        tx.record(
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
        id: TenantId,
        version: i64,
        t: &NewTenant,
        actor: &str,
    ) -> Result<Tenant> {
        let mut tx = self.audited(actor).await?;
        let before = current_tenant(&mut tx, id).await?;
        let written = TENANTS
            .update(
                &mut tx,
                &Bind::Int(id.get()),
                version,
                actor,
                &[
                    ("code", Bind::Text(t.code.to_string())),
                    ("code_key", Bind::Text(t.code.to_lowercase())),
                    ("name", Bind::Text(t.name.clone())),
                    ("expected_phones", Bind::Int(t.expected_phones.into())),
                    ("pool_id", Bind::OptInt(t.pool_id.map(PoolId::get))),
                    ("notes", Bind::Text(t.notes.clone())),
                ],
            )
            .await;
        refused_input(written, &t.code)?;
        let after = current_tenant(&mut tx, id).await?;
        super::moves::pool_changed(&mut tx, id, &after.code, before.pool_id, after.pool_id).await?;
        tx.record(
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
        id: TenantId,
        version: i64,
        pool_id: Option<PoolId>,
        actor: &str,
    ) -> Result<Tenant> {
        let mut tx = self.audited(actor).await?;
        let before = current_tenant(&mut tx, id).await?;
        let written = TENANTS
            .update(
                &mut tx,
                &Bind::Int(id.get()),
                version,
                actor,
                &[("pool_id", Bind::OptInt(pool_id.map(PoolId::get)))],
            )
            .await;
        refused_input(written, &before.code)?;
        let after = current_tenant(&mut tx, id).await?;
        super::moves::pool_changed(&mut tx, id, &after.code, before.pool_id, after.pool_id).await?;
        tx.record(
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
    /// already in the pool are left alone. Returns how many moved. Each move is the same
    /// conditional write as a single edit, at the version read here: a tenant changed by
    /// another instance meanwhile refuses the whole change. See [`Self::bulk_assign_versions`]
    /// to move tenants only if they are still as the admin saw them.
    pub async fn bulk_assign(
        &self,
        ids: &[TenantId],
        pool_id: Option<PoolId>,
        actor: &str,
    ) -> Result<u64> {
        let items: Vec<(TenantId, Option<i64>)> = ids.iter().map(|&id| (id, None)).collect();
        self.move_tenants(&items, pool_id, actor).await
    }

    /// Like [`Self::bulk_assign`] for tenants at the versions the admin saw: when any of them
    /// changed since (or is gone), nothing is written and the [`Error::Conflict`] lists the
    /// tenant codes that changed.
    pub async fn bulk_assign_versions(
        &self,
        ids_with_versions: &[(TenantId, i64)],
        pool_id: Option<PoolId>,
        actor: &str,
    ) -> Result<u64> {
        let items: Vec<(TenantId, Option<i64>)> = ids_with_versions
            .iter()
            .map(|&(id, version)| (id, Some(version)))
            .collect();
        self.move_tenants(&items, pool_id, actor).await
    }

    /// Moves `(tenant id, expected version)` to `pool_id`; a version of `None` is the one the
    /// tenant has when read here.
    async fn move_tenants(
        &self,
        items: &[(TenantId, Option<i64>)],
        pool_id: Option<PoolId>,
        actor: &str,
    ) -> Result<u64> {
        let mut tx = self.audited(actor).await?;
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
        // Tenants that changed since the admin loaded them; any refuses the whole change.
        let mut changed = Vec::new();
        for &(id, expected) in items {
            let before = match current_tenant(&mut tx, id).await {
                Ok(t) => t,
                Err(Error::NotFound { .. }) if expected.is_some() => {
                    changed.push(format!("#{id} (deleted)"));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let version = expected.unwrap_or(before.version);
            if before.pool_id == pool_id {
                if version != before.version {
                    changed.push(before.code.into_string());
                }
                continue;
            }
            let refused = TENANTS
                .try_update(
                    &mut tx,
                    &Bind::Int(id.get()),
                    version,
                    actor,
                    &[("pool_id", Bind::OptInt(pool_id.map(PoolId::get)))],
                )
                .await?;
            match refused {
                None if changed.is_empty() => {}
                // Refused anyway: no need to audit what is rolled back.
                None => continue,
                Some(Refused::Stale { name, .. }) => {
                    changed.push(name);
                    continue;
                }
                Some(Refused::Gone) => {
                    changed.push(format!("{} (deleted)", before.code));
                    continue;
                }
            }
            let after = current_tenant(&mut tx, id).await?;
            super::moves::pool_changed(&mut tx, id, &after.code, before.pool_id, after.pool_id)
                .await?;
            tx.record(
                "bulk-assign",
                "tenant",
                &after.code,
                tenant_snapshot(&before),
                tenant_snapshot(&after),
            )
            .await?;
            moved += 1;
        }
        if !changed.is_empty() {
            // Dropping the transaction rolls back the moves written so far.
            return Err(changed_meanwhile(&changed));
        }
        tx.commit().await?;
        Ok(moved)
    }

    pub async fn delete_tenant(&self, id: TenantId, version: i64, actor: &str) -> Result<()> {
        let mut tx = self.audited(actor).await?;
        let before = current_tenant(&mut tx, id).await?;
        TENANTS
            .delete(&mut tx, &Bind::Int(id.get()), version)
            .await?;
        tx.record(
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

    /// Every tenant's placement (id, code, expected phones, pool, version), by code: the input
    /// of projections, alerts and plans (plans check the versions).
    pub async fn tenant_placements(&self) -> Result<Vec<TenantPlacement>> {
        let rows = sqlx::query(
            "SELECT id, code, expected_phones, pool_id, version FROM tenants ORDER BY code_key",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let f = Fields::new(r, "tenants")?;
                Ok(TenantPlacement {
                    id: TenantId::new(f.id()),
                    code: f.get("code")?,
                    expected_phones: f.u32("expected_phones")?,
                    pool_id: f.get("pool_id")?,
                    version: f.get("version")?,
                })
            })
            .collect()
    }

    /// Every tenant, by code (for exports).
    pub async fn all_tenants(&self) -> Result<Vec<Tenant>> {
        let rows = sqlx::query(&format!("{TENANT_SELECT} ORDER BY t.code_key"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(tenant_from_row).collect()
    }

    pub async fn tenant_count(&self) -> Result<u64> {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tenants")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(n as u64)
    }
}
