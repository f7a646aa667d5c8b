-- 0017: access that means what the plan says (issue 14).
-- A token acts with a role, as a person does: approving, activating or closing is decided by
-- the role, whatever the token's scopes. Tokens made before carry the least that keeps them
-- working: duty for writing tokens, auditor for reading ones.
ALTER TABLE api_tokens ADD COLUMN role TEXT;
UPDATE api_tokens SET role = CASE WHEN scopes LIKE '%"write"%' OR scopes LIKE '%"admin"%' THEN 'duty'
                                  ELSE 'auditor' END;

-- Tries refused while throttled are counted on their key, and written to the audit log once,
-- when the wait is over, not one row each.
ALTER TABLE login_failures ADD COLUMN throttled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE login_failures ADD COLUMN throttled_since INTEGER;

-- Browsers an account has logged in from (a random token, stored hashed): a try from a known
-- browser is not held back by the waits others earned for its address (a campus NAT).
CREATE TABLE login_devices (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    last_used  INTEGER NOT NULL
);
CREATE INDEX login_devices_user ON login_devices (user_id);
