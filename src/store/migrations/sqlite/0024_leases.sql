-- 0024: work that must happen once (the clock, the outbox, actions, monitors, the website guard,
-- host resources) is owned by one node of those sharing a store (issue 16). The owner holds a lock
-- of the database on a connection of its own; this row says who it is and counts take-overs
-- (token: the fencing number, one more at each), for /healthz and the log. On SQLite there is one
-- node, and the row names it.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    token      INTEGER NOT NULL,
    since      INTEGER NOT NULL,
    renewed_at INTEGER NOT NULL
);
