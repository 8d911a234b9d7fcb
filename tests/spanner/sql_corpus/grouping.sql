-- grouping: HAVING names SELECT-list aliases before FROM columns (SUM(N) AS N ... HAVING N),
-- in expressions, with ORDER BY and without GROUP BY; an alias of an aggregate inside an
-- aggregate is an aggregation of an aggregation
-- ddl
CREATE TABLE T (
  K INT64 NOT NULL,
  S STRING(MAX),
  N INT64,
) PRIMARY KEY (K);
-- dml
INSERT INTO T (K, S, N) VALUES (1, 'a', 5), (2, 'b', 1), (3, 'a', 2);
-- query
SELECT S, SUM(N) AS N FROM T GROUP BY S HAVING N > 3;
SELECT S, COUNT(*) AS K FROM T GROUP BY S HAVING K > 1;
SELECT S AS x, COUNT(*) AS c FROM T GROUP BY x HAVING c > 1 AND x = 'a';
SELECT S, MAX(N) AS m FROM T GROUP BY S HAVING m + 1 > 3 ORDER BY S;
SELECT S, COUNT(*) AS c FROM T GROUP BY S HAVING SUM(c) > 1;
SELECT UPPER(S) AS S FROM T GROUP BY S HAVING S = 'A';
SELECT S, COUNT(*) AS c FROM T GROUP BY S HAVING c IN (SELECT N FROM T);
SELECT S, COUNT(*) AS c FROM T GROUP BY S HAVING MAX(K) = 3;
SELECT S AS S2 FROM T GROUP BY S HAVING S2 = 'b';
SELECT S, SUM(N) AS total FROM T GROUP BY S HAVING total > 1 ORDER BY total DESC;
SELECT COUNT(*) AS c FROM T HAVING c > 2;
SELECT N AS S FROM T GROUP BY N, S HAVING S > 1 ORDER BY S;
