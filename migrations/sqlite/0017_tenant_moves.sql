-- Tenant moves: a tenant's pool changed while it had registered phones, so its phones must be
-- re-provisioned with the new pool's SRV name. A move is in flight (`moving`, or `stalled` past
-- its deadline) until enough phones reached the new pool's home servers (`done`), or it is
-- `cancelled` (by an admin, by a change back to its old pool, superseded by another change, or
-- the tenant taken out of every pool). At most one move per tenant is in flight.
CREATE TABLE tenant_moves (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    from_pool_id    INTEGER REFERENCES pools (id) ON DELETE SET NULL,
    to_pool_id      INTEGER REFERENCES pools (id) ON DELETE SET NULL,
    -- The pool names when the move started: a pool deleted later still names the move.
    from_pool       TEXT    NOT NULL,
    to_pool         TEXT    NOT NULL,
    started_at      INTEGER NOT NULL,
    started_by      TEXT    NOT NULL,
    phones_at_start INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('moving', 'done', 'stalled', 'cancelled')),
    -- Why it ended (`done`, `cancelled`, `changed back`, `superseded`, `unplaced`); NULL in flight.
    end_reason      TEXT,
    ended_at        INTEGER,
    ended_by        TEXT,
    -- Phones on the new pool's home servers / registered, as last measured.
    at_new_home     INTEGER NOT NULL DEFAULT 0,
    registered      INTEGER NOT NULL DEFAULT 0,
    version         INTEGER NOT NULL DEFAULT 1
);
-- One move in flight per tenant, and the lookup of it.
CREATE UNIQUE INDEX tenant_moves_in_flight ON tenant_moves (tenant_id)
    WHERE state IN ('moving', 'stalled');
CREATE INDEX tenant_moves_tenant ON tenant_moves (tenant_id, id);
CREATE INDEX tenant_moves_state ON tenant_moves (state, started_at);
