-- format: FORMAT's %t and %T for every type: floats (.0, exponents, inf and nan), strings
-- and bytes as literals (the quote chosen, the escapes), dates, timestamps (the fraction in
-- 3, 6 or 9 digits), JSON, arrays with NULLs, widths
-- ddl
CREATE TABLE T (
  K INT64 NOT NULL,
) PRIMARY KEY (K);
-- query
SELECT FORMAT('%t|%T', 3.0, 3.0), FORMAT('%t|%T', 1e20, 1e20), FORMAT('%t|%T', CAST('inf' AS FLOAT64), CAST('-inf' AS FLOAT64)), FORMAT('%t|%T', CAST('nan' AS FLOAT64), CAST('nan' AS FLOAT64));
SELECT FORMAT('%t|%T', NUMERIC '3', NUMERIC '3'), FORMAT('%t|%T', NUMERIC '-1.50', NUMERIC '0');
SELECT FORMAT('%t|%T', b'a\x01"\\', b'a\x01"\\'), FORMAT('%t|%T', b'', b'');
SELECT FORMAT('%t|%T', DATE '2011-02-03', DATE '2011-02-03'), FORMAT('%t|%T', TIMESTAMP '2011-02-03T04:05:06.5Z', TIMESTAMP '2011-02-03T04:05:06Z');
SELECT FORMAT('%t|%T', JSON '{"a":1,"b":"x"}', JSON '{"a":1}'), FORMAT('%t|%T', true, false);
SELECT FORMAT('%t|%T', 'a"b', 'a"b\n'), FORMAT('%T', 'it''s');
SELECT FORMAT('%t|%T', [1.0, 2.5], [1.0, 2.5]), FORMAT('%t|%T', [b'x'], [b'x']), FORMAT('%t|%T', [DATE '2020-01-01'], [DATE '2020-01-01']);
SELECT FORMAT('%t|%T', ARRAY<STRING>[], ARRAY<INT64>[]), FORMAT('%t|%T', CAST(NULL AS ARRAY<INT64>), [CAST(NULL AS INT64)]);
SELECT FORMAT('%t|%T', [TIMESTAMP '2020-01-01T00:00:00Z'], [NUMERIC '2']), FORMAT('%t|%T', [JSON '1'], [JSON '"s"']), FORMAT('%t|%T', [true], ['q"']);
SELECT FORMAT('%10t|%-6T|', [1], 'ab');
SELECT FORMAT('%t', 1.5e-7), FORMAT('%T', 123456789.125), FORMAT('%t', -0.0), FORMAT('%t', 1e15), FORMAT('%t', 1e16);
SELECT FORMAT('%t', b'a\x01"\\'), FORMAT('%T', b'a\x01"\\'), FORMAT('%T', b''), FORMAT('%T', b'it\'s'), FORMAT('%t', b'\xff\n\t'), FORMAT('%T', b'\xff\n\t\x7f ~');
SELECT FORMAT('%T', b'\'"'), FORMAT('%t', b'\'"'), FORMAT('%t', b'it\'s'), FORMAT('%T', 'it\'s'), FORMAT('%T', 'a"b'), FORMAT('%T', 'a"b\'c'), FORMAT('%T', 'x\ny\\z\t\x01é\x7f'), FORMAT('%t', 'x\ny');
SELECT FORMAT('%T', JSON '{"a":"it\'s"}'), FORMAT('%T', JSON '["q\\""]'), FORMAT('%t', JSON '{"b":1, "a":[1,2]}'), FORMAT('%T', JSON '{"b":1, "a":[1,2]}'), FORMAT('%T', JSON 'null'), FORMAT('%t', CAST(NULL AS JSON));
SELECT FORMAT('%t', TIMESTAMP '2011-02-03T04:05:06.123456Z'), FORMAT('%t', TIMESTAMP '2011-02-03T04:05:06.1234567Z'), FORMAT('%t', TIMESTAMP '2011-02-03T04:05:06.12Z'), FORMAT('%T', TIMESTAMP '0001-01-01T00:00:00Z'), FORMAT('%t', TIMESTAMP '2011-02-03T04:05:06.000001Z');
SELECT FORMAT('%t', CAST('-inf' AS FLOAT64)), FORMAT('%T', CAST('inf' AS FLOAT64)), FORMAT('%t', CAST(1.5 AS FLOAT32)), FORMAT('%T', CAST(3 AS FLOAT32)), FORMAT('%t', CAST(0.1 AS FLOAT32)), FORMAT('%T', CAST('nan' AS FLOAT32));
SELECT FORMAT('%T', 1e100), FORMAT('%t', 123456789012345678.0), FORMAT('%t', 0.1), FORMAT('%T', 1.0/3), FORMAT('%t', 100.0), FORMAT('%t', 1e-5);
SELECT FORMAT('%t|%T', [CAST(1.5 AS FLOAT32), CAST(2 AS FLOAT32)], [CAST('inf' AS FLOAT32)]), FORMAT('%T', [b'a"', b'\'']), FORMAT('%t', [b'\x00']);
SELECT FORMAT('%T', ['é', 'tab\there']), FORMAT('%t', ['é', NULL]), FORMAT('%T', [JSON '{"x":[1]}']), FORMAT('%t', [TIMESTAMP '2020-06-01T01:02:03.4Z']);
SELECT FORMAT('%5T|%-8t|%3t', 'x', [1, 2], NUMERIC '12345');
SELECT FORMAT('%T', CAST(NULL AS STRING)), FORMAT('%t', CAST(NULL AS BYTES)), FORMAT('%T', CAST(NULL AS ARRAY<STRING>)), FORMAT('%T', [CAST(NULL AS BYTES)]);
