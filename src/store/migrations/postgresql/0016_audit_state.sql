-- PostgreSQL: the SQLite migration of the same number, in PostgreSQL's types (BIGINT for times in
-- ms and ids, identity columns that a copy may fill, BYTEA); tests/unit/test_migrations.c checks
-- that both engines end with the same tables and columns.
-- 0016: the audit record as a whole (issue 14). Each audit row of a change to an incident binds
-- the state it left behind: `state` is "v1:" and the BLAKE2b-256 of the incident's rows
-- (incident, deadlines, tasks, timeline, attachments) after the change, so `audit verify`
-- re-derives it and names the first row whose incident no longer matches. The head carries an
-- ed25519 signature made with a key kept outside the store (DATA/audit.key by default), so a
-- chain recomputed or cut off and its head "fixed" no longer verifies. Rows before 0016 have no
-- state and are checked as a chain only.

ALTER TABLE audit_log ADD COLUMN state TEXT;
ALTER TABLE audit_head ADD COLUMN signature TEXT;
CREATE INDEX audit_log_object ON audit_log (object, id);
