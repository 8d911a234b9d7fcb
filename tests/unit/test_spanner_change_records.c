/*
 * test_spanner_change_records: change streams' records without the service: the rows a
 * statement writes, captured through SQLite's pre-update hook as the data layer does,
 * written for each change stream (its columns, value capture type and exclusions) and
 * read back as the rows of a READ_<stream> query; the query's parsing and Spanner's errors;
 * the partition and heartbeat rows; the retention's statements.
 */
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spanner/spanner_change_records.h"
#include "spanner_test_db.h"

static struct sp_test_db db;
static struct sp_change_log changes;

#define NOW_NS (1767323045LL * 1000000000LL) /* the test clock: 2026-01-02T03:04:05Z */

static void on_preupdate(void *arg, sqlite3 *sqlite, int op, const char *schema_name,
                         const char *table, sqlite3_int64 old_rowid, sqlite3_int64 new_rowid)
{
    (void)arg;
    (void)schema_name;
    (void)old_rowid;
    (void)new_rowid;
    if (!strchr(table, '$'))
        sp_change_capture(&changes, db.schema, sqlite, op, table);
}

static int setup(void **state)
{
    (void)state;
    static const char *const ddl[] = {
        "CREATE TABLE P (K INT64 NOT NULL, A STRING(MAX), B INT64, Raw BYTES(MAX)) PRIMARY KEY (K)",
        "CREATE TABLE C (K INT64 NOT NULL, X INT64 NOT NULL) PRIMARY KEY (K, X), "
        "INTERLEAVE IN PARENT P ON DELETE CASCADE",
        "CREATE CHANGE STREAM Everything FOR ALL",
        "CREATE CHANGE STREAM OnlyA FOR P(A) OPTIONS (value_capture_type = 'NEW_ROW', "
        "exclude_delete = true)",
        "CREATE CHANGE STREAM NewValues FOR P OPTIONS (value_capture_type = 'NEW_VALUES', "
        "retention_period = '36h', allow_txn_exclusion = true)",
        NULL};
    if (sp_test_open(&db, ddl))
        return -1;
    sqlite3_preupdate_hook(db.db, on_preupdate, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sp_change_log_clear(&changes);
    sp_test_close(&db);
    return 0;
}

static void run(const char *sql)
{
    char *out = sp_test_run(&db, sql);
    if (!out || strncmp(out, "modified", 8) != 0)
        fprintf(stderr, "for %s: %s\n", sql, out ? out : "(null)");
    assert_non_null(out);
    assert_memory_equal(out, "modified", 8);
    free(out);
}

/* The commit of what ran since the last one: its records written at commit_s (system: a
 * row deletion policy's; excluded: excludeTxnFromChangeStreams). */
static void commit_as(int64_t commit_s, bool system, bool excluded)
{
    struct em_status st = {0};
    assert_int_equal(sp_change_log_write(&changes, db.schema, db.db, commit_s * 1000000000LL, 7,
                                         system, excluded, excluded ? "quiet-tag" : NULL, &st),
                     EM_OK);
}

static void commit(int64_t commit_s, bool system)
{
    commit_as(commit_s, system, false);
}

/* The stream's records (commit_s, upto_s] as "MOD table keys new old" lines. */
static char *records(const char *stream, int64_t after_s, int64_t upto_s)
{
    cJSON *rows = cJSON_CreateArray();
    struct em_status st = {0};
    assert_int_equal(
        sp_change_fetch(db.db, stream, after_s * 1000000000LL, upto_s * 1000000000LL, rows, &st),
        EM_OK);
    struct sp_buf out = {0};
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        const cJSON *rec = cJSON_GetArrayItem(
            cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetArrayItem(row, 0), 0), 0), 0);
        const cJSON *mod;
        cJSON_ArrayForEach(mod, cJSON_GetArrayItem(rec, 6))
        {
            sp_buf_printf(
                &out, "%s%s %s %s %s %s", out.len ? "\n" : "",
                cJSON_GetArrayItem(rec, 7)->valuestring, cJSON_GetArrayItem(rec, 4)->valuestring,
                cJSON_GetArrayItem(mod, 0)->valuestring, cJSON_GetArrayItem(mod, 1)->valuestring,
                cJSON_GetArrayItem(mod, 2)->valuestring);
        }
    }
    cJSON_Delete(rows);
    return out.len ? sp_buf_take(&out) : strdup("");
}

/* The transaction_tag of Everything's records in (after_s, upto_s]. */
static void rows_tag_is(int64_t after_s, int64_t upto_s, const char *expected)
{
    cJSON *rows = cJSON_CreateArray();
    struct em_status st = {0};
    assert_int_equal(sp_change_fetch(db.db, "Everything", after_s * 1000000000LL,
                                     upto_s * 1000000000LL, rows, &st),
                     EM_OK);
    const cJSON *rec = cJSON_GetArrayItem(
        cJSON_GetArrayItem(
            cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetArrayItem(rows, 0), 0), 0), 0),
        0);
    assert_string_equal(cJSON_GetArrayItem(rec, 11)->valuestring, expected);
    cJSON_Delete(rows);
}

static void records_are(const char *stream, int64_t after_s, int64_t upto_s, const char *expected)
{
    char *got = records(stream, after_s, upto_s);
    if (strcmp(got, expected) != 0)
        fprintf(stderr, "records of %s\n  expected: %s\n  got:      %s\n", stream, expected, got);
    assert_string_equal(got, expected);
    free(got);
}

static void test_records_per_stream(void **state)
{
    (void)state;
    run("INSERT INTO P (K, A, B, Raw) VALUES (1, 'a', 10, b'\\x00\\x01'), (2, 'b', NULL, NULL)");
    run("INSERT INTO C (K, X) VALUES (1, 5)");
    commit(100, false);
    run("UPDATE P SET B = 11 WHERE K = 1");
    commit(101, false);
    run("UPDATE P SET A = 'a2' WHERE K = 1");
    run("DELETE FROM P WHERE K = 1");
    commit(102, false);

    records_are("Everything", 99, 102,
                "INSERT P {\"K\":\"1\"} {\"A\":\"a\",\"B\":\"10\",\"Raw\":\"AAE=\"} {}\n"
                "INSERT P {\"K\":\"2\"} {\"A\":\"b\",\"B\":null,\"Raw\":null} {}\n"
                "INSERT C {\"K\":\"1\",\"X\":\"5\"} {} {}\n"
                "UPDATE P {\"K\":\"1\"} {\"B\":\"11\"} {\"B\":\"10\"}\n"
                "UPDATE P {\"K\":\"1\"} {\"A\":\"a2\"} {\"A\":\"a\"}\n"
                "DELETE P {\"K\":\"1\"} {} {\"A\":\"a2\",\"B\":\"11\",\"Raw\":\"AAE=\"}\n"
                "DELETE C {\"K\":\"1\",\"X\":\"5\"} {} {}");
    /* only A, whole new rows, no deletes; an update of B alone is not A's */
    records_are("OnlyA", 99, 102,
                "INSERT P {\"K\":\"1\"} {\"A\":\"a\"} {}\n"
                "INSERT P {\"K\":\"2\"} {\"A\":\"b\"} {}\n"
                "UPDATE P {\"K\":\"1\"} {\"A\":\"a2\"} {}");
    records_are("NewValues", 100, 102,
                "UPDATE P {\"K\":\"1\"} {\"B\":\"11\"} {}\n"
                "UPDATE P {\"K\":\"1\"} {\"A\":\"a2\"} {}\n"
                "DELETE P {\"K\":\"1\"} {} {}");
    records_are("Everything", 101, 101, ""); /* (after, upto] */

    /* a transaction that excludes itself: left out where allow_txn_exclusion is true */
    run("UPDATE P SET B = 99 WHERE K = 2");
    commit_as(103, false, true);
    records_are("Everything", 102, 103, "UPDATE P {\"K\":\"2\"} {\"B\":\"99\"} {\"B\":null}");
    records_are("NewValues", 102, 103, "");
    rows_tag_is(102, 103, "quiet-tag"); /* its transaction tag */
    records_are("Everything", 100, 101, "UPDATE P {\"K\":\"1\"} {\"B\":\"11\"} {\"B\":\"10\"}");

    /* one record per table and kind, in order: sequence numbers, the last, the count */
    cJSON *rows = cJSON_CreateArray();
    struct em_status st = {0};
    assert_int_equal(
        sp_change_fetch(db.db, "everything", 99LL * 1000000000, 100LL * 1000000000, rows, &st),
        EM_OK);
    assert_int_equal(cJSON_GetArraySize(rows), 2);
    char *first = cJSON_PrintUnformatted(cJSON_GetArrayItem(rows, 0));
    assert_non_null(strstr(first, "[[[[\"1970-01-01T00:01:40Z\",\"00000000\",\"7\",false,\"P\","
                                  "[[\"K\",\"{\\\"code\\\":\\\"INT64\\\"}\",true,\"1\"],"
                                  "[\"A\",\"{\\\"code\\\":\\\"STRING\\\"}\",false,\"2\"]"));
    assert_non_null(
        strstr(first, "\"INSERT\",\"OLD_AND_NEW_VALUES\",\"2\",\"1\",\"\",false]],[],[]]]"));
    free(first);
    char *second = cJSON_PrintUnformatted(cJSON_GetArrayItem(rows, 1));
    assert_non_null(strstr(second, "\"00000001\",\"7\",true,\"C\""));
    free(second);
    cJSON_Delete(rows);
}

static void test_system_deletes_and_retention(void **state)
{
    (void)state;
    run("INSERT INTO P (K, A) VALUES (5, 'e')");
    commit(200, false);
    run("DELETE FROM P WHERE K = 5");
    commit(201, true);
    cJSON *rows = cJSON_CreateArray();
    struct em_status st = {0};
    assert_int_equal(
        sp_change_fetch(db.db, "Everything", 200LL * 1000000000, 201LL * 1000000000, rows, &st),
        EM_OK);
    char *text = cJSON_PrintUnformatted(rows);
    assert_non_null(strstr(text, "\"DELETE\",\"OLD_AND_NEW_VALUES\",\"1\",\"1\",\"\",true]"));
    free(text);
    cJSON_Delete(rows);

    /* the retention: a day by default, NewValues' 36 hours; streams gone lose theirs */
    struct sp_buf sql = {0};
    sp_change_prune_sql(db.schema, 200LL * 24 * 3600 * 1000000000, &sql);
    assert_non_null(strstr(sql.data, "DELETE FROM \"$changes\" WHERE stream NOT IN ('', "
                                     "lower('Everything'), lower('OnlyA'), lower('NewValues'));"));
    assert_non_null(
        strstr(sql.data, "stream = lower('Everything') AND commit_ns < 17193600000000000;"));
    assert_non_null(
        strstr(sql.data, "stream = lower('NewValues') AND commit_ns < 17150400000000000;"));
    char *error = NULL;
    assert_int_equal(sqlite3_exec(db.db, sql.data, NULL, NULL, &error), SQLITE_OK);
    sp_buf_free(&sql);
}

static char *parse(const char *sql, const char *params, struct sp_change_query *q)
{
    cJSON *json = params ? cJSON_Parse(params) : NULL;
    struct em_status st = {0};
    enum em_code code = sp_change_query_parse(db.schema, sql, json, NULL, NOW_NS, q, &st);
    cJSON_Delete(json);
    return code == EM_NOT_FOUND ? strdup("not a change stream query")
           : code               ? sp_test_error(&st)
                                : NULL;
}

static void parse_fails(const char *sql, const char *expected)
{
    struct sp_change_query q;
    char *error = parse(sql, NULL, &q);
    if (!error || strcmp(error, expected) != 0)
        fprintf(stderr, "for %s\n  expected: %s\n  got:      %s\n", sql, expected,
                error ? error : "success");
    assert_non_null(error);
    assert_string_equal(error, expected);
    free(error);
}

static void test_queries(void **state)
{
    (void)state;
    struct sp_change_query q;
    char *error = parse("SELECT ChangeRecord FROM READ_Everything(start_timestamp => "
                        "'2026-01-02T03:00:00Z', end_timestamp => NULL, partition_token => NULL, "
                        "heartbeat_milliseconds => 1000)",
                        NULL, &q);
    assert_null(error);
    assert_string_equal(q.stream, "Everything");
    assert_int_equal(q.start_ns, NOW_NS - 245LL * 1000000000);
    assert_int_equal(q.end_ns, 0);
    assert_true(q.initial);
    assert_int_equal(q.heartbeat_ms, 1000);

    /* the partition row's token is the one the next query takes (positional, parameters) */
    cJSON *row = sp_change_partitions_row(&q);
    const cJSON *child = cJSON_GetArrayItem(
        cJSON_GetArrayItem(
            cJSON_GetArrayItem(
                cJSON_GetArrayItem(
                    cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetArrayItem(row, 0), 0), 2), 0),
                2),
            0),
        0);
    assert_true(cJSON_IsString(child));
    char params[512];
    snprintf(params, sizeof(params),
             "{\"s\":\"2026-01-02T03:04:00Z\",\"e\":\"2026-01-02T03:05:00Z\",\"t\":\"%s\","
             "\"h\":\"500\"}",
             child->valuestring);
    cJSON_Delete(row);
    error = parse("select * from read_everything(@s, @e, @t, @h) AS records;", params, &q);
    assert_null(error);
    assert_false(q.initial);
    assert_int_equal(q.end_ns, NOW_NS + 55LL * 1000000000);
    assert_null(parse("SELECT ChangeRecord FROM READ_OnlyA(start_timestamp => "
                      "CURRENT_TIMESTAMP(), heartbeat_milliseconds => 100)",
                      NULL, &q));
    assert_int_equal(q.start_ns, NOW_NS);
    cJSON *heartbeat = sp_change_heartbeat_row(NOW_NS);
    char *text = cJSON_PrintUnformatted(heartbeat);
    assert_string_equal(text, "[[[[],[[\"2026-01-02T03:04:05Z\"]],[]]]]");
    free(text);
    cJSON_Delete(heartbeat);
    cJSON *type = sp_change_row_type();
    assert_non_null(type);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(type, "fields")), 1);
    cJSON_Delete(type);

    assert_true(sp_change_query_shape("SELECT ChangeRecord FROM READ_Nope(1, 2)"));
    assert_false(sp_change_query_shape("SELECT read_count FROM READ_LOG"));
    assert_true(sp_change_query_shape("SELECT ChangeRecord FROM READ_X(1")); /* its error */
    assert_null(parse("SELECT ChangeRecord FROM READ_OnlyA(CURRENT_TIMESTAMP(), "
                      "'9999-12-31T23:59:59.999999999Z', NULL, 1000)",
                      NULL, &q));
    assert_int_equal(q.end_ns, 0); /* Beam's "no end" */
    parse_fails("SELECT ChangeRecord FROM READ_OnlyA('9999-12-31T00:00:00Z', NULL, NULL, 1000)",
                "OUT_OF_RANGE: start_timestamp 9999-12-31T00:00:00Z is outside the range of "
                "timestamps this emulator serves (1678 to 2262).");
    parse_fails("SELECT 1", "not a change stream query");
    parse_fails("SELECT ChangeRecord FROM P", "not a change stream query");
    parse_fails("SELECT COUNT(*) FROM READ_OnlyA(CURRENT_TIMESTAMP())",
                "not a change stream query"); /* the translator refuses it */
    parse_fails("SELECT ChangeRecord FROM READ_Nope(CURRENT_TIMESTAMP(), NULL, NULL, 1000)",
                "INVALID_ARGUMENT: Table-valued function not found: READ_Nope [at 1:26]");
    parse_fails("SELECT ChangeRecord FROM READ_OnlyA(NULL, NULL, NULL, 1000)",
                "INVALID_ARGUMENT: start_timestamp must not be null.");
    parse_fails("SELECT ChangeRecord FROM READ_OnlyA('2026-01-02T03:04:05Z', "
                "'2026-01-02T03:00:00Z', NULL, 1000)",
                "INVALID_ARGUMENT: If end_timestamp is specified, start_timestamp must be <= "
                "end_timestamp. Received start_timestamp: 2026-01-02T03:04:05Z, end_timestamp: "
                "2026-01-02T03:00:00Z.");
    parse_fails("SELECT ChangeRecord FROM READ_OnlyA('2026-01-01T03:04:04Z', NULL, NULL, 1000)",
                "OUT_OF_RANGE: Specified start_timestamp is too far in the past. Please specify "
                "a start_timestamp within the retention period of change stream OnlyA: "
                "2026-01-01T03:04:05Z. Received start_timestamp: 2026-01-01T03:04:04Z.");
    parse_fails("SELECT ChangeRecord FROM READ_OnlyA(CURRENT_TIMESTAMP(), NULL, NULL, 99)",
                "OUT_OF_RANGE: heartbeat_milliseconds must be within min 100 and max 300000. "
                "Received heartbeat_milliseconds: 99.");
    parse_fails("SELECT ChangeRecord FROM READ_OnlyA(CURRENT_TIMESTAMP(), NULL, 'x', 1000)",
                "INVALID_ARGUMENT: Specified partition_token is invalid, as it does not belong "
                "to the Change Stream associated with the TVF. Received partition_token: x.");
    parse_fails("SELECT ChangeRecord FROM READ_OnlyA(CURRENT_TIMESTAMP(), NULL, NULL, 1 + 1)",
                "INVALID_ARGUMENT: Argument heartbeat_milliseconds of a change stream query must "
                "be a literal, NULL, a query parameter or CURRENT_TIMESTAMP() [at 1:70]");
    parse_fails("SELECT ChangeRecord FROM READ_OnlyA(since => CURRENT_TIMESTAMP())",
                "INVALID_ARGUMENT: Unknown argument since of the change stream function [at 1:37]");
    parse_fails("SELECT ChangeRecord FROM READ_OnlyA(@s, NULL, NULL, 1000)",
                "INVALID_ARGUMENT: No parameter found for binding: s");
    parse_fails("SELECT ChangeRecord FROM READ_OnlyA('yesterday', NULL, NULL, 1000)",
                "INVALID_ARGUMENT: Invalid start_timestamp: yesterday is not a timestamp.");
    parse_fails("SELECT ChangeRecord FROM READ_OnlyA(CURRENT_TIMESTAMP(), NULL, NULL, 1000) x y",
                "INVALID_ARGUMENT: Syntax error: Unexpected identifier y [at 1:78]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_records_per_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_system_deletes_and_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queries, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
