-- 0010: addresses blocked by the built-in block_ip action (an element of an nftables set with a
-- timeout: the kernel unblocks at expires_at). released_at is when Yingji saw the block end:
-- expired, released by hand, or renewed by a later block of the same address.

CREATE TABLE blocks (
    id             INTEGER PRIMARY KEY,
    address        TEXT NOT NULL,
    incident_id    INTEGER NOT NULL REFERENCES incidents (id),
    task_id        INTEGER REFERENCES tasks (id),
    blocked_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    released_at    INTEGER,
    released_by    TEXT,
    release_reason TEXT
);
CREATE INDEX blocks_active ON blocks (expires_at) WHERE released_at IS NULL;
CREATE INDEX blocks_address ON blocks (address);

-- The addresses to block come from the incident's signals.
CREATE INDEX signals_incident ON signals (incident_id) WHERE incident_id IS NOT NULL;
