-- 0012: attachments of an incident (an informant's screenshot, evidence). The bytes live in
-- DATA/attachments/<sha256>, written and synced before the row is committed; the row says what
-- they are. Append-only like the timeline.

CREATE TABLE attachments (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL
);
CREATE INDEX attachments_incident ON attachments (incident_id);
