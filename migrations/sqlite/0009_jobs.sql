-- Background jobs (large CSV imports): their progress and outcome, kept in the database so that
-- any dashboard instance behind a load balancer can show a job that another one runs. The
-- instance running a job refreshes heartbeat_at every second; a running job whose heartbeat
-- stopped is shown as interrupted (its instance died), never as running forever. Progress is
-- not audited: the import itself is, entry by entry, when it commits. Finished jobs are purged
-- a day after they finish. No data_version trigger: a job's progress is no inventory change.
--
-- A new table, so SQLite takes CHECK constraints here (0007 needed triggers only because
-- SQLite cannot add a constraint to an existing table); the names are PostgreSQL's.
CREATE TABLE jobs (
    id            TEXT    PRIMARY KEY,
    kind          TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    owner         TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    total         INTEGER NOT NULL,
    done          INTEGER NOT NULL DEFAULT 0,
    outcome       TEXT,
    error         TEXT,
    next          TEXT    NOT NULL,
    instance      TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    heartbeat_at  INTEGER NOT NULL,
    finished_at   INTEGER,
    CONSTRAINT jobs_state_check CHECK (state IN ('running', 'done', 'failed')),
    CONSTRAINT jobs_counts_check CHECK (total >= 0 AND done >= 0),
    CONSTRAINT jobs_finished_check CHECK ((state = 'running') = (finished_at IS NULL))
);
