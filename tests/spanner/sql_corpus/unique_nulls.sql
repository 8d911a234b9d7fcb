-- unique_nulls: a UNIQUE index holds NULL as a value (two rows of NULL keys collide), a
-- NULL_FILTERED one leaves NULL keys out; in mutations and DML.
-- ddl
CREATE TABLE U (Id INT64 NOT NULL, A STRING(MAX), B INT64) PRIMARY KEY (Id);
CREATE UNIQUE INDEX UByA ON U(A);
CREATE UNIQUE INDEX UByAB ON U(A, B);
CREATE UNIQUE NULL_FILTERED INDEX UByB ON U(B);
-- commit
{"mutations": [{"insert": {"table": "U", "columns": ["Id", "A", "B"], "values": [["1", null, null]]}}]};
{"mutations": [{"insert": {"table": "U", "columns": ["Id", "A", "B"], "values": [["2", null, "1"]]}}]};
{"mutations": [{"insert": {"table": "U", "columns": ["Id", "A", "B"], "values": [["3", "x", null]]}}]};
{"mutations": [{"insert": {"table": "U", "columns": ["Id", "A", "B"], "values": [["4", "x", "2"]]}}]};
{"mutations": [{"insert": {"table": "U", "columns": ["Id", "A", "B"], "values": [["5", "0", null]]}}]};
{"mutations": [{"insert": {"table": "U", "columns": ["Id", "A", "B"], "values": [["6", "y", null], ["7", "z", null]]}}]};
{"mutations": [{"insert": {"table": "U", "columns": ["Id", "A", "B"], "values": [["8", "w", "1"], ["9", "v", "1"]]}}]};
{"mutations": [{"update": {"table": "U", "columns": ["Id", "A"], "values": [["5", null]]}}]};
{"mutations": [{"delete": {"table": "U", "keySet": {"keys": [["1"]]}}}, {"update": {"table": "U", "columns": ["Id", "A"], "values": [["5", null]]}}]};
-- dml
INSERT INTO U (Id, A, B) VALUES (10, NULL, 5);
INSERT INTO U (Id, A, B) VALUES (11, 'q', 5);
-- query
SELECT Id, A, B FROM U ORDER BY Id;
