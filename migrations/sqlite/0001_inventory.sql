-- Inventory: servers, SRV pools and their members, tenants, settings, audit log.
-- Times are Unix seconds (UTC); every editable row carries a version for optimistic locking.
CREATE TABLE servers (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    host        TEXT    NOT NULL,
    sip_port    INTEGER NOT NULL DEFAULT 5060,
    capacity    INTEGER,
    site        TEXT,
    state       TEXT    NOT NULL DEFAULT 'active',
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT    NOT NULL,
    CONSTRAINT servers_name_key UNIQUE (name)
);

CREATE TABLE pools (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    srv_name    TEXT    NOT NULL,
    ttl         INTEGER NOT NULL DEFAULT 86400,
    transports  TEXT    NOT NULL DEFAULT 'udp',
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT    NOT NULL,
    CONSTRAINT pools_name_key UNIQUE (name)
);

CREATE TABLE pool_members (
    id          INTEGER PRIMARY KEY,
    pool_id     INTEGER NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    server_id   INTEGER NOT NULL REFERENCES servers(id) ON DELETE RESTRICT,
    position    INTEGER NOT NULL,
    priority    INTEGER NOT NULL,
    weight      INTEGER NOT NULL,
    port        INTEGER
);
CREATE INDEX pool_members_pool ON pool_members(pool_id);
CREATE INDEX pool_members_server ON pool_members(server_id);

CREATE TABLE tenants (
    id               INTEGER PRIMARY KEY,
    code             TEXT    NOT NULL,
    -- lower(code): codes are matched to SIP usernames without regard to case.
    code_key         TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    expected_phones  INTEGER NOT NULL DEFAULT 0,
    pool_id          INTEGER REFERENCES pools(id) ON DELETE RESTRICT,
    notes            TEXT    NOT NULL DEFAULT '',
    version          INTEGER NOT NULL DEFAULT 1,
    updated_at       INTEGER NOT NULL,
    updated_by       TEXT    NOT NULL,
    CONSTRAINT tenants_code_key UNIQUE (code_key)
);
CREATE INDEX tenants_pool ON tenants(pool_id);
CREATE INDEX tenants_name ON tenants(name);
CREATE INDEX tenants_phones ON tenants(expected_phones);

CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT    NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT    NOT NULL
);

CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    object_kind  TEXT    NOT NULL,
    object_name  TEXT    NOT NULL,
    before       TEXT,
    after        TEXT
);
CREATE INDEX audit_log_object ON audit_log(object_kind, object_name);
CREATE INDEX audit_log_actor ON audit_log(actor);
