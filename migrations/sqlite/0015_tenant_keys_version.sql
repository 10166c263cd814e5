-- A counter that moves whenever a tenant code could match registrations differently (a tenant
-- created, renamed or deleted), and the counter's value at each server's last re-match of its
-- stored registrations. An ingest re-matches the rows it keeps unchanged only when the counter
-- moved since: a push that repeats a report then reads no registration row twice.
CREATE TABLE tenant_keys_version (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
);
INSERT INTO tenant_keys_version (id, version) VALUES (1, 1);

CREATE TRIGGER tenant_keys_insert AFTER INSERT ON tenants
BEGIN
    UPDATE tenant_keys_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER tenant_keys_delete AFTER DELETE ON tenants
BEGIN
    UPDATE tenant_keys_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER tenant_keys_rename AFTER UPDATE OF code_key ON tenants
BEGIN
    UPDATE tenant_keys_version SET version = version + 1 WHERE id = 1;
END;

-- Each server's value of the counter at its last re-match; no row: never re-matched, so the
-- first ingest after the upgrade re-matches once. (A table of its own rather than a column of
-- servers: `SELECT *` statements prepared before the upgrade keep their shape.)
CREATE TABLE server_match_state (
    server_id     INTEGER PRIMARY KEY REFERENCES servers (id) ON DELETE CASCADE,
    keys_version  INTEGER NOT NULL
);
