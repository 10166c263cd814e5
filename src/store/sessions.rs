//! The tower-sessions store over our database. Session ids are kept only as SHA-256 digests.
//!
//! Loading a session also reads its user and the data version, in the same statement (see
//! [`Store::session_load`]): they are put in the loaded record under [`SESSION_CONTEXT`], which is
//! never written back. A page on a warm cache thus costs one database round trip.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error as SessionError, Result as SessionResult, SessionStore};

use super::{DataVersion, Store};
use crate::domain::auth::{Role, credentials_fingerprint, secret_digest};
use crate::domain::ids::UserId;

/// The key of the session's data that names its user.
pub const SESSION_USER: &str = "user_id";
/// The key under which a loaded record carries its [`SessionContext`]; not stored.
pub const SESSION_CONTEXT: &str = "__context";

/// What was read with the session: its user (none when the account is gone) and the current
/// data version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionContext {
    pub user: Option<SessionUser>,
    pub data_version: DataVersion,
}

/// The user of a session, as authentication needs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: UserId,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub time_zone: Option<String>,
    /// The [`crate::domain::auth::credentials_fingerprint`] of the user's current password.
    pub credentials: String,
}

impl SessionUser {
    pub fn of(u: super::User) -> Self {
        Self {
            credentials: credentials_fingerprint(&u.password_hash),
            id: u.id,
            name: u.name,
            role: u.role,
            disabled: u.disabled,
            time_zone: u.time_zone,
        }
    }
}

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

/// The record's data as stored: without the [`SESSION_CONTEXT`] read with it.
fn encode(record: &Record) -> SessionResult<String> {
    let stored: std::collections::BTreeMap<&String, &serde_json::Value> = record
        .data
        .iter()
        .filter(|(k, _)| k.as_str() != SESSION_CONTEXT)
        .collect();
    serde_json::to_string(&stored).map_err(|e| SessionError::Encode(e.to_string()))
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
        let Some((data, expires, context)) = self
            .0
            .session_load(&secret_digest(&id.to_string()))
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let mut data: std::collections::HashMap<String, serde_json::Value> =
            serde_json::from_str(&data).map_err(|e| SessionError::Decode(e.to_string()))?;
        data.insert(
            SESSION_CONTEXT.to_string(),
            serde_json::to_value(context).map_err(|e| SessionError::Encode(e.to_string()))?,
        );
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
