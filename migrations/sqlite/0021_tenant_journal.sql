-- Tenants whose alert facts may have changed (issue 14, incremental counts): a recount of their
-- phones on a server (written by the ingest, in its transaction) or a change of the tenant row
-- itself (triggers below). Each instance keeps the per-tenant facts in memory and, on a new
-- data version, re-reads only the tenants journalled since its last read: a push that changes
-- 1% of a server's contacts re-reads about that many tenants instead of all of them.
--
-- SQLite has one writer at a time, so AUTOINCREMENT hands out `seq` in commit order: a reader
-- that saw every row up to seq S needs only the rows after S. Rows older than ten minutes are
-- pruned by the ingest; a reader whose copy is older than five rebuilds it whole.
CREATE TABLE tenant_journal (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  INTEGER NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX tenant_journal_at ON tenant_journal(at);

CREATE TRIGGER tenant_journal_insert AFTER INSERT ON tenants
BEGIN
    INSERT INTO tenant_journal (tenant_id, at) VALUES (NEW.id, CAST(strftime('%s', 'now') AS INTEGER));
END;
CREATE TRIGGER tenant_journal_update AFTER UPDATE ON tenants
BEGIN
    INSERT INTO tenant_journal (tenant_id, at) VALUES (NEW.id, CAST(strftime('%s', 'now') AS INTEGER));
END;
CREATE TRIGGER tenant_journal_delete AFTER DELETE ON tenants
BEGIN
    INSERT INTO tenant_journal (tenant_id, at) VALUES (OLD.id, CAST(strftime('%s', 'now') AS INTEGER));
END;
