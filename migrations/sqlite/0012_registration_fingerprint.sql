-- Ingest is incremental: a report is compared with the server's stored picture and only the
-- contacts that appeared, changed or left are written. Each stored contact keeps a 64-bit
-- fingerprint of what was reported about it (endpoint, contact, user agent, status, tenant key),
-- so the comparison reads two numbers per contact. Rows stored before this migration have 0,
-- which no fingerprint equals: the first report after the upgrade rewrites them once.
ALTER TABLE registrations ADD COLUMN fingerprint INTEGER NOT NULL DEFAULT 0;
