-- INSERT OR UPDATE and INSERT OR IGNORE: the primary key decides; a UNIQUE index's
-- duplicate is still an error
-- ddl
CREATE TABLE T (Id INT64 NOT NULL, V STRING(MAX), W INT64) PRIMARY KEY (Id);
CREATE UNIQUE INDEX TByV ON T(V);
-- dml
INSERT INTO T (Id, V, W) VALUES (1, 'a', 10), (2, 'b', 20);
INSERT OR IGNORE INTO T (Id, V) VALUES (1, 'zzz'), (4, 'd');
INSERT OR IGNORE INTO T (Id, V) VALUES (8, 'p'), (8, 'q');
-- query
SELECT * FROM T ORDER BY Id;
-- dml
INSERT OR IGNORE INTO T (Id, V) VALUES (5, 'd');
INSERT OR UPDATE INTO T (Id, V) VALUES (2, 'd');
INSERT OR IGNORE INTO T (V) VALUES ('n');
INSERT OR UPDATE INTO T (Id, V) SELECT 6, 'e';
INSERT OR UPDATE INTO T (Id, V) VALUES (3, 'c');
-- query
SELECT * FROM T ORDER BY Id;
-- dml
INSERT OR UPDATE INTO T (Id, V) VALUES (1, 'a2');
-- query
-- google-emulator-wrong: it sets the columns left out of the list to NULL; INSERT OR UPDATE is the DML of the insertOrUpdate mutation, whose rows keep the values not written (as PostgreSQL's ON CONFLICT DO UPDATE SET of the listed columns)
-- expect: {"fields":[["Id","INT64"],["V","STRING"],["W","INT64"]],"rows":[["1","a2","10"]]}
SELECT * FROM T WHERE Id = 1;
-- INSERT OR UPDATE may not write one key twice (INVALID_ARGUMENT, nothing written), from
-- VALUES or from a query, a key already there or not; different keys are fine
-- dml
INSERT OR UPDATE INTO T (Id, V) VALUES (20, 'x1'), (20, 'x2');
INSERT OR UPDATE INTO T (Id, V) VALUES (1, 'y1'), (1, 'y2');
INSERT OR UPDATE INTO T (Id, V) SELECT 30, v FROM UNNEST(['s', 't']) AS v;
INSERT OR UPDATE INTO T (Id, V) SELECT 30 + x, CAST(x AS STRING) FROM UNNEST([1, 2]) AS x;
INSERT OR UPDATE INTO T (Id, W) VALUES (40, 1), (41, 2), (40, 3);
-- query
-- google-emulator-wrong: row 1's W, left out of the INSERT OR UPDATE above, is kept (see above)
-- expect: {"fields":[["Id","INT64"],["V","STRING"],["W","INT64"]],"rows":[["1","a2","10"],["2","b","20"],["3","c",null],["4","d",null],["6","e",null],["8","p",null],["31","1",null],["32","2",null]]}
SELECT * FROM T ORDER BY Id;
