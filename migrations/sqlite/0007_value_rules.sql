-- The rules the application has always kept, now enforced by the database itself, so that no
-- other writer (a script, a manual fix, an older instance) can store a row the application
-- cannot read: enumerations hold one of their values; ports, priorities, weights, counts and
-- TTLs fit the unsigned types they are read into; versions start at 1.
--
-- PostgreSQL gets CHECK constraints (its 0007). SQLite cannot add a CHECK constraint to an
-- existing table; the alternative, rebuilding each table (the 12-step procedure of
-- https://www.sqlite.org/lang_altertable.html#otheralter), would have to run outside a
-- transaction with foreign keys switched off on a pooled connection and copy every row of
-- tables that others reference with ON DELETE CASCADE. Instead each rule is a pair of
-- validation triggers (BEFORE INSERT, BEFORE UPDATE OF its columns) that abort the statement
-- with a message naming the rule; they are created inside this migration's transaction like
-- any other change. The trigger names are the PostgreSQL constraint names with _insert/_update.
--
-- A later migration that rebuilds one of these tables must create its triggers again.

CREATE TRIGGER servers_state_check_insert BEFORE INSERT ON servers
WHEN NOT (NEW.state IN ('active', 'maintenance', 'retired'))
BEGIN SELECT RAISE(ABORT, 'servers.state must be active, maintenance or retired (servers_state_check)'); END;
CREATE TRIGGER servers_state_check_update BEFORE UPDATE OF state ON servers
WHEN NOT (NEW.state IN ('active', 'maintenance', 'retired'))
BEGIN SELECT RAISE(ABORT, 'servers.state must be active, maintenance or retired (servers_state_check)'); END;

CREATE TRIGGER servers_sip_port_check_insert BEFORE INSERT ON servers
WHEN NOT (NEW.sip_port BETWEEN 0 AND 65535)
BEGIN SELECT RAISE(ABORT, 'servers.sip_port must be between 0 and 65535 (servers_sip_port_check)'); END;
CREATE TRIGGER servers_sip_port_check_update BEFORE UPDATE OF sip_port ON servers
WHEN NOT (NEW.sip_port BETWEEN 0 AND 65535)
BEGIN SELECT RAISE(ABORT, 'servers.sip_port must be between 0 and 65535 (servers_sip_port_check)'); END;

CREATE TRIGGER servers_capacity_check_insert BEFORE INSERT ON servers
WHEN NOT (NEW.capacity IS NULL OR NEW.capacity BETWEEN 0 AND 4294967295)
BEGIN SELECT RAISE(ABORT, 'servers.capacity must be empty or between 0 and 4294967295 (servers_capacity_check)'); END;
CREATE TRIGGER servers_capacity_check_update BEFORE UPDATE OF capacity ON servers
WHEN NOT (NEW.capacity IS NULL OR NEW.capacity BETWEEN 0 AND 4294967295)
BEGIN SELECT RAISE(ABORT, 'servers.capacity must be empty or between 0 and 4294967295 (servers_capacity_check)'); END;

CREATE TRIGGER servers_version_check_insert BEFORE INSERT ON servers
WHEN NOT (NEW.version >= 1)
BEGIN SELECT RAISE(ABORT, 'servers.version must be at least 1 (servers_version_check)'); END;
CREATE TRIGGER servers_version_check_update BEFORE UPDATE OF version ON servers
WHEN NOT (NEW.version >= 1)
BEGIN SELECT RAISE(ABORT, 'servers.version must be at least 1 (servers_version_check)'); END;

CREATE TRIGGER pools_ttl_check_insert BEFORE INSERT ON pools
WHEN NOT (NEW.ttl BETWEEN 0 AND 4294967295)
BEGIN SELECT RAISE(ABORT, 'pools.ttl must be between 0 and 4294967295 (pools_ttl_check)'); END;
CREATE TRIGGER pools_ttl_check_update BEFORE UPDATE OF ttl ON pools
WHEN NOT (NEW.ttl BETWEEN 0 AND 4294967295)
BEGIN SELECT RAISE(ABORT, 'pools.ttl must be between 0 and 4294967295 (pools_ttl_check)'); END;

CREATE TRIGGER pools_version_check_insert BEFORE INSERT ON pools
WHEN NOT (NEW.version >= 1)
BEGIN SELECT RAISE(ABORT, 'pools.version must be at least 1 (pools_version_check)'); END;
CREATE TRIGGER pools_version_check_update BEFORE UPDATE OF version ON pools
WHEN NOT (NEW.version >= 1)
BEGIN SELECT RAISE(ABORT, 'pools.version must be at least 1 (pools_version_check)'); END;

CREATE TRIGGER pool_members_priority_check_insert BEFORE INSERT ON pool_members
WHEN NOT (NEW.priority BETWEEN 0 AND 65535)
BEGIN SELECT RAISE(ABORT, 'pool_members.priority must be between 0 and 65535 (pool_members_priority_check)'); END;
CREATE TRIGGER pool_members_priority_check_update BEFORE UPDATE OF priority ON pool_members
WHEN NOT (NEW.priority BETWEEN 0 AND 65535)
BEGIN SELECT RAISE(ABORT, 'pool_members.priority must be between 0 and 65535 (pool_members_priority_check)'); END;

CREATE TRIGGER pool_members_weight_check_insert BEFORE INSERT ON pool_members
WHEN NOT (NEW.weight BETWEEN 0 AND 65535)
BEGIN SELECT RAISE(ABORT, 'pool_members.weight must be between 0 and 65535 (pool_members_weight_check)'); END;
CREATE TRIGGER pool_members_weight_check_update BEFORE UPDATE OF weight ON pool_members
WHEN NOT (NEW.weight BETWEEN 0 AND 65535)
BEGIN SELECT RAISE(ABORT, 'pool_members.weight must be between 0 and 65535 (pool_members_weight_check)'); END;

CREATE TRIGGER pool_members_port_check_insert BEFORE INSERT ON pool_members
WHEN NOT (NEW.port IS NULL OR NEW.port BETWEEN 0 AND 65535)
BEGIN SELECT RAISE(ABORT, 'pool_members.port must be empty or between 0 and 65535 (pool_members_port_check)'); END;
CREATE TRIGGER pool_members_port_check_update BEFORE UPDATE OF port ON pool_members
WHEN NOT (NEW.port IS NULL OR NEW.port BETWEEN 0 AND 65535)
BEGIN SELECT RAISE(ABORT, 'pool_members.port must be empty or between 0 and 65535 (pool_members_port_check)'); END;

CREATE TRIGGER tenants_expected_phones_check_insert BEFORE INSERT ON tenants
WHEN NOT (NEW.expected_phones BETWEEN 0 AND 4294967295)
BEGIN SELECT RAISE(ABORT, 'tenants.expected_phones must be between 0 and 4294967295 (tenants_expected_phones_check)'); END;
CREATE TRIGGER tenants_expected_phones_check_update BEFORE UPDATE OF expected_phones ON tenants
WHEN NOT (NEW.expected_phones BETWEEN 0 AND 4294967295)
BEGIN SELECT RAISE(ABORT, 'tenants.expected_phones must be between 0 and 4294967295 (tenants_expected_phones_check)'); END;

CREATE TRIGGER tenants_version_check_insert BEFORE INSERT ON tenants
WHEN NOT (NEW.version >= 1)
BEGIN SELECT RAISE(ABORT, 'tenants.version must be at least 1 (tenants_version_check)'); END;
CREATE TRIGGER tenants_version_check_update BEFORE UPDATE OF version ON tenants
WHEN NOT (NEW.version >= 1)
BEGIN SELECT RAISE(ABORT, 'tenants.version must be at least 1 (tenants_version_check)'); END;

CREATE TRIGGER settings_version_check_insert BEFORE INSERT ON settings
WHEN NOT (NEW.version >= 1)
BEGIN SELECT RAISE(ABORT, 'settings.version must be at least 1 (settings_version_check)'); END;
CREATE TRIGGER settings_version_check_update BEFORE UPDATE OF version ON settings
WHEN NOT (NEW.version >= 1)
BEGIN SELECT RAISE(ABORT, 'settings.version must be at least 1 (settings_version_check)'); END;

CREATE TRIGGER users_role_check_insert BEFORE INSERT ON users
WHEN NOT (NEW.role IN ('admin', 'viewer'))
BEGIN SELECT RAISE(ABORT, 'users.role must be admin or viewer (users_role_check)'); END;
CREATE TRIGGER users_role_check_update BEFORE UPDATE OF role ON users
WHEN NOT (NEW.role IN ('admin', 'viewer'))
BEGIN SELECT RAISE(ABORT, 'users.role must be admin or viewer (users_role_check)'); END;

CREATE TRIGGER users_disabled_check_insert BEFORE INSERT ON users
WHEN NOT (NEW.disabled IN (0, 1))
BEGIN SELECT RAISE(ABORT, 'users.disabled must be 0 or 1 (users_disabled_check)'); END;
CREATE TRIGGER users_disabled_check_update BEFORE UPDATE OF disabled ON users
WHEN NOT (NEW.disabled IN (0, 1))
BEGIN SELECT RAISE(ABORT, 'users.disabled must be 0 or 1 (users_disabled_check)'); END;

CREATE TRIGGER users_version_check_insert BEFORE INSERT ON users
WHEN NOT (NEW.version >= 1)
BEGIN SELECT RAISE(ABORT, 'users.version must be at least 1 (users_version_check)'); END;
CREATE TRIGGER users_version_check_update BEFORE UPDATE OF version ON users
WHEN NOT (NEW.version >= 1)
BEGIN SELECT RAISE(ABORT, 'users.version must be at least 1 (users_version_check)'); END;

CREATE TRIGGER api_tokens_scope_check_insert BEFORE INSERT ON api_tokens
WHEN NOT (NEW.scope IN ('read', 'admin') OR (substr(NEW.scope, 1, 7) = 'ingest:' AND length(NEW.scope) > 7))
BEGIN SELECT RAISE(ABORT, 'api_tokens.scope must be read, admin or ingest:<server> (api_tokens_scope_check)'); END;
CREATE TRIGGER api_tokens_scope_check_update BEFORE UPDATE OF scope ON api_tokens
WHEN NOT (NEW.scope IN ('read', 'admin') OR (substr(NEW.scope, 1, 7) = 'ingest:' AND length(NEW.scope) > 7))
BEGIN SELECT RAISE(ABORT, 'api_tokens.scope must be read, admin or ingest:<server> (api_tokens_scope_check)'); END;

CREATE TRIGGER snapshots_counts_check_insert BEFORE INSERT ON snapshots
WHEN NOT (NEW.contacts >= 0 AND NEW.registered >= 0 AND NEW.unmatched >= 0)
BEGIN SELECT RAISE(ABORT, 'snapshots.contacts, registered and unmatched must not be negative (snapshots_counts_check)'); END;
CREATE TRIGGER snapshots_counts_check_update BEFORE UPDATE OF contacts, registered, unmatched ON snapshots
WHEN NOT (NEW.contacts >= 0 AND NEW.registered >= 0 AND NEW.unmatched >= 0)
BEGIN SELECT RAISE(ABORT, 'snapshots.contacts, registered and unmatched must not be negative (snapshots_counts_check)'); END;

-- Rows stored before this migration are held to the same rules: rewriting a violating row in
-- place fires its update trigger, so the migration fails (and rolls back) naming the rule, as
-- PostgreSQL's ADD CONSTRAINT does. Valid rows are not touched.
UPDATE servers SET state = state WHERE NOT (state IN ('active', 'maintenance', 'retired'));
UPDATE servers SET sip_port = sip_port WHERE NOT (sip_port BETWEEN 0 AND 65535);
UPDATE servers SET capacity = capacity WHERE NOT (capacity IS NULL OR capacity BETWEEN 0 AND 4294967295);
UPDATE servers SET version = version WHERE NOT (version >= 1);
UPDATE pools SET ttl = ttl WHERE NOT (ttl BETWEEN 0 AND 4294967295);
UPDATE pools SET version = version WHERE NOT (version >= 1);
UPDATE pool_members SET priority = priority WHERE NOT (priority BETWEEN 0 AND 65535);
UPDATE pool_members SET weight = weight WHERE NOT (weight BETWEEN 0 AND 65535);
UPDATE pool_members SET port = port WHERE NOT (port IS NULL OR port BETWEEN 0 AND 65535);
UPDATE tenants SET expected_phones = expected_phones WHERE NOT (expected_phones BETWEEN 0 AND 4294967295);
UPDATE tenants SET version = version WHERE NOT (version >= 1);
UPDATE settings SET version = version WHERE NOT (version >= 1);
UPDATE users SET role = role WHERE NOT (role IN ('admin', 'viewer'));
UPDATE users SET disabled = disabled WHERE NOT (disabled IN (0, 1));
UPDATE users SET version = version WHERE NOT (version >= 1);
UPDATE api_tokens SET scope = scope WHERE NOT (scope IN ('read', 'admin') OR (substr(scope, 1, 7) = 'ingest:' AND length(scope) > 7));
UPDATE snapshots SET contacts = contacts, registered = registered, unmatched = unmatched WHERE NOT (contacts >= 0 AND registered >= 0 AND unmatched >= 0);
