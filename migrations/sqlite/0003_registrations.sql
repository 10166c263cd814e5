-- Where phones really are. Each server's newest snapshot replaces its current picture
-- (registrations); counts per tenant and server are maintained at ingest so that no page scans
-- registrations; phones remembers each endpoint's last server so moves can be recorded.
ALTER TABLE servers ADD COLUMN last_report_at INTEGER;
-- Start of the server's current unbroken run of reports (failback lag counts from here).
ALTER TABLE servers ADD COLUMN reporting_since INTEGER;

CREATE TABLE snapshots (
    id           INTEGER PRIMARY KEY,
    server_id    INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    received_at  INTEGER NOT NULL,
    format       TEXT    NOT NULL,
    contacts     INTEGER NOT NULL,
    registered   INTEGER NOT NULL,
    unmatched    INTEGER NOT NULL,
    actor        TEXT    NOT NULL
);
CREATE INDEX snapshots_server ON snapshots(server_id, received_at);

CREATE TABLE registrations (
    id             INTEGER PRIMARY KEY,
    server_id      INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    endpoint       TEXT    NOT NULL,
    endpoint_key   TEXT    NOT NULL,
    -- Normalised tenant code found by the matching rule or given explicitly, and the tenant it
    -- named at ingest (NULL: unmatched).
    tenant_key     TEXT,
    tenant_id      INTEGER REFERENCES tenants(id) ON DELETE SET NULL,
    contact        TEXT    NOT NULL,
    user_agent     TEXT,
    status         TEXT    NOT NULL,
    registered     INTEGER NOT NULL
);
CREATE INDEX registrations_server ON registrations(server_id, tenant_id);
CREATE INDEX registrations_tenant ON registrations(tenant_id);
CREATE INDEX registrations_endpoint ON registrations(endpoint_key);

CREATE TABLE tenant_server_counts (
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    server_id  INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    phones     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, server_id)
);
CREATE INDEX tenant_server_counts_server ON tenant_server_counts(server_id);

CREATE TABLE phones (
    endpoint_key  TEXT PRIMARY KEY,
    server_id     INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    since         INTEGER NOT NULL
);

CREATE TABLE phone_moves (
    id              INTEGER PRIMARY KEY,
    endpoint_key    TEXT    NOT NULL,
    tenant_id       INTEGER REFERENCES tenants(id) ON DELETE SET NULL,
    from_server_id  INTEGER REFERENCES servers(id) ON DELETE SET NULL,
    to_server_id    INTEGER REFERENCES servers(id) ON DELETE SET NULL,
    at              INTEGER NOT NULL
);
CREATE INDEX phone_moves_at ON phone_moves(at);
CREATE INDEX phone_moves_endpoint ON phone_moves(endpoint_key, at);
CREATE INDEX phone_moves_tenant ON phone_moves(tenant_id, at);
