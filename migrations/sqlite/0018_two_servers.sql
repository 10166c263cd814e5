-- One phone, two servers (issue 16, part 6). During a handover the old server still lists the
-- phone's contact until it expires, so an endpoint can be registered on two servers at once. It
-- counts once: on the server whose registered contact of it arrived last (the highest
-- registrations id; ids grow with arrival). Finding the other servers that list an endpoint
-- needs a lookup by endpoint_key again (migration 6 dropped this index; BENCHMARKS.md has its
-- cost).
CREATE INDEX registrations_endpoint ON registrations(endpoint_key);

-- (tenant, server) pairs whose maintained count another server's ingest may have changed: the
-- server's own ingest, or the other ingest right after its commit under this server's lock,
-- recounts them. No unique key: concurrent ingests only ever append here, so they never wait
-- on each other's rows; duplicates are harmless.
CREATE TABLE count_dirty (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    server_id  INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE
);
CREATE INDEX count_dirty_server ON count_dirty(server_id);

-- A recount of dirty pairs changes what pages show: it moves the data version.
CREATE TRIGGER data_version_count_dirty AFTER DELETE ON count_dirty
BEGIN
    UPDATE data_version SET version = version + 1 WHERE id = 1;
END;

-- Every count again, under the rule.
DELETE FROM tenant_server_counts;
INSERT INTO tenant_server_counts (tenant_id, server_id, phones)
SELECT r.tenant_id, r.server_id, COUNT(DISTINCT r.endpoint_key) FROM registrations r
 WHERE r.tenant_id IS NOT NULL AND r.registered = 1
   AND NOT EXISTS (SELECT 1 FROM registrations o WHERE o.endpoint_key = r.endpoint_key
                    AND o.server_id <> r.server_id AND o.registered = 1 AND o.id > r.id)
 GROUP BY r.tenant_id, r.server_id;
