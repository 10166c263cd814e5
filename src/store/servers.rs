//! Servers: the PBX hosts phones register with.

use crate::domain::ids::ServerId;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::audit::snapshot;
use super::versioned::SERVERS;
use super::{Bind, Error, Fields, Result, ResultExt, Store, now};
use crate::domain::model::{NewServer, Server};
use crate::domain::names::{HostName, ServerName};

pub(super) fn server_from_row(r: &AnyRow) -> Result<Server> {
    let f = Fields::new(r, "servers")?;
    Ok(Server {
        id: ServerId::new(f.id()),
        name: f.parse("name", ServerName::parse)?,
        host: f.parse("host", HostName::parse)?,
        sip_port: f.u16("sip_port")?,
        capacity: f.opt_u32("capacity")?,
        site: f.get("site")?,
        state: f.parse("state", str::parse)?,
        version: f.get("version")?,
        updated_at: f.get("updated_at")?,
        updated_by: f.get("updated_by")?,
    })
}

/// A taken name is the admin's to fix; other failures are not.
fn name_taken<T>(res: Result<T, impl Into<Error>>, name: &str) -> Result<T> {
    res.on_unique("servers_name_key", "servers.name", "name", || {
        format!("a server named {name:?} already exists")
    })
}

fn fields(s: &NewServer) -> [(&'static str, Bind); 6] {
    [
        ("name", Bind::Text(s.name.to_string())),
        ("host", Bind::Text(s.host.to_string())),
        ("sip_port", Bind::Int(s.sip_port.into())),
        ("capacity", Bind::OptInt(s.capacity.map(i64::from))),
        ("site", Bind::OptText(s.site.clone())),
        ("state", Bind::Text(s.state.as_str().into())),
    ]
}

use crate::domain::names::natural_cmp;

impl Store {
    pub async fn servers(&self) -> Result<Vec<Server>> {
        let rows = sqlx::query("SELECT * FROM servers ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        let mut servers = rows
            .iter()
            .map(server_from_row)
            .collect::<Result<Vec<_>>>()?;
        // voip2 before voip10, as every list and table shows them.
        servers.sort_by(|a, b| natural_cmp(a.name.as_ref(), b.name.as_ref()));
        Ok(servers)
    }

    pub async fn server(&self, id: ServerId) -> Result<Server> {
        let row = sqlx::query("SELECT * FROM servers WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "server",
                name: id.to_string(),
            })?;
        server_from_row(&row)
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
        server_from_row(&row)
    }

    pub async fn create_server(&self, s: &NewServer, actor: &str) -> Result<Server> {
        let mut tx = self.audited(actor).await?;
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
        .await;
        let server = server_from_row(&name_taken(row, &s.name)?)?;
        tx.record("create", "server", &s.name, None, snapshot(s))
            .await?;
        tx.commit().await?;
        Ok(server)
    }

    /// Replaces a server's fields if it is still at `version`.
    pub async fn update_server(
        &self,
        id: ServerId,
        version: i64,
        s: &NewServer,
        actor: &str,
    ) -> Result<Server> {
        let mut tx = self.audited(actor).await?;
        let before = current_server(&mut tx, id).await?;
        let written = SERVERS
            .update(&mut tx, &Bind::Int(id.get()), version, actor, &fields(s))
            .await;
        name_taken(written, &s.name)?;
        let after = current_server(&mut tx, id).await?;
        tx.record(
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

    /// Deletes a server that no pool lists, if it is still at `version`; refused (naming the
    /// pools) otherwise.
    pub async fn delete_server(&self, id: ServerId, version: i64, actor: &str) -> Result<()> {
        let mut tx = self.audited(actor).await?;
        let before = current_server(&mut tx, id).await?;
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
        SERVERS
            .delete(&mut tx, &Bind::Int(id.get()), version)
            .await?;
        tx.record(
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

async fn current_server(conn: &mut AnyConnection, id: ServerId) -> Result<Server> {
    let row = sqlx::query("SELECT * FROM servers WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::NotFound {
            kind: "server",
            name: id.to_string(),
        })?;
    server_from_row(&row)
}

/// The editable fields of a stored server, as its audit snapshot records them (the same
/// document a `NewServer` makes).
#[derive(serde::Serialize)]
pub(super) struct Editable<'a> {
    name: &'a str,
    host: &'a str,
    sip_port: u16,
    capacity: Option<u32>,
    site: Option<&'a str>,
    state: crate::domain::model::ServerState,
}

pub(super) fn editable(s: &Server) -> Editable<'_> {
    Editable {
        name: &s.name,
        host: &s.host,
        sip_port: s.sip_port,
        capacity: s.capacity,
        site: s.site.as_deref(),
        state: s.state,
    }
}
