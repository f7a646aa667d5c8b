-- PostgreSQL: the SQLite migration of the same number, in PostgreSQL's types (BIGINT for times in
-- ms and ids, identity columns that a copy may fill, BYTEA); tests/unit/test_migrations.c checks
-- that both engines end with the same tables and columns.
-- 0015: what the matching rule read out of a signal's message (ip, user, ...), as a JSON object;
-- NULL when no rule matched. For a signal a rule matched, these are its fields: an address the
-- sender put beside the line (the `fields` column, kept as sent) never stands in for the one the
-- line itself names (issue 14: the automatic block used the sender's claim).

ALTER TABLE signals ADD COLUMN extracted TEXT;
