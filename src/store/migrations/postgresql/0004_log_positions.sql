-- PostgreSQL: the SQLite migration of the same number, in PostgreSQL's types (BIGINT for times in
-- ms and ids, identity columns that a copy may fill, BYTEA); tests/unit/test_migrations.c checks
-- that both engines end with the same tables and columns.
-- 0004: where each watched log file was read up to. Written in the same transaction as the
-- signals read from it, so that a restart (even after kill -9) resumes at the first line not
-- yet stored: none lost, none stored twice. `head` identifies the file's content beyond its
-- inode (inodes are reused; copytruncate keeps the inode): a BLAKE2b of its first head_len bytes.

CREATE TABLE log_positions (
    path       TEXT PRIMARY KEY,
    dev        BIGINT NOT NULL,
    inode      BIGINT NOT NULL,
    "offset"   BIGINT NOT NULL, -- quoted: a reserved word in PostgreSQL (the store quotes it on both)
    head_len   BIGINT NOT NULL,
    head       TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
