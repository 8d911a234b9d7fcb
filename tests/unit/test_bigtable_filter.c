/*
 * test_bigtable_filter: every RowFilter kind applied to one fixed row, compositions (chain,
 * interleave with duplicates, condition on its own input, sink), the label rules, Google's
 * limits at their boundaries and the errors a client reads for bad filters.
 *
 * Cells are written "family:qualifier@timestamp=value[label]" and joined with ", ", so a
 * case reads like the row a client would get back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bigtable/bigtable_filter.h"
#include "em_clock.h"
#include "em_json.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B(s)                                                                                       \
    {                                                                                              \
        (const uint8_t *)(s), sizeof(s) - 1                                                        \
    }

/* The row: family cf1 with a three-version column a and a column b whose value has a
 * newline, family cf2 with a binary value. Sorted as Bigtable stores it. */
static const struct bt_cell row_cells[] = {
    {B("cf1"), B("a"), 300, B("v1"), NULL},   {B("cf1"), B("a"), 200, B("v2"), NULL},
    {B("cf1"), B("a"), 100, B("v3"), NULL},   {B("cf1"), B("b"), 150, B("x\n"), NULL},
    {B("cf2"), B("a"), 300, B("long"), NULL}, {B("cf2"), B("c"), 50, B("\xff\x00z"), NULL},
};
static const struct bt_row row = {B("row-1"), row_cells, 6};

#define ALL                                                                                        \
    "cf1:a@300=v1, cf1:a@200=v2, cf1:a@100=v3, cf1:b@150=x\\n, cf2:a@300=long, "                   \
    "cf2:c@50=\\xff\\x00z"

static void render_bytes(char *buf, size_t size, struct bt_bytes b)
{
    size_t k = strlen(buf);
    for (size_t i = 0; i < b.len && k + 5 < size; i++) {
        uint8_t c = b.data[i];
        if (c == '\n')
            k += (size_t)snprintf(buf + k, size - k, "\\n");
        else if (c >= 0x20 && c < 0x7f)
            buf[k++] = (char)c;
        else
            k += (size_t)snprintf(buf + k, size - k, "\\x%02x", c);
    }
    buf[k] = '\0';
}

static void render(const struct bt_cell_list *l, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        const struct bt_cell *c = &l->cells[i];
        if (i)
            strncat(buf, ", ", size - strlen(buf) - 1);
        render_bytes(buf, size, c->family);
        strncat(buf, ":", size - strlen(buf) - 1);
        render_bytes(buf, size, c->qualifier);
        size_t k = strlen(buf);
        snprintf(buf + k, size - k, "@%lld=", (long long)c->timestamp_micros);
        render_bytes(buf, size, c->value);
        if (c->label) {
            k = strlen(buf);
            snprintf(buf + k, size - k, "[%s]", c->label);
        }
    }
}

/* Parses json (fails the test when it does not parse) and applies it to the row. */
static void check_filter(const char *json, const char *expected)
{
    cJSON *doc = cJSON_Parse(json);
    if (!doc)
        fail_msg("bad test JSON: %s", json);
    struct em_status st = {0};
    struct bt_filter *f = NULL;
    if (bt_filter_parse(doc, &f, &st) != EM_OK)
        fail_msg("%s: %s", json, st.message);
    struct bt_cell_list out = {0};
    assert_int_equal(bt_filter_apply(f, &row, &out, &st), EM_OK);
    char got[2048];
    render(&out, got, sizeof(got));
    if (strcmp(got, expected) != 0)
        fail_msg("%s\n  expected: %s\n  got:      %s", json, expected, got);
    bt_cell_list_free(&out);
    bt_filter_free(f);
    cJSON_Delete(doc);
}

static const struct {
    const char *json, *expected;
} cases[] = {
    /* pass and block */
    {"{}", ALL},
    {"{\"passAllFilter\": true}", ALL},
    {"{\"blockAllFilter\": true}", ""},
    /* chain */
    {"{\"chain\": {\"filters\": [{\"familyNameRegexFilter\": \"cf1\"},"
     "{\"columnQualifierRegexFilter\": \"YQ==\"}]}}",
     "cf1:a@300=v1, cf1:a@200=v2, cf1:a@100=v3"},
    {"{\"chain\": {\"filters\": [{\"cellsPerColumnLimitFilter\": 1},"
     "{\"cellsPerRowLimitFilter\": 2}]}}",
     "cf1:a@300=v1, cf1:b@150=x\\n"},
    /* interleave: merged in cell order, duplicates kept and counted */
    {"{\"interleave\": {\"filters\": [{\"columnQualifierRegexFilter\": \"Yg==\"},"
     "{\"familyNameRegexFilter\": \"cf1\"}]}}",
     "cf1:a@300=v1, cf1:a@200=v2, cf1:a@100=v3, cf1:b@150=x\\n, cf1:b@150=x\\n"},
    /* found by fuzzing: children that pass nothing left nothing to merge (UBSan: NULL + 0) */
    {"{\"interleave\": {\"filters\": [{\"blockAllFilter\": true}, {\"blockAllFilter\": true}]}}",
     ""},
    {"{\"interleave\": {\"filters\": ["
     "{\"chain\": {\"filters\": [{\"familyNameRegexFilter\": \"cf2\"},"
     "{\"applyLabelTransformer\": \"x\"}]}},"
     "{\"chain\": {\"filters\": [{\"columnQualifierRegexFilter\": \"YQ==\"},"
     "{\"cellsPerColumnLimitFilter\": 1}, {\"applyLabelTransformer\": \"y\"}]}}]}}",
     "cf1:a@300=v1[y], cf2:a@300=long[x], cf2:a@300=long[y], cf2:c@50=\\xff\\x00z[x]"},
    {"{\"chain\": {\"filters\": [{\"interleave\": {\"filters\": [{\"passAllFilter\": true},"
     "{\"passAllFilter\": true}]}}, {\"cellsPerRowLimitFilter\": 3}]}}",
     "cf1:a@300=v1, cf1:a@300=v1, cf1:a@200=v2"},
    /* condition */
    {"{\"condition\": {\"predicateFilter\": {\"valueRegexFilter\": \"djI=\"},"
     "\"trueFilter\": {\"familyNameRegexFilter\": \"cf2\"},"
     "\"falseFilter\": {\"blockAllFilter\": true}}}",
     "cf2:a@300=long, cf2:c@50=\\xff\\x00z"},
    {"{\"condition\": {\"predicateFilter\": {\"valueRegexFilter\": \"bm9tYXRjaA==\"},"
     "\"trueFilter\": {\"passAllFilter\": true},"
     "\"falseFilter\": {\"chain\": {\"filters\": [{\"familyNameRegexFilter\": \"cf2\"},"
     "{\"stripValueTransformer\": true}]}}}}",
     "cf2:a@300=, cf2:c@50="},
    {"{\"condition\": {\"predicateFilter\": {\"valueRegexFilter\": \"bm9tYXRjaA==\"},"
     "\"trueFilter\": {\"passAllFilter\": true}}}",
     ""},
    {"{\"condition\": {\"trueFilter\": {\"cellsPerRowLimitFilter\": 1}}}", "cf1:a@300=v1"},
    /* the predicate sees the condition's input, not the whole row */
    {"{\"chain\": {\"filters\": [{\"familyNameRegexFilter\": \"cf2\"},"
     "{\"condition\": {\"predicateFilter\": {\"valueRegexFilter\": \"djE=\"},"
     "\"trueFilter\": {\"passAllFilter\": true}}}]}}",
     ""},
    /* sink: data.proto's own example */
    {"{\"chain\": {\"filters\": [{\"familyNameRegexFilter\": \"cf1\"},"
     "{\"interleave\": {\"filters\": [{\"passAllFilter\": true},"
     "{\"chain\": {\"filters\": [{\"applyLabelTransformer\": \"foo\"}, {\"sink\": true}]}}]}},"
     "{\"columnQualifierRegexFilter\": \"Yg==\"}]}}",
     "cf1:a@300=v1[foo], cf1:a@200=v2[foo], cf1:a@100=v3[foo], cf1:b@150=x\\n, "
     "cf1:b@150=x\\n[foo]"},
    {"{\"sink\": true}", ALL},
    /* row key regex: full match, RE2 escapes, \C */
    {"{\"rowKeyRegexFilter\": \"cm93LVxk\"}", ALL},
    {"{\"rowKeyRegexFilter\": \"cm93\"}", ""},
    {"{\"rowKeyRegexFilter\": \"clxDKg==\"}", ALL},
    {"{\"row_key_regex_filter\": \"cm93\"}", ""},
    /* row sample */
    {"{\"rowSampleFilter\": 1}", ALL},
    {"{\"rowSampleFilter\": 0}", ""},
    /* family and qualifier */
    {"{\"familyNameRegexFilter\": \"cf[2-9]\"}", "cf2:a@300=long, cf2:c@50=\\xff\\x00z"},
    {"{\"family_name_regex_filter\": \"cf\"}", ""},
    {"{\"columnQualifierRegexFilter\": \"Yg==\"}", "cf1:b@150=x\\n"},
    {"{\"columnRangeFilter\": {\"familyName\": \"cf1\", \"startQualifierOpen\": \"YQ==\"}}",
     "cf1:b@150=x\\n"},
    {"{\"columnRangeFilter\": {\"familyName\": \"cf1\", \"endQualifierClosed\": \"YQ==\"}}",
     "cf1:a@300=v1, cf1:a@200=v2, cf1:a@100=v3"},
    {"{\"columnRangeFilter\": {\"familyName\": \"cf1\", \"startQualifierClosed\": \"YQ==\","
     "\"endQualifierOpen\": \"Yg==\"}}",
     "cf1:a@300=v1, cf1:a@200=v2, cf1:a@100=v3"},
    {"{\"columnRangeFilter\": {\"familyName\": \"cf2\"}}", "cf2:a@300=long, cf2:c@50=\\xff\\x00z"},
    {"{\"columnRangeFilter\": {\"familyName\": \"cf3\"}}", ""},
    /* timestamps: [start, end), end 0 = infinity */
    {"{\"timestampRangeFilter\": {\"startTimestampMicros\": \"100\","
     "\"endTimestampMicros\": \"300\"}}",
     "cf1:a@200=v2, cf1:a@100=v3, cf1:b@150=x\\n"},
    {"{\"timestampRangeFilter\": {\"startTimestampMicros\": 300}}", "cf1:a@300=v1, cf2:a@300=long"},
    {"{\"timestampRangeFilter\": {\"endTimestampMicros\": \"100\"}}", "cf2:c@50=\\xff\\x00z"},
    {"{\"timestampRangeFilter\": {}}", ALL},
    /* values: . does not match \n, \C does, bytes >= 0x80 and NUL */
    {"{\"valueRegexFilter\": \"dlxk\"}", "cf1:a@300=v1, cf1:a@200=v2, cf1:a@100=v3"},
    {"{\"valueRegexFilter\": \"eC4=\"}", ""},
    {"{\"valueRegexFilter\": \"eFxD\"}", "cf1:b@150=x\\n"},
    {"{\"valueRegexFilter\": \"XHhmZlx4MDB6\"}", "cf2:c@50=\\xff\\x00z"},
    {"{\"valueRangeFilter\": {\"startValueClosed\": \"djI=\", \"endValueOpen\": \"eA==\"}}",
     "cf1:a@200=v2, cf1:a@100=v3"},
    {"{\"valueRangeFilter\": {\"startValueOpen\": \"djI=\", \"endValueClosed\": \"eA==\"}}",
     "cf1:a@100=v3"},
    {"{\"valueRangeFilter\": {}}", ALL},
    /* counting */
    {"{\"cellsPerRowOffsetFilter\": 4}", "cf2:a@300=long, cf2:c@50=\\xff\\x00z"},
    {"{\"cellsPerRowOffsetFilter\": 10}", ""},
    {"{\"cellsPerRowOffsetFilter\": 0}", ALL},
    {"{\"cellsPerRowLimitFilter\": 2}", "cf1:a@300=v1, cf1:a@200=v2"},
    {"{\"cellsPerRowLimitFilter\": \"1\"}", "cf1:a@300=v1"}, /* an int32 as a JSON string */
    {"{\"cellsPerRowLimitFilter\": 100}", ALL},
    {"{\"cellsPerColumnLimitFilter\": 1}",
     "cf1:a@300=v1, cf1:b@150=x\\n, cf2:a@300=long, cf2:c@50=\\xff\\x00z"},
    {"{\"cellsPerColumnLimitFilter\": 2}",
     "cf1:a@300=v1, cf1:a@200=v2, cf1:b@150=x\\n, cf2:a@300=long, cf2:c@50=\\xff\\x00z"},
    /* transformers */
    {"{\"stripValueTransformer\": true}",
     "cf1:a@300=, cf1:a@200=, cf1:a@100=, cf1:b@150=, cf2:a@300=, cf2:c@50="},
    {"{\"chain\": {\"filters\": [{\"cellsPerRowLimitFilter\": 1},"
     "{\"applyLabelTransformer\": \"lbl-1\"}]}}",
     "cf1:a@300=v1[lbl-1]"},
    /* a null member is unset */
    {"{\"blockAllFilter\": null, \"cellsPerRowLimitFilter\": 1}", "cf1:a@300=v1"},
};

static void test_filters(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_filter(cases[i].json, cases[i].expected);
}

/* No filter at all (the request has no "filter") passes the row unchanged. */
static void test_no_filter(void **state)
{
    (void)state;
    struct em_status st = {0};
    struct bt_cell_list out = {0};
    assert_int_equal(bt_filter_apply(NULL, &row, &out, &st), EM_OK);
    assert_int_equal(out.n, 6);
    bt_cell_list_free(&out);
    bt_filter_free(NULL);
}

/* About p of many rows pass a row sample, the same ones on every read. */
static void test_row_sample_fraction(void **state)
{
    (void)state;
    cJSON *doc = cJSON_Parse("{\"rowSampleFilter\": 0.25}");
    struct em_status st = {0};
    struct bt_filter *f = NULL;
    assert_int_equal(bt_filter_parse(doc, &f, &st), EM_OK);
    int passed = 0;
    for (int i = 0; i < 4000; i++) {
        char key[32];
        int n = snprintf(key, sizeof(key), "user#%05d", i);
        struct bt_row r = {{(const uint8_t *)key, (size_t)n}, row_cells, 1};
        struct bt_cell_list a = {0}, b = {0};
        assert_int_equal(bt_filter_apply(f, &r, &a, &st), EM_OK);
        assert_int_equal(bt_filter_apply(f, &r, &b, &st), EM_OK);
        assert_int_equal(a.n, b.n);
        passed += (int)a.n;
        bt_cell_list_free(&a);
        bt_cell_list_free(&b);
    }
    assert_in_range(passed, 800, 1200);
    bt_filter_free(f);
    cJSON_Delete(doc);
}

static void check_error(const char *field, const char *json, const char *message)
{
    cJSON *doc = cJSON_Parse(json);
    if (!doc)
        fail_msg("bad test JSON: %s", json);
    struct em_status st = {0};
    struct bt_filter *f = (struct bt_filter *)1;
    enum em_code rc = bt_filter_parse_field(doc, field, &f, &st);
    if (rc != EM_INVALID_ARGUMENT)
        fail_msg("%s: expected INVALID_ARGUMENT, got %d", json, rc);
    assert_null(f);
    if (!strstr(st.message, message))
        fail_msg("%s\n  expected: %s\n  got:      %s", json, message, st.message);
    cJSON_Delete(doc);
}

static const struct {
    const char *json, *message;
} errors[] = {
    {"\"chain\"", "Invalid value at 'filter' (TYPE_MESSAGE)"},
    {"{\"foo\": true}", "Unknown name \"foo\" at 'filter': Cannot find field."},
    {"{\"passAllFilter\": true, \"blockAllFilter\": true}",
     "Oneof field 'filter' is already set. Cannot set 'blockAllFilter'"},
    {"{\"passAllFilter\": false}", "Error in field 'pass_all_filter' : argument must be true"},
    {"{\"sink\": 1}", "Invalid value at 'filter.sink' (TYPE_BOOL), 1"},
    {"{\"rowKeyRegexFilter\": \"\"}", "Error in field 'row_key_regex_filter' : argument must "
                                      "not be empty"},
    {"{\"valueRegexFilter\": \"\"}", "Error in field 'value_regex_filter' : argument must not"},
    {"{\"rowKeyRegexFilter\": \"!!\"}",
     "Invalid value at 'filter.row_key_regex_filter' (TYPE_BYTES), Base64 decoding failed"},
    {"{\"valueRegexFilter\": \"KGEpXDE=\"}",
     "Error in field 'value_regex_filter' : invalid RE2 regular expression: invalid escape "
     "sequence: \\1"},
    {"{\"familyNameRegexFilter\": \"cf:1\"}",
     "Error in field 'family_name_regex_filter' : argument must not contain ':'"},
    {"{\"familyNameRegexFilter\": \"(cf\"}",
     "Error in field 'family_name_regex_filter' : invalid RE2 regular expression"},
    {"{\"familyNameRegexFilter\": 3}", "Invalid value at 'filter.family_name_regex_filter' "
                                       "(TYPE_STRING), 3"},
    {"{\"applyLabelTransformer\": \"Upper\"}",
     "Error in field 'apply_label_transformer' : a label must be 1 to 15 characters"},
    {"{\"applyLabelTransformer\": \"abcdefghijklmnop\"}", "apply_label_transformer"},
    {"{\"applyLabelTransformer\": \"\"}", "apply_label_transformer"},
    {"{\"chain\": {\"filters\": [{\"applyLabelTransformer\": \"a\"},"
     "{\"interleave\": {\"filters\": [{\"applyLabelTransformer\": \"b\"},"
     "{\"applyLabelTransformer\": \"c\"}]}}]}}",
     "Error in field 'chain' : a chain may contain at most one sub-filter with an "
     "apply_label_transformer"},
    {"{\"condition\": {\"predicateFilter\": {\"sink\": true}}}",
     "Error in field 'condition' : a sink is not allowed"},
    {"{\"condition\": {\"trueFilter\": {\"chain\": {\"filters\": [{\"passAllFilter\": true},"
     "{\"sink\": true}]}}}}",
     "a sink is not allowed"},
    /* Bigtable refuses chains and interleaves of fewer than two filters */
    {"{\"chain\": {}}", "Error in field 'chain' : a chain must contain at least two RowFilters"},
    {"{\"chain\": {\"filters\": [{\"passAllFilter\": true}]}}", "at least two RowFilters"},
    {"{\"interleave\": {\"filters\": []}}",
     "Error in field 'interleave' : an interleave must contain at least two RowFilters"},
    {"{\"interleave\": {\"filters\": [{\"blockAllFilter\": true}]}}", "at least two"},
    {"{\"condition\": {\"otherFilter\": {}}}", "Unknown name \"otherFilter\" at "
                                               "'filter.condition'"},
    {"{\"cellsPerRowLimitFilter\": -1}",
     "Error in field 'cells_per_row_limit_filter' : argument must be > 0"},
    /* a limit of 0 is refused, as by Bigtable (its wording, kept by Google's emulator);
     * an offset of 0 skips nothing */
    {"{\"cellsPerRowLimitFilter\": 0}",
     "Error in field 'cells_per_row_limit_filter' : argument must be > 0"},
    {"{\"cellsPerColumnLimitFilter\": 0}",
     "Error in field 'cells_per_column_limit_filter' : argument must be > 0"},
    {"{\"cellsPerRowOffsetFilter\": -5}", "cells_per_row_offset_filter"},
    {"{\"cellsPerColumnLimitFilter\": 1.5}",
     "Invalid value at 'filter.cells_per_column_limit_filter' (TYPE_INT32), 1.5"},
    {"{\"cellsPerRowLimitFilter\": \"x\"}",
     "Invalid value at 'filter.cells_per_row_limit_filter' (TYPE_INT32), \"x\""},
    {"{\"cellsPerRowLimitFilter\": 3000000000}", "(TYPE_INT32), 3000000000"},
    {"{\"rowSampleFilter\": 1.5}", "Error in field 'row_sample_filter' : argument must be "
                                   "between 0 and 1"},
    {"{\"rowSampleFilter\": -0.1}", "row_sample_filter"},
    {"{\"rowSampleFilter\": \"x\"}", "(TYPE_DOUBLE)"},
    {"{\"timestampRangeFilter\": {\"startTimestampMicros\": \"10\","
     "\"endTimestampMicros\": \"5\"}}",
     "Error in field 'timestamp_range_filter' : end_timestamp_micros must not be before"},
    {"{\"timestampRangeFilter\": {\"startTimestampMicros\": \"-1\"}}", "must not be negative"},
    {"{\"timestampRangeFilter\": {\"startTimestampMicros\": \"1x\"}}",
     "Invalid value at 'filter.timestamp_range_filter.start_timestamp_micros' (TYPE_INT64)"},
    {"{\"timestampRangeFilter\": {\"start\": 1}}", "Unknown name \"start\" at "
                                                   "'filter.timestamp_range_filter'"},
    {"{\"columnRangeFilter\": {\"startQualifierClosed\": \"YQ==\"}}",
     "Error in field 'column_range_filter.family_name' : argument must not be empty"},
    {"{\"columnRangeFilter\": {\"familyName\": \"cf\", \"startQualifierClosed\": \"YQ==\","
     "\"startQualifierOpen\": \"YQ==\"}}",
     "Oneof field 'start' is already set"},
    {"{\"columnRangeFilter\": {\"familyName\": \"cf\", \"endQualifierOpen\": 5}}",
     "Invalid value at 'filter.column_range_filter.end_qualifier_open' (TYPE_BYTES)"},
    {"{\"valueRangeFilter\": {\"endValueOpen\": \"YQ==\", \"endValueClosed\": \"YQ==\"}}",
     "Oneof field 'end' is already set"},
    {"{\"valueRangeFilter\": {\"familyName\": \"cf\"}}", "Unknown name \"familyName\""},
    {"{\"chain\": {\"filters\": [{\"passAllFilter\": true}, {\"bogus\": 1}]}}",
     "Unknown name \"bogus\" at 'filter.chain.filters[1]'"},
    {"{\"chain\": {\"filters\": {}}}", "Invalid value at 'filter.chain.filters'"},
    {"{\"chain\": [] }", "Invalid value at 'filter.chain' (TYPE_MESSAGE)"},
    {"{\"interleave\": {\"filters\": [3]}}", "Invalid value at 'filter.interleave.filters[0]'"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
        check_error("filter", errors[i].json, errors[i].message);
    /* another request field names itself */
    check_error("predicate_filter", "{\"sink\": \"yes\"}",
                "Invalid value at 'predicate_filter.sink' (TYPE_BOOL)");
}

/* depth chains nested inside each other around a pass-all filter (each chain a pass-all
 * filter and the next one: a chain needs two filters). */
static char *nested_chains(int depth)
{
    size_t size = (size_t)depth * 64 + 64;
    char *json = malloc(size);
    json[0] = '\0';
    for (int i = 0; i < depth; i++)
        strcat(json, "{\"chain\": {\"filters\": [{\"passAllFilter\": true}, ");
    strcat(json, "{\"passAllFilter\": true}");
    for (int i = 0; i < depth; i++)
        strcat(json, "]}}");
    return json;
}

static void test_depth_limit(void **state)
{
    (void)state;
    char *ok = nested_chains(BT_FILTER_MAX_DEPTH);
    check_filter(ok, ALL);
    free(ok);
    char *deep = nested_chains(BT_FILTER_MAX_DEPTH + 1);
    check_error("filter", deep, "Error in field 'filter' : filters may not be nested more than 20");
    free(deep);
}

/* A value regex filter whose pattern has n bytes serializes to 1 + varint(n) + n bytes. */
static char *regex_of_size(size_t n)
{
    char *pattern = malloc(n);
    memset(pattern, 'a', n);
    char *b64 = em_b64_encode((const unsigned char *)pattern, n);
    free(pattern);
    size_t size = strlen(b64) + 64;
    char *json = malloc(size);
    snprintf(json, size, "{\"valueRegexFilter\": \"%s\"}", b64);
    free(b64);
    return json;
}

static void test_size_limit(void **state)
{
    (void)state;
    char *ok = regex_of_size(BT_FILTER_MAX_BYTES - 3); /* exactly 4096 bytes */
    check_filter(ok, "");
    free(ok);
    char *big = regex_of_size(BT_FILTER_MAX_BYTES - 2);
    check_error("filter", big, "Error in field 'filter' : the filter is 4097 bytes serialized");
    free(big);
}

/* Parses json and applies it to one row with a deadline; the code it answers, the message in
 * st. */
static enum em_code apply_by(const char *json, const struct bt_row *r, int64_t deadline,
                             struct em_status *st)
{
    cJSON *doc = cJSON_Parse(json);
    struct bt_filter *f = NULL;
    assert_non_null(doc);
    if (bt_filter_parse(doc, &f, st) != EM_OK)
        fail_msg("%s: %s", json, st->message);
    struct bt_cell_list out = {0};
    enum em_code rc = bt_filter_apply_by(f, r, deadline, &out, st);
    bt_cell_list_free(&out);
    bt_filter_free(f);
    cJSON_Delete(doc);
    return rc;
}

/* A chain of interleaves doubles the row each time: past the cell limit, INVALID_ARGUMENT
 * instead of gigabytes; regular expressions past the read's deadline, DEADLINE_EXCEEDED;
 * counted repetitions in a row, which a backtracking or PCRE-style DFA matcher takes
 * minutes over, at once (RE2). */
static void test_evaluation_bounds(void **state)
{
    (void)state;
    char json[4096] = "{\"chain\":{\"filters\":[";
    for (int k = 0; k < 40; k++)
        strcat(json, k ? ",{\"interleave\":{\"filters\":[{\"passAllFilter\":true},"
                         "{\"passAllFilter\":true}]}}"
                       : "{\"interleave\":{\"filters\":[{\"passAllFilter\":true},"
                         "{\"passAllFilter\":true}]}}");
    strcat(json, "]}}");
    struct em_status st = {0};
    int64_t later = em_clock_monotonic() + 60LL * 1000000000;
    assert_int_equal(apply_by(json, &row, later, &st), EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "interleave"));

    static uint8_t value[1024];
    memset(value, 'a', sizeof(value));
    struct bt_cell cell = {B("cf"), B("q"), 1000, {value, sizeof(value)}, NULL};
    struct bt_row long_row = {B("row-2"), &cell, 1};
    char regex[256] = "", b64[512], filter[700];
    for (int i = 0; i < 5; i++)
        strcat(regex, "a{0,1000}");
    strcat(regex, "a*");
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)regex, (int)strlen(regex));
    snprintf(filter, sizeof(filter), "{\"valueRegexFilter\":\"%s\"}", b64);
    em_status_clear(&st);
    assert_int_equal(apply_by(filter, &long_row, later, &st), EM_OK);
    assert_int_equal(apply_by(filter, &long_row, em_clock_monotonic() - 1, &st),
                     EM_DEADLINE_EXCEEDED);
    assert_non_null(strstr(st.message, "row-2"));
    em_status_clear(&st);
    assert_int_equal(apply_by("{\"passAllFilter\":true}", &long_row, em_clock_monotonic() - 1, &st),
                     EM_OK); /* no regular expression: the deadline is not read */
}

/* A table with families cf1 and my.fam. */
static bool known_family(const char *family, void *arg)
{
    (void)arg;
    return strcmp(family, "cf1") == 0 || strcmp(family, "my.fam") == 0;
}

/* The family bt_filter_missing_family finds in json's filter ("" for none). */
static void check_missing(const char *json, const char *expected)
{
    cJSON *doc = cJSON_Parse(json);
    struct bt_filter *f = NULL;
    struct em_status st = {0};
    assert_non_null(doc);
    assert_int_equal(bt_filter_parse(doc, &f, &st), EM_OK);
    const char *missing = bt_filter_missing_family(f, known_family, NULL);
    if (strcmp(missing ? missing : "", expected) != 0)
        fail_msg("%s: expected \"%s\", got \"%s\"", json, expected, missing ? missing : "");
    bt_filter_free(f);
    cJSON_Delete(doc);
}

/* Only a family regex that names one family literally can be missing (Bigtable's
 * NOT_FOUND); it is found anywhere in the tree. */
static void test_missing_family(void **state)
{
    (void)state;
    check_missing("{\"familyNameRegexFilter\": \"cf1\"}", "");
    check_missing("{\"familyNameRegexFilter\": \"cf2\"}", "cf2");
    check_missing("{\"familyNameRegexFilter\": \"CF1\"}", "CF1");
    check_missing("{\"familyNameRegexFilter\": \"my\\\\.fam\"}", "");
    check_missing("{\"familyNameRegexFilter\": \"no\\\\.pe-_x\"}", "no.pe-_x");
    check_missing("{\"familyNameRegexFilter\": \"my.fam2\"}", ""); /* '.': a regex */
    check_missing("{\"familyNameRegexFilter\": \"cf[2]\"}", "");
    check_missing("{\"familyNameRegexFilter\": \"cf1|cf2\"}", "");
    check_missing("{\"chain\": {\"filters\": [{\"passAllFilter\": true}, {\"interleave\": "
                  "{\"filters\": [{\"familyNameRegexFilter\": \"cf1\"}, "
                  "{\"familyNameRegexFilter\": \"gone\"}]}}]}}",
                  "gone");
    check_missing("{\"condition\": {\"predicateFilter\": {\"passAllFilter\": true}, "
                  "\"falseFilter\": {\"familyNameRegexFilter\": \"other\"}}}",
                  "other");
    check_missing("{\"columnRangeFilter\": {\"familyName\": \"cf2\"}}", "");
    assert_null(bt_filter_missing_family(NULL, known_family, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_no_filter),
        cmocka_unit_test(test_row_sample_fraction),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_evaluation_bounds),
        cmocka_unit_test(test_missing_family),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
