-- basics: types, filters, joins, aggregates, subqueries, arrays, DML, over singers and albums
-- ddl
CREATE TABLE Singers (
  SingerId INT64 NOT NULL,
  FirstName STRING(20),
  LastName STRING(MAX),
  Score FLOAT64,
  Balance NUMERIC,
  Birth DATE,
  Active BOOL,
  Photo BYTES(MAX),
  Updated TIMESTAMP,
  Tags ARRAY<STRING(MAX)>,
) PRIMARY KEY (SingerId);
CREATE TABLE Albums (
  SingerId INT64 NOT NULL,
  AlbumId INT64 NOT NULL,
  Title STRING(MAX) NOT NULL,
  Sales INT64 DEFAULT (0),
) PRIMARY KEY (SingerId, AlbumId), INTERLEAVE IN PARENT Singers ON DELETE CASCADE;
CREATE INDEX AlbumsByTitle ON Albums(Title DESC);

-- dml
INSERT INTO Singers (SingerId, FirstName, LastName, Score, Balance, Birth, Active, Photo, Updated, Tags)
VALUES (1, 'Marc', 'Richards', 1.5, NUMERIC '10.25', DATE '1970-09-03', true, b'\x00\xff', TIMESTAMP '2020-01-02T03:04:05.123456789Z', ['a', 'b']),
(2, 'Catalina', 'Smith', 2.5, NUMERIC '-0.5', DATE '1990-01-31', false, NULL, NULL, []),
(3, 'alice', 'Trentor', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
(4, NULL, 'Martin', -1, NUMERIC '99999999999999999999999999999.999999999', NULL, true, b'', NULL, ['x', NULL]);
INSERT INTO Albums (SingerId, AlbumId, Title, Sales) VALUES (1, 1, 'Total Junk', 100), (1, 2, 'Go, Go, Go', 200), (2, 1, 'Green', 50), (2, 2, 'Forever Hold Your Peace', NULL), (2, 3, 'Terrified', 50);
INSERT INTO Albums (SingerId, AlbumId, Title) VALUES (3, 1, 'Defaulted');
UPDATE Albums SET Sales = Sales + 1 WHERE SingerId = 1;
DELETE FROM Albums WHERE Title = 'Nope';

-- query
SELECT * FROM Singers ORDER BY SingerId;
SELECT * FROM Albums;
SELECT SingerId, FirstName FROM Singers WHERE SingerId = 1;
-- google-emulator-wrong: it refuses NULLS FIRST/LAST, which Spanner's GoogleSQL has
-- expect: {"fields":[["LastName","STRING"]],"rows":[["Martin"],["Richards"],["Smith"],["Trentor"]]}
SELECT LastName FROM Singers ORDER BY Score NULLS LAST, SingerId;
-- google-emulator-wrong: it refuses NULLS FIRST/LAST, which Spanner's GoogleSQL has
-- expect: {"fields":[["LastName","STRING"]],"rows":[["Trentor"],["Smith"],["Richards"],["Martin"]]}
SELECT LastName FROM Singers ORDER BY Score DESC NULLS FIRST;
SELECT LastName FROM Singers ORDER BY Score, SingerId;
SELECT LastName FROM Singers ORDER BY Score DESC, SingerId;
SELECT SingerId FROM Singers ORDER BY Balance, SingerId;
SELECT SingerId FROM Singers ORDER BY SingerId LIMIT 2 OFFSET 1;
SELECT DISTINCT Sales FROM Albums WHERE Sales IS NOT NULL ORDER BY Sales;
SELECT SingerId FROM Singers WHERE Birth > '1980-01-01';
SELECT SingerId FROM Singers WHERE Balance > 10;
SELECT SingerId FROM Singers WHERE Score BETWEEN 1 AND 2;
SELECT SingerId FROM Singers WHERE Active IS NOT TRUE;
SELECT s.SingerId, (SELECT COUNT(*) FROM Albums a WHERE a.SingerId = s.SingerId) AS n FROM Singers s;
SELECT SingerId FROM Singers s WHERE EXISTS (SELECT 1 FROM Albums a WHERE a.SingerId = s.SingerId AND a.Sales > 60);
SELECT SingerId FROM Singers WHERE SingerId IN (SELECT SingerId FROM Albums);
SELECT * EXCEPT (Title) FROM Albums WHERE SingerId = 2;
SELECT * REPLACE (Sales * 2 AS Sales, 'x' AS Title) FROM Albums WHERE SingerId = 2;
SELECT COUNT(*), COUNT(Sales), SUM(Sales), MIN(Title), MAX(Sales), AVG(Sales) FROM Albums;
SELECT SingerId, COUNT(*) AS n, SUM(Sales) FROM Albums GROUP BY SingerId;
SELECT SingerId, COUNTIF(Sales >= 100) FROM Albums GROUP BY 1 HAVING COUNT(*) > 1;
SELECT SUM(Balance), AVG(Balance) FROM Singers WHERE SingerId < 3;
SELECT STRING_AGG(Title, '|' ORDER BY Title) FROM Albums;
SELECT SingerId, ARRAY_AGG(AlbumId ORDER BY AlbumId) FROM Albums GROUP BY SingerId;
SELECT ARRAY_AGG(x LIMIT 1) FROM UNNEST([1]) AS x;
SELECT SingerId, ARRAY_LENGTH(ARRAY_AGG(AlbumId)) FROM Albums GROUP BY SingerId;
SELECT s.LastName, a.Title FROM Singers s JOIN Albums a ON s.SingerId = a.SingerId WHERE a.AlbumId = 1;
SELECT s.SingerId, a.AlbumId FROM Singers s LEFT JOIN Albums a ON s.SingerId = a.SingerId AND a.AlbumId = 3;
SELECT COUNT(*) FROM Singers CROSS JOIN Albums;
SELECT SingerId, Title FROM Albums JOIN Singers USING (SingerId) WHERE AlbumId = 2;
SELECT COUNT(*) FROM Albums a FULL OUTER JOIN Singers s ON a.SingerId = s.SingerId;
SELECT a.AlbumId FROM Singers s RIGHT JOIN Albums a ON s.SingerId = a.SingerId AND s.SingerId = 1 WHERE s.SingerId IS NULL;
SELECT SingerId FROM Albums@{FORCE_INDEX=AlbumsByTitle} WHERE Title = 'Green';
SELECT Tags, ARRAY_LENGTH(Tags) FROM Singers ORDER BY SingerId;
SELECT [1, 2, NULL], ARRAY<NUMERIC>[NUMERIC '1.5', 2], ARRAY<STRING>[];
SELECT Tags[SAFE_OFFSET(0)], Tags[SAFE_ORDINAL(2)] FROM Singers ORDER BY SingerId;
SELECT [10, 20, 30][OFFSET(1)], [10, 20][ORDINAL(1)], SPLIT('x,y')[OFFSET(1)], [DATE '2020-01-02'][SAFE_OFFSET(3)];
SELECT [1][OFFSET(1)];
SELECT 5[OFFSET(0)];
SELECT x, o FROM UNNEST([10, 20, 30]) AS x WITH OFFSET AS o WHERE x > 10 ORDER BY o;
SELECT SingerId FROM Singers WHERE SingerId IN UNNEST([2, 4]);
SELECT ARRAY(SELECT Title FROM Albums WHERE SingerId = 1 ORDER BY AlbumId DESC);
SELECT s.SingerId, t FROM Singers s, UNNEST(s.Tags) AS t;
WITH big AS (SELECT SingerId, Sales FROM Albums WHERE Sales >= 100) SELECT s.LastName, SUM(b.Sales) FROM big b JOIN Singers s USING (SingerId) GROUP BY s.LastName;
SELECT 7 / 2, DIV(7, 2), MOD(-7, 2), 7 - 10, 2 * 3 + 1;
SELECT 1 + 1.5, NUMERIC '1.1' + 1, NUMERIC '1.5' * NUMERIC '-2.25', NUMERIC '1' / NUMERIC '3';
SELECT CAST('42' AS INT64), CAST(42 AS STRING), CAST('1.25' AS NUMERIC), CAST(2.5 AS INT64), CAST(-2.5 AS INT64), CAST('true' AS BOOL);
SELECT SAFE_CAST('x' AS INT64), SAFE_CAST('2020-13-01' AS DATE);
SELECT CASE WHEN 1 > 2 THEN 'a' WHEN 2 > 1 THEN 'b' END, IF(true, 1, 2), IFNULL(NULL, 'z'), NULLIF(1, 1), COALESCE(NULL, 3);
SELECT 'abc' LIKE 'a%', 'abc' LIKE 'A%', 'abc' NOT LIKE '_b_';
SELECT 5 & 3, 5 | 3, 5 ^ 3, ~0, 1 << 4, 256 >> 4;
SELECT r'a\n', '''x''', b"\x41";
SELECT JSON '{"b": 1, "a": [true]}';
SELECT DATE_ADD(DATE '2020-01-31', INTERVAL 1 MONTH), DATE_DIFF(DATE '2020-03-01', DATE '2019-12-31', MONTH), EXTRACT(DAYOFYEAR FROM DATE '1970-09-03');
SELECT TIMESTAMP_ADD(TIMESTAMP '2020-01-01T00:00:00Z', INTERVAL 90 MINUTE), TIMESTAMP_DIFF(TIMESTAMP '2020-01-02T00:00:00Z', TIMESTAMP '2020-01-01T00:00:01Z', HOUR);
SELECT Nope FROM Singers;
SELECT * FROM NoTable;
SELECT 1 + 'a';
SELECT 9223372036854775807 + 1;
SELECT 1 / 0;
SELECT 1e308 * 10;
SELECT CAST('inf' AS FLOAT64) + 1, -CAST('inf' AS FLOAT64) * 2, 1.5 * 2 - 0.25, 1 + 2.5;
SELECT CAST('x' AS INT64);
SELECT FirstName, COUNT(*) FROM Singers;
