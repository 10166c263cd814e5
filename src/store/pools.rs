//! SRV pools and their members. Members belong to the pool aggregate: replacing them bumps the
//! pool's version, so two admins editing the same pool cannot overwrite each other.

use crate::domain::ids::PoolId;
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

fn pool_from_row(r: &AnyRow) -> Result<Pool> {
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

fn member_from_row(r: &AnyRow) -> Result<(PoolId, PoolMember)> {
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

const MEMBER_SELECT: &str = "SELECT m.id, m.pool_id, m.server_id, s.name AS server_name, s.host, \
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

/// The tenants a pool carries and their expected phones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolLoad {
    pub tenants: u64,
    pub expected_phones: u64,
}

impl Store {
    /// All pools with their members, by name.
    pub async fn pools(&self) -> Result<Vec<Pool>> {
        let rows = sqlx::query("SELECT * FROM pools ORDER BY name")
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
        let row = sqlx::query(
            "INSERT INTO pools (name, srv_name, ttl, transports, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(&p.name)
        .bind(&p.srv_name)
        .bind(p.ttl as i64)
        .bind(transports_to_string(&p.transports))
        .bind(now())
        .bind(actor)
        .fetch_one(&mut *tx)
        .await;
        let pool = pool_from_row(&name_taken(row, &p.name)?)?;
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
                ],
            )
            .await;
        name_taken(written, &p.name)?;
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
    let sql = format!("SELECT * FROM pools WHERE {column} = $1");
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
