-- One pool per SRV owner (issue #13). Two pools at one owner merge into one RRset and make every
-- zone export refuse to render, so the owner becomes unique: compared as DNS compares names,
-- without regard to case and to the trailing dot, since older releases and other writers did not
-- always store the canonical form (lower case, no dot) the application writes now.
--
-- A database may already hold such a clash, and the upgrade must not fail on it: refusing to
-- start would take the whole dashboard down over a fix an admin makes in a minute, and which
-- pool should move is the admin's call, not this migration's. A unique index cannot skip rows it
-- would reject (a partial index's WHERE cannot look at other rows, and SQLite has no conditional
-- DDL), so each clash is settled in data instead: the oldest pool of an owner (lowest id) keeps
-- it under the index, every newer one is marked owner_unchecked = 1 and left out of the index.
-- Nothing is renamed. The application names the clashing pools in its log and on the DNS page;
-- saving a marked pool clears the mark, so the save is refused (naming the other pool) until
-- the pool has an owner of its own. Member edits, which leave the owner alone, still pass.
--
-- The same statements run on PostgreSQL (its 0010).

ALTER TABLE pools ADD COLUMN owner_unchecked BIGINT NOT NULL DEFAULT 0 CHECK (owner_unchecked IN (0, 1));

UPDATE pools SET owner_unchecked = 1
WHERE EXISTS (
    SELECT 1 FROM pools AS older
    WHERE older.id < pools.id
      AND lower(rtrim(older.srv_name, '.')) = lower(rtrim(pools.srv_name, '.'))
);

CREATE UNIQUE INDEX pools_owner_key ON pools (lower(rtrim(srv_name, '.'))) WHERE owner_unchecked = 0;
