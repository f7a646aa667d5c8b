-- 0006: deliveries: one row per notification and channel, retried with backoff until the
-- channel takes it. A notification is `sent` when every channel has taken it (or could not
-- carry it: `skipped`, e.g. email to someone without an address), `failed` when one gave up.

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES notifications (id),
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending', -- pending | sent | skipped | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER,
    UNIQUE (notification_id, channel)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
