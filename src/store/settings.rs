//! Settings: one versioned JSON document, so a form saves all of them together.

use sqlx::Row;

use super::audit::{record, snapshot};
use super::{Error, Result, Store, now, stale_message};
use crate::domain::settings::Settings;

const KEY: &str = "settings";

impl Store {
    /// The settings and their version (0 while never saved: the defaults).
    pub async fn settings(&self) -> Result<(Settings, i64)> {
        let row = sqlx::query("SELECT value, version FROM settings WHERE key = $1")
            .bind(KEY)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => {
                let value: String = r.try_get("value")?;
                (
                    serde_json::from_str(&value).unwrap_or_default(),
                    r.try_get("version")?,
                )
            }
            None => (Settings::default(), 0),
        })
    }

    pub async fn save_settings(
        &self,
        settings: &Settings,
        version: i64,
        actor: &str,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT value, version, updated_at, updated_by FROM settings WHERE key = $1",
        )
        .bind(KEY)
        .fetch_optional(&mut *tx)
        .await?;
        let value = serde_json::to_string(settings).map_err(|e| Error::Conflict(e.to_string()))?;
        let (before, new_version) = match row {
            None if version == 0 => {
                sqlx::query("INSERT INTO settings (key, value, version, updated_at, updated_by) VALUES ($1, $2, 1, $3, $4)")
                    .bind(KEY)
                    .bind(&value)
                    .bind(now())
                    .bind(actor)
                    .execute(&mut *tx)
                    .await?;
                (None, 1)
            }
            Some(r) if r.try_get::<i64, _>("version")? == version => {
                sqlx::query("UPDATE settings SET value = $1, version = version + 1, updated_at = $2, updated_by = $3 WHERE key = $4")
                    .bind(&value)
                    .bind(now())
                    .bind(actor)
                    .bind(KEY)
                    .execute(&mut *tx)
                    .await?;
                (Some(r.try_get::<String, _>("value")?), version + 1)
            }
            Some(r) => {
                return Err(Error::Conflict(stale_message(
                    "settings",
                    "",
                    &r.try_get::<String, _>("updated_by")?,
                    r.try_get("updated_at")?,
                    r.try_get("version")?,
                )));
            }
            None => {
                return Err(Error::Conflict(
                    "the settings were changed by someone else; reload the page".into(),
                ));
            }
        };
        record(
            &mut tx,
            actor,
            "update",
            "settings",
            "settings",
            before,
            snapshot(settings),
        )
        .await?;
        tx.commit().await?;
        Ok(new_version)
    }
}
