-- 0003: signals from detectors and the ingest API, and what incidents they built up.
-- A signal is stored before anything is done with it (processed_at NULL until then), so a crash
-- between the two loses nothing: unprocessed signals are taken up again at start.

ALTER TABLE incidents ADD COLUMN fingerprint TEXT;
ALTER TABLE incidents ADD COLUMN signal_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN last_signal_at INTEGER;
CREATE INDEX incidents_fingerprint ON incidents (fingerprint) WHERE fingerprint IS NOT NULL;

CREATE TABLE signals (
    id           INTEGER PRIMARY KEY,
    received_at  INTEGER NOT NULL,
    time         INTEGER NOT NULL,
    source       TEXT NOT NULL,
    program      TEXT,
    host         TEXT,
    asset        TEXT,
    message      TEXT NOT NULL,
    fields       TEXT NOT NULL DEFAULT '{}',
    processed_at INTEGER,
    rule         TEXT,
    incident_id  INTEGER REFERENCES incidents (id)
);
CREATE INDEX signals_unprocessed ON signals (id) WHERE processed_at IS NULL;
CREATE INDEX signals_time ON signals (time);
