-- PostgreSQL: the SQLite migration of the same number, in PostgreSQL's types (BIGINT for times in
-- ms and ids, identity columns that a copy may fill, BYTEA); tests/unit/test_migrations.c checks
-- that both engines end with the same tables and columns.
-- 0008: approval of tasks the plan marks as needing it (an automated action such as switching
-- a site to its maintenance page): who decided, when, why. pending | approved | rejected; NULL
-- for tasks that need none.

ALTER TABLE tasks ADD COLUMN approval_status TEXT;
ALTER TABLE tasks ADD COLUMN approved_by TEXT;
ALTER TABLE tasks ADD COLUMN approved_at BIGINT;
ALTER TABLE tasks ADD COLUMN approval_reason TEXT;
UPDATE tasks SET approval_status = 'pending' WHERE approval = 1;
