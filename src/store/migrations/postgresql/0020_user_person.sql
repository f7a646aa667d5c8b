-- PostgreSQL: the SQLite migration of the same number, in PostgreSQL's types (BIGINT for times in
-- ms and ids, identity columns that a copy may fill, BYTEA); tests/unit/test_migrations.c checks
-- that both engines end with the same tables and columns.
-- 0020: an account is a person of the plan (issue 15). Decisions the plan gives to people (启动预案
-- by the leading group) are recorded as the logged-in person and refused for another's name; an
-- administrator records one on someone's behalf only as 代录, with a reason. NULL: no person.
ALTER TABLE users ADD COLUMN person TEXT;
