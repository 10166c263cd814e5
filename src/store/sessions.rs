//! The tower-sessions store over our database. Session ids are kept only as SHA-256 digests.

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error as SessionError, Result as SessionResult, SessionStore};

use super::Store;
use crate::domain::auth::secret_digest;

#[derive(Clone)]
pub struct DbSessionStore(pub Store);

impl std::fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbSessionStore")
    }
}

fn backend(e: impl std::fmt::Display) -> SessionError {
    SessionError::Backend(e.to_string())
}

fn encode(record: &Record) -> SessionResult<String> {
    serde_json::to_string(&record.data).map_err(|e| SessionError::Encode(e.to_string()))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> SessionResult<()> {
        let data = encode(record)?;
        let expires = record.expiry_date.unix_timestamp();
        // A collision of 128-bit random ids is practically impossible, but it is handled anyway.
        loop {
            let hash = secret_digest(&record.id.to_string());
            if self
                .0
                .session_insert(&hash, &data, expires)
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> SessionResult<()> {
        let data = encode(record)?;
        self.0
            .session_save(
                &secret_digest(&record.id.to_string()),
                &data,
                record.expiry_date.unix_timestamp(),
            )
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> SessionResult<Option<Record>> {
        let Some((data, expires)) = self
            .0
            .session_load(&secret_digest(&id.to_string()))
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&data).map_err(|e| SessionError::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(expires)
            .map_err(|e| SessionError::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> SessionResult<()> {
        self.0
            .session_delete(&secret_digest(&id.to_string()))
            .await
            .map_err(backend)
    }
}
