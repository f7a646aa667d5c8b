-- 0001: incidents, their deadlines and timeline, the audit chain.
-- Times are UTC milliseconds since the epoch; NULL means "not yet".

CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY,
    number          TEXT NOT NULL UNIQUE,
    year            INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    title           TEXT NOT NULL,
    type            TEXT NOT NULL,
    class           TEXT NOT NULL,
    level           TEXT NOT NULL,
    national_level  INTEGER NOT NULL CHECK (national_level BETWEEN 1 AND 4),
    gbt_category    TEXT NOT NULL,
    gbt_subcategory TEXT NOT NULL,
    status          TEXT NOT NULL,
    unit            TEXT NOT NULL,
    reporter        TEXT NOT NULL,
    assets          TEXT NOT NULL DEFAULT '[]',
    source          TEXT,
    scope           TEXT,
    nature          TEXT,
    trend           TEXT,
    measures        TEXT,
    activated_by    TEXT,
    activation_reason TEXT,
    cause           TEXT,
    loss            TEXT,
    lessons         TEXT,
    dismiss_reason  TEXT,
    drill           INTEGER NOT NULL DEFAULT 0 CHECK (drill IN (0, 1)),
    occurred_at     INTEGER,
    detected_at     INTEGER,
    reported_at     INTEGER NOT NULL,
    acknowledged_at INTEGER,
    assessed_at     INTEGER,
    activated_at    INTEGER,
    contained_at    INTEGER,
    recovered_at    INTEGER,
    closed_at       INTEGER,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    UNIQUE (year, seq)
);
CREATE INDEX incidents_status ON incidents (status);
CREATE INDEX incidents_unit ON incidents (unit);

CREATE TABLE deadlines (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    kind        TEXT NOT NULL,
    due_at      INTEGER NOT NULL,
    met_at      INTEGER,
    UNIQUE (incident_id, kind)
);
CREATE INDEX deadlines_open ON deadlines (due_at) WHERE met_at IS NULL;

-- Append-only: corrections are new entries, never edits.
CREATE TABLE timeline (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX timeline_incident ON timeline (incident_id, id);
CREATE TRIGGER timeline_no_update BEFORE UPDATE ON timeline
BEGIN SELECT RAISE(ABORT, 'timeline is append-only'); END;
CREATE TRIGGER timeline_no_delete BEFORE DELETE ON timeline
BEGIN SELECT RAISE(ABORT, 'timeline is append-only'); END;

-- Hash-chained: hash = BLAKE2b-256(prev_hash || canonical row). audit_head holds the last
-- row's id and hash so that cutting rows off the end is noticed too.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    object    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TABLE audit_head (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    last_id INTEGER NOT NULL,
    hash    TEXT NOT NULL
);
