-- Nothing looks registrations up by endpoint alone (moves join the phones table by its key), so
-- this index only slowed every ingest down.
DROP INDEX registrations_endpoint;
