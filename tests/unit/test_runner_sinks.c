/*
 * test_runner_sinks: the mapping of the WriteBigtable and WriteSpanner sinks, without a
 * service: validation of the steps at launch (errors naming the step and field), an
 * element into a mutateRows entry (row key template, qualifiers, cell values, timestamps
 * from the event time or a field, rounded to the millisecond), into an insertOrUpdate
 * mutation typed as the table's columns (every Spanner type, arrays, NULLs, key and NOT
 * NULL columns), and the reasons an element goes to the dead letter, each naming the step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_json.h"
#include "runner/runner_elements.h"
#include "runner/runner_pipeline.h"
#include "runner/runner_sinks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A pipeline ReadPubSub -> spec (the sink, step 1); NULL with the error when refused. */
static struct rn_pipeline *sink_pipeline(const char *spec, struct em_status *st)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadPubSub\",\"topic\":\"projects/p/"
             "topics/t\"},%s]}",
             spec);
    struct rn_pipeline *p = NULL;
    rn_pipeline_parse(text, NULL, &p, st);
    return p;
}

static struct rn_pipeline *must_parse(const char *spec)
{
    struct em_status st = {0};
    struct rn_pipeline *p = sink_pipeline(spec, &st);
    if (!p)
        fail_msg("pipeline refused: %s", st.message);
    return p;
}

static void expect_refused(const char *spec, const char *message_part)
{
    struct em_status st = {0};
    struct rn_pipeline *p = sink_pipeline(spec, &st);
    assert_null(p);
    assert_int_equal(st.code, EM_INVALID_ARGUMENT);
    if (!strstr(st.message, message_part))
        fail_msg("'%s' does not contain '%s'", st.message, message_part);
}

static struct rn_elem elem(const char *json, int64_t ts_ns)
{
    struct rn_elem e = rn_elem_make(cJSON_Parse(json), ts_ns);
    assert_non_null(e.value);
    return e;
}

static char *decoded(const cJSON *obj, const char *key)
{
    const char *b64 = em_json_string(obj, key);
    unsigned char *bytes = NULL;
    size_t len = 0;
    assert_non_null(b64);
    assert_true(em_b64_decode(b64, strlen(b64), &bytes, &len));
    char *text = strndup((const char *)bytes, len);
    free(bytes);
    return text;
}

/* An entry's cells as "qualifier=value@micros;..." and its row key. */
static void describe_entry(const cJSON *entry, char *key, char *cells, size_t len)
{
    char *k = decoded(entry, "rowKey");
    snprintf(key, len, "%s", k);
    free(k);
    cells[0] = '\0';
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(entry, "mutations"))
    {
        const cJSON *set = cJSON_GetObjectItem(m, "setCell");
        assert_string_equal(em_json_string(set, "familyName"), "ev");
        char *q = decoded(set, "columnQualifier"), *v = decoded(set, "value");
        snprintf(cells + strlen(cells), len - strlen(cells), "%s%s=%s@%s", cells[0] ? ";" : "", q,
                 v, em_json_string(set, "timestampMicros"));
        free(q);
        free(v);
    }
}

#define BT_STEP(extra)                                                                             \
    "{\"name\":\"rows\",\"transform\":\"WriteBigtable\",\"input\":\"r\",\"table\":\"projects/p/"   \
    "instances/i/tables/t\",\"columnFamily\":\"ev\"" extra "}"

static void test_bigtable_validation(void **state)
{
    (void)state;
    rn_pipeline_free(must_parse(BT_STEP(", \"rowKey\": \"{user}#{id}\"")));
    expect_refused(BT_STEP(", \"rowKey\": \"{user\""), "step 'rows': field 'rowKey'");
    expect_refused(BT_STEP(", \"rowKey\": \"{}\""), "step 'rows': field 'rowKey'");
    expect_refused(BT_STEP(""), "step 'rows': field 'rowKey'");
    expect_refused(
        "{\"name\":\"rows\",\"transform\":\"WriteBigtable\",\"input\":\"r\",\"table\":"
        "\"projects/p/instances/i/databases/t\",\"columnFamily\":\"ev\",\"rowKey\":\"k\"}",
        "step 'rows': field 'table' must be projects/");
    expect_refused("{\"name\":\"rows\",\"transform\":\"WriteBigtable\",\"input\":\"r\",\"table\":"
                   "\"projects/p/instances/i/tables/t\",\"columnFamily\":\"e v\",\"rowKey\":\"k\"}",
                   "step 'rows': field 'columnFamily'");
    expect_refused(BT_STEP(", \"rowKey\": \"k\", \"columns\": {\"q\": 3}"),
                   "step 'rows': field 'columns'");
    expect_refused(BT_STEP(", \"rowKey\": \"k\", \"columns\": {}"), "step 'rows': field 'columns'");
    expect_refused(BT_STEP(", \"rowKey\": \"k\", \"timestampField\": \"\""),
                   "step 'rows': field 'timestampField'");
}

static void test_bigtable_entry(void **state)
{
    (void)state;
    struct rn_pipeline *p = must_parse(BT_STEP(
        ", \"rowKey\": \"{user}#{id}\", \"columns\": {\"amt\": \"amount\", \"n\": \"note\"}"));
    const struct rn_step *step = &p->steps[1];
    assert_true(rn_step_is_sink(step));
    char reason[RN_SINK_REASON_MAX], key[256], cells[512];
    cJSON *entry = NULL;
    /* event time 1.234567891 s -> 1234000 us; a missing or null field writes no cell */
    struct rn_elem e =
        elem("{\"user\":\"ann\",\"id\":7,\"amount\":3.5,\"note\":null,\"x\":1}", 1234567891);
    assert_true(rn_bigtable_entry(step, &e, &entry, reason));
    describe_entry(entry, key, cells, sizeof(key));
    assert_string_equal(key, "ann#7");
    assert_string_equal(cells, "amt=3.5@1234000");
    cJSON_Delete(entry);
    rn_elem_free(&e);
    /* objects and strings as cell values */
    e = elem("{\"user\":\"bob\",\"id\":\"x\",\"amount\":{\"a\":[1,2]},\"note\":\"hi\"}", 0);
    assert_true(rn_bigtable_entry(step, &e, &entry, reason));
    describe_entry(entry, key, cells, sizeof(key));
    assert_string_equal(key, "bob#x");
    assert_string_equal(cells, "amt={\"a\":[1,2]}@0;n=hi@0");
    cJSON_Delete(entry);
    rn_elem_free(&e);
    rn_pipeline_free(p);
}

static void test_bigtable_all_fields_and_timestamp_field(void **state)
{
    (void)state;
    struct rn_pipeline *p =
        must_parse(BT_STEP(", \"rowKey\": \"row-{key}\", \"timestampField\": \"ts\""));
    char reason[RN_SINK_REASON_MAX], key[256], cells[512];
    cJSON *entry = NULL;
    struct rn_elem e = elem("{\"a\":\"1\",\"b\":true,\"ts\":1700000000123456}", 5000000);
    e.key = cJSON_CreateString("k1");
    assert_true(rn_bigtable_entry(&p->steps[1], &e, &entry, reason));
    describe_entry(entry, key, cells, sizeof(key));
    assert_string_equal(key, "row-k1");
    assert_string_equal(cells, "a=1@1700000000123000;b=true@1700000000123000;"
                               "ts=1700000000123456@1700000000123000");
    cJSON_Delete(entry);
    rn_elem_free(&e);
    e = elem("{\"a\":\"1\",\"ts\":\"2023-11-14T22:13:20.5Z\"}", 0);
    e.key = cJSON_CreateString("k2");
    assert_true(rn_bigtable_entry(&p->steps[1], &e, &entry, reason));
    describe_entry(entry, key, cells, sizeof(key));
    assert_string_equal(cells, "a=1@1700000000500000;ts=2023-11-14T22:13:20.5Z@1700000000500000");
    cJSON_Delete(entry);
    rn_elem_free(&e);
    e = elem("{\"a\":\"1\",\"ts\":\"yesterday\"}", 0);
    e.key = cJSON_CreateString("k3");
    assert_false(rn_bigtable_entry(&p->steps[1], &e, &entry, reason));
    assert_null(entry);
    assert_string_equal(reason, "Step 'rows': field 'ts' must be a timestamp (microseconds since "
                                "the epoch, or RFC 3339 text).");
    rn_elem_free(&e);
    rn_pipeline_free(p);
}

static void test_bigtable_dead_letters(void **state)
{
    (void)state;
    struct rn_pipeline *p =
        must_parse(BT_STEP(", \"rowKey\": \"{id}\", \"columns\": {\"amt\": \"amount\"}"));
    const struct rn_step *step = &p->steps[1];
    char reason[RN_SINK_REASON_MAX];
    cJSON *entry = NULL;
    struct {
        const char *json, *reason;
    } cases[] = {
        {"\"text\"", "Step 'rows': the element is not a JSON object (ParseJson it first)."},
        {"{\"amount\":1}", "Step 'rows': the row key needs {id}, which the element does not have."},
        {"{\"id\":null,\"amount\":1}",
         "Step 'rows': the row key needs {id}, which the element does not have."},
        {"{\"id\":\"\",\"amount\":1}", "Step 'rows': the row key must be 1 to 4096 bytes, not 0."},
        {"{\"id\":1}", "Step 'rows': the element has no field to write."},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rn_elem e = elem(cases[i].json, 0);
        assert_false(rn_bigtable_entry(step, &e, &entry, reason));
        assert_null(entry);
        assert_string_equal(reason, cases[i].reason);
        rn_elem_free(&e);
    }
    rn_pipeline_free(p);
}

#define SP_STEP(extra)                                                                             \
    "{\"name\":\"store\",\"transform\":\"WriteSpanner\",\"input\":\"r\",\"database\":\"projects/"  \
    "p/"                                                                                           \
    "instances/i/databases/d\",\"table\":\"Events\"" extra "}"

/* Id INT64 key, Name STRING(64) NOT NULL, Amount FLOAT64, Tags ARRAY<STRING(MAX)>. */
static cJSON *events_columns(void)
{
    return cJSON_Parse(
        "{\"Id\":{\"type\":\"INT64\",\"nullable\":false,\"key\":true},"
        "\"Name\":{\"type\":\"STRING(64)\",\"nullable\":false,\"key\":false},"
        "\"Amount\":{\"type\":\"FLOAT64\",\"nullable\":true,\"key\":false},"
        "\"Tags\":{\"type\":\"ARRAY<STRING(MAX)>\",\"nullable\":true,\"key\":false}}");
}

static void test_spanner_validation(void **state)
{
    (void)state;
    rn_pipeline_free(must_parse(SP_STEP("")));
    expect_refused("{\"name\":\"store\",\"transform\":\"WriteSpanner\",\"input\":\"r\","
                   "\"database\":\"projects/p/instances/i\",\"table\":\"Events\"}",
                   "step 'store': field 'database'");
    expect_refused("{\"name\":\"store\",\"transform\":\"WriteSpanner\",\"input\":\"r\","
                   "\"database\":\"projects/p/instances/i/databases/d\",\"table\":\"Ev'ents\"}",
                   "step 'store': field 'table'");
    expect_refused(SP_STEP(", \"columns\": [\"Id\"]"), "step 'store': field 'columns'");
}

static void test_spanner_mutation(void **state)
{
    (void)state;
    struct rn_pipeline *p = must_parse(SP_STEP(""));
    cJSON *columns = events_columns(), *m = NULL;
    char reason[RN_SINK_REASON_MAX];
    /* field names match columns case-insensitively, written as the table spells them */
    struct rn_elem e = elem("{\"id\":\"42\",\"name\":7,\"amount\":\"2.5\",\"tags\":[\"a\",1]}", 0);
    assert_true(rn_spanner_mutation(&p->steps[1], columns, &e, &m, reason));
    char *text = cJSON_PrintUnformatted(m);
    assert_string_equal(text,
                        "{\"insertOrUpdate\":{\"table\":\"Events\",\"columns\":[\"Id\",\"Name\","
                        "\"Amount\",\"Tags\"],\"values\":[[\"42\",\"7\",2.5,[\"a\",\"1\"]]]}}");
    free(text);
    cJSON_Delete(m);
    rn_elem_free(&e);
    /* a missing non-key field leaves its column out; null is NULL */
    e = elem("{\"Id\":1,\"Name\":\"x\",\"Amount\":null}", 0);
    assert_true(rn_spanner_mutation(&p->steps[1], columns, &e, &m, reason));
    text = cJSON_PrintUnformatted(cJSON_GetObjectItem(m, "insertOrUpdate"));
    assert_string_equal(text, "{\"table\":\"Events\",\"columns\":[\"Id\",\"Name\",\"Amount\"],"
                              "\"values\":[[\"1\",\"x\",null]]}");
    free(text);
    cJSON_Delete(m);
    rn_elem_free(&e);
    cJSON_Delete(columns);
    rn_pipeline_free(p);
}

static void test_spanner_dead_letters(void **state)
{
    (void)state;
    struct rn_pipeline *p =
        must_parse(SP_STEP(", \"columns\": {\"Id\": \"id\", \"Amount\": \"amt\"}"));
    struct rn_pipeline *all = must_parse(SP_STEP(""));
    cJSON *columns = events_columns(), *m = NULL;
    char reason[RN_SINK_REASON_MAX];
    struct {
        const struct rn_pipeline *p;
        const char *json, *reason;
    } cases[] = {
        {p, "[1]", "Step 'store': the element is not a JSON object (ParseJson it first)."},
        {p, "{\"amt\":1}", "Step 'store': field 'id' (key column Events.Id) is missing."},
        {p, "{\"id\":1.5}",
         "Step 'store': field 'id' (column Events.Id): 1.5 is not a valid INT64."},
        {p, "{\"id\":1,\"amt\":\"many\"}",
         "Step 'store': field 'amt' (column Events.Amount): \"many\" is not a valid FLOAT64."},
        {all, "{\"Id\":1,\"Name\":null}",
         "Step 'store': field 'Name' (NOT NULL column Events.Name) is null."},
        {all, "{\"Id\":1,\"Other\":2}", "Step 'store': table Events has no column 'Other'."},
        {all, "{\"Name\":\"x\"}",
         "Step 'store': the element has no value for key column Events.Id."},
        {all, "{\"Id\":1,\"Tags\":\"a\"}",
         "Step 'store': field 'Tags' (column Events.Tags): \"a\" is not a valid "
         "ARRAY<STRING(MAX)>."},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rn_elem e = elem(cases[i].json, 0);
        assert_false(rn_spanner_mutation(&cases[i].p->steps[1], columns, &e, &m, reason));
        assert_null(m);
        assert_string_equal(reason, cases[i].reason);
        rn_elem_free(&e);
    }
    cJSON_Delete(columns);
    rn_pipeline_free(p);
    rn_pipeline_free(all);
}

/* type, input JSON, the expected output JSON ("" when refused) */
static void test_spanner_values(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        {"INT64", "12", "\"12\""},
        {"INT64", "\"-9007199254740993\"", "\"-9007199254740993\""},
        {"INT64", "\"12x\"", ""},
        {"INT64", "true", ""},
        {"FLOAT64", "\"1e3\"", "1000"},
        {"FLOAT32", "\"NaN\"", "\"NaN\""},
        {"FLOAT64", "\"\"", ""},
        {"NUMERIC", "1.25", "\"1.25\""},
        {"NUMERIC", "\"123.456\"", "\"123.456\""},
        {"NUMERIC", "\"abc\"", ""},
        {"BOOL", "\"true\"", "true"},
        {"BOOL", "false", "false"},
        {"BOOL", "1", ""},
        {"STRING(MAX)", "3", "\"3\""},
        {"STRING(10)", "{\"a\":1}", ""},
        {"TIMESTAMP", "\"2024-01-02T03:04:05.123Z\"", "\"2024-01-02T03:04:05.123Z\""},
        {"TIMESTAMP", "\"2024-01-02T03:04:05+01:00\"", "\"2024-01-02T02:04:05Z\""},
        {"TIMESTAMP", "\"tomorrow\"", ""},
        {"DATE", "\"2024-02-29\"", "\"2024-02-29\""},
        {"DATE", "\"2024-2-29\"", ""},
        {"BYTES(MAX)", "\"hi\"", "\"aGk=\""},
        {"JSON", "{\"a\":[1,2]}", "\"{\\\"a\\\":[1,2]}\""},
        {"ARRAY<INT64>", "[1,\"2\",null]", "[\"1\",\"2\",null]"},
        {"ARRAY<INT64>", "[1,\"x\"]", ""},
        {"INT64", "null", "null"},
        {"GEOGRAPHY", "\"x\"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *in = cJSON_Parse(cases[i][1]);
        char why[256] = "";
        cJSON *out = rn_spanner_value(cases[i][0], in, why, sizeof(why));
        char *text = out ? cJSON_PrintUnformatted(out) : strdup("");
        if (strcmp(text, cases[i][2]) != 0)
            fail_msg("%s from %s: got '%s', want '%s'", cases[i][0], cases[i][1], text,
                     cases[i][2]);
        if (!out && !strstr(why, cases[i][0]))
            fail_msg("the reason '%s' does not name %s", why, cases[i][0]);
        free(text);
        cJSON_Delete(out);
        cJSON_Delete(in);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bigtable_validation),
        cmocka_unit_test(test_bigtable_entry),
        cmocka_unit_test(test_bigtable_all_fields_and_timestamp_field),
        cmocka_unit_test(test_bigtable_dead_letters),
        cmocka_unit_test(test_spanner_validation),
        cmocka_unit_test(test_spanner_mutation),
        cmocka_unit_test(test_spanner_dead_letters),
        cmocka_unit_test(test_spanner_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
