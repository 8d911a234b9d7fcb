-- operators: integer division, MOD and shifts, INT64 overflow, comparisons and LIKE of
-- STRING and BYTES (a literal NULL operand of LIKE is refused), NULL's three-valued logic,
-- IS [NOT] DISTINCT FROM, floats' edges (NaN, -0.0, infinities), the math functions' errors
-- ddl
CREATE TABLE T (
  K INT64 NOT NULL,
) PRIMARY KEY (K);
-- query
SELECT 7 / 2, -7 / 2, DIV(-7, 2), MOD(-7, 2), MOD(7, -2), 5 >> 1, -5 >> 1, 1 << 63, 1 << 64, -1 >> 70;
SELECT 9223372036854775807 + 1;
SELECT -9223372036854775808, -(-9223372036854775807 - 1);
SELECT ABS(-9223372036854775808);
SELECT 'a' < 'B', 'a' < 'b', 'é' > 'z', b'a' < b'b', 'ab' LIKE 'A%', 'a%b' LIKE 'a\\%b', 'abc' LIKE '_b_', '' LIKE '';
SELECT 'x' LIKE NULL;
SELECT NULL LIKE 'x';
SELECT 'x' LIKE CAST(NULL AS STRING), 'x' NOT LIKE 'y';
SELECT 'abc' LIKE 'a%' ESCAPE '!';
SELECT b'abc' LIKE b'a%', b'\xff' LIKE b'%';
SELECT NULL = NULL, NULL IS NULL, 1 IN (NULL), NOT (1 IN (NULL)), NULL IN (), 1 IS DISTINCT FROM NULL, NULL IS NOT DISTINCT FROM NULL;
SELECT IF(NULL, 1, 2), CASE NULL WHEN NULL THEN 'x' ELSE 'y' END, COALESCE(NULL, NULL), NULLIF(1, 1), IFNULL(NULL, 'z');
SELECT 1.0 = 1, 0.1 + 0.2 = 0.3, CAST('inf' AS FLOAT64) > 1e308, -0.0 = 0.0, 1e308 * 10;
SELECT 5 BETWEEN 1 AND 10, 5 NOT BETWEEN 6 AND 1, 'b' BETWEEN 'a' AND 'c', NULL BETWEEN 1 AND 2;
SELECT GREATEST(1, 2.5), LEAST('b', 'a', NULL), GREATEST(CAST('nan' AS FLOAT64), 1), LEAST(CAST('nan' AS FLOAT64), 1);
SELECT IEEE_DIVIDE(-1, 0), IEEE_DIVIDE(1, 0.0), SAFE_DIVIDE(1, 0), 1 / 0.0;
SELECT SIGN(-0.0), SIGN(CAST('nan' AS FLOAT64)), ABS(-0.0), CEIL(-0.5), FLOOR(-0.5), ROUND(-0.5), ROUND(0.5);
SELECT MOD(5.5, 2);
SELECT POW(0, -1);
SELECT POW(-8, 1.0/3);
SELECT SQRT(2) * SQRT(2) = 2, EXP(710);
