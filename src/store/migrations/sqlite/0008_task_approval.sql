-- 0008: approval of tasks the plan marks as needing it (an automated action such as switching
-- a site to its maintenance page): who decided, when, why. pending | approved | rejected; NULL
-- for tasks that need none.

ALTER TABLE tasks ADD COLUMN approval_status TEXT;
ALTER TABLE tasks ADD COLUMN approved_by TEXT;
ALTER TABLE tasks ADD COLUMN approved_at INTEGER;
ALTER TABLE tasks ADD COLUMN approval_reason TEXT;
UPDATE tasks SET approval_status = 'pending' WHERE approval = 1;
