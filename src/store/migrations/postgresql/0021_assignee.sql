-- PostgreSQL: the SQLite migration of the same number, in PostgreSQL's types (BIGINT for times in
-- ms and ids, identity columns that a copy may fill, BYTEA); tests/unit/test_migrations.c checks
-- that both engines end with the same tables and columns.
-- 0021: who an incident and a task are given to (issue 15): an account name, NULL for nobody
-- yet. "Mine" is a list filtered by it; reported_at ranges serve the date filter and exports.
ALTER TABLE incidents ADD COLUMN assignee TEXT;
ALTER TABLE tasks ADD COLUMN assignee TEXT;
CREATE INDEX incidents_assignee ON incidents (assignee);
CREATE INDEX incidents_reported ON incidents (reported_at);
