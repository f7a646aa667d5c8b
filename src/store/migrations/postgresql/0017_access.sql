-- PostgreSQL: the SQLite migration of the same number, in PostgreSQL's types (BIGINT for times in
-- ms and ids, identity columns that a copy may fill, BYTEA); tests/unit/test_migrations.c checks
-- that both engines end with the same tables and columns.
-- 0017: access that means what the plan says (issue 14).
-- A token acts with a role, as a person does: approving, activating or closing is decided by
-- the role, whatever the token's scopes. Tokens made before carry the least that keeps them
-- working: duty for writing tokens, auditor for reading ones.
ALTER TABLE api_tokens ADD COLUMN role TEXT;
UPDATE api_tokens SET role = CASE WHEN scopes LIKE '%"write"%' OR scopes LIKE '%"admin"%' THEN 'duty'
                                  ELSE 'auditor' END;

-- Tries refused while throttled are counted on their key, and written to the audit log once,
-- when the wait is over, not one row each.
ALTER TABLE login_failures ADD COLUMN throttled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE login_failures ADD COLUMN throttled_since BIGINT;

-- Browsers an account has logged in from (a random token, stored hashed): a try from a known
-- browser is not held back by the waits others earned for its address (a campus NAT).
CREATE TABLE login_devices (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    last_used  BIGINT NOT NULL
);
CREATE INDEX login_devices_user ON login_devices (user_id);
