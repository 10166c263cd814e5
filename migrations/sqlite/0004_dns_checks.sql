-- Results of live DNS checks (newest is shown and feeds the DNS drift alert), and leases that
-- let one of several dashboard instances run a background job at a time.
CREATE TABLE dns_checks (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    exit_code  INTEGER NOT NULL,
    report     TEXT    NOT NULL,
    actor      TEXT    NOT NULL
);
CREATE INDEX dns_checks_at ON dns_checks(at);

CREATE TABLE job_leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL
);
