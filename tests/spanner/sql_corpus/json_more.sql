-- json_more: JSON columns and literals (a raw control character in a string is invalid JSON,
-- as Spanner's parser says; cJSON let it through), JSON_VALUE/JSON_QUERY of a STRING that is
-- not JSON (NULL), member access, the strict and LAX_ conversions, TO_JSON, JSON_OBJECT,
-- JSON_ARRAY, PARSE_JSON of a wide number (exact: refused; wide_number_mode => 'round': rounded),
-- named arguments elsewhere refused
-- ddl
CREATE TABLE T (
  K INT64 NOT NULL,
  J JSON,
) PRIMARY KEY (K);
-- dml
INSERT INTO T (K, J) VALUES (1, JSON '{"b": [1, 2.50, "x", null, true], "a": {"c": 1e2}}'), (2, JSON '[]'), (3, NULL), (4, JSON 'null');
-- query
SELECT K, J FROM T ORDER BY K;
SELECT K, TO_JSON_STRING(J), JSON_TYPE(J) FROM T ORDER BY K;
SELECT JSON_VALUE(J, '$.b[1]'), JSON_QUERY(J, '$.b'), JSON_VALUE(J, '$.a.c'), JSON_QUERY(J, '$.a'), JSON_VALUE(J, '$.b[2]'), JSON_VALUE(J, '$.b[3]') FROM T WHERE K = 1;
SELECT JSON_QUERY_ARRAY(J, '$.b'), JSON_VALUE_ARRAY(J, '$.b') FROM T WHERE K = 1;
SELECT J.b[0], J['a'], J.a.c, J.nope, J.b[9] FROM T WHERE K = 1;
SELECT INT64(J.b[0]), FLOAT64(J.b[1]), STRING(J.b[2]), BOOL(J.b[4]), LAX_INT64(J.b[1]), LAX_STRING(J.b[0]), LAX_BOOL(JSON '"true"') FROM T WHERE K = 1;
SELECT INT64(J.b[1]) FROM T WHERE K = 1;
SELECT TO_JSON(1.5), TO_JSON(NUMERIC '1.50'), TO_JSON([1, 2]), TO_JSON(STRUCT(1 AS a, 'x' AS b)), TO_JSON(DATE '2020-01-01'), TO_JSON(b'ab'), TO_JSON(CAST(NULL AS INT64));
SELECT TO_JSON(9007199254740993), TO_JSON(CAST('nan' AS FLOAT64));
SELECT JSON_OBJECT('b', 1, 'a', [1, 2]), JSON_ARRAY(1, 'a', NULL, [1]), JSON_OBJECT(['x', 'y'], [1, 2]);
SELECT PARSE_JSON('{"a": 1.0}'), PARSE_JSON('123456789012345678901234567890');
SELECT PARSE_JSON('{"a": }');
SELECT JSON '{"a":1}' = JSON '{"a":1}';
SELECT JSON_VALUE('{"a": "x"}', '$.a'), JSON_QUERY('{"a": {"b": 1}}', '$.a'), JSON_VALUE('not json', '$.a');
SELECT JSON_VALUE(JSON '{"a": "\u00e9"}', '$.a'), TO_JSON_STRING(JSON '{"k": "é\n"}');
SELECT JSON_QUERY('{', '$'), JSON_VALUE('not json', '$.a');
SELECT JSON '{"k": "a\nb"}';
SELECT PARSE_JSON('"a\tb"');
SELECT PARSE_JSON('{"a": 123456789012345678901234567890, "b": 1.5}', wide_number_mode => 'round'), PARSE_JSON('1', wide_number_mode => 'exact'), PARSE_JSON('[1, 2]', wide_number_mode => 'round');
SELECT PARSE_JSON('1', wide_number_mode => 'bogus');
SELECT PARSE_JSON('1', 'round');
SELECT PARSE_JSON('1', mode => 'round');
SELECT PARSE_JSON('123456789012345678901234567890', wide_number_mode => 'exact');
SELECT PARSE_JSON('0.1000000000000000000000001', wide_number_mode => 'round'), PARSE_JSON('-99999999999999999999', wide_number_mode => 'round');
SELECT UPPER(x => 'a');
SELECT PARSE_JSON(NULL, wide_number_mode => 'round'), PARSE_JSON('1', wide_number_mode => NULL);
