-- transactions: statements of one read-write transaction (read your writes, commit, rollback),
-- write errors that invalidate it, ended transactions used again, read-only and partitioned DML
-- ddl
CREATE TABLE T (Id INT64 NOT NULL, V STRING(3), N INT64 NOT NULL DEFAULT (0), CONSTRAINT Pos CHECK (N >= 0)) PRIMARY KEY (Id);
CREATE UNIQUE INDEX TByV ON T (V);
CREATE TABLE C (Id INT64 NOT NULL, P INT64, CONSTRAINT FkP FOREIGN KEY (P) REFERENCES T (Id)) PRIMARY KEY (Id);
-- tx
INSERT INTO T (Id, V, N) VALUES (1, 'a', 10), (2, 'b', 20);
SELECT Id, V FROM T ORDER BY Id;
UPDATE T SET N = N + 1 WHERE Id = 1;
SELECT N FROM T WHERE Id = 1;
READ {"table": "T", "columns": ["Id", "N"], "keySet": {"all": true}};
READ {"table": "T", "index": "TByV", "columns": ["V"], "keySet": {"keys": [["a"]]}};
COMMIT;
-- query
SELECT Id, V, N FROM T ORDER BY Id;
-- tx
INSERT INTO T (Id, V) VALUES (3, 'c');
ROLLBACK;
-- query
SELECT Id FROM T ORDER BY Id;
-- errors before a write leave the transaction as it was
-- tx
SELECT 1/0;
UPDATE T SET N = 1/0 WHERE TRUE;
INSERT INTO T (Id, N) VALUES (4, CAST('x' AS INT64));
UPDATE T SET X = 1 WHERE TRUE;
SELECT * FROM Missing;
UPDATE T SET Id = 11 WHERE Id = 2;
INSERT INTO T (Id, V) VALUES (4, 'd');
COMMIT;
-- query
SELECT Id, V FROM T ORDER BY Id;
-- a write error invalidates it: everything after answers that error, a rollback succeeds
-- tx
INSERT INTO T (Id, V) VALUES (5, 'e');
INSERT INTO T (Id, V) VALUES (1, 'dup');
INSERT INTO T (Id, V) VALUES (6, 'f');
SELECT Id FROM T ORDER BY Id;
READ {"table": "T", "columns": ["Id"], "keySet": {"all": true}};
BATCH {"statements": [{"sql": "UPDATE T SET N = 1 WHERE Id = 2"}]};
COMMIT;
COMMIT;
ROLLBACK;
-- query
SELECT Id FROM T ORDER BY Id;
-- tx
INSERT INTO T (Id, V) VALUES (7, 'a');
COMMIT;
-- tx
INSERT INTO T (Id, N) VALUES (8, -1);
COMMIT;
-- tx
INSERT INTO T (Id, V) VALUES (9, 'abcdef');
COMMIT;
-- tx
INSERT INTO T (Id, N) VALUES (10, NULL);
COMMIT;
-- tx
INSERT INTO C (Id, P) VALUES (1, 99);
INSERT INTO C (Id, P) VALUES (2, 1);
COMMIT;
-- tx
INSERT INTO T (Id, V) VALUES (12, 'l');
ROLLBACK;
-- query
SELECT Id FROM T ORDER BY Id;
SELECT Id, P FROM C ORDER BY Id;
-- mutations at the commit, with DML before them
-- tx
INSERT INTO T (Id, V) VALUES (13, 'm');
COMMIT {"mutations": [{"insert": {"table": "T", "columns": ["Id", "V"], "values": [["14", "n"]]}}]};
-- tx
INSERT INTO T (Id, V) VALUES (15, 'o');
COMMIT {"mutations": [{"insert": {"table": "T", "columns": ["Id", "V"], "values": [["15", "p"]]}}]};
-- query
SELECT Id, V FROM T ORDER BY Id;
-- ended transactions used again
-- tx
INSERT INTO T (Id) VALUES (16);
COMMIT;
COMMIT;
ROLLBACK;
SELECT 1;
READ {"table": "T", "columns": ["Id"], "keySet": {"all": true}};
-- tx
INSERT INTO T (Id) VALUES (17);
ROLLBACK;
ROLLBACK;
COMMIT;
SELECT 1;
-- tx
COMMIT {"mutations": [{"insert": {"table": "T", "columns": ["Id"], "values": [["16"]]}}]};
COMMIT;
-- google-emulator-wrong: Spanner answers a read after a failed commit with FAILED_PRECONDITION (the emulator's own conformance test ReadAfterInvalidatedCommitReturnsError, whose in_prod_env branch is Spanner's answer); Google's emulator replays the commit's error
-- expect: {"error":"FAILED_PRECONDITION"}
SELECT 1;
ROLLBACK;
-- read-only transactions: no DML, no commit or rollback (and still usable after)
-- tx
BEGIN {"readOnly": {"strong": true}};
SELECT COUNT(*) FROM T;
INSERT INTO T (Id) VALUES (18);
READ {"table": "T", "columns": ["Id"], "keySet": {"keys": [["1"]]}};
ROLLBACK;
COMMIT;
-- google-emulator-wrong: a read-only transaction whose rollback was refused stays usable in Spanner (the emulator's conformance test RollbackOfReadOnlyTransactionFailsButDoesNotInvalidate, in_prod_env); Google's emulator invalidates it
-- expect: {"fields":[["","INT64"]],"rows":[["1"]]}
SELECT 1;
-- partitioned DML: one statement, UPDATE or DELETE only
-- tx
BEGIN {"partitionedDml": {}};
UPDATE T SET N = 5 WHERE N = 0;
UPDATE T SET N = 6 WHERE TRUE;
COMMIT;
ROLLBACK;
-- tx
BEGIN {"partitionedDml": {}};
INSERT INTO T (Id, V) VALUES (19, 's');
-- tx
BEGIN {"partitionedDml": {}};
SELECT Id FROM T;
-- tx
BEGIN {"partitionedDml": {}};
DELETE FROM T WHERE Id > 14;
-- tx
BEGIN {"partitionedDml": {}};
-- google-emulator-wrong: Partitioned DML answers a lower bound of the rows it changed (ResultSetStats.row_count_lower_bound) and no rows, as it may apply a statement to a row more than once; ours refuses THEN RETURN there rather than drop the rows it asks for, where Google's emulator ignores it
-- expect: {"error":"INVALID_ARGUMENT"}
UPDATE T SET N = N WHERE Id = 1 THEN RETURN Id;
-- query
SELECT Id, N FROM T ORDER BY Id;
-- transaction options
-- tx
BEGIN {"readWrite": {}, "readOnly": {}};
-- tx
BEGIN {};
-- seqno: a DML request sent again with its seqno is answered as the first time (not run
-- again); its seqno with another request, or a lower new one, is refused; queries ignore it
-- tx
-- params: {"seqno": "5"}
INSERT INTO T (Id, N) VALUES (30, 1);
-- params: {"seqno": "5"}
INSERT INTO T (Id, N) VALUES (30, 1);
-- params: {"seqno": "5"}
INSERT INTO T (Id, N) VALUES (31, 1);
-- params: {"seqno": "3"}
INSERT INTO T (Id, N) VALUES (32, 1);
-- params: {"seqno": "none"}
INSERT INTO T (Id, N) VALUES (33, 1);
-- params: {"seqno": "1"}
SELECT COUNT(*) FROM T WHERE Id >= 30;
-- params: {"seqno": "7"}
UPDATE T SET N = N + 1 WHERE Id = 30;
-- params: {"seqno": "7"}
UPDATE T SET N = N + 1 WHERE Id = 30;
COMMIT;
-- query
SELECT Id, N FROM T WHERE Id >= 30 ORDER BY Id;
