//! Users, API tokens, login-attempt counters, and the server-side session store. All of it lives in
//! the shared database so several dashboard instances behind a load balancer agree on who is
//! logged in, which tokens are valid and how many passwords were tried.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::snapshot;
use super::sessions::{LoadedSession, SESSION_USER, SessionContext, SessionUser};
use super::{Backend, Error, Fields, Result, ResultExt, Store, now};
use crate::domain::auth::{Role, Scope, secret_digest};
use crate::domain::ids::UserId;

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub version: i64,
    /// IANA time zone the user reads times in; `None` is UTC.
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub created_at: i64,
    pub created_by: String,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

fn user_from_row(r: &AnyRow) -> Result<User> {
    let f = Fields::new(r, "users")?;
    let disabled = match f.get::<i64>("disabled")? {
        0 => false,
        1 => true,
        other => return Err(f.corrupt(format!("disabled is {other}, neither 0 nor 1"))),
    };
    Ok(User {
        id: UserId::new(f.id()),
        name: f.get("name")?,
        password_hash: f.get("password_hash")?,
        // An unknown role is not quietly a viewer: it is a row to repair.
        role: f.parse("role", str::parse)?,
        disabled,
        created_at: f.get("created_at")?,
        last_login_at: f.get("last_login_at")?,
        version: f.get("version")?,
        time_zone: f.get("time_zone")?,
    })
}

fn token_from_row(r: &AnyRow) -> Result<ApiToken> {
    let f = Fields::new(r, "api_tokens")?;
    // Kept as text (the caller parses it into a [`Scope`] again), but checked here, so that a
    // token with an unreadable scope fails as corrupt data naming the row.
    let scope: String = f.get("scope")?;
    f.parse::<Scope>("scope", str::parse)?;
    Ok(ApiToken {
        id: f.id(),
        name: f.get("name")?,
        scope,
        created_at: f.get("created_at")?,
        created_by: f.get("created_by")?,
        last_used_at: f.get("last_used_at")?,
        revoked_at: f.get("revoked_at")?,
    })
}

#[derive(Serialize)]
struct UserSnapshot<'a> {
    name: &'a str,
    role: Role,
    disabled: bool,
}

/// The audit entry of the sessions a password change ended.
#[derive(Serialize)]
struct EndedSessions {
    because: &'static str,
    kept: &'static str,
}

/// How often a token's `last_used_at` is rewritten: once a minute is precise enough and keeps a
/// busy ingest token from turning every push into two writes.
const LAST_USED_GRANULARITY: i64 = 60;

impl Store {
    pub async fn user_count(&self) -> Result<u64> {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(n as u64)
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn user(&self, id: UserId) -> Result<User> {
        let row = sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "user",
                name: id.to_string(),
            })?;
        user_from_row(&row)
    }

    pub async fn user_by_name(&self, name: &str) -> Result<User> {
        let row = sqlx::query("SELECT * FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "user",
                name: name.to_string(),
            })?;
        user_from_row(&row)
    }

    /// Creates a user. With `only_if_none`, refuses when any user exists: the first-admin setup
    /// link must not work twice, even when two instances race.
    pub async fn create_user(
        &self,
        name: &str,
        password_hash: &str,
        role: Role,
        actor: &str,
        only_if_none: bool,
    ) -> Result<User> {
        let mut tx = self.audited(actor).await?;
        if only_if_none {
            let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users")
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if n > 0 {
                return Err(Error::InUse(
                    "an administrator already exists; log in instead".into(),
                ));
            }
        }
        let at = now();
        let row = sqlx::query(
            "INSERT INTO users (name, password_hash, role, created_at, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $4, $5) RETURNING *",
        )
        .bind(name)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(at)
        .bind(actor)
        .fetch_one(&mut *tx)
        .await
        .on_unique("users_name_key", "users.name", "name", || {
            format!("a user named {name:?} already exists")
        })?;
        let user = user_from_row(&row)?;
        let snap = UserSnapshot {
            name,
            role,
            disabled: false,
        };
        tx.record("create", "user", name, None, snapshot(&snap))
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn set_user_disabled(&self, name: &str, disabled: bool, actor: &str) -> Result<User> {
        let mut tx = self.audited(actor).await?;
        let before = sqlx::query("SELECT * FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "user",
                name: name.to_string(),
            })?;
        let before = user_from_row(&before)?;
        let row = sqlx::query(
            "UPDATE users SET disabled = $1, version = version + 1, updated_at = $2, updated_by = $3 \
             WHERE id = $4 RETURNING *",
        )
        .bind(i64::from(disabled))
        .bind(now())
        .bind(actor)
        .bind(before.id)
        .fetch_one(&mut *tx)
        .await?;
        let after = user_from_row(&row)?;
        tx.record(
            if disabled { "disable" } else { "enable" },
            "user",
            name,
            snapshot(&UserSnapshot {
                name,
                role: before.role,
                disabled: before.disabled,
            }),
            snapshot(&UserSnapshot {
                name,
                role: after.role,
                disabled: after.disabled,
            }),
        )
        .await?;
        tx.commit().await?;
        self.forget_loaded_sessions();
        Ok(after)
    }

    /// Sets a user's password, which ends every session of theirs: a session carries a
    /// fingerprint of the hash it was opened with and ends when it no longer matches
    /// ([`crate::domain::auth::credentials_fingerprint`]). With `keeps_own_session` the caller
    /// refreshes the session that made the change; the audit log records which it was.
    pub async fn set_user_password(
        &self,
        name: &str,
        password_hash: &str,
        actor: &str,
        keeps_own_session: bool,
    ) -> Result<()> {
        let mut tx = self.audited(actor).await?;
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1, version = version + 1, updated_at = $2, updated_by = $3 WHERE name = $4",
        )
        .bind(password_hash)
        .bind(now())
        .bind(actor)
        .bind(name)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound {
                kind: "user",
                name: name.to_string(),
            });
        }
        // The hash itself is never audited.
        tx.record("password", "user", name, None, None).await?;
        let ended = EndedSessions {
            because: "password changed",
            kept: if keeps_own_session {
                "the session that made the change"
            } else {
                "none"
            },
        };
        tx.record("end-sessions", "user", name, None, snapshot(&ended))
            .await?;
        tx.commit().await?;
        self.forget_loaded_sessions();
        Ok(())
    }

    pub async fn set_user_time_zone(&self, user_id: UserId, time_zone: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE users SET time_zone = $1 WHERE id = $2")
            .bind(time_zone)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        self.forget_loaded_sessions();
        Ok(())
    }

    pub async fn record_login(&self, user_id: UserId) -> Result<()> {
        sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(now())
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Counts one more login attempt for `key` (a user name or a client address) and returns
    /// the attempts of the current window, this one included. A window opens at a key's first
    /// attempt and lasts `window` seconds. One statement counts and reads, so concurrent attempts
    /// each get their own number: a count read first and recorded later let 30 guesses sent at
    /// once all through (both backends evaluate every `SET` against the row as it was).
    pub async fn count_login_attempt(&self, key: &str, window: i64) -> Result<u64> {
        let at = now();
        let n: i64 = sqlx::query(
            "INSERT INTO login_throttle (key, window_start, attempts) VALUES ($1, $2, 1) \
             ON CONFLICT (key) DO UPDATE SET \
             attempts = CASE WHEN login_throttle.window_start <= $3 THEN 1 \
                             ELSE login_throttle.attempts + 1 END, \
             window_start = CASE WHEN login_throttle.window_start <= $3 THEN $2 \
                                 ELSE login_throttle.window_start END \
             RETURNING attempts",
        )
        .bind(key)
        .bind(at)
        .bind(at - window)
        .fetch_one(&self.pool)
        .await?
        .try_get("attempts")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Takes one counted attempt of `key` back (a password that turned out right).
    pub async fn uncount_login_attempt(&self, key: &str) -> Result<()> {
        sqlx::query(
            "UPDATE login_throttle SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0",
        )
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn clear_login_attempts(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_throttle WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Drops the counters whose `window`-second window has closed; returns how many.
    pub async fn purge_login_attempts(&self, window: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM login_throttle WHERE window_start <= $1")
            .bind(now() - window)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Stores a new token's digest; the secret itself is shown once by the caller and never kept.
    pub async fn create_token(
        &self,
        name: &str,
        secret: &str,
        scope: &Scope,
        actor: &str,
    ) -> Result<ApiToken> {
        let mut tx = self.audited(actor).await?;
        let row = sqlx::query(
            "INSERT INTO api_tokens (name, token_hash, scope, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5) RETURNING *",
        )
        .bind(name)
        .bind(secret_digest(secret))
        .bind(scope.to_string())
        .bind(now())
        .bind(actor)
        .fetch_one(&mut *tx)
        .await
        .on_unique("api_tokens_name_key", "api_tokens.name", "name", || {
            format!("a token named {name:?} already exists")
        })?;
        let token = token_from_row(&row)?;
        tx.record("create", "token", name, None, snapshot(&token))
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    pub async fn tokens(&self) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query("SELECT * FROM api_tokens ORDER BY revoked_at IS NOT NULL, name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    pub async fn revoke_token(&self, name: &str, actor: &str) -> Result<ApiToken> {
        let mut tx = self.audited(actor).await?;
        let row = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL RETURNING *",
        )
        .bind(now())
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::NotFound { kind: "active token", name: name.to_string() })?;
        let token = token_from_row(&row)?;
        tx.record("revoke", "token", name, None, snapshot(&token))
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The live token whose secret is `secret`, recording its use.
    pub async fn authenticate_token(&self, secret: &str) -> Result<Option<ApiToken>> {
        let row =
            sqlx::query("SELECT * FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
                .bind(secret_digest(secret))
                .fetch_optional(&self.pool)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let token = token_from_row(&row)?;
        let at = now();
        if token
            .last_used_at
            .is_none_or(|t| at - t >= LAST_USED_GRANULARITY)
        {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(at)
                .bind(token.id)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(token))
    }

    // --- sessions (the tower-sessions store below calls these) ---

    /// The session `id_hash` if it has not expired, with what every page needs besides it,
    /// read in the same statement: the user it was opened for (the `user_id` of its data) and
    /// the current data version. One round trip for a page on a warm cache; none on SQLite when
    /// the session was loaded less than a second ago and the version read less than
    /// [`super::sessions::VERSION_FRESH`] ago.
    pub(crate) async fn session_load(
        &self,
        id_hash: &str,
    ) -> Result<Option<(String, i64, SessionContext)>> {
        if self.backend == Backend::Sqlite
            && let Some(loaded) = self.recent.sessions.get(id_hash)
            && loaded.expires_at > now()
        {
            let data_version = match self.recent.fresh_version() {
                Some(v) => v,
                None => self.data_version().await?,
            };
            return Ok(Some((
                loaded.data.clone(),
                loaded.expires_at,
                SessionContext {
                    user: loaded.user.clone(),
                    data_version,
                },
            )));
        }
        let user_id = match self.backend {
            Backend::Sqlite => format!("json_extract(s.data, '$.{SESSION_USER}')"),
            Backend::Postgres => {
                format!("CAST(CAST(s.data AS json) ->> '{SESSION_USER}' AS BIGINT)")
            }
        };
        let row = sqlx::query(&format!(
            "SELECT s.data AS session_data, s.expires_at AS session_expires_at, u.*, \
             (SELECT version FROM data_version WHERE id = 1) AS current_data_version \
             FROM sessions s LEFT JOIN users u ON u.id = {user_id} \
             WHERE s.id_hash = $1 AND s.expires_at > $2"
        ))
        .bind(id_hash)
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let user = match r.try_get::<Option<i64>, _>("id")? {
            Some(_) => Some(SessionUser::of(user_from_row(&r)?)),
            None => None,
        };
        let loaded = LoadedSession {
            data: r.try_get("session_data")?,
            expires_at: r.try_get("session_expires_at")?,
            user,
        };
        let data_version = r.try_get("current_data_version")?;
        self.recent.saw_version(data_version);
        let context = SessionContext {
            user: loaded.user.clone(),
            data_version,
        };
        let found = (loaded.data.clone(), loaded.expires_at, context);
        if self.backend == Backend::Sqlite {
            self.recent
                .sessions
                .insert(id_hash.to_string(), std::sync::Arc::new(loaded));
        }
        Ok(Some(found))
    }

    /// Forgets the sessions loaded into memory: after a change to a session or a user, the
    /// next page of every session reads it again.
    fn forget_loaded_sessions(&self) {
        self.recent.sessions.invalidate_all();
    }

    /// Inserts a new session; false when the id is taken (the caller draws another).
    pub(crate) async fn session_insert(
        &self,
        id_hash: &str,
        data: &str,
        expires_at: i64,
    ) -> Result<bool> {
        let res =
            sqlx::query("INSERT INTO sessions (id_hash, data, expires_at) VALUES ($1, $2, $3)")
                .bind(id_hash)
                .bind(data)
                .bind(expires_at)
                .execute(&self.pool)
                .await;
        match res {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn session_save(
        &self,
        id_hash: &str,
        data: &str,
        expires_at: i64,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let updated =
            sqlx::query("UPDATE sessions SET data = $1, expires_at = $2 WHERE id_hash = $3")
                .bind(data)
                .bind(expires_at)
                .bind(id_hash)
                .execute(&mut *tx)
                .await?;
        if updated.rows_affected() == 0 {
            sqlx::query("INSERT INTO sessions (id_hash, data, expires_at) VALUES ($1, $2, $3)")
                .bind(id_hash)
                .bind(data)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.recent.sessions.invalidate(id_hash);
        Ok(())
    }

    pub(crate) async fn session_delete(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        self.recent.sessions.invalidate(id_hash);
        Ok(())
    }

    /// Removes expired sessions; returns how many.
    pub async fn purge_expired_sessions(&self) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
