-- streaming: executeStreamingSql, its PartialResultSets merged into rows (values of every
-- type, many rows across parts, errors before and while rows stream)
-- ddl
CREATE TABLE T (Id INT64 NOT NULL, V STRING(MAX), B BYTES(MAX), A ARRAY<INT64>, F FLOAT64, J JSON) PRIMARY KEY (Id);
-- dml
INSERT INTO T (Id, V, B, A, F, J) VALUES (1, 'a', b'xy', [1, 2], 1.5, JSON '{"k": [1, null]}'), (2, 'b', NULL, [], CAST('nan' AS FLOAT64), NULL), (3, NULL, b'', NULL, NULL, JSON 'null');
-- stream
SELECT Id, V, B, A, F, J FROM T ORDER BY Id;
SELECT COUNT(*) FROM T;
SELECT * FROM T WHERE FALSE;
SELECT 1/0;
SELECT X FROM T;
SELECT Id FROM T WHERE Id = 1/0;
SELECT Id, 10 / (Id - 3) FROM T ORDER BY Id;
SELECT ARRAY(SELECT AS STRUCT Id, V FROM T ORDER BY Id) AS s;
SELECT STRUCT(1 AS a, 'x' AS b) AS s, [STRUCT(2 AS a)] AS t;
WITH n AS (SELECT x FROM UNNEST(GENERATE_ARRAY(1, 5000)) AS x) SELECT x, CAST(x AS STRING) AS s FROM n ORDER BY x;
SELECT x FROM UNNEST(GENERATE_ARRAY(1, 300)) AS x;
DELETE FROM T WHERE TRUE;
-- params: {"params": {"n": "2"}, "paramTypes": {"n": {"code": "INT64"}}}
SELECT V FROM T WHERE Id = @n;
