-- The last change of each pool's members: until the new records are published (the DNS check
-- sees the pool in sync, or an admin marks the zone published) and the old records' TTL has run
-- out of resolver caches, phones may still follow the old records. The pool is "changing"
-- meanwhile, and its tenants' away, split and failback alerts are held back.
CREATE TABLE pool_changes (
    pool_id       BIGINT PRIMARY KEY REFERENCES pools (id) ON DELETE CASCADE,
    changed_at    BIGINT  NOT NULL,
    changed_by    TEXT    NOT NULL,
    -- The TTL of the records resolvers may still cache, in seconds.
    ttl           BIGINT  NOT NULL,
    published_at  BIGINT,
    published_by  TEXT,
    synced_at     BIGINT
);
