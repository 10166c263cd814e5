//! Settings: one versioned JSON document, so a form saves all of them together.

use sqlx::Row;

use super::audit::snapshot;
use super::versioned::{Refused, SETTINGS};
use super::{Bind, Error, Result, Store, corrupt, excerpt, now};
use crate::domain::settings::Settings;

const KEY: &str = "settings";

impl Store {
    /// The settings and their version (0 while never saved: the defaults). A stored document
    /// that does not parse is an error, not the defaults: the admin would otherwise be shown
    /// (and might save over) values nobody chose.
    pub async fn settings(&self) -> Result<(Settings, i64)> {
        let row = sqlx::query("SELECT value, version FROM settings WHERE key = $1")
            .bind(KEY)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => {
                let value: String = r.try_get("value")?;
                let settings = serde_json::from_str(&value).map_err(|e| {
                    let value = excerpt(&value);
                    corrupt(
                        "settings",
                        KEY,
                        format!("value {value} is not a settings document: {e}"),
                    )
                })?;
                (settings, r.try_get("version")?)
            }
            None => (Settings::default(), 0),
        })
    }

    /// Saves the settings if they are still at `version` (0: never saved); returns the new
    /// version.
    pub async fn save_settings(
        &self,
        settings: &Settings,
        version: i64,
        actor: &str,
    ) -> Result<i64> {
        let value = serde_json::to_string(settings).map_err(|e| Error::Conflict(e.to_string()))?;
        let key = Bind::Text(KEY.into());
        let mut tx = self.audited(actor).await?;
        let before: Option<String> = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(KEY)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get("value"))
            .transpose()?;
        let refused = if version == 0 {
            // The first save: whoever inserts first wins, the other is refused as stale.
            let inserted = sqlx::query(
                "INSERT INTO settings (key, value, version, updated_at, updated_by) \
                 VALUES ($1, $2, 1, $3, $4) ON CONFLICT (key) DO NOTHING",
            )
            .bind(KEY)
            .bind(&value)
            .bind(now())
            .bind(actor)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                Some(SETTINGS.current(&mut tx, &key).await?)
            } else {
                None
            }
        } else {
            SETTINGS
                .try_update(
                    &mut tx,
                    &key,
                    version,
                    actor,
                    &[("value", Bind::Text(value))],
                )
                .await?
        };
        match refused {
            None => {}
            Some(Refused::Gone) => {
                return Err(Error::Conflict(
                    "the settings were changed by someone else; reload the page".into(),
                ));
            }
            Some(stale) => return Err(SETTINGS.refusal(&key, stale)),
        }
        // The webhook secret stays out of the audit log.
        let before = before.map(|text| match serde_json::from_str::<Settings>(&text) {
            Ok(old) => snapshot(&old.redacted()).unwrap_or(text),
            Err(_) => text,
        });
        tx.record(
            "update",
            "settings",
            "settings",
            before,
            snapshot(&settings.redacted()),
        )
        .await?;
        tx.commit().await?;
        Ok(version + 1)
    }
}
