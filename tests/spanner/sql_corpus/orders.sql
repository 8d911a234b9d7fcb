-- orders: an application's queries over customers, orders and their lines: WITH, joins of
-- three tables, LEFT JOIN and its NULLs, correlated and ARRAY subqueries, UNNEST joins,
-- aggregates with ORDER BY/LIMIT/IGNORE NULLS, CASE, time functions, and DML that reads
-- other tables (INSERT ... SELECT, UPDATE/DELETE with subqueries, THEN RETURN)
-- ddl
CREATE TABLE Customers (
  CustomerId INT64 NOT NULL,
  Name STRING(100) NOT NULL,
  Country STRING(2),
  Tier STRING(10),
  Joined TIMESTAMP,
) PRIMARY KEY (CustomerId);
CREATE TABLE Orders (
  CustomerId INT64 NOT NULL,
  OrderId INT64 NOT NULL,
  Placed TIMESTAMP NOT NULL,
  Status STRING(20),
  Discount NUMERIC,
) PRIMARY KEY (CustomerId, OrderId), INTERLEAVE IN PARENT Customers ON DELETE CASCADE;
CREATE TABLE Lines (
  CustomerId INT64 NOT NULL,
  OrderId INT64 NOT NULL,
  LineNo INT64 NOT NULL,
  Sku STRING(20) NOT NULL,
  Qty INT64,
  Price FLOAT64,
) PRIMARY KEY (CustomerId, OrderId, LineNo), INTERLEAVE IN PARENT Orders ON DELETE CASCADE;
CREATE TABLE Archive (
  CustomerId INT64 NOT NULL,
  OrderId INT64 NOT NULL,
  Total FLOAT64,
) PRIMARY KEY (CustomerId, OrderId);
CREATE INDEX OrdersByStatus ON Orders(Status);

-- dml
INSERT INTO Customers (CustomerId, Name, Country, Tier, Joined) VALUES
(1, 'Ada', 'GB', 'gold', TIMESTAMP '2021-03-04T10:00:00Z'),
(2, 'Bo', 'SE', NULL, TIMESTAMP '2022-12-31T23:59:59.5Z'),
(3, 'Cy', 'US', 'silver', NULL),
(4, 'Di', NULL, 'gold', TIMESTAMP '2020-02-29T00:00:00Z');
INSERT INTO Orders (CustomerId, OrderId, Placed, Status, Discount) VALUES
(1, 10, TIMESTAMP '2023-01-15T08:30:00Z', 'shipped', NUMERIC '5'),
(1, 11, TIMESTAMP '2023-02-01T12:00:00Z', 'open', NULL),
(2, 20, TIMESTAMP '2023-01-20T23:45:00Z', 'shipped', NUMERIC '0.5'),
(2, 21, TIMESTAMP '2023-03-10T00:15:00Z', 'cancelled', NULL),
(3, 30, TIMESTAMP '2023-02-28T16:00:00Z', 'open', NUMERIC '12.125');
INSERT INTO Lines (CustomerId, OrderId, LineNo, Sku, Qty, Price) VALUES
(1, 10, 1, 'apple', 3, 0.5), (1, 10, 2, 'pear', 1, 1.25), (1, 11, 1, 'apple', 10, 0.45),
(2, 20, 1, 'fig', 2, 3.0), (2, 20, 2, 'apple', NULL, 0.5), (2, 21, 1, 'kiwi', 5, NULL),
(3, 30, 1, 'pear', 4, 1.0), (3, 30, 2, 'fig', 1, 2.75), (3, 30, 3, 'plum', 0, 9.99);

-- query
WITH totals AS (SELECT CustomerId, OrderId, SUM(Qty * Price) AS Total FROM Lines GROUP BY CustomerId, OrderId) SELECT c.Name, t.OrderId, t.Total FROM Customers c JOIN totals t USING (CustomerId) ORDER BY t.Total DESC, t.OrderId;
WITH a AS (SELECT 1 AS x), b AS (SELECT x + 1 AS y FROM a) SELECT y FROM b;
SELECT c.Name, o.OrderId, l.Sku FROM Customers c JOIN Orders o ON o.CustomerId = c.CustomerId JOIN Lines l ON l.CustomerId = o.CustomerId AND l.OrderId = o.OrderId WHERE l.Sku = 'apple' ORDER BY c.Name, o.OrderId;
SELECT c.Name, COUNT(o.OrderId) AS n FROM Customers c LEFT JOIN Orders o ON o.CustomerId = c.CustomerId GROUP BY c.Name ORDER BY c.Name;
SELECT c.Name, o.OrderId FROM Customers c LEFT JOIN Orders o ON o.CustomerId = c.CustomerId AND o.Status = 'open' ORDER BY c.Name, o.OrderId;
SELECT c.CustomerId FROM Customers c LEFT JOIN Orders o ON o.CustomerId = c.CustomerId WHERE o.OrderId IS NULL;
SELECT o.OrderId, c.Name FROM Orders o RIGHT JOIN Customers c ON o.CustomerId = c.CustomerId ORDER BY c.Name, o.OrderId;
SELECT a.Name, b.Name FROM Customers a CROSS JOIN Customers b WHERE a.CustomerId < b.CustomerId AND a.Tier = b.Tier;
SELECT a.CustomerId, b.CustomerId FROM Customers a FULL JOIN Orders b ON a.CustomerId = b.CustomerId AND b.OrderId > 20 ORDER BY 1, 2;
SELECT Name, (SELECT MAX(Placed) FROM Orders o WHERE o.CustomerId = c.CustomerId) AS LastOrder FROM Customers c ORDER BY Name;
SELECT Name, ARRAY(SELECT OrderId FROM Orders o WHERE o.CustomerId = c.CustomerId ORDER BY OrderId DESC) AS Ids FROM Customers c ORDER BY Name;
SELECT Name FROM Customers c WHERE NOT EXISTS (SELECT 1 FROM Orders o WHERE o.CustomerId = c.CustomerId AND o.Status = 'shipped') ORDER BY Name;
SELECT OrderId FROM Orders WHERE CustomerId IN (SELECT CustomerId FROM Customers WHERE Tier = 'gold') ORDER BY OrderId;
SELECT OrderId FROM Orders WHERE CustomerId NOT IN (SELECT CustomerId FROM Customers WHERE Tier IS NULL) ORDER BY OrderId;
SELECT CustomerId, STRING_AGG(Sku, ',' ORDER BY Sku) AS Skus FROM Lines GROUP BY CustomerId ORDER BY CustomerId;
SELECT CustomerId, STRING_AGG(DISTINCT Sku ORDER BY Sku DESC LIMIT 2) FROM Lines GROUP BY CustomerId ORDER BY CustomerId;
SELECT ARRAY_AGG(Price IGNORE NULLS ORDER BY Price) FROM Lines;
SELECT ARRAY_AGG(Qty ORDER BY LineNo, OrderId LIMIT 3) FROM Lines WHERE CustomerId = 2;
SELECT Status, COUNT(*) AS n, COUNT(DISTINCT CustomerId) AS customers FROM Orders GROUP BY Status ORDER BY n DESC, Status;
SELECT CustomerId, SUM(Qty) AS q FROM Lines GROUP BY CustomerId HAVING SUM(Qty) > 5 ORDER BY q;
SELECT Sku, AVG(Price) AS p, MIN(Qty), MAX(Qty) FROM Lines GROUP BY Sku ORDER BY Sku;
SELECT LOGICAL_AND(Qty > 0), LOGICAL_OR(Price > 5), BIT_OR(Qty), ANY_VALUE(Sku IS NOT NULL) FROM Lines;
SELECT OrderId, CASE WHEN Discount IS NULL THEN 'none' WHEN Discount >= 5 THEN 'big' ELSE 'small' END AS d FROM Orders ORDER BY OrderId;
SELECT OrderId, CASE Status WHEN 'open' THEN 1 WHEN 'shipped' THEN 2 END FROM Orders ORDER BY OrderId;
SELECT OrderId, COALESCE(Discount, NUMERIC '0') + 1, IFNULL(CAST(Discount AS STRING), '-'), NULLIF(Status, 'open') FROM Orders ORDER BY OrderId;
SELECT OrderId, IF(Status = 'open', 'o', 'x'), Discount * 2, Discount / 4, -Discount FROM Orders ORDER BY OrderId;
SELECT SUM(Discount), AVG(Discount), MAX(Discount) FROM Orders;
SELECT ROUND(SUM(Qty * Price), 2), SAFE_DIVIDE(SUM(Qty), COUNT(*)), DIV(17, 5), MOD(-17, 5) FROM Lines;
SELECT OrderId, EXTRACT(YEAR FROM Placed), EXTRACT(MONTH FROM Placed), EXTRACT(DAYOFWEEK FROM Placed), EXTRACT(HOUR FROM Placed AT TIME ZONE 'America/New_York') FROM Orders ORDER BY OrderId;
SELECT OrderId, DATE(Placed), DATE(Placed, 'Asia/Tokyo'), TIMESTAMP_TRUNC(Placed, DAY), TIMESTAMP_TRUNC(Placed, MONTH, 'Europe/Stockholm') FROM Orders ORDER BY OrderId;
SELECT OrderId, TIMESTAMP_DIFF(Placed, TIMESTAMP '2023-01-01T00:00:00Z', HOUR), TIMESTAMP_ADD(Placed, INTERVAL 90 MINUTE), TIMESTAMP_SUB(Placed, INTERVAL 1 DAY) FROM Orders ORDER BY OrderId;
SELECT OrderId, FORMAT_TIMESTAMP('%Y-%m-%d %H:%M', Placed, 'UTC'), FORMAT_DATE('%A %d %B', DATE(Placed)), UNIX_SECONDS(Placed) FROM Orders ORDER BY OrderId;
SELECT DATE_DIFF(DATE '2023-03-01', DATE '2023-02-01', DAY), DATE_ADD(DATE '2023-01-31', INTERVAL 1 MONTH), DATE_TRUNC(DATE '2023-05-17', WEEK), LAST_DAY(DATE '2024-02-10');
SELECT PARSE_DATE('%Y%m%d', '20230704'), PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%S', '2023-07-04 12:30:00', 'Europe/Paris'), CAST('2023-07-04' AS DATE);
SELECT Name FROM Customers WHERE Joined >= TIMESTAMP '2021-01-01' AND Joined < TIMESTAMP_ADD(TIMESTAMP '2022-12-31T23:59:59Z', INTERVAL 1 SECOND) ORDER BY Name;
SELECT c.Name, sku FROM Customers c, UNNEST(['apple', 'fig']) AS sku WHERE EXISTS (SELECT 1 FROM Lines l WHERE l.CustomerId = c.CustomerId AND l.Sku = sku) ORDER BY c.Name, sku;
SELECT x, off FROM UNNEST([10, 20, NULL, 40]) AS x WITH OFFSET AS off WHERE x IS NOT NULL ORDER BY off DESC;
SELECT Sku FROM Lines WHERE Sku IN UNNEST(['pear', 'plum']) ORDER BY Sku, CustomerId;
SELECT OrderId FROM Orders@{FORCE_INDEX=OrdersByStatus} WHERE Status = 'shipped' ORDER BY OrderId;
SELECT UPPER(Name), LOWER(Tier), LENGTH(Name), CONCAT(Name, '-', IFNULL(Country, '??')), SUBSTR(Name, 2), STARTS_WITH(Name, 'A') FROM Customers ORDER BY CustomerId;
SELECT Name, LPAD(CAST(CustomerId AS STRING), 4, '0'), REPLACE(Name, 'a', 'A'), REVERSE(Name), STRPOS(Name, 'y') FROM Customers ORDER BY CustomerId;
-- google-emulator-wrong: it refuses NULLS FIRST/LAST, which Spanner's GoogleSQL has
-- expect: {"fields":[["Country","STRING"],["","INT64"]],"rows":[[null,"1"],["GB","1"],["SE","1"],["US","1"]]}
SELECT Country, COUNT(*) FROM Customers GROUP BY Country ORDER BY Country NULLS FIRST;
-- google-emulator-wrong: it refuses NULLS FIRST/LAST, which Spanner's GoogleSQL has
-- expect: {"fields":[["Tier","STRING"],["","INT64"]],"rows":[["silver","1"],["gold","2"],[null,"1"]]}
SELECT Tier, COUNT(*) FROM Customers GROUP BY Tier ORDER BY Tier DESC NULLS LAST;
SELECT CustomerId FROM Customers UNION ALL SELECT CustomerId FROM Orders ORDER BY CustomerId;
SELECT CustomerId FROM Customers INTERSECT DISTINCT SELECT CustomerId FROM Orders;
SELECT CustomerId FROM Customers EXCEPT DISTINCT SELECT CustomerId FROM Orders;
SELECT * FROM (SELECT CustomerId, COUNT(*) AS n FROM Orders GROUP BY CustomerId) WHERE n > 1;
SELECT OrderId FROM Orders ORDER BY Placed DESC LIMIT 2;
SELECT OrderId FROM Orders ORDER BY OrderId LIMIT 2 OFFSET 3;
SELECT COUNT(*) FROM Lines WHERE Price > 1 OR Qty IS NULL;
SELECT CAST(Qty AS FLOAT64) / 3, CAST(Price AS INT64), CAST(Price AS STRING), CAST(Qty AS NUMERIC) FROM Lines WHERE CustomerId = 1 ORDER BY OrderId, LineNo;
SELECT SUM(Qty) FROM Lines WHERE CustomerId = 99;
SELECT COUNT(*), SUM(Qty), ARRAY_AGG(Sku) FROM Lines WHERE CustomerId = 99;
SELECT CustomerId, ARRAY_LENGTH(ARRAY_AGG(Sku)) FROM Lines GROUP BY CustomerId ORDER BY CustomerId;

-- dml
INSERT INTO Archive (CustomerId, OrderId, Total) SELECT CustomerId, OrderId, SUM(Qty * Price) FROM Lines WHERE CustomerId = 1 GROUP BY CustomerId, OrderId;
UPDATE Orders SET Status = 'closed' WHERE Status = 'shipped' AND EXISTS (SELECT 1 FROM Archive a WHERE a.CustomerId = Orders.CustomerId AND a.OrderId = Orders.OrderId);
UPDATE Lines SET Price = Price * 2 WHERE Sku IN (SELECT Sku FROM Lines WHERE Price > 2);
DELETE FROM Lines WHERE Qty = 0;
DELETE FROM Orders WHERE Status = 'cancelled';
INSERT OR UPDATE INTO Customers (CustomerId, Name, Tier) VALUES (3, 'Cy', 'gold'), (5, 'Ed', NULL);
INSERT OR IGNORE INTO Customers (CustomerId, Name) VALUES (1, 'Not Ada'), (6, 'Flo');

-- query
SELECT * FROM Archive ORDER BY OrderId;
SELECT CustomerId, OrderId, Status FROM Orders ORDER BY CustomerId, OrderId;
SELECT CustomerId, OrderId, LineNo, Sku, Price FROM Lines ORDER BY CustomerId, OrderId, LineNo;
SELECT CustomerId, Name, Tier FROM Customers ORDER BY CustomerId;

-- dml
UPDATE Customers SET Tier = 'bronze' WHERE Tier IS NULL THEN RETURN CustomerId, Tier;
DELETE FROM Customers WHERE CustomerId = 2 THEN RETURN Name;

-- query
SELECT COUNT(*) FROM Orders WHERE CustomerId = 2;
SELECT COUNT(*) FROM Lines WHERE CustomerId = 2;
SELECT CustomerId, Tier FROM Customers ORDER BY CustomerId;
