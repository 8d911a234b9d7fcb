/*
 * test_filter: em_filter in the three languages it serves (AIP-160 list filters, Cloud
 * Logging queries as gcloud sends them, Pub/Sub subscription filters), each operator on
 * a matching and a non-matching resource, and the errors a user would read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A KMS CryptoKey as a List method returns it, with a few fields added to cover every
 * JSON kind: an int64 string, a double, a bool, a null, arrays of scalars and objects. */
static const char key_json[] = "{"
                               "\"name\": \"projects/p/locations/global/keyRings/r/cryptoKeys/k1\","
                               "\"purpose\": \"ENCRYPT_DECRYPT\","
                               "\"state\": \"ENABLED\","
                               "\"createTime\": \"2026-01-01T00:00:00.500Z\","
                               "\"labels\": {\"env\": \"prod\", \"team\": \"kms\", "
                               "\"my.key\": \"dotted\"},"
                               "\"versionCount\": 3,"
                               "\"sizeBytes\": \"9007199254740993\","
                               "\"ratio\": 0.25,"
                               "\"importOnly\": false,"
                               "\"destroyScheduledDuration\": null,"
                               "\"versions\": [{\"state\": \"ENABLED\", \"id\": 1},"
                               "{\"state\": \"DISABLED\", \"id\": 2}],"
                               "\"tags\": [\"blue\", \"green\"]"
                               "}";

/* A Cloud Audit Logs entry for a KMS Encrypt call. */
static const char log_json[] =
    "{"
    "\"logName\": \"projects/p/logs/cloudaudit.googleapis.com%2Fdata_access\","
    "\"timestamp\": \"2026-11-23T10:15:00.123456Z\","
    "\"severity\": \"WARNING\","
    "\"insertId\": \"abc123\","
    "\"resource\": {\"type\": \"cloudkms_cryptokey\","
    "\"labels\": {\"key_ring_id\": \"r\", \"location\": \"global\"}},"
    "\"protoPayload\": {\"@type\": \"type.googleapis.com/google.cloud.audit.AuditLog\","
    "\"methodName\": \"Encrypt\", \"serviceName\": \"cloudkms.googleapis.com\","
    "\"authenticationInfo\": {\"principalEmail\": \"alice@example.com\"}}"
    "}";

/* A Pub/Sub message. */
static const char message_json[] = "{\"data\": \"aGVsbG8=\", \"messageId\": \"1\","
                                   "\"attributes\": {\"kind\": \"a\", \"region\": "
                                   "\"europe-west1\", \"empty\": \"\"}}";

static struct em_filter *parse_ok(const char *filter)
{
    struct em_status st = {0};
    struct em_filter *f = NULL;
    if (em_filter_parse(filter, &f, &st) != EM_OK)
        fail_msg("filter `%s` did not parse: %s", filter, st.message);
    assert_non_null(f);
    return f;
}

static void check(const char *json, const char *filter, bool want)
{
    cJSON *resource = cJSON_Parse(json);
    assert_non_null(resource);
    struct em_filter *f = parse_ok(filter);
    bool hit = em_filter_match(f, resource);
    em_filter_free(f);
    cJSON_Delete(resource);
    if (hit != want)
        fail_msg("filter `%s`: expected %s", filter, want ? "a match" : "no match");
}

static void match(const char *json, const char *filter)
{
    check(json, filter, true);
}

static void no_match(const char *json, const char *filter)
{
    check(json, filter, false);
}

static void parse_error(const char *filter, const char *message)
{
    struct em_status st = {0};
    struct em_filter *f = (struct em_filter *)&st; /* must be reset to NULL */
    assert_int_equal(em_filter_parse(filter, &f, &st), EM_INVALID_ARGUMENT);
    assert_null(f);
    assert_int_equal(st.code, EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, message);
}

/* ---------------------------------------------------------------- operators */

static void test_blank_filter_matches_everything(void **state)
{
    (void)state;
    match(key_json, "");
    match(key_json, "  \n\t ");
    match(key_json, "-- only a comment\n");
    match("{}", "");
}

static void test_equals(void **state)
{
    (void)state;
    match(key_json, "state = ENABLED");
    match(key_json, "state=\"ENABLED\"");
    match(key_json, "state='ENABLED'");
    no_match(key_json, "state = DISABLED");
    match(key_json, "labels.env = prod");
    no_match(key_json, "labels.env = production");
    no_match(key_json, "labels.env = Prod");
    no_match(key_json, "labels.env = pro");
}

/* AIP-160 names fields as the proto does: snake_case finds the JSON's camelCase. */
static void test_proto_field_names(void **state)
{
    (void)state;
    const char *handle = "{\"resourceTypeSelector\": \"pubsub.googleapis.com/Topic\","
                         " \"outer_field\": {\"innerValue\": 3}}";
    match(handle, "resource_type_selector=\"pubsub.googleapis.com/Topic\"");
    match(handle, "resourceTypeSelector = \"pubsub.googleapis.com/Topic\"");
    no_match(handle, "resource_type_selector=\"spanner.googleapis.com/Database\"");
    match(handle, "outer_field.inner_value = 3");
    no_match(handle, "resource_type = \"pubsub.googleapis.com/Topic\"");
}

static void test_not_equals(void **state)
{
    (void)state;
    match(key_json, "state != DISABLED");
    no_match(key_json, "state != ENABLED");
}

static void test_ordering_of_strings(void **state)
{
    (void)state;
    const char *k0 = "name > \"projects/p/locations/global/keyRings/r/cryptoKeys/k0\"";
    match(key_json, k0);
    no_match(key_json, "name < \"projects/p/locations/global/keyRings/r/cryptoKeys/k0\"");
    match(key_json, "name <= \"projects/p/locations/global/keyRings/r/cryptoKeys/k1\"");
    match(key_json, "name >= \"projects/p/locations/global/keyRings/r/cryptoKeys/k1\"");
    no_match(key_json, "name >= \"projects/p/locations/global/keyRings/r/cryptoKeys/k2\"");
}

static void test_has(void **state)
{
    (void)state;
    match(key_json, "name:cryptoKeys");
    match(key_json, "name : \"keyRings/r/\"");
    no_match(key_json, "name:keyRingz");
    match(key_json, "labels:env");
    no_match(key_json, "labels:prod");
    match(key_json, "labels.team:*");
    no_match(key_json, "labels.owner:*");
    match(key_json, "tags:blue");
    no_match(key_json, "tags:red");
    match(key_json, "versionCount:3");
    no_match(key_json, "versionCount:4");
}

static void test_trailing_star_is_a_prefix(void **state)
{
    (void)state;
    match(key_json, "name = \"projects/p/locations/global/*\"");
    no_match(key_json, "name = \"projects/q/*\"");
    match(key_json, "name != \"projects/q/*\"");
    match(key_json, "labels.env = pro*");
}

static void test_arrays_match_when_any_element_does(void **state)
{
    (void)state;
    match(key_json, "versions.state = DISABLED");
    no_match(key_json, "versions.state = DESTROYED");
    match(key_json, "versions.id > 1");
    no_match(key_json, "versions.id > 2");
    match(key_json, "tags = green");
    no_match(key_json, "tags != green");
    match(key_json, "tags != red");
    match(key_json, "tags:*");
    no_match("{\"tags\": []}", "tags:*");
}

static void test_missing_fields(void **state)
{
    (void)state;
    no_match(key_json, "rotationPeriod = \"86400s\"");
    match(key_json, "rotationPeriod != \"86400s\"");
    match(key_json, "NOT rotationPeriod = \"86400s\"");
    no_match(key_json, "rotationPeriod:*");
    match(key_json, "-rotationPeriod:*");
    no_match(key_json, "destroyScheduledDuration:*");
    no_match(key_json, "state.deeper = x");
    no_match(key_json, "labels.env.deeper:*");
}

static void test_timestamps_compare_as_times(void **state)
{
    (void)state;
    /* As text ".500Z" sorts before "Z"; as times the key was created half a second later. */
    match(key_json, "createTime > \"2026-01-01T00:00:00Z\"");
    no_match(key_json, "createTime <= \"2026-01-01T00:00:00Z\"");
    match(key_json, "createTime = \"2026-01-01T00:00:00.5Z\"");
    match(key_json, "createTime = \"2026-01-01T00:00:00.500000000Z\"");
    match(key_json, "createTime = \"2026-01-01T01:00:00.5+01:00\"");
    no_match(key_json, "createTime = \"2026-01-01T00:00:00.501Z\"");
    match(key_json, "createTime < 2026-01-01T00:00:01Z");
    no_match(key_json, "createTime >= 2026-01-01T00:00:01Z");
    match(log_json, "timestamp>=\"2026-11-23T00:00:00Z\"");
    match(log_json, "timestamp>\"2026-11-23T10:15:00.123Z\"");
    no_match(log_json, "timestamp<\"2026-11-23T10:15:00.123Z\"");
}

static void test_numbers_and_int64_strings(void **state)
{
    (void)state;
    match(key_json, "versionCount = 3");
    match(key_json, "versionCount = 3.0");
    match(key_json, "versionCount > 2");
    no_match(key_json, "versionCount < 3");
    no_match(key_json, "versionCount >= 10"); /* "3" >= "10" as text */
    match(key_json, "sizeBytes = 9007199254740993");
    no_match(key_json, "sizeBytes = 9007199254740992"); /* equal as doubles */
    match(key_json, "sizeBytes > 9007199254740992");
    match(key_json, "sizeBytes < 10000000000000000"); /* not as text */
    match(key_json, "ratio = 0.25");
    match(key_json, "ratio = 2.5e-1");
    match(key_json, "ratio < 0.5");
    no_match(key_json, "ratio > 0.25");
    no_match(key_json, "versionCount = three");
}

static void test_booleans(void **state)
{
    (void)state;
    match(key_json, "importOnly = false");
    no_match(key_json, "importOnly = true");
}

static void test_severity_ladder(void **state)
{
    (void)state;
    match(log_json, "severity>=WARNING");
    match(log_json, "severity>INFO");
    match(log_json, "severity<ERROR"); /* "WARNING" > "ERROR" as text */
    no_match(log_json, "severity>=ERROR");
    no_match(log_json, "severity=ERROR");
    match(log_json, "severity=warning");
    match(log_json, "severity>=400");
    no_match(log_json, "severity>400");
    match("{\"severity\": 500}", "severity>WARNING");
    match("{\"severity\": \"EMERGENCY\"}", "severity>ALERT");
    no_match("{\"severity\": \"DEFAULT\"}", "severity>=DEBUG");
    /* only fields named severity climb the ladder */
    no_match("{\"level\": \"WARNING\"}", "level<ERROR");
}

static void test_log_id(void **state)
{
    (void)state;
    match(log_json, "log_id(\"cloudaudit.googleapis.com/data_access\")");
    match(log_json, "log_id(cloudaudit.googleapis.com/data_access)");
    no_match(log_json, "log_id(\"cloudaudit.googleapis.com/activity\")");
    no_match(log_json, "log_id(\"data_access\")");
    match(log_json, "NOT log_id(\"cloudaudit.googleapis.com/activity\")");
    no_match("{\"logName\": \"projects/p/logs/cloudaudit.googleapis.com/data_access\"}",
             "log_id(\"cloudaudit.googleapis.com/data_access\")");
    match("{\"logName\": \"folders/1/logs/syslog\"}", "log_id(syslog)");
    no_match("{\"textPayload\": \"x\"}", "log_id(syslog)");
}

static void test_has_prefix_and_suffix(void **state)
{
    (void)state;
    match(message_json, "hasPrefix(attributes.region, \"eu\")");
    no_match(message_json, "hasPrefix(attributes.region, \"us\")");
    match(message_json, "NOT hasPrefix(attributes.region, \"us\")");
    match(message_json, "hasSuffix(attributes.region, \"west1\")");
    no_match(message_json, "hasSuffix(attributes.region, \"east1\")");
    no_match(message_json, "hasPrefix(attributes.zone, \"\")");
    match(key_json, "hasPrefix(tags, gr)");
}

/* ---------------------------------------------------------------- structure */

static void test_precedence_not_or_and(void **state)
{
    (void)state;
    /* a = true, b = false, c = false: OR binds tighter than AND, so (a OR b) AND c. */
    no_match(key_json, "state = ENABLED OR purpose = MAC AND labels.env = dev");
    no_match(key_json, "state = ENABLED OR purpose = MAC labels.env = dev");
    match(key_json, "state = ENABLED OR (purpose = MAC labels.env = dev)");
    /* NOT binds tighter than OR: (NOT a) OR d, with d = true */
    match(key_json, "NOT state = ENABLED OR labels.env = prod");
    no_match(key_json, "NOT (state = ENABLED OR labels.env = prod)");
}

static void test_juxtaposition_is_and(void **state)
{
    (void)state;
    match(key_json, "state = ENABLED labels.env = prod");
    no_match(key_json, "state = ENABLED labels.env = dev");
    match(key_json, "state=ENABLED\nlabels.env=prod\n");
}

static void test_negation_forms(void **state)
{
    (void)state;
    match(key_json, "NOT state = DISABLED");
    match(key_json, "-state=DISABLED");
    no_match(key_json, "-state=ENABLED");
    match(key_json, "NOT NOT state = ENABLED");
    match(key_json, "NOT(state = DISABLED)");
    no_match(key_json, "-(state = ENABLED OR labels.env = dev)");
    match(key_json, "-labels:owner");
}

static void test_keywords_are_uppercase_only(void **state)
{
    (void)state;
    /* lowercase "or" and "and" are values that no string of the key contains */
    match(key_json, "state = DISABLED OR state = ENABLED");
    no_match(key_json, "state = DISABLED or state = ENABLED");
    no_match(key_json, "state = ENABLED and labels.env = prod");
    match("{\"note\": \"black and white\"}", "and");
}

static void test_quoted_field_names(void **state)
{
    (void)state;
    match(key_json, "labels.\"my.key\" = dotted");
    no_match(key_json, "labels.my.key = dotted");
    match(log_json, "protoPayload.\"@type\"=\"type.googleapis.com/google.cloud.audit.AuditLog\"");
    match(log_json, "\"protoPayload\".methodName = Encrypt");
}

static void test_bare_values_search_every_string(void **state)
{
    (void)state;
    match(key_json, "prod");
    match(key_json, "\"cryptoKeys/k1\"");
    no_match(key_json, "nowhere");
    match(log_json, "alice@example.com");
    match(log_json, "alice Encrypt");
    no_match(log_json, "alice Decrypt");
}

/* ---------------------------------------------------------------- languages */

static void test_aip160_list_filters(void **state)
{
    (void)state;
    match(key_json, "labels.env = prod AND state = ENABLED");
    no_match(key_json, "labels.env = prod AND state = DISABLED");
    match(key_json, "name:k1");
    match(key_json, "labels.team:*");
    match(key_json, "createTime > \"2025-12-31T23:59:59Z\" AND purpose = ENCRYPT_DECRYPT");
}

static void test_logging_queries_from_gcloud(void **state)
{
    (void)state;
    match(log_json, "protoPayload.methodName=\"Encrypt\" AND timestamp>=\"2026-11-23T00:00:00Z\"");
    match(log_json, "resource.type=\"cloudkms_cryptokey\" severity>=WARNING");
    no_match(log_json, "resource.type=\"gce_instance\" severity>=WARNING");
    match(log_json, "logName:\"cloudaudit.googleapis.com%2Fdata_access\"");
    match(log_json, "protoPayload.authenticationInfo.principalEmail=\"alice@example.com\"");
    no_match(log_json, "protoPayload.authenticationInfo.principalEmail=\"bob@example.com\"");
    match(log_json, "resource.type=\"cloudkms_cryptokey\"\n"
                    "AND (protoPayload.methodName=\"Decrypt\" OR "
                    "protoPayload.methodName=\"Encrypt\")\n"
                    "severity>=INFO\n"
                    "timestamp>=\"2026-11-23T00:00:00Z\"");
    no_match(log_json, "resource.type=\"cloudkms_cryptokey\"\n"
                       "(protoPayload.methodName=\"Decrypt\" OR "
                       "protoPayload.methodName=\"Sign\")");
    no_match(log_json, "severity>=ERROR -- only errors\n");
    match(log_json, "-- severity>=ERROR\nseverity>=INFO");
    match(log_json, "log_id(\"cloudaudit.googleapis.com/data_access\") "
                    "resource.labels.key_ring_id=\"r\"");
}

static void test_pubsub_subscription_filters(void **state)
{
    (void)state;
    match(message_json, "attributes.kind = \"a\"");
    no_match(message_json, "attributes.kind = \"b\"");
    match(message_json, "attributes:kind");
    no_match(message_json, "attributes:other");
    no_match(message_json, "NOT attributes:kind");
    match(message_json, "NOT attributes:other");
    match(message_json, "attributes:empty");
    match(message_json, "attributes.empty = \"\"");
    match(message_json, "attributes.a = \"x\" OR attributes.kind = \"a\"");
    no_match(message_json, "attributes.a = \"x\" OR attributes.b = \"y\"");
    match(message_json, "attributes.kind = \"a\" AND hasPrefix(attributes.region, \"eu\")");
}

/* Resource Manager's project queries (em_filter_ignore_case), with Google's examples. */
static void check_query(const char *json, const char *query, bool want)
{
    cJSON *resource = cJSON_Parse(json);
    assert_non_null(resource);
    struct em_filter *f = parse_ok(query);
    em_filter_ignore_case(f);
    bool hit = em_filter_match(f, resource);
    em_filter_free(f);
    cJSON_Delete(resource);
    if (hit != want)
        fail_msg("query `%s`: expected %s", query, want ? "a match" : "no match");
}

static void test_resource_manager_queries_ignore_case(void **state)
{
    (void)state;
    const char *project = "{\"name\": \"Howl\", \"id\": \"howl-castle\", \"lifecycleState\": "
                          "\"ACTIVE\", \"labels\": {\"color\": \"red\"}, \"parent\": "
                          "{\"type\": \"folder\", \"id\": \"123\"}}";
    check_query(project, "name:how*", true);
    check_query(project, "name:Howl", true);
    check_query(project, "name:HOWL", true);
    check_query(project, "NAME:howl", true);
    check_query(project, "name:how", false); /* ':' is equality here, not "contains" */
    check_query(project, "name:owl*", false);
    check_query(project, "labels.color:*", true);
    check_query(project, "labels.size:*", false);
    check_query(project, "labels.color:RED", true);
    check_query(project, "labels.color:red labels.size:big", false); /* side by side: AND */
    check_query(project, "labels.color:red OR labels.size:big", true);
    check_query(project, "lifecycleState:active AND (id:HOWL-*)", true);
    check_query(project, "lifecycleState:DELETE_REQUESTED", false);
    check_query(project, "parent.type:FOLDER parent.id:123", true);
    check_query(project, "NOT (name=\"howl\")", false);
    check_query(project, "CASTLE", true); /* a bare value: any string containing it */
    /* the same filter without the mode: case matters, ':' contains */
    no_match(project, "name:howl");
    match(project, "name:ow");
}

/* ---------------------------------------------------------------- errors and limits */

static void test_error_messages_name_the_position(void **state)
{
    (void)state;
    parse_error("state =", "Invalid filter: expected a value after '=' at position 7.");
    parse_error("= ENABLED", "Invalid filter: unexpected '=' at position 0.");
    parse_error("state = ENABLED AND", "Invalid filter: unexpected end of filter at position 19.");
    parse_error("OR state = x", "Invalid filter: unexpected 'OR' at position 0.");
    parse_error("NOT", "Invalid filter: unexpected end of filter at position 3.");
    parse_error("a = b = c", "Invalid filter: unexpected '=' at position 6.");
    parse_error("state = ENABLED #", "Invalid filter: unexpected character '#' at position 16.");
    parse_error("a = b \x01", "Invalid filter: unexpected byte 0x01 at position 6.");
    parse_error("name =~ \"k.*\"",
                "Invalid filter: regular expressions are not supported at position 5.");
    parse_error("labels..env = x",
                "Invalid filter: invalid field path \"labels..env\" at position 0.");
    parse_error("labels. = x", "Invalid filter: invalid field path \"labels.\" at position 0.");
}

static void test_unbalanced_parentheses_and_strings(void **state)
{
    (void)state;
    parse_error("(state = ENABLED",
                "Invalid filter: unbalanced parentheses: expected ')' at position 16.");
    parse_error("state = ENABLED)", "Invalid filter: unexpected ')' at position 15.");
    parse_error("()", "Invalid filter: unexpected ')' at position 1.");
    parse_error("(a OR b", "Invalid filter: unbalanced parentheses: expected ')' at position 7.");
    parse_error("name = \"abc", "Invalid filter: unterminated string at position 7.");
    parse_error("name = \"abc\\\"", "Invalid filter: unterminated string at position 7.");
    parse_error("\"", "Invalid filter: unterminated string at position 0.");
}

static void test_functions_are_checked(void **state)
{
    (void)state;
    parse_error("foo(bar)", "Invalid filter: unknown function \"foo\" at position 0.");
    parse_error("state = ENABLED sample(insertId, 0.1)",
                "Invalid filter: unknown function \"sample\" at position 16.");
    parse_error("hasPrefix(attributes.region)",
                "Invalid filter: hasPrefix takes 2 arguments at position 27.");
    parse_error("log_id(\"a\", \"b\")", "Invalid filter: log_id takes 1 argument at position 12.");
    parse_error("log_id()", "Invalid filter: log_id takes 1 argument at position 7.");
    parse_error("hasPrefix(attributes.region, \"eu\"",
                "Invalid filter: unexpected end of filter at position 33.");
    parse_error("hasPrefix(attributes.region,)", "Invalid filter: unexpected ')' at position 28.");
}

static char *repeat(const char *piece, int times, const char *middle, const char *end)
{
    size_t len = (strlen(piece) + (end ? strlen(end) : 0)) * (size_t)times + strlen(middle) + 1;
    char *text = malloc(len);
    assert_non_null(text);
    text[0] = '\0';
    for (int i = 0; i < times; i++)
        strcat(text, piece);
    strcat(text, middle);
    for (int i = 0; end && i < times; i++)
        strcat(text, end);
    return text;
}

static void test_nesting_limit(void **state)
{
    (void)state;
    char *deepest = repeat("(", EM_FILTER_MAX_DEPTH, "state = ENABLED", ")");
    match(key_json, deepest);
    free(deepest);
    char *too_deep = repeat("(", EM_FILTER_MAX_DEPTH + 1, "state = ENABLED", ")");
    parse_error(too_deep, "Invalid filter: parentheses nested deeper than 64 at position 64.");
    free(too_deep);
}

static void test_length_limit(void **state)
{
    (void)state;
    char *longest = repeat("x", EM_FILTER_MAX_LEN, "", NULL);
    no_match(key_json, longest);
    free(longest);
    char *too_long = repeat("x", EM_FILTER_MAX_LEN + 1, "", NULL);
    parse_error(too_long, "Invalid filter: longer than 20000 bytes at position 20000.");
    free(too_long);
}

static void test_long_flat_filters(void **state)
{
    (void)state;
    char *ands = repeat("state = ENABLED AND ", 900, "labels.env = prod", NULL);
    match(key_json, ands);
    free(ands);
    char *ors = repeat("state = DISABLED OR ", 900, "labels.env = prod", NULL);
    match(key_json, ors);
    free(ors);
    char *nots = repeat("NOT ", 3999, "state = DISABLED", NULL); /* odd: negated */
    match(key_json, nots);
    free(nots);
}

/* ---------------------------------------------------------------- visit */

struct visits {
    char seen[8][120];
    int count;
    int stop_after;
};

static bool record(const char *path, const char *op, const char *value, void *arg)
{
    struct visits *v = arg;
    snprintf(v->seen[v->count], sizeof(v->seen[0]), "%s|%s|%s", path, op, value);
    return ++v->count != v->stop_after;
}

static void test_visit_in_source_order(void **state)
{
    (void)state;
    struct em_filter *f = parse_ok("labels.\"my.key\" = prod AND NOT attributes:kind OR "
                                   "hasPrefix(attributes.region, \"eu\")\n"
                                   "log_id(\"cloudaudit.googleapis.com/activity\") "
                                   "(severity >= WARNING) bare");
    struct visits v = {.stop_after = -1};
    assert_true(em_filter_visit(f, record, &v));
    assert_int_equal(v.count, 6);
    assert_string_equal(v.seen[0], "labels.my.key|=|prod");
    assert_string_equal(v.seen[1], "attributes|:|kind");
    assert_string_equal(v.seen[2], "attributes.region|hasPrefix|eu");
    assert_string_equal(v.seen[3], "logName|log_id|cloudaudit.googleapis.com/activity");
    assert_string_equal(v.seen[4], "severity|>=|WARNING");
    assert_string_equal(v.seen[5], "|:|bare");
    struct visits stop = {.stop_after = 2};
    assert_false(em_filter_visit(f, record, &stop));
    assert_int_equal(stop.count, 2);
    em_filter_free(f);
}

static bool attributes_only(const char *path, const char *op, const char *value, void *arg)
{
    (void)op;
    (void)value;
    (void)arg;
    return strcmp(path, "attributes") == 0 || strncmp(path, "attributes.", 11) == 0;
}

static void test_visit_lets_pubsub_restrict_fields(void **state)
{
    (void)state;
    struct em_filter *ok = parse_ok("attributes:kind AND hasPrefix(attributes.region, \"eu\")");
    assert_true(em_filter_visit(ok, attributes_only, NULL));
    em_filter_free(ok);
    struct em_filter *bad = parse_ok("attributes:kind AND messageId = \"1\"");
    assert_false(em_filter_visit(bad, attributes_only, NULL));
    em_filter_free(bad);
    struct em_filter *blank = parse_ok("");
    assert_true(em_filter_visit(blank, attributes_only, NULL));
    em_filter_free(blank);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blank_filter_matches_everything),
        cmocka_unit_test(test_equals),
        cmocka_unit_test(test_proto_field_names),
        cmocka_unit_test(test_not_equals),
        cmocka_unit_test(test_ordering_of_strings),
        cmocka_unit_test(test_has),
        cmocka_unit_test(test_trailing_star_is_a_prefix),
        cmocka_unit_test(test_arrays_match_when_any_element_does),
        cmocka_unit_test(test_missing_fields),
        cmocka_unit_test(test_timestamps_compare_as_times),
        cmocka_unit_test(test_numbers_and_int64_strings),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_severity_ladder),
        cmocka_unit_test(test_log_id),
        cmocka_unit_test(test_has_prefix_and_suffix),
        cmocka_unit_test(test_precedence_not_or_and),
        cmocka_unit_test(test_juxtaposition_is_and),
        cmocka_unit_test(test_negation_forms),
        cmocka_unit_test(test_keywords_are_uppercase_only),
        cmocka_unit_test(test_quoted_field_names),
        cmocka_unit_test(test_bare_values_search_every_string),
        cmocka_unit_test(test_aip160_list_filters),
        cmocka_unit_test(test_logging_queries_from_gcloud),
        cmocka_unit_test(test_pubsub_subscription_filters),
        cmocka_unit_test(test_resource_manager_queries_ignore_case),
        cmocka_unit_test(test_error_messages_name_the_position),
        cmocka_unit_test(test_unbalanced_parentheses_and_strings),
        cmocka_unit_test(test_functions_are_checked),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_long_flat_filters),
        cmocka_unit_test(test_visit_in_source_order),
        cmocka_unit_test(test_visit_lets_pubsub_restrict_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
