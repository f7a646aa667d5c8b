-- 0022: acknowledging from the message itself (issue 15). Each new-incident or unacknowledged
-- notification carries a one-time link for the person it goes to; only the link's hash is kept.
-- Opening the link acknowledges (after a press: a chat app's preview must not) as that person,
-- once, until it expires.
CREATE TABLE ack_links (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    recipient   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
