-- The rules the application has always kept, now enforced by the database itself, so that no
-- other writer (a script, a manual fix, an older instance) can store a row the application
-- cannot read: enumerations hold one of their values; ports, priorities, weights, counts and
-- TTLs fit the unsigned types they are read into; versions start at 1. Adding a constraint
-- checks the rows already stored: a violating row fails this migration, naming the constraint.
-- (SQLite enforces the same rules with triggers of the same names; see its 0007.)

ALTER TABLE servers ADD CONSTRAINT servers_state_check CHECK (state IN ('active', 'maintenance', 'retired'));
ALTER TABLE servers ADD CONSTRAINT servers_sip_port_check CHECK (sip_port BETWEEN 0 AND 65535);
ALTER TABLE servers ADD CONSTRAINT servers_capacity_check CHECK (capacity IS NULL OR capacity BETWEEN 0 AND 4294967295);
ALTER TABLE servers ADD CONSTRAINT servers_version_check CHECK (version >= 1);
ALTER TABLE pools ADD CONSTRAINT pools_ttl_check CHECK (ttl BETWEEN 0 AND 4294967295);
ALTER TABLE pools ADD CONSTRAINT pools_version_check CHECK (version >= 1);
ALTER TABLE pool_members ADD CONSTRAINT pool_members_priority_check CHECK (priority BETWEEN 0 AND 65535);
ALTER TABLE pool_members ADD CONSTRAINT pool_members_weight_check CHECK (weight BETWEEN 0 AND 65535);
ALTER TABLE pool_members ADD CONSTRAINT pool_members_port_check CHECK (port IS NULL OR port BETWEEN 0 AND 65535);
ALTER TABLE tenants ADD CONSTRAINT tenants_expected_phones_check CHECK (expected_phones BETWEEN 0 AND 4294967295);
ALTER TABLE tenants ADD CONSTRAINT tenants_version_check CHECK (version >= 1);
ALTER TABLE settings ADD CONSTRAINT settings_version_check CHECK (version >= 1);
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'viewer'));
ALTER TABLE users ADD CONSTRAINT users_disabled_check CHECK (disabled IN (0, 1));
ALTER TABLE users ADD CONSTRAINT users_version_check CHECK (version >= 1);
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_scope_check CHECK (scope IN ('read', 'admin') OR (substr(scope, 1, 7) = 'ingest:' AND length(scope) > 7));
ALTER TABLE snapshots ADD CONSTRAINT snapshots_counts_check CHECK (contacts >= 0 AND registered >= 0 AND unmatched >= 0);
