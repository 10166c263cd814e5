//! The ingest of a registration report (see [`Store::ingest`]): the report is compared with the
//! server's stored picture and only what changed is written, in one transaction with the counts
//! pages read (per tenant and server, by difference on SQLite: [`super::count_deltas`]), the
//! phones' last servers and their moves, the tenant journal and the charts' series. The types it
//! returns and the reads of the picture are in [`super::registrations`].

use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};

use super::count_deltas::{apply_count_deltas, count_deltas};
use super::registrations::{ID_CHUNK, IngestPolicy, IngestSummary, id_list, to_json};
use super::{Backend, LockKind, Result, Store, now};
use crate::domain::ids::{ServerId, TenantId};
use crate::domain::registrations::{Registration, StoredContact, diff_picture};

/// Contacts per JSON parameter: bounds the statement's memory, not its parameters. SQLite
/// holds a parameter several times over while it runs (the bound copy, its binary JSON, the
/// text of each element): at 20,000 contacts a chunk held ~12 MB at the peak of a 100,000-contact
/// report, at 5,000 about a quarter of that, for 15 more statements.
const JSON_CHUNK: usize = 5_000;

/// Contacts a report changes (added and removed) up to which, on SQLite, the counts move by
/// difference; above it the tenants involved are recounted. A report that changes 100 of 5,000
/// contacts settles its counts in about 2.5 ms by difference against 12 ms by recounting
/// (`examples/push_cpu`); one of 22,000 new contacts would read 22,000 keys twice, each
/// through the driver, where one recount of the server's tenants reads them once.
const DIFFERENCE_MAX_CONTACTS: usize = 5_000;

/// Recounts registered phones of server `$1` per tenant, counting an endpoint only where its
/// newest registered contact is (one phone, two servers: where it arrived last, by row id; see
/// migration 0018): `COUNT_INSERT`, then `NEWER_ELSEWHERE` (unless [`Newest::Here`]), then
/// `AND r.tenant_id IN (…) GROUP BY r.tenant_id`.
const COUNT_INSERT: &str = "INSERT INTO tenant_server_counts (tenant_id, server_id, phones) \
     SELECT r.tenant_id, $1, COUNT(DISTINCT r.endpoint_key) FROM registrations r \
     WHERE r.server_id = $1 AND r.registered = 1";

/// The counting rule's probe: no other server has a newer registered contact of the phone.
const NEWER_ELSEWHERE: &str = " AND NOT EXISTS (SELECT 1 FROM registrations o \
     WHERE o.endpoint_key = r.endpoint_key AND o.server_id <> r.server_id AND o.registered = 1 \
       AND o.id > r.id)";

/// What a recount knows of where the server's contacts stand against the other servers'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Newest {
    /// Nothing: each contact is probed for a newer one elsewhere (the counting rule).
    ByRule,
    /// Every contact of the server was written by this transaction, after every other row, and
    /// no other writer runs (SQLite): each is the newest of its phone, no probe is needed. A
    /// report that replaces a server's whole picture (a new server, a restarted one): 100,000
    /// contacts counted in 44 ms instead of 135 ms.
    Here,
}

impl Store {
    /// Makes `rows` `server_id`'s current picture, all or nothing. Incremental: the report is
    /// compared with the stored picture (by fingerprint, see
    /// [`crate::domain::registrations::diff_picture`]) and only the contacts that appeared,
    /// changed or left are written; the counts, the phones' last servers and their moves are
    /// updated for those alone. The rows travel as one JSON parameter per statement, not as
    /// thousands of bound parameters (SQLite looks each `$N` up by a linear scan).
    pub async fn ingest(
        &self,
        server_id: ServerId,
        format: &str,
        rows: impl Into<Vec<Registration>>,
        policy: &IngestPolicy,
        actor: &str,
    ) -> Result<IngestSummary> {
        let at = now();
        // Where a push's time goes: the end of each phase, in ms since the start, logged at
        // debug level (`RUST_LOG=pbx_pools::store=debug`).
        let started = std::time::Instant::now();
        let mut phases: Vec<(&'static str, f64)> = Vec::with_capacity(20);
        macro_rules! phase {
            ($name:literal) => {
                phases.push(($name, started.elapsed().as_secs_f64() * 1e3))
            };
        }
        // The rows' text moves into the report (a caller that keeps its rows passes a slice,
        // copied here): a big report is held once.
        let rows: Vec<Registration> = rows.into();
        let contacts = rows.len();
        let report: Vec<StoredContact> = rows
            .into_iter()
            .map(|r| StoredContact::from_row(r, &policy.matcher))
            .collect();
        phase!("report");
        let mut tx = self.begin_replaceable_write().await?;
        // One push per server at a time, the later one applied after the earlier: without it
        // two READ COMMITTED transactions would each compare with the same old picture and both
        // insert their differences. SQLite's BEGIN IMMEDIATE already serialises all writers.
        self.serialise(&mut tx, LockKind::Ingest, server_id.get())
            .await?;
        phase!("begin+lock");
        let last: Option<i64> = sqlx::query("SELECT last_report_at FROM servers WHERE id = $1")
            .bind(server_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| super::Error::NotFound {
                kind: "server",
                name: server_id.to_string(),
            })?
            .try_get("last_report_at")?;
        phase!("last");
        // Pairs of this server other servers' ingests marked (see `recount_dirty`): recounted
        // below with this report's own changes.
        let dirty: BTreeSet<TenantId> = self.take_dirty(&mut tx, server_id).await?;
        let mut touched: BTreeSet<TenantId> = BTreeSet::new();
        phase!("take_dirty");
        // The stored picture as one JSON array in one row: thousands of rows through the
        // driver cost about 3 µs each in copying, most of a small push's time.
        let mut picture: Vec<(i64, i64, Option<i64>)> = super::fetch_json_array(
            sqlx::query(&self.json_array_sql(
                "id, fingerprint, tenant_id",
                "FROM registrations WHERE server_id = $1",
            ))
            .bind(server_id),
            &mut *tx,
        )
        .await?;
        phase!("picture");
        // By id: a removed row's tenant is found by a binary search, not a map of the whole
        // picture (100,000 entries: ~3 MB at the peak of a big report).
        picture.sort_unstable_by_key(|(id, _, _)| *id);
        let stored: Vec<(i64, i64)> = picture.iter().map(|(id, fp, _)| (*id, *fp)).collect();
        let tenant_of_row = |id: &i64| -> Option<TenantId> {
            let at = picture.binary_search_by_key(id, |(id, _, _)| *id).ok()?;
            picture[at].2.map(TenantId::new)
        };
        let diff = diff_picture(&stored, &report);
        // Contacts stored unchanged whose tenant was added, renamed or removed since: a report
        // that repeats them must still match them as a full rewrite would. Only needed when a
        // tenant code changed since this server's last re-match (migration 0015).
        let keys = sqlx::query(
            "SELECT v.version, (SELECT m.keys_version FROM server_match_state m WHERE m.server_id = $1) AS matched \
             FROM tenant_keys_version v WHERE v.id = 1",
        )
        .bind(server_id)
        .fetch_one(&mut *tx)
        .await?;
        let keys_now: i64 = keys.try_get("version")?;
        let rematch = Some(keys_now) != keys.try_get::<Option<i64>, _>("matched")?;
        // On SQLite (one writer at a time) the counts move by difference (see `count_deltas`)
        // unless unchanged contacts are re-matched to other tenants, or the report changes so
        // many contacts that recounting their tenants costs less than reading each changed
        // phone's contacts twice.
        let by_difference = self.backend == Backend::Sqlite
            && !rematch
            && diff.removed.len() + diff.added.len() <= DIFFERENCE_MAX_CONTACTS;
        // Tenants whose count on this server may change (recounted at the end), and the
        // endpoints whose registered contacts here come or go: another server listing one of
        // them may gain or lose it (one phone, two servers: it counts where it arrived last).
        let mut removed_keys: Vec<String> = Vec::new();
        for ids in diff.removed.chunks(ID_CHUNK) {
            // One JSON array, not a row per key (thousands of rows through the driver cost
            // about 3 µs each: 20 ms for a server's 8,400 contacts).
            let keys: Vec<(String,)> = super::fetch_json_array(
                sqlx::query(&self.json_array_sql(
                    "endpoint_key",
                    &format!(
                        "FROM (SELECT DISTINCT endpoint_key FROM registrations WHERE registered = 1 AND id IN ({})) d",
                        id_list(ids.iter().copied())
                    ),
                ))
                .persistent(false),
                &mut *tx,
            )
            .await?;
            removed_keys.extend(keys.into_iter().map(|(k,)| k));
        }
        // Borrowed keys (from `removed_keys` and the report): a report of 100,000 new
        // contacts would otherwise copy each key into this set, ~6 MB more at its peak.
        let mut changed_keys: BTreeSet<&str> = removed_keys.iter().map(String::as_str).collect();
        // Endpoints registered here before this report: a new contact of one of them is no
        // move, whichever server it was counted on (two servers' alternating reports of one
        // handover must not add up to flapping).
        phase!("diff");
        let listed_before = changed_keys.clone();
        // The keys whose phones may count elsewhere after this report, and where they count
        // before it.
        let delta_keys: BTreeSet<&str> = if by_difference {
            let mut keys = changed_keys.clone();
            keys.extend(
                diff.added
                    .iter()
                    .map(|i| &report[*i])
                    .filter(|c| c.registered == 1)
                    .map(|c| c.endpoint_key.as_str()),
            );
            keys
        } else {
            BTreeSet::new()
        };
        let counted_before = self.counted_at(&mut tx, &delta_keys).await?;
        phase!("counted_before");
        let max_stored = stored.iter().map(|(id, _)| *id).max().unwrap_or(0);
        if diff.removed.len() == stored.len() {
            sqlx::query("DELETE FROM registrations WHERE server_id = $1")
                .bind(server_id)
                .execute(&mut *tx)
                .await?;
        } else {
            for ids in diff.removed.chunks(ID_CHUNK) {
                // Integers from the database itself: safe to write into the statement.
                sqlx::query(&format!(
                    "DELETE FROM registrations WHERE id IN ({})",
                    id_list(ids.iter().copied())
                ))
                .persistent(false)
                .execute(&mut *tx)
                .await?;
            }
        }
        phase!("delete");
        touched.extend(diff.removed.iter().filter_map(tenant_of_row));
        let mut moves = 0;
        if !diff.added.is_empty() {
            let added: Vec<&StoredContact> = diff.added.iter().map(|i| &report[*i]).collect();
            let keys: BTreeSet<&str> = added
                .iter()
                .filter_map(|c| c.tenant_key.as_deref())
                .collect();
            touched.extend(self.tenant_ids_of_keys(&mut tx, &keys).await?);
            phase!("tenants");
            for chunk in added.chunks(JSON_CHUNK) {
                let json = self.contacts_json(chunk)?;
                sqlx::query(&format!(
                    "INSERT INTO registrations (server_id, endpoint, endpoint_key, tenant_key, tenant_id, contact, user_agent, status, registered, fingerprint) \
                     SELECT $1, j.e, j.k, j.tk, t.id, j.c, j.ua, j.st, j.reg, j.fp FROM {} j \
                     LEFT JOIN tenants t ON t.code_key = j.tk",
                    self.json_rows("$2")
                ))
                .bind(server_id)
                .bind(json)
                .execute(&mut *tx)
                .await?;
            }
            phase!("insert");
            // Phones are upserted in key order, so that pushes of two servers that share phones
            // lock those rows in the same order and cannot deadlock on PostgreSQL.
            // Only the registered contacts that are new here can have moved here: a phone whose
            // last known server was another one. A contact still listed unchanged does not move
            // its phone back (the other server's report moved it away since).
            let mut arrived: Vec<&StoredContact> = added
                .iter()
                .copied()
                .filter(|c| c.registered == 1)
                .collect();
            arrived.sort_by(|a, b| a.endpoint_key.cmp(&b.endpoint_key));
            changed_keys.extend(arrived.iter().map(|c| c.endpoint_key.as_str()));
            for chunk in arrived.chunks(JSON_CHUNK) {
                // Only the columns each statement reads travel: the phones' keys as plain
                // strings, the moved ones' keys with their tenant keys as pairs (SQLite reads
                // a string element of an array as is, but parses an object or array element
                // again for every field taken from it).
                let moved: Vec<(&str, Option<&str>)> = chunk
                    .iter()
                    .filter(|c| !listed_before.contains(c.endpoint_key.as_str()))
                    .map(|c| (c.endpoint_key.as_str(), c.tenant_key.as_deref()))
                    .collect();
                if !moved.is_empty() {
                    moves += sqlx::query(&format!(
                        "INSERT INTO phone_moves (endpoint_key, tenant_id, from_server_id, to_server_id, at) \
                         SELECT p.endpoint_key, MIN(t.id), p.server_id, $1, $2 FROM {} j \
                         JOIN phones p ON p.endpoint_key = j.k LEFT JOIN tenants t ON t.code_key = j.tk \
                         WHERE p.server_id <> $1 AND NOT EXISTS (SELECT 1 FROM registrations x \
                           WHERE x.endpoint_key = j.k AND x.server_id = $1 AND x.registered = 1 AND x.id <= $4) \
                         GROUP BY p.endpoint_key, p.server_id",
                        self.json_pairs("$3")
                    ))
                    .bind(server_id)
                    .bind(at)
                    .bind(to_json(&moved)?)
                    .bind(max_stored)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                let keys: Vec<&str> = chunk.iter().map(|c| c.endpoint_key.as_str()).collect();
                // `WHERE true`: SQLite reads an ON CONFLICT right after a FROM as a join's ON.
                sqlx::query(&format!(
                    "INSERT INTO phones (endpoint_key, server_id, since) \
                     SELECT DISTINCT j.k, $1, $2 FROM ({}) j WHERE true ORDER BY j.k \
                     ON CONFLICT (endpoint_key) DO UPDATE SET \
                       since = CASE WHEN phones.server_id = excluded.server_id THEN phones.since ELSE excluded.since END, \
                       server_id = excluded.server_id",
                    self.json_strings("$3", "k")
                ))
                .bind(server_id)
                .bind(at)
                .bind(to_json(&keys)?)
                .execute(&mut *tx)
                .await?;
            }
        }
        phase!("moves+phones");
        let stale = if !rematch {
            Vec::new()
        } else {
            sqlx::query(
                "INSERT INTO server_match_state (server_id, keys_version) VALUES ($1, $2) \
                 ON CONFLICT (server_id) DO UPDATE SET keys_version = excluded.keys_version",
            )
            .bind(server_id)
            .bind(keys_now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "SELECT r.id, r.tenant_id, t.id AS now_id FROM registrations r \
             LEFT JOIN tenants t ON t.code_key = r.tenant_key \
             WHERE r.server_id = $1 AND r.tenant_key IS NOT NULL \
               AND COALESCE(r.tenant_id, -1) <> COALESCE(t.id, -1)",
            )
            .bind(server_id)
            .fetch_all(&mut *tx)
            .await?
        };
        if !stale.is_empty() {
            let mut ids = Vec::with_capacity(stale.len());
            for r in &stale {
                ids.push(r.try_get::<i64, _>("id")?);
                touched.extend(r.try_get::<Option<TenantId>, _>("tenant_id")?);
                touched.extend(r.try_get::<Option<TenantId>, _>("now_id")?);
            }
            for chunk in ids.chunks(ID_CHUNK) {
                sqlx::query(&format!(
                    "UPDATE registrations SET tenant_id = (SELECT t.id FROM tenants t WHERE t.code_key = registrations.tenant_key) \
                     WHERE id IN ({})",
                    id_list(chunk.iter().copied())
                ))
                .persistent(false)
                .execute(&mut *tx)
                .await?;
            }
        }
        let mut others = BTreeSet::new();
        // A report identical to the stored picture, with nothing marked to recount, changes no
        // count. Within the bucket of the server's previous report its series rows were written
        // by that report and still hold, so only the snapshot row and the report time are
        // written (issue 14); the first report of each bucket still writes the bucket's rows
        // (and so follows a pool edit's new home servers within 5 minutes). 6 of the 47 ms of
        // an unchanged 22,000-contact report, ~2.5 ms of an unchanged 5,000-contact push.
        let same_bucket =
            last.is_some_and(|l| super::series::bucket_of(l) == super::series::bucket_of(at));
        let nothing_to_count =
            diff.is_empty() && dirty.is_empty() && stale.is_empty() && same_bucket;
        if nothing_to_count {
            phase!("unchanged");
        } else if by_difference {
            let counted_after = self.counted_at(&mut tx, &delta_keys).await?;
            let deltas = count_deltas(&counted_before, &counted_after);
            let mut changed = apply_count_deltas(&mut tx, &deltas).await?;
            phase!("count_deltas");
            // Pairs marked dirty by a recount that could not run (see `recount_dirty`):
            // recounted in full.
            let dirty: Vec<TenantId> = dirty.into_iter().collect();
            recount_counts(&mut tx, server_id, &dirty, Newest::ByRule).await?;
            // This server's series are rewritten by every report that changes anything, its
            // counts or not, and every tenant whose contacts here came or went is journalled even when its count
            // did not move: the tenant book also holds its phones' user agents and arrival
            // times (a phone re-registering with another user agent changes its failback
            // group, not its count).
            let own = changed.entry(server_id).or_default();
            own.extend(dirty);
            own.extend(touched);
            own.sort_unstable();
            own.dedup();
            counts_changed(&mut tx, &changed).await?;
            phase!("series");
        } else {
            touched.extend(dirty);
            let touched: Vec<TenantId> = touched.into_iter().collect();
            let newest = if self.backend == Backend::Sqlite && diff.removed.len() == stored.len() {
                Newest::Here
            } else {
                Newest::ByRule
            };
            recount(&mut tx, server_id, &touched, newest).await?;
            phase!("rematch+recount");
            others = self
                .mark_others_dirty(&mut tx, server_id, &changed_keys)
                .await?;
        }
        if self.backend == Backend::Sqlite {
            // SQLite has one writer at a time (BEGIN IMMEDIATE): no other ingest can hold these
            // servers' pairs, so they are recounted right here, in this transaction, instead of
            // one transaction (and one commit) each after it.
            for other in std::mem::take(&mut others) {
                let tenants: Vec<TenantId> =
                    self.take_dirty(&mut tx, other).await?.into_iter().collect();
                recount(&mut tx, other, &tenants, Newest::ByRule).await?;
            }
        }
        phase!("others");
        // Registered = matched (the maintained counts) + unmatched (an index range): neither
        // reads the whole picture.
        let matched: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(phones), 0) AS BIGINT) AS n FROM tenant_server_counts WHERE server_id = $1",
        )
        .bind(server_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        let unmatched: i64 = sqlx::query(
            "SELECT COUNT(DISTINCT endpoint_key) AS n FROM registrations \
             WHERE server_id = $1 AND tenant_id IS NULL AND registered = 1",
        )
        .bind(server_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        let registered = matched + unmatched;
        phase!("totals");
        let snapshot_id: i64 = sqlx::query(
            "INSERT INTO snapshots (server_id, received_at, format, contacts, registered, unmatched, actor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(server_id)
        .bind(at)
        .bind(format)
        .bind(contacts as i64)
        .bind(registered)
        .bind(unmatched)
        .bind(actor)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        // A report after a silence longer than the stale age starts a new run of reports.
        let resumed = last.is_none_or(|l| at - l > policy.stale_after_secs);
        sqlx::query(
            "UPDATE servers SET last_report_at = $1, \
             reporting_since = CASE WHEN $2 = 1 OR reporting_since IS NULL THEN $1 ELSE reporting_since END WHERE id = $3",
        )
        .bind(at)
        .bind(i64::from(resumed))
        .bind(server_id)
        .execute(&mut *tx)
        .await?;
        phase!("snapshot");
        // History older than the retention goes with the first report of each series bucket
        // (5 minutes) of the server, not with every report: a push a second would otherwise
        // run these deletes a second, to find nothing.
        if last.is_none_or(|l| super::series::bucket_of(l) != super::series::bucket_of(at)) {
            let cutoff = at - policy.retention_secs;
            sqlx::query("DELETE FROM phone_moves WHERE at < $1")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "DELETE FROM snapshots WHERE server_id = $1 AND received_at < $2 AND id <> $3",
            )
            .bind(server_id)
            .bind(cutoff)
            .bind(snapshot_id)
            .execute(&mut *tx)
            .await?;
            super::series::prune(&mut tx, server_id, cutoff).await?;
            // The tenant journal's rows no book can still need (an index range; a row lives
            // JOURNAL_KEEP_SECS to that plus a bucket).
            sqlx::query("DELETE FROM tenant_journal WHERE at < $1")
                .bind(at - super::JOURNAL_KEEP_SECS)
                .execute(&mut *tx)
                .await?;
        }
        phase!("prune");
        tx.commit().await?;
        phase!("commit");
        tracing::debug!(
            server = server_id.get(),
            contacts,
            written = diff.removed.len() + diff.added.len(),
            ?phases,
            "ingest phases (ms since the start at the end of each)"
        );
        // The other servers' counts this report changed (PostgreSQL; SQLite recounted them
        // above), each under that server's own lock in a transaction of its own (one lock at a
        // time: no deadlock with their ingests).
        // This report is stored whatever happens here: a recount that fails leaves its pairs
        // marked, and the other server's next ingest recounts them. Not an error of this push.
        for other in others {
            if let Err(e) = self.recount_dirty(other).await {
                tracing::warn!(server = other.get(), error = %e, "recounting another server's phones failed; its next report recounts them");
            }
        }
        Ok(IngestSummary {
            snapshot_id,
            contacts: contacts as u64,
            registered: registered as u64,
            matched: matched as u64,
            unmatched: unmatched as u64,
            moves,
            written: (diff.removed.len() + diff.added.len()) as u64,
        })
    }

    /// Takes (deletes) the dirty pairs of `server_id` and returns their tenants. Only ever
    /// called under the server's ingest lock: no one else deletes these rows, and appends by
    /// other ingests never wait on them.
    async fn take_dirty(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        server_id: ServerId,
    ) -> Result<BTreeSet<TenantId>> {
        let rows = sqlx::query("DELETE FROM count_dirty WHERE server_id = $1 RETURNING tenant_id")
            .bind(server_id)
            .fetch_all(&mut **tx)
            .await?;
        rows.iter()
            .map(|r| r.try_get::<TenantId, _>("tenant_id"))
            .collect::<Result<BTreeSet<_>, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Marks (tenant, server) dirty for every other server listing one of `keys` registered,
    /// and returns those servers. Appends only (see migration 0018).
    async fn mark_others_dirty(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        server_id: ServerId,
        keys: &BTreeSet<&str>,
    ) -> Result<BTreeSet<ServerId>> {
        let list = match self.backend {
            Backend::Sqlite => "SELECT value FROM json_each($2)",
            Backend::Postgres => "SELECT jsonb_array_elements_text(CAST($2 AS jsonb))",
        };
        let mut out = BTreeSet::new();
        let keys: Vec<&str> = keys.iter().copied().collect();
        for chunk in keys.chunks(JSON_CHUNK) {
            let rows = sqlx::query(&format!(
                "INSERT INTO count_dirty (tenant_id, server_id) \
                 SELECT DISTINCT o.tenant_id, o.server_id FROM registrations o \
                 WHERE o.endpoint_key IN ({list}) AND o.server_id <> $1 AND o.registered = 1 \
                   AND o.tenant_id IS NOT NULL \
                 RETURNING server_id"
            ))
            .bind(server_id)
            .bind(to_json(chunk)?)
            .fetch_all(&mut **tx)
            .await?;
            for r in &rows {
                out.insert(r.try_get::<ServerId, _>("server_id")?);
            }
        }
        Ok(out)
    }

    /// Recounts the dirty pairs of `server_id` in a transaction of its own, under that
    /// server's ingest lock (an ingest of it in flight finishes first, and takes them itself).
    pub async fn recount_dirty(&self, server_id: ServerId) -> Result<()> {
        let mut tx = self.begin_write().await?;
        self.serialise(&mut tx, LockKind::Ingest, server_id.get())
            .await?;
        let touched: Vec<TenantId> = self
            .take_dirty(&mut tx, server_id)
            .await?
            .into_iter()
            .collect();
        recount(&mut tx, server_id, &touched, Newest::ByRule).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `rows` as the JSON parameter [`Self::json_rows`] reads. On SQLite each contact is an
    /// array, not an object: `json_each` hands an element back as text that every `->>`
    /// parses again, and an array's fields are found by position, about a third cheaper than
    /// by name (a 100,000-contact report: 290 ms instead of 410 ms in SQLite 3.46).
    fn contacts_json(&self, rows: &[&StoredContact]) -> Result<String> {
        match self.backend {
            Backend::Sqlite => {
                let arrays: Vec<_> = rows
                    .iter()
                    .map(|c| {
                        (
                            &c.endpoint,
                            &c.endpoint_key,
                            &c.tenant_key,
                            &c.contact,
                            &c.user_agent,
                            c.status.as_str(),
                            c.registered,
                            c.fingerprint,
                        )
                    })
                    .collect();
                to_json(&arrays)
            }
            Backend::Postgres => to_json(rows),
        }
    }

    /// A `FROM` item that reads the JSON parameter `param` (contacts as [`Self::contacts_json`]
    /// writes them) as rows with columns `e, k, tk, c, ua, st, reg, fp`.
    fn json_rows(&self, param: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!(
                "(SELECT value->>0 AS e, value->>1 AS k, value->>2 AS tk, value->>3 AS c, \
                 value->>4 AS ua, value->>5 AS st, value->>6 AS reg, value->>7 AS fp \
                 FROM json_each({param}))"
            ),
            Backend::Postgres => format!(
                "(SELECT * FROM jsonb_to_recordset(CAST({param} AS jsonb)) \
                 AS x(e text, k text, tk text, c text, ua text, st text, reg bigint, fp bigint))"
            ),
        }
    }

    /// A `FROM` item that reads the JSON parameter `param`, an array of `[key, tenant key]`
    /// pairs, as rows with columns `k, tk`.
    fn json_pairs(&self, param: &str) -> String {
        match self.backend {
            Backend::Sqlite => {
                format!("(SELECT value->>0 AS k, value->>1 AS tk FROM json_each({param}))")
            }
            Backend::Postgres => format!(
                "(SELECT x.v->>0 AS k, x.v->>1 AS tk FROM jsonb_array_elements(CAST({param} AS jsonb)) AS x(v))"
            ),
        }
    }

    /// A query that reads the JSON parameter `param`, an array of strings, as rows with the
    /// one column `column`.
    fn json_strings(&self, param: &str, column: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("SELECT value AS {column} FROM json_each({param})"),
            Backend::Postgres => {
                format!("SELECT jsonb_array_elements_text(CAST({param} AS jsonb)) AS {column}")
            }
        }
    }

    /// The ids of the tenants whose normalised codes are `keys`.
    async fn tenant_ids_of_keys(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        keys: &BTreeSet<&str>,
    ) -> Result<Vec<TenantId>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let list = match self.backend {
            Backend::Sqlite => "SELECT value FROM json_each($1)",
            Backend::Postgres => "SELECT jsonb_array_elements_text(CAST($1 AS jsonb))",
        };
        let json = to_json(keys)?;
        // One JSON array, not a row per tenant (see `json_array_sql`).
        let ids: Vec<(i64,)> = super::fetch_json_array(
            sqlx::query(
                &self.json_array_sql("id", &format!("FROM tenants WHERE code_key IN ({list})")),
            )
            .bind(json),
            &mut **tx,
        )
        .await?;
        Ok(ids.into_iter().map(|(id,)| TenantId::new(id)).collect())
    }
}

/// Recounts the phones of `tenants` on `server_id` by the counting rule (`COUNT_INSERT`: a phone
/// counts where its registered contact is newest), replacing their maintained counts there.
async fn recount(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    server_id: ServerId,
    tenants: &[TenantId],
    newest: Newest,
) -> Result<()> {
    recount_counts(tx, server_id, tenants, newest).await?;
    counts_changed(tx, &BTreeMap::from([(server_id, tenants.to_vec())])).await
}

/// Replaces the maintained counts of `tenants` on `server_id` by a count of the registrations.
async fn recount_counts(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    server_id: ServerId,
    tenants: &[TenantId],
    newest: Newest,
) -> Result<()> {
    let probe = match newest {
        Newest::ByRule => NEWER_ELSEWHERE,
        Newest::Here => "",
    };
    for chunk in tenants.chunks(ID_CHUNK) {
        let ids = id_list(chunk.iter().map(|t| t.get()));
        sqlx::query(&format!(
            "DELETE FROM tenant_server_counts WHERE server_id = $1 AND tenant_id IN ({ids})"
        ))
        .persistent(false)
        .bind(server_id)
        .execute(&mut **tx)
        .await?;
        sqlx::query(&format!(
            "{COUNT_INSERT}{probe} AND r.tenant_id IN ({ids}) GROUP BY r.tenant_id"
        ))
        .persistent(false)
        .bind(server_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// What follows a change of the counts of the tenants in `changed` (by server), in its
/// transaction: the tenant journal and the charts' series.
async fn counts_changed(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    changed: &BTreeMap<ServerId, Vec<TenantId>>,
) -> Result<()> {
    // The tenant journal (migration 0021): every instance's tenant book re-reads these
    // tenants, and only these, on its next read. Rows older than any book may still need are
    // pruned with the history, by the first report of each series bucket.
    let at = now();
    let tenants: BTreeSet<i64> = changed.values().flatten().map(|t| t.get()).collect();
    let tenants: Vec<i64> = tenants.into_iter().collect();
    for chunk in tenants.chunks(ID_CHUNK) {
        sqlx::query(&format!(
            "INSERT INTO tenant_journal (tenant_id, at) SELECT id, $1 FROM tenants WHERE id IN ({})",
            id_list(chunk.iter().copied())
        ))
        .persistent(false)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    }
    // The charts' series (issue 18): these servers', and the changed counts of their tenants.
    let started = std::time::Instant::now();
    super::series::record(tx, changed).await?;
    tracing::debug!(
        servers = changed.len(),
        tenants = tenants.len(),
        ms = started.elapsed().as_secs_f64() * 1e3,
        "series recorded"
    );
    Ok(())
}
