-- functions: strings, regular expressions, FORMAT, JSON, dates and timestamps
-- ddl
CREATE TABLE Items (Id INT64 NOT NULL, Name STRING(MAX), Data BYTES(MAX), Doc JSON, Day DATE, Ts TIMESTAMP) PRIMARY KEY (Id);
-- dml
INSERT INTO Items (Id, Name, Data, Doc, Day, Ts) VALUES (1, 'foo@example.com', b'abc', JSON '{"a": {"b": [10, "x", true]}, "n": null}', DATE '2020-02-29', TIMESTAMP '2020-05-20T13:14:15.123456Z'), (2, 'Bar Baz', NULL, NULL, NULL, NULL), (3, 'héllo wörld', b'\x00\x01', JSON '[1, 2]', DATE '1999-12-31', TIMESTAMP '1999-12-31T23:59:59Z');
-- query
SELECT Id, LENGTH(Name), BYTE_LENGTH(Name), UPPER(Name), LOWER(Name) FROM Items;
SELECT Id, SUBSTR(Name, 2, 3), STRPOS(Name, 'o'), STARTS_WITH(Name, 'foo'), ENDS_WITH(Name, 'com'), REPLACE(Name, 'o', '0') FROM Items;
SELECT TRIM('  x  '), LTRIM('xxy', 'x'), RTRIM('yxx', 'x'), CONCAT('a', 'b', 'c');
SELECT Id, REGEXP_CONTAINS(Name, r'@[a-z]+\.com$') FROM Items;
SELECT Id, REGEXP_EXTRACT(Name, r'^[a-z]+'), REGEXP_EXTRACT(Name, r'@([a-z]+)') FROM Items;
SELECT REGEXP_EXTRACT_ALL('a1b22c333', r'\d+'), REGEXP_EXTRACT_ALL('k=v, x=y', r'(\w)='), REGEXP_EXTRACT_ALL('abc', 'x');
SELECT REGEXP_REPLACE('a1b22', r'\d', 'N'), REGEXP_REPLACE('abc', 'x*', '-'), REGEXP_REPLACE('john smith', r'(\w+) (\w+)', r'\2, \1');
SELECT REGEXP_REPLACE('héllo', '', '.'), REGEXP_CONTAINS('ABC', '(?i)abc'), REGEXP_EXTRACT('ab', 'a(x)?');
SELECT REGEXP_EXTRACT_ALL('aaa', 'a*?'), REGEXP_REPLACE('aaa', 'a*?', '-'), REGEXP_EXTRACT_ALL('abab', 'b*');
SELECT REGEXP_CONTAINS(b'\x01a', b'a'), REGEXP_REPLACE(b'abc', b'b', b'X'), REGEXP_EXTRACT(b'abc', b'b.');
SELECT REGEXP_CONTAINS('a', '(');
SELECT REGEXP_CONTAINS('aa', r'(a)\1');
SELECT REGEXP_CONTAINS('ab', 'a(?=b)');
SELECT REGEXP_EXTRACT('ab', '(a)(b)');
SELECT REGEXP_REPLACE('ab', 'a', r'\1');
SELECT SPLIT('a,b,,c'), SPLIT('a b', ' '), SPLIT(''), SPLIT('héj', ''), SPLIT(b'a-b', b'-');
SELECT Id, SPLIT(Name, ' ') FROM Items;
SELECT FORMAT('%d|%5d|%-4d|%05d|%x|%X|%o|%i', 42, 42, 42, 42, 255, 255, 8, -7);
SELECT FORMAT('%s and %s', 'a', 'b'), FORMAT('%.2f %e %g', 3.14159, 1234.5, 0.5), FORMAT('%%|%s', NULL);
SELECT FORMAT('%t|%T|%T|%T', 1.5, 'x', DATE '2020-01-02', 7);
SELECT FORMAT('%t|%t', true, NUMERIC '1.50');
SELECT FORMAT('%d', 'x');
SELECT FORMAT('%d %d', 1);
SELECT Id, JSON_VALUE(Doc, '$.a.b[0]'), JSON_VALUE(Doc, '$.a.b[1]'), JSON_VALUE(Doc, '$.a'), JSON_VALUE(Doc, '$.n'), JSON_VALUE(Doc, '$[1]') FROM Items;
SELECT Id, JSON_QUERY(Doc, '$.a'), JSON_QUERY(Doc, '$.a.b'), JSON_QUERY(Doc, '$') FROM Items;
SELECT JSON_VALUE('{"a": {"b": [10, "x"]}}', '$.a.b[1]'), JSON_QUERY('{"a": "s"}', '$.a'), JSON_VALUE('{"a b": 2}', "$['a b']");
SELECT JSON_VALUE(JSON '{}', 'a.b');
SELECT Id, DATE_TRUNC(Day, MONTH), DATE_TRUNC(Day, YEAR), DATE_TRUNC(Day, QUARTER), DATE_TRUNC(Day, WEEK), DATE_TRUNC(Day, ISOWEEK) FROM Items;
SELECT Id, TIMESTAMP_TRUNC(Ts, SECOND), TIMESTAMP_TRUNC(Ts, MILLISECOND), TIMESTAMP_TRUNC(Ts, MINUTE), TIMESTAMP_TRUNC(Ts, HOUR) FROM Items;
SELECT Id, TIMESTAMP_TRUNC(Ts, DAY, 'UTC'), TIMESTAMP_TRUNC(Ts, MONTH, 'UTC'), TIMESTAMP_TRUNC(Ts, DAY, '+05:30'), TIMESTAMP_TRUNC(Ts, WEEK, 'UTC') FROM Items;
SELECT Id, FORMAT_DATE('%Y/%m/%d %A %b %j Q%Q', Day), FORMAT_DATE('%F', Day) FROM Items;
SELECT Id, FORMAT_TIMESTAMP('%Y-%m-%d %H:%M:%E3S %Ez', Ts, 'UTC'), FORMAT_TIMESTAMP('%F %T %z', Ts, '+02:00'), FORMAT_TIMESTAMP('%E*S|%s', Ts, 'UTC') FROM Items;
SELECT PARSE_DATE('%Y-%m-%d', '2020-02-29'), PARSE_DATE('%d/%m/%Y', '31/12/1999'), PARSE_DATE('%b %d %Y', 'Mar 5 2021');
SELECT PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%E*S%Ez', '2020-05-20 13:14:15.25+02:00'), PARSE_TIMESTAMP('%F %T', '2020-05-20 13:14:15', 'UTC'), PARSE_TIMESTAMP('%s', '86400');
SELECT PARSE_DATE('%Y-%m-%d', '2020-02-30');
SELECT GREATEST(1, 5, 3), LEAST('b', 'a'), ABS(-3), SIGN(-2.5), ROUND(2.5), ROUND(1.234, 2), TRUNC(-1.7), FLOOR(1.5), CEIL(1.2), SQRT(16), POW(2, 10);
SELECT LENGTH(GENERATE_UUID());
SELECT ARRAY_LENGTH([1, 2, 3]), ARRAY_LENGTH(SPLIT('a,b'));
SELECT APPROX_COSINE_DISTANCE([1.0, 2.0], [1.0, 0.0], options => JSON '{"num_leaves_to_search": 10}');
SELECT APPROX_EUCLIDEAN_DISTANCE([1.0, 2.0], [1.0, 0.0], options => JSON '{"num_leaves_to_search": 10}');
SELECT APPROX_DOT_PRODUCT([1.0, 2.0], [1.0, 0.0], options => JSON '{"num_leaves_to_search": 10}');
SELECT APPROX_COUNT_DISTINCT(x) FROM UNNEST([1, 2, 2]) AS x;
