-- One counter that every committed data change moves, so that each instance can tell in one
-- primary-key read whether its cached cluster view is current. Maxima of the audit, snapshot and
-- DNS-check ids were used before, but identity values are handed out before commit: a change
-- that committed after a higher id had would go unseen until the next change.
--
-- The bump runs at commit (deferred constraint triggers), once per transaction (last_xact), so
-- the counter's row lock is held only while committing and the counter moves in commit order.
CREATE TABLE data_version (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    BIGINT  NOT NULL,
    last_xact  BIGINT
);
INSERT INTO data_version (id, version) VALUES (1, 1);

CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE data_version
       SET version = version + 1, last_xact = txid_current()
     WHERE id = 1 AND last_xact IS DISTINCT FROM txid_current();
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER data_version_audit AFTER INSERT ON audit_log
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_data_version();
CREATE CONSTRAINT TRIGGER data_version_snapshots AFTER INSERT ON snapshots
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_data_version();
CREATE CONSTRAINT TRIGGER data_version_dns_checks AFTER INSERT ON dns_checks
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_data_version();
