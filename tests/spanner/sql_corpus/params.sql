-- params: query parameters in Spanner's JSON encoding: typed (INT64 a string, never a JSON number;
-- TIMESTAMP RFC 3339 ending in Z), untyped where the statement gives the type, arrays, structs,
-- LIMIT/OFFSET, and the errors of values their type refuses.
-- ddl
CREATE TABLE T (Id INT64 NOT NULL, S STRING(MAX), F FLOAT64, N NUMERIC, B BYTES(MAX), D DATE, Ts TIMESTAMP, J JSON, A ARRAY<INT64>) PRIMARY KEY (Id);
-- dml
-- params: {"params": {"id": "1", "s": "one"}, "paramTypes": {"id": {"code": "INT64"}, "s": {"code": "STRING"}}}
INSERT INTO T (Id, S) VALUES (@id, @s);
-- params: {"params": {"id": "2", "s": "two", "f": 2.5, "n": "2.50", "b": "AAE=", "d": "2024-02-29", "ts": "2024-02-29T10:00:00.5Z", "j": "{\"a\": 1}", "a": ["1", "2"]}, "paramTypes": {"id": {"code": "INT64"}, "s": {"code": "STRING"}, "f": {"code": "FLOAT64"}, "n": {"code": "NUMERIC"}, "b": {"code": "BYTES"}, "d": {"code": "DATE"}, "ts": {"code": "TIMESTAMP"}, "j": {"code": "JSON"}, "a": {"code": "ARRAY", "arrayElementType": {"code": "INT64"}}}}
INSERT INTO T (Id, S, F, N, B, D, Ts, J, A) VALUES (@id, @s, @f, @n, @b, @d, @ts, @j, @a);
-- params: {"params": {"id": "3"}}
INSERT INTO T (Id) VALUES (@id);
-- params: {"params": {"id": "4", "f": "NaN"}, "paramTypes": {"id": {"code": "INT64"}, "f": {"code": "FLOAT64"}}}
INSERT INTO T (Id, F) VALUES (@id, @f);
-- params: {"params": {"id": "5", "f": "Infinity"}, "paramTypes": {"id": {"code": "INT64"}, "f": {"code": "FLOAT64"}}}
INSERT INTO T (Id, F) VALUES (@id, @f);
-- params: {"params": {"id": "6", "s": null}, "paramTypes": {"id": {"code": "INT64"}, "s": {"code": "STRING"}}}
INSERT INTO T (Id, S) VALUES (@id, @s);
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"id": "7", "ts": "2024-01-01T00:00:00+01:00"}, "paramTypes": {"id": {"code": "INT64"}, "ts": {"code": "TIMESTAMP"}}}
INSERT INTO T (Id, Ts) VALUES (@id, @ts);
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"id": "8", "ts": "2024-01-01 00:00:00"}, "paramTypes": {"id": {"code": "INT64"}, "ts": {"code": "TIMESTAMP"}}}
INSERT INTO T (Id, Ts) VALUES (@id, @ts);
-- params: {"params": {"id": "9", "n": "1e3"}, "paramTypes": {"id": {"code": "INT64"}, "n": {"code": "NUMERIC"}}}
INSERT INTO T (Id, N) VALUES (@id, @n);
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"id": 10}, "paramTypes": {"id": {"code": "INT64"}}}
INSERT INTO T (Id) VALUES (@id);
-- params: {"params": {"id": "11", "d": "2024-2-3"}, "paramTypes": {"id": {"code": "INT64"}, "d": {"code": "DATE"}}}
INSERT INTO T (Id, D) VALUES (@id, @d);
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"id": "12", "b": "not base64!"}, "paramTypes": {"id": {"code": "INT64"}, "b": {"code": "BYTES"}}}
INSERT INTO T (Id, B) VALUES (@id, @b);
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"id": "13", "j": "{bad"}, "paramTypes": {"id": {"code": "INT64"}, "j": {"code": "JSON"}}}
INSERT INTO T (Id, J) VALUES (@id, @j);
-- params: {"params": {"lo": "2"}, "paramTypes": {"lo": {"code": "INT64"}}}
UPDATE T SET S = 'big' WHERE Id > @lo;
-- query
SELECT Id, S, F, N, B, D, Ts, J, A FROM T ORDER BY Id;
-- params: {"params": {"id": "2"}, "paramTypes": {"id": {"code": "INT64"}}}
SELECT S FROM T WHERE Id = @id;
-- params: {"params": {"ID": "2"}, "paramTypes": {"ID": {"code": "INT64"}}}
SELECT S FROM T WHERE Id = @id;
-- params: {"params": {"id": "2"}}
SELECT S FROM T WHERE Id = @id;
-- params: {"params": {"id": "2"}, "paramTypes": {"id": {"code": "STRING"}}}
SELECT S FROM T WHERE Id = @id;
SELECT S FROM T WHERE Id = @missing;
-- params: {"params": {"ids": ["1", "2", "5"]}, "paramTypes": {"ids": {"code": "ARRAY", "arrayElementType": {"code": "INT64"}}}}
SELECT Id FROM T WHERE Id IN UNNEST(@ids) ORDER BY Id;
-- params: {"params": {"ids": null}, "paramTypes": {"ids": {"code": "ARRAY", "arrayElementType": {"code": "INT64"}}}}
SELECT Id FROM T WHERE Id IN UNNEST(@ids) ORDER BY Id;
-- params: {"params": {"ids": ["1", null]}, "paramTypes": {"ids": {"code": "ARRAY", "arrayElementType": {"code": "INT64"}}}}
SELECT ARRAY_LENGTH(@ids) AS n, @ids AS a;
-- params: {"params": {"n": "2"}, "paramTypes": {"n": {"code": "INT64"}}}
SELECT Id FROM T ORDER BY Id LIMIT @n;
-- params: {"params": {"n": "2", "o": "1"}, "paramTypes": {"n": {"code": "INT64"}, "o": {"code": "INT64"}}}
SELECT Id FROM T ORDER BY Id LIMIT @n OFFSET @o;
-- params: {"params": {"n": "-1"}, "paramTypes": {"n": {"code": "INT64"}}}
SELECT Id FROM T ORDER BY Id LIMIT @n;
-- params: {"params": {"n": null}, "paramTypes": {"n": {"code": "INT64"}}}
SELECT Id FROM T ORDER BY Id LIMIT @n;
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"s": {"a": "1", "b": "x"}}, "paramTypes": {"s": {"code": "STRUCT", "structType": {"fields": [{"name": "a", "type": {"code": "INT64"}}, {"name": "b", "type": {"code": "STRING"}}]}}}}
SELECT @s.a AS a, @s.b AS b;
-- params: {"params": {"s": ["1", "x"]}, "paramTypes": {"s": {"code": "STRUCT", "structType": {"fields": [{"name": "a", "type": {"code": "INT64"}}, {"name": "b", "type": {"code": "STRING"}}]}}}}
SELECT @s.a AS a, @s.b AS b;
-- params: {"params": {"x": "5"}}
SELECT @x + 1 AS x;
-- params: {"params": {"x": "2024-01-01"}}
SELECT DATE_ADD(@x, INTERVAL 1 DAY) AS x;
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"x": "1.5"}, "paramTypes": {"x": {"code": "FLOAT32"}}}
SELECT @x AS x;
-- params: {"params": {"x": "1.5"}, "paramTypes": {"x": {"code": "NUMERIC"}}}
SELECT @x * 2 AS x;
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"x": "abc"}, "paramTypes": {"x": {"code": "NUMERIC"}}}
SELECT @x AS x;
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"x": "99999999999999999999999999999999"}, "paramTypes": {"x": {"code": "NUMERIC"}}}
SELECT @x AS x;
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"x": "9223372036854775808"}, "paramTypes": {"x": {"code": "INT64"}}}
SELECT @x AS x;
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"x": "0x10"}, "paramTypes": {"x": {"code": "INT64"}}}
SELECT @x AS x;
-- params: {"params": {"x": " 5"}, "paramTypes": {"x": {"code": "INT64"}}}
SELECT @x AS x;
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"x": "1.0"}, "paramTypes": {"x": {"code": "INT64"}}}
SELECT @x AS x;
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"x": "true"}, "paramTypes": {"x": {"code": "BOOL"}}}
SELECT @x AS x;
-- params: {"params": {"x": "{\"b\":2,\"a\":1}"}, "paramTypes": {"x": {"code": "JSON"}}}
SELECT @x AS x, JSON_VALUE(@x, '$.a') AS a;
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"x": "2024-02-30"}, "paramTypes": {"x": {"code": "DATE"}}}
SELECT @x AS x;
-- params: {"params": {"x": "2024-02-29T10:00:00.123456789Z"}, "paramTypes": {"x": {"code": "TIMESTAMP"}}}
SELECT @x AS x;
-- params: {"params": {"x": "AAE"}, "paramTypes": {"x": {"code": "BYTES"}}}
SELECT @x AS x;
-- params: {"params": {"x": "-Infinity"}, "paramTypes": {"x": {"code": "FLOAT64"}}}
SELECT @x AS x, IS_INF(@x) AS i;
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"x": "1e400"}, "paramTypes": {"x": {"code": "FLOAT64"}}}
SELECT @x AS x;
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"x": "abc"}, "paramTypes": {"x": {"code": "FLOAT64"}}}
SELECT @x AS x;
-- params: {"params": {"t": "T"}, "paramTypes": {"t": {"code": "STRING"}}}
SELECT * FROM @t;
-- params: {"params": {"x": "1"}, "paramTypes": {"x": {"code": "INT64"}}}
SELECT 1 AS one;
-- params: {"params": {"x": "1"}, "paramTypes": {"x": {"code": "BOGUS"}}}
SELECT @x AS x;
-- params: {"params": {"x": "1"}, "paramTypes": {"x": {"code": "ARRAY"}}}
SELECT @x AS x;
-- params: {"params": {"x": ["a", "b"]}, "paramTypes": {"x": {"code": "ARRAY", "arrayElementType": {"code": "STRING"}}}}
SELECT x FROM UNNEST(@x) AS x WITH OFFSET o ORDER BY o;
-- params: {"params": {"x": "a"}, "paramTypes": {"x": {"code": "STRING"}}}
SELECT CASE @x WHEN 'a' THEN 1 ELSE 2 END AS c, @x IS NULL AS n, COALESCE(@x, 'z') AS z;
-- params: {"params": {"p": "%w%"}, "paramTypes": {"p": {"code": "STRING"}}}
SELECT Id FROM T WHERE S LIKE @p ORDER BY Id;
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"x": "2024-01-01T00:00:00z"}, "paramTypes": {"x": {"code": "TIMESTAMP"}}}
SELECT @x AS x;
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"x": "2024-01-01 00:00:00Z"}, "paramTypes": {"x": {"code": "TIMESTAMP"}}}
SELECT @x AS x;
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"x": "2024-01-01t00:00:00Z"}, "paramTypes": {"x": {"code": "TIMESTAMP"}}}
SELECT @x AS x;
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"x": "2024-01-01T00:00:00+00:00"}, "paramTypes": {"x": {"code": "TIMESTAMP"}}}
SELECT @x AS x;
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"x": "2024-01-01"}, "paramTypes": {"x": {"code": "TIMESTAMP"}}}
SELECT @x AS x;
-- google-emulator-wrong: it answers FAILED_PRECONDITION; Spanner refuses a bad parameter value with INVALID_ARGUMENT "Invalid value for bind parameter x: Expected T."
-- expect: {"error":"INVALID_ARGUMENT"}
-- params: {"params": {"x": "2024-01-01T00:00Z"}, "paramTypes": {"x": {"code": "TIMESTAMP"}}}
SELECT @x AS x;
-- params: {"params": {"x": "2024-01-01T00:00:00.1234567891Z"}, "paramTypes": {"x": {"code": "TIMESTAMP"}}}
SELECT @x AS x;
-- params: {"params": {"x": "2024-01-01T00:00:00.1234567899Z"}, "paramTypes": {"x": {"code": "TIMESTAMP"}}}
SELECT @x AS x;
-- params: {"params": {"x": "2024-01-01T23:59:59.9999999999Z"}, "paramTypes": {"x": {"code": "TIMESTAMP"}}}
SELECT @x AS x;
