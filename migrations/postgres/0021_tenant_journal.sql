-- Tenants whose alert facts may have changed (issue 14, incremental counts): a recount of their
-- phones on a server (written by the ingest, in its transaction) or a change of the tenant row
-- itself (trigger below). Each instance keeps the per-tenant facts in memory and, on a new
-- data version, re-reads only the tenants journalled since its last read: a push that changes
-- 1% of a server's contacts re-reads about that many tenants instead of all of them.
--
-- Identity values are handed out before commit, so a row with a lower id can commit after a
-- reader has read a higher one. Each row carries its transaction id instead: a reader notes
-- the oldest transaction still running (the snapshot's xmin) before it reads, and next time
-- reads every row of that transaction or a later one. Rows may be read twice (harmless: a
-- tenant is re-read), never missed. Rows older than ten minutes are pruned by the ingest; a
-- reader whose copy is older than five rebuilds it whole.
CREATE TABLE tenant_journal (
    xact       BIGINT NOT NULL DEFAULT txid_current(),
    tenant_id  BIGINT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX tenant_journal_xact ON tenant_journal (xact);
CREATE INDEX tenant_journal_at ON tenant_journal (at);

CREATE FUNCTION journal_tenant_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_journal (tenant_id, at)
    VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END,
            CAST(EXTRACT(EPOCH FROM now()) AS BIGINT));
    RETURN NULL;
END
$$;

CREATE TRIGGER tenant_journal_change AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION journal_tenant_change();
