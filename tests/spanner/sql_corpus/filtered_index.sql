-- filtered_index: CREATE INDEX ... WHERE c IS NOT NULL [AND ...] (the index holds only those
-- rows: unique among them, read through it without the others), its syntax errors, and the
-- columns it filters on kept from DROP COLUMN
-- ddl
CREATE TABLE S (k INT64 NOT NULL, s STRING(10), n INT64, m INT64) PRIMARY KEY (k);
-- alter
CREATE UNIQUE INDEX SU ON S (s) WHERE s IS NOT NULL;
CREATE INDEX SN ON S (n) STORING (m) WHERE n IS NOT NULL AND m IS NOT NULL;
-- dml
INSERT INTO S (k, s, n, m) VALUES (1, 'a', 1, 1), (2, NULL, 2, NULL), (3, NULL, NULL, 3), (4, 'b', 4, 4);
INSERT INTO S (k, s) VALUES (5, 'a');
INSERT INTO S (k, s) VALUES (6, NULL);
-- query
SELECT k FROM S@{FORCE_INDEX=SN} WHERE n > 0 ORDER BY k;
SELECT k FROM S@{FORCE_INDEX=SU} ORDER BY k;
SELECT INDEX_NAME, IS_NULL_FILTERED FROM INFORMATION_SCHEMA.INDEXES WHERE TABLE_NAME = 'S' ORDER BY INDEX_NAME;
-- read
{"table": "S", "index": "SN", "columns": ["n", "m"], "keySet": {"all": true}};
{"table": "S", "index": "SU", "columns": ["s"], "keySet": {"all": true}};
-- alter
CREATE INDEX SX ON S (n) WHERE n > 0;
CREATE INDEX SY ON S (n) WHERE m IS NOT NULL;
CREATE INDEX SZ ON S (n) WHERE n IS NOT NULL OR m IS NOT NULL;
CREATE NULL_FILTERED INDEX SW ON S (n) WHERE n IS NOT NULL;
CREATE INDEX SV ON S (n) WHERE nope IS NOT NULL;
ALTER TABLE S DROP COLUMN m;
DROP INDEX SY;
DROP INDEX SN;
ALTER TABLE S DROP COLUMN m;
-- dml
INSERT INTO S (k, s) VALUES (7, 'b');
