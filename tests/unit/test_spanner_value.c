/*
 * test_spanner_value: Spanner's JSON value encoding to and from the SQLite storage forms
 * (round trips through a real SQLite column), the sortable NUMERIC and TIMESTAMP keys
 * (their byte order is the value order), and the errors for values of the wrong type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spanner/spanner_value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_numeric_text(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"0", "0"},
        {"-0", "0"},
        {"1.50", "1.5"},
        {"+007.25", "7.25"},
        {"-123.456", "-123.456"},
        {".5", "0.5"},
        {"1e3", "1000"},
        {"1.5E-3", "0.0015"},
        {"0.0000000005", "0.000000001"},   /* half away from zero */
        {"-0.0000000005", "-0.000000001"}, /* also for negatives */
        {"0.0000000004", "0"},
        {"99999999999999999999999999999.999999999", "99999999999999999999999999999.999999999"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sp_numeric n;
        char text[SP_NUMERIC_TEXT_MAX];
        assert_true(sp_numeric_parse(cases[i].in, &n));
        sp_numeric_format(n, text);
        assert_string_equal(text, cases[i].out);
    }
    static const char *const bad[] = {
        "", "-", "1.2.3", "abc", "1e", "100000000000000000000000000000", "1e29", "12 "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sp_numeric n;
        assert_false(sp_numeric_parse(bad[i], &n));
    }
}

static void test_numeric_key_order(void **state)
{
    (void)state;
    static const char *const ascending[] = {
        "-99999999999999999999999999999.999999999",
        "-10",
        "-1.5",
        "-1",
        "-0.000000001",
        "0",
        "0.000000001",
        "1",
        "1.5",
        "10",
        "99999999999999999999999999999.999999999",
    };
    char prev[SP_NUMERIC_KEY_LEN + 1] = "";
    for (size_t i = 0; i < sizeof(ascending) / sizeof(ascending[0]); i++) {
        sp_numeric n, back;
        char key[SP_NUMERIC_KEY_LEN + 1];
        assert_true(sp_numeric_parse(ascending[i], &n));
        sp_numeric_encode(n, key);
        assert_int_equal(strlen(key), SP_NUMERIC_KEY_LEN);
        if (i)
            assert_true(strcmp(prev, key) < 0);
        assert_true(sp_numeric_decode(key, strlen(key), &back));
        assert_true(back == n);
        memcpy(prev, key, sizeof(key));
    }
}

static void test_timestamps_and_dates(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"2020-01-02T03:04:05Z", "2020-01-02T03:04:05Z"},
        {"2020-01-02T03:04:05.120Z", "2020-01-02T03:04:05.12Z"},
        {"2020-01-02 03:04:05.123456789+00:00", "2020-01-02T03:04:05.123456789Z"},
        {"2020-01-02T01:00:00-05:30", "2020-01-02T06:30:00Z"},
        {"0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"},
        {"9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999999Z"},
        {"1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.5Z"},
        {"2020-1-2T3:04:05Z", "2020-01-02T03:04:05Z"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sp_timestamp ts;
        bool missing_zone;
        char text[SP_TIMESTAMP_TEXT_MAX];
        assert_true(sp_timestamp_parse(cases[i].in, &ts, &missing_zone));
        sp_timestamp_format(&ts, text);
        assert_string_equal(text, cases[i].out);
    }
    struct sp_timestamp ts;
    bool missing_zone;
    assert_false(sp_timestamp_parse("2020-01-02T03:04:05", &ts, &missing_zone));
    assert_true(missing_zone);
    static const char *const bad[] = {
        "2020-02-30T00:00:00Z",  "2020-01-01T24:00:00Z",      "2020-01-01T00:00:00.1234567891Z",
        "10000-01-01T00:00:00Z", "2020-01-01T00:00:00+15:00", "x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(sp_timestamp_parse(bad[i], &ts, &missing_zone));
    /* the storage key orders like time, across the epoch */
    char a[SP_TIMESTAMP_KEY_LEN + 1], b[SP_TIMESTAMP_KEY_LEN + 1];
    assert_true(sp_timestamp_parse("1969-12-31T23:59:59.9Z", &ts, &missing_zone));
    sp_timestamp_encode(&ts, a);
    assert_true(sp_timestamp_parse("1970-01-01T00:00:00Z", &ts, &missing_zone));
    sp_timestamp_encode(&ts, b);
    assert_string_equal(a, "1969-12-31T23:59:59.900000000Z");
    assert_true(strcmp(a, b) < 0);

    int64_t days;
    char date[SP_DATE_TEXT_LEN + 1];
    assert_true(sp_date_parse("2024-02-29", &days));
    sp_date_format(days, date);
    assert_string_equal(date, "2024-02-29");
    assert_false(sp_date_parse("2023-02-29", &days));
    assert_false(sp_date_parse("0000-01-01", &days));
}

/* Stores json as type in a SQLite column and reads it back as JSON text. */
static char *round_trip(sqlite3 *db, const struct sp_type *type, const char *json,
                        struct em_status *st)
{
    cJSON *value = cJSON_Parse(json);
    struct sp_stored stored;
    char *out = NULL;
    if (sp_value_from_json(type, value, "p", &stored, st) == EM_OK) {
        sqlite3_stmt *stmt;
        sqlite3_exec(db, "DELETE FROM t", NULL, NULL, NULL);
        sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?1)", -1, &stmt, NULL);
        sp_stored_bind(stmt, 1, &stored);
        sqlite3_step(stmt);
        sqlite3_finalize(stmt);
        sqlite3_prepare_v2(db, "SELECT v FROM t", -1, &stmt, NULL);
        sqlite3_step(stmt);
        cJSON *back = sp_value_to_json(type, sqlite3_column_value(stmt, 0));
        out = cJSON_PrintUnformatted(back);
        cJSON_Delete(back);
        sqlite3_finalize(stmt);
        sp_stored_clear(&stored);
    }
    cJSON_Delete(value);
    return out;
}

static void test_json_round_trips(void **state)
{
    (void)state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (v)", NULL, NULL, NULL), SQLITE_OK);
    static const struct {
        struct sp_type type;
        const char *in, *out;
    } cases[] = {
        {{SP_TYPE_BOOL}, "true", "true"},
        {{SP_TYPE_INT64}, "\"-9223372036854775808\"", "\"-9223372036854775808\""},
        {{SP_TYPE_FLOAT64}, "1.5", "1.5"},
        {{SP_TYPE_FLOAT64}, "\"Infinity\"", "\"Infinity\""},
        {{SP_TYPE_FLOAT64}, "\"-Infinity\"", "\"-Infinity\""},
        {{SP_TYPE_FLOAT32}, "0.1", "0.10000000149011612"},
        {{SP_TYPE_FLOAT64}, "\"NaN\"", "\"NaN\""},
        {{SP_TYPE_FLOAT32}, "\"NaN\"", "\"NaN\""},
        {{SP_TYPE_ARRAY, SP_TYPE_FLOAT64}, "[\"NaN\", 1, null]", "[\"NaN\",1,null]"},
        {{SP_TYPE_NUMERIC}, "\"-1.250\"", "\"-1.25\""},
        {{SP_TYPE_STRING, 0, SP_LEN_MAX}, "\"h\\u00e9\"", "\"h\xc3\xa9\""},
        {{SP_TYPE_BYTES, 0, SP_LEN_MAX}, "\"AP8=\"", "\"AP8=\""},
        {{SP_TYPE_BYTES, 0, SP_LEN_MAX}, "\"_w\"", "\"/w==\""},
        {{SP_TYPE_DATE}, "\"2020-01-02\"", "\"2020-01-02\""},
        {{SP_TYPE_TIMESTAMP}, "\"2020-01-02T03:04:05.500Z\"", "\"2020-01-02T03:04:05.5Z\""},
        {{SP_TYPE_TIMESTAMP},
         "\"2020-01-02T03:04:05.1234567899Z\"",
         "\"2020-01-02T03:04:05.123456789Z\""},
        {{SP_TYPE_JSON}, "\"{\\\"a\\\": [1, 2]}\"", "\"{\\\"a\\\":[1,2]}\""},
        {{SP_TYPE_ARRAY, SP_TYPE_INT64}, "[\"1\", null, \"3\"]", "[\"1\",null,\"3\"]"},
        {{SP_TYPE_ARRAY, SP_TYPE_NUMERIC}, "[\"1.50\"]", "[\"1.5\"]"},
        {{SP_TYPE_INT64}, "null", "null"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct em_status st = {0};
        char *out = round_trip(db, &cases[i].type, cases[i].in, &st);
        if (!out)
            fprintf(stderr, "case %zu: %s\n", i, st.message);
        assert_non_null(out);
        assert_string_equal(out, cases[i].out);
        free(out);
    }
    static const struct {
        struct sp_type type;
        const char *in, *error;
    } bad[] = {
        {{SP_TYPE_INT64}, "\"12x\"", "Invalid value for p: Expected INT64."},
        {{SP_TYPE_INT64}, "42", "Invalid value for p: Expected INT64."}, /* a string, always */
        {{SP_TYPE_INT64}, "\"9223372036854775808\"", "Invalid value for p: Expected INT64."},
        {{SP_TYPE_BOOL}, "\"true\"", "Invalid value for p: Expected BOOL."},
        {{SP_TYPE_FLOAT64}, "\"nan\"", "Invalid value for p: Expected FLOAT64."},
        {{SP_TYPE_NUMERIC}, "1.5", "Invalid value for p: Expected NUMERIC."},
        {{SP_TYPE_STRING, 0, 3},
         "\"abcd\"",
         "New value exceeds the maximum size limit for this "
         "column: p, size: 4, limit: 3."},
        {{SP_TYPE_BYTES, 0, 1},
         "\"AP8=\"",
         "New value exceeds the maximum size limit for this "
         "column: p, size: 2, limit: 1."},
        {{SP_TYPE_BYTES, 0, SP_LEN_MAX}, "\"%%%\"", "Invalid value for p: Expected BYTES."},
        {{SP_TYPE_DATE}, "\"2020-13-01\"", "Invalid value for p: Expected DATE."},
        {{SP_TYPE_TIMESTAMP},
         "\"2020-01-01T00:00:00\"",
         "Invalid value for p: Expected TIMESTAMP."},
        {{SP_TYPE_TIMESTAMP},
         "\"2020-01-01T00:00:00+01:00\"",
         "Invalid value for p: Expected TIMESTAMP."},
        {{SP_TYPE_TIMESTAMP},
         "\"2020-01-01T00:00:00z\"",
         "Invalid value for p: Expected TIMESTAMP."},
        {{SP_TYPE_TIMESTAMP},
         "\"2020-01-01 00:00:00Z\"",
         "Invalid value for p: Expected TIMESTAMP."},
        {{SP_TYPE_TIMESTAMP},
         "\"2020-01-01T00:00:00.1234567891+01:00\"",
         "Invalid value for p: Expected TIMESTAMP."},
        {{SP_TYPE_JSON}, "\"{\"", "Invalid value for p: Expected JSON."},
        {{SP_TYPE_ARRAY, SP_TYPE_INT64}, "[\"1\", \"x\"]", "Invalid value for p: Expected INT64."},
        {{SP_TYPE_ARRAY, SP_TYPE_INT64}, "\"1\"", "Invalid value for p: Expected ARRAY<INT64>."},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct em_status st = {0};
        char *out = round_trip(db, &bad[i].type, bad[i].in, &st);
        assert_null(out);
        assert_int_equal(st.code, EM_INVALID_ARGUMENT);
        assert_string_equal(st.message, bad[i].error);
    }
    sqlite3_close(db);
}

static void test_type_json(void **state)
{
    (void)state;
    cJSON *json = cJSON_Parse("{\"code\":\"ARRAY\",\"arrayElementType\":{\"code\":\"STRING\"}}");
    struct sp_type type;
    struct em_status st = {0};
    struct sp_arena arena = {0};
    assert_int_equal(sp_type_from_json(json, "p", &arena, &type, &st), EM_OK);
    assert_int_equal(type.code, SP_TYPE_ARRAY);
    assert_int_equal(type.element, SP_TYPE_STRING);
    char text[64];
    sp_type_format(&type, true, text, sizeof(text));
    assert_string_equal(text, "ARRAY<STRING(MAX)>");
    cJSON *back = sp_type_to_json(&type);
    char *printed = cJSON_PrintUnformatted(back);
    assert_string_equal(printed, "{\"code\":\"ARRAY\",\"arrayElementType\":{\"code\":\"STRING\"}}");
    free(printed);
    cJSON_Delete(back);
    cJSON_Delete(json);
    json = cJSON_Parse("{\"code\":\"STRUCTX\"}");
    assert_int_equal(sp_type_from_json(json, "paramTypes.p", &arena, &type, &st),
                     EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, "Invalid type for paramTypes.p: expected a Type with a code");
    cJSON_Delete(json);
    sp_arena_free(&arena);
}

/* STRUCT types: REST JSON both ways (nested, unnamed fields, proto numbers), the format
 * of error messages, and the refusals of what Spanner has no type for. */
static void test_struct_type_json(void **state)
{
    (void)state;
    static const char *const text =
        "{\"code\":\"ARRAY\",\"arrayElementType\":{\"code\":\"STRUCT\",\"structType\":{"
        "\"fields\":[{\"name\":\"a\",\"type\":{\"code\":\"INT64\"}},{\"type\":{\"code\":"
        "\"ARRAY\",\"arrayElementType\":{\"code\":\"STRING\"}}},{\"name\":\"s\",\"type\":{"
        "\"code\":\"STRUCT\",\"structType\":{\"fields\":[]}}}]}}}";
    cJSON *json = cJSON_Parse(text);
    struct sp_type type;
    struct em_status st = {0};
    struct sp_arena arena = {0};
    assert_int_equal(sp_type_from_json(json, "p", &arena, &type, &st), EM_OK);
    char name[128];
    sp_type_format(&type, false, name, sizeof(name));
    assert_string_equal(name, "ARRAY<STRUCT<a INT64, ARRAY<STRING>, s STRUCT<>>>");
    cJSON *back = sp_type_to_json(&type);
    char *printed = cJSON_PrintUnformatted(back);
    assert_string_equal(printed, text);
    free(printed);
    cJSON_Delete(back);
    cJSON_Delete(json);
    /* equal whatever the names; a copy outlives the arena it came from */
    struct sp_arena other = {0};
    struct sp_type copy;
    assert_true(sp_type_copy(&other, &type, &copy));
    sp_arena_free(&arena);
    assert_true(sp_type_equal(&copy, &copy));
    assert_string_equal(copy.struct_type->fields[2].name, "s");
    json = cJSON_Parse("{\"code\":9,\"structType\":{\"fields\":[{\"name\":\"b\","
                       "\"type\":{\"code\":2}}]}}");
    assert_int_equal(sp_type_from_json(json, "p", &other, &type, &st), EM_OK);
    assert_int_equal(type.code, SP_TYPE_STRUCT);
    struct sp_type renamed = copy;
    assert_false(sp_type_equal(&type, &renamed));
    cJSON_Delete(json);
    static const struct {
        const char *json, *error;
    } bad[] = {
        {"{\"code\":\"ARRAY\",\"arrayElementType\":{\"code\":\"ARRAY\"}}",
         "Invalid type for p: an ARRAY cannot hold an ARRAY"},
        {"{\"code\":\"STRUCT\",\"structType\":{\"fields\":{}}}",
         "Invalid type for p: structType.fields must be a list"},
        {"{\"code\":\"STRUCT\",\"structType\":{\"fields\":[{\"name\":1,\"type\":{\"code\":"
         "\"BOOL\"}}]}}",
         "Invalid type for p: a STRUCT field needs a type and an optional string name"},
        {"{\"code\":\"STRUCT\",\"structType\":{\"fields\":[{\"name\":\"x\"}]}}",
         "Invalid type for p: expected a Type with a code"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json = cJSON_Parse(bad[i].json);
        assert_int_equal(sp_type_from_json(json, "p", &other, &type, &st), EM_INVALID_ARGUMENT);
        assert_string_equal(st.message, bad[i].error);
        cJSON_Delete(json);
    }
    /* nesting is bounded: 40 STRUCT levels are refused, not recursed into */
    char deep[4096] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "{\"code\":\"STRUCT\",\"structType\":{\"fields\":[{\"type\":");
    strcat(deep, "{\"code\":\"INT64\"}");
    for (int i = 0; i < 40; i++)
        strcat(deep, "}]}}");
    json = cJSON_Parse(deep);
    assert_non_null(json);
    assert_int_equal(sp_type_from_json(json, "p", &other, &type, &st), EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, "Invalid type for p: types nest more than 16 levels deep");
    cJSON_Delete(json);
    sp_arena_free(&other);
}

/* STRUCT values: a list of the fields' encodings, checked and normalized (stored as that
 * JSON text), and read back as is. */
static void test_struct_values(void **state)
{
    (void)state;
    struct sp_arena arena = {0};
    struct em_status st = {0};
    struct sp_type type;
    cJSON *json =
        cJSON_Parse("{\"code\":\"ARRAY\",\"arrayElementType\":{\"code\":\"STRUCT\",\"structType\":{"
                    "\"fields\":[{\"name\":\"n\",\"type\":{\"code\":\"NUMERIC\"}},{\"name\":\"f\","
                    "\"type\":{\"code\":\"FLOAT64\"}}]}}}");
    assert_int_equal(sp_type_from_json(json, "p", &arena, &type, &st), EM_OK);
    cJSON_Delete(json);
    struct sp_stored stored;
    json = cJSON_Parse("[[\"1.50\", 2], null, [null, \"Infinity\"]]");
    assert_int_equal(sp_value_from_json(&type, json, "p", &stored, &st), EM_OK);
    assert_int_equal(stored.kind, SQLITE_TEXT);
    assert_string_equal(stored.data, "[[\"1.5\",2],null,[null,\"Infinity\"]]");
    sp_stored_clear(&stored);
    cJSON_Delete(json);
    static const struct {
        const char *json, *error;
    } bad[] = {
        {"[[\"1\"]]", "Invalid value for p: Expected STRUCT<n NUMERIC, f FLOAT64>."},
        {"[{\"n\":\"1\",\"f\":1}]", "Invalid value for p: Expected STRUCT<n NUMERIC, f FLOAT64>."},
        {"[[\"x\", 1]]", "Invalid value for p: Expected NUMERIC."},
        {"[\"1\"]", "Invalid value for p: Expected STRUCT<n NUMERIC, f FLOAT64>."},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json = cJSON_Parse(bad[i].json);
        assert_int_equal(sp_value_from_json(&type, json, "p", &stored, &st), EM_INVALID_ARGUMENT);
        assert_string_equal(st.message, bad[i].error);
        cJSON_Delete(json);
    }
    sp_arena_free(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric_text),
        cmocka_unit_test(test_struct_type_json),
        cmocka_unit_test(test_struct_values),
        cmocka_unit_test(test_numeric_key_order),
        cmocka_unit_test(test_timestamps_and_dates),
        cmocka_unit_test(test_json_round_trips),
        cmocka_unit_test(test_type_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
