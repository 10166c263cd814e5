//! SRV pools and their members. Members belong to the pool aggregate: replacing them bumps the
//! pool's version, so two admins editing the same pool cannot overwrite each other.

use crate::domain::ids::PoolId;
use crate::domain::pool_change::PoolChange;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;

use super::audit::snapshot;
use super::versioned::POOLS;
use super::{Bind, Error, Fields, Result, ResultExt, Store, now};
use crate::domain::model::{
    NewMember, NewPool, Pool, PoolMember, transports_from_str, transports_to_string,
};

use crate::domain::names::{HostName, PoolName, ServerName};

/// The columns a [`Pool`] is read from, named rather than `*`: a statement cached before a
/// migration added a column (0010's `owner_unchecked`) would otherwise change its result shape
/// under a running instance, which sqlx's SQLite driver does not survive and PostgreSQL refuses
/// ("cached plan must not change result type").
pub(super) const POOL_COLUMNS: &str =
    "id, name, srv_name, ttl, transports, version, updated_at, updated_by";

pub(super) fn pool_from_row(r: &AnyRow) -> Result<Pool> {
    let f = Fields::new(r, "pools")?;
    Ok(Pool {
        id: PoolId::new(f.id()),
        name: f.parse("name", PoolName::parse)?,
        srv_name: f.parse("srv_name", HostName::parse)?,
        ttl: f.u32("ttl")?,
        transports: f.parse("transports", transports_from_str)?,
        members: Vec::new(),
        version: f.get("version")?,
        updated_at: f.get("updated_at")?,
        updated_by: f.get("updated_by")?,
    })
}

pub(super) fn member_from_row(r: &AnyRow) -> Result<(PoolId, PoolMember)> {
    let f = Fields::new(r, "pool_members")?;
    // The server's own port is a value of its row.
    let sip_port = Fields::with_id_column(r, "servers", "server_id")?.u16("sip_port")?;
    let port = f.opt_u16("port")?;
    Ok((
        f.get("pool_id")?,
        PoolMember {
            server_id: f.get("server_id")?,
            server_name: f.parse("server_name", ServerName::parse)?,
            host: f.parse("host", HostName::parse)?,
            priority: f.u16("priority")?,
            weight: f.u16("weight")?,
            port,
            effective_port: port.unwrap_or(sip_port),
        },
    ))
}

pub(super) const MEMBER_SELECT: &str = "SELECT m.id, m.pool_id, m.server_id, s.name AS server_name, s.host, \
     s.sip_port, m.priority, m.weight, m.port FROM pool_members m JOIN servers s ON s.id = m.server_id";

/// What the audit log records of a pool: its fields and members by server name.
#[derive(Serialize)]
struct PoolSnapshot<'a> {
    name: &'a str,
    srv_name: &'a str,
    ttl: u32,
    transports: String,
    members: Vec<(String, u16, u16, Option<u16>)>,
}

fn pool_snapshot(p: &Pool) -> Option<String> {
    snapshot(&PoolSnapshot {
        name: &p.name,
        srv_name: &p.srv_name,
        ttl: p.ttl,
        transports: p.transports_label(),
        members: p
            .members
            .iter()
            .map(|m| (m.server_name.to_string(), m.priority, m.weight, m.port))
            .collect(),
    })
}

/// A taken name is the admin's to fix; other failures are not.
fn name_taken<T>(res: Result<T, impl Into<Error>>, name: &str) -> Result<T> {
    res.on_unique("pools_name_key", "pools.name", "name", || {
        format!("a pool named {name:?} already exists")
    })
}

/// The SQL form of an owner as the unique index `pools_owner_key` (migration 0010) compares it.
pub(super) const OWNER_KEY: &str = "lower(rtrim(srv_name, '.'))";

/// The refusal of a taken owner, naming the pool there when it is known.
fn owner_taken(other: Option<&str>, owner: &str) -> Error {
    let who = other.map_or_else(|| "another pool".to_string(), |name| format!("pool {name}"));
    Error::Invalid(crate::domain::FieldErrors::single(
        "srv_name",
        format!(
            "{who} is already published at {owner}; two pools at one owner would merge into \
             one SRV record set and every DNS export would be refused"
        ),
    ))
}

/// The pool other than `except` published at `owner` (compared as the index compares), by name.
/// Looked up first so the refusal can name it; the index still decides when two writers race.
async fn pool_at_owner(
    conn: &mut sqlx::AnyConnection,
    owner: &str,
    except: Option<PoolId>,
) -> Result<Option<String>> {
    let row = sqlx::query(&format!(
        "SELECT name FROM pools WHERE {OWNER_KEY} = $1 AND id <> $2 ORDER BY id LIMIT 1"
    ))
    .bind(owner.trim_end_matches('.').to_ascii_lowercase())
    .bind(except.map_or(-1, |id| id.get()))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.try_get("name")).transpose()?)
}

/// Refuses `owner` when another pool is published there, naming that pool.
async fn refuse_taken_owner(
    conn: &mut sqlx::AnyConnection,
    owner: &HostName,
    except: Option<PoolId>,
) -> Result<()> {
    match pool_at_owner(conn, owner, except).await? {
        Some(other) => Err(owner_taken(Some(&other), owner)),
        None => Ok(()),
    }
}

/// A write that lost the race for an owner to a concurrent one (the index refused it): the
/// other pool is named from a fresh look-up, since on PostgreSQL the failed transaction can no
/// longer be read from.
async fn owner_raced<T>(
    store: &Store,
    res: Result<T>,
    owner: &HostName,
    except: Option<PoolId>,
) -> Result<T> {
    let raced = matches!(&res, Err(Error::Database(sqlx::Error::Database(db)))
        if db.is_unique_violation()
            && (db.constraint() == Some("pools_owner_key")
                || db.message().contains("pools_owner_key")));
    if !raced {
        return res;
    }
    let other = match store.pool.acquire().await {
        Ok(mut conn) => pool_at_owner(&mut conn, owner, except).await.ok().flatten(),
        Err(_) => None,
    };
    Err(owner_taken(other.as_deref(), owner))
}

/// The tenants a pool carries and their expected phones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolLoad {
    pub tenants: u64,
    pub expected_phones: u64,
}

impl Store {
    /// All pools with their members, by name.
    pub async fn pools(&self) -> Result<Vec<Pool>> {
        let rows = sqlx::query(&format!("SELECT {POOL_COLUMNS} FROM pools ORDER BY name"))
            .fetch_all(&self.pool)
            .await?;
        let mut pools = rows.iter().map(pool_from_row).collect::<Result<Vec<_>>>()?;
        let members = sqlx::query(&format!("{MEMBER_SELECT} ORDER BY m.pool_id, m.position"))
            .fetch_all(&self.pool)
            .await?;
        let mut by_pool: HashMap<PoolId, Vec<PoolMember>> = HashMap::new();
        for r in &members {
            let (pool_id, m) = member_from_row(r)?;
            by_pool.entry(pool_id).or_default().push(m);
        }
        for p in &mut pools {
            p.members = by_pool.remove(&p.id).unwrap_or_default();
        }
        // pbx2 before pbx10, as every list and table shows them.
        pools.sort_by(|a, b| crate::domain::names::natural_cmp(a.name.as_ref(), b.name.as_ref()));
        Ok(pools)
    }

    pub async fn pool(&self, id: PoolId) -> Result<Pool> {
        let mut conn = self.pool.acquire().await?;
        load_pool(&mut conn, "id", PoolKey::Id(id)).await
    }

    pub async fn pool_by_name(&self, name: &str) -> Result<Pool> {
        let mut conn = self.pool.acquire().await?;
        load_pool(&mut conn, "name", PoolKey::Name(name)).await
    }

    /// Tenants assigned to each pool, by pool id.
    pub async fn pool_tenant_counts(&self) -> Result<HashMap<PoolId, PoolLoad>> {
        let rows = sqlx::query(
            "SELECT pool_id, COUNT(*) AS tenants, CAST(SUM(expected_phones) AS BIGINT) AS phones \
             FROM tenants WHERE pool_id IS NOT NULL GROUP BY pool_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = HashMap::new();
        for r in &rows {
            let id: PoolId = r.try_get("pool_id")?;
            let tenants: i64 = r.try_get("tenants")?;
            let phones: Option<i64> = r.try_get("phones")?;
            out.insert(
                id,
                PoolLoad {
                    tenants: tenants as u64,
                    expected_phones: phones.unwrap_or(0) as u64,
                },
            );
        }
        Ok(out)
    }

    pub async fn create_pool(&self, p: &NewPool, actor: &str) -> Result<Pool> {
        let mut tx = self.audited(actor).await?;
        refuse_taken_owner(&mut tx, &p.srv_name, None).await?;
        let row = sqlx::query(&format!(
            "INSERT INTO pools (name, srv_name, ttl, transports, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {POOL_COLUMNS}",
        ))
        .bind(&p.name)
        .bind(&p.srv_name)
        .bind(p.ttl as i64)
        .bind(transports_to_string(&p.transports))
        .bind(now())
        .bind(actor)
        .fetch_one(&mut *tx)
        .await;
        let row = owner_raced(self, name_taken(row, &p.name), &p.srv_name, None).await?;
        let pool = pool_from_row(&row)?;
        tx.record("create", "pool", &p.name, None, pool_snapshot(&pool))
            .await?;
        tx.commit().await?;
        Ok(pool)
    }

    pub async fn update_pool(
        &self,
        id: PoolId,
        version: i64,
        p: &NewPool,
        actor: &str,
    ) -> Result<Pool> {
        let mut tx = self.audited(actor).await?;
        let before = load_pool(&mut tx, "id", PoolKey::Id(id)).await?;
        refuse_taken_owner(&mut tx, &p.srv_name, Some(id)).await?;
        let written = POOLS
            .update(
                &mut tx,
                &Bind::Int(id.get()),
                version,
                actor,
                &[
                    ("name", Bind::Text(p.name.to_string())),
                    ("srv_name", Bind::Text(p.srv_name.to_string())),
                    ("ttl", Bind::Int(p.ttl.into())),
                    (
                        "transports",
                        Bind::Text(transports_to_string(&p.transports)),
                    ),
                    // A pool migration 0010 left out of the owner index (it shared its owner
                    // with an older pool) goes back under it with any save of its fields.
                    ("owner_unchecked", Bind::Int(0)),
                ],
            )
            .await;
        owner_raced(self, name_taken(written, &p.name), &p.srv_name, Some(id)).await?;
        let after = load_pool(&mut tx, "id", PoolKey::Id(id)).await?;
        tx.record(
            "update",
            "pool",
            &after.name,
            pool_snapshot(&before),
            pool_snapshot(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Replaces the whole member list of a pool at `version`, in one transaction.
    pub async fn replace_members(
        &self,
        id: PoolId,
        version: i64,
        members: &[NewMember],
        actor: &str,
    ) -> Result<Pool> {
        let mut tx = self.audited(actor).await?;
        let before = load_pool(&mut tx, "id", PoolKey::Id(id)).await?;
        // The members belong to the pool: the pool's version is bumped first, which also holds
        // its row against every other writer until this transaction ends.
        POOLS
            .update(&mut tx, &Bind::Int(id.get()), version, actor, &[])
            .await?;
        sqlx::query("DELETE FROM pool_members WHERE pool_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for (i, m) in members.iter().enumerate() {
            sqlx::query(
                "INSERT INTO pool_members (pool_id, server_id, position, priority, weight, port) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(m.server_id)
            .bind(i as i64)
            .bind(m.priority as i64)
            .bind(m.weight as i64)
            .bind(m.port.map(i64::from))
            .execute(&mut *tx)
            .await
            .on_foreign_key(&format!("members[{i}].server"), || {
                "that server no longer exists".into()
            })?;
        }
        // Until the new records are out and the old ones expired from caches, the pool is
        // changing (see `domain::pool_change`); a new edit starts the wait again. A pool that
        // had no members published no records to wait for, and an edit that changes nothing
        // changes no record.
        let old_records: Vec<_> = before
            .members
            .iter()
            .map(|m| (m.server_id, m.priority, m.weight, m.port))
            .collect();
        let new_records: Vec<_> = members
            .iter()
            .map(|m| (m.server_id, m.priority, m.weight, m.port))
            .collect();
        if !old_records.is_empty() && old_records != new_records {
            sqlx::query(
            "INSERT INTO pool_changes (pool_id, changed_at, changed_by, ttl) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (pool_id) DO UPDATE SET changed_at = excluded.changed_at, \
             changed_by = excluded.changed_by, ttl = excluded.ttl, published_at = NULL, \
             published_by = NULL, synced_at = NULL",
        )
        .bind(id)
        .bind(now())
        .bind(actor)
        .bind(i64::from(before.ttl))
        .execute(&mut *tx)
        .await?;
        }
        let after = load_pool(&mut tx, "id", PoolKey::Id(id)).await?;
        tx.record(
            "members",
            "pool",
            &after.name,
            pool_snapshot(&before),
            pool_snapshot(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes a pool no tenant uses, if it is still at `version`; refused with the tenant
    /// count otherwise.
    pub async fn delete_pool(&self, id: PoolId, version: i64, actor: &str) -> Result<()> {
        let mut tx = self.audited(actor).await?;
        let before = load_pool(&mut tx, "id", PoolKey::Id(id)).await?;
        let tenants: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tenants WHERE pool_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if tenants > 0 {
            return Err(Error::InUse(format!(
                "pool {} is assigned to {tenants} tenant{}; move {} to another pool first",
                before.name,
                if tenants == 1 { "" } else { "s" },
                if tenants == 1 { "it" } else { "them" },
            )));
        }
        POOLS.delete(&mut tx, &Bind::Int(id.get()), version).await?;
        tx.record("delete", "pool", &before.name, pool_snapshot(&before), None)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

enum PoolKey<'a> {
    Id(PoolId),
    Name(&'a str),
}

async fn load_pool(conn: &mut sqlx::AnyConnection, column: &str, key: PoolKey<'_>) -> Result<Pool> {
    let sql = format!("SELECT {POOL_COLUMNS} FROM pools WHERE {column} = $1");
    let query = sqlx::query(&sql);
    let query = match &key {
        PoolKey::Id(id) => query.bind(*id),
        PoolKey::Name(n) => query.bind(*n),
    };
    let row = query
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::NotFound {
            kind: "pool",
            name: match key {
                PoolKey::Id(id) => id.to_string(),
                PoolKey::Name(n) => n.to_string(),
            },
        })?;
    let mut pool = pool_from_row(&row)?;
    let members = sqlx::query(&format!(
        "{MEMBER_SELECT} WHERE m.pool_id = $1 ORDER BY m.position"
    ))
    .bind(pool.id)
    .fetch_all(&mut *conn)
    .await?;
    pool.members = members
        .iter()
        .map(|r| member_from_row(r).map(|(_, m)| m))
        .collect::<Result<_>>()?;
    Ok(pool)
}

impl Store {
    /// The last member change of every pool that has one (see `domain::pool_change`).
    pub async fn pool_changes(&self) -> Result<HashMap<PoolId, PoolChange>> {
        let rows = sqlx::query(
            "SELECT pool_id, changed_at, changed_by, ttl, published_at, published_by, synced_at \
             FROM pool_changes",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = HashMap::with_capacity(rows.len());
        for r in &rows {
            out.insert(
                r.try_get("pool_id")?,
                PoolChange {
                    changed_at: r.try_get("changed_at")?,
                    changed_by: r.try_get("changed_by")?,
                    ttl: r.try_get("ttl")?,
                    published_at: r.try_get("published_at")?,
                    published_by: r.try_get("published_by")?,
                    synced_at: r.try_get("synced_at")?,
                },
            );
        }
        Ok(out)
    }

    /// Records that an admin published the pool's new records (when no DNS check can see
    /// them): the wait for the old records' TTL starts now. Audited; refused when the pool has
    /// no pending change.
    pub async fn mark_pool_published(&self, id: PoolId, actor: &str) -> Result<()> {
        let mut tx = self.audited(actor).await?;
        let pool = load_pool(&mut tx, "id", PoolKey::Id(id)).await?;
        let at = now();
        let changed = sqlx::query(
            "UPDATE pool_changes SET published_at = $2, published_by = $3 \
             WHERE pool_id = $1 AND published_at IS NULL",
        )
        .bind(id)
        .bind(at)
        .bind(actor)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(Error::Conflict(format!(
                "pool {} has no unpublished member change",
                pool.name
            )));
        }
        tx.record(
            "published",
            "pool",
            &pool.name,
            None,
            Some(serde_json::json!({ "published_at": at }).to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
