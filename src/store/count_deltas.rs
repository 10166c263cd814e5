//! The maintained counts (`tenant_server_counts`) changed by difference, for a report on
//! SQLite. A phone counts for (tenant, server) where its newest registered contact is (one
//! phone, two servers: where it arrived last; `COUNT_INSERT` in `ingest.rs`). Only the
//! endpoint keys whose contacts a report adds or removes can count elsewhere afterwards, so
//! where those keys count is read before the report's writes and after them, and each
//! (tenant, server) moves by the difference: a report that changes 50 phones reads those 50
//! keys' contacts twice instead of recounting every contact of the ~70 tenants involved, and
//! the other servers those phones came from or went to are settled in the same statements
//! (a recount did them one server at a time).
//!
//! Exact only when no other transaction writes registrations in between: SQLite's one writer
//! (`BEGIN IMMEDIATE`) guarantees it. PostgreSQL keeps the recount under each server's lock,
//! with the other servers' pairs marked dirty (migration 0018), because two reports of
//! different servers run there at once and neither would see the other's contacts.

use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};

use super::registrations::{ID_CHUNK, id_list, to_json};
use super::{Result, Store};
use crate::domain::ids::{ServerId, TenantId};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Where endpoint keys count: (key, tenant, server) for each.
pub(super) type CountedAt = BTreeSet<(String, TenantId, ServerId)>;

/// Keys per statement (one JSON parameter each).
const KEY_CHUNK: usize = 20_000;

impl Store {
    /// Where each of `keys` counts now, by the counting rule: its registered contacts with a
    /// tenant that no registered contact of the key on another server is newer than.
    pub(super) async fn counted_at(&self, tx: &mut Tx, keys: &BTreeSet<&str>) -> Result<CountedAt> {
        let mut out = CountedAt::new();
        let keys: Vec<&str> = keys.iter().copied().collect();
        for chunk in keys.chunks(KEY_CHUNK) {
            let json = to_json(chunk)?;
            let rows = sqlx::query(
                "SELECT DISTINCT r.endpoint_key, r.tenant_id, r.server_id FROM registrations r \
                 WHERE r.endpoint_key IN (SELECT value FROM json_each($1)) \
                   AND r.registered = 1 AND r.tenant_id IS NOT NULL \
                   AND NOT EXISTS (SELECT 1 FROM registrations o WHERE o.endpoint_key = r.endpoint_key \
                     AND o.server_id <> r.server_id AND o.registered = 1 AND o.id > r.id)",
            )
            .bind(json)
            .fetch_all(&mut **tx)
            .await?;
            for r in &rows {
                out.insert((
                    r.try_get("endpoint_key")?,
                    r.try_get("tenant_id")?,
                    r.try_get("server_id")?,
                ));
            }
        }
        Ok(out)
    }
}

/// How many phones each (tenant, server) gains (or loses, below 0) from `before` to `after`;
/// pairs that do not change are left out.
pub(super) fn count_deltas(
    before: &CountedAt,
    after: &CountedAt,
) -> BTreeMap<(TenantId, ServerId), i64> {
    let mut deltas: BTreeMap<(TenantId, ServerId), i64> = BTreeMap::new();
    for (_, tenant, server) in after.difference(before) {
        *deltas.entry((*tenant, *server)).or_default() += 1;
    }
    for (_, tenant, server) in before.difference(after) {
        *deltas.entry((*tenant, *server)).or_default() -= 1;
    }
    deltas.retain(|_, d| *d != 0);
    deltas
}

/// Applies `deltas` to the maintained counts (a pair that reaches 0 has no row, as after a
/// recount) and returns the tenants whose count changed, by server.
pub(super) async fn apply_count_deltas(
    tx: &mut Tx,
    deltas: &BTreeMap<(TenantId, ServerId), i64>,
) -> Result<BTreeMap<ServerId, Vec<TenantId>>> {
    let mut changed: BTreeMap<ServerId, Vec<TenantId>> = BTreeMap::new();
    for ((tenant, server), _) in deltas.iter() {
        changed.entry(*server).or_default().push(*tenant);
    }
    let rows: Vec<(i64, i64, i64)> = deltas
        .iter()
        .map(|((t, s), d)| (t.get(), s.get(), *d))
        .collect();
    for chunk in rows.chunks(KEY_CHUNK) {
        let json = to_json(chunk)?;
        // `WHERE true`: SQLite reads an ON CONFLICT right after a FROM as a join's ON.
        sqlx::query(
            "INSERT INTO tenant_server_counts (tenant_id, server_id, phones) \
             SELECT value->>0, value->>1, value->>2 FROM json_each($1) WHERE true \
             ON CONFLICT (tenant_id, server_id) DO UPDATE SET phones = tenant_server_counts.phones + excluded.phones",
        )
        .bind(json)
        .execute(&mut **tx)
        .await?;
    }
    for (server, tenants) in &changed {
        for chunk in tenants.chunks(ID_CHUNK) {
            // Integers from the database itself: safe to write into the statement.
            sqlx::query(&format!(
                "DELETE FROM tenant_server_counts WHERE server_id = $1 AND phones <= 0 AND tenant_id IN ({})",
                id_list(chunk.iter().map(|t| t.get()))
            ))
            .persistent(false)
            .bind(*server)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(key: &str, tenant: i64, server: i64) -> (String, TenantId, ServerId) {
        (
            key.to_string(),
            TenantId::new(tenant),
            ServerId::new(server),
        )
    }

    #[test]
    fn a_phone_that_moves_counts_one_less_where_it_was_and_one_more_where_it_went() {
        let before: CountedAt = [at("a", 1, 1), at("b", 1, 1), at("c", 2, 2)].into();
        let after: CountedAt = [at("a", 1, 2), at("b", 1, 1), at("d", 2, 2)].into();
        let deltas = count_deltas(&before, &after);
        // a moved from server 1 to 2; c left and d came on server 2 for tenant 2: no change.
        assert_eq!(
            deltas.into_iter().collect::<Vec<_>>(),
            vec![
                ((TenantId::new(1), ServerId::new(1)), -1),
                ((TenantId::new(1), ServerId::new(2)), 1),
            ]
        );
    }

    #[test]
    fn a_phone_that_changes_tenant_moves_between_the_tenants_counts() {
        let before: CountedAt = [at("a", 1, 1)].into();
        let after: CountedAt = [at("a", 2, 1)].into();
        let deltas = count_deltas(&before, &after);
        assert_eq!(deltas.get(&(TenantId::new(1), ServerId::new(1))), Some(&-1));
        assert_eq!(deltas.get(&(TenantId::new(2), ServerId::new(1))), Some(&1));
        assert!(count_deltas(&before, &before).is_empty());
    }
}
