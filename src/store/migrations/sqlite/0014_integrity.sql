-- 0014: file integrity of web roots (issue 7). The baseline of each watched directory: one row per
-- file with its BLAKE2b-256; replaced as a whole when a new baseline is taken or accepted.

CREATE TABLE integrity_files (
    watch TEXT NOT NULL,
    path  TEXT NOT NULL, -- relative to the watched directory
    size  INTEGER NOT NULL,
    hash  TEXT NOT NULL,
    PRIMARY KEY (watch, path)
) WITHOUT ROWID;

CREATE TABLE integrity_baselines (
    watch    TEXT PRIMARY KEY,
    taken_at INTEGER NOT NULL,
    files    INTEGER NOT NULL,
    taken_by TEXT NOT NULL -- system (first start) or who accepted it
);
