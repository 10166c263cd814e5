-- The tenant list pages by keyset (issue #14): each sort's key ends in the id, and an index on
-- exactly that key serves a page in either direction without sorting or skipping rows. They
-- replace the single-column indexes on name and on expected phones. (SQLite's old indexes held
-- the rowid, which is the id, already; PostgreSQL's did not.) The code sort uses the unique
-- index on code_key; the pool sort joins the pool's name, and a pool filter leaves few rows.
--
-- The same statements run on both backends.

CREATE INDEX tenants_name_id ON tenants (name, id);
CREATE INDEX tenants_phones_id ON tenants (expected_phones, id);
DROP INDEX tenants_name;
DROP INDEX tenants_phones;
