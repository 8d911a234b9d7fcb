-- to_json_wide: TO_JSON's stringify_wide_numbers (INT64 past 2^53 and NUMERIC a double does
-- not hold as strings), named only
-- ddl
CREATE TABLE T (Id INT64 NOT NULL, N NUMERIC, A ARRAY<INT64>) PRIMARY KEY (Id);
-- dml
INSERT INTO T (Id, N, A) VALUES (1, NUMERIC '99999999999999999999999999999.999999999', [9007199254740993, 2]), (2, NUMERIC '0.1', NULL), (3, NULL, []);
-- query
SELECT TO_JSON(9007199254740993, stringify_wide_numbers => TRUE) AS j;
SELECT TO_JSON(9007199254740993, stringify_wide_numbers => FALSE) AS j;
SELECT TO_JSON(STRUCT(9007199254740993 AS a, 1 AS b, NUMERIC '1.5' AS c, [9007199254740993, -9007199254740993, 5] AS d), stringify_wide_numbers => TRUE) AS j;
SELECT TO_JSON(NUMERIC '123456789.123456789', stringify_wide_numbers => TRUE) AS j;
SELECT TO_JSON(NUMERIC '1.5', stringify_wide_numbers => TRUE) AS j;
SELECT TO_JSON(NUMERIC '1.000000001', stringify_wide_numbers => TRUE) AS j;
SELECT TO_JSON(NUMERIC '0.1', stringify_wide_numbers => TRUE) AS j;
SELECT TO_JSON(NUMERIC '100000000000000000000', stringify_wide_numbers => TRUE) AS j;
SELECT TO_JSON(NUMERIC '-9007199254740993', stringify_wide_numbers => TRUE) AS j;
SELECT TO_JSON(9007199254740992, stringify_wide_numbers => TRUE) AS j;
SELECT TO_JSON(-9007199254740992, stringify_wide_numbers => TRUE) AS j;
SELECT TO_JSON(-9007199254740993, stringify_wide_numbers => TRUE) AS j;
SELECT TO_JSON(1.5e300, stringify_wide_numbers => TRUE) AS j;
SELECT TO_JSON(9007199254740993, stringify_wide_numbers => NULL) AS j;
SELECT TO_JSON(9007199254740993, TRUE) AS j;
SELECT TO_JSON(9007199254740993, stringify_wide_numbers => 'yes') AS j;
SELECT TO_JSON(9007199254740993, wide => TRUE) AS j;
SELECT TO_JSON(JSON '{"a": 12345678901234567890}', stringify_wide_numbers => TRUE) AS j;
SELECT Id, TO_JSON(N, stringify_wide_numbers => Id = 1) AS j FROM T ORDER BY Id;
-- params: {"params": {"b": true}, "paramTypes": {"b": {"code": "BOOL"}}}
SELECT TO_JSON(A, stringify_wide_numbers => @b) AS j FROM T WHERE Id = 1;
