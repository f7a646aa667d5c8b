-- PostgreSQL: the SQLite migration of the same number, in PostgreSQL's types (BIGINT for times in
-- ms and ids, identity columns that a copy may fill, BYTEA); tests/unit/test_migrations.c checks
-- that both engines end with the same tables and columns.
-- 0011: the three items of the upward report (网络安全事件报告管理办法) that had no field: tracing
-- clues (attacker, path, vulnerability), further measures and the support requested, and how the
-- scene is protected. Until they are known the report marks them 待补报.

ALTER TABLE incidents ADD COLUMN clues TEXT;
ALTER TABLE incidents ADD COLUMN support TEXT;
ALTER TABLE incidents ADD COLUMN scene TEXT;
