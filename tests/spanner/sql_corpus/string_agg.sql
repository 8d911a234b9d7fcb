-- STRING_AGG over STRING and BYTES, with and without DISTINCT and a delimiter (the order of
-- the values is unspecified without ORDER BY, which Spanner refuses in STRING_AGG: the
-- checks below read one value or the length).
-- ddl
CREATE TABLE T (K INT64, S STRING(MAX), B BYTES(MAX)) PRIMARY KEY (K);
-- dml
INSERT INTO T (K, S, B) VALUES (1, 'a', b'x'), (2, 'b', b'y'), (3, 'a', b'x'), (4, NULL, NULL);
-- query
SELECT STRING_AGG(DISTINCT 'a') FROM T;
SELECT STRING_AGG(DISTINCT S) FROM T WHERE K <> 2;
SELECT LENGTH(STRING_AGG(DISTINCT S)), LENGTH(STRING_AGG(S)) FROM T;
SELECT STRING_AGG(DISTINCT S) FROM T WHERE K > 10;
SELECT STRING_AGG(DISTINCT S) FROM T WHERE K = 4;
SELECT STRING_AGG(S, '|') FROM T WHERE K <> 2;
SELECT STRING_AGG(DISTINCT S, '|') FROM T WHERE K <> 2;
SELECT LENGTH(STRING_AGG(DISTINCT S, '--')) FROM T;
SELECT STRING_AGG(B) FROM T WHERE K <> 2;
SELECT STRING_AGG(B, b'-') FROM T WHERE K <> 2;
SELECT BYTE_LENGTH(STRING_AGG(B)), BYTE_LENGTH(STRING_AGG(DISTINCT B)) FROM T;
SELECT STRING_AGG(DISTINCT B, b'--') FROM T WHERE K <> 2;
SELECT STRING_AGG(B) FROM T WHERE K = 4;
SELECT K, STRING_AGG(DISTINCT S, '|') FROM T GROUP BY K ORDER BY K;
SELECT STRING_AGG(S, '|' HAVING MIN K) FROM T;
SELECT STRING_AGG(B HAVING MAX K) FROM T WHERE B IS NOT NULL;
SELECT STRING_AGG(NULL) FROM T;
SELECT STRING_AGG(S, b'-') FROM T;
SELECT STRING_AGG(K) FROM T;
-- google-emulator-wrong: Spanner (aggregate function calls): "If DISTINCT is also specified, then the sort key must be the same as expression." Google's emulator refuses every DISTINCT with HAVING as UNIMPLEMENTED
-- expect: {"fields": [["", "STRING"]], "rows": [["b"]]}
SELECT STRING_AGG(DISTINCT S, '|' HAVING MAX S) FROM T;
-- params: {"params": {"p": "z", "d": "+"}, "paramTypes": {"p": {"code": "STRING"}, "d": {"code": "STRING"}}}
SELECT STRING_AGG(@p, @d) FROM T;
