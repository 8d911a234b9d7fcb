/*
 * test_names: em_names: resource ID rules and their messages, IDs and prefixes pulled out of
 * resource names (including IDs that spell a collection), Google's project ID rules, the
 * deterministic project numbers, locations and which regions a location covers, label
 * rules, and page tokens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct em_id_rule ring_rule = {
    "key ring ID", 1, 63, "_-", false, false, "IDs are 1 to 63 letters, digits, '_' or '-'."};

static const struct em_id_rule topic_rule = {
    "topic ID", 3, 255, "-_.~+%", true, false, "IDs start with a letter."};

static const struct em_id_rule lower_rule = {"instance ID",       2, 10, "-", true, true,
                                             "IDs are lowercase."};

static void id_ok(const char *id, const struct em_id_rule *rule)
{
    struct em_status st = {0};
    if (em_id_check(id, rule, &st) != EM_OK)
        fail_msg("\"%s\" refused: %s", id, st.message);
}

static void id_refused(const char *id, const struct em_id_rule *rule)
{
    struct em_status st = {0};
    if (em_id_check(id, rule, &st) != EM_INVALID_ARGUMENT)
        fail_msg("\"%s\" accepted as a %s", id, rule->what);
    char want[300];
    snprintf(want, sizeof(want), "Invalid %s \"%s\": %s", rule->what, id, rule->description);
    assert_string_equal(st.message, want);
}

static void test_id_rules(void **state)
{
    (void)state;
    id_ok("ring", &ring_rule);
    id_ok("R_1-x", &ring_rule);
    id_ok("1ring", &ring_rule);
    id_ok("a", &ring_rule);
    id_refused("", &ring_rule);
    id_refused("ring.one", &ring_rule);
    id_refused("ring one", &ring_rule);
    id_refused("ring/one", &ring_rule);
    id_refused("caf\xc3\xa9", &ring_rule);
    char longest[64];
    memset(longest, 'a', 63);
    longest[63] = '\0';
    id_ok(longest, &ring_rule);
    char too_long[65];
    memset(too_long, 'a', 64);
    too_long[64] = '\0';
    id_refused(too_long, &ring_rule);

    id_ok("orders.v1~x+y%20", &topic_rule);
    id_refused("1orders", &topic_rule);
    id_refused("-orders", &topic_rule);
    id_refused("ab", &topic_rule);

    id_ok("db-1", &lower_rule);
    id_refused("DB-1", &lower_rule);
    id_refused("db_1", &lower_rule);
}

static void test_id_message_is_bounded(void **state)
{
    (void)state;
    char huge[5000];
    memset(huge, '!', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    struct em_status st = {0};
    assert_int_equal(em_id_check(huge, &ring_rule, &st), EM_INVALID_ARGUMENT);
    assert_true(strlen(st.message) < 300);
    assert_non_null(strstr(st.message, ring_rule.description));
}

#define KEY "projects/p1/locations/us-east1/keyRings/r/cryptoKeys/k"

static void test_name_id(void **state)
{
    (void)state;
    char out[64];
    assert_true(em_name_id(KEY, "projects", out, sizeof(out)));
    assert_string_equal(out, "p1");
    assert_true(em_name_id(KEY, "locations", out, sizeof(out)));
    assert_string_equal(out, "us-east1");
    assert_true(em_name_id(KEY, "keyRings", out, sizeof(out)));
    assert_string_equal(out, "r");
    assert_true(em_name_id(KEY, "cryptoKeys", out, sizeof(out)));
    assert_string_equal(out, "k");
    assert_false(em_name_id(KEY, "cryptoKeyVersions", out, sizeof(out)));
    assert_false(em_name_id(KEY, "keys", out, sizeof(out)));
    assert_false(em_name_id(KEY, "Rings", out, sizeof(out)));
    assert_false(em_name_id("projects/", "projects", out, sizeof(out)));
    assert_false(em_name_id("projects//locations/l", "projects", out, sizeof(out)));
    assert_false(em_name_id("projects", "projects", out, sizeof(out)));
    assert_false(em_name_id("", "projects", out, sizeof(out)));
    /* the ID must fit with its terminator */
    char small[3];
    assert_false(em_name_id(KEY, "locations", small, sizeof(small)));
    assert_true(em_name_id(KEY, "projects", small, sizeof(small)));
    assert_string_equal(small, "p1");
}

static void test_ids_that_spell_a_collection(void **state)
{
    (void)state;
    char out[64];
    /* "locations" is a valid project ID, "cryptoKeys" a valid key ring ID */
    const char *name = "projects/locations/locations/global/keyRings/cryptoKeys/cryptoKeys/k";
    assert_true(em_name_id(name, "projects", out, sizeof(out)));
    assert_string_equal(out, "locations");
    assert_true(em_name_id(name, "locations", out, sizeof(out)));
    assert_string_equal(out, "global");
    assert_true(em_name_id(name, "keyRings", out, sizeof(out)));
    assert_string_equal(out, "cryptoKeys");
    assert_true(em_name_id(name, "cryptoKeys", out, sizeof(out)));
    assert_string_equal(out, "k");
    char prefix[128];
    assert_true(em_name_prefix(name, "locations", prefix, sizeof(prefix)));
    assert_string_equal(prefix, "projects/locations/locations/global");
    assert_true(em_name_prefix(name, "cryptoKeys", prefix, sizeof(prefix)));
    assert_string_equal(prefix, name);
}

static void test_name_prefix(void **state)
{
    (void)state;
    char out[128];
    assert_true(em_name_prefix(KEY, "keyRings", out, sizeof(out)));
    assert_string_equal(out, "projects/p1/locations/us-east1/keyRings/r");
    assert_true(em_name_prefix(KEY, "projects", out, sizeof(out)));
    assert_string_equal(out, "projects/p1");
    assert_true(em_name_prefix(KEY "/cryptoKeyVersions/3", "cryptoKeys", out, sizeof(out)));
    assert_string_equal(out, KEY);
    assert_false(em_name_prefix(KEY, "topics", out, sizeof(out)));
    char small[12];
    assert_true(em_name_prefix(KEY, "projects", small, sizeof(small)));
    assert_false(em_name_prefix(KEY, "locations", small, sizeof(small)));
}

static void project_ok(const char *id)
{
    struct em_status st = {0};
    if (em_project_check(id, &st) != EM_OK)
        fail_msg("project \"%s\" refused: %s", id, st.message);
}

static void project_refused(const char *id)
{
    struct em_status st = {0};
    if (em_project_check(id, &st) != EM_INVALID_ARGUMENT)
        fail_msg("project \"%s\" accepted", id);
    char want[120];
    snprintf(want, sizeof(want), "Invalid project ID \"%s\": project IDs are 6 to 30", id);
    assert_int_equal(strncmp(st.message, want, strlen(want)), 0);
}

static void test_numeric_ids(void **state)
{
    (void)state;
    assert_true(em_numeric_id("1"));
    assert_true(em_numeric_id("123456789012"));
    assert_true(em_numeric_id("12345678901234567890"));
    assert_false(em_numeric_id(""));
    assert_false(em_numeric_id("123456789012345678901"));
    assert_false(em_numeric_id("12a"));
    assert_false(em_numeric_id("-12"));
    assert_false(em_numeric_id("12 "));
}

static void test_project_ids(void **state)
{
    (void)state;
    project_ok("my-project");
    project_ok("abcdef");
    project_ok("a12345");
    project_ok("a-b-c-d-e-f");
    project_ok("abcdefghijklmnopqrstuvwxyz0123");
    project_refused("abcde");
    project_refused("abcdefghijklmnopqrstuvwxyz01234");
    project_refused("1project");
    project_refused("-project");
    project_refused("my-project-");
    project_refused("My-project");
    project_refused("my_project");
    project_refused("my.project");
    project_refused("my project");
    project_refused("");
}

static void key_name_refused(const char *name, const char *expect)
{
    struct em_status st = {0};
    if (em_crypto_key_name_parse(name, "kms_key_name", NULL, &st) != EM_INVALID_ARGUMENT)
        fail_msg("\"%s\" accepted as a CryptoKey name", name);
    assert_non_null(strstr(st.message, "Invalid kms_key_name"));
    if (!strstr(st.message, expect))
        fail_msg("\"%s\": message \"%s\" does not say \"%s\"", name, st.message, expect);
}

static void test_crypto_key_names(void **state)
{
    (void)state;
    struct em_crypto_key_name parsed;
    struct em_status st = {0};
    assert_int_equal(em_crypto_key_name_parse(
                         "projects/my-project/locations/us-central1/keyRings/R_1-x/cryptoKeys/k-1",
                         "kms_key_name", &parsed, &st),
                     EM_OK);
    assert_string_equal(parsed.project, "my-project");
    assert_string_equal(parsed.location, "us-central1");
    assert_string_equal(parsed.key_ring, "R_1-x");
    assert_string_equal(parsed.crypto_key, "k-1");
    /* a 30-character project, 63-character key ring and crypto key IDs: 204 characters
     * (a 200-byte buffer once cut the crypto key ID to 58 and tested less than it said) */
    char longest[256];
    int n = snprintf(longest, sizeof(longest),
                     "projects/p23456789012345678901234567890/locations/global/keyRings/%063d/"
                     "cryptoKeys/%063d",
                     0, 0);
    assert_int_equal(n, 204);
    assert_int_equal(em_crypto_key_name_parse(longest, "kms_key_name", NULL, &st), EM_OK);
    /* what reached KMS as a URL before: a verb and a query, spaces, CR/LF */
    key_name_refused("projects/my-project/locations/global/keyRings/r/cryptoKeys/k1:decrypt?x=",
                     "crypto key ID \"k1:decrypt?x=\"");
    key_name_refused("projects/my-project/locations/global/keyRings/r/cryptoKeys/k 1",
                     "crypto key ID");
    key_name_refused("projects/my-project/locations/global/keyRings/r\r\nX-Evil: 1/cryptoKeys/k",
                     "key ring ID");
    key_name_refused("projects/my-project/locations/global/keyRings/r/cryptoKeys/k%2F",
                     "crypto key ID");
    key_name_refused("projects/my-project/locations/global/keyRings/r/cryptoKeys/k\n",
                     "crypto key ID");
    /* each ID by its own rule */
    key_name_refused("projects/My-Project/locations/global/keyRings/r/cryptoKeys/k", "project ID");
    key_name_refused("projects/short/locations/global/keyRings/r/cryptoKeys/k", "project ID");
    key_name_refused("projects/my-project-/locations/global/keyRings/r/cryptoKeys/k", "project ID");
    key_name_refused("projects/my-project/locations/US/keyRings/r/cryptoKeys/k", "location ID");
    key_name_refused("projects/my-project/locations/global/keyRings/r.1/cryptoKeys/k",
                     "key ring ID");
    snprintf(longest, sizeof(longest),
             "projects/my-project/locations/global/keyRings/r/cryptoKeys/%064d", 0);
    key_name_refused(longest, "crypto key ID");
    /* the shape: every collection, in order, nothing before or after */
    key_name_refused("", "expected projects/{project}");
    key_name_refused("projects/my-project/locations/global/keyRings/r", "expected");
    key_name_refused("projects/my-project/locations/global/keyRings/r/cryptoKeys/k/", "expected");
    key_name_refused("projects/my-project/locations/global/keyRings/r/cryptoKeys/k/"
                     "cryptoKeyVersions/1",
                     "expected");
    key_name_refused("/projects/my-project/locations/global/keyRings/r/cryptoKeys/k", "expected");
    key_name_refused("projects/my-project/locations//keyRings/r/cryptoKeys/k", "expected");
    key_name_refused("projects/my-project/keyRings/r/locations/global/cryptoKeys/k", "expected");
}

static void test_project_numbers_are_stable_12_digits(void **state)
{
    (void)state;
    const char *ids[] = {"my-project", "abcdef", "test-project", "other-project-123"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        int64_t n = em_project_number(ids[i]);
        assert_true(n >= 100000000000LL && n <= 999999999999LL);
        assert_true(em_project_number(ids[i]) == n);
        char text[32];
        snprintf(text, sizeof(text), "%lld", (long long)n);
        assert_int_equal(strlen(text), 12);
    }
    for (int i = 0; i < 500; i++) {
        char id[32];
        snprintf(id, sizeof(id), "project-%d", i);
        int64_t n = em_project_number(id);
        if (n < 100000000000LL || n > 999999999999LL)
            fail_msg("%s has number %lld", id, (long long)n);
    }
    assert_true(em_project_number("my-project") != em_project_number("my-project2"));
    assert_true(em_project_number("abcdef") != em_project_number("abcdeg"));
}

static void test_locations(void **state)
{
    (void)state;
    const struct em_location *loc = em_location_find("us-central1");
    assert_non_null(loc);
    assert_string_equal(loc->display_name, "Iowa");
    assert_int_equal(loc->kind, EM_LOC_REGION);
    assert_int_equal(em_location_find("global")->kind, EM_LOC_GLOBAL);
    assert_int_equal(em_location_find("europe")->kind, EM_LOC_MULTI_REGION);
    assert_null(em_location_find("US-CENTRAL1"));
    assert_null(em_location_find("us-central"));
    assert_null(em_location_find("mars-north1"));
    assert_null(em_location_find(""));
    size_t count = 0;
    const struct em_location *all = em_locations(&count);
    assert_true(count > 30);
    for (size_t i = 0; i < count; i++) {
        assert_ptr_equal(em_location_find(all[i].id), &all[i]);
        for (size_t j = i + 1; j < count; j++)
            assert_string_not_equal(all[i].id, all[j].id);
    }
}

static void test_location_covers(void **state)
{
    (void)state;
    assert_true(em_location_covers("global", "us-central1"));
    assert_true(em_location_covers("global", "europe"));
    assert_true(em_location_covers("us", "us-central1"));
    assert_true(em_location_covers("us", "us-east4"));
    assert_true(em_location_covers("us", "us"));
    assert_true(em_location_covers("europe", "europe-west1"));
    assert_true(em_location_covers("us-east1", "us-east1"));
    assert_false(em_location_covers("us", "europe-west1"));
    assert_false(em_location_covers("asia", "australia-southeast1"));
    assert_false(em_location_covers("us-east1", "us-east4"));
    assert_false(em_location_covers("us-east1", "us"));
    assert_false(em_location_covers("us-central1", "global"));
    assert_false(em_location_covers("mars", "mars"));
}

static void labels_ok(const char *json)
{
    cJSON *labels = cJSON_Parse(json);
    assert_non_null(labels);
    struct em_status st = {0};
    if (em_labels_check(labels, &st) != EM_OK)
        fail_msg("%s refused: %s", json, st.message);
    cJSON_Delete(labels);
}

static void labels_refused(const char *json, const char *message)
{
    cJSON *labels = cJSON_Parse(json);
    assert_non_null(labels);
    struct em_status st = {0};
    if (em_labels_check(labels, &st) != EM_INVALID_ARGUMENT)
        fail_msg("%s accepted", json);
    assert_int_equal(strncmp(st.message, message, strlen(message)), 0);
    cJSON_Delete(labels);
}

static cJSON *many_labels(int count)
{
    cJSON *labels = cJSON_CreateObject();
    for (int i = 0; i < count; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        cJSON_AddStringToObject(labels, key, "v");
    }
    return labels;
}

static void test_labels(void **state)
{
    (void)state;
    labels_ok("{}");
    labels_ok("{\"env\": \"prod\", \"team-1\": \"a_b\", \"empty\": \"\"}");
    labels_ok("{\"city\": \"z\xc3\xbcrich\"}");
    labels_refused("{\"Env\": \"prod\"}", "Invalid label key \"Env\"");
    labels_refused("{\"1env\": \"prod\"}", "Invalid label key \"1env\"");
    labels_refused("{\"_env\": \"prod\"}", "Invalid label key \"_env\"");
    labels_refused("{\"\": \"prod\"}", "Invalid label key \"\"");
    labels_refused("{\"env.x\": \"prod\"}", "Invalid label key \"env.x\"");
    labels_refused("{\"env\": \"Prod\"}", "Invalid value for label \"env\"");
    labels_refused("{\"env\": \"a b\"}", "Invalid value for label \"env\"");
    labels_refused("{\"env\": 3}", "Invalid value for label \"env\"");
    labels_refused("{\"env\": null}", "Invalid value for label \"env\"");
    labels_refused("[\"env\"]", "Labels must be an object");
    labels_refused("\"env\"", "Labels must be an object");

    char json[200];
    char sixty_three[64], sixty_four[65];
    memset(sixty_three, 'a', 63);
    sixty_three[63] = '\0';
    memset(sixty_four, 'a', 64);
    sixty_four[64] = '\0';
    snprintf(json, sizeof(json), "{\"%s\": \"%s\"}", sixty_three, sixty_three);
    labels_ok(json);
    snprintf(json, sizeof(json), "{\"%s\": \"v\"}", sixty_four);
    labels_refused(json, "Invalid label key");
    snprintf(json, sizeof(json), "{\"k\": \"%s\"}", sixty_four);
    labels_refused(json, "Invalid value for label \"k\"");

    /* international characters: allowed anywhere, first included; lengths count
     * characters, so 63 two-byte characters are a valid key and value, 64 are not */
    labels_ok("{\"\xc3\xa9t\xc3\xa9\": \"\xc3\xa9\"}");
    char wide[2 * 64 + 1] = "", wide_json[600];
    for (int i = 0; i < 63; i++)
        strcat(wide, "\xc3\xbc");
    snprintf(wide_json, sizeof(wide_json), "{\"%s\": \"%s\"}", wide, wide);
    labels_ok(wide_json);
    strcat(wide, "\xc3\xbc");
    snprintf(wide_json, sizeof(wide_json), "{\"%s\": \"v\"}", wide);
    labels_refused(wide_json, "Invalid label key");
    snprintf(wide_json, sizeof(wide_json), "{\"k\": \"%s\"}", wide);
    labels_refused(wide_json, "Invalid value for label \"k\"");

    struct em_status st = {0};
    cJSON *labels = many_labels(64);
    assert_int_equal(em_labels_check(labels, &st), EM_OK);
    cJSON_Delete(labels);
    labels = many_labels(65);
    assert_int_equal(em_labels_check(labels, &st), EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, "At most 64 labels are allowed.");
    cJSON_Delete(labels);
    assert_int_equal(em_labels_check(NULL, &st), EM_OK);
}

static void test_labels_are_read_as_json(void **state)
{
    (void)state;
    struct em_status st = {0};
    char *json = NULL;
    cJSON *body = cJSON_Parse("{\"labels\": {\"env\": \"prod\"}, \"name\": \"x\"}");
    assert_int_equal(em_labels_read(body, &json, &st), EM_OK);
    assert_string_equal(json, "{\"env\":\"prod\"}");
    cJSON_free(json);
    cJSON_Delete(body);
    body = cJSON_Parse("{\"labels\": null}");
    assert_int_equal(em_labels_read(body, &json, &st), EM_OK);
    assert_null(json);
    cJSON_Delete(body);
    body = cJSON_Parse("{\"labels\": {\"Env\": \"prod\"}}");
    assert_int_equal(em_labels_read(body, &json, &st), EM_INVALID_ARGUMENT);
    assert_null(json);
    cJSON_Delete(body);
}

static void test_page_tokens_round_trip(void **state)
{
    (void)state;
    const char *names[] = {"projects/p/topics/t", "a", "projects/p/locations/l/keyRings/r?x=+/",
                           "\xff\xfe"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *token = em_page_token_make(names[i]);
        assert_non_null(token);
        assert_null(strpbrk(token, "+/= "));
        char out[128];
        struct em_status st = {0};
        assert_int_equal(em_page_token_read(token, out, sizeof(out), &st), EM_OK);
        assert_string_equal(out, names[i]);
        free(token);
    }
}

static void token_refused(const char *token, size_t out_len)
{
    char out[128];
    struct em_status st = {0};
    assert_int_equal(em_page_token_read(token, out, out_len, &st), EM_INVALID_ARGUMENT);
    char want[128];
    snprintf(want, sizeof(want), "Invalid page token \"%s\".", token);
    assert_string_equal(st.message, want);
}

static void test_bad_page_tokens(void **state)
{
    (void)state;
    token_refused("!!!!", 128);
    token_refused("", 128);
    token_refused("A", 128);
    token_refused("YQBi", 128); /* "a\0b": no NUL may hide in a name */
    char *token = em_page_token_make("projects/p/topics/t");
    token_refused(token, 10); /* longer than the caller's buffer */
    free(token);
    token = em_page_token_make("abcdefghij");
    token_refused(token, 10); /* no room for the terminator */
    char out[11];
    struct em_status st = {0};
    assert_int_equal(em_page_token_read(token, out, sizeof(out), &st), EM_OK);
    assert_string_equal(out, "abcdefghij");
    free(token);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_rules),
        cmocka_unit_test(test_numeric_ids),
        cmocka_unit_test(test_id_message_is_bounded),
        cmocka_unit_test(test_name_id),
        cmocka_unit_test(test_ids_that_spell_a_collection),
        cmocka_unit_test(test_name_prefix),
        cmocka_unit_test(test_project_ids),
        cmocka_unit_test(test_crypto_key_names),
        cmocka_unit_test(test_project_numbers_are_stable_12_digits),
        cmocka_unit_test(test_locations),
        cmocka_unit_test(test_location_covers),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_labels_are_read_as_json),
        cmocka_unit_test(test_page_tokens_round_trip),
        cmocka_unit_test(test_bad_page_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
