//! Every tenant with what the alert rules need of it (its placement, its phones per server and
//! its phones away from home), kept in memory and patched per tenant (issue 14, incremental
//! counts): after a push only the tenants the store journalled since the last read are
//! replaced, not all of them.
//!
//! Away phones depend on the pools' home servers; a book is only patched while those and the
//! set of servers are the ones it was built with ([`TenantBook::fits`]): a pool or server
//! change rebuilds it whole.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::ids::{PoolId, ServerId, TenantId};

/// A tenant as the book keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct BookTenant {
    pub id: TenantId,
    pub code: String,
    /// The normalised code: the book's order, as the store's tenant lists sort.
    pub code_key: String,
    pub expected_phones: u32,
    pub pool_id: Option<PoolId>,
    pub version: i64,
}

/// Registered contacts of a tenant on a server outside its pool's home servers, where their
/// phones count now (the phones' last server), with one user agent and one arrival time:
/// failback candidates once `since` is old enough. Phones that arrived in the same report
/// share the time, so the store hands over one row per such bucket, not one per phone.
#[derive(Debug, Clone, PartialEq)]
pub struct AwayPhone {
    pub server_id: ServerId,
    pub user_agent: Option<String>,
    /// Since when the phones have been on this server.
    pub since: i64,
    /// How many registered contacts.
    pub phones: u64,
    /// The smallest of their endpoints.
    pub endpoint: String,
}

/// Phones of one tenant and user agent away on one server since before a cut-off.
#[derive(Debug, Clone, PartialEq)]
pub struct AwayGroup {
    pub server_id: ServerId,
    pub tenant_id: TenantId,
    pub tenant: String,
    pub user_agent: Option<String>,
    pub phones: u64,
    pub since: i64,
    /// The smallest endpoint of the group, as an example.
    pub example: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TenantEntry {
    pub tenant: BookTenant,
    /// Registered phones per server (servers with none left out), by server id.
    pub phones: Vec<(ServerId, u64)>,
    pub away: Vec<AwayPhone>,
}

/// The book: tenants in code order, with what it was built for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TenantBook {
    entries: HashMap<TenantId, TenantEntry>,
    /// Code order: (normalised code, id).
    order: BTreeSet<(String, TenantId)>,
    home_sets: HashMap<PoolId, Vec<ServerId>>,
    servers: Vec<ServerId>,
}

impl TenantBook {
    /// An empty book for these home servers per pool and these servers.
    pub fn new(home_sets: HashMap<PoolId, Vec<ServerId>>, servers: Vec<ServerId>) -> Self {
        Self {
            home_sets,
            servers,
            ..Self::default()
        }
    }

    /// Whether the book can be patched for a cluster with these home sets and servers.
    pub fn fits(&self, home_sets: &HashMap<PoolId, Vec<ServerId>>, servers: &[ServerId]) -> bool {
        self.home_sets == *home_sets && self.servers == servers
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Tenants in code order.
    pub fn iter(&self) -> impl Iterator<Item = &TenantEntry> {
        self.order.iter().filter_map(|(_, id)| self.entries.get(id))
    }

    pub fn get(&self, id: TenantId) -> Option<&TenantEntry> {
        self.entries.get(&id)
    }

    /// Replaces the tenants `ids` by what the store holds of them now: `tenants` (an id of
    /// `ids` missing there was deleted) and their `counts` (tenant, server, phones). Their away
    /// phones are emptied: read them again for [`Self::away_pairs`] of `ids`.
    pub fn replace(
        &mut self,
        ids: &[TenantId],
        tenants: Vec<BookTenant>,
        counts: Vec<(TenantId, ServerId, u64)>,
    ) {
        for id in ids {
            if let Some(old) = self.entries.remove(id) {
                self.order.remove(&(old.tenant.code_key, *id));
            }
        }
        let mut phones: HashMap<TenantId, Vec<(ServerId, u64)>> = HashMap::new();
        for (tenant, server, n) in counts {
            if n > 0 {
                phones.entry(tenant).or_default().push((server, n));
            }
        }
        for tenant in tenants {
            let mut by_server = phones.remove(&tenant.id).unwrap_or_default();
            by_server.sort_unstable();
            self.order.insert((tenant.code_key.clone(), tenant.id));
            self.entries.insert(
                tenant.id,
                TenantEntry {
                    tenant,
                    phones: by_server,
                    away: Vec::new(),
                },
            );
        }
    }

    /// The (server, tenant) pairs whose phones are away from home: the tenant has phones on a
    /// server outside its pool's home servers (a pool without home servers has no away phones).
    /// `ids`: only these tenants; `None`: every tenant.
    pub fn away_pairs(&self, ids: Option<&[TenantId]>) -> Vec<(ServerId, TenantId)> {
        let mut out = Vec::new();
        let mut add = |entry: &TenantEntry| {
            let Some(home) = entry
                .tenant
                .pool_id
                .and_then(|p| self.home_sets.get(&p))
                .filter(|set| !set.is_empty())
            else {
                return;
            };
            for (server, _) in &entry.phones {
                if !home.contains(server) {
                    out.push((*server, entry.tenant.id));
                }
            }
        };
        match ids {
            Some(ids) => ids.iter().filter_map(|id| self.get(*id)).for_each(&mut add),
            None => self.iter().for_each(&mut add),
        }
        out.sort_unstable();
        out
    }

    /// Sets the away phones of the tenants in `pairs` (as [`Self::away_pairs`] gave them) to
    /// `phones` (tenant, phone); phones on a server not paired with their tenant are ignored.
    pub fn set_away(&mut self, pairs: &[(ServerId, TenantId)], phones: Vec<(TenantId, AwayPhone)>) {
        let mut by_tenant: HashMap<TenantId, Vec<AwayPhone>> = HashMap::new();
        for (tenant, phone) in phones {
            if pairs.binary_search(&(phone.server_id, tenant)).is_ok() {
                by_tenant.entry(tenant).or_default().push(phone);
            }
        }
        let mut tenants: Vec<TenantId> = pairs.iter().map(|(_, t)| *t).collect();
        tenants.sort_unstable();
        tenants.dedup();
        for tenant in &tenants {
            if let Some(entry) = self.entries.get_mut(tenant) {
                let mut away = by_tenant.remove(tenant).unwrap_or_default();
                // Grouped by server and user agent for `away_groups`' scan.
                away.sort_by(|a, b| {
                    (a.server_id, &a.user_agent, &a.endpoint, a.since).cmp(&(
                        b.server_id,
                        &b.user_agent,
                        &b.endpoint,
                        b.since,
                    ))
                });
                entry.away = away;
            }
        }
    }

    /// Away phones that have been on their server since before `before`, grouped by server,
    /// tenant and user agent (in that order): how many, since when (the earliest), and the
    /// smallest endpoint as an example. A scan of each tenant's phones (kept sorted by server
    /// and user agent), not a map over all of them: it runs on every alert rebuild.
    pub fn away_groups(&self, before: i64) -> Vec<AwayGroup> {
        let mut groups: Vec<AwayGroup> = Vec::new();
        for entry in self.iter().filter(|e| !e.away.is_empty()) {
            let mut open: Option<AwayGroup> = None;
            for phone in entry.away.iter().filter(|p| p.since < before) {
                match open.as_mut() {
                    Some(g)
                        if g.server_id == phone.server_id && g.user_agent == phone.user_agent =>
                    {
                        g.phones += phone.phones;
                        g.since = g.since.min(phone.since);
                        if phone.endpoint < g.example {
                            g.example.clone_from(&phone.endpoint);
                        }
                    }
                    _ => {
                        groups.extend(open.take());
                        open = Some(AwayGroup {
                            server_id: phone.server_id,
                            tenant_id: entry.tenant.id,
                            tenant: entry.tenant.code.clone(),
                            user_agent: phone.user_agent.clone(),
                            phones: phone.phones,
                            since: phone.since,
                            example: phone.endpoint.clone(),
                        });
                    }
                }
            }
            groups.extend(open);
        }
        groups.sort_by(|a, b| {
            (a.server_id, &a.tenant, &a.user_agent).cmp(&(b.server_id, &b.tenant, &b.user_agent))
        });
        groups
    }

    /// Registered phones per (pool, server) over every tenant (`None`: tenants without a pool).
    pub fn pool_server_phones(&self) -> BTreeMap<(Option<PoolId>, ServerId), u64> {
        let mut out = BTreeMap::new();
        for entry in self.entries.values() {
            for (server, n) in &entry.phones {
                *out.entry((entry.tenant.pool_id, *server)).or_default() += n;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: i64, code: &str, pool: Option<i64>) -> BookTenant {
        BookTenant {
            id: TenantId::new(id),
            code: code.to_string(),
            code_key: code.to_ascii_lowercase(),
            expected_phones: 10,
            pool_id: pool.map(PoolId::new),
            version: 1,
        }
    }

    fn phone(server: i64, ua: &str, since: i64, endpoint: &str) -> AwayPhone {
        AwayPhone {
            server_id: ServerId::new(server),
            user_agent: Some(ua.to_string()),
            since,
            phones: 1,
            endpoint: endpoint.to_string(),
        }
    }

    /// Pool 1's home is server 1, pool 2's server 2; servers 1, 2, 3.
    fn book() -> TenantBook {
        let homes = HashMap::from([
            (PoolId::new(1), vec![ServerId::new(1)]),
            (PoolId::new(2), vec![ServerId::new(2)]),
        ]);
        TenantBook::new(
            homes,
            vec![ServerId::new(1), ServerId::new(2), ServerId::new(3)],
        )
    }

    fn s(id: i64) -> ServerId {
        ServerId::new(id)
    }
    fn t(id: i64) -> TenantId {
        TenantId::new(id)
    }

    #[test]
    fn tenants_are_kept_in_code_order_and_a_rename_moves_one() {
        let mut b = book();
        b.replace(
            &[t(1), t(2), t(3)],
            vec![
                tenant(1, "Zeta", Some(1)),
                tenant(2, "alpha", Some(1)),
                tenant(3, "Mid", None),
            ],
            vec![],
        );
        let codes: Vec<_> = b.iter().map(|e| e.tenant.code.as_str()).collect();
        assert_eq!(codes, ["alpha", "Mid", "Zeta"]);
        b.replace(&[t(1)], vec![tenant(1, "Beta", Some(1))], vec![]);
        let codes: Vec<_> = b.iter().map(|e| e.tenant.code.as_str()).collect();
        assert_eq!(codes, ["alpha", "Beta", "Mid"]);
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn a_tenant_missing_from_the_store_is_deleted_and_zero_counts_are_left_out() {
        let mut b = book();
        b.replace(
            &[t(1), t(2)],
            vec![tenant(1, "a", Some(1)), tenant(2, "b", Some(2))],
            vec![(t(1), s(1), 5), (t(1), s(2), 0), (t(2), s(2), 3)],
        );
        assert_eq!(b.get(t(1)).unwrap().phones, vec![(s(1), 5)]);
        b.replace(&[t(2)], vec![], vec![]);
        assert!(b.get(t(2)).is_none());
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn away_pairs_are_the_servers_outside_the_pools_home() {
        let mut b = book();
        b.replace(
            &[t(1), t(2), t(3)],
            vec![
                tenant(1, "a", Some(1)),
                tenant(2, "b", Some(2)),
                tenant(3, "c", None),
            ],
            vec![
                (t(1), s(1), 5),
                (t(1), s(2), 1),
                (t(1), s(3), 1),
                (t(2), s(2), 4),
                (t(3), s(3), 2),
            ],
        );
        assert_eq!(b.away_pairs(None), vec![(s(2), t(1)), (s(3), t(1))]);
        assert_eq!(b.away_pairs(Some(&[t(2), t(3)])), vec![]);
    }

    #[test]
    fn away_groups_count_phones_before_the_cut_off_per_server_tenant_and_user_agent() {
        let mut b = book();
        b.replace(
            &[t(1)],
            vec![tenant(1, "a", Some(1))],
            vec![(t(1), s(1), 5), (t(1), s(2), 3), (t(1), s(3), 1)],
        );
        let pairs = b.away_pairs(None);
        b.set_away(
            &pairs,
            vec![
                (t(1), phone(2, "Yealink", 100, "a-202")),
                (t(1), phone(2, "Yealink", 50, "a-201")),
                (t(1), phone(2, "Snom", 10, "a-203")),
                (t(1), phone(3, "Yealink", 500, "a-301")),
                // Not a pair of the book (server 1 is home): ignored.
                (t(1), phone(1, "Yealink", 1, "a-101")),
            ],
        );
        let groups = b.away_groups(200);
        assert_eq!(groups.len(), 2, "{groups:?}");
        assert_eq!(
            (
                groups[0].user_agent.as_deref(),
                groups[0].phones,
                groups[0].since
            ),
            (Some("Snom"), 1, 10)
        );
        let yealink = &groups[1];
        assert_eq!((yealink.phones, yealink.since), (2, 50));
        assert_eq!(yealink.example, "a-201");
        assert_eq!(b.away_groups(1000).len(), 3);
        // A replaced tenant's away phones are empty until read again.
        b.replace(
            &[t(1)],
            vec![tenant(1, "a", Some(1))],
            vec![(t(1), s(2), 1)],
        );
        assert!(b.away_groups(1000).is_empty());
    }

    #[test]
    fn patching_tenants_one_at_a_time_equals_building_the_book_at_once() {
        // Random placements and counts: replacing every tenant again, in any grouping, gives
        // the book a single replace gives.
        let mut rng = 7u64;
        let mut next = |n: u64| {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (rng >> 33) % n
        };
        let mut tenants = Vec::new();
        let mut counts = Vec::new();
        for id in 1..=60 {
            let pool = match next(3) {
                0 => None,
                p => Some(p as i64),
            };
            tenants.push(tenant(id, &format!("T{}", next(1000)), pool));
            for server in 1..=3 {
                counts.push((t(id), s(server), next(4)));
            }
        }
        let ids: Vec<TenantId> = tenants.iter().map(|x| x.id).collect();
        let mut whole = book();
        whole.replace(&ids, tenants.clone(), counts.clone());
        let mut patched = book();
        // An older state first, then every tenant replaced in chunks of 7.
        patched.replace(&ids, tenants[..30].to_vec(), vec![]);
        for chunk in ids.chunks(7) {
            let these: Vec<BookTenant> = tenants
                .iter()
                .filter(|x| chunk.contains(&x.id))
                .cloned()
                .collect();
            let their: Vec<_> = counts
                .iter()
                .filter(|c| chunk.contains(&c.0))
                .copied()
                .collect();
            patched.replace(chunk, these, their);
        }
        assert_eq!(patched, whole);
        assert_eq!(patched.pool_server_phones(), whole.pool_server_phones());
    }

    #[test]
    fn a_book_fits_only_the_home_sets_and_servers_it_was_built_for() {
        let b = book();
        let mut homes = HashMap::from([(PoolId::new(1), vec![s(1)]), (PoolId::new(2), vec![s(2)])]);
        assert!(b.fits(&homes, &[s(1), s(2), s(3)]));
        assert!(!b.fits(&homes, &[s(1), s(2)]));
        homes.insert(PoolId::new(2), vec![s(3)]);
        assert!(!b.fits(&homes, &[s(1), s(2), s(3)]));
    }
}
