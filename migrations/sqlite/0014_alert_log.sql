-- Alerts an admin acts on and remembers (issue 15): silences, acknowledgements, the alerts
-- currently raised as last recorded, and the history of their transitions, which is also the
-- webhook's outbox.
--
-- Silences and acknowledgements are written with an audit entry (the data_version trigger on
-- the audit log moves the cached views). alert_state and alert_events are written by the one
-- instance holding the "alert-history" lease, without audit: a transition is no admin change.
-- New tables, so SQLite takes CHECK constraints here; the names are PostgreSQL's.

-- A silence hides the alerts matching all of its matchers (kind, server, pool, tenant, or one
-- alert by id) from the default view and the counts until ends_at, or until it is removed.
CREATE TABLE alert_silences (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT,
    server      TEXT,
    pool        TEXT,
    tenant      TEXT,
    alert_id    TEXT,
    reason      TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    removed_at  INTEGER,
    removed_by  TEXT,
    CONSTRAINT alert_silences_matcher_check CHECK (
        kind IS NOT NULL OR server IS NOT NULL OR pool IS NOT NULL OR tenant IS NOT NULL
        OR alert_id IS NOT NULL),
    CONSTRAINT alert_silences_reason_check CHECK (length(trim(reason)) > 0),
    CONSTRAINT alert_silences_period_check CHECK (ends_at > created_at),
    CONSTRAINT alert_silences_removed_check CHECK ((removed_at IS NULL) = (removed_by IS NULL))
);
-- The overlay reads the silences not yet ended on every rebuild.
CREATE INDEX alert_silences_ends_at ON alert_silences (ends_at);

-- One acknowledgement per alert while it is raised; dropped when the alert clears.
CREATE TABLE alert_acks (
    alert_id  TEXT    PRIMARY KEY,
    acked_by  TEXT    NOT NULL,
    acked_at  INTEGER NOT NULL,
    note      TEXT    NOT NULL DEFAULT ''
);

-- The alerts raised as last recorded: since when, at which severity since when.
CREATE TABLE alert_state (
    alert_id        TEXT    PRIMARY KEY,
    kind            TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    since           INTEGER NOT NULL,
    severity_since  INTEGER NOT NULL,
    summary         TEXT    NOT NULL,
    objects         TEXT    NOT NULL,
    impact_phones   INTEGER NOT NULL,
    CONSTRAINT alert_state_severity_check CHECK (severity IN ('info', 'warning', 'critical'))
);

-- Every transition, kept as long as the registration history (Settings.retention_days). The
-- delivery columns make it the webhook's outbox: next_attempt_at is NULL for an event recorded
-- while no webhook was configured (never sent), delivered_at once a receiver answered 2xx.
-- AUTOINCREMENT: an id is never reused after a purge, since the webhook's event ids are built
-- on it and receivers drop what they have seen.
CREATE TABLE alert_events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id         TEXT    NOT NULL,
    transition       TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    severity         TEXT    NOT NULL,
    at               INTEGER NOT NULL,
    summary          TEXT    NOT NULL,
    objects          TEXT    NOT NULL,
    impact_phones    INTEGER NOT NULL,
    delivered_at     INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,
    last_error       TEXT,
    CONSTRAINT alert_events_transition_check
        CHECK (transition IN ('raised', 'severity_changed', 'cleared')),
    CONSTRAINT alert_events_severity_check CHECK (severity IN ('info', 'warning', 'critical'))
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, id);
CREATE INDEX alert_events_at ON alert_events (at);
CREATE INDEX alert_events_undelivered ON alert_events (id)
    WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL;

-- Which objects (server, pool, tenant; names lowercased) each alert has named, for the history
-- of an object's page. Kept while the alert has events or is raised.
CREATE TABLE alert_objects (
    kind      TEXT NOT NULL,
    name_key  TEXT NOT NULL,
    alert_id  TEXT NOT NULL,
    PRIMARY KEY (kind, name_key, alert_id)
);
CREATE INDEX alert_objects_alert ON alert_objects (alert_id);
