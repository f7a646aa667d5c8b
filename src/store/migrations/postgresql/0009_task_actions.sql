-- PostgreSQL: the SQLite migration of the same number, in PostgreSQL's types (BIGINT for times in
-- ms and ids, identity columns that a copy may fill, BYTEA); tests/unit/test_migrations.c checks
-- that both engines end with the same tables and columns.
-- 0009: automated actions of playbook tasks: what running the action came to. NULL until run;
-- succeeded (the task is then done), failed, or unconfigured (no `actions:` entry for its kind:
-- the task is left to people).

ALTER TABLE tasks ADD COLUMN action_status TEXT;
ALTER TABLE tasks ADD COLUMN action_output TEXT;
ALTER TABLE tasks ADD COLUMN action_at BIGINT;
CREATE INDEX tasks_actions ON tasks (id) WHERE action IS NOT NULL AND action != 'none' AND action_status IS NULL;
