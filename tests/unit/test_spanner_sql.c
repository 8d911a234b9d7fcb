/*
 * test_spanner_sql: GoogleSQL queries and DML translated by spanner_sql_translate and run
 * on SQLite, as tables of statement -> rows (in Spanner's JSON encoding) or statement ->
 * error (code, message and position), over a small schema of singers and their albums.
 * Also the lexer's tokens and positions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spanner/spanner_keyset.h"
#include "spanner_test_db.h"

static const char *const schema_ddl[] = {
    "CREATE TABLE Singers (\n"
    "  SingerId INT64 NOT NULL,\n"
    "  FirstName STRING(10),\n"
    "  LastName STRING(MAX),\n"
    "  Score FLOAT64,\n"
    "  Balance NUMERIC,\n"
    "  Birth DATE,\n"
    "  Active BOOL,\n"
    "  Photo BYTES(MAX),\n"
    "  Updated TIMESTAMP,\n"
    ") PRIMARY KEY (SingerId)",
    "CREATE TABLE Albums (SingerId INT64 NOT NULL, AlbumId INT64 NOT NULL, "
    "Title STRING(MAX) NOT NULL, Sales INT64 DEFAULT (0)) PRIMARY KEY (SingerId, AlbumId), "
    "INTERLEAVE IN PARENT Singers ON DELETE CASCADE",
    "CREATE INDEX AlbumsByTitle ON Albums(Title DESC)",
    "CREATE TABLE Events (Id INT64 NOT NULL, Stamp TIMESTAMP OPTIONS (allow_commit_timestamp = "
    "true), Plain TIMESTAMP) PRIMARY KEY (Id)",
    NULL,
};

static const char *const rows_dml[] = {
    "INSERT INTO Singers (SingerId, FirstName, LastName, Score, Balance, Birth, Active, Photo, "
    "Updated) VALUES "
    "(1, 'Marc', 'Richards', 1.5, NUMERIC '10.25', DATE '1970-09-03', true, b'\\x00\\xff', "
    "TIMESTAMP '2020-01-02T03:04:05.123456789Z'), "
    "(2, 'Catalina', 'Smith', 2.5, NUMERIC '-0.5', DATE '1990-01-31', false, NULL, NULL), "
    "(3, 'alice', 'Trentor', NULL, NULL, NULL, NULL, NULL, NULL), "
    "(4, NULL, 'Martin', -1, NUMERIC '99999999999999999999999999999.999999999', NULL, true, "
    "b'', NULL)",
    "INSERT INTO Albums (SingerId, AlbumId, Title, Sales) VALUES (1, 1, 'Total Junk', 100), "
    "(1, 2, 'Go, Go, Go', 200), (2, 1, 'Green', 50), (2, 2, 'Forever Hold Your Peace', NULL), "
    "(2, 3, 'Terrified', 50)",
    NULL,
};

struct sp_test_db db;

static int setup(void **state)
{
    (void)state;
    if (sp_test_open(&db, schema_ddl))
        return -1;
    for (int i = 0; rows_dml[i]; i++) {
        char *out = sp_test_run(&db, rows_dml[i]);
        bool ok = out && strncmp(out, "modified", 8) == 0;
        if (!ok)
            fprintf(stderr, "setup DML failed: %s\n", out ? out : "(null)");
        free(out);
        if (!ok)
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sp_test_close(&db);
    return 0;
}

#define RUN(cases)                                                                                 \
    assert_int_equal(sp_test_run_cases(&db, (cases), sizeof(cases) / sizeof((cases)[0])), 0)

static void test_select_basics(void **state)
{
    (void)state;
    static const struct sp_test_case cases[] = {
        {"SELECT 1", "[[\"1\"]]"},
        {"SELECT SingerId, FirstName FROM Singers WHERE SingerId = 1", "[[\"1\",\"Marc\"]]"},
        {"select singerid from singers where SINGERID <= 2 order by 1 desc", "[[\"2\"],[\"1\"]]"},
        {"SELECT `SingerId` FROM `Singers` AS s WHERE s.SingerId IN (2, 3) ORDER BY SingerId",
         "[[\"2\"],[\"3\"]]"},
        {"SELECT * FROM Albums WHERE SingerId = 2 AND AlbumId = 1",
         "[[\"2\",\"1\",\"Green\",\"50\"]]"},
        {"SELECT Score, Balance, Birth, Active, Photo, Updated FROM Singers WHERE SingerId = 1",
         "[[1.5,\"10.25\",\"1970-09-03\",true,\"AP8=\",\"2020-01-02T03:04:05.123456789Z\"]]"},
        {"SELECT Balance FROM Singers WHERE SingerId = 4",
         "[[\"99999999999999999999999999999.999999999\"]]"},
        {"SELECT LastName FROM Singers ORDER BY Score NULLS LAST, SingerId",
         "[[\"Martin\"],[\"Richards\"],[\"Smith\"],[\"Trentor\"]]"},
        {"SELECT LastName FROM Singers ORDER BY Score DESC NULLS FIRST",
         "[[\"Trentor\"],[\"Smith\"],[\"Richards\"],[\"Martin\"]]"},
        {"SELECT SingerId FROM Singers ORDER BY Balance", /* NULL first, then numeric order */
         "[[\"3\"],[\"2\"],[\"1\"],[\"4\"]]"},
        {"SELECT SingerId FROM Singers ORDER BY SingerId LIMIT 2 OFFSET 1", "[[\"2\"],[\"3\"]]"},
        {"SELECT DISTINCT Sales FROM Albums WHERE Sales IS NOT NULL ORDER BY Sales",
         "[[\"50\"],[\"100\"],[\"200\"]]"},
        {"SELECT SingerId FROM Singers WHERE Birth > '1980-01-01'", "[[\"2\"]]"},
        {"SELECT SingerId FROM Singers WHERE Updated < TIMESTAMP '2020-01-02 03:04:06+00:00'",
         "[[\"1\"]]"},
        {"SELECT SingerId FROM Singers WHERE Balance > 10 ORDER BY 1", "[[\"1\"],[\"4\"]]"},
        {"SELECT SingerId FROM Singers WHERE Score BETWEEN 1 AND 2", "[[\"1\"]]"},
        {"SELECT SingerId FROM Singers WHERE NOT Active", "[[\"2\"]]"},
        {"SELECT SingerId FROM Singers WHERE Active IS NULL", "[[\"3\"]]"},
        {"SELECT SingerId FROM Singers WHERE Active IS NOT TRUE ORDER BY 1", "[[\"2\"],[\"3\"]]"},
        {"SELECT (SELECT COUNT(*) FROM Albums a WHERE a.SingerId = s.SingerId) AS n "
         "FROM Singers s ORDER BY SingerId",
         "[[\"2\"],[\"3\"],[\"0\"],[\"0\"]]"},
        {"SELECT SingerId FROM Singers s WHERE EXISTS (SELECT 1 FROM Albums a "
         "WHERE a.SingerId = s.SingerId AND a.Sales > 60)",
         "[[\"1\"]]"},
        {"SELECT SingerId FROM Singers WHERE SingerId IN (SELECT SingerId FROM Albums) "
         "ORDER BY 1",
         "[[\"1\"],[\"2\"]]"},
        {"SELECT x FROM (SELECT SingerId AS x FROM Singers) WHERE x > 3", "[[\"4\"]]"},
        {"SELECT * EXCEPT (Title) FROM Albums WHERE SingerId = 2 AND AlbumId = 1",
         "[[\"2\",\"1\",\"50\"]]"},
        {"SELECT * REPLACE (Sales * 2 AS Sales, 'x' AS Title) FROM Albums "
         "WHERE SingerId = 2 AND AlbumId = 1",
         "[[\"2\",\"1\",\"x\",\"100\"]]"},
        {"SELECT a.* EXCEPT (SingerId, Sales) FROM Albums a WHERE a.SingerId = 1 ORDER BY 1",
         "[[\"1\",\"Total Junk\"],[\"2\",\"Go, Go, Go\"]]"},
        {"SELECT * EXCEPT (Nope) FROM Albums",
         "INVALID_ARGUMENT: Column Nope in SELECT * EXCEPT list does not exist [at 1:8]"},
        {"SELECT NULL, @@@", "INVALID_ARGUMENT: Syntax error: Unexpected \"@\" [at 1:14]"},
    };
    RUN(cases);
}

static void test_expressions(void **state)
{
    (void)state;
    static const struct sp_test_case cases[] = {
        {"SELECT 7 / 2, DIV(7, 2), MOD(-7, 2), 7 - 10, 2 * 3 + 1",
         "[[3.5,\"3\",\"-1\",\"-3\",\"7\"]]"},
        {"SELECT 1 + 1.5, NUMERIC '1.1' + 1, NUMERIC '1.5' * NUMERIC '-2.25'",
         "[[2.5,\"2.1\",\"-3.375\"]]"},
        {"SELECT NUMERIC '1' / NUMERIC '3'", "[[\"0.333333333\"]]"},
        {"SELECT NUMERIC '2' / NUMERIC '3'", "[[\"0.666666667\"]]"},
        {"SELECT -9223372036854775808, 0x10, -0x10", "[[\"-9223372036854775808\",\"16\",\"-16\"]]"},
        {"SELECT 'a' || 'b', CONCAT('x', 'y', 'z'), CONCAT(b'\\x01', b'\\x02')",
         "[[\"ab\",\"xyz\",\"AQI=\"]]"},
        {"SELECT 'abc' LIKE 'a%', 'abc' LIKE 'A%', 'a_c' LIKE 'a\\\\_c', 'abc' NOT LIKE '_b_'",
         "[[true,false,true,false]]"},
        {"SELECT FirstName FROM Singers WHERE FirstName LIKE 'a%'", "[[\"alice\"]]"},
        {"SELECT CASE WHEN 1 > 2 THEN 'a' WHEN 2 > 1 THEN 'b' END, CASE 3 WHEN 1 THEN 'x' "
         "ELSE 'y' END",
         "[[\"b\",\"y\"]]"},
        {"SELECT IF(true, 1, 2.5), IFNULL(NULL, 'z'), NULLIF(1, 1), COALESCE(NULL, NULL, 3)",
         "[[1,\"z\",null,\"3\"]]"},
        {"SELECT CAST('42' AS INT64), CAST(42 AS STRING), CAST('1.25' AS NUMERIC), "
         "CAST(2.5 AS INT64), CAST(-2.5 AS INT64), CAST('true' AS BOOL)",
         "[[\"42\",\"42\",\"1.25\",\"3\",\"-3\",true]]"},
        {"SELECT SAFE_CAST('x' AS INT64), SAFE_CAST('2020-13-01' AS DATE)", "[[null,null]]"},
        {"SELECT CAST('2020-02-29' AS DATE), CAST(b'hi' AS STRING), CAST('hi' AS BYTES)",
         "[[\"2020-02-29\",\"hi\",\"aGk=\"]]"},
        {"SELECT LENGTH('héllo'), BYTE_LENGTH('héllo'), LOWER('AbC'), UPPER('AbC')",
         "[[\"5\",\"6\",\"abc\",\"ABC\"]]"},
        {"SELECT UPPER('héllo wörld ǆ σ'), LOWER('ÀÉÎ Ω Ж'), UPPER(b'a\\xe9')",
         "[[\"HÉLLO WÖRLD Ǆ Σ\",\"àéî ω ж\",\"Qek=\"]]"},
        {"SELECT SUBSTR('hello', 2, 3), SUBSTR('hello', -3), SUBSTR('hello', 0, 2), "
         "SUBSTR('héllo', 2, 1)",
         "[[\"ell\",\"llo\",\"he\",\"é\"]]"},
        {"SELECT STARTS_WITH('hello', 'he'), ENDS_WITH('hello', 'lo'), STRPOS('hello', 'l'), "
         "REPLACE('aXbX', 'X', '-'), TRIM('  x  '), LTRIM('xxy', 'x'), RTRIM('yxx', 'x')",
         "[[true,true,\"3\",\"a-b-\",\"x\",\"y\",\"y\"]]"},
        {"SELECT PARSE_JSON('[123456789012345678901234567890]', wide_number_mode => 'round')",
         "[[\"[1.2345678901234568e+29]\"]]"},
        /* TO_JSON's stringify_wide_numbers: INT64 past 2^53 and inexact NUMERIC as strings */
        {"SELECT TO_JSON([9007199254740992, -9007199254740993], stringify_wide_numbers => TRUE), "
         "TO_JSON(STRUCT(NUMERIC '0.1' AS a, NUMERIC '1.000000001' AS b, "
         "NUMERIC '123456789.123456789' AS c), "
         "stringify_wide_numbers => TRUE), TO_JSON(1, stringify_wide_numbers => NULL)",
         "[[\"[9007199254740992,\\\"-9007199254740993\\\"]\","
         "\"{\\\"a\\\":0.1,\\\"b\\\":1.000000001,\\\"c\\\":\\\"123456789.123456789\\\"}\","
         "null]]"},
        /* ISO weeks and years; %j; FORMAT_DATE leaves time elements as they are */
        {"SELECT EXTRACT(ISOYEAR FROM DATE '2021-01-01'), EXTRACT(ISOWEEK FROM DATE '2021-01-01'), "
         "DATE_TRUNC(DATE '2021-01-03', ISOYEAR), DATE_DIFF(DATE '2024-01-08', DATE '2024-01-07', "
         "ISOWEEK), PARSE_DATE('%Y %j', '2024 060'), FORMAT_DATE('%E4Y %H', DATE '0099-01-02')",
         "[[\"2020\",\"53\",\"2019-12-30\",\"1\",\"2024-02-29\",\"0099 %H\"]]"},
        {"SELECT SUM(x) FROM UNNEST([9223372036854775807, 1, -5]) AS x", /* only the total */
         "[[\"9223372036854775803\"]]"},
        {"SELECT CAST(1.0 / 3 AS STRING), CAST(CAST(1.0 / 3 AS FLOAT32) AS STRING), "
         "CAST(' 7 ' AS NUMERIC)",
         "[[\"0.33333333333333331\",\"0.33333334\",\"7\"]]"},
        /* \x and octal escapes: code points in a STRING, bytes in BYTES */
        {"SELECT TO_CODE_POINTS('\\x41\\xe9\\351'), b'\\xe9'",
         "[[[\"65\",\"233\",\"233\"],\"6Q==\"]]"},
        /* TRIM: characters, not bytes; a NUL byte of BYTES; Unicode white space by default
         * (U+200B is none, so the end stays) */
        {"SELECT TRIM('\u00e9a\u00e9', '\u00e9'), TO_HEX(TRIM(b'\\x00a\\x00', b'\\x00')), "
         "TO_CODE_POINTS(TRIM('\u3000a\u00a0\u200b'))",
         "[[\"a\",\"61\",[\"97\",\"160\",\"8203\"]]]"},
        {"SELECT ABS(-3), SIGN(-2.5), ROUND(2.5), ROUND(1.234, 2), TRUNC(-1.7), FLOOR(1.5), "
         "CEIL(1.2), SQRT(16), POW(2, 10)",
         "[[\"3\",-1,3,1.23,-1,1,2,4,1024]]"},
        {"SELECT GREATEST(1, 5, 3), LEAST('b', 'a'), GREATEST(1, NULL)", "[[\"5\",\"a\",null]]"},
        {"SELECT 5 & 3, 5 | 3, 5 ^ 3, ~0, 1 << 4, 256 >> 4",
         "[[\"1\",\"7\",\"6\",\"-1\",\"16\",\"16\"]]"},
        {"SELECT r'a\\n', '''x\ny''', \"dq\", b\"\\x41\"",
         "[[\"a\\\\n\",\"x\\ny\",\"dq\",\"QQ==\"]]"},
        {"SELECT LENGTH(GENERATE_UUID())", "[[\"36\"]]"},
        {"SELECT CURRENT_TIMESTAMP(), TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 90 MINUTE), "
         "TIMESTAMP_SUB(TIMESTAMP '2020-03-01T00:00:00Z', INTERVAL 1 NANOSECOND)",
         "[[\"2026-01-02T03:04:05.5Z\",\"2026-01-02T04:34:05.5Z\","
         "\"2020-02-29T23:59:59.999999999Z\"]]"},
        {"SELECT TIMESTAMP_DIFF(TIMESTAMP '2020-01-02T00:00:00Z', '2020-01-01T00:00:01Z', HOUR), "
         "TIMESTAMP_DIFF(TIMESTAMP '2020-01-01T00:00:00Z', '2020-01-01T00:00:01.5Z', "
         "MILLISECOND)",
         "[[\"23\",\"-1500\"]]"},
        {"SELECT DATE_ADD(DATE '2020-01-31', INTERVAL 1 MONTH), DATE_SUB('2020-03-01', "
         "INTERVAL 1 DAY), DATE_ADD(DATE '2020-02-29', INTERVAL 1 YEAR), "
         "DATE_DIFF(DATE '2020-03-01', DATE '2019-12-31', MONTH), "
         "DATE_DIFF('2024-01-07', '2024-01-06', WEEK)",
         "[[\"2020-02-29\",\"2020-02-29\",\"2021-02-28\",\"3\",\"1\"]]"},
        {"SELECT EXTRACT(YEAR FROM Birth), EXTRACT(MONTH FROM Birth), EXTRACT(DAY FROM Birth), "
         "EXTRACT(DAYOFWEEK FROM Birth), EXTRACT(DAYOFYEAR FROM Birth), EXTRACT(QUARTER FROM "
         "Birth), EXTRACT(WEEK FROM Birth) FROM Singers WHERE SingerId = 1",
         "[[\"1970\",\"9\",\"3\",\"5\",\"246\",\"3\",\"35\"]]"},
        {"SELECT JSON '{\"b\": 1, \"a\": [true], \"b\": 2, \"c\": {\"z\": 0, \"y\": []}}'",
         "[[\"{\\\"a\\\":[true],\\\"b\\\":1,\\\"c\\\":{\\\"y\\\":[],\\\"z\\\":0}}\"]]"},
        {"SELECT STRING_AGG(Title, ',' ORDER BY Title) FROM Albums",
         "INVALID_ARGUMENT: ORDER BY in aggregate function is not supported [at 1:30]"},
    };
    RUN(cases);
}

static void test_aggregates_and_joins(void **state)
{
    (void)state;
    static const struct sp_test_case cases[] = {
        {"SELECT COUNT(*), COUNT(Sales), SUM(Sales), MIN(Title), MAX(Sales), AVG(Sales) "
         "FROM Albums",
         "[[\"5\",\"4\",\"400\",\"Forever Hold Your Peace\",\"200\",100]]"},
        {"SELECT SingerId, COUNT(*) AS n, SUM(Sales) FROM Albums GROUP BY SingerId "
         "ORDER BY n DESC",
         "[[\"2\",\"3\",\"100\"],[\"1\",\"2\",\"300\"]]"},
        {"SELECT SingerId, COUNTIF(Sales >= 100) FROM Albums GROUP BY 1 HAVING COUNT(*) > 2",
         "[[\"2\",\"0\"]]"},
        /* HAVING: a SELECT-list alias before a column of the same name */
        {"SELECT SingerId, SUM(Sales) AS Sales FROM Albums GROUP BY SingerId HAVING Sales > 100",
         "[[\"1\",\"300\"]]"},
        {"SELECT ROUND(NUMERIC '2.5'), TRUNC(NUMERIC '-12345.678', -2), ROUND(NUMERIC '1.255', 2), "
         "ROUND(CAST(2.25 AS FLOAT32), 1), NUMERIC '0.0000000010'",
         "[[\"3\",\"-12300\",\"1.26\",2.299999952316284,\"0.000000001\"]]"},
        {"SELECT COUNT(DISTINCT Sales), STRING_AGG(Title, '|') FROM Albums WHERE SingerId = 1",
         "[[\"2\",\"Total Junk|Go, Go, Go\"]]"},
        {"SELECT SUM(Balance), AVG(Balance) FROM Singers WHERE SingerId < 3",
         "[[\"9.75\",\"4.875\"]]"},
        {"SELECT SUM(x) FROM (SELECT 1 AS x) WHERE false", "[[null]]"},
        {"SELECT COUNT(*) FROM Singers WHERE false", "[[\"0\"]]"},
        {"SELECT SingerId + 1 AS k, COUNT(*) FROM Albums GROUP BY SingerId + 1 ORDER BY k",
         "[[\"2\",\"2\"],[\"3\",\"3\"]]"},
        {"SELECT s.LastName, a.Title FROM Singers s JOIN Albums a ON s.SingerId = a.SingerId "
         "WHERE a.AlbumId = 1 ORDER BY s.SingerId",
         "[[\"Richards\",\"Total Junk\"],[\"Smith\",\"Green\"]]"},
        {"SELECT s.SingerId, a.AlbumId FROM Singers s LEFT JOIN Albums a "
         "ON s.SingerId = a.SingerId AND a.AlbumId = 3 ORDER BY 1",
         "[[\"1\",null],[\"2\",\"3\"],[\"3\",null],[\"4\",null]]"},
        {"SELECT COUNT(*) FROM Singers CROSS JOIN Albums", "[[\"20\"]]"},
        {"SELECT COUNT(*) FROM Singers, Albums", "[[\"20\"]]"},
        {"SELECT SingerId, Title FROM Albums JOIN Singers USING (SingerId) "
         "WHERE AlbumId = 2 ORDER BY 1",
         "[[\"1\",\"Go, Go, Go\"],[\"2\",\"Forever Hold Your Peace\"]]"},
        {"SELECT COUNT(*) FROM Albums a FULL OUTER JOIN Singers s ON a.SingerId = s.SingerId",
         "[[\"7\"]]"},
        {"SELECT a.AlbumId FROM Singers s RIGHT JOIN Albums a ON s.SingerId = a.SingerId "
         "AND s.SingerId = 1 WHERE s.SingerId IS NULL ORDER BY 1",
         "[[\"1\"],[\"2\"],[\"3\"]]"},
        {"SELECT SingerId FROM Albums@{FORCE_INDEX=AlbumsByTitle} WHERE Title = 'Green'",
         "[[\"2\"]]"},
        {"SELECT 1 UNION ALL SELECT 1", "[[\"1\"],[\"1\"]]"},
        {"SELECT [1, 2, NULL], ARRAY<NUMERIC>[NUMERIC '1.5', 2], ARRAY<STRING>[], "
         "ARRAY_LENGTH(['a', 'b'])",
         "[[[\"1\",\"2\",null],[\"1.5\",\"2\"],[],\"2\"]]"},
        {"SELECT x, o FROM UNNEST([10, 20, 30]) AS x WITH OFFSET AS o WHERE x > 10 ORDER BY o",
         "[[\"20\",\"1\"],[\"30\",\"2\"]]"},
        {"SELECT SingerId FROM Singers WHERE SingerId IN UNNEST([2, 4]) ORDER BY 1",
         "[[\"2\"],[\"4\"]]"},
        {"SELECT ARRAY(SELECT Title FROM Albums WHERE SingerId = 1 ORDER BY AlbumId DESC)",
         "[[[\"Go, Go, Go\",\"Total Junk\"]]]"},
        {"SELECT ARRAY(SELECT 1 FROM Albums WHERE false)", "[[[]]]"},
        {"SELECT [10, 20, 30][OFFSET(1)], [10, 20][ORDINAL(1)], ['a', NULL][SAFE_OFFSET(1)], "
         "['a'][SAFE_OFFSET(5)], ['a'][SAFE_ORDINAL(0)], [DATE '2020-01-02'][0], "
         "SPLIT('x,y')[OFFSET(1)], ARRAY(SELECT Title FROM Albums WHERE SingerId = 1 "
         "ORDER BY AlbumId)[ORDINAL(2)]",
         "[[\"20\",\"10\",null,null,null,\"2020-01-02\",\"y\",\"Go, Go, Go\"]]"},
        {"SELECT [1][OFFSET(1)]", "OUT_OF_RANGE: Array index 1 is out of bounds"},
        {"SELECT [1][ORDINAL(0)]", "OUT_OF_RANGE: Array index 0 is out of bounds"},
        {"SELECT 5[OFFSET(0)]", "INVALID_ARGUMENT: Element access using [] is not supported on "
                                "values of type INT64 [at 1:8]"},
        {"SELECT [1][OFFSET('a')]", "INVALID_ARGUMENT: Array position"},
        {"SELECT SingerId, ARRAY_AGG(AlbumId) FROM Albums GROUP BY SingerId ORDER BY 1",
         "[[\"1\",[\"1\",\"2\"]],[\"2\",[\"1\",\"2\",\"3\"]]]"},
        {"SELECT s.SingerId, t FROM Singers s, UNNEST(['x', s.LastName]) AS t "
         "WHERE s.SingerId = 1",
         "[[\"1\",\"x\"],[\"1\",\"Richards\"]]"},
        {"SELECT d FROM UNNEST([DATE '2020-01-02', NULL]) AS d", "[[\"2020-01-02\"],[null]]"},
        {"WITH big AS (SELECT SingerId, Sales FROM Albums WHERE Sales >= 100), "
         "names AS (SELECT s.LastName, b.Sales FROM big b JOIN Singers s USING (SingerId)) "
         "SELECT LastName, SUM(Sales) FROM names GROUP BY LastName",
         "[[\"Richards\",\"300\"]]"},
        {"WITH t AS (SELECT 1 AS x) SELECT x FROM t UNION ALL SELECT x + 1 FROM t ORDER BY 1 DESC",
         "[[\"2\"],[\"1\"]]"},
        {"SELECT (WITH t AS (SELECT 5 AS v) SELECT v FROM t)", "[[\"5\"]]"},
        {"SELECT 1 UNION DISTINCT SELECT 1", "[[\"1\"]]"},
        {"SELECT 1 AS x UNION ALL SELECT 2.5 ORDER BY x DESC", "[[2.5],[1]]"},
        {"SELECT SingerId FROM Singers EXCEPT DISTINCT SELECT SingerId FROM Albums ORDER BY 1",
         "[[\"3\"],[\"4\"]]"},
        {"SELECT SingerId FROM Singers INTERSECT DISTINCT SELECT SingerId FROM Albums "
         "ORDER BY 1",
         "[[\"1\"],[\"2\"]]"},
        /* every set operation, on bags: x = {1, 1, 1, 2, NULL, NULL}, y = {1, 1, 3, NULL} */
        {"WITH x AS (SELECT v FROM UNNEST([1, 1, 1, 2, NULL, NULL]) AS v), "
         "y AS (SELECT v FROM UNNEST([1, 1, 3, NULL]) AS v) "
         "SELECT 'ua', COUNT(*) FROM (SELECT v FROM x UNION ALL SELECT v FROM y) "
         "UNION ALL SELECT 'ud', COUNT(*) FROM (SELECT v FROM x UNION DISTINCT SELECT v FROM y) "
         "UNION ALL SELECT 'ia', COUNT(*) FROM (SELECT v FROM x INTERSECT ALL SELECT v FROM y) "
         "UNION ALL SELECT 'id', COUNT(*) FROM (SELECT v FROM x INTERSECT DISTINCT "
         "SELECT v FROM y) "
         "UNION ALL SELECT 'ea', COUNT(*) FROM (SELECT v FROM x EXCEPT ALL SELECT v FROM y) "
         "UNION ALL SELECT 'ed', COUNT(*) FROM (SELECT v FROM x EXCEPT DISTINCT SELECT v FROM y)",
         "[[\"ua\",\"10\"],[\"ud\",\"4\"],[\"ia\",\"3\"],[\"id\",\"2\"],[\"ea\",\"3\"],"
         "[\"ed\",\"1\"]]"},
        {"SELECT v FROM UNNEST([1, 1, 1, 2, NULL, NULL]) AS v EXCEPT ALL "
         "SELECT v FROM UNNEST([1, NULL]) AS v ORDER BY v",
         "[[null],[\"1\"],[\"1\"],[\"2\"]]"},
        {"SELECT v, 'a' AS w FROM UNNEST([2, 2, 3]) AS v INTERSECT ALL "
         "SELECT v, 'a' FROM UNNEST([2, 2, 2]) AS v",
         "[[\"2\",\"a\"],[\"2\",\"a\"]]"},
    };
    RUN(cases);
}

static void test_text_functions(void **state)
{
    (void)state;
    static const struct sp_test_case cases[] = {
        {"SELECT REGEXP_CONTAINS('foo@example.com', r'@[a-z]+\\.com$'), "
         "REGEXP_CONTAINS('abc', 'x'), REGEXP_CONTAINS(b'\\x01a', b'a'), "
         "REGEXP_CONTAINS('ABC', '(?i)abc'), REGEXP_CONTAINS(NULL, 'a')",
         "[[true,false,true,true,null]]"},
        /* a backtracking matcher takes exponential time on these; RE2 is linear */
        {"SELECT REGEXP_CONTAINS(CONCAT(REPEAT('ab', 2000), '!'), r'^(ab|a|b)*$'), "
         "REGEXP_CONTAINS(REPEAT('ab', 2000), r'^(ab|a|b)*$'), "
         "REGEXP_EXTRACT(CONCAT(REPEAT('a', 3000), '!'), r'(a+)+$'), "
         "LENGTH(REGEXP_REPLACE(CONCAT(REPEAT('a', 3000), '!'), r'(a+)+$', 'x')), "
         "REGEXP_EXTRACT(REPEAT('a', 3000), r'(a+)+$') = REPEAT('a', 3000)",
         "[[false,true,null,\"3001\",true]]"},
        /* RE2's UTF-8 mode for STRING, Latin-1 for BYTES: one character, or one byte */
        {"SELECT REGEXP_EXTRACT('héllo', 'h.'), REGEXP_EXTRACT(b'h\\xc3\\xa9', b'h.'), "
         "REGEXP_CONTAINS('\\n', '.'), REGEXP_CONTAINS('\\n', '(?s).'), "
         "REGEXP_EXTRACT_ALL('aXbX', '(?i)x'), REGEXP_REPLACE('abc', 'b|', '-')",
         "[[\"hé\",\"aMM=\",false,true,[\"X\",\"X\"],\"-a-c-\"]]"},
        {"SELECT REGEXP_EXTRACT('foo@example.com', r'^[a-z]+'), "
         "REGEXP_EXTRACT('foo@example.com', r'@([a-z]+)'), REGEXP_EXTRACT('abc', 'x'), "
         "REGEXP_EXTRACT('ab', 'a(x)?')",
         "[[\"foo\",\"example\",null,null]]"},
        {"SELECT REGEXP_EXTRACT_ALL('a1b22c333', r'\\d+'), REGEXP_EXTRACT_ALL('k=v, x=y', "
         "r'(\\w)='), REGEXP_EXTRACT_ALL('abc', 'x'), REGEXP_EXTRACT_ALL(b'aXbX', b'X')",
         "[[[\"1\",\"22\",\"333\"],[\"k\",\"x\"],[],[\"WA==\",\"WA==\"]]]"},
        {"SELECT REGEXP_REPLACE('a1b22', r'\\d', 'N'), REGEXP_REPLACE('abc', 'x*', '-'), "
         "REGEXP_REPLACE('john smith', r'(\\w+) (\\w+)', r'\\2, \\1'), "
         "REGEXP_REPLACE('héllo', '', '.'), REGEXP_REPLACE('a.b', r'\\.', r'\\\\')",
         "[[\"aNbNN\",\"-a-b-c-\",\"smith, john\",\".h.é.l.l.o.\",\"a\\\\b\"]]"},
        /* Unicode's full case mapping and normalization forms (libunistring) */
        {"SELECT UPPER('Straße'), LOWER('ΣΑΣ'), LOWER('İ'), UPPER('ﬁ'), NORMALIZE('A\\u030A') = "
         "'\\u00C5', NORMALIZE('Ａ①', NFKC), LENGTH(NORMALIZE('Å', NFD)), "
         "NORMALIZE_AND_CASEFOLD('STRASSE') = NORMALIZE_AND_CASEFOLD('straße', nfc), "
         "NORMALIZE(CAST(NULL AS STRING))",
         "[[\"STRASSE\",\"σας\",\"i̇\",\"FI\",true,\"A1\",\"2\",true,null]]"},
        {"SELECT SPLIT('a,b,,c'), SPLIT('a b', ' '), SPLIT(''), SPLIT('héj', ''), "
         "SPLIT(b'a-b', b'-'), ARRAY_LENGTH(SPLIT('x|y|z', '|'))",
         "[[[\"a\",\"b\",\"\",\"c\"],[\"a\",\"b\"],[\"\"],[\"h\",\"é\",\"j\"],[\"YQ==\",\"Yg==\"],"
         "\"3\"]]"},
        /* SPLIT_SUBSTR: overlapping delimiters, starts before the first split and past the
         * last, from the end, a count past the end, no count, empty splits */
        {"SELECT SPLIT_SUBSTR('aaa***bb***cc', '**', 2, 1), SPLIT_SUBSTR('w.a.c', '.', 0, 2), "
         "SPLIT_SUBSTR('w.a.c', '.', -9, 1), SPLIT_SUBSTR('w.a.c', '.', 4), "
         "SPLIT_SUBSTR('w.a.c', '.', -2, 9), SPLIT_SUBSTR('w.a.c', '.', 2), "
         "SPLIT_SUBSTR('a..b', '.', 2, 2), SPLIT_SUBSTR('', '.', 1)",
         "[[\"*bb\",\"w.a\",\"w\",\"\",\"a.c\",\"a.c\",\".b\",\"\"]]"},
        {"SELECT SPLIT_SUBSTR('a.b', '', 1)",
         "OUT_OF_RANGE: Delimiter of SPLIT_SUBSTR function must be non-empty"},
        {"SELECT SPLIT_SUBSTR('a.b', '.', 1, -1)",
         "OUT_OF_RANGE: Count of SPLIT_SUBSTR function must be non-negative"},
        {"SELECT FORMAT('%d|%5d|%-4d|%05d|%x|%X|%o|%i', 42, 42, 42, 42, 255, 255, 8, -7)",
         "[[\"42|   42|42  |00042|ff|FF|10|-7\"]]"},
        {"SELECT FORMAT('%s and %s', 'a', 'b'), FORMAT('%.2f %e %g', 3.14159, 1234.5, 0.5), "
         "FORMAT('%%|%t|%T|%T', 1.5, 'x', DATE '2020-01-02'), FORMAT('%s', CAST(NULL AS STRING))",
         "[[\"a and b\",\"3.14 1.234500e+03 0.5\",\"%|1.5|\\\"x\\\"|DATE \\\"2020-01-02\\\"\","
         "\"NULL\"]]"},
        {"SELECT FORMAT(FirstName || ' %d', 7) FROM Singers WHERE SingerId = 1",
         "[[\"Marc 7\"]]"}, /* a pattern that is not a literal: checked when it runs */
        {"SELECT FORMAT('%f|%F', CAST('inf' AS FLOAT64), CAST('-inf' AS FLOAT64))",
         "[[\"inf|-INF\"]]"},
        {"SELECT FORMAT('%t|%t|%T', true, NUMERIC '1.50', [1, 2])", "[[\"true|1.5|[1, 2]\"]]"},
        /* %t and %T as ZetaSQL prints them (checked against Google's emulator) */
        {"SELECT FORMAT('%t|%T|%t|%T', 3.0, CAST('-inf' AS FLOAT64), -0.0, 1.0 / 3)",
         "[[\"3.0|CAST(\\\"-inf\\\" AS FLOAT64)|-0.0|0.33333333333333331\"]]"},
        {"SELECT FORMAT('%T|%T|%T', 'it\\'s', 'a\"b', 'x\\ny\\\\')",
         "[[\"\\\"it's\\\"|'a\\\"b'|\\\"x\\\\ny\\\\\\\\\\\"\"]]"},
        {"SELECT FORMAT('%t|%T', b'a\\x01\"', b'\\xff\\n')",
         "[[\"a\\\\x01\\\\\\\"|b\\\"\\\\xff\\\\x0a\\\"\"]]"},
        {"SELECT FORMAT('%t|%T', TIMESTAMP '2011-02-03T04:05:06.12Z', [DATE '2020-01-01', NULL])",
         "[[\"2011-02-03 04:05:06.120+00|[DATE \\\"2020-01-01\\\", NULL]\"]]"},
        {"SELECT JSON_VALUE(JSON '{\"a\": {\"b\": [10, \"x\", true]}}', '$.a.b[0]'), "
         "JSON_VALUE('{\"a\": {\"b\": [10, \"x\"]}}', '$.a.b[1]'), "
         "JSON_VALUE(JSON '{\"a\": {\"b\": 1}}', '$.a'), JSON_VALUE(JSON '{\"a\": 1}', '$.z'), "
         "JSON_VALUE(JSON '{\"a b\": true}', '$.\"a b\"')",
         "[[\"10\",\"x\",null,null,\"true\"]]"},
        {"SELECT JSON_QUERY(JSON '{\"a\": {\"b\": [1, 2]}}', '$.a'), "
         "JSON_QUERY('{\"a\": \"s\"}', '$.a'), JSON_QUERY(JSON '[1]', '$')",
         "[[\"{\\\"b\\\":[1,2]}\",\"\\\"s\\\"\",\"[1]\"]]"},
        /* the JSON editors: created paths, skipped pairs, insertion inside an array */
        {"SELECT JSON_SET(JSON '{\"a\": 1}', '$.b[1].c', 2, '$.a.x', 3), "
         "JSON_SET(JSON '{}', '$.a', 1, create_if_missing => FALSE), "
         "JSON_ARRAY_INSERT(JSON '[1, 2]', '$[1]', ['x', 'y']), "
         "JSON_ARRAY_APPEND(JSON '{\"a\": null}', '$.a', 1), "
         "JSON_REMOVE(JSON '[1, [2, 3]]', '$[1][0]', '$[5]'), "
         "JSON_STRIP_NULLS(JSON '{\"a\": [null, {}], \"b\": null}', remove_empty => TRUE)",
         "[[\"{\\\"a\\\":1,\\\"b\\\":[null,{\\\"c\\\":2}]}\",\"{}\","
         "\"[1,\\\"x\\\",\\\"y\\\",2]\",\"{\\\"a\\\":[1]}\",\"[1,[3]]\",\"null\"]]"},
        /* set membership, not every pair: 16,000 x 16,000 at once */
        {"SELECT ARRAY_INCLUDES_ALL(GENERATE_ARRAY(1, 16000), GENERATE_ARRAY(16000, 1, -1)), "
         "ARRAY_INCLUDES_ANY([STRUCT(1 AS a, 'x' AS b)], [STRUCT(1, 'y'), STRUCT(1, 'x')]), "
         "ARRAY_INCLUDES([1.5, CAST('nan' AS FLOAT64)], CAST('nan' AS FLOAT64))",
         "[[true,true,false]]"},
        {"SELECT JSON_CONTAINS(JSON '{\"a\": [1, {\"b\": 2}], \"c\": 3}', JSON '{\"a\": "
         "[{\"b\": 2.0}]}'), JSON_CONTAINS(JSON '[[1]]', JSON '1')",
         "[[true,false]]"},
        {"SELECT INT64_ARRAY(JSON '[1, 2.0]'), STRING_ARRAY(JSON '[\"a\"]'), "
         "FLOAT32_ARRAY(JSON '[0.5]'), BOOL_ARRAY(JSON '[]'), FLOAT32(JSON '2')",
         "[[[\"1\",\"2\"],[\"a\"],[0.5],[],2]]"},
    };
    static const struct sp_test_case errors[] = {
        {"SELECT NORMALIZE('x', FOO)",
         "INVALID_ARGUMENT: Argument is not a valid NORMALIZE mode: FOO [at 1:23]"},
        {"SELECT NORMALIZE('x', 'NFC')",
         "INVALID_ARGUMENT: Argument is not a valid NORMALIZE mode [at 1:23]"},
        {"SELECT NORMALIZE_AND_CASEFOLD(b'x')",
         "INVALID_ARGUMENT: No matching signature for function NORMALIZE_AND_CASEFOLD for "
         "argument types: BYTES. Supported signature: NORMALIZE_AND_CASEFOLD(STRING, "
         "[NORMALIZE_MODE])"},
        {"SELECT REGEXP_CONTAINS('a', '(')",
         "OUT_OF_RANGE: Cannot parse regular expression: missing ): ("},
        {"SELECT REGEXP_CONTAINS('aa', r'(a)\\1')",
         "OUT_OF_RANGE: Cannot parse regular expression: invalid escape sequence: \\1"},
        {"SELECT REGEXP_CONTAINS('ab', 'a(?=b)')",
         "OUT_OF_RANGE: Cannot parse regular expression: invalid perl operator: (?="},
        {"SELECT REGEXP_CONTAINS('ab', '(?<!a)b')",
         "OUT_OF_RANGE: Cannot parse regular expression: invalid perl operator: (?<"},
        {"SELECT REGEXP_CONTAINS('aa', 'a++')",
         "OUT_OF_RANGE: Cannot parse regular expression: bad repetition operator: ++"},
        {"SELECT REGEXP_EXTRACT('ab', '(a)(b)')",
         "OUT_OF_RANGE: Regular expressions passed into extraction functions must not have more "
         "than 1 capturing group"},
        {"SELECT REGEXP_REPLACE('ab', 'a', r'\\1')",
         "OUT_OF_RANGE: Rewrite schema requests more capturing groups"},
        {"SELECT REGEXP_CONTAINS('a', b'a')",
         "INVALID_ARGUMENT: No matching signature for function REGEXP_CONTAINS for argument "
         "types: STRING, BYTES [at 1:8]"},
        {"SELECT SPLIT(b'a')", "INVALID_ARGUMENT: No matching signature for function SPLIT"},
        {"SELECT JSON_REMOVE(JSON '{}', '$')", "OUT_OF_RANGE: The JSONPath cannot be '$'"},
        {"SELECT JSON_SET(JSON '[]', '$[1000000]', 1)",
         "OUT_OF_RANGE: Exceeded maximum array size of 1000000"},
        {"SELECT JSON_SET(JSON '{}', '$.a', 1, create_if_missing => TRUE, create_if_missing => "
         "TRUE)",
         "INVALID_ARGUMENT: Duplicate named argument create_if_missing found in call to "
         "function JSON_SET"},
        {"SELECT ERROR(CONCAT('bad ', 'row'))", "OUT_OF_RANGE: bad row"},
        /* STRING values cannot hold U+0000 here: refused, never cut short at it */
        {"SELECT CODE_POINTS_TO_STRING([97, 0, 98])",
         "UNIMPLEMENTED: A STRING holding the NUL character (U+0000) is not supported by this "
         "emulator"},
        {"SELECT SAFE_CONVERT_BYTES_TO_STRING(b'a\\x00')",
         "UNIMPLEMENTED: A STRING holding the NUL character (U+0000) is not supported by this "
         "emulator"},
        {"SELECT CAST(b'\\x00' AS STRING)",
         "UNIMPLEMENTED: A STRING holding the NUL character (U+0000) is not supported by this "
         "emulator"},
        {"SELECT PARSE_JSON('\"a\\\\u0000\"')", "OUT_OF_RANGE: Invalid input to PARSE_JSON"},
        {"SELECT JSON_CONTAINS(TO_JSON(GENERATE_ARRAY(1, 16000)), TO_JSON(GENERATE_ARRAY(16000, "
         "1, -1)))",
         "RESOURCE_EXHAUSTED: JSON_CONTAINS would compare more than 20000000 values"},
        {"SELECT INT64_ARRAY(JSON '[1, null]')",
         "OUT_OF_RANGE: The provided JSON input is not an array of the requested type"},
        {"SELECT FORMAT('%d', 'x')", "INVALID_ARGUMENT: Invalid type for argument 2 to FORMAT; "
                                     "Expected integer; Got STRING [at 1:8]"},
        {"SELECT FORMAT('%s', NULL)", "INVALID_ARGUMENT: Invalid type for argument 2 to FORMAT; "
                                      "Expected STRING; Got INT64 [at 1:8]"},
        {"SELECT FORMAT('%f', 1)", "INVALID_ARGUMENT: Invalid type for argument 2 to FORMAT; "
                                   "Expected FLOAT64; Got INT64 [at 1:8]"},
        {"SELECT FORMAT('%d %d', 1)", "INVALID_ARGUMENT: Too few arguments to FORMAT for pattern "
                                      "\"%d %d\"; Expected 3; Got 2 [at 1:8]"},
        {"SELECT FORMAT('%d', 1, 2)", "INVALID_ARGUMENT: Too many arguments to FORMAT for "
                                      "pattern \"%d\"; Expected 2; Got 3 [at 1:8]"},
        {"SELECT FORMAT('%q', 1)", "INVALID_ARGUMENT: Invalid format specifier character \"q\" "
                                   "in FORMAT string: \"%q\" [at 1:8]"},
        {"SELECT FORMAT(FirstName || '%d', 'x') FROM Singers WHERE SingerId = 1",
         "OUT_OF_RANGE: Invalid type for argument 2 to FORMAT; Expected integer; Got STRING"},
        {"SELECT JSON_VALUE(JSON '{\"a b\": 1}', \"$['a b']\")",
         "OUT_OF_RANGE: Invalid JSONPath input: $['a b']"},
        {"SELECT JSON_VALUE(JSON '{}', 'a.b')", "OUT_OF_RANGE: Invalid JSONPath input: a.b"},
        {"SELECT JSON_VALUE(1, '$')", "INVALID_ARGUMENT: No matching signature for function"},
    };
    RUN(cases);
    RUN(errors);
}

static void test_time_functions(void **state)
{
    (void)state;
    static const struct sp_test_case cases[] = {
        {"SELECT EXTRACT(HOUR FROM TIMESTAMP '2026-03-08T10:00:00Z' AT TIME ZONE "
         "'America/New_York'), EXTRACT(DATE FROM TIMESTAMP '2026-12-31T23:30:00Z' AT TIME ZONE "
         "'Asia/Kolkata'), EXTRACT(MINUTE FROM TIMESTAMP '2026-01-01T00:00:00Z' AT TIME ZONE "
         "'+05:45'), EXTRACT(HOUR FROM TIMESTAMP '2026-01-01T00:00:00Z' AT TIME ZONE NULL)",
         "[[\"6\",\"2027-01-01\",\"45\",null]]"},
        {"SELECT EXTRACT(YEAR FROM DATE '2020-01-01' AT TIME ZONE 'UTC')",
         "INVALID_ARGUMENT: No matching signature for function EXTRACT"},
        {"SELECT EXTRACT(HOUR FROM TIMESTAMP '2026-01-01T00:00:00Z' AT TIME ZONE 'Mars/Olympus')",
         "OUT_OF_RANGE: Invalid time zone: Mars/Olympus"},
        {"SELECT DATE_TRUNC(DATE '2020-05-20', MONTH), DATE_TRUNC(DATE '2020-05-20', YEAR), "
         "DATE_TRUNC(DATE '2020-05-20', QUARTER), DATE_TRUNC(DATE '2020-05-20', WEEK), "
         "DATE_TRUNC(DATE '2020-05-20', ISOWEEK), DATE_TRUNC(DATE '2020-05-20', DAY)",
         "[[\"2020-05-01\",\"2020-01-01\",\"2020-04-01\",\"2020-05-17\",\"2020-05-18\","
         "\"2020-05-20\"]]"},
        {"SELECT TIMESTAMP_TRUNC(TIMESTAMP '2020-05-20T13:14:15.123456789Z', SECOND), "
         "TIMESTAMP_TRUNC(TIMESTAMP '2020-05-20T13:14:15.123456789Z', MILLISECOND), "
         "TIMESTAMP_TRUNC(TIMESTAMP '2020-05-20T13:14:15Z', HOUR), "
         "TIMESTAMP_TRUNC(TIMESTAMP '2020-05-20T13:14:15Z', DAY, 'UTC'), "
         "TIMESTAMP_TRUNC(TIMESTAMP '2020-05-20T03:14:15Z', DAY, '+05:30'), "
         "TIMESTAMP_TRUNC(TIMESTAMP '2020-05-20T13:14:15Z', MONTH, 'UTC')",
         "[[\"2020-05-20T13:14:15Z\",\"2020-05-20T13:14:15.123Z\",\"2020-05-20T13:00:00Z\","
         "\"2020-05-20T00:00:00Z\",\"2020-05-19T18:30:00Z\",\"2020-05-01T00:00:00Z\"]]"},
        {"SELECT FORMAT_DATE('%Y/%m/%d %A %b %j Q%Q', DATE '2020-02-29'), "
         "FORMAT_TIMESTAMP('%Y-%m-%d %H:%M:%E3S %Ez', TIMESTAMP '2020-05-20T13:14:15.5Z', 'UTC'), "
         "FORMAT_TIMESTAMP('%F %T %z %Z', TIMESTAMP '2020-05-20T23:00:00Z', '+02:00'), "
         "FORMAT_TIMESTAMP('%E*S|%s', TIMESTAMP '1970-01-01T00:01:05.25Z', 'UTC')",
         "[[\"2020/02/29 Saturday Feb 060 Q1\",\"2020-05-20 13:14:15.500 +00:00\","
         "\"2020-05-21 01:00:00 +0200 UTC+2\",\"05.25|65\"]]"},
        {"SELECT PARSE_DATE('%Y-%m-%d', '2020-02-29'), PARSE_DATE('%d/%m/%Y', '31/12/1999'), "
         "PARSE_DATE('%b %d %Y', 'Mar 5 2021'), PARSE_DATE('%F', '0001-01-01')",
         "[[\"2020-02-29\",\"1999-12-31\",\"2021-03-05\",\"0001-01-01\"]]"},
        {"SELECT PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%E*S%Ez', '2020-05-20 13:14:15.25+02:00'), "
         "PARSE_TIMESTAMP('%F %T', '2020-05-20 13:14:15', 'UTC'), "
         "PARSE_TIMESTAMP('%s', '86400'), PARSE_TIMESTAMP('%Y%m%d %H%M%S %z', "
         "'20200520 131415 -0130')",
         "[[\"2020-05-20T11:14:15.25Z\",\"2020-05-20T13:14:15Z\",\"1970-01-02T00:00:00Z\","
         "\"2020-05-20T14:44:15Z\"]]"},
    };
    static const struct sp_test_case errors[] = {
        {"SELECT DATE_TRUNC(Day, MONTH) FROM (SELECT DATE '2020-01-02' AS Day) WHERE true",
         "[[\"2020-01-01\"]]"}, /* a column named like a date part */
        /* CURRENT_TIMESTAMP() is 2026-01-02T03:04:05.5Z: 19:04 the day before in Los Angeles */
        {"SELECT TIMESTAMP_TRUNC(CURRENT_TIMESTAMP(), DAY)", "[[\"2026-01-01T08:00:00Z\"]]"},
        {"SELECT FORMAT_TIMESTAMP('%F %H %Z', CURRENT_TIMESTAMP(), 'Europe/Paris')",
         "[[\"2026-01-02 04 UTC+1\"]]"},
        {"SELECT FORMAT_TIMESTAMP('%F', CURRENT_TIMESTAMP(), 'Europe/../../etc/passwd')",
         "OUT_OF_RANGE: Invalid time zone: Europe/../../etc/passwd"},
        {"SELECT FORMAT_TIMESTAMP('%F', CURRENT_TIMESTAMP(), '+99:00')",
         "OUT_OF_RANGE: Invalid time zone: +99:00"},
        {"SELECT DATE_TRUNC(DATE '2020-01-01', HOUR)",
         "INVALID_ARGUMENT: Unsupported date part HOUR in function DATE_TRUNC [at 1:8]"},
        {"SELECT DATE_TRUNC(DATE '2020-01-01', 'MONTH')",
         "INVALID_ARGUMENT: DATE_TRUNC expects a date part argument [at 1:8]"},
        {"SELECT PARSE_DATE('%Y-%m-%d', '2020-02-30')",
         "OUT_OF_RANGE: Failed to parse input string \"2020-02-30\""},
        {"SELECT PARSE_DATE('%Y-%m-%d', '2020-02-03 x')",
         "OUT_OF_RANGE: Failed to parse input string \"2020-02-03 x\""},
        {"SELECT PARSE_TIMESTAMP('%F %T', '2020-05-20 13:14:15')",
         "[[\"2020-05-20T20:14:15Z\"]]"}, /* daylight time in Los Angeles */
        {"SELECT FORMAT_DATE('%K', DATE '2020-01-01')",
         "UNIMPLEMENTED: Format element %K in FORMAT_DATE is not supported by this emulator"},
        {"SELECT FORMAT_DATE('%F', CURRENT_TIMESTAMP())",
         "INVALID_ARGUMENT: No matching signature for function FORMAT_DATE"},
    };
    RUN(cases);
    RUN(errors);
}

static void test_information_schema(void **state)
{
    (void)state;
    static const struct sp_test_case cases[] = {
        {"SELECT TABLE_NAME, PARENT_TABLE_NAME, ON_DELETE_ACTION, TABLE_TYPE, INTERLEAVE_TYPE "
         "FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = '' ORDER BY TABLE_NAME",
         "[[\"Albums\",\"Singers\",\"CASCADE\",\"BASE TABLE\",\"IN PARENT\"],"
         "[\"Events\",null,null,\"BASE TABLE\",null],"
         "[\"Singers\",null,null,\"BASE TABLE\",null]]"},
        {"SELECT c.COLUMN_NAME, c.ORDINAL_POSITION, c.IS_NULLABLE, c.SPANNER_TYPE, "
         "c.COLUMN_DEFAULT FROM information_schema.columns AS c WHERE c.TABLE_NAME = 'Albums' "
         "ORDER BY c.ORDINAL_POSITION",
         "[[\"SingerId\",\"1\",\"NO\",\"INT64\",null],[\"AlbumId\",\"2\",\"NO\",\"INT64\",null],"
         "[\"Title\",\"3\",\"NO\",\"STRING(MAX)\",null],[\"Sales\",\"4\",\"YES\",\"INT64\","
         "\"0\"]]"},
        {"SELECT TABLE_NAME, COUNT(*) FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = '' "
         "GROUP BY TABLE_NAME ORDER BY 2 DESC, 1",
         "[[\"Singers\",\"9\"],[\"Albums\",\"4\"],[\"Events\",\"3\"]]"},
        /* INFORMATION_SCHEMA's own views are listed too, with their columns and keys */
        {"SELECT CONSTRAINT_NAME, COLUMN_NAME, ORDINAL_POSITION FROM "
         "INFORMATION_SCHEMA.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = 'INFORMATION_SCHEMA' AND "
         "TABLE_NAME = 'TABLES' ORDER BY 3",
         "[[\"PK_TABLES\",\"TABLE_CATALOG\",\"1\"],[\"PK_TABLES\",\"TABLE_SCHEMA\",\"2\"],"
         "[\"PK_TABLES\",\"TABLE_NAME\",\"3\"]]"},
        {"SELECT COUNT(*) FROM INFORMATION_SCHEMA.CHECK_CONSTRAINTS WHERE CONSTRAINT_NAME = "
         "'CK_IS_NOT_NULL_TABLES_TABLE_TYPE'",
         "[[\"1\"]]"},
        {"SELECT TABLE_TYPE, INTERLEAVE_TYPE FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = "
         "'INFORMATION_SCHEMA' AND TABLE_NAME = 'COLUMNS'",
         "[[\"VIEW\",\"\"]]"},
        {"SELECT COLUMN_NAME, SPANNER_TYPE, IS_NULLABLE, SPANNER_STATE FROM "
         "INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = 'INFORMATION_SCHEMA' AND TABLE_NAME = "
         "'TABLES' AND ORDINAL_POSITION IN (4, 6) ORDER BY ORDINAL_POSITION",
         "[[\"PARENT_TABLE_NAME\",\"STRING(MAX)\",\"YES\",null],"
         "[\"TABLE_TYPE\",\"STRING(32)\",\"NO\",null]]"},
        {"SELECT TABLE_NAME, INDEX_NAME, INDEX_TYPE, IS_UNIQUE, IS_NULL_FILTERED, INDEX_STATE "
         "FROM INFORMATION_SCHEMA.INDEXES WHERE TABLE_SCHEMA = '' ORDER BY TABLE_NAME, INDEX_NAME",
         "[[\"Albums\",\"AlbumsByTitle\",\"INDEX\",false,false,\"READ_WRITE\"],"
         "[\"Albums\",\"PRIMARY_KEY\",\"PRIMARY_KEY\",true,false,null],"
         "[\"Events\",\"PRIMARY_KEY\",\"PRIMARY_KEY\",true,false,null],"
         "[\"Singers\",\"PRIMARY_KEY\",\"PRIMARY_KEY\",true,false,null]]"},
        {"SELECT INDEX_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_ORDERING FROM "
         "INFORMATION_SCHEMA.INDEX_COLUMNS WHERE TABLE_NAME = 'Albums' ORDER BY INDEX_NAME, "
         "ORDINAL_POSITION",
         "[[\"AlbumsByTitle\",\"Title\",\"1\",\"DESC\"],[\"PRIMARY_KEY\",\"SingerId\",\"1\","
         "\"ASC\"],[\"PRIMARY_KEY\",\"AlbumId\",\"2\",\"ASC\"]]"},
        {"SELECT CONSTRAINT_NAME, CONSTRAINT_TYPE FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS "
         "WHERE TABLE_NAME = 'Albums' ORDER BY 1",
         "[[\"CK_IS_NOT_NULL_Albums_AlbumId\",\"CHECK\"],[\"CK_IS_NOT_NULL_Albums_SingerId\","
         "\"CHECK\"],[\"CK_IS_NOT_NULL_Albums_Title\",\"CHECK\"],[\"PK_Albums\",\"PRIMARY KEY\"]]"},
        {"SELECT CONSTRAINT_NAME, COLUMN_NAME, ORDINAL_POSITION FROM "
         "INFORMATION_SCHEMA.KEY_COLUMN_USAGE WHERE TABLE_NAME = 'Albums' ORDER BY 3",
         "[[\"PK_Albums\",\"SingerId\",\"1\"],[\"PK_Albums\",\"AlbumId\",\"2\"]]"},
        {"SELECT CHECK_CLAUSE FROM INFORMATION_SCHEMA.CHECK_CONSTRAINTS "
         "WHERE CONSTRAINT_NAME = 'CK_IS_NOT_NULL_Albums_Title'",
         "[[\"Title IS NOT NULL\"]]"},
        {"SELECT COUNT(*) FROM INFORMATION_SCHEMA.REFERENTIAL_CONSTRAINTS", "[[\"0\"]]"},
        {"SELECT SCHEMA_NAME FROM INFORMATION_SCHEMA.SCHEMATA ORDER BY 1",
         "[[\"\"],[\"INFORMATION_SCHEMA\"],[\"SPANNER_SYS\"]]"},
        {"SELECT t.TABLE_NAME, COUNT(c.COLUMN_NAME) FROM INFORMATION_SCHEMA.TABLES t "
         "JOIN INFORMATION_SCHEMA.COLUMNS c ON c.TABLE_NAME = t.TABLE_NAME "
         "WHERE t.PARENT_TABLE_NAME IS NOT NULL GROUP BY 1",
         "[[\"Albums\",\"4\"]]"},
        {"SELECT * FROM INFORMATION_SCHEMA.NOPE",
         "INVALID_ARGUMENT: Table not found: INFORMATION_SCHEMA.NOPE [at 1:15]"},
        {"SELECT * FROM Other.Singers",
         "INVALID_ARGUMENT: Table not found: Other.Singers [at 1:15]"},
    };
    RUN(cases);
    /* views are described too, their columns typed by translating them */
    char *error = sp_test_ddl(&db, "CREATE VIEW Names SQL SECURITY INVOKER AS SELECT "
                                   "Singers.SingerId, Singers.LastName FROM Singers");
    assert_null(error);
    error = sp_test_ddl(&db, "CREATE VIEW Owned SQL SECURITY DEFINER AS SELECT Singers.SingerId "
                             "FROM Singers");
    assert_null(error);
    static const struct sp_test_case views[] = {
        {"SELECT TABLE_TYPE, SPANNER_STATE FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME = "
         "'Names'",
         "[[\"VIEW\",null]]"},
        {"SELECT TABLE_NAME, SECURITY_TYPE FROM INFORMATION_SCHEMA.VIEWS ORDER BY 1",
         "[[\"Names\",\"INVOKER\"],[\"Owned\",\"DEFINER\"]]"},
        {"SELECT COLUMN_NAME, SPANNER_TYPE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = "
         "'Names' ORDER BY ORDINAL_POSITION",
         "[[\"SingerId\",\"INT64\"],[\"LastName\",\"STRING(MAX)\"]]"},
    };
    RUN(views);
}

/* GoogleSQL outside this emulator's subset: each is INVALID_ARGUMENT (a syntax error or
 * a construct Spanner refuses too) or UNIMPLEMENTED, naming the construct and where it is;
 * never a SQLite message, never INTERNAL. */
/* STRUCT: constructors, field access, ARRAY<STRUCT> results, UNNEST, equality, and the
 * errors Spanner gives (checked against Google's emulator). */
static void test_structs(void **state)
{
    (void)state;
    static const struct sp_test_case cases[] = {
        {"SELECT STRUCT(1 AS a, 'x' AS b).b", "[[\"x\"]]"},
        {"SELECT STRUCT<a INT64, b STRING>(1, 'x').a", "[[\"1\"]]"},
        {"SELECT ARRAY(SELECT STRUCT(1 AS a, 'x' AS b))", "[[[[\"1\",\"x\"]]]]"},
        {"SELECT ARRAY(SELECT AS STRUCT SingerId, FirstName FROM Singers WHERE SingerId < 3 "
         "ORDER BY SingerId)",
         "[[[[\"1\",\"Marc\"],[\"2\",\"Catalina\"]]]]"},
        {"SELECT ARRAY(SELECT STRUCT(Title, Sales) FROM Albums WHERE SingerId = 1 ORDER BY "
         "AlbumId)",
         "[[[[\"Total Junk\",\"100\"],[\"Go, Go, Go\",\"200\"]]]]"},
        {"SELECT [STRUCT(1 AS a, NUMERIC '1.5' AS n, b'\\x01' AS y, DATE '2020-01-02' AS d)]",
         "[[[[\"1\",\"1.5\",\"AQ==\",\"2020-01-02\"]]]]"},
        {"SELECT ARRAY<STRUCT<a INT64, b STRING>>[(1, 'x'), (2, NULL)]",
         "[[[[\"1\",\"x\"],[\"2\",null]]]]"},
        {"SELECT ARRAY(SELECT STRUCT(ARRAY<INT64>[1, 2] AS x, STRUCT(1 AS y) AS z))",
         "[[[[[\"1\",\"2\"],[\"1\"]]]]]"},
        {"SELECT x.z.y, x.x[OFFSET(1)] FROM UNNEST(ARRAY(SELECT STRUCT(ARRAY<INT64>[1, 2] AS x, "
         "STRUCT(1 AS y) AS z))) x",
         "[[\"1\",\"2\"]]"},
        {"SELECT s.a FROM (SELECT STRUCT(7 AS a) AS s)", "[[\"7\"]]"},
        {"SELECT a, b FROM UNNEST([STRUCT(1 AS a, 'x' AS b), (2, 'y')]) WITH OFFSET ORDER BY a",
         "[[\"1\",\"x\"],[\"2\",\"y\"]]"},
        {"SELECT s.b, o FROM UNNEST([STRUCT(1 AS a, 'x' AS b)]) AS s WITH OFFSET o",
         "[[\"x\",\"0\"]]"},
        {"SELECT ARRAY_AGG(STRUCT(AlbumId AS id)) FROM Albums WHERE SingerId = 2",
         "[[[[\"1\"],[\"2\"],[\"3\"]]]]"},
        {"SELECT ARRAY_LENGTH(ARRAY(SELECT AS STRUCT 1 AS a, 2 AS b))", "[[\"1\"]]"},
        /* CAST between STRUCTs: field by field, the target's names */
        {"SELECT ARRAY(SELECT CAST(STRUCT(1 AS a, 2.5 AS b) AS STRUCT<x STRING, y INT64>))",
         "[[[[\"1\",\"3\"]]]]"},
        {"SELECT CAST(STRUCT('1' AS a, STRUCT('2.5' AS c) AS b) AS STRUCT<a INT64, b "
         "STRUCT<c FLOAT64>>).b.c",
         "[[2.5]]"},
        {"SELECT SingerId, SAFE_CAST(STRUCT(FirstName) AS STRUCT<n INT64>).n, "
         "CAST(CAST(NULL AS STRUCT<a INT64>) AS STRUCT<b STRING>) IS NULL FROM Singers WHERE "
         "SingerId = 1",
         "[[\"1\",null,true]]"},
        {"SELECT CAST(STRUCT('x' AS a) AS STRUCT<a INT64>).a", "OUT_OF_RANGE: Bad int64 value: x"},
        {"SELECT CAST(STRUCT(1 AS a, 2 AS b) AS STRUCT<a INT64>)",
         "INVALID_ARGUMENT: Invalid cast from STRUCT<a INT64, b INT64> to STRUCT<a INT64> [at "
         "1:8]"},
        {"SELECT CAST(STRUCT(DATE '2020-01-01' AS d) AS STRUCT<d INT64>)",
         "INVALID_ARGUMENT: Invalid cast from STRUCT<d DATE> to STRUCT<d INT64> [at 1:8]"},
        {"SELECT CAST(1 AS STRUCT<a INT64>)",
         "INVALID_ARGUMENT: Invalid cast from INT64 to STRUCT<a INT64> [at 1:8]"},
        {"SELECT CAST([1] AS ARRAY<STRING>)",
         "INVALID_ARGUMENT: Casting between arrays with incompatible element types is not "
         "supported: Invalid cast from ARRAY<INT64> to ARRAY<STRING> [at 1:8]"},
        /* SELECT AS VALUE: one anonymous column; in FROM, a value table (a STRUCT's fields) */
        {"SELECT AS VALUE SingerId FROM Singers WHERE SingerId < 3 ORDER BY SingerId",
         "[[\"1\"],[\"2\"]]"},
        {"SELECT ARRAY(SELECT AS VALUE STRUCT(1 AS a, 'x' AS b))", "[[[[\"1\",\"x\"]]]]"},
        {"SELECT b, a FROM (SELECT AS VALUE STRUCT(SingerId AS a, FirstName AS b) FROM Singers) "
         "WHERE a = 2",
         "[[\"Catalina\",\"2\"]]"},
        {"SELECT v FROM (SELECT AS VALUE SingerId FROM Singers) AS v WHERE v = 4", "[[\"4\"]]"},
        {"SELECT AS VALUE SingerId, FirstName FROM Singers",
         "INVALID_ARGUMENT: SELECT AS VALUE query must have exactly one column [at 1:8]"},
        {"SELECT [(1, 'a'), (2, 'b')][OFFSET(1)]._field_2",
         "INVALID_ARGUMENT: Field name _field_2 does not exist in STRUCT<INT64, STRING> [at 1:40]"},
        /* equality, IN: three-valued, field by field; a NULL field of a literal coerces */
        {"SELECT (1, 'x') = (1, 'x'), (1, 'x') = (1, NULL), (1, 'x') = (2, NULL), "
         "(1, 'x') != (1, 'y'), STRUCT(1 AS a) = STRUCT(1.0 AS a)",
         "[[true,null,false,true,true]]"},
        {"SELECT (1, 2) IN ((1, 2), (3, 4)), (5, 6) NOT IN ((1, 2)), STRUCT(1 AS a) IN "
         "(STRUCT(2 AS a), NULL)",
         "[[true,true,null]]"},
        {"SELECT (1, 'x') IN UNNEST([STRUCT(1 AS a, 'x' AS b)]), (3, 'z') IN UNNEST(ARRAY<STRUCT<a "
         "INT64, b STRING>>[])",
         "[[true,false]]"},
        {"SELECT SingerId FROM Singers WHERE (SingerId, FirstName) IN ((1, 'Marc'), (3, 'x'))",
         "[[\"1\"]]"},
        {"SELECT STRUCT(1 AS a, 'x' AS b) IS NULL", "[[false]]"},
        {"SELECT (1, 2) IN (SELECT AS STRUCT 1, 2), (1, NULL) IN (SELECT AS STRUCT 1, 2), "
         "(3, 4) NOT IN (SELECT AS STRUCT 1, 2)",
         "[[true,null,true]]"},
        {"SELECT CASE WHEN SingerId > 1 THEN (SingerId, 'x') ELSE (0, NULL) END = (0, NULL) "
         "FROM Singers WHERE SingerId < 3 ORDER BY SingerId",
         "[[null],[false]]"},
        {"SELECT FORMAT('%t|%T|%T|%T', STRUCT(1 AS a, 'x' AS b), STRUCT(1 AS a, 'x' AS b), "
         "STRUCT(STRUCT(1.5 AS x) AS s), [STRUCT(1 AS a), NULL])",
         "[[\"(1, x)|(1, \\\"x\\\")|STRUCT(STRUCT(1.5))|[STRUCT(1), NULL]\"]]"},
        {"SELECT STRUCT([1] AS a) IN UNNEST([STRUCT([1] AS a)])",
         "INVALID_ARGUMENT: No matching signature for operator IN"},
        /* errors */
        {"SELECT STRUCT(1 AS a, 'x' AS b)",
         "UNIMPLEMENTED: Unsupported query shape: A struct value cannot be returned as a column "
         "value."},
        {"SELECT AS STRUCT 1 AS a", "UNIMPLEMENTED: Unsupported query shape"},
        {"SELECT STRUCT(1 AS a).c",
         "INVALID_ARGUMENT: Field name c does not exist in STRUCT<a INT64> [at 1:23]"},
        {"SELECT (1, 2).a",
         "INVALID_ARGUMENT: Field name a does not exist in STRUCT<INT64, INT64> [at 1:15]"},
        {"SELECT STRUCT(1 AS a, 2 AS a).a",
         "INVALID_ARGUMENT: Struct field name a is ambiguous [at 1:31]"},
        {"SELECT STRUCT<a INT64>(1, 2).a",
         "INVALID_ARGUMENT: STRUCT type has 1 fields but constructor call has 2 fields [at 1:8]"},
        {"SELECT STRUCT<a INT64>('x').a",
         "INVALID_ARGUMENT: Struct field 1 has type STRING which does not coerce to INT64 [at "
         "1:24]"},
        {"SELECT (1, 'x') < (1, 'y')",
         "INVALID_ARGUMENT: Less than is not defined for arguments of type STRUCT<INT64, STRING> "
         "[at 1:8]"},
        {"SELECT STRUCT(1 AS a) = STRUCT('x' AS a)",
         "INVALID_ARGUMENT: No matching signature for operator = for argument types: STRUCT<a "
         "INT64>, STRUCT<a STRING> [at 1:8]"},
        {"SELECT STRUCT([1] AS a) = STRUCT([1] AS a)",
         "INVALID_ARGUMENT: No matching signature for operator ="},
        {"SELECT ARRAY(SELECT 1, 2)",
         "INVALID_ARGUMENT: ARRAY subquery cannot have more than one column unless using SELECT "
         "AS STRUCT to build STRUCT values [at 1:8]"},
        {"SELECT SingerId.x FROM Singers",
         "INVALID_ARGUMENT: Cannot access field x on a value with type INT64 [at 1:8]"},
        {"SELECT 1 FROM Singers ORDER BY STRUCT(1 AS a)",
         "INVALID_ARGUMENT: ORDER BY does not support expressions of type STRUCT"},
        {"SELECT ARRAY<STRUCT<a INT64>>>[(1)]", "INVALID_ARGUMENT: Syntax error"},
        {"SELECT STRUCT<a INT64", "INVALID_ARGUMENT: Syntax error"},
        {"SELECT (1, ", "INVALID_ARGUMENT: Syntax error"},
    };
    RUN(cases);
}

/* STRUCT parameters and arrays of them (paramTypes code STRUCT, values as lists). */
static void test_struct_parameters(void **state)
{
    (void)state;
    struct sp_arena arena = {0};
    struct em_status st = {0};
    cJSON *types = cJSON_Parse(
        "{\"p\":{\"code\":\"STRUCT\",\"structType\":{\"fields\":[{\"name\":\"a\",\"type\":{"
        "\"code\":"
        "\"INT64\"}},{\"name\":\"b\",\"type\":{\"code\":\"STRING\"}}]}},"
        "\"arr\":{\"code\":\"ARRAY\",\"arrayElementType\":{\"code\":\"STRUCT\",\"structType\":{"
        "\"fields\":[{\"name\":\"id\",\"type\":{\"code\":\"INT64\"}},{\"name\":\"t\",\"type\":{"
        "\"code\":\"STRING\"}}]}}}}");
    struct sp_param_decl decls[2];
    assert_int_equal(
        sp_type_from_json(cJSON_GetObjectItem(types, "p"), "p", &arena, &decls[0].type, &st),
        EM_OK);
    assert_int_equal(
        sp_type_from_json(cJSON_GetObjectItem(types, "arr"), "arr", &arena, &decls[1].type, &st),
        EM_OK);
    decls[0].name = "p";
    decls[1].name = "arr";
    static const struct {
        const char *sql, *params, *expect;
    } cases[] = {
        {"SELECT @p.a, @p.b", "{\"p\":[\"5\",\"y\"]}", "[[\"5\",\"y\"]]"},
        {"SELECT @p.a IS NULL", "{\"p\":null}", "[[true]]"},
        {"SELECT @p = (5, 'y')", "{\"p\":[\"5\",\"y\"]}", "[[true]]"},
        {"SELECT id, t FROM UNNEST(@arr) ORDER BY id", "{\"arr\":[[\"2\",\"b\"],[\"1\",null]]}",
         "[[\"1\",null],[\"2\",\"b\"]]"},
        {"SELECT LastName FROM Singers WHERE SingerId IN (SELECT id FROM UNNEST(@arr)) ORDER BY 1",
         "{\"arr\":[[\"2\",\"b\"],[\"1\",null]]}", "[[\"Richards\"],[\"Smith\"]]"},
        {"SELECT STRUCT(2 AS id, 'b' AS t) IN UNNEST(@arr), (3, 'c') IN UNNEST(@arr)",
         "{\"arr\":[[\"2\",\"b\"],null]}", "[[true,null]]"},
        {"SELECT @arr", "{\"arr\":[[\"2\",\"b\"],null]}", "[[[[\"2\",\"b\"],null]]]"},
        {"INSERT INTO Albums (SingerId, AlbumId, Title) SELECT 3, id, t FROM UNNEST(@arr)",
         "{\"arr\":[[\"7\",\"Seven\"],[\"8\",\"Eight\"]]}", "modified 2"},
        {"UPDATE Singers SET FirstName = @p.b WHERE SingerId = @p.a", "{\"p\":[\"3\",\"Al\"]}",
         "modified 1"},
        {"SELECT @p.c", "{\"p\":[\"5\",\"y\"]}",
         "INVALID_ARGUMENT: Field name c does not exist in STRUCT<a INT64, b STRING> [at 1:11]"},
        {"SELECT @p.a", "{\"p\":[\"5\"]}",
         "INVALID_ARGUMENT: Invalid value for bind parameter p: Expected STRUCT<a INT64, b "
         "STRING>."},
        {"SELECT @p.a", "{\"p\":[\"x\",\"y\"]}",
         "INVALID_ARGUMENT: Invalid value for bind parameter p: Expected INT64."},
        {"SELECT @p.a", "{\"p\":{\"a\":\"5\",\"b\":\"y\"}}",
         "INVALID_ARGUMENT: Invalid value for bind parameter p: Expected STRUCT<a INT64, b "
         "STRING>."},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = sp_test_run_typed(&db, cases[i].sql, cases[i].params, decls, 2);
        if (!out || strcmp(out, cases[i].expect) != 0)
            fprintf(stderr, "case %zu: %s\n  expected: %s\n  got:      %s\n", i, cases[i].sql,
                    cases[i].expect, out ? out : "(null)");
        assert_non_null(out);
        assert_string_equal(out, cases[i].expect);
        free(out);
    }
    /* an untyped parameter has no fields to read */
    char *out = sp_test_run_typed(&db, "SELECT @q.a", "{\"q\":[\"1\"]}", NULL, 0);
    assert_string_equal(out, "INVALID_ARGUMENT: Cannot access field a on parameter q whose type "
                             "is unknown [at 1:11]");
    free(out);
    /* the translation's result type: ARRAY<STRUCT<a INT64>> with its field names */
    struct sp_translation *tr;
    assert_int_equal(sp_translate(db.schema, "SELECT ARRAY(SELECT AS STRUCT @p.a, 'z' AS z)", decls,
                                  2, &tr, &st),
                     EM_OK);
    char type[128];
    sp_type_format(&tr->columns[0].type, false, type, sizeof(type));
    assert_string_equal(type, "ARRAY<STRUCT<a INT64, z STRING>>");
    assert_string_equal(tr->params[0].type.struct_type->fields[1].name, "b");
    sp_translation_free(tr);
    cJSON_Delete(types);
    sp_arena_free(&arena); /* the translation keeps its own copy of the parameter types */
}

/* FLOAT64 NaN: stored as a string SQLite keeps (spanner_value.h), compared, ordered and
 * aggregated as GoogleSQL does. */
static void test_nan(void **state)
{
    (void)state;
    static const struct sp_test_case cases[] = {
        {"UPDATE Singers SET Score = IEEE_DIVIDE(0, 0) WHERE SingerId = 2", "modified 1"},
        {"SELECT Score FROM Singers WHERE SingerId = 2", "[[\"NaN\"]]"},
        {"SELECT SingerId FROM Singers ORDER BY Score", "[[\"3\"],[\"2\"],[\"4\"],[\"1\"]]"},
        {"SELECT SingerId FROM Singers ORDER BY Score DESC", "[[\"1\"],[\"4\"],[\"2\"],[\"3\"]]"},
        {"SELECT SingerId FROM Singers WHERE Score = Score ORDER BY 1", "[[\"1\"],[\"4\"]]"},
        {"SELECT SingerId FROM Singers WHERE Score != Score", "[[\"2\"]]"},
        {"SELECT SingerId FROM Singers WHERE Score > 0 ORDER BY 1", "[[\"1\"]]"},
        {"SELECT SingerId FROM Singers WHERE Score < 100 ORDER BY 1", "[[\"1\"],[\"4\"]]"},
        {"SELECT SingerId FROM Singers WHERE IS_NAN(Score)", "[[\"2\"]]"},
        {"SELECT MIN(Score), MAX(Score), SUM(Score), AVG(Score), COUNT(DISTINCT Score) "
         "FROM Singers",
         "[[\"NaN\",\"NaN\",\"NaN\",\"NaN\",\"3\"]]"},
        {"SELECT MIN(Score), MAX(Score) FROM Singers WHERE SingerId != 2", "[[-1,1.5]]"},
        {"SELECT x FROM UNNEST([IEEE_DIVIDE(0, 0), 1, CAST('-inf' AS FLOAT64), NULL, "
         "IEEE_DIVIDE(0, 0)]) AS x GROUP BY x ORDER BY x",
         "[[null],[\"NaN\"],[\"-Infinity\"],[1]]"},
        {"SELECT IEEE_DIVIDE(0, 0) = IEEE_DIVIDE(0, 0), IEEE_DIVIDE(0, 0) != IEEE_DIVIDE(0, 0), "
         "IEEE_DIVIDE(0, 0) IN (IEEE_DIVIDE(0, 0)), IEEE_DIVIDE(0, 0) IN (1, NULL), "
         "1 < IEEE_DIVIDE(0, 0), IEEE_DIVIDE(0, 0) BETWEEN -1 AND 1",
         "[[false,true,false,null,false,false]]"},
        {"SELECT CAST('nan' AS FLOAT64) + 1, -CAST('NaN' AS FLOAT64), SQRT(CAST('NaN' AS "
         "FLOAT64)), "
         "LEAST(1.0, CAST('NaN' AS FLOAT64)), CAST(CAST('NaN' AS FLOAT64) AS STRING), "
         "CAST('inf' AS FLOAT64) - CAST('inf' AS FLOAT64)",
         "[[\"NaN\",\"NaN\",\"NaN\",\"NaN\",\"nan\",\"NaN\"]]"},
        {"SELECT SAFE_DIVIDE(1, 0), SAFE_DIVIDE(NUMERIC '1', NUMERIC '4'), IEEE_DIVIDE(-1, 0), "
         "IS_INF(IEEE_DIVIDE(1, 0))",
         "[[null,\"0.25\",\"-Infinity\",true]]"},
        {"SELECT STRUCT(IEEE_DIVIDE(0, 0) AS a) = STRUCT(IEEE_DIVIDE(0, 0) AS a), "
         "(1, 'NaN') = (1, 'NaN'), (IEEE_DIVIDE(0, 0), 1) IN ((IEEE_DIVIDE(0, 0), 1))",
         "[[false,true,false]]"},
        {"SELECT CAST(CAST('NaN' AS FLOAT64) AS INT64)",
         "OUT_OF_RANGE: Illegal conversion of non-finite floating point number to an integer"},
    };
    RUN(cases);
}

/* The Names of table FK's rows a KeySet selects, in key order, comma separated. */
/* FLOAT64 values print as the shortest text that reads back as the same double, in
 * results and inside stored arrays; the vector distance functions, checked against Google's
 * emulator. */
static void test_floats_and_vectors(void **state)
{
    (void)state;
    static const struct sp_test_case cases[] = {
        {"SELECT 0.1 + 0.2, [0.1 + 0.2, 1.0], 100.0, 1.5, 2.8284271247461903, CAST(0.1 AS FLOAT32)",
         "[[0.30000000000000004,[0.30000000000000004,1],100,1.5,2.8284271247461903,"
         "0.10000000149011612]]"},
        {"SELECT COSINE_DISTANCE([1.0, 2.0], [3.0, 4.0]), EUCLIDEAN_DISTANCE([1.0, 2.0], [3.0, "
         "4.0]), DOT_PRODUCT([1.0, 2.0], [3.0, 4.0]), DOT_PRODUCT([1, 2], [3, 4])",
         "[[0.01613008990009257,2.8284271247461903,11,11]]"},
        {"SELECT COSINE_DISTANCE([CAST(1 AS FLOAT32), 2], [CAST(1 AS FLOAT32), 3])",
         "[[0.010050506338833642]]"},
        {"SELECT COSINE_DISTANCE(NULL, [3.0, 1.0]), EUCLIDEAN_DISTANCE([], [])", "[[null,0]]"},
        {"SELECT EUCLIDEAN_DISTANCE([CAST('inf' AS FLOAT64)], [1.0]), "
         "COSINE_DISTANCE([CAST('nan' AS FLOAT64), 1.0], [1.0, 1.0])",
         "[[\"Infinity\",\"NaN\"]]"},
        {"SELECT COSINE_DISTANCE([1.0, 2.0], [3.0])",
         "OUT_OF_RANGE: Array length mismatch: 2 and 1"},
        {"SELECT EUCLIDEAN_DISTANCE([1.0, NULL], [3.0, 1.0])",
         "OUT_OF_RANGE: NULL array element in first argument"},
        {"SELECT DOT_PRODUCT([1.0, 1.0], [3.0, NULL])",
         "OUT_OF_RANGE: NULL array element in second argument"},
        {"SELECT COSINE_DISTANCE([0.0, 0.0], [3.0, 1.0])",
         "OUT_OF_RANGE: Cannot compute cosine distance against zero vector"},
        {"SELECT COSINE_DISTANCE([1, 2], [1, 3])",
         "INVALID_ARGUMENT: No matching signature for function COSINE_DISTANCE for argument "
         "types: ARRAY<INT64>, ARRAY<INT64>. Supported signatures: "
         "COSINE_DISTANCE(ARRAY<FLOAT64>, ARRAY<FLOAT64>); COSINE_DISTANCE(ARRAY<FLOAT>, "
         "ARRAY<FLOAT>)"},
        {"SELECT DOT_PRODUCT([CAST(1 AS FLOAT32)], [2.5])",
         "INVALID_ARGUMENT: No matching signature for function DOT_PRODUCT"},
    };
    RUN(cases);
}

/* LPAD/RPAD/REPEAT/REVERSE, digests, encodings, the ARRAY_* functions and GENERATE_ARRAY
 * (tests/spanner/sql_corpus/strings_arrays.sql compares them with Google's emulator): here
 * the bounds that keep an argument from making a value without limit, and the types. */
static void test_strings_and_arrays(void **state)
{
    (void)state;
    static const struct sp_test_case cases[] = {
        {"SELECT LPAD('a', 3, 'xy'), RPAD(b'a', 2), REPEAT('ab', 2), REVERSE('añb')",
         "[[\"xya\",\"YSA=\",\"abab\",\"bña\"]]"},
        {"SELECT LPAD('a', 100000000)",
         "OUT_OF_RANGE: Output of LPAD/RPAD exceeds max allowed output size of 1MB"},
        {"SELECT REPEAT('abc', 9223372036854775807)",
         "OUT_OF_RANGE: Output of REPEAT exceeds max allowed output size of 1MB"},
        {"SELECT GENERATE_ARRAY(-9223372036854775807, 9223372036854775807, 9223372036854775807)",
         "[[[\"-9223372036854775807\",\"0\",\"9223372036854775807\"]]]"},
        {"SELECT ARRAY_LENGTH(GENERATE_ARRAY(1, 16000)), GENERATE_ARRAY(1, 16001)",
         "OUT_OF_RANGE: Cannot generate arrays with more than 16000 elements."},
        {"SELECT TO_HEX(SHA256('')), TO_HEX(MD5(b''))",
         "[[\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\","
         "\"d41d8cd98f00b204e9800998ecf8427e\"]]"},
        {"SELECT ARRAY_FIRST([STRUCT(1 AS a, 'x' AS b)]).b, ARRAY_LAST([DATE '2020-01-02'])",
         "[[\"x\",\"2020-01-02\"]]"},
        {"SELECT ARRAY_INCLUDES([1.5, 2.0], 2), ARRAY_INCLUDES([NUMERIC '1.10'], NUMERIC '1.1')",
         "[[true,true]]"},
        {"SELECT ARRAY_TO_STRING([1, 2], ',')",
         "INVALID_ARGUMENT: No matching signature for function ARRAY_TO_STRING"},
        {"SELECT ARRAY_CONCAT([1], ['a'])",
         "INVALID_ARGUMENT: No matching signature for function ARRAY_CONCAT"},
        {"SELECT ARRAY_REVERSE(NULL)",
         "INVALID_ARGUMENT: No matching signature for function ARRAY_REVERSE"},
        {"SELECT TO_HEX('abc')", "INVALID_ARGUMENT: No matching signature for function TO_HEX"},
        {"SELECT ARRAY_MAX([3, 10, 9]), ARRAY_MIN(['b', 'ab']), ARRAY_SLICE([1, 2, 3], -9, -3)",
         "[[\"10\",\"ab\",[\"1\"]]]"},
        {"SELECT BIT_AND(x), BIT_OR(x), BIT_XOR(x) FROM UNNEST([12, 10]) AS x",
         "[[\"8\",\"14\",\"6\"]]"},
        {"SELECT VARIANCE(x), STDDEV(x) FROM UNNEST([NUMERIC '1', NUMERIC '3']) AS x",
         "[[2,1.4142135623730951]]"},
        {"SELECT BIT_AND(x) FROM UNNEST([1.5]) AS x",
         "INVALID_ARGUMENT: No matching signature for BIT_AND"},
        {"SELECT LOG10(100), LOG(8, 2), ROUND(ACOS(0), 6), ATAN2(0, 1), ROUND(TANH(1), 6)",
         "[[2,3,1.570796,0,0.761594]]"},
        {"SELECT SAFE_ADD(9223372036854775807, 1), SAFE_NEGATE(-9223372036854775808), "
         "SAFE_MULTIPLY(NUMERIC '99999999999999999999999999999', 10), SAFE_SUBTRACT(5, 7)",
         "[[null,null,null,\"-2\"]]"},
        {"SELECT SOUNDEX('Jackson'), TO_CODE_POINTS('aé'), CODE_POINTS_TO_STRING([97, 233]), "
         "SAFE_CONVERT_BYTES_TO_STRING(b'a\\xffb'), CODE_POINTS_TO_BYTES([0, 255])",
         "[[\"J500\",[\"97\",\"233\"],\"aé\",\"a\xEF\xBF\xBD"
         "b\",\"AP8=\"]]"},
        {"SELECT JSON '[12345678901234567890, 1.0, 1e2, 1e16, -0.0, 0.1]'",
         "[[\"[12345678901234567890,1.0,100.0,1e+16,-0.0,0.1]\"]]"},
        {"SELECT JSON '123456789012345678901'", "INVALID_ARGUMENT: Invalid JSON literal"},
        {"SELECT j.a.b, j['a']['b'], j.c[1], j.nope, JSON_TYPE(j.c), INT64(j.a.b), "
         "LAX_STRING(j.c[1]), JSON_VALUE_ARRAY(j.c) FROM (SELECT JSON '{\"a\": {\"b\": 7}, "
         "\"c\": [\"x\", 2.0]}' AS j)",
         "[[\"7\",\"7\",\"2.0\",null,\"array\",\"7\",\"2\",[\"x\",\"2.0\"]]]"},
        {"SELECT TO_JSON(STRUCT(1 AS b, [1.0, NULL] AS a, NUMERIC '0.5' AS n)), "
         "JSON_OBJECT('k', b'x', 'd', DATE '2024-01-02'), JSON_ARRAY(), TO_JSON(NULL)",
         "[[\"{\\\"a\\\":[1.0,null],\\\"b\\\":1,\\\"n\\\":0.5}\","
         "\"{\\\"d\\\":\\\"2024-01-02\\\",\\\"k\\\":\\\"eA==\\\"}\",\"[]\",\"null\"]]"},
        {"SELECT TO_JSON(NUMERIC '12345678901234567890.123')",
         "OUT_OF_RANGE: Invalid input to TO_JSON: Failed to convert type NUMERIC to JSON"},
        {"SELECT SAFE.ABS(-9223372036854775808), SAFE.SQRT(-1), SAFE.PARSE_DATE('%Y', 'x'), "
         "SAFE.LOG(100, 10), SAFE.UPPER('a'), SAFE.FROM_BASE64(' YQ '), SAFE.INT64(JSON '1.5')",
         "[[null,null,null,2,\"A\",\"YQ==\",null]]"},
        {"SELECT SAFE.LOG(SQRT(-1))", "OUT_OF_RANGE: Argument to SQRT cannot be negative: -1"},
        {"SELECT ARRAY_FILTER([3, 1, 2], e -> e > 1), ARRAY_TRANSFORM(['a', 'b'], (e, i) -> "
         "CONCAT(e, CAST(i AS STRING))), ARRAY_FILTER(CAST(NULL AS ARRAY<INT64>), e -> TRUE)",
         "[[[\"3\",\"2\"],[\"a0\",\"b1\"],null]]"},
        {"SELECT ARRAY_FILTER([1], e -> e)",
         "INVALID_ARGUMENT: WHERE clause expects BOOL, got INT64"},
        {"SELECT ARRAY_FILTER([1], (e, `i\\`x`) -> TRUE)",
         "INVALID_ARGUMENT: Invalid lambda argument name [at 1:30]"},
        {"SELECT INT64(JSON '1.5')",
         "OUT_OF_RANGE: The provided JSON number: 1.5 cannot be converted to an int64"},
        {"SELECT PARSE_JSON('{\"b\": 1, \"a\": 1e400}')",
         "OUT_OF_RANGE: Invalid input to PARSE_JSON"},
        {"SELECT FARM_FINGERPRINT(''), FARM_FINGERPRINT('abc') = FARM_FINGERPRINT(b'abc')",
         "[[\"-7286425919675154353\",true]]"},
        {"SELECT FARM_FINGERPRINT(1)",
         "INVALID_ARGUMENT: No matching signature for function FARM_FINGERPRINT"},
        {"SELECT TO_BASE32(b'hello'), FROM_BASE32(TO_BASE32(b'hello')), BIT_REVERSE(1, true), "
         "BIT_REVERSE(-2, false)",
         "[[\"NBSWY3DP\",\"aGVsbG8=\",\"4611686018427387904\",\"9223372036854775807\"]]"},
        {"SELECT GENERATE_DATE_ARRAY(DATE '2024-01-31', DATE '2024-04-30', INTERVAL 1 MONTH), "
         "GENERATE_DATE_ARRAY(Day, DATE '2024-01-02') FROM (SELECT DATE '2024-01-01' AS Day)",
         "[[[\"2024-01-31\",\"2024-02-29\",\"2024-03-29\",\"2024-04-29\"],[\"2024-01-01\",\"2024-"
         "01-02\"]]]"},
        {"SELECT DATE_ADD(Day, INTERVAL 1 DAY), TIMESTAMP_ADD(Hour, INTERVAL 1 HOUR) FROM (SELECT "
         "DATE '2024-01-01' AS Day, TIMESTAMP '2024-01-01T00:00:00Z' AS Hour)",
         "[[\"2024-01-02\",\"2024-01-01T01:00:00Z\"]]"},
    };
    RUN(cases);
}

static void float_keyset_rows(const char *key_set_json, char *out, size_t size)
{
    static const struct sp_key_column key[] = {{"K", {SP_TYPE_FLOAT64}, false}};
    cJSON *ks = cJSON_Parse(key_set_json);
    struct sp_buf sql = {0};
    struct sp_binds binds = {0};
    struct em_status st = {0};
    sp_buf_puts(&sql, "SELECT N FROM FK WHERE ");
    assert_int_equal(sp_keyset_where(ks, key, 1, 1, &sql, &binds, &st), EM_OK);
    sp_buf_puts(&sql, " ORDER BY ");
    sp_keyset_order(key, 1, &sql);
    sqlite3_stmt *stmt;
    assert_int_equal(sqlite3_prepare_v2(db.db, sql.data, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sp_binds_apply(&binds, stmt), SQLITE_OK);
    size_t n = 0;
    out[0] = '\0';
    while (sqlite3_step(stmt) == SQLITE_ROW && n < size)
        n += (size_t)snprintf(out + n, size - n, "%s%s", n ? "," : "",
                              (const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    sp_buf_free(&sql);
    sp_binds_clear(&binds);
    cJSON_Delete(ks);
}

/* A FLOAT64 primary key holds NaN (one row: NaNs are equal as keys), and reads order and
 * range it first, below -inf. */
static void test_nan_keys(void **state)
{
    (void)state;
    char *out = sp_test_ddl(&db, "CREATE TABLE FK (K FLOAT64 NOT NULL, N STRING(MAX)) "
                                 "PRIMARY KEY (K)");
    assert_null(out);
    static const struct sp_test_case cases[] = {
        {"INSERT INTO FK (K, N) VALUES (CAST('NaN' AS FLOAT64), 'nan'), (0, 'zero'), "
         "(CAST('-inf' AS FLOAT64), '-inf'), (-1.5, 'neg')",
         "modified 4"},
        {"INSERT INTO FK (K, N) VALUES (IEEE_DIVIDE(0, 0), 'again')",
         "ALREADY_EXISTS: Row already exists"},
        {"SELECT N FROM FK ORDER BY K", "[[\"nan\"],[\"-inf\"],[\"neg\"],[\"zero\"]]"},
        {"SELECT N FROM FK WHERE K < 0 ORDER BY K", "[[\"-inf\"],[\"neg\"]]"},
    };
    RUN(cases);
    static const struct {
        const char *key_set, *rows;
    } reads[] = {
        {"{\"all\":true}", "nan,-inf,neg,zero"},
        {"{\"keys\":[[\"NaN\"]]}", "nan"},
        {"{\"ranges\":[{\"startClosed\":[\"NaN\"],\"endOpen\":[-1]}]}", "nan,-inf,neg"},
        {"{\"ranges\":[{\"startOpen\":[\"NaN\"],\"endClosed\":[\"-Infinity\"]}]}", "-inf"},
        {"{\"ranges\":[{\"startClosed\":[],\"endOpen\":[\"-Infinity\"]}]}", "nan"},
    };
    for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
        char rows[256];
        float_keyset_rows(reads[i].key_set, rows, sizeof(rows));
        if (strcmp(rows, reads[i].rows) != 0)
            fail_msg("%s: expected '%s', got '%s'", reads[i].key_set, reads[i].rows, rows);
    }
}

static void test_unsupported_constructs(void **state)
{
    (void)state;
    static const struct sp_test_case cases[] = {
        {"SELECT AS FOO 1", "INVALID_ARGUMENT: Syntax error: Expected keyword STRUCT or keyword "
                            "VALUE [at 1:11]"},
        {"SELECT COUNT(*) OVER () FROM Singers",
         "INVALID_ARGUMENT: Analytic functions not supported [at 1:8]"}, /* as Spanner */
        {"SELECT LastName, COUNT(*) FROM Singers GROUP BY ROLLUP (LastName)",
         "UNIMPLEMENTED: GROUP BY ROLLUP is not supported by this emulator [at 1:49]"},
        {"SELECT SAFE.ARRAY_FIRST([1])", "UNIMPLEMENTED: The SAFE. prefix is not supported by "
                                         "this emulator for function ARRAY_FIRST [at 1:8]"},
        {"SELECT SAFE.SUM(SingerId) FROM Singers",
         "UNIMPLEMENTED: Unsupported SAFE.SUM: Spanner does not support function in safe error "
         "mode. [at 1:8]"},
        {"INSERT OR REPLACE INTO Singers (SingerId) VALUES (1)",
         "INVALID_ARGUMENT: Syntax error: Unexpected identifier REPLACE [at 1:11]"},
        {"CALL cancel_query('1')", "UNIMPLEMENTED: CALL is not supported by this emulator [at "
                                   "1:1]"},
        {"BEGIN TRANSACTION", "UNIMPLEMENTED: BEGIN is not supported by this emulator [at 1:1]"},
        {"GRAPH g MATCH (n) RETURN n",
         "UNIMPLEMENTED: GRAPH is not supported by this emulator [at 1:1]"},
        {"SELECT INTERVAL 1 DAY", "UNIMPLEMENTED: INTERVAL is not supported by this emulator [at "
                                  "1:8]"},
        {"SELECT JSON_EXTRACT('{}', '$')",
         "UNIMPLEMENTED: Function JSON_EXTRACT is not supported by this emulator [at 1:8]"},
        {"SELECT TOKENIZE_FULLTEXT('a b')",
         "UNIMPLEMENTED: Function TOKENIZE_FULLTEXT is not supported by this emulator [at 1:8]"},
        {"SELECT SUM(DISTINCT SingerId HAVING MAX LastName) FROM Singers",
         "INVALID_ARGUMENT: The HAVING MAX or MIN key of SUM(DISTINCT ...) must be the aggregated "
         "expression [at 1:41]"},
        /* SAFE.EXTRACT is parsed as a call: a first argument that is no date part crashed */
        {"SELECT SAFE.EXTRACT(['a'], CURRENT_TIMESTAMP())",
         "INVALID_ARGUMENT: A valid date part name is required [at 1:21]"},
        {"SELECT ABS(SingerId HAVING MAX LastName) FROM Singers",
         "INVALID_ARGUMENT: HAVING MAX and HAVING MIN are not supported on scalar functions [at "
         "1:32]"},
        {"SELECT * FROM ML.PREDICT(MODEL m, TABLE t)",
         "UNIMPLEMENTED: The table-valued function ML.PREDICT is not supported by this emulator "
         "[at 1:15]"},
        {"SELECT [1, 2][NOPE(0)]", "INVALID_ARGUMENT: Function not found: NOPE [at 1:15]"},
        {"SELECT * FROM Singers PIVOT (COUNT(*) FOR LastName IN ('a'))",
         "INVALID_ARGUMENT: Syntax error: Unexpected \"(\" [at 1:29]"},
        {"SELECT 1 IS DISTINCT FROM 2",
         "INVALID_ARGUMENT: Syntax error: Unexpected keyword DISTINCT [at 1:13]"},
        {"MERGE INTO Singers USING Singers ON true WHEN MATCHED THEN DELETE",
         "INVALID_ARGUMENT: Syntax error: Unexpected keyword MERGE [at 1:1]"},
        {"SELECT @@optimizer_version", "INVALID_ARGUMENT: Syntax error: Unexpected \"@\" [at 1:8]"},
        {"SELECT 1 FROM Singers FOR UPDATE",
         "INVALID_ARGUMENT: Syntax error: Unexpected keyword FOR [at 1:23]"},
        {"SELECT ARRAY_AGG(LastName LIMIT 1) FROM Singers",
         "INVALID_ARGUMENT: LIMIT in aggregate function arguments is not supported [at 1:27]"},
        {"SELECT NOT_A_FUNCTION(1)", "INVALID_ARGUMENT: Function not found: NOT_A_FUNCTION [at "
                                     "1:8]"},
    };
    RUN(cases);
    /* and every one of them failed cleanly: a known code, a position, no SQLite text */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = sp_test_run(&db, cases[i].sql);
        assert_true(strncmp(out, "INVALID_ARGUMENT: ", 18) == 0 ||
                    strncmp(out, "UNIMPLEMENTED: ", 15) == 0);
        assert_non_null(strstr(out, "[at 1:"));
        assert_null(strstr(out, "sqlite"));
        assert_null(strstr(out, "SQL logic"));
        free(out);
    }
    /* the list of Spanner functions named UNIMPLEMENTED is sorted (it is searched): its
     * first, last and neighbouring names are all found */
    static const char *const names[] = {
        "TOKENIZE_SUBSTRING",     "TOKENIZE_NUMBER",           "SCORE",        "SNIPPET",
        "APPROX_COSINE_DISTANCE", "APPROX_EUCLIDEAN_DISTANCE", "JSON_EXTRACT", "SEARCH"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char sql[64];
        snprintf(sql, sizeof(sql), "SELECT %s(1)", names[i]);
        char *out = sp_test_run(&db, sql);
        assert_true(strncmp(out, "UNIMPLEMENTED: Function ", 24) == 0);
        free(out);
    }
}

static void test_errors(void **state)
{
    (void)state;
    static const struct sp_test_case cases[] = {
        {"SELECT Nope FROM Singers", "INVALID_ARGUMENT: Unrecognized name: Nope [at 1:8]"},
        {"SELECT x.SingerId FROM Singers", "INVALID_ARGUMENT: Unrecognized name: x [at 1:8]"},
        {"SELECT * FROM Nope", "INVALID_ARGUMENT: Table not found: Nope [at 1:15]"},
        {"SELECT SingerId FROM Singers, Albums",
         "INVALID_ARGUMENT: Column name SingerId is ambiguous [at 1:8]"},
        {"SELECT 1 FROM Singers WHERE SingerId = 'x'",
         "INVALID_ARGUMENT: No matching signature for operator = for argument types: INT64, "
         "STRING [at 1:29]"},
        {"SELECT 1 + 'a'", "INVALID_ARGUMENT: No matching signature for operator + for argument "
                           "types: INT64, STRING [at 1:8]"},
        {"SELECT 9223372036854775807 + 1", "OUT_OF_RANGE: int64 overflow: 9223372036854775807 + 1"},
        {"SELECT -9223372036854775807 - 2", "OUT_OF_RANGE: int64 overflow"},
        {"SELECT 4611686018427387904 * 2", "OUT_OF_RANGE: int64 overflow"},
        {"SELECT 9223372036854775808", "INVALID_ARGUMENT: Invalid integer literal: "
                                       "9223372036854775808 [at 1:8]"},
        {"SELECT 1 / 0", "OUT_OF_RANGE: division by zero: 1 / 0"},
        {"SELECT 1e308 * 10", "OUT_OF_RANGE: double overflow: 1e+308 * 10"},
        {"SELECT -1e308 - 1e308", "OUT_OF_RANGE: double overflow: -1e+308 - 1e+308"},
        {"SELECT SQRT(-1)", "OUT_OF_RANGE: Argument to SQRT cannot be negative: -1"},
        {"SELECT LOG10(-1)", "OUT_OF_RANGE: Floating point error in function: LOG10(-1)"},
        {"SELECT EXP(1000)", "OUT_OF_RANGE: Floating point error in function: EXP(1000)"},
        {"SELECT COSH(1000)", "OUT_OF_RANGE: Floating point overflow in function: COSH(1000)"},
        {"SELECT LOG(8, 1)", "OUT_OF_RANGE: Floating point error in function: LOG(8, 1)"},
        {"SELECT ACOS('a')",
         "INVALID_ARGUMENT: No matching signature for function ACOS for argument types: STRING"},
        {"SELECT CODE_POINTS_TO_STRING([55296])", "OUT_OF_RANGE: Invalid codepoint 55296"},
        {"SELECT CODE_POINTS_TO_BYTES([256])", "OUT_OF_RANGE: Invalid ASCII value 256"},
        {"SELECT FROM_BASE32('MFRGGZ=D')", "OUT_OF_RANGE: Failed to decode invalid base32 string"},
        {"SELECT GENERATE_DATE_ARRAY(DATE '2024-01-01', DATE '2024-01-02', INTERVAL 0 DAY)",
         "OUT_OF_RANGE: Sequence step cannot be 0."},
        {"SELECT GENERATE_DATE_ARRAY(DATE '2024-01-01', DATE '2024-01-02', INTERVAL 1 HOUR)",
         "INVALID_ARGUMENT: Unsupported date part HOUR in function GENERATE_DATE_ARRAY"},
        {"SELECT DIV(1, 0)", "OUT_OF_RANGE: division by zero: DIV(1, 0)"},
        {"SELECT CAST('2020-13-01' AS DATE)", "OUT_OF_RANGE: Invalid date: '2020-13-01'"},
        {"SELECT 'x' LIKE NULL",
         "INVALID_ARGUMENT: Operands of LIKE cannot be literal NULL [at 1:17]"},
        {"SELECT DISTINCT x FROM UNNEST([1, 2]) AS x WITH OFFSET o ORDER BY o",
         "INVALID_ARGUMENT: ORDER BY clause expression references column o which is not visible "
         "after SELECT DISTINCT [at 1:67]"},
        {"SELECT UPPER(x => 'a')", "INVALID_ARGUMENT: Named argument `x` not found in signature "
                                   "for call to function UPPER [at 1:19]"},
        {"SELECT TO_JSON(1, TRUE)",
         "INVALID_ARGUMENT: Positional argument is invalid because this function restricts that "
         "this argument is referred to by name \"stringify_wide_numbers\" only [at 1:19]"},
        {"SELECT PARSE_JSON('1', wide_number_mode => 'bogus')",
         "OUT_OF_RANGE: Invalid `wide_number_mode` specified for PARSE_JSON: bogus"},
        {"SELECT JSON '{\"k\": \"a\\nb\"}'", /* a raw newline inside a JSON string */
         "INVALID_ARGUMENT: Invalid JSON literal: \"{\"k\": \"a\nb\"}\" [at 1:8]"},
        {"SELECT SUM(x) FROM UNNEST([9223372036854775807, 1]) AS x",
         "OUT_OF_RANGE: int64 overflow"},
        {"SELECT CAST(1e39 AS FLOAT32)", "OUT_OF_RANGE: float out of range: 1e+39"},
        {"SELECT (SELECT x FROM UNNEST([1, 2]) AS x)",
         "OUT_OF_RANGE: More than one element: a scalar subquery returned more than one row"},
        {"SELECT CAST('x' AS INT64)", "OUT_OF_RANGE: Bad int64 value: x"},
        {"SELECT CAST(1e30 AS INT64)", "OUT_OF_RANGE: int64 out of range"},
        {"SELECT NUMERIC '99999999999999999999999999999' + 1", "OUT_OF_RANGE: numeric overflow"},
        {"SELECT NUMERIC '1e40'", "INVALID_ARGUMENT: Invalid NUMERIC literal: \"1e40\" [at 1:8]"},
        {"SELECT NUMERIC '1.5e-9'",
         "INVALID_ARGUMENT: Invalid NUMERIC literal: \"1.5e-9\" [at 1:8]"}, /* 10 digits */
        {"SELECT ROUND(NUMERIC '99999999999999999999999999999.5')",
         "OUT_OF_RANGE: numeric overflow: ROUND(99999999999999999999999999999.5, 0)"},
        {"SELECT DATE '2020-02-30'", "INVALID_ARGUMENT: Invalid DATE literal: \"2020-02-30\" [at "
                                     "1:8]"},
        {"SELECT CAST(DATE '2020-01-01' AS INT64)",
         "INVALID_ARGUMENT: Invalid cast from DATE to INT64 [at 1:8]"},
        {"SELECT FirstName, COUNT(*) FROM Singers",
         "INVALID_ARGUMENT: SELECT list expression references column FirstName which is neither "
         "grouped nor aggregated [at 1:8]"},
        {"SELECT SingerId FROM Albums GROUP BY AlbumId",
         "INVALID_ARGUMENT: SELECT list expression references column SingerId which is neither "
         "grouped nor aggregated [at 1:8]"},
        {"SELECT 1 FROM Albums WHERE COUNT(*) > 1",
         "INVALID_ARGUMENT: Aggregate function COUNT(*) not allowed in WHERE clause [at 1:28]"},
        {"SELECT SUM(COUNT(*)) FROM Albums",
         "INVALID_ARGUMENT: Aggregations of aggregations are not allowed [at 1:12]"},
        {"SELECT NOPE(1)", "INVALID_ARGUMENT: Function not found: NOPE [at 1:8]"},
        /* a dotted path before "(" names a function (Spanner's NET.HOST), quoted or not */
        {"SELECT foo.`bar`.baz(1)", "INVALID_ARGUMENT: Function not found: FOO.BAR.BAZ [at 1:8]"},
        {"SELECT SAFE.x.nope(1)", "INVALID_ARGUMENT: Function not found: X.NOPE [at 1:8]"},
        {"SELECT SAFE.`UPPER`('a'), s.a FROM (SELECT STRUCT(1 AS a) AS s)", "[[\"A\",\"1\"]]"},
        {"SELECT LAST_DAY(DATE '2024-01-01')",
         "INVALID_ARGUMENT: Function not found: LAST_DAY [at 1:8]"},
        {"SELECT ADDDATE(DATE '2024-01-31', INTERVAL 1 MONTH), SUBDATE(DATE '2024-03-01', INTERVAL "
         "1 DAY)",
         "[[\"2024-02-29\",\"2024-02-29\"]]"},
        {"SELECT * FROM UNNEST(5)",
         "INVALID_ARGUMENT: Values referenced in UNNEST must be arrays. UNNEST contains "
         "expression of type INT64 [at 1:22]"},
        {"SELECT [1, 'a']", "INVALID_ARGUMENT: No matching signature for array literal for "
                            "argument types: INT64, STRING [at 1:8]"},
        {"SELECT ARRAY_AGG(x) FROM (SELECT NULL AS x)", "[[[null]]]"},
        {"SELECT ARRAY_AGG(x IGNORE NULLS), ARRAY_AGG(x RESPECT NULLS), ARRAY_AGG(DISTINCT x "
         "IGNORE "
         "NULLS) FROM UNNEST([2, NULL, 2]) AS x",
         "[[[\"2\",\"2\"],[\"2\",null,\"2\"],[\"2\"]]]"},
        {"SELECT COUNT(x IGNORE NULLS) FROM UNNEST([1]) AS x",
         "INVALID_ARGUMENT: IGNORE NULLS and RESPECT NULLS are not allowed for aggregate function "
         "COUNT"},
        {"SELECT ANY_VALUE(s HAVING MAX x), ANY_VALUE(s HAVING MIN x) FROM UNNEST([STRUCT(1 AS x, "
         "'b' AS s), (2, 'a'), (NULL, 'z'), (3, NULL)])",
         "[[null,\"b\"]]"},
        {"SELECT ANY_VALUE(x HAVING MAX f) FROM UNNEST([STRUCT(1 AS x, 1.5 AS f), (2, "
         "CAST('nan' AS FLOAT64))])",
         "[[null]]"},
        /* the other aggregates: over the rows whose key is the largest (smallest) */
        {"SELECT SUM(x HAVING MAX s), ARRAY_AGG(x HAVING MIN s), COUNT(* HAVING MAX s), "
         "COUNT(x HAVING MAX f) FROM UNNEST([STRUCT(1 AS x, 'b' AS s, 1.0 AS f), (2, 'b', 2.0), "
         "(5, 'a', 2.0), (7, NULL, CAST('nan' AS FLOAT64))])",
         "[[\"3\",[\"5\"],\"2\",\"0\"]]"},
        {"SELECT 'a' IN UNNEST([1])", "INVALID_ARGUMENT: No matching signature for operator IN "
                                      "UNNEST for argument types: STRING, INT64 [at 1:8]"},
        {"WITH RECURSIVE t AS (SELECT 1) SELECT * FROM t",
         "UNIMPLEMENTED: WITH RECURSIVE is not supported by this emulator [at 1:6]"},
        {"WITH t AS (SELECT 1 AS x), t AS (SELECT 2) SELECT * FROM t",
         "INVALID_ARGUMENT: Duplicate alias t for WITH subquery [at 1:34]"},
        {"WITH t AS (SELECT 1 AS x) SELECT y FROM t",
         "INVALID_ARGUMENT: Unrecognized name: y [at 1:34]"},
        {"SELECT [1] INTERSECT ALL SELECT [1]",
         "INVALID_ARGUMENT: Column 1 in INTERSECT ALL has type that does not support set "
         "operation comparisons: ARRAY [at 1:12]"},
        {"SELECT 1 EXCEPT SELECT 1",
         "INVALID_ARGUMENT: Syntax error: Expected keyword ALL or keyword DISTINCT after EXCEPT "
         "[at 1:10]"},
        {"SELECT 1 UNION SELECT 1",
         "INVALID_ARGUMENT: Syntax error: Expected keyword ALL or keyword DISTINCT after UNION "
         "[at 1:10]"},
        {"SELECT 1, 2 UNION ALL SELECT 1",
         "INVALID_ARGUMENT: Queries in UNION ALL have mismatched column count; query 1 has 2 "
         "columns, query 2 has 1 column [at 1:13]"},
        {"SELECT 'unclosed", "INVALID_ARGUMENT: Syntax error: Unclosed string literal [at 1:8]"},
        {"SELECT\n  'a\\q'", "INVALID_ARGUMENT: Syntax error: Illegal escape sequence [at 2:5]"},
        {"SELECT 1 FROM", "INVALID_ARGUMENT: Syntax error: Expected table name but got end of "
                          "statement [at 1:14]"},
        {"SELECT 1 LIMIT -1", "INVALID_ARGUMENT: Syntax error: LIMIT and OFFSET expect an "
                              "integer literal or parameter [at 1:16]"},
        {"SELECT (SELECT 1, 2)", "INVALID_ARGUMENT: Scalar subquery must have exactly one "
                                 "column; it has 2 [at 1:8]"},
        {"SELECT TIMESTAMP '2020-01-01 00:00:00', TIMESTAMP '2020-07-01 00:00:00 Asia/Tokyo'",
         "[[\"2020-01-01T08:00:00Z\",\"2020-06-30T15:00:00Z\"]]"},
        {"SELECT TIMESTAMP '2020-01-01 00:00:00 Nowhere/Else'",
         "INVALID_ARGUMENT: Invalid TIMESTAMP literal: \"2020-01-01 00:00:00 Nowhere/Else\" [at "
         "1:8]"},
        {"SELECT JSON '{' ", "INVALID_ARGUMENT: Invalid JSON literal: \"{\" [at 1:8]"},
        {"SELECT TIMESTAMP_ADD(TIMESTAMP '2020-01-01T00:00:00Z', INTERVAL 1 MONTH)",
         "INVALID_ARGUMENT: Unsupported date part MONTH in function TIMESTAMP_ADD [at 1:8]"},
        {"SELECT TIMESTAMP_ADD(TIMESTAMP '9999-12-31T23:59:59Z', INTERVAL 1 SECOND)",
         "OUT_OF_RANGE: Timestamp overflow: 9999-12-31T23:59:59Z + 1"},
        {"SELECT EXTRACT(HOUR FROM CURRENT_TIMESTAMP()), EXTRACT(DATE FROM CURRENT_TIMESTAMP())",
         "[[\"19\",\"2026-01-01\"]]"},
        {"SELECT CAST(CURRENT_TIMESTAMP() AS STRING), CAST(DATE '2026-07-01' AS TIMESTAMP)",
         "[[\"2026-01-01 19:04:05.500-08\",\"2026-07-01T07:00:00Z\"]]"},
        {"SELECT DATE_ADD(DATE '9999-12-31', INTERVAL 1 DAY)", "OUT_OF_RANGE: Date overflow"},
        {"SELECT ABS(DAY)", "INVALID_ARGUMENT: Unrecognized name: DAY [at 1:12]"},
        {"SELECT SUBSTR('abc', 1, -1)",
         "OUT_OF_RANGE: Third argument in SUBSTR() cannot be negative"},
        {"SELECT 1 FROM Singers ORDER BY 3",
         "INVALID_ARGUMENT: ORDER BY is out of SELECT column number range: 3 [at 1:32]"},
        {"CREATE TABLE T (a INT64) PRIMARY KEY (a)",
         "INVALID_ARGUMENT: DDL statements are not accepted here; use UpdateDatabaseDdl [at "
         "1:1]"},
        {"EXPLAIN SELECT 1", "UNIMPLEMENTED: EXPLAIN is not supported by this emulator [at 1:1]"},
        {"SELECT 1 garbage garbage", "INVALID_ARGUMENT: Syntax error: Unexpected identifier "
                                     "garbage [at 1:18]"},
    };
    RUN(cases);
}

/* text: prefix, then item joined by sep count times, then suffix. */
static char *joined(const char *prefix, const char *item, const char *sep, int count,
                    const char *suffix)
{
    size_t size = strlen(prefix) + (size_t)count * (strlen(item) + strlen(sep)) + strlen(suffix);
    char *text = malloc(size + 1);
    assert_non_null(text);
    strcpy(text, prefix);
    for (int i = 0; i < count; i++) {
        strcat(text, item);
        if (i + 1 < count)
            strcat(text, sep);
    }
    strcat(text, suffix);
    return text;
}

/* Statements within GoogleSQL's limits whose SQLite translation exceeds one of SQLite's
 * (found by fuzzing: fifty ~ answered INTERNAL): INVALID_ARGUMENT naming the limit. */
static void test_sqlite_limits(void **state)
{
    (void)state;
    char *within = joined("SELECT ", "~", "", 40, "1");
    char *nested = joined("SELECT ", "~", "", 60, "1");
    char *ifs = joined("SELECT ", "IF(TRUE, ", "", 30, "1");
    char *coalesce = joined("SELECT COALESCE(", "1", ", ", 130, ")");
    char *array = joined("SELECT ARRAY_LENGTH([", "1", ", ", 130, "])");
    char *joins = joined("SELECT 1 FROM Singers", "", " CROSS JOIN UNNEST([1])", 70, "");
    char *columns = joined("SELECT ", "1", ", ", 2001, "");
    size_t len = strlen(ifs);
    char *closed = realloc(ifs, len + 30 * 4 + 1);
    assert_non_null(closed);
    for (int i = 0; i < 30; i++)
        strcpy(closed + len + (size_t)i * 4, ", 0)");
    const struct sp_test_case cases[] = {
        {within, "[[\"1\"]]"},
        {nested, "INVALID_ARGUMENT: The statement nests too deeply for this emulator"},
        {closed, "INVALID_ARGUMENT: The statement nests too deeply for this emulator"},
        {coalesce, "INVALID_ARGUMENT: A function call or array literal has more than 127"},
        {array, "INVALID_ARGUMENT: A function call or array literal has more than 127"},
        {joins, "INVALID_ARGUMENT: The statement nests too deeply for this emulator"},
        {columns, "INVALID_ARGUMENT: Statement has more than 2000 columns"},
    };
    RUN(cases);
    free(within);
    free(nested);
    free(closed);
    free(coalesce);
    free(array);
    free(joins);
    free(columns);
}

static void test_parameters(void **state)
{
    (void)state;
    struct sp_param_decl decls[] = {
        {"id", {SP_TYPE_INT64, SP_TYPE_UNKNOWN, 0}},
        {"name", {SP_TYPE_STRING, SP_TYPE_UNKNOWN, SP_LEN_MAX}},
    };
    char *out = sp_test_run_typed(&db, "SELECT LastName FROM Singers WHERE SingerId = @id",
                                  "{\"id\": \"2\"}", decls, 1);
    assert_string_equal(out, "[[\"Smith\"]]");
    free(out);
    /* untyped: the type comes from the comparison (INT64), the value is the JSON string */
    out = sp_test_run(&db, "SELECT 1");
    free(out);
    out = sp_test_run_typed(&db, "SELECT LastName FROM Singers WHERE SingerId = @id",
                            "{\"id\": \"3\"}", NULL, 0);
    assert_string_equal(out, "[[\"Trentor\"]]");
    free(out);
    out = sp_test_run_typed(&db, "SELECT @free IS NULL, @free", "{\"free\": \"abc\"}", NULL,
                            0); /* nothing constrains it: a STRING */
    assert_string_equal(out, "[[false,\"abc\"]]");
    free(out);
    out = sp_test_run_typed(&db, "SELECT @name || '!'", "{\"name\": \"hi\"}", decls, 2);
    assert_string_equal(out, "[[\"hi!\"]]");
    free(out);
    out = sp_test_run_typed(&db, "SELECT SingerId FROM Singers ORDER BY 1 LIMIT @n",
                            "{\"n\": \"1\"}", NULL, 0);
    assert_string_equal(out, "[[\"1\"]]");
    free(out);
    out =
        sp_test_run_typed(&db, "SELECT SingerId FROM Singers LIMIT @n", "{\"n\": \"-1\"}", NULL, 0);
    assert_string_equal(out, "OUT_OF_RANGE: Limit requires non-negative count and offset");
    free(out);
    struct sp_param_decl ids[] = {{"ids", {SP_TYPE_ARRAY, SP_TYPE_INT64, 0}}};
    out = sp_test_run_typed(&db,
                            "SELECT LastName FROM Singers WHERE SingerId IN UNNEST(@ids) "
                            "ORDER BY 1",
                            "{\"ids\": [\"1\", \"3\", null]}", ids, 1);
    assert_string_equal(out, "[[\"Richards\"],[\"Trentor\"]]");
    free(out);
    out = sp_test_run_typed(&db, "SELECT SingerId FROM Singers WHERE SingerId IN UNNEST(@ids)",
                            "{\"ids\": [\"4\"]}", NULL, 0); /* untyped: ARRAY<INT64> */
    assert_string_equal(out, "[[\"4\"]]");
    free(out);
    /* FLOAT64 NaN and infinities as parameters: typed, and untyped (typed by the column) */
    struct sp_param_decl f[] = {{"f", {SP_TYPE_FLOAT64, SP_TYPE_UNKNOWN, 0}}};
    out = sp_test_run_typed(&db, "SELECT IS_NAN(@f), @f = @f, @f", "{\"f\": \"NaN\"}", f, 1);
    assert_string_equal(out, "[[true,false,\"NaN\"]]");
    free(out);
    out = sp_test_run_typed(&db, "SELECT COUNT(*) FROM Singers WHERE Score < @f OR Score = @f",
                            "{\"f\": \"NaN\"}", NULL, 0);
    assert_string_equal(out, "[[\"0\"]]");
    free(out);
    out = sp_test_run_typed(&db, "SELECT @id + 1", "{\"id\": \"x\"}", decls, 1);
    assert_string_equal(out,
                        "INVALID_ARGUMENT: Invalid value for bind parameter id: Expected INT64.");
    free(out);

    /* the translation reports each parameter's number and type */
    struct em_status st = {0};
    struct sp_translation *tr;
    assert_int_equal(sp_translate(db.schema,
                                  "SELECT @b FROM Singers WHERE Birth = @a AND "
                                  "SingerId = @b",
                                  NULL, 0, &tr, &st),
                     EM_OK);
    assert_int_equal(tr->nparams, 2); /* numbered as met: FROM and WHERE before SELECT */
    assert_string_equal(tr->params[0].name, "a");
    assert_int_equal(tr->params[0].type.code, SP_TYPE_DATE);
    assert_string_equal(tr->params[1].name, "b");
    assert_int_equal(tr->params[1].type.code, SP_TYPE_INT64);
    assert_int_equal(tr->columns[0].type.code, SP_TYPE_INT64);
    sp_translation_free(tr);
}

static void test_result_metadata(void **state)
{
    (void)state;
    struct em_status st = {0};
    struct sp_translation *tr;
    assert_int_equal(sp_translate(db.schema,
                                  "SELECT SingerId, LastName AS n, 1, 7 / 2, Balance * 2, "
                                  "COUNT(*) OVER () FROM Singers",
                                  NULL, 0, &tr, &st),
                     EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, "Analytic functions not supported [at 1:56]");
    assert_int_equal(sp_translate(db.schema,
                                  "SELECT SingerId, LastName AS n, 1, 7 / 2, Balance * 2, "
                                  "Photo FROM Singers",
                                  NULL, 0, &tr, &st),
                     EM_OK);
    assert_int_equal(tr->ncolumns, 6);
    assert_string_equal(tr->columns[0].name, "SingerId");
    assert_string_equal(tr->columns[1].name, "n");
    assert_string_equal(tr->columns[2].name, "");
    assert_int_equal(tr->columns[2].type.code, SP_TYPE_INT64);
    assert_int_equal(tr->columns[3].type.code, SP_TYPE_FLOAT64);
    assert_int_equal(tr->columns[4].type.code, SP_TYPE_NUMERIC);
    assert_int_equal(tr->columns[5].type.code, SP_TYPE_BYTES);
    sp_translation_free(tr);
}

static void test_dml(void **state)
{
    (void)state;
    static const struct sp_test_case cases[] = {
        {"INSERT INTO Singers (SingerId, FirstName) VALUES (10, 'Ten'), (11, 'Eleven')",
         "modified 2"},
        {"INSERT INTO Albums (SingerId, AlbumId, Title) VALUES (10, 1, 'A') "
         "THEN RETURN AlbumId, Sales",
         "modified 1 [[\"1\",\"0\"]]"},
        {"UPDATE Singers SET Score = Score + 1, LastName = 'X' WHERE SingerId >= 10", "modified 2"},
        {"UPDATE Singers s SET s.Score = 5 WHERE s.SingerId = 10 THEN RETURN SingerId, Score",
         "modified 1 [[\"10\",5]]"},
        {"INSERT INTO Albums (SingerId, AlbumId, Title) SELECT SingerId, 7, 'copy' "
         "FROM Singers WHERE SingerId = 11",
         "modified 1"},
        {"DELETE FROM Singers WHERE SingerId = 10", "modified 1"},
        /* ON DELETE CASCADE removed the album of singer 10 */
        {"SELECT COUNT(*) FROM Albums WHERE SingerId = 10", "[[\"0\"]]"},
        {"UPDATE Albums SET Title = 'copy' WHERE SingerId = 11 THEN RETURN WITH ACTION AlbumId",
         "modified 1 [[\"7\",\"UPDATE\"]]"},
        {"DELETE Albums WHERE SingerId = 11 THEN RETURN WITH ACTION AS done Title",
         "modified 1 [[\"copy\",\"DELETE\"]]"},
        {"INSERT INTO Albums (SingerId, AlbumId, Title) VALUES (11, 7, 'copy') "
         "THEN RETURN WITH ACTION AlbumId",
         "modified 1 [[\"7\",\"INSERT\"]]"},
        {"DELETE Albums WHERE SingerId = 11 THEN RETURN Title", "modified 1 [[\"copy\"]]"},
        {"INSERT OR UPDATE INTO Albums (SingerId, AlbumId, Title) VALUES (11, 1, 'a'), "
         "(11, 2, 'b') THEN RETURN AlbumId",
         "modified 2 [[\"1\"],[\"2\"]]"},
        {"DELETE FROM Singers WHERE true", "modified 5"},
    };
    static const struct sp_test_case errors[] = {
        {"INSERT INTO Singers (SingerId) VALUES (1)", "ALREADY_EXISTS: Row already exists"},
        {"INSERT OR UPDATE INTO Albums (SingerId, AlbumId, Title) VALUES (1, 1, 'a') THEN RETURN "
         "WITH ACTION AlbumId",
         "UNIMPLEMENTED: THEN RETURN WITH ACTION of INSERT OR UPDATE is not supported by this "
         "emulator"},
        {"INSERT OR UPDATE INTO Albums (SingerId, AlbumId, Title) VALUES (1, 1, 'a'), "
         "(1, 1, 'b')",
         "INVALID_ARGUMENT: Cannot affect a row second time for key: {Int64(1), Int64(1)}"},
        {"INSERT OR UPDATE INTO Singers (SingerId, FirstName) SELECT 7, n FROM UNNEST(['a', 'b']) "
         "AS n",
         "INVALID_ARGUMENT: Cannot affect a row second time for key: {Int64(7)}"},
        {"INSERT INTO Albums (SingerId, AlbumId, Title) VALUES (99, 1, 'orphan')",
         "NOT_FOUND: Parent row for a row in table Albums is missing. Row cannot be written."},
        {"INSERT INTO Albums (SingerId, AlbumId) VALUES (1, 9)",
         "FAILED_PRECONDITION: A new row in table Albums does not specify a non-null value for "
         "these NOT NULL columns: Title"},
        {"INSERT INTO Albums (SingerId, AlbumId, Title) VALUES (1, 9, NULL)",
         "FAILED_PRECONDITION: Albums.Title must not be NULL in table Albums."},
        {"INSERT INTO Singers (SingerId, FirstName) VALUES (20, 'Elevenchars')",
         "FAILED_PRECONDITION: New value exceeds the maximum size limit for this column: "
         "Singers.FirstName, size: 11, limit: 10."},
        {"INSERT INTO Singers (SingerId, FirstName) VALUES ('x', 'a')",
         "INVALID_ARGUMENT: Value has type STRING which cannot be assigned to column SingerId, "
         "which has type INT64 [at 1:51]"},
        {"INSERT INTO Singers VALUES (1)", "INVALID_ARGUMENT: INSERT must specify a column list"},
        {"INSERT INTO Singers (SingerId, Nope) VALUES (1, 2)",
         "INVALID_ARGUMENT: Column Nope is not present in table Singers [at 1:32]"},
        {"INSERT INTO Singers (SingerId, SingerId) VALUES (1, 2)",
         "INVALID_ARGUMENT: INSERT has columns with duplicate name: SingerId [at 1:32]"},
        {"INSERT INTO Singers (SingerId) VALUES (1, 2)",
         "INVALID_ARGUMENT: Inserted row has wrong column count; Has 2, expected 1 [at 1:39]"},
        {"UPDATE Singers SET Score = 1", "INVALID_ARGUMENT: UPDATE must have a WHERE clause"},
        {"DELETE FROM Singers", "INVALID_ARGUMENT: DELETE must have a WHERE clause"},
        {"UPDATE Singers SET SingerId = 5 WHERE true",
         "INVALID_ARGUMENT: Cannot UPDATE value on non-writable column: SingerId [at 1:20]"},
        {"UPDATE Nope SET a = 1 WHERE true", "INVALID_ARGUMENT: Table not found: Nope [at 1:8]"},
        {"UPDATE Singers SET Score = 'a' WHERE true",
         "INVALID_ARGUMENT: Value has type STRING which cannot be assigned to column Score"},
        {"UPDATE Singers SET Score = 1 WHERE SingerId = 1 + 9223372036854775807",
         "OUT_OF_RANGE: int64 overflow"},
    };
    RUN(errors);
    RUN(cases);
    char *out = sp_test_run(&db, "SELECT COUNT(*) FROM Albums");
    assert_string_equal(out, "[[\"0\"]]"); /* every singer and, by cascade, album is gone */
    free(out);
}

/* The translation of a DML statement: PENDING_COMMIT_TIMESTAMP() columns, or the error. */
static char *pending_of(const char *sql)
{
    struct em_status st = {0};
    struct sp_translation *tr;
    if (sp_translate(db.schema, sql, NULL, 0, &tr, &st))
        return sp_test_error(&st);
    char text[256] = "pending:";
    for (int i = 0; i < tr->npending_columns; i++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), " %s.%s", tr->table,
                 tr->pending_columns[i]);
    sp_translation_free(tr);
    return strdup(text);
}

static void test_pending_commit_timestamp(void **state)
{
    (void)state;
    static const struct sp_test_case cases[] = {
        {"INSERT INTO Events (Id, Stamp) VALUES (1, PENDING_COMMIT_TIMESTAMP()), "
         "(2, PENDING_COMMIT_TIMESTAMP())",
         "pending: Events.Stamp"},
        {"UPDATE Events SET Stamp = PENDING_COMMIT_TIMESTAMP(), Plain = NULL WHERE Id = 1",
         "pending: Events.Stamp"},
        {"UPDATE Events SET Plain = CURRENT_TIMESTAMP() WHERE Id = 1", "pending:"},
        {"INSERT INTO Events (Id, Plain) VALUES (3, PENDING_COMMIT_TIMESTAMP())",
         "FAILED_PRECONDITION: Cannot write commit timestamp because the allow_commit_timestamp "
         "column option is not set to true for column Events.Plain [at 1:43]"},
        {"INSERT INTO Events (Id) VALUES (PENDING_COMMIT_TIMESTAMP())",
         "INVALID_ARGUMENT: Value has type TIMESTAMP which cannot be assigned to column Id, "
         "which has type INT64 [at 1:33]"},
        {"SELECT PENDING_COMMIT_TIMESTAMP()",
         "INVALID_ARGUMENT: The PENDING_COMMIT_TIMESTAMP() function may only be used as a value "
         "for INSERT or UPDATE of an appropriately typed column. It cannot be used in SELECT, or "
         "as the input to any other scalar expression. [at 1:8]"},
        {"UPDATE Events SET Stamp = TIMESTAMP_ADD(PENDING_COMMIT_TIMESTAMP(), INTERVAL 1 SECOND) "
         "WHERE true",
         "INVALID_ARGUMENT: The PENDING_COMMIT_TIMESTAMP() function may only be used"},
    };
    int failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = pending_of(cases[i].sql);
        if (strncmp(out, cases[i].expect, strlen(cases[i].expect)) != 0) {
            fprintf(stderr, "case %zu: %s\n  expected: %s\n  got:      %s\n", i, cases[i].sql,
                    cases[i].expect, out);
            failures++;
        }
        free(out);
    }
    assert_int_equal(failures, 0);
    /* the statement runs and leaves the placeholder for the commit to fill */
    char *out = sp_test_run(&db, "INSERT INTO Events (Id, Stamp) VALUES (7, "
                                 "PENDING_COMMIT_TIMESTAMP())");
    assert_string_equal(out, "modified 1");
    free(out);
    sqlite3_stmt *stmt;
    assert_int_equal(
        sqlite3_prepare_v2(db.db, "SELECT Stamp FROM Events WHERE Id = 7", -1, &stmt, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), SP_PENDING_COMMIT_TIMESTAMP);
    sqlite3_finalize(stmt);
}

static void test_partitioned_dml(void **state)
{
    (void)state;
    static const struct sp_test_case cases[] = {
        {"UPDATE Singers SET Score = 0 WHERE Score IS NULL", "ok"},
        {"DELETE FROM Albums WHERE Sales > 10000", "ok"},
        {"UPDATE Events SET Stamp = PENDING_COMMIT_TIMESTAMP() WHERE true", "ok"},
        {"INSERT INTO Singers (SingerId) VALUES (99)",
         "INVALID_ARGUMENT: INSERT is not supported in Partitioned DML; only UPDATE and DELETE "
         "are [at 1:13]"},
        {"SELECT 1",
         "INVALID_ARGUMENT: Partitioned DML runs UPDATE and DELETE statements, not queries [at "
         "1:1]"},
        {"DELETE FROM Singers WHERE SingerId NOT IN (SELECT SingerId FROM Albums)",
         "INVALID_ARGUMENT: Partitioned DML statements must be fully partitionable: each row is "
         "changed reading that row only, and a subquery reads others [at 1:27]"},
        {"UPDATE Singers SET Score = (SELECT MAX(Sales) FROM Albums) WHERE true",
         "INVALID_ARGUMENT: Partitioned DML statements must be fully partitionable"},
        {"DELETE FROM Singers WHERE EXISTS (SELECT 1 FROM Albums) THEN RETURN SingerId",
         "INVALID_ARGUMENT: THEN RETURN is not supported in Partitioned DML [at 1:69]"},
        {"UPDATE Singers SET Score = 1", "INVALID_ARGUMENT: UPDATE must have a WHERE clause"},
    };
    int failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct em_status st = {0};
        struct sp_translation *tr = NULL;
        char *out = sp_translate_partitioned(db.schema, cases[i].sql, NULL, 0, &tr, &st)
                        ? sp_test_error(&st)
                        : strdup("ok");
        sp_translation_free(tr);
        if (strncmp(out, cases[i].expect, strlen(cases[i].expect)) != 0) {
            fprintf(stderr, "case %zu: %s\n  expected: %s\n  got:      %s\n", i, cases[i].sql,
                    cases[i].expect, out);
            failures++;
        }
        free(out);
    }
    assert_int_equal(failures, 0);
}

static void test_lexer_positions(void **state)
{
    (void)state;
    struct sp_arena arena = {0};
    struct sp_tokens tokens = {0};
    struct em_status st = {0};
    assert_int_equal(sp_lex(&arena,
                            "SELECT -- comment\n  `a b`, @p, 0x1F, 1.5e3, rb'\\d', '''x'''\n"
                            "/* block\n */ # hash\n  \"\\u00e9\\n\"",
                            &tokens, &st),
                     EM_OK);
    assert_int_equal(tokens.count, 14); /* with the final EOF */
    assert_int_equal(tokens.items[1].kind, SP_TOK_QUOTED_IDENT);
    assert_string_equal(tokens.items[1].value, "a b");
    assert_int_equal(tokens.items[1].line, 2);
    assert_int_equal(tokens.items[1].column, 3);
    assert_int_equal(tokens.items[3].kind, SP_TOK_PARAM);
    assert_string_equal(tokens.items[3].value, "p");
    assert_int_equal(tokens.items[5].kind, SP_TOK_INT);
    assert_int_equal(tokens.items[7].kind, SP_TOK_FLOAT);
    assert_int_equal(tokens.items[9].kind, SP_TOK_BYTES);
    assert_string_equal(tokens.items[9].value, "\\d");
    assert_int_equal(tokens.items[11].kind, SP_TOK_STRING);
    assert_string_equal(tokens.items[11].value, "x");
    assert_int_equal(tokens.items[12].kind, SP_TOK_STRING);
    assert_string_equal(tokens.items[12].value, "\xc3\xa9\n");
    assert_int_equal(tokens.items[12].line, 5);
    assert_int_equal(tokens.items[12].column, 3);
    sp_arena_free(&arena);

    static const struct {
        const char *sql, *error;
    } bad[] = {
        {"SELECT /* open", "Syntax error: Unclosed comment [at 1:8]"},
        {"SELECT `x", "Syntax error: Unclosed identifier literal [at 1:8]"},
        {"SELECT b'\\u0041'", "Syntax error: Illegal escape sequence [at 1:10]"},
        {"SELECT 1 $", "Syntax error: Illegal input character \"$\" [at 1:10]"},
        {"SELECT 12abc", "Syntax error: Missing whitespace between literal and alias [at 1:10]"},
        {"SELECT '\\x00'", "Syntax error: String literal is not valid UTF-8 or holds NUL [at 1:8]"},
        {"SELECT '\xff'", /* a byte that is not UTF-8 in the statement itself */
         "Syntax error: String literal is not valid UTF-8 or holds NUL [at 1:8]"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sp_arena a = {0};
        assert_int_equal(sp_lex(&a, bad[i].sql, &tokens, &st), EM_INVALID_ARGUMENT);
        assert_string_equal(st.message, bad[i].error);
        sp_arena_free(&a);
    }
}

/* The SQL: head, then step repeated n times (malloc'd). */
static char *repeated(const char *head, const char *step, int n)
{
    size_t len = strlen(head), step_len = strlen(step);
    char *sql = malloc(len + (size_t)n * step_len + 1);
    assert_non_null(sql);
    memcpy(sql, head, len);
    for (int i = 0; i < n; i++, len += step_len)
        memcpy(sql + len, step, step_len);
    sql[len] = '\0';
    return sql;
}

/* Chains are left-deep trees as tall as they are long: a long one is refused before its
 * translation can exhaust the stack (each used to crash the spanner process). */
static void test_deep_chains(void **state)
{
    (void)state;
    static const char too_deep[] = "INVALID_ARGUMENT: Statement is nested too deeply";
    static const struct {
        const char *head, *step;
    } chains[] = {
        {"SELECT 1", " + 1"},
        {"SELECT 1 FROM Singers WHERE SingerId = 1", " AND SingerId = 1"},
        {"SELECT 1", " UNION ALL SELECT 1"},
        {"SELECT 1 FROM Singers", " CROSS JOIN Albums"},
        {"SELECT STRUCT(1 AS a)", ".a"},
        {"SELECT [1]", "[OFFSET(0)]"},
    };
    for (size_t i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
        char *sql = repeated(chains[i].head, chains[i].step, 50000);
        char *out = sp_test_run(&db, sql);
        assert_non_null(out);
        if (strncmp(out, too_deep, strlen(too_deep)) != 0)
            fail_msg("chain %zu (%s): %.200s", i, chains[i].step, out);
        free(out);
        free(sql);
    }
    char *sql = repeated("SELECT 1", " + 1", 20);
    char *out = sp_test_run(&db, sql);
    assert_string_equal(out, "[[\"21\"]]"); /* a short chain still runs */
    free(out);
    free(sql);
}

/* A chain of one associative operator is one level deep in the SQL given to SQLite (whose
 * parser holds about 100 levels): hundreds of ORs, ANDs, additions or concatenations run. */
static void test_long_flat_chains(void **state)
{
    (void)state;
    static const struct {
        const char *head, *step, *expected;
    } chains[] = {
        {"SELECT 0", " + 1", "[[\"900\"]]"},
        {"SELECT 1.0", " * 1.0", "[[1]]"},
        {"SELECT 1000", " - 1", "[[\"100\"]]"},
        {"SELECT COUNT(*) FROM Singers WHERE SingerId = -1", " OR SingerId = -1", "[[\"0\"]]"},
        {"SELECT COUNT(*) > 0 FROM Singers WHERE SingerId != -1", " AND SingerId != -2",
         "[[true]]"},
        {"SELECT LENGTH('a'", " || 'a'", NULL},
    };
    for (size_t i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
        char *sql = repeated(chains[i].head, chains[i].step, 900);
        if (!chains[i].expected) { /* close the LENGTH( */
            char *closed = malloc(strlen(sql) + 2);
            assert_non_null(closed);
            sprintf(closed, "%s)", sql);
            free(sql);
            sql = closed;
        }
        char *out = sp_test_run(&db, sql);
        assert_non_null(out);
        if (strcmp(out, chains[i].expected ? chains[i].expected : "[[\"901\"]]") != 0)
            fail_msg("chain %zu (%s): %.200s", i, chains[i].step, out);
        free(out);
        free(sql);
    }
    /* a chain stops at its first NULL, and an overflow before it is an error */
    char *out = sp_test_run(&db, "SELECT 1 + NULL + 9223372036854775807 + 1");
    assert_string_equal(out, "[[null]]");
    free(out);
    out = sp_test_run(&db, "SELECT 9223372036854775807 + 1 + NULL");
    assert_non_null(strstr(out, "OUT_OF_RANGE"));
    free(out);
}

/* The number in a one-value result [["n"]] or [[n]]. */
static double single_number(const char *out)
{
    cJSON *rows = cJSON_Parse(out);
    const cJSON *v = cJSON_GetArrayItem(cJSON_GetArrayItem(rows, 0), 0);
    double n = cJSON_IsString(v) ? strtod(v->valuestring, NULL) : cJSON_GetNumberValue(v);
    cJSON_Delete(rows);
    return n;
}

/* TABLESAMPLE draws at random: BERNOULLI keeps about its share of rows, RESERVOIR exactly
 * its count, a different draw each time; a parameter's size is checked as the scan starts.
 * (tests/spanner/sql_corpus/tablesample.sql compares the rest with Google's emulator.) */
static void test_tablesample(void **state)
{
    (void)state;
    static const char thousand[] = "(SELECT x FROM UNNEST(GENERATE_ARRAY(1, 1000)) AS x)";
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s TABLESAMPLE BERNOULLI (50 PERCENT)",
             thousand);
    for (int i = 0; i < 5; i++) { /* binomial(1000, 0.5): outside [350, 650] about 1e-21 */
        char *out = sp_test_run(&db, sql);
        double kept = single_number(out);
        if (kept < 350 || kept > 650)
            fail_msg("BERNOULLI (50 PERCENT) kept %s of 1000 rows", out);
        free(out);
    }
    snprintf(sql, sizeof(sql),
             "SELECT x, weight FROM %s TABLESAMPLE RESERVOIR (1 ROWS) WITH WEIGHT", thousand);
    double first = 0;
    bool differs = false;
    for (int i = 0; i < 20 && !differs; i++) { /* twenty equal draws: 1e-57 */
        char *out = sp_test_run(&db, sql);
        cJSON *rows = cJSON_Parse(out);
        assert_int_equal(cJSON_GetArraySize(rows), 1);
        const cJSON *row = cJSON_GetArrayItem(rows, 0);
        assert_float_equal(cJSON_GetArrayItem(row, 1)->valuedouble, 1000.0, 0);
        double x = strtod(cJSON_GetArrayItem(row, 0)->valuestring, NULL);
        differs = i > 0 && x != first;
        first = i == 0 ? x : first;
        cJSON_Delete(rows);
        free(out);
    }
    assert_true(differs);

    struct sp_param_decl f[] = {{"p", {SP_TYPE_FLOAT64, SP_TYPE_UNKNOWN, 0}}};
    struct sp_param_decl n[] = {{"n", {SP_TYPE_INT64, SP_TYPE_UNKNOWN, 0}}};
    static const struct {
        const char *sample, *params, *expected;
        bool percent;
    } cases[] = {
        {"BERNOULLI (@p PERCENT)", "{\"p\": 100}", "[[\"1000\"]]", true},
        {"BERNOULLI (@p PERCENT)", "{\"p\": 0}", "[[\"0\"]]", true},
        {"BERNOULLI (@p PERCENT)", "{\"p\": 100.5}",
         "OUT_OF_RANGE: PERCENT value must be in the range [0, 100]", true},
        {"BERNOULLI (@p PERCENT)", "{\"p\": \"NaN\"}",
         "OUT_OF_RANGE: PERCENT value must be in the range [0, 100]", true},
        {"BERNOULLI (@p PERCENT)", "{\"p\": null}",
         "OUT_OF_RANGE: SampleScan requires non-null size", true},
        {"RESERVOIR (@n ROWS)", "{\"n\": \"7\"}", "[[\"7\"]]", false},
        {"RESERVOIR (@n ROWS)", "{\"n\": \"-1\"}",
         "OUT_OF_RANGE: SampleScan requires non-negative size", false},
        {"RESERVOIR (@n ROWS)", "{\"n\": null}", "OUT_OF_RANGE: SampleScan requires non-null size",
         false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s TABLESAMPLE %s", thousand,
                 cases[i].sample);
        char *out = sp_test_run_typed(&db, sql, cases[i].params, cases[i].percent ? f : n, 1);
        if (!out || strcmp(out, cases[i].expected) != 0)
            fail_msg("%s with %s: %s", cases[i].sample, cases[i].params, out ? out : "(null)");
        free(out);
    }
    /* the size is checked before the first row: an empty source fails too */
    char *out = sp_test_run_typed(&db,
                                  "SELECT COUNT(*) FROM Singers TABLESAMPLE BERNOULLI (@p PERCENT) "
                                  "WHERE FALSE",
                                  "{\"p\": -1}", f, 1);
    assert_string_equal(out, "OUT_OF_RANGE: PERCENT value must be in the range [0, 100]");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lexer_positions),
        cmocka_unit_test_setup_teardown(test_select_basics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expressions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aggregates_and_joins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_information_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_structs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_struct_parameters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_constructs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_flat_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nan_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parameters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_result_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dml, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_commit_timestamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partitioned_dml, setup, teardown),
        cmocka_unit_test_setup_teardown(test_floats_and_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strings_and_arrays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tablesample, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
