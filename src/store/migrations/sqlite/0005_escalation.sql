-- 0005: the clock and escalation. A deadline found overdue is marked (so it fires once, also
-- after a restart); an escalation is a stored state machine (policy, next step, when), so the
-- clock can be rebuilt from the store at any time; notifications are rows first (an outbox),
-- delivered after, each with an idempotency key.

ALTER TABLE deadlines ADD COLUMN overdue_at INTEGER;

CREATE TABLE escalations (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    deadline    TEXT NOT NULL,            -- the deadline kind whose lapse started it
    policy      TEXT NOT NULL,            -- plan escalation policy id
    step        INTEGER NOT NULL DEFAULT 0, -- the step to run next
    sent        INTEGER NOT NULL DEFAULT 0, -- times that step has run
    next_at     INTEGER,                  -- when it runs; NULL once every step has run
    started_at  INTEGER NOT NULL,
    stopped_at  INTEGER,
    stop_reason TEXT,
    UNIQUE (incident_id, deadline)
);
CREATE INDEX escalations_due ON escalations (next_at) WHERE stopped_at IS NULL AND next_at IS NOT NULL;

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    incident_id     INTEGER REFERENCES incidents (id),
    escalation_id   INTEGER REFERENCES escalations (id),
    created_at      INTEGER NOT NULL,
    recipient       TEXT NOT NULL,        -- person:ID or user:NAME
    target          TEXT NOT NULL,        -- the step's target it was resolved from (duty, unit_head ...)
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL DEFAULT 'pending', -- pending | sent | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_incident ON notifications (incident_id);
