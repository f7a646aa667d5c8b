-- 0007: playbook tasks. When an incident enters a status, each step of its type's playbook for
-- that phase becomes a task with its owner, due time and state; a task past due escalates like a
-- deadline (escalations.deadline = 'task:ID').

CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    step        INTEGER NOT NULL,          -- index in the type's playbook
    phase       TEXT NOT NULL,
    title       TEXT NOT NULL,
    owner_role  TEXT,
    owner_unit  TEXT,
    contact     TEXT,
    action      TEXT,
    approval    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    due_at      INTEGER,
    status      TEXT NOT NULL DEFAULT 'todo', -- todo | doing | done | skipped
    reason      TEXT,
    note        TEXT,
    updated_by  TEXT,
    updated_at  INTEGER,
    overdue_at  INTEGER,
    UNIQUE (incident_id, step)
);
CREATE INDEX tasks_due ON tasks (due_at) WHERE status IN ('todo', 'doing') AND overdue_at IS NULL;
