/*
 * test_bigtable_mutation: mutations as mutateRow sends them, applied in order to a row
 * (set replaces the same timestamp, deletes by column range, family and row), server
 * time and millisecond granularity, the errors for bad mutations, and ReadModifyWrite's
 * append and 8-byte big-endian increment with its wrap and its refusal of other sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bigtable/bigtable_mutation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B(s)                                                                                       \
    {                                                                                              \
        (const uint8_t *)(s), sizeof(s) - 1                                                        \
    }

static const struct bt_cell base_cells[] = {
    {B("cf1"), B("q"), 3000, B("c"), NULL}, {B("cf1"), B("q"), 2000, B("b"), NULL},
    {B("cf1"), B("q"), 1000, B("a"), NULL}, {B("cf1"), B("r"), 1000, B("r"), NULL},
    {B("cf2"), B("q"), 1000, B("z"), NULL},
};
static const struct bt_row base_row = {B("row"), base_cells, 5};

static void parse_ok(const char *json, struct bt_mutations *m)
{
    cJSON *doc = cJSON_Parse(json);
    if (!doc)
        fail_msg("bad test JSON: %s", json);
    struct em_status st = {0};
    if (bt_mutations_parse(doc, "mutations", false, m, &st) != EM_OK)
        fail_msg("%s: %s", json, st.message);
    cJSON_Delete(doc);
}

/* "family:qualifier@ts=value" joined by ", ". */
static void render(const struct bt_cell_list *l, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        const struct bt_cell *c = &l->cells[i];
        size_t k = strlen(buf);
        snprintf(buf + k, size - k, "%s%.*s:%.*s@%lld=%.*s", i ? ", " : "", (int)c->family.len,
                 (const char *)c->family.data, (int)c->qualifier.len,
                 (const char *)c->qualifier.data, (long long)c->timestamp_micros, (int)c->value.len,
                 (const char *)c->value.data);
    }
}

static void check_apply(const char *json, const char *expected)
{
    struct bt_mutations m;
    parse_ok(json, &m);
    bt_mutations_resolve_time(&m, 5000123, 1000);
    struct bt_cell_list out = {0};
    struct em_status st = {0};
    assert_int_equal(bt_mutations_apply(&m, &base_row, &out, &st), EM_OK);
    char got[1024];
    render(&out, got, sizeof(got));
    if (strcmp(got, expected) != 0)
        fail_msg("%s\n  expected: %s\n  got:      %s", json, expected, got);
    bt_cell_list_free(&out);
    bt_mutations_free(&m);
}

static void test_apply(void **state)
{
    (void)state;
    check_apply("[{\"setCell\": {\"familyName\": \"cf1\", \"columnQualifier\": \"cQ==\","
                "\"timestampMicros\": \"2500\", \"value\": \"bmV3\"}}]",
                "cf1:q@3000=c, cf1:q@2500=new, cf1:q@2000=b, cf1:q@1000=a, cf1:r@1000=r, "
                "cf2:q@1000=z");
    /* the same timestamp replaces; server time is now at millisecond granularity */
    check_apply("[{\"setCell\": {\"familyName\": \"cf1\", \"columnQualifier\": \"cQ==\","
                "\"timestampMicros\": 2000, \"value\": \"bmV3\"}},"
                "{\"setCell\": {\"familyName\": \"cf0\", \"timestampMicros\": \"-1\"}}]",
                "cf0:@5000000=, cf1:q@3000=c, cf1:q@2000=new, cf1:q@1000=a, cf1:r@1000=r, "
                "cf2:q@1000=z");
    check_apply("[{\"deleteFromColumn\": {\"familyName\": \"cf1\", \"columnQualifier\": \"cQ==\","
                "\"timeRange\": {\"startTimestampMicros\": \"1000\", \"endTimestampMicros\": "
                "\"3000\"}}}]",
                "cf1:q@3000=c, cf1:r@1000=r, cf2:q@1000=z");
    check_apply("[{\"deleteFromColumn\": {\"familyName\": \"cf1\", \"columnQualifier\": "
                "\"cQ==\"}}]",
                "cf1:r@1000=r, cf2:q@1000=z");
    check_apply("[{\"deleteFromFamily\": {\"familyName\": \"cf1\"}}]", "cf2:q@1000=z");
    /* in order: the row is emptied, then written */
    check_apply("[{\"deleteFromRow\": {}}, {\"setCell\": {\"familyName\": \"cf2\","
                "\"columnQualifier\": \"cQ==\", \"timestampMicros\": \"7000\", \"value\": "
                "\"bmV3\"}}]",
                "cf2:q@7000=new");
    check_apply("[{\"setCell\": {\"family_name\": \"cf2\", \"column_qualifier\": \"cQ==\","
                "\"timestamp_micros\": \"7000\"}}, {\"deleteFromRow\": {}}]",
                "");
}

static void test_granularity(void **state)
{
    (void)state;
    struct bt_mutations m;
    struct em_status st = {0};
    parse_ok("[{\"setCell\": {\"familyName\": \"cf\", \"timestampMicros\": \"-1\"}},"
             "{\"setCell\": {\"familyName\": \"cf\", \"timestampMicros\": \"2000\"}}]",
             &m);
    assert_int_equal(bt_mutations_check_granularity(&m, 1000, &st), EM_OK);
    bt_mutations_free(&m);
    parse_ok("[{\"setCell\": {\"familyName\": \"cf\", \"timestampMicros\": \"1234\"}}]", &m);
    assert_int_equal(bt_mutations_check_granularity(&m, 1000, &st), EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, "Timestamp granularity mismatch. Expected a multiple of "
                                    "1000 (millisecond granularity), but got 1234.");
    assert_int_equal(bt_mutations_check_granularity(&m, 1, &st), EM_OK); /* MICROS tables */
    bt_mutations_free(&m);
    parse_ok("[{\"deleteFromColumn\": {\"familyName\": \"cf\", \"timeRange\": "
             "{\"endTimestampMicros\": \"1500\"}}}]",
             &m);
    assert_int_equal(bt_mutations_check_granularity(&m, 1000, &st), EM_INVALID_ARGUMENT);
    bt_mutations_free(&m);
}

static void check_error(const char *json, bool allow_empty, enum em_code code, const char *message)
{
    cJSON *doc = cJSON_Parse(json);
    if (!doc)
        fail_msg("bad test JSON: %s", json);
    struct em_status st = {0};
    struct bt_mutations m;
    if (bt_mutations_parse(doc, "mutations", allow_empty, &m, &st) != code)
        fail_msg("%s: expected code %d, got \"%s\"", json, code, st.message);
    assert_null(m.items);
    if (!strstr(st.message, message))
        fail_msg("%s\n  expected: %s\n  got:      %s", json, message, st.message);
    cJSON_Delete(doc);
}

#define AGG_CELL "\"familyName\": \"s\", \"columnQualifier\": {\"rawValue\": \"cQ==\"}, "
#define AGG_TS   "\"timestamp\": {\"rawTimestampMicros\": \"1000\"}"

static void check_aggregate_errors(void)
{
    const enum em_code bad = EM_INVALID_ARGUMENT;
    check_error("[{\"addToCell\": {\"familyName\": \"s\"}}]", false, bad,
                "add_to_cell.column_qualifier' : the column qualifier must be a raw_value");
    check_error("[{\"addToCell\": {\"familyName\": \"s\", \"columnQualifier\": {\"stringValue\": "
                "\"q\"}}}]",
                false, bad, "the column qualifier must be a raw_value");
    check_error("[{\"addToCell\": {" AGG_CELL "\"input\": {\"intValue\": 1}}}]", false, bad,
                "add_to_cell.timestamp' : the timestamp must be a raw_timestamp_micros");
    check_error("[{\"addToCell\": {" AGG_CELL "\"timestamp\": {\"rawTimestampMicros\": \"-1\"}, "
                "\"input\": {\"intValue\": 1}}}]",
                false, bad, "must not be negative");
    check_error("[{\"addToCell\": {" AGG_CELL "\"timestamp\": {\"intValue\": \"1000\"}, "
                "\"input\": {\"intValue\": 1}}}]",
                false, bad, "the timestamp must be a raw_timestamp_micros");
    check_error("[{\"addToCell\": {" AGG_CELL AGG_TS "}}]", false, bad,
                "add_to_cell.input' : the input must be an int_value");
    check_error("[{\"addToCell\": {" AGG_CELL AGG_TS ", \"input\": {\"rawValue\": "
                "\"AAAAAAAAAAE=\"}}}]",
                false, bad, "the input must be an int_value");
    check_error("[{\"addToCell\": {" AGG_CELL AGG_TS ", \"input\": {\"intValue\": 1, "
                "\"stringValue\": \"1\"}}}]",
                false, bad, "Oneof field 'kind' is already set");
    check_error("[{\"addToCell\": {" AGG_CELL AGG_TS ", \"input\": {\"intValue\": 1, \"type\": "
                "{\"stringType\": {}}}}}]",
                false, bad, "a Value's type must be omitted here");
    check_error("[{\"addToCell\": {" AGG_CELL AGG_TS ", \"input\": {\"intValue\": \"x\"}}}]", false,
                bad, "Invalid value at 'mutations[0].add_to_cell.input.int_value'");
    check_error("[{\"addToCell\": {" AGG_CELL AGG_TS ", \"input\": {\"colour\": 1}}}]", false, bad,
                "Unknown name \"colour\"");
    check_error("[{\"mergeToCell\": {" AGG_CELL AGG_TS ", \"input\": {\"rawValue\": \"YWJj\"}}}]",
                false, bad, "an Int64 state is 8 bytes");
    check_error("[{\"mergeToCell\": {" AGG_CELL AGG_TS ", \"input\": {\"boolValue\": true}}}]",
                false, bad, "merge_to_cell.input' : the input must be an int_value or the 8-byte");
}

static void test_errors(void **state)
{
    (void)state;
    const enum em_code bad = EM_INVALID_ARGUMENT;
    check_error("[]", false, bad, "Error in field 'mutations' : No mutations were provided");
    check_error("{}", false, bad, "Invalid value at 'mutations' (TYPE_MESSAGE)");
    check_error("[{}]", false, bad, "Error in field 'mutations[0]' : a mutation must set one of");
    check_error("[{\"setCell\": {\"familyName\": \"cf\"}, \"deleteFromRow\": {}}]", false, bad,
                "Oneof field 'mutation' is already set. Cannot set 'deleteFromRow'");
    check_error("[{\"deleteFromRow\": {}}, {\"setCell\": {\"value\": \"eA==\"}}]", false, bad,
                "Error in field 'mutations[1].set_cell.family_name' : argument must not be "
                "empty");
    check_error("[{\"setCell\": {\"familyName\": \"c f\"}}]", false, bad,
                "Error in field 'mutations[0].set_cell.family_name' : a family name must match");
    check_error("[{\"setCell\": {\"familyName\": \"cf\", \"timestampMicros\": \"-2\"}}]", false,
                bad, "Error in field 'mutations[0].set_cell.timestamp_micros'");
    check_error("[{\"setCell\": {\"familyName\": \"cf\", \"value\": \"!\"}}]", false, bad,
                "Invalid value at 'mutations[0].set_cell.value' (TYPE_BYTES)");
    check_error("[{\"setCell\": {\"familyName\": \"cf\", \"timestampMicros\": \"x\"}}]", false, bad,
                "Invalid value at 'mutations[0].set_cell.timestamp_micros' (TYPE_INT64)");
    check_error("[{\"setCell\": {\"familyName\": \"cf\", \"colour\": 1}}]", false, bad,
                "Unknown name \"colour\" at 'mutations[0].set_cell'");
    check_error("[{\"deleteFromFamily\": {\"familyName\": \"cf\", \"columnQualifier\": "
                "\"eA==\"}}]",
                false, bad,
                "Unknown name \"columnQualifier\" at 'mutations[0].delete_from_family'");
    check_error("[{\"deleteFromRow\": {\"familyName\": \"cf\"}}]", false, bad,
                "Unknown name \"familyName\"");
    check_error("[{\"deleteFromColumn\": {\"familyName\": \"cf\", \"timeRange\": "
                "{\"startTimestampMicros\": \"9\", \"endTimestampMicros\": \"5\"}}}]",
                false, bad, "Error in field 'mutations[0].delete_from_column.time_range'");
    check_error("[{\"deleteFromColumn\": {\"timeRange\": {}}}]", false, bad,
                "delete_from_column.family_name' : argument must not be empty");
    check_error("[{\"deleteFromRow\": true}]", false, bad,
                "Invalid value at 'mutations[0].delete_from_row' (TYPE_MESSAGE)");
    check_aggregate_errors();
    check_error("[3]", true, bad, "Invalid value at 'mutations[0]' (TYPE_MESSAGE)");
}

/* The cells of a row with one aggregate family "s" (sum, min or max) after json. */
static void check_aggregates(const char *json, enum bt_aggregator agg, const char *expected)
{
    static const struct bt_row empty = {B("row"), NULL, 0};
    struct bt_mutations m;
    struct bt_cell_list out = {0};
    struct em_status st = {0};
    parse_ok(json, &m);
    for (size_t i = 0; i < m.n; i++)
        m.items[i].aggregator = agg;
    assert_int_equal(bt_mutations_check_granularity(&m, 1000, &st), EM_OK);
    assert_int_equal(bt_mutations_apply(&m, &empty, &out, &st), EM_OK);
    char got[256] = "";
    for (size_t i = 0; i < out.n; i++) {
        int64_t v = 0;
        assert_true(bt_int64_decode(out.cells[i].value, &v));
        size_t k = strlen(got);
        snprintf(got + k, sizeof(got) - k, "%s%lld=%lld", i ? ", " : "",
                 (long long)out.cells[i].timestamp_micros, (long long)v);
    }
    if (strcmp(got, expected) != 0)
        fail_msg("%s\n  expected: %s\n  got:      %s", json, expected, got);
    bt_cell_list_free(&out);
    bt_mutations_free(&m);
}

static void test_aggregates(void **state)
{
    (void)state;
    const char *json =
        "[{\"addToCell\": {" AGG_CELL AGG_TS ", \"input\": {\"intValue\": \"5\"}}},"
        "{\"add_to_cell\": {\"family_name\": \"s\", \"column_qualifier\": {\"raw_value\": "
        "\"cQ==\"}, \"timestamp\": {\"raw_timestamp_micros\": 1000}, \"input\": {\"int_value\": "
        "-7, \"type\": {\"int64Type\": {}}}}},"
        "{\"mergeToCell\": {" AGG_CELL AGG_TS ", \"input\": {\"rawValue\": \"AAAAAAAAAGQ=\"}}},"
        "{\"mergeToCell\": {" AGG_CELL AGG_TS "}},"
        "{\"addToCell\": {" AGG_CELL "\"timestamp\": {\"rawTimestampMicros\": \"2000\"}, "
        "\"input\": {\"intValue\": 3}}}]";
    /* 5 - 7 + 100 (a merged state), NULL merged (nothing), another timestamp on its own */
    check_aggregates(json, BT_AGG_SUM, "2000=3, 1000=98");
    check_aggregates(json, BT_AGG_MIN, "2000=3, 1000=-7");
    check_aggregates(json, BT_AGG_MAX, "2000=3, 1000=100");
    /* only a NULL merge: no cell */
    check_aggregates("[{\"mergeToCell\": {" AGG_CELL AGG_TS ", \"input\": {}}}]", BT_AGG_SUM, "");
    /* a sum wraps as two's complement */
    assert_int_equal(bt_aggregate(BT_AGG_SUM, INT64_MAX, 1), INT64_MIN);
    assert_int_equal(bt_aggregate(BT_AGG_MIN, INT64_MIN, INT64_MAX), INT64_MIN);
    /* the granularity holds for aggregate timestamps too */
    struct bt_mutations m;
    struct em_status st = {0};
    parse_ok("[{\"addToCell\": {" AGG_CELL "\"timestamp\": {\"rawTimestampMicros\": \"1500\"}, "
             "\"input\": {\"intValue\": 3}}}]",
             &m);
    assert_int_equal(bt_mutations_check_granularity(&m, 1000, &st), EM_INVALID_ARGUMENT);
    bt_mutations_free(&m);
    /* a cell that is not a state is an internal error, not a silent reset */
    struct bt_mutation add = {.kind = BT_MUT_ADD_TO_CELL,
                              .family = "s",
                              .input = 1,
                              .has_input = true,
                              .aggregator = BT_AGG_SUM};
    struct bt_bytes three = B("abc");
    int64_t v;
    assert_int_equal(bt_aggregate_cell_state(&add, &three, &v, &st), EM_INTERNAL);
}

static void test_limits(void **state)
{
    (void)state;
    struct em_status st = {0};
    struct bt_mutations m;
    assert_int_equal(bt_mutations_parse(NULL, "true_mutations", true, &m, &st), EM_OK);
    assert_int_equal(m.n, 0);
    bt_mutations_free(&m);
    /* 100,001 mutations */
    cJSON *many = cJSON_CreateArray();
    for (int i = 0; i <= BT_MAX_MUTATIONS; i++)
        cJSON_AddItemToArray(many, cJSON_Parse("{\"deleteFromRow\": {}}"));
    assert_int_equal(bt_mutations_parse(many, "mutations", false, &m, &st), EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "Too many mutations: 100001"));
    cJSON_DeleteItemFromArray(many, 0);
    assert_int_equal(bt_mutations_parse(many, "mutations", false, &m, &st), EM_OK);
    bt_mutations_free(&m);
    cJSON_Delete(many);
    /* row keys */
    static uint8_t key[BT_MAX_ROW_KEY_BYTES + 1];
    assert_int_equal(bt_row_key_check((struct bt_bytes){key, 0}, &st), EM_INVALID_ARGUMENT);
    assert_int_equal(bt_row_key_check((struct bt_bytes){key, BT_MAX_ROW_KEY_BYTES}, &st), EM_OK);
    assert_int_equal(bt_row_key_check((struct bt_bytes){key, sizeof(key)}, &st),
                     EM_INVALID_ARGUMENT);
}

static void parse_rules(const char *json, struct bt_rmw_rules *rules)
{
    cJSON *doc = cJSON_Parse(json);
    struct em_status st = {0};
    if (bt_rmw_rules_parse(doc, rules, &st) != EM_OK)
        fail_msg("%s: %s", json, st.message);
    cJSON_Delete(doc);
}

static void test_read_modify_write(void **state)
{
    (void)state;
    struct bt_rmw_rules rules;
    parse_rules("[{\"familyName\": \"cf\", \"columnQualifier\": \"cQ==\", \"appendValue\": "
                "\"YWJj\"},"
                "{\"familyName\": \"cf\", \"columnQualifier\": \"cQ==\", \"incrementAmount\": "
                "\"5\"},"
                "{\"family_name\": \"cf\", \"increment_amount\": 1},"
                "{\"familyName\": \"cf\", \"incrementAmount\": \"-1\"}]",
                &rules);
    assert_int_equal(rules.n, 4);
    struct em_status st = {0};
    uint8_t *value;
    size_t len;
    int64_t ts;
    /* append to nothing, then to "old" */
    assert_int_equal(bt_rmw_apply(&rules.items[0], NULL, 5000, &value, &len, &ts, &st), EM_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(value, "abc", 3);
    assert_true(ts == 5000);
    free(value);
    const struct bt_cell old = {B("cf"), B("q"), 9000, B("old"), NULL};
    assert_int_equal(bt_rmw_apply(&rules.items[0], &old, 5000, &value, &len, &ts, &st), EM_OK);
    assert_int_equal(len, 6);
    assert_memory_equal(value, "oldabc", 6);
    assert_true(ts == 9000); /* the later of the old cell's and the server's time */
    free(value);
    /* increment nothing: the amount as 8 bytes big-endian */
    assert_int_equal(bt_rmw_apply(&rules.items[1], NULL, 5000, &value, &len, &ts, &st), EM_OK);
    assert_int_equal(len, 8);
    assert_memory_equal(value, "\0\0\0\0\0\0\0\x05", 8);
    free(value);
    const struct bt_cell five = {B("cf"), B("q"), 1000, B("\0\0\0\0\0\0\0\x05"), NULL};
    assert_int_equal(bt_rmw_apply(&rules.items[1], &five, 5000, &value, &len, &ts, &st), EM_OK);
    assert_memory_equal(value, "\0\0\0\0\0\0\0\x0a", 8);
    assert_true(ts == 5000);
    free(value);
    /* INT64_MAX + 1 wraps to INT64_MIN; 0 - 1 is all ones */
    const struct bt_cell max = {B("cf"), B(""), 1, B("\x7f\xff\xff\xff\xff\xff\xff\xff"), NULL};
    assert_int_equal(bt_rmw_apply(&rules.items[2], &max, 5000, &value, &len, &ts, &st), EM_OK);
    assert_memory_equal(value, "\x80\0\0\0\0\0\0\0", 8);
    free(value);
    assert_int_equal(bt_rmw_apply(&rules.items[3], NULL, 5000, &value, &len, &ts, &st), EM_OK);
    assert_memory_equal(value, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    free(value);
    /* a value that is not 8 bytes fails the request */
    const struct bt_cell seven = {B("cf"), B("q"), 1, B("1234567"), NULL};
    assert_int_equal(bt_rmw_apply(&rules.items[1], &seven, 5000, &value, &len, &ts, &st),
                     EM_INVALID_ARGUMENT);
    assert_null(value);
    assert_non_null(strstr(st.message, "holds 7 bytes, not a 64-bit big-endian integer"));
    bt_rmw_rules_free(&rules);
}

static void check_rules_error(const char *json, const char *message)
{
    cJSON *doc = cJSON_Parse(json);
    struct em_status st = {0};
    struct bt_rmw_rules rules;
    assert_int_equal(bt_rmw_rules_parse(doc, &rules, &st), EM_INVALID_ARGUMENT);
    assert_null(rules.items);
    if (!strstr(st.message, message))
        fail_msg("%s\n  expected: %s\n  got:      %s", json, message, st.message);
    cJSON_Delete(doc);
}

static void test_rules_errors(void **state)
{
    (void)state;
    check_rules_error("[]", "Error in field 'rules' : No rules were provided");
    check_rules_error("[{\"familyName\": \"cf\"}]",
                      "Error in field 'rules[0]' : a rule must set appendValue or "
                      "incrementAmount");
    check_rules_error("[{\"familyName\": \"cf\", \"appendValue\": \"eA==\", "
                      "\"incrementAmount\": 1}]",
                      "Oneof field 'rule' is already set. Cannot set 'incrementAmount'");
    check_rules_error("[{\"appendValue\": \"eA==\"}]",
                      "Error in field 'rules[0].family_name' : argument must not be empty");
    check_rules_error("[{\"familyName\": \"cf\", \"incrementAmount\": \"1.5\"}]",
                      "Invalid value at 'rules[0].increment_amount' (TYPE_INT64)");
    check_rules_error("[{\"familyName\": \"cf\", \"prependValue\": \"eA==\"}]",
                      "Unknown name \"prependValue\" at 'rules[0]'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply),        cmocka_unit_test(test_granularity),
        cmocka_unit_test(test_errors),       cmocka_unit_test(test_aggregates),
        cmocka_unit_test(test_limits),       cmocka_unit_test(test_read_modify_write),
        cmocka_unit_test(test_rules_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
