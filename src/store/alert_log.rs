//! What is remembered of the alerts (migration 0014): silences and acknowledgements (admin
//! writes, each with its audit entry), the alerts raised as last recorded, their transitions
//! (the history pages show and the webhook's outbox), and the purge of old transitions.
//!
//! Recording is one transaction that reads the recorded state and writes every transition and
//! the new state together, serialised across instances by an advisory lock (PostgreSQL) or the
//! write lock (SQLite): two recorders, even without the lease that normally keeps the second
//! away, never write the same transition twice. Bulk rows travel as one JSON parameter.

use serde::Serialize;
use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::snapshot;
use super::{Backend, Error, Fields, LockKind, Result, Store};
use crate::domain::alerts::log::{
    Ack, AlertEvent, NewSilence, RecordedAlert, Silence, Transition, TransitionKind, alert_id,
    history_keys, parse_severity, refreshed, transitions,
};
use crate::domain::alerts::{Alert, ObjectKind, ObjectRef};

const SILENCE_COLUMNS: &str = "id, kind, server, pool, tenant, alert_id, reason, created_by, \
                               created_at, ends_at, removed_at, removed_by";
const EVENT_COLUMNS: &str = "id, alert_id, transition, kind, severity, at, summary, objects, \
                             impact_phones, delivered_at, attempts, next_attempt_at, last_error";

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Database(sqlx::Error::Encode(e.into())))
}

fn objects(text: &str) -> Result<Vec<ObjectRef>, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

fn read_silence(r: &AnyRow) -> Result<Silence> {
    let f = Fields::new(r, "alert_silences")?;
    Ok(Silence {
        id: f.id(),
        kind: f.get("kind")?,
        server: f.get("server")?,
        pool: f.get("pool")?,
        tenant: f.get("tenant")?,
        alert_id: f.get("alert_id")?,
        reason: f.get("reason")?,
        created_by: f.get("created_by")?,
        created_at: f.get("created_at")?,
        ends_at: f.get("ends_at")?,
        removed_at: f.get("removed_at")?,
        removed_by: f.get("removed_by")?,
    })
}

fn read_event(r: &AnyRow) -> Result<AlertEvent> {
    let f = Fields::new(r, "alert_events")?;
    Ok(AlertEvent {
        id: f.id(),
        alert_id: f.get("alert_id")?,
        transition: f.parse("transition", |s| s.parse())?,
        kind: f.get("kind")?,
        severity: f.parse("severity", parse_severity)?,
        at: f.get("at")?,
        summary: f.get("summary")?,
        objects: f.parse("objects", objects)?,
        impact_phones: f.int("impact_phones", f.get("impact_phones")?)?,
        delivered_at: f.get("delivered_at")?,
        attempts: f.u32("attempts")?,
        next_attempt_at: f.get("next_attempt_at")?,
        last_error: f.get("last_error")?,
    })
}

fn read_recorded(r: &AnyRow) -> Result<RecordedAlert> {
    let id: String = r.try_get("alert_id")?;
    let f = Fields {
        row: r,
        table: "alert_state",
        id: id.clone(),
    };
    Ok(RecordedAlert {
        alert_id: id,
        kind: f.get("kind")?,
        severity: f.parse("severity", parse_severity)?,
        since: f.get("since")?,
        severity_since: f.get("severity_since")?,
        summary: f.get("summary")?,
        objects: f.parse("objects", objects)?,
        impact_phones: f.int("impact_phones", f.get("impact_phones")?)?,
    })
}

fn read_ack(r: &AnyRow) -> Result<Ack> {
    Ok(Ack {
        alert_id: r.try_get("alert_id")?,
        by: r.try_get("acked_by")?,
        at: r.try_get("acked_at")?,
        note: r.try_get("note")?,
    })
}

/// A count as stored (BIGINT).
fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One row of `alert_state` as the recording statement takes it.
#[derive(Serialize)]
struct StateRow<'a> {
    id: &'a str,
    kind: &'a str,
    severity: &'static str,
    since: i64,
    severity_since: i64,
    summary: &'a str,
    objects: String,
    impact: i64,
}

/// One row of `alert_events` as the recording statement takes it.
#[derive(Serialize)]
struct EventRow<'a> {
    id: &'a str,
    transition: &'static str,
    kind: &'a str,
    severity: &'static str,
    at: i64,
    summary: &'a str,
    objects: String,
    impact: i64,
    next: Option<i64>,
}

#[derive(Serialize)]
struct ObjectRow<'a> {
    kind: &'static str,
    name: String,
    id: &'a str,
}

impl Store {
    /// `(SELECT … FROM <the JSON array in param>)` with the given columns (name, PostgreSQL
    /// type), for statements that take many rows as one parameter.
    fn json_table(&self, param: &str, columns: &[(&str, &str)]) -> String {
        match self.backend {
            Backend::Sqlite => format!(
                "(SELECT {} FROM json_each({param}) WHERE true)",
                columns
                    .iter()
                    .map(|(c, _)| format!("value->>'{c}' AS {c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Backend::Postgres => format!(
                "(SELECT * FROM jsonb_to_recordset(CAST({param} AS jsonb)) AS x({}))",
                columns
                    .iter()
                    .map(|(c, t)| format!("{c} {t}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Silences.

    /// Stores a validated silence, with its audit entry.
    pub async fn create_silence(&self, s: &NewSilence, actor: &str) -> Result<Silence> {
        let mut tx = self.audited(actor).await?;
        let row = sqlx::query(&format!(
            "INSERT INTO alert_silences (kind, server, pool, tenant, alert_id, reason, created_by, \
             created_at, ends_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING {SILENCE_COLUMNS}"
        ))
        .bind(s.kind.map(|k| k.as_str()))
        .bind(s.server.as_deref())
        .bind(s.pool.as_deref())
        .bind(s.tenant.as_deref())
        .bind(s.alert_id.as_deref())
        .bind(&s.reason)
        .bind(actor)
        .bind(s.created_at)
        .bind(s.ends_at)
        .fetch_one(&mut *tx)
        .await?;
        let silence = read_silence(&row)?;
        tx.record(
            "create",
            "silence",
            &silence.id.to_string(),
            None,
            snapshot(&silence),
        )
        .await?;
        tx.commit().await?;
        Ok(silence)
    }

    pub async fn silence(&self, id: i64) -> Result<Silence> {
        let row = sqlx::query(&format!(
            "SELECT {SILENCE_COLUMNS} FROM alert_silences WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::NotFound {
            kind: "silence",
            name: id.to_string(),
        })?;
        read_silence(&row)
    }

    /// The silences in force at `now`, those ending first first.
    pub async fn active_silences(&self, now: i64) -> Result<Vec<Silence>> {
        let rows = sqlx::query(&format!(
            "SELECT {SILENCE_COLUMNS} FROM alert_silences \
             WHERE removed_at IS NULL AND ends_at > $1 ORDER BY ends_at, id"
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_silence).collect()
    }

    /// The silences that ended (expired or removed) by `now`, the most recently ended first.
    pub async fn ended_silences(&self, now: i64, limit: u32) -> Result<Vec<Silence>> {
        let rows = sqlx::query(&format!(
            "SELECT {SILENCE_COLUMNS} FROM alert_silences \
             WHERE removed_at IS NOT NULL OR ends_at <= $1 \
             ORDER BY COALESCE(removed_at, ends_at) DESC, id DESC LIMIT $2"
        ))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_silence).collect()
    }

    /// Ends the silence `id` now, with its audit entry. One that already ended by removal is
    /// refused (naming who removed it); an expired one can still be removed (it shows so).
    pub async fn remove_silence(&self, id: i64, actor: &str, now: i64) -> Result<Silence> {
        let mut tx = self.audited(actor).await?;
        let row = sqlx::query(&format!(
            "UPDATE alert_silences SET removed_at = $1, removed_by = $2 \
             WHERE id = $3 AND removed_at IS NULL RETURNING {SILENCE_COLUMNS}"
        ))
        .bind(now)
        .bind(actor)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            drop(tx);
            let s = self.silence(id).await?;
            return Err(Error::Conflict(format!(
                "silence {id} was already removed by {} at {}",
                s.removed_by.unwrap_or_default(),
                crate::domain::alerts::log::rfc3339(s.removed_at.unwrap_or_default())
            )));
        };
        let silence = read_silence(&row)?;
        let before = Silence {
            removed_at: None,
            removed_by: None,
            ..silence.clone()
        };
        tx.record(
            "remove",
            "silence",
            &id.to_string(),
            snapshot(&before),
            snapshot(&silence),
        )
        .await?;
        tx.commit().await?;
        Ok(silence)
    }

    // -----------------------------------------------------------------------------------------
    // Acknowledgements.

    /// Acknowledges the alert `alert_id` (again: the newer note replaces the older), audited.
    pub async fn set_ack(&self, alert_id: &str, note: &str, actor: &str, now: i64) -> Result<Ack> {
        let mut tx = self.audited(actor).await?;
        let before = sqlx::query(
            "SELECT alert_id, acked_by, acked_at, note FROM alert_acks WHERE alert_id = $1",
        )
        .bind(alert_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| read_ack(&r))
        .transpose()?;
        sqlx::query(
            "INSERT INTO alert_acks (alert_id, acked_by, acked_at, note) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (alert_id) DO UPDATE SET acked_by = excluded.acked_by, \
             acked_at = excluded.acked_at, note = excluded.note",
        )
        .bind(alert_id)
        .bind(actor)
        .bind(now)
        .bind(note)
        .execute(&mut *tx)
        .await?;
        let ack = Ack {
            alert_id: alert_id.to_string(),
            by: actor.to_string(),
            at: now,
            note: note.to_string(),
        };
        tx.record(
            "acknowledge",
            "alert",
            alert_id,
            before.as_ref().and_then(snapshot),
            snapshot(&ack),
        )
        .await?;
        tx.commit().await?;
        Ok(ack)
    }

    /// Withdraws the acknowledgement of `alert_id`, audited; `NotFound` when there is none.
    pub async fn clear_ack(&self, alert_id: &str, actor: &str) -> Result<Ack> {
        let mut tx = self.audited(actor).await?;
        let row = sqlx::query(
            "DELETE FROM alert_acks WHERE alert_id = $1 \
             RETURNING alert_id, acked_by, acked_at, note",
        )
        .bind(alert_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::NotFound {
            kind: "acknowledgement of alert",
            name: alert_id.to_string(),
        })?;
        let ack = read_ack(&row)?;
        tx.record("unacknowledge", "alert", alert_id, snapshot(&ack), None)
            .await?;
        tx.commit().await?;
        Ok(ack)
    }

    pub async fn acks(&self) -> Result<Vec<Ack>> {
        let rows = sqlx::query("SELECT alert_id, acked_by, acked_at, note FROM alert_acks")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(read_ack).collect()
    }

    // -----------------------------------------------------------------------------------------
    // State and transitions.

    /// The alerts raised as last recorded.
    pub async fn recorded_alerts(&self) -> Result<Vec<RecordedAlert>> {
        let rows = sqlx::query("SELECT * FROM alert_state ORDER BY alert_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(read_recorded).collect()
    }

    /// Since when each recorded alert is raised.
    pub async fn alert_since(&self) -> Result<HashMap<String, i64>> {
        let rows = sqlx::query("SELECT alert_id, since FROM alert_state")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("alert_id")?, r.try_get("since")?)))
            .collect()
    }

    /// Records the alerts of `now`: compares them with the recorded state, writes one event per
    /// transition and the new state in one transaction, drops the acknowledgements of cleared
    /// alerts, and returns the transitions. `deliver`: the events are due to the webhook at once
    /// (otherwise they are never sent).
    pub async fn record_alerts(
        &self,
        current: &[Alert],
        now: i64,
        deliver: bool,
    ) -> Result<Vec<Transition>> {
        let mut tx = self.begin_write().await?;
        self.serialise(&mut tx, LockKind::AlertLog, 0).await?;
        let previous = sqlx::query("SELECT * FROM alert_state")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(read_recorded)
            .collect::<Result<Vec<_>>>()?;
        let changes = transitions(&previous, current, now);
        let refresh = refreshed(&previous, current);
        if changes.is_empty() && refresh.is_empty() {
            return Ok(changes);
        }
        let recorded: HashMap<&str, &RecordedAlert> =
            previous.iter().map(|r| (r.alert_id.as_str(), r)).collect();

        // Events, in the order of the transitions (their ids are the webhook's order).
        let events = changes
            .iter()
            .map(|t| {
                Ok(EventRow {
                    id: &t.alert_id,
                    transition: t.transition.as_str(),
                    kind: &t.kind,
                    severity: t.severity.as_str(),
                    at: t.at,
                    summary: &t.summary,
                    objects: to_json(&t.objects)?,
                    impact: big(t.impact_phones),
                    next: deliver.then_some(now),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if !events.is_empty() {
            let rows = self.json_table(
                "$1",
                &[
                    ("id", "text"),
                    ("transition", "text"),
                    ("kind", "text"),
                    ("severity", "text"),
                    ("at", "bigint"),
                    ("summary", "text"),
                    ("objects", "text"),
                    ("impact", "bigint"),
                    ("next", "bigint"),
                ],
            );
            // One statement, rows inserted in array order: SQLite's json_each and PostgreSQL's
            // jsonb_to_recordset both return the elements in order.
            sqlx::query(&format!(
                "INSERT INTO alert_events (alert_id, transition, kind, severity, at, summary, \
                 objects, impact_phones, next_attempt_at) \
                 SELECT id, transition, kind, severity, at, summary, objects, impact, next \
                 FROM {rows} AS r"
            ))
            .bind(to_json(&events)?)
            .execute(&mut *tx)
            .await?;
        }

        // Cleared: out of the state, and their acknowledgements with them.
        let cleared: Vec<&str> = changes
            .iter()
            .filter(|t| t.transition == TransitionKind::Cleared)
            .map(|t| t.alert_id.as_str())
            .collect();
        if !cleared.is_empty() {
            let list = match self.backend {
                Backend::Sqlite => "SELECT value FROM json_each($1)",
                Backend::Postgres => "SELECT jsonb_array_elements_text(CAST($1 AS jsonb))",
            };
            let ids = to_json(&cleared)?;
            for table in ["alert_state", "alert_acks"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE alert_id IN ({list})"))
                    .bind(&ids)
                    .execute(&mut *tx)
                    .await?;
            }
        }

        // Raised, changed and refreshed: upserted, `since` kept for those already raised.
        let mut states = Vec::new();
        for t in changes
            .iter()
            .filter(|t| t.transition != TransitionKind::Cleared)
        {
            let since = recorded.get(t.alert_id.as_str()).map(|r| r.since);
            states.push(StateRow {
                id: &t.alert_id,
                kind: &t.kind,
                severity: t.severity.as_str(),
                since: since.unwrap_or(now),
                severity_since: now,
                summary: &t.summary,
                objects: to_json(&t.objects)?,
                impact: big(t.impact_phones),
            });
        }
        for a in &refresh {
            let Some(r) = recorded.get(alert_id(a).as_ref()) else {
                continue;
            };
            states.push(StateRow {
                id: &r.alert_id,
                kind: &r.kind,
                severity: a.severity.as_str(),
                since: r.since,
                severity_since: r.severity_since,
                summary: &a.summary,
                objects: to_json(&a.objects)?,
                impact: big(a.impact_phones),
            });
        }
        if !states.is_empty() {
            let rows = self.json_table(
                "$1",
                &[
                    ("id", "text"),
                    ("kind", "text"),
                    ("severity", "text"),
                    ("since", "bigint"),
                    ("severity_since", "bigint"),
                    ("summary", "text"),
                    ("objects", "text"),
                    ("impact", "bigint"),
                ],
            );
            sqlx::query(&format!(
                "INSERT INTO alert_state (alert_id, kind, severity, since, severity_since, \
                 summary, objects, impact_phones) \
                 SELECT id, kind, severity, since, severity_since, summary, objects, impact \
                 FROM {rows} AS r WHERE true \
                 ON CONFLICT (alert_id) DO UPDATE SET kind = excluded.kind, \
                 severity = excluded.severity, severity_since = excluded.severity_since, \
                 summary = excluded.summary, objects = excluded.objects, \
                 impact_phones = excluded.impact_phones"
            ))
            .bind(to_json(&states)?)
            .execute(&mut *tx)
            .await?;
        }

        // Which objects each alert has named, for the history of an object.
        let mut names = Vec::new();
        for t in changes
            .iter()
            .filter(|t| t.transition != TransitionKind::Cleared)
        {
            for (kind, name) in history_keys(&t.objects) {
                names.push(ObjectRow {
                    kind: kind.as_str(),
                    name,
                    id: &t.alert_id,
                });
            }
        }
        for a in &refresh {
            for (kind, name) in history_keys(&a.objects) {
                names.push(ObjectRow {
                    kind: kind.as_str(),
                    name,
                    id: recorded
                        .get(alert_id(a).as_ref())
                        .map_or(a.id.as_str(), |r| r.alert_id.as_str()),
                });
            }
        }
        if !names.is_empty() {
            let rows = self.json_table("$1", &[("kind", "text"), ("name", "text"), ("id", "text")]);
            sqlx::query(&format!(
                "INSERT INTO alert_objects (kind, name_key, alert_id) \
                 SELECT kind, name, id FROM {rows} AS r WHERE true \
                 ON CONFLICT (kind, name_key, alert_id) DO NOTHING"
            ))
            .bind(to_json(&names)?)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(changes)
    }

    // -----------------------------------------------------------------------------------------
    // History.

    /// The newest `limit` events of the alerts that have named the server, pool or tenant
    /// `name` (without regard to case), newest first.
    pub async fn alert_history_of(
        &self,
        kind: ObjectKind,
        name: &str,
        limit: u32,
    ) -> Result<Vec<AlertEvent>> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM alert_events WHERE alert_id IN \
             (SELECT alert_id FROM alert_objects WHERE kind = $1 AND name_key = $2) \
             ORDER BY id DESC LIMIT $3"
        ))
        .bind(kind.as_str())
        .bind(name.trim().to_ascii_lowercase())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_event).collect()
    }

    /// The newest `limit` events of one alert, newest first.
    pub async fn alert_history(&self, alert_id: &str, limit: u32) -> Result<Vec<AlertEvent>> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM alert_events WHERE alert_id = $1 \
             ORDER BY id DESC LIMIT $2"
        ))
        .bind(alert_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_event).collect()
    }

    /// Drops the events recorded before `before`, the silences that ended before it, and the
    /// object names of alerts with neither events nor a raised state left. Returns the number of
    /// events dropped.
    pub async fn purge_alert_log(&self, before: i64) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let events = sqlx::query("DELETE FROM alert_events WHERE at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM alert_silences WHERE COALESCE(removed_at, ends_at) < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?;
        if events > 0 {
            sqlx::query(
                "DELETE FROM alert_objects WHERE NOT EXISTS \
                 (SELECT 1 FROM alert_events e WHERE e.alert_id = alert_objects.alert_id) \
                 AND NOT EXISTS \
                 (SELECT 1 FROM alert_state s WHERE s.alert_id = alert_objects.alert_id)",
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(events)
    }

    // -----------------------------------------------------------------------------------------
    // The webhook's outbox.

    /// The events to deliver now, oldest first: the undelivered ones in the order they were
    /// recorded, up to the first that is not due yet (a receiver gets them in order; one that
    /// keeps failing holds the later ones back until it goes through or is purged).
    pub async fn due_alert_events(&self, now: i64, limit: u32) -> Result<Vec<AlertEvent>> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM alert_events \
             WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL ORDER BY id LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut due = Vec::new();
        for row in &rows {
            let event = read_event(row)?;
            if event.next_attempt_at.is_none_or(|at| at > now) {
                break;
            }
            due.push(event);
        }
        Ok(due)
    }

    pub async fn mark_alert_event_delivered(&self, id: i64, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE alert_events SET delivered_at = $1, attempts = attempts + 1, \
             last_error = NULL WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a failed delivery: `attempts` tried so far, the next one due at `next_at`.
    pub async fn mark_alert_event_failed(
        &self,
        id: i64,
        attempts: u32,
        next_at: i64,
        error: &str,
    ) -> Result<()> {
        let error: String = error.chars().take(500).collect();
        sqlx::query(
            "UPDATE alert_events SET attempts = $1, next_attempt_at = $2, last_error = $3 \
             WHERE id = $4 AND delivered_at IS NULL",
        )
        .bind(i64::from(attempts))
        .bind(next_at)
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
