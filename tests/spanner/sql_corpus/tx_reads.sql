-- tx_reads: reads by key and by index in a read-write transaction see its DML's writes
-- ddl
CREATE TABLE T (Id INT64 NOT NULL, V STRING(MAX), N INT64) PRIMARY KEY (Id);
CREATE INDEX TByV ON T (V) STORING (N);
CREATE UNIQUE NULL_FILTERED INDEX TByN ON T (N);
-- commit
{"mutations": [{"insert": {"table": "T", "columns": ["Id", "V", "N"], "values": [["1", "a", "10"], ["2", "b", "20"], ["3", "c", null]]}}]};
-- tx
UPDATE T SET V = 'z', N = 15 WHERE Id = 1;
DELETE FROM T WHERE Id = 2;
INSERT INTO T (Id, V, N) VALUES (4, 'd', 40), (5, NULL, 50);
READ {"table": "T", "index": "TByV", "columns": ["V", "N"], "keySet": {"all": true}};
READ {"table": "T", "index": "TByV", "columns": ["V", "Id"], "keySet": {"ranges": [{"startClosed": ["c"], "endOpen": ["z"]}]}};
READ {"table": "T", "index": "TByN", "columns": ["N", "Id"], "keySet": {"all": true}, "limit": "2"};
READ {"table": "T", "columns": ["Id", "V"], "keySet": {"keys": [["2"], ["4"]]}};
READ {"table": "T", "columns": ["Id", "V"], "keySet": {"ranges": [{"startOpen": ["1"], "endClosed": ["5"]}]}, "limit": "1"};
SELECT Id, V, N FROM T@{FORCE_INDEX=TByV} ORDER BY Id;
INSERT INTO T (Id, N) VALUES (6, 40);
ROLLBACK;
-- read
{"table": "T", "columns": ["Id", "V", "N"], "keySet": {"all": true}};
