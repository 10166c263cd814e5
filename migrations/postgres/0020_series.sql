-- Charts over time (issue 18): downsampled series written at ingest, in buckets of 5 minutes
-- (`bucket` is the bucket's start, Unix seconds), kept as long as the registration history.
-- A missing bucket means "unchanged": readers carry the last value forward, and pruning keeps
-- the newest row at or before the cut-off so the window's first value is still known.

-- Per server: registered phones and those away from their pool's home servers.
CREATE TABLE series_server (
    server_id   BIGINT  NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    bucket      BIGINT  NOT NULL,
    registered  BIGINT  NOT NULL,
    away        BIGINT  NOT NULL,
    PRIMARY KEY (server_id, bucket)
);

-- Per pool: its tenants' registered phones and those away (the share is derived).
CREATE TABLE series_pool (
    pool_id     BIGINT  NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    bucket      BIGINT  NOT NULL,
    registered  BIGINT  NOT NULL,
    away        BIGINT  NOT NULL,
    PRIMARY KEY (pool_id, bucket)
);
CREATE INDEX series_pool_bucket ON series_pool(bucket);

-- Per tenant and server: registered phones, a row only when the count changed.
CREATE TABLE series_tenant (
    tenant_id   BIGINT  NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    server_id   BIGINT  NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    bucket      BIGINT  NOT NULL,
    phones      BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, server_id, bucket)
);
CREATE INDEX series_tenant_server ON series_tenant(server_id, bucket);
