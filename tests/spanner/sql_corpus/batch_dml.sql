-- batch_dml: executeBatchDml, each batch in a read-write transaction of its own, committed
-- ddl
CREATE TABLE T (Id INT64 NOT NULL, V STRING(MAX), N INT64) PRIMARY KEY (Id);
-- batch
{"statements": [{"sql": "INSERT INTO T (Id, V) VALUES (1, 'a')"}, {"sql": "INSERT INTO T (Id, V) VALUES (2, 'b')"}, {"sql": "UPDATE T SET N = 5 WHERE TRUE"}]};
{"statements": [{"sql": "INSERT INTO T (Id, V) VALUES (20, 't')"}, {"sql": "INSERT INTO T (Id, V) VALUES (20, 'u')"}, {"sql": "INSERT INTO T (Id, V) VALUES (21, 'v')"}]};
{"statements": []};
{};
{"statements": [{"sql": "SELECT 1"}]};
{"statements": [{"sql": "UPDATE T SET N = 1 WHERE Id = 1"}, {"sql": "SELECT 1"}]};
{"statements": [{"sql": "UPDATE T SET N = @n WHERE Id = 2", "params": {"n": "7"}, "paramTypes": {"n": {"code": "INT64"}}}]};
-- google-emulator-wrong: the same value in executeSql is INVALID_ARGUMENT "Invalid value for bind parameter n: Expected INT64." in Google's emulator too; its batch answers FAILED_PRECONDITION
-- expect: {"batch":[],"status":"INVALID_ARGUMENT"}
{"statements": [{"sql": "UPDATE T SET N = @n WHERE Id = 1", "params": {"n": 7}, "paramTypes": {"n": {"code": "INT64"}}}]};
{"statements": [{"sql": "UPDATE T SET N = 3 WHERE Id = 2"}, {"sql": "UPDATE T SET X = 3"}]};
{"statements": [{"sql": "DELETE FROM T WHERE Id = 20"}, {"sql": "UPDATE T SET N = 1 WHERE Id = 1 THEN RETURN Id"}]};
{"statements": [{"sql": ""}]};
{"statements": [{"sql": "UPDATE T SET N = 8 WHERE Id = 1"}, {"sql": "UPDATE T SET N = 1/0 WHERE Id = 2"}, {"sql": "UPDATE T SET N = 9 WHERE Id = 2"}]};
-- query
SELECT Id, V, N FROM T ORDER BY Id;
