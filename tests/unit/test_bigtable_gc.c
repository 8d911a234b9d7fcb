/*
 * test_bigtable_gc: GC rules as gcloud sends them (`--column-families=cf1:maxversions=1,
 * cf2:maxversions=5||maxage=5d,cf3:maxage=10d&&maxversions=2`), written back unchanged,
 * applied to columns at the boundaries (the Nth version, a cell exactly max_age old), the
 * errors for bad rules, and a rule's size as a protobuf message (table.proto's 500 bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bigtable/bigtable_gc.h"

#include <stdlib.h>
#include <string.h>

#define B(s)                                                                                       \
    {                                                                                              \
        (const uint8_t *)(s), sizeof(s) - 1                                                        \
    }
#define DAY_US (86400LL * 1000000)
#define NOW_US (100 * DAY_US)

static struct bt_gc_rule *parse_ok(const char *json)
{
    cJSON *doc = cJSON_Parse(json);
    struct em_status st = {0};
    struct bt_gc_rule *r = NULL;
    if (bt_gc_rule_parse(doc, "gc_rule", &r, &st) != EM_OK)
        fail_msg("%s: %s", json, st.message);
    cJSON_Delete(doc);
    return r;
}

/* A rule written back is what the client sent (in its canonical form). */
static void test_round_trip(void **state)
{
    (void)state;
    static const char *rules[] = {
        "{}",
        "{\"maxNumVersions\":1}",
        "{\"maxAge\":\"432000s\"}",
        "{\"maxAge\":\"0.001s\"}",
        "{\"union\":{\"rules\":[{\"maxNumVersions\":5},{\"maxAge\":\"432000s\"}]}}",
        "{\"intersection\":{\"rules\":[{\"maxAge\":\"864000s\"},{\"maxNumVersions\":2}]}}",
        "{\"union\":{\"rules\":[{\"intersection\":{\"rules\":[{\"maxAge\":\"1s\"},"
        "{\"maxNumVersions\":3}]}},{\"maxNumVersions\":10}]}}",
    };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        struct bt_gc_rule *r = parse_ok(rules[i]);
        cJSON *json = bt_gc_rule_to_json(r);
        char *text = cJSON_PrintUnformatted(json);
        assert_string_equal(text, rules[i]);
        free(text);
        cJSON_Delete(json);
        bt_gc_rule_free(r);
    }
    /* proto names are accepted too, and maxAge is truncated to microseconds */
    struct bt_gc_rule *r = parse_ok("{\"max_age\": \"1.0000019s\"}");
    cJSON *json = bt_gc_rule_to_json(r);
    assert_string_equal(cJSON_GetObjectItem(json, "maxAge")->valuestring, "1.000001s");
    cJSON_Delete(json);
    bt_gc_rule_free(r);
}

/* Column a has versions at 99, 98, 94 and 90 days; column b one at 50 days. */
static const struct bt_cell family[] = {
    {B("cf"), B("a"), 99 * DAY_US, B("1"), NULL}, {B("cf"), B("a"), 98 * DAY_US, B("2"), NULL},
    {B("cf"), B("a"), 95 * DAY_US, B("3"), NULL}, {B("cf"), B("a"), 90 * DAY_US, B("4"), NULL},
    {B("cf"), B("b"), 50 * DAY_US, B("5"), NULL},
};

/* "x" for garbage, "." for kept, per cell of `family`. */
static void check_collect(const char *rule_json, const char *expected)
{
    struct bt_gc_rule *r = rule_json ? parse_ok(rule_json) : NULL;
    bool garbage[5];
    size_t n = bt_gc_collect(r, family, 5, NOW_US, garbage);
    char got[6] = {0};
    size_t marked = 0;
    for (size_t i = 0; i < 5; i++) {
        got[i] = garbage[i] ? 'x' : '.';
        marked += garbage[i];
    }
    if (strcmp(got, expected) != 0)
        fail_msg("%s: expected %s, got %s", rule_json ? rule_json : "(none)", expected, got);
    assert_int_equal(n, marked);
    bt_gc_rule_free(r);
}

static void test_collect(void **state)
{
    (void)state;
    check_collect(NULL, ".....");
    check_collect("{}", ".....");
    check_collect("{\"maxNumVersions\": 1}", ".xxx.");
    check_collect("{\"maxNumVersions\": 3}", "...x.");
    /* 5 days: the cell at 95 days is exactly 5 days old and stays; older ones go */
    check_collect("{\"maxAge\": \"432000s\"}", "...xx");
    check_collect("{\"maxAge\": \"432000.000001s\"}", "...xx");
    check_collect("{\"maxAge\": \"431999.999999s\"}", "..xxx");
    check_collect("{\"union\": {\"rules\": [{\"maxNumVersions\": 2},"
                  "{\"maxAge\": \"432000s\"}]}}",
                  "..xxx");
    check_collect("{\"intersection\": {\"rules\": [{\"maxNumVersions\": 1},"
                  "{\"maxAge\": \"172800s\"}]}}",
                  "..xx.");
    check_collect("{\"intersection\": {\"rules\": [{\"maxAge\": \"864000s\"},"
                  "{\"maxNumVersions\": 2}]}}",
                  "....."); /* nothing is more than 10 days old */
    check_collect("{\"intersection\": {\"rules\": [{\"maxAge\": \"432000s\"},"
                  "{\"maxNumVersions\": 2}]}}",
                  "...x.");
    check_collect("{\"union\": {\"rules\": [{\"intersection\": {\"rules\": ["
                  "{\"maxNumVersions\": 1}, {\"maxAge\": \"86400s\"}]}},"
                  "{\"maxNumVersions\": 3}]}}",
                  ".xxx.");
}

/* One column's timestamps, newest first, for bt_gc_threshold's version_ts. */
struct column {
    const struct bt_cell *cells;
    size_t n;
};

static bool column_version_ts(void *arg, int64_t n, int64_t *ts)
{
    const struct column *c = arg;
    if (n < 0 || (size_t)n >= c->n)
        return false;
    *ts = c->cells[n].timestamp_micros;
    return true;
}

/* bt_gc_threshold marks the same cells as bt_gc_collect: every rule of test_collect and
 * more, over 2,000 columns of random versions around their age limits. */
static void test_threshold_matches_collect(void **state)
{
    (void)state;
    static const char *rules[] = {
        "{}",
        "{\"maxNumVersions\": 1}",
        "{\"maxNumVersions\": 3}",
        "{\"maxAge\": \"432000s\"}",
        "{\"maxAge\": \"0.001s\"}",
        "{\"union\": {\"rules\": [{\"maxNumVersions\": 2}, {\"maxAge\": \"432000s\"}]}}",
        "{\"intersection\": {\"rules\": [{\"maxNumVersions\": 1}, {\"maxAge\": \"172800s\"}]}}",
        "{\"intersection\": {\"rules\": [{\"maxAge\": \"864000s\"}, {\"maxNumVersions\": 2}]}}",
        "{\"union\": {\"rules\": [{\"intersection\": {\"rules\": [{\"maxNumVersions\": 1}, "
        "{\"maxAge\": \"86400s\"}]}}, {\"maxNumVersions\": 3}]}}",
        "{\"intersection\": {\"rules\": [{\"union\": {\"rules\": [{\"maxNumVersions\": 4}, "
        "{\"maxAge\": \"259200s\"}]}}, {\"maxNumVersions\": 2}]}}",
    };
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    struct bt_cell cells[12];
    bool garbage[12];
    for (int round = 0; round < 2000; round++) {
        struct bt_gc_rule *r = parse_ok(rules[round % (sizeof(rules) / sizeof(rules[0]))]);
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t n = (seed >> 33) % 12;
        int64_t ts = NOW_US + DAY_US;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            ts -= 1 + (int64_t)((seed >> 20) % (3 * DAY_US)); /* strictly older each time */
            cells[i] = (struct bt_cell){B("cf"), B("q"), ts, B("v"), NULL};
        }
        bt_gc_collect(r, cells, n, NOW_US, garbage);
        struct column c = {cells, n};
        int64_t threshold = 0;
        bool some = bt_gc_threshold(r, NOW_US, column_version_ts, &c, &threshold);
        for (size_t i = 0; i < n; i++)
            if (garbage[i] != (some && cells[i].timestamp_micros <= threshold))
                fail_msg("round %d, rule %s, cell %zu of %zu: collect says %d, threshold %s %lld",
                         round, rules[round % (sizeof(rules) / sizeof(rules[0]))], i, n, garbage[i],
                         some ? "at" : "none", (long long)threshold);
        bt_gc_rule_free(r);
    }
}

static void check_error(const char *json, const char *message)
{
    cJSON *doc = cJSON_Parse(json);
    if (!doc)
        fail_msg("bad test JSON: %s", json);
    struct em_status st = {0};
    struct bt_gc_rule *r = NULL;
    if (bt_gc_rule_parse(doc, "modifications[0].create.gc_rule", &r, &st) != EM_INVALID_ARGUMENT)
        fail_msg("%s should be refused", json);
    assert_null(r);
    if (!strstr(st.message, message))
        fail_msg("%s\n  expected: %s\n  got:      %s", json, message, st.message);
    cJSON_Delete(doc);
}

static void test_errors(void **state)
{
    (void)state;
    check_error("[]", "Invalid value at 'modifications[0].create.gc_rule' (TYPE_MESSAGE)");
    check_error("{\"maxNumVersions\": 0}",
                "Error in field 'modifications[0].create.gc_rule.max_num_versions' : "
                "max_num_versions must be at least 1");
    check_error("{\"maxNumVersions\": -3}", "max_num_versions must be at least 1");
    check_error("{\"maxNumVersions\": \"many\"}",
                "Invalid value at 'modifications[0].create.gc_rule.max_num_versions' "
                "(TYPE_INT32), \"many\"");
    check_error("{\"maxAge\": 5}", "(google.protobuf.Duration), 5");
    check_error("{\"maxAge\": \"5d\"}", "(google.protobuf.Duration), \"5d\"");
    check_error("{\"maxAge\": \"0.0009s\"}", "max_age must be at least one millisecond");
    check_error("{\"maxAge\": \"-1s\"}", "max_age must be at least one millisecond");
    check_error("{\"maxAge\": \"1s\", \"maxNumVersions\": 1}",
                "Oneof field 'rule' is already set. Cannot set 'maxNumVersions'");
    check_error("{\"maxVersions\": 1}", "Unknown name \"maxVersions\" at "
                                        "'modifications[0].create.gc_rule'");
    check_error("{\"union\": {\"rules\": []}}",
                "Error in field 'modifications[0].create.gc_rule.union' : a union or "
                "intersection must hold at least one rule");
    check_error("{\"intersection\": {}}", "must hold at least one rule");
    check_error("{\"union\": {\"rule\": []}}", "Unknown name \"rule\"");
    check_error("{\"union\": {\"rules\": [{\"maxNumVersions\": 1}, {\"maxAge\": \"0s\"}]}}",
                "Error in field 'modifications[0].create.gc_rule.union.rules[1].max_age'");
    check_error("{\"union\": {\"rules\": {}}}", "Invalid value at");
}

/* depth unions nested around one maxNumVersions rule. */
static char *nested(int depth)
{
    char *json = malloc((size_t)depth * 32 + 64);
    json[0] = '\0';
    for (int i = 0; i < depth; i++)
        strcat(json, "{\"union\":{\"rules\":[");
    strcat(json, "{\"maxNumVersions\":1}");
    for (int i = 0; i < depth; i++)
        strcat(json, "]}}");
    return json;
}

static void test_depth_limit(void **state)
{
    (void)state;
    char *ok = nested(BT_GC_MAX_DEPTH);
    bt_gc_rule_free(parse_ok(ok));
    free(ok);
    char *deep = nested(BT_GC_MAX_DEPTH + 1);
    check_error(deep, "GC rules may not be nested more than 20 deep");
    free(deep);
}

/* The size of a rule as a GcRule message, byte for byte as protoc encodes it. */
static size_t proto_size(const char *json)
{
    struct bt_gc_rule *r = parse_ok(json);
    size_t size = bt_gc_rule_proto_size(r);
    bt_gc_rule_free(r);
    return size;
}

static void test_proto_size(void **state)
{
    (void)state;
    assert_int_equal(proto_size("{}"), 0);
    assert_int_equal(proto_size("{\"maxNumVersions\": 1}"), 2);   /* 08 01 */
    assert_int_equal(proto_size("{\"maxNumVersions\": 300}"), 3); /* 08 ac 02 */
    assert_int_equal(proto_size("{\"maxAge\": \"432000s\"}"), 6); /* 12 04 08 80 af 1a */
    assert_int_equal(proto_size("{\"maxAge\": \"1.5s\"}"), 10);   /* seconds 2, nanos 6 */
    assert_int_equal(proto_size("{\"maxAge\": \"0.002s\"}"), 6);  /* 12 04 10 80 89 7a */
    assert_int_equal(proto_size("{\"union\": {\"rules\": [{\"maxNumVersions\": 1}]}}"), 6);
    assert_int_equal(proto_size("{\"intersection\": {\"rules\": [{\"maxNumVersions\": 1}, "
                                "{\"maxAge\": \"432000s\"}]}}"),
                     2 + (2 + 2) + (2 + 6));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_collect),
        cmocka_unit_test(test_threshold_matches_collect),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_proto_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
