-- 0018: every deadline ends settled (issue 14: a closed incident still counted down its upward
-- report). outcome: met (done in time or late: see met_at against due_at), waived (by whom and
-- why: the leading group excusing an owed report, or the incident ending before it fell due),
-- missed (still open when the incident ended, past due). NULL while open.
ALTER TABLE deadlines ADD COLUMN outcome TEXT;
ALTER TABLE deadlines ADD COLUMN waived_by TEXT;
ALTER TABLE deadlines ADD COLUMN waive_reason TEXT;
UPDATE deadlines SET outcome = 'met' WHERE met_at IS NOT NULL;
