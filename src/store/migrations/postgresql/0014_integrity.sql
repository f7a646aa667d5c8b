-- PostgreSQL: the SQLite migration of the same number, in PostgreSQL's types (BIGINT for times in
-- ms and ids, identity columns that a copy may fill, BYTEA); tests/unit/test_migrations.c checks
-- that both engines end with the same tables and columns.
-- 0014: file integrity of web roots (issue 7). The baseline of each watched directory: one row per
-- file with its BLAKE2b-256; replaced as a whole when a new baseline is taken or accepted.

CREATE TABLE integrity_files (
    watch TEXT NOT NULL,
    path  TEXT NOT NULL, -- relative to the watched directory
    size  BIGINT NOT NULL,
    hash  TEXT NOT NULL,
    PRIMARY KEY (watch, path)
);

CREATE TABLE integrity_baselines (
    watch    TEXT PRIMARY KEY,
    taken_at BIGINT NOT NULL,
    files    BIGINT NOT NULL,
    taken_by TEXT NOT NULL -- system (first start) or who accepted it
);
