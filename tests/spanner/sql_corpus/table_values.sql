-- table_values: a FROM alias used as a value, GoogleSQL's range variable: a STRUCT of the
-- table's or subquery's columns (HIDDEN ones left out) for TO_JSON, ARRAY_AGG, FORMAT, =
-- and IS NULL; an alias before a column of the same name in its scope (t is the table in
-- FROM T AS t, U where U has a column T); a value table's alias is its value
-- ddl
CREATE TABLE T (
  K INT64 NOT NULL,
  G INT64,
  S STRING(MAX),
  A ARRAY<INT64>,
  H STRING(MAX) HIDDEN,
) PRIMARY KEY (K);
CREATE TABLE U (
  K INT64 NOT NULL,
  T INT64,
) PRIMARY KEY (K);
-- dml
INSERT INTO T (K, G, S, A, H) VALUES (1, 1, 'a', [1], 'h'), (2, 1, NULL, NULL, 'h'), (3, 2, 'c', [], NULL);
INSERT INTO U (K, T) VALUES (1, 10);
-- query
SELECT TO_JSON(t) FROM T AS t ORDER BY K;
SELECT TO_JSON(T) FROM T ORDER BY K;
SELECT t FROM T AS t;
SELECT TO_JSON(t), TO_JSON(u) FROM T AS t JOIN U AS u USING (K);
SELECT ARRAY_AGG(t ORDER BY t.K) FROM T AS t;
SELECT ARRAY(SELECT AS STRUCT * FROM T ORDER BY K) = ARRAY(SELECT t FROM T AS t ORDER BY K);
SELECT G, TO_JSON(t) FROM T AS t GROUP BY G;
SELECT TO_JSON(s) FROM (SELECT 1 AS a, 'x' AS b) AS s;
SELECT T FROM U;
SELECT TO_JSON(x) FROM UNNEST([1, 2]) AS x ORDER BY 1;
SELECT (SELECT TO_JSON(t)) FROM T AS t ORDER BY K;
SELECT t.S FROM T AS t WHERE t IS NOT NULL ORDER BY K;
SELECT COUNT(DISTINCT t) FROM T AS t;
SELECT FORMAT('%t', t) FROM T AS t WHERE K = 1;
SELECT TO_JSON(t) FROM T AS t, U AS t2 WHERE t.K = t2.K;
SELECT v FROM (SELECT AS VALUE K FROM T) AS v WHERE v = 2;
SELECT TO_JSON(v) FROM (SELECT AS VALUE STRUCT(K AS a, S AS b) FROM T) AS v ORDER BY v.a;
