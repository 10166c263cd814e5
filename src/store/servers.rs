//! Servers: the PBX hosts phones register with.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{record, snapshot};
use super::{Error, Result, Store, get_opt_u32, get_u16, now, stale_message, unique_violation};
use crate::domain::FieldErrors;
use crate::domain::model::{NewServer, Server};

pub(super) fn server_from_row(r: &AnyRow) -> Result<Server, sqlx::Error> {
    let state: String = r.try_get("state")?;
    Ok(Server {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        host: r.try_get("host")?,
        sip_port: get_u16(r, "sip_port")?,
        capacity: get_opt_u32(r, "capacity")?,
        site: r.try_get("site")?,
        state: state.parse().unwrap_or_default(),
        version: r.try_get("version")?,
        updated_at: r.try_get("updated_at")?,
        updated_by: r.try_get("updated_by")?,
    })
}

fn map_unique(e: sqlx::Error, name: &str) -> Error {
    if unique_violation(&e, "servers_name_key", "servers.name") {
        Error::Invalid(FieldErrors::single(
            "name",
            format!("a server named {name:?} already exists"),
        ))
    } else {
        e.into()
    }
}

impl Store {
    pub async fn servers(&self) -> Result<Vec<Server>> {
        let rows = sqlx::query("SELECT * FROM servers ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(server_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn server(&self, id: i64) -> Result<Server> {
        let row = sqlx::query("SELECT * FROM servers WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "server",
                name: id.to_string(),
            })?;
        Ok(server_from_row(&row)?)
    }

    pub async fn server_by_name(&self, name: &str) -> Result<Server> {
        let row = sqlx::query("SELECT * FROM servers WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "server",
                name: name.to_string(),
            })?;
        Ok(server_from_row(&row)?)
    }

    pub async fn create_server(&self, s: &NewServer, actor: &str) -> Result<Server> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO servers (name, host, sip_port, capacity, site, state, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        )
        .bind(&s.name)
        .bind(&s.host)
        .bind(s.sip_port as i64)
        .bind(s.capacity.map(i64::from))
        .bind(s.site.as_deref())
        .bind(s.state.as_str())
        .bind(now())
        .bind(actor)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map_unique(e, &s.name))?;
        let server = server_from_row(&row)?;
        record(
            &mut tx,
            actor,
            "create",
            "server",
            &s.name,
            None,
            snapshot(s),
        )
        .await?;
        tx.commit().await?;
        Ok(server)
    }

    /// Replaces a server's fields if it is still at `version`.
    pub async fn update_server(
        &self,
        id: i64,
        version: i64,
        s: &NewServer,
        actor: &str,
    ) -> Result<Server> {
        let mut tx = self.begin_write().await?;
        let before = current_server(&mut tx, id).await?;
        if before.version != version {
            return Err(Error::Conflict(stale_message(
                "server",
                &before.name,
                &before.updated_by,
                before.updated_at,
                before.version,
            )));
        }
        let row = sqlx::query(
            "UPDATE servers SET name = $1, host = $2, sip_port = $3, capacity = $4, site = $5, \
             state = $6, version = version + 1, updated_at = $7, updated_by = $8 \
             WHERE id = $9 AND version = $10 RETURNING *",
        )
        .bind(&s.name)
        .bind(&s.host)
        .bind(s.sip_port as i64)
        .bind(s.capacity.map(i64::from))
        .bind(s.site.as_deref())
        .bind(s.state.as_str())
        .bind(now())
        .bind(actor)
        .bind(id)
        .bind(version)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map_unique(e, &s.name))?;
        let after = server_from_row(&row)?;
        record(
            &mut tx,
            actor,
            "update",
            "server",
            &after.name,
            snapshot(&editable(&before)),
            snapshot(s),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes a server that no pool lists; refused (naming the pools) otherwise.
    pub async fn delete_server(&self, id: i64, version: i64, actor: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let before = current_server(&mut tx, id).await?;
        if before.version != version {
            return Err(Error::Conflict(stale_message(
                "server",
                &before.name,
                &before.updated_by,
                before.updated_at,
                before.version,
            )));
        }
        let pools: Vec<String> = sqlx::query(
            "SELECT DISTINCT p.name FROM pool_members m JOIN pools p ON p.id = m.pool_id \
             WHERE m.server_id = $1 ORDER BY p.name",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("name"))
        .collect::<Result<_, _>>()?;
        if !pools.is_empty() {
            return Err(Error::InUse(format!(
                "server {} is a member of pool{} {}; remove it from {} first",
                before.name,
                if pools.len() > 1 { "s" } else { "" },
                pools.join(", "),
                if pools.len() > 1 { "them" } else { "it" },
            )));
        }
        sqlx::query("DELETE FROM servers WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor,
            "delete",
            "server",
            &before.name,
            snapshot(&editable(&before)),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn current_server(tx: &mut sqlx::Transaction<'static, sqlx::Any>, id: i64) -> Result<Server> {
    let row = sqlx::query("SELECT * FROM servers WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| Error::NotFound {
            kind: "server",
            name: id.to_string(),
        })?;
    Ok(server_from_row(&row)?)
}

pub(super) fn editable(s: &Server) -> NewServer {
    NewServer {
        name: s.name.clone(),
        host: s.host.clone(),
        sip_port: s.sip_port,
        capacity: s.capacity,
        site: s.site.clone(),
        state: s.state,
    }
}
