//! Creating the servers and pools a zone file describes (the bootstrap path), all or nothing.

use serde::Serialize;
use sqlx::Row;
use std::collections::HashMap;

use super::audit::snapshot;
use super::pools::OWNER_KEY;
use super::{Error, Fields, Result, Store, now};
use crate::domain::FieldErrors;
use crate::domain::model::{check_srv_owner_length, transports_to_string};
use crate::domain::zone::ImportProposal;

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportOutcome {
    pub servers_created: Vec<String>,
    /// Proposed servers whose host already exists: the existing server is used.
    pub servers_reused: Vec<(String, String)>,
    pub pools_created: Vec<String>,
}

impl Store {
    /// What an import would do against the current inventory: which servers exist already (by
    /// host) and which names clash. Used for the preview and, inside the transaction, the apply.
    pub async fn import(
        &self,
        proposal: &ImportProposal,
        actor: &str,
        apply: bool,
    ) -> Result<ImportOutcome> {
        let mut tx = self.audited(actor).await?;
        let existing: Vec<(i64, String, String, u16)> =
            sqlx::query("SELECT id, name, host, sip_port FROM servers")
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| {
                    let f = Fields::new(r, "servers")?;
                    Ok((f.id(), f.get("name")?, f.get("host")?, f.u16("sip_port")?))
                })
                .collect::<Result<_>>()?;
        // (name, owner as the owner index compares it)
        let pools: Vec<(String, String)> = sqlx::query(&format!(
            "SELECT name, {OWNER_KEY} AS owner_key FROM pools ORDER BY id"
        ))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("owner_key")?)))
        .collect::<Result<_, sqlx::Error>>()?;
        let mut errors = FieldErrors::default();
        let mut outcome = ImportOutcome::default();
        // host -> (server id, default port)
        let mut by_host: HashMap<String, (i64, u16)> = existing
            .iter()
            .map(|(id, _, host, port)| (host.clone(), (*id, *port)))
            .collect();
        let at = now();
        for s in &proposal.servers {
            if let Some((_, name, _, _)) = existing.iter().find(|(_, _, h, _)| h == &s.host) {
                outcome.servers_reused.push((s.host.clone(), name.clone()));
                continue;
            }
            if existing
                .iter()
                .any(|(_, n, _, _)| n.eq_ignore_ascii_case(&s.name))
            {
                errors.add(
                    "zone",
                    format!(
                        "a server named {} already exists with another host than {}",
                        s.name, s.host
                    ),
                );
                continue;
            }
            outcome.servers_created.push(s.name.clone());
            if apply {
                let id: i64 = sqlx::query(
                    "INSERT INTO servers (name, host, sip_port, state, updated_at, updated_by) \
                     VALUES ($1, $2, $3, 'active', $4, $5) RETURNING id",
                )
                .bind(&s.name)
                .bind(&s.host)
                .bind(s.port as i64)
                .bind(at)
                .bind(actor)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                by_host.insert(s.host.clone(), (id, s.port));
                tx.record("import", "server", &s.name, None, snapshot(s))
                    .await?;
            }
        }
        for p in &proposal.pools {
            if pools.iter().any(|(n, _)| n.eq_ignore_ascii_case(&p.name)) {
                errors.add(
                    "zone",
                    format!(
                        "a pool named {} already exists; rename or delete it first",
                        p.name
                    ),
                );
                continue;
            }
            // The rules a pool saved through its form meets (issue #13): an owner of its own,
            // short enough for every transport it publishes. The proposal's owners are
            // canonical (lower case, no trailing dot) and distinct.
            if let Some((other, _)) = pools.iter().find(|(_, owner)| *owner == p.owner) {
                errors.add(
                    "zone",
                    format!(
                        "pool {other} is already published at {}; two pools at one owner would \
                         merge into one SRV record set and every DNS export would be refused",
                        p.owner
                    ),
                );
                continue;
            }
            if let Err(e) = check_srv_owner_length(&p.owner, &p.transports) {
                errors.add("zone", format!("pool {}: owner {} {e}", p.name, p.owner));
                continue;
            }
            outcome.pools_created.push(p.name.clone());
            if !apply {
                continue;
            }
            let id: i64 = sqlx::query(
                "INSERT INTO pools (name, srv_name, ttl, transports, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(&p.name)
            .bind(&p.owner)
            .bind(p.ttl as i64)
            .bind(transports_to_string(&p.transports))
            .bind(at)
            .bind(actor)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
            for (i, m) in p.members.iter().enumerate() {
                let Some((server_id, default_port)) = by_host.get(m.target.as_str()).copied()
                else {
                    errors.add(
                        "zone",
                        format!(
                            "pool {} names target {} that is not a server",
                            p.name, m.target
                        ),
                    );
                    continue;
                };
                sqlx::query(
                    "INSERT INTO pool_members (pool_id, server_id, position, priority, weight, port) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(server_id)
                .bind(i as i64)
                .bind(m.priority as i64)
                .bind(m.weight as i64)
                .bind((m.port != default_port).then_some(m.port as i64))
                .execute(&mut *tx)
                .await?;
            }
            tx.record("import", "pool", &p.name, None, snapshot(p))
                .await?;
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        if apply {
            tx.commit().await?;
        }
        Ok(outcome)
    }
}
