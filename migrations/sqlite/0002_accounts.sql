-- Accounts: users (argon2id hashes), server-side sessions, API tokens (SHA-256 hashes), and the
-- failed-login record that throttling reads. Shared by every dashboard instance on the database.
CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    role           TEXT    NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    last_login_at  INTEGER,
    version        INTEGER NOT NULL DEFAULT 1,
    updated_at     INTEGER NOT NULL,
    updated_by     TEXT    NOT NULL,
    CONSTRAINT users_name_key UNIQUE (name)
);

CREATE TABLE sessions (
    -- SHA-256 of the session id: a copy of the table does not yield usable cookies.
    id_hash     TEXT PRIMARY KEY,
    data        TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions(expires_at);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL,
    scope         TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    TEXT    NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER,
    CONSTRAINT api_tokens_name_key UNIQUE (name),
    CONSTRAINT api_tokens_hash_key UNIQUE (token_hash)
);

CREATE TABLE login_failures (
    id    INTEGER PRIMARY KEY,
    key   TEXT    NOT NULL,
    at    INTEGER NOT NULL
);
CREATE INDEX login_failures_key ON login_failures(key, at);
