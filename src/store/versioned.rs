//! Optimistic locking, written once. Every editable row carries `version`, `updated_at` and
//! `updated_by`; an edit made against version N is one conditional statement,
//! `UPDATE … SET …, version = version + 1 … WHERE <key> = $1 AND version = $2` (deletes likewise),
//! and the number of rows it touched decides. A separate read-then-check is not enough: on
//! PostgreSQL a plain transaction is READ COMMITTED, so two instances could both see version N,
//! both pass the check and the second would silently overwrite the first. The conditional
//! statement waits for the other writer's row lock and re-evaluates its WHERE against the
//! committed row, so exactly one of them wins. (SQLite serialises writers with
//! `BEGIN IMMEDIATE`, where both forms are safe; the one form serves both.)
//!
//! When no row matched, the row's current state says why: a newer version (the 409 message names
//! who changed it and when) or no row at all (deleted meanwhile).

use sqlx::{AnyConnection, Row};

use super::{Bind, Error, Result, now, stale_message};

/// A table of versioned rows, as the conditional writes and their messages need it.
pub(super) struct Versioned {
    pub table: &'static str,
    /// What a row is called in messages ("server").
    pub kind: &'static str,
    /// The column the writes address the row by.
    pub key: &'static str,
    /// The column naming the row in messages; `None`: the kind alone names it.
    pub label: Option<&'static str>,
}

pub(super) const SERVERS: Versioned = Versioned {
    table: "servers",
    kind: "server",
    key: "id",
    label: Some("name"),
};

pub(super) const POOLS: Versioned = Versioned {
    table: "pools",
    kind: "pool",
    key: "id",
    label: Some("name"),
};

pub(super) const TENANTS: Versioned = Versioned {
    table: "tenants",
    kind: "tenant",
    key: "id",
    label: Some("code"),
};

pub(super) const SETTINGS: Versioned = Versioned {
    table: "settings",
    kind: "settings",
    key: "key",
    label: None,
};

/// Why a conditional write matched no row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refused {
    /// Someone else's write came first: the row as it is now.
    Stale {
        name: String,
        by: String,
        at: i64,
        version: i64,
    },
    /// The row no longer exists.
    Gone,
}

impl Versioned {
    /// Sets `set` (column, value) on the row `key` if it is still at `version`, bumping the
    /// version and recording `actor` and the time. `Ok(None)`: written.
    pub(super) async fn try_update(
        &self,
        conn: &mut AnyConnection,
        key: &Bind,
        version: i64,
        actor: &str,
        set: &[(&str, Bind)],
    ) -> Result<Option<Refused>> {
        let mut assignments = String::new();
        for (i, (column, _)) in set.iter().enumerate() {
            assignments.push_str(&format!("{column} = ${}, ", i + 5));
        }
        let sql = format!(
            "UPDATE {} SET {assignments}version = version + 1, updated_at = $3, updated_by = $4 \
             WHERE {} = $1 AND version = $2",
            self.table, self.key
        );
        let mut query = key
            .bind(sqlx::query(&sql))
            .bind(version)
            .bind(now())
            .bind(actor);
        for (_, value) in set {
            query = value.bind(query);
        }
        let done = query.execute(&mut *conn).await?;
        self.outcome(conn, key, done.rows_affected()).await
    }

    /// Like [`Self::try_update`], refusals as errors: [`Error::Conflict`] naming who changed
    /// the row, or [`Error::NotFound`].
    pub(super) async fn update(
        &self,
        conn: &mut AnyConnection,
        key: &Bind,
        version: i64,
        actor: &str,
        set: &[(&str, Bind)],
    ) -> Result<()> {
        match self.try_update(conn, key, version, actor, set).await? {
            None => Ok(()),
            Some(refused) => Err(self.refusal(key, refused)),
        }
    }

    /// Deletes the row `key` if it is still at `version`; refusals as in [`Self::update`].
    pub(super) async fn delete(
        &self,
        conn: &mut AnyConnection,
        key: &Bind,
        version: i64,
    ) -> Result<()> {
        let sql = format!(
            "DELETE FROM {} WHERE {} = $1 AND version = $2",
            self.table, self.key
        );
        let done = key
            .bind(sqlx::query(&sql))
            .bind(version)
            .execute(&mut *conn)
            .await?;
        match self.outcome(conn, key, done.rows_affected()).await? {
            None => Ok(()),
            Some(refused) => Err(self.refusal(key, refused)),
        }
    }

    /// The error for a refused write: the existing 409 message, or not found.
    pub(super) fn refusal(&self, key: &Bind, refused: Refused) -> Error {
        match refused {
            Refused::Stale {
                name,
                by,
                at,
                version,
            } => Error::Conflict(stale_message(self.kind, &name, &by, at, version)),
            Refused::Gone => Error::NotFound {
                kind: self.kind,
                name: key.to_string(),
            },
        }
    }

    async fn outcome(
        &self,
        conn: &mut AnyConnection,
        key: &Bind,
        rows: u64,
    ) -> Result<Option<Refused>> {
        // The key is unique: the write touched its row or none.
        if rows == 0 {
            Ok(Some(self.current(conn, key).await?))
        } else {
            Ok(None)
        }
    }

    /// Who last changed the row, when, and its version now (read after a refused write; in
    /// the same transaction, so on PostgreSQL a fresh statement sees the winner's commit).
    pub(super) async fn current(&self, conn: &mut AnyConnection, key: &Bind) -> Result<Refused> {
        let label = self.label.unwrap_or("''");
        let sql = format!(
            "SELECT {label} AS label, updated_by, updated_at, version FROM {} WHERE {} = $1",
            self.table, self.key
        );
        let row = key
            .bind(sqlx::query(&sql))
            .fetch_optional(&mut *conn)
            .await?;
        Ok(match row {
            None => Refused::Gone,
            Some(r) => Refused::Stale {
                name: r.try_get("label")?,
                by: r.try_get("updated_by")?,
                at: r.try_get("updated_at")?,
                version: r.try_get("version")?,
            },
        })
    }
}
