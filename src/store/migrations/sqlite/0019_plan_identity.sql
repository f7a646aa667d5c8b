-- 0019: which plan the data were made with (issue 15). A start with another plan (another
-- plan.id) is refused unless the operator says --plan-change, which is audited and recorded here;
-- each incident keeps the names its type, class, level and unit had in the plan it was made or
-- last changed with (JSON {"type","class","level","unit"}), shown when a later plan lacks the id.
CREATE TABLE plan_identity (
    only     INTEGER PRIMARY KEY CHECK (only = 1),
    plan_id  TEXT NOT NULL,
    name     TEXT NOT NULL,
    since    INTEGER NOT NULL
);
ALTER TABLE incidents ADD COLUMN names TEXT;
