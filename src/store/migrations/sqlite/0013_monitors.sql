-- 0013: scheduled monitors (issue 7). One row per configured monitor with its current state; the
-- history is kept as hourly counts (uptime and response times over days and months at one row an
-- hour, whatever the interval) and the list of its changes between up and down.

CREATE TABLE monitors (
    id              TEXT PRIMARY KEY,
    target          TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'unknown', -- unknown | up | down
    since           INTEGER,                         -- when the status began
    checked_at      INTEGER,
    elapsed_ms      INTEGER,
    http_status     INTEGER,
    reason          TEXT,                            -- the last check's failure or warning
    cert_expires_at INTEGER
);

CREATE TABLE monitor_hours (
    monitor   TEXT NOT NULL,
    hour      INTEGER NOT NULL, -- UTC ms at the start of the hour
    checks    INTEGER NOT NULL,
    failures  INTEGER NOT NULL,
    total_ms  INTEGER NOT NULL, -- of the checks that answered
    max_ms    INTEGER NOT NULL,
    PRIMARY KEY (monitor, hour)
) WITHOUT ROWID;

CREATE TABLE monitor_changes (
    id      INTEGER PRIMARY KEY,
    monitor TEXT NOT NULL,
    at      INTEGER NOT NULL,
    status  TEXT NOT NULL, -- up | down
    reason  TEXT
);
CREATE INDEX monitor_changes_monitor ON monitor_changes (monitor, id);
