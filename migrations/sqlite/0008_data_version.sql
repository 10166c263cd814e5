-- One counter that every committed data change moves, so that each instance can tell in one
-- primary-key read whether its cached cluster view is current. Maxima of the audit, snapshot and
-- DNS-check ids were used before; on PostgreSQL ids are handed out before commit, so a change
-- that committed after a higher id could go unseen. SQLite has one writer at a time, so plain
-- triggers bump the counter in commit order.
CREATE TABLE data_version (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
);
INSERT INTO data_version (id, version) VALUES (1, 1);

CREATE TRIGGER data_version_audit AFTER INSERT ON audit_log
BEGIN
    UPDATE data_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER data_version_snapshots AFTER INSERT ON snapshots
BEGIN
    UPDATE data_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER data_version_dns_checks AFTER INSERT ON dns_checks
BEGIN
    UPDATE data_version SET version = version + 1 WHERE id = 1;
END;
