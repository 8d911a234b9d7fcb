-- params_dml: parameters in DML (an ARRAY<STRUCT> unnested into rows, arrays, each type) and
-- untyped parameters typed by where they stand (columns, operators, functions: EXTRACT
-- takes a DATE first).
-- ddl
CREATE TABLE P (Id INT64 NOT NULL, S STRING(MAX), A ARRAY<INT64>, N NUMERIC, T TIMESTAMP, B BYTES(MAX), J JSON, F FLOAT32) PRIMARY KEY (Id);
-- dml
-- params: {"params": {"rows": [["1", "a"], ["2", "b"]]}, "paramTypes": {"rows": {"code": "ARRAY", "arrayElementType": {"code": "STRUCT", "structType": {"fields": [{"name": "id", "type": {"code": "INT64"}}, {"name": "s", "type": {"code": "STRING"}}]}}}}}
INSERT INTO P (Id, S) SELECT r.id, r.s FROM UNNEST(@rows) AS r;
-- params: {"params": {"a": ["1", "2", null]}, "paramTypes": {"a": {"code": "ARRAY", "arrayElementType": {"code": "INT64"}}}}
UPDATE P SET A = @a WHERE Id = 1;
-- params: {"params": {"n": "3.25", "t": "2024-05-06T07:08:09.123Z", "b": "AP8=", "j": "[1,{\"x\":null}]", "f": 1.5}, "paramTypes": {"n": {"code": "NUMERIC"}, "t": {"code": "TIMESTAMP"}, "b": {"code": "BYTES"}, "j": {"code": "JSON"}, "f": {"code": "FLOAT32"}}}
UPDATE P SET N = @n, T = @t, B = @b, J = @j, F = @f WHERE Id = 2;
-- params: {"params": {"id": "3", "s": "c"}}
INSERT INTO P (Id, S) VALUES (@id, @s);
-- params: {"params": {"id": "4", "n": "1.5", "t": "2024-01-01T00:00:00Z"}}
INSERT INTO P (Id, N, T) VALUES (@id, @n, @t);
-- params: {"params": {"id": "5", "f": "NaN"}}
INSERT INTO P (Id, F) VALUES (@id, @f);
-- params: {"params": {"id": "6", "a": ["1", "2"]}}
INSERT INTO P (Id, A) VALUES (@id, @a);
-- params: {"params": {"ids": ["1", "3"]}, "paramTypes": {"ids": {"code": "ARRAY", "arrayElementType": {"code": "INT64"}}}}
DELETE FROM P WHERE Id IN UNNEST(@ids) AND S = 'zzz';
-- params: {"params": {"s": "x"}, "paramTypes": {"s": {"code": "STRING"}}}
UPDATE P SET S = CONCAT(S, @s) WHERE S IS NOT NULL;
-- query
SELECT Id, S, A, N, T, B, J, F FROM P ORDER BY Id;
-- params: {"params": {"p": {"id": "1"}}}
SELECT @p AS p;
-- params: {"params": {"lo": "2", "hi": "4"}}
SELECT Id FROM P WHERE Id BETWEEN @lo AND @hi ORDER BY Id;
-- params: {"params": {"t": "2024-01-01T00:00:00Z"}}
SELECT Id FROM P WHERE T > @t ORDER BY Id;
-- params: {"params": {"t": "2024-01-01 00:00:00"}}
SELECT Id FROM P WHERE T > @t ORDER BY Id;
-- params: {"params": {"n": "1"}}
SELECT Id FROM P WHERE N >= @n ORDER BY Id;
-- params: {"params": {"x": "1"}}
SELECT CAST(@x AS INT64) + 1 AS y;
-- params: {"params": {"x": "abc"}}
SELECT LENGTH(@x) AS n;
-- params: {"params": {"a": ["x", "y"]}}
SELECT ARRAY_LENGTH(@a) AS n;
-- params: {"params": {"a": ["1", "2"]}}
SELECT Id FROM P WHERE Id IN UNNEST(@a) ORDER BY Id;
-- params: {"params": {"b": true}}
SELECT Id FROM P WHERE (Id > 3) = @b ORDER BY Id;
-- params: {"params": {"f": 2.5}}
SELECT @f * 2 AS y;
-- params: {"params": {"f": 2.5}}
SELECT Id FROM P WHERE F < @f ORDER BY Id;
-- params: {"params": {"s": "%a%"}}
SELECT Id FROM P WHERE S LIKE @s ORDER BY Id;
-- params: {"params": {"j": "{\"k\": 1}"}}
SELECT JSON_VALUE(@j, '$.k') AS v;
-- params: {"params": {"d": "2024-02-03"}}
SELECT EXTRACT(YEAR FROM @d) AS y;
-- params: {"params": {"d": "2024-02-03"}}
SELECT EXTRACT(YEAR FROM @d) AS y;
-- params: {"params": {"d": "2024-02-03T10:00:00Z"}}
SELECT EXTRACT(YEAR FROM @d) AS y;
-- params: {"params": {"d": "2024-02-03"}}
SELECT EXTRACT(HOUR FROM @d) AS y;
-- params: {"params": {"d": "2024-02-03T10:00:00Z"}}
SELECT EXTRACT(HOUR FROM @d) AS y;
-- params: {"params": {"d": "2024-02-03"}}
SELECT DATE_TRUNC(@d, MONTH) AS y;
-- params: {"params": {"d": "2024-02-03T10:00:00Z"}}
SELECT TIMESTAMP_TRUNC(@d, HOUR) AS y;
-- params: {"params": {"d": "2024-02-03"}}
SELECT FORMAT_DATE('%Y', @d) AS y;
-- params: {"params": {"d": "2024-02-03"}}
SELECT DATE_DIFF(@d, DATE '2024-01-01', DAY) AS y;
-- params: {"params": {"d": "2024-02-03"}}
SELECT EXTRACT(DATE FROM @d) AS y;
