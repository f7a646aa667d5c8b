-- PostgreSQL: the SQLite migration of the same number, in PostgreSQL's types (BIGINT for times in
-- ms and ids, identity columns that a copy may fill, BYTEA); tests/unit/test_migrations.c checks
-- that both engines end with the same tables and columns.
-- 0018: every deadline ends settled (issue 14: a closed incident still counted down its upward
-- report). outcome: met (done in time or late: see met_at against due_at), waived (by whom and
-- why: the leading group excusing an owed report, or the incident ending before it fell due),
-- missed (still open when the incident ended, past due). NULL while open.
ALTER TABLE deadlines ADD COLUMN outcome TEXT;
ALTER TABLE deadlines ADD COLUMN waived_by TEXT;
ALTER TABLE deadlines ADD COLUMN waive_reason TEXT;
UPDATE deadlines SET outcome = 'met' WHERE met_at IS NOT NULL;
