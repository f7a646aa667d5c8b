-- PostgreSQL: the SQLite migration of the same number, in PostgreSQL's types (BIGINT for times in
-- ms and ids, identity columns that a copy may fill, BYTEA); tests/unit/test_migrations.c checks
-- that both engines end with the same tables and columns.
-- 0019: which plan the data were made with (issue 15). A start with another plan (another
-- plan.id) is refused unless the operator says --plan-change, which is audited and recorded here;
-- each incident keeps the names its type, class, level and unit had in the plan it was made or
-- last changed with (JSON {"type","class","level","unit"}), shown when a later plan lacks the id.
CREATE TABLE plan_identity (
    "only"   BIGINT PRIMARY KEY CHECK ("only" = 1), -- quoted: a reserved word in PostgreSQL
    plan_id  TEXT NOT NULL,
    name     TEXT NOT NULL,
    since    BIGINT NOT NULL
);
ALTER TABLE incidents ADD COLUMN names TEXT;
