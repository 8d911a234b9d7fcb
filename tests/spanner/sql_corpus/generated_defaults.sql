-- generated_defaults: a STORED generated column recomputed on UPDATE (and refused as a
-- target), an index on it, DEFAULT values (columns and DEFAULT in VALUES/SET), THEN RETURN
-- of generated and default columns, INSERT ... SELECT and DELETE ... IN UNNEST
-- ddl
CREATE TABLE T (
  K INT64 NOT NULL,
  A INT64,
  B INT64,
  S INT64 AS (A + B) STORED,
  Up STRING(MAX) AS (UPPER(CAST(K AS STRING) || 'x')) STORED,
  Dflt STRING(10) DEFAULT ('d'),
  Arr ARRAY<INT64> DEFAULT ([1, 2]),
) PRIMARY KEY (K);
CREATE INDEX TByS ON T(S);
-- dml
INSERT INTO T (K, A, B) VALUES (1, 1, 2), (2, NULL, 5);
UPDATE T SET A = 10 WHERE K = 1;
UPDATE T SET S = 1 WHERE K = 1;
INSERT INTO T (K, A, B, Dflt) VALUES (3, 1, 1, NULL);
INSERT INTO T (K, A, B, Dflt) VALUES (4, 1, 1, DEFAULT) THEN RETURN S, Dflt, Arr;
UPDATE T SET Dflt = DEFAULT, B = B * 2 WHERE K = 3 THEN RETURN K, S, Dflt;
INSERT INTO T (K, A, B) SELECT 10 + x, x, x FROM UNNEST([1, 2]) AS x THEN RETURN K, S;
DELETE FROM T WHERE K IN UNNEST([10, 11]) THEN RETURN K;
-- query
SELECT K, A, B, S, Up, Dflt, Arr FROM T ORDER BY K;
SELECT K FROM T@{FORCE_INDEX=TByS} WHERE S > 3 ORDER BY K;
