-- tx_mutations: a commit's mutations after the transaction's DML (update of a row it inserted, a child of a row it deleted, delete then insert, replace, cascades)
-- ddl
CREATE TABLE T (Id INT64 NOT NULL, V STRING(MAX)) PRIMARY KEY (Id);
CREATE TABLE C (Id INT64 NOT NULL, K INT64 NOT NULL, W STRING(MAX)) PRIMARY KEY (Id, K), INTERLEAVE IN PARENT T ON DELETE CASCADE;
-- tx
INSERT INTO T (Id, V) VALUES (1, 'a');
COMMIT {"mutations": [{"update": {"table": "T", "columns": ["Id", "V"], "values": [["1", "b"]]}}, {"insert": {"table": "C", "columns": ["Id", "K", "W"], "values": [["1", "1", "x"]]}}]};
-- query
SELECT Id, V FROM T ORDER BY Id;
SELECT Id, K, W FROM C ORDER BY Id, K;
-- tx
DELETE FROM T WHERE Id = 1;
COMMIT {"mutations": [{"insert": {"table": "C", "columns": ["Id", "K", "W"], "values": [["1", "2", "y"]]}}]};
-- query
SELECT Id, V FROM T ORDER BY Id;
SELECT Id, K FROM C ORDER BY Id, K;
-- tx
INSERT INTO T (Id, V) VALUES (2, 'c');
COMMIT {"mutations": [{"delete": {"table": "T", "keySet": {"keys": [["2"]]}}}, {"insert": {"table": "T", "columns": ["Id", "V"], "values": [["2", "d"]]}}]};
-- query
SELECT Id, V FROM T ORDER BY Id;
-- tx
UPDATE T SET V = 'e' WHERE Id = 2;
COMMIT {"mutations": [{"replace": {"table": "T", "columns": ["Id"], "values": [["2"]]}}]};
-- query
SELECT Id, V FROM T ORDER BY Id;
-- tx
INSERT INTO C (Id, K, W) VALUES (2, 1, 'z');
COMMIT {"mutations": [{"delete": {"table": "T", "keySet": {"all": true}}}]};
-- query
SELECT Id FROM T ORDER BY Id;
SELECT Id, K FROM C ORDER BY Id, K;
-- tx
INSERT INTO T (Id, V) VALUES (3, 'f');
COMMIT {"mutations": [{"update": {"table": "T", "columns": ["Id", "V"], "values": [["4", "g"]]}}]};
-- query
SELECT Id FROM T ORDER BY Id;
