//! The tower-sessions store over our database. Session ids are kept only as SHA-256 digests.
//!
//! Loading a session also reads its user and the data version, in the same statement (see
//! [`Store::session_load`]): they are put in the loaded record under [`SESSION_CONTEXT`], which is
//! never written back. A page on a warm cache thus costs one database round trip.
//!
//! On SQLite, which one server process owns, a loaded session is also kept in memory for
//! [`SESSION_CACHE_TTL`] (see [`SessionCache`]): a page on a warm cache then costs no round trip.

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

/// How long a session loaded on SQLite is served from memory. Changes made through this process
/// (logout, a password, a disabled account) take effect at once; those made by another process on
/// the same file (the CLI) within this time.
pub const SESSION_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// How old the data version served with a cached session may be. A reader that has written sees
/// its own write whatever this is: its [`crate::app::Seen`] floor makes the view read the version.
pub const VERSION_FRESH: std::time::Duration = std::time::Duration::from_millis(250);

/// A session as loaded: its stored data, expiry and user.
#[derive(Debug)]
pub(super) struct LoadedSession {
    pub data: String,
    pub expires_at: i64,
    pub user: Option<SessionUser>,
}

/// Sessions and the data version as recently read, shared by every clone of a [`Store`]. Used on
/// SQLite only: under load, the hand-off of each page's session query to SQLite's worker thread
/// cost more than everything else the overview does. PostgreSQL instances share their
/// sessions with other instances, so there each page still reads its session.
pub(super) struct SessionCache {
    pub sessions: moka::sync::Cache<String, std::sync::Arc<LoadedSession>>,
    /// The newest data version read, and when.
    pub version: std::sync::Mutex<Option<(DataVersion, std::time::Instant)>>,
}

impl Default for SessionCache {
    fn default() -> Self {
        Self {
            sessions: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(SESSION_CACHE_TTL)
                .build(),
            version: std::sync::Mutex::new(None),
        }
    }
}

impl SessionCache {
    /// Notes a data version just read (versions only grow: an older read never wins).
    pub fn saw_version(&self, version: DataVersion) {
        if let Ok(mut v) = self.version.lock()
            && v.is_none_or(|(known, _)| known <= version)
        {
            *v = Some((version, std::time::Instant::now()));
        }
    }

    /// The data version read less than [`VERSION_FRESH`] ago, if any.
    pub fn fresh_version(&self) -> Option<DataVersion> {
        let v = *self.version.lock().ok()?;
        v.filter(|(_, at)| at.elapsed() < VERSION_FRESH)
            .map(|(version, _)| version)
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
