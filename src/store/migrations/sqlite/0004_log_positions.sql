-- 0004: where each watched log file was read up to. Written in the same transaction as the
-- signals read from it, so that a restart (even after kill -9) resumes at the first line not
-- yet stored: none lost, none stored twice. `head` identifies the file's content beyond its
-- inode (inodes are reused; copytruncate keeps the inode): a BLAKE2b of its first head_len bytes.

CREATE TABLE log_positions (
    path       TEXT PRIMARY KEY,
    dev        INTEGER NOT NULL,
    inode      INTEGER NOT NULL,
    offset     INTEGER NOT NULL,
    head_len   INTEGER NOT NULL,
    head       TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
