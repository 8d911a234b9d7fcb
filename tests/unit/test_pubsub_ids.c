/*
 * Unit tests of pubsub_ids and pubsub_filter: resource ID rules, resource names, message
 * IDs, ack IDs (round trip, tampering, other subscriptions), store file names, and the
 * restriction of subscription filters to attributes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_filter.h"
#include "em_log.h"
#include "pubsub/pubsub_model.h"

#include <string.h>

static void test_resource_ids(void **state)
{
    (void)state;
    struct em_status st = {0};
    /* the reserved prefix is "goog" in lowercase, as Google's emulator reads it */
    static const char *const good[] = {"abc",    "my-topic",    "T_1.2~3+4%5", "a23456789",
                                       "GOOGle", "Google-feed", "agoog"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(ps_check_id("topic", good[i], &st), EM_OK);
    char longest[256];
    memset(longest, 'a', 255);
    longest[255] = '\0';
    assert_int_equal(ps_check_id("topic", longest, &st), EM_OK);
    char too_long[257];
    memset(too_long, 'a', 256);
    too_long[256] = '\0';
    static const char *const bad[] = {"ab",    "1abc",    "-abc", "goog-topic", "google",
                                      "a b c", "abc/def", "abc!", "",           "ab\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ps_check_id("subscription", bad[i], &st), EM_INVALID_ARGUMENT);
        assert_non_null(strstr(st.message, "subscription ID"));
    }
    assert_int_equal(ps_check_id("topic", too_long, &st), EM_INVALID_ARGUMENT);
}

static void test_resource_names(void **state)
{
    (void)state;
    struct em_status st = {0};
    char project[64], id[260];
    assert_int_equal(ps_parse_name("projects/my-project/topics/orders", "topics", project,
                                   sizeof(project), id, sizeof(id), &st),
                     EM_OK);
    assert_string_equal(project, "my-project");
    assert_string_equal(id, "orders");
    assert_int_equal(ps_parse_name("projects/my-project/subscriptions/orders", "topics", project,
                                   sizeof(project), id, sizeof(id), &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(ps_parse_name("projects/my-project/topics/a/b", "topics", project,
                                   sizeof(project), id, sizeof(id), &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(ps_parse_name("projects/X/topics/orders", "topics", project, sizeof(project),
                                   id, sizeof(id), &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(ps_parse_name("projects/my-project/topics/go", "topics", project,
                                   sizeof(project), id, sizeof(id), &st),
                     EM_INVALID_ARGUMENT);
}

static void test_message_ids(void **state)
{
    (void)state;
    char id[PS_MESSAGE_ID_MAX];
    ps_message_id(1, id);
    assert_string_equal(id, "1");
    ps_message_id(9223372036854775807LL, id);
    assert_string_equal(id, "9223372036854775807");
}

static void test_ack_ids(void **state)
{
    (void)state;
    struct ps_ack_ref ref = {42, 1234567890123LL, 7}, back;
    char text[PS_ACK_ID_MAX];
    ps_ack_id_encode(&ref, text);
    assert_int_equal(strlen(text), 28);
    assert_true(ps_ack_id_decode(text, &back));
    assert_int_equal(back.sub_id, 42);
    assert_int_equal(back.seq, 1234567890123LL);
    assert_int_equal(back.gen, 7);
    /* another delivery of the same message has another ack ID */
    struct ps_ack_ref next = {42, 1234567890123LL, 8};
    char other[PS_ACK_ID_MAX];
    ps_ack_id_encode(&next, other);
    assert_string_not_equal(text, other);
    /* any changed character is caught by the checksum */
    for (size_t i = 0; i < strlen(text); i++) {
        char copy[PS_ACK_ID_MAX];
        strcpy(copy, text);
        copy[i] = copy[i] == 'A' ? 'B' : 'A';
        assert_false(ps_ack_id_decode(copy, &back));
    }
    assert_false(ps_ack_id_decode("garbage", &back));
    assert_false(ps_ack_id_decode("", &back));
    assert_false(ps_ack_id_decode(NULL, &back));
    assert_false(ps_ack_id_decode("projects/p/subscriptions/s:1", &back));
    strcat(text, "A");
    assert_false(ps_ack_id_decode(text, &back));
}

static void test_topic_file_names(void **state)
{
    (void)state;
    char a[PS_FILE_NAME_MAX], b[PS_FILE_NAME_MAX];
    ps_topic_file_name("projects/p/topics/secret-name", a);
    ps_topic_file_name("projects/p/topics/secret-name", b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), 64 + 3);
    assert_null(strstr(a, "secret"));
    ps_topic_file_name("projects/p/topics/other", b);
    assert_string_not_equal(a, b);
}

static void test_filter_restricted_to_attributes(void **state)
{
    (void)state;
    struct em_status st = {0};
    struct em_filter *f;
    static const char *const allowed[] = {
        "attributes.kind = \"a\"",
        "attributes.kind != \"a\"",
        "attributes:kind",
        "NOT attributes:kind",
        "hasPrefix(attributes.region, \"eu\")",
        "attributes.a = \"1\" AND (attributes.b = \"2\" OR -attributes:c)",
        "(attributes:a AND attributes:b) OR attributes:c",
        "attributes:a OR attributes:b OR NOT NOT attributes:c",
        "attributes:\"iana.org/language_tag\" AND NOT attributes.name = \"com\"",
        "attributes:a-b_c9",
        "attributes.k = 'single'",
        "attributes:\"\\u307F\\u3093\\u306A\"",
        "attributes.k = \"\\x41\\101\\\"\\\\\\n\\U0001F600\"",
        "  attributes:k  ", /* white space around */
    };
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        assert_int_equal(ps_filter_compile(allowed[i], &f, &st), EM_OK);
        em_filter_free(f);
    }
    static const char *const refused[] = {
        "data = \"x\"",                                      /* not an attribute */
        "messageId = \"1\"",                                 /* idem */
        "attributes.n > \"1\"",                              /* no ordering comparisons */
        "hello",                                             /* a bare value searches everything */
        "hasSuffix(attributes.a, \"x\")", "attributes.a = ", /* syntax */
        /* Pub/Sub's grammar, narrower than em_filter's (AIP-160) */
        "attributes:a AND attributes:b OR attributes:c", /* AND and OR mixed */
        "attributes:a OR attributes:b AND attributes:c",
        "attributes:a attributes:b",      /* juxtaposition is no AND here */
        "attributes:a and attributes:b",  /* operators are uppercase */
        "attributes.a = x",               /* values are string literals */
        "\"x\" = attributes.a",           /* an equality begins with a key */
        "attributes.a = attributes.b",    /* and compares it with a value */
        "hasPrefix(attributes.a, x)",     /* idem */
        "hasPrefix(attributes.a)",        /* two arguments */
        "hasprefix(attributes.a, \"x\")", /* case-sensitive */
        "attributes.a.b = \"x\"",         /* a key with '.' is written as a string */
        "attributes:\xe3\x81\xbf",        /* so is a key of non-ASCII letters */
        "attributes.a = \"\\q\"",         /* an unknown escape */
        "attributes.a = \"\\x4\"",        /* two hexadecimal digits */
        "attributes.a = \"\\uD800\"",     /* a surrogate is no character */
        "attributes.a = \"\\000\"",       /* no NUL */
        "attributes.a = \"open",          /* unclosed */
        "(attributes:a", "attributes:a)", "NOT", "attributes:", "AND attributes:a",
        "attributes:\"\"", /* no empty key (publish refuses one too) */
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        assert_int_equal(ps_filter_compile(refused[i], &f, &st), EM_INVALID_ARGUMENT);
        assert_null(f);
    }
    char too_long[300];
    memset(too_long, ' ', sizeof(too_long) - 1);
    memcpy(too_long, "attributes:a", 12);
    too_long[299] = '\0';
    assert_int_equal(ps_filter_compile(too_long, &f, &st), EM_INVALID_ARGUMENT);
    assert_int_equal(ps_filter_compile("", &f, &st), EM_OK);
    assert_null(f);
}

static void test_filter_matching(void **state)
{
    (void)state;
    struct em_status st = {0};
    struct em_filter *f;
    assert_int_equal(
        ps_filter_compile("attributes.color = \"red\" AND NOT attributes:test", &f, &st), EM_OK);
    assert_true(ps_filter_matches(f, "{\"color\":\"red\"}"));
    assert_false(ps_filter_matches(f, "{\"color\":\"blue\"}"));
    assert_false(ps_filter_matches(f, "{\"color\":\"red\",\"test\":\"\"}"));
    assert_false(ps_filter_matches(f, ""));
    em_filter_free(f);
    assert_int_equal(ps_filter_compile("hasPrefix(attributes.region, \"eu\")", &f, &st), EM_OK);
    assert_true(ps_filter_matches(f, "{\"region\":\"europe-west1\"}"));
    assert_false(ps_filter_matches(f, "{\"region\":\"us-east1\"}"));
    em_filter_free(f);
    /* '=' is exact in Pub/Sub: a trailing '*' is a character, not a prefix wildcard */
    assert_int_equal(ps_filter_compile("attributes.region = \"eu*\"", &f, &st), EM_OK);
    assert_false(ps_filter_matches(f, "{\"region\":\"europe-west1\"}"));
    assert_true(ps_filter_matches(f, "{\"region\":\"eu*\"}"));
    em_filter_free(f);
    assert_int_equal(ps_filter_compile("NOT (attributes.region != \"eu*\")", &f, &st), EM_OK);
    assert_false(ps_filter_matches(f, "{\"region\":\"eu-1\"}"));
    em_filter_free(f);
    assert_true(ps_filter_matches(NULL, "")); /* no filter: everything */
}

/* Escapes decode to the bytes they name; quoted keys may hold any character; NOT binds
 * tighter than AND; '-' is NOT. */
static void test_filter_strings_and_precedence(void **state)
{
    (void)state;
    struct em_status st = {0};
    struct em_filter *f;
    assert_int_equal(ps_filter_compile("attributes.k = \"\\u00e9\"", &f, &st), EM_OK);
    assert_true(ps_filter_matches(f, "{\"k\":\"\xc3\xa9\"}"));
    assert_false(ps_filter_matches(f, "{\"k\":\"u00e9\"}"));
    em_filter_free(f);
    assert_int_equal(ps_filter_compile("attributes.k = \"\\x41\\102\"", &f, &st), EM_OK);
    assert_true(ps_filter_matches(f, "{\"k\":\"AB\"}"));
    em_filter_free(f);
    assert_int_equal(ps_filter_compile("attributes.k = 'say \"hi\\\\'", &f, &st), EM_OK);
    assert_true(ps_filter_matches(f, "{\"k\":\"say \\\"hi\\\\\"}"));
    em_filter_free(f);
    assert_int_equal(
        ps_filter_compile("attributes:\"x y\" AND attributes.\"a.b\" = \"1\"", &f, &st), EM_OK);
    assert_true(ps_filter_matches(f, "{\"x y\":\"\",\"a.b\":\"1\"}"));
    assert_false(ps_filter_matches(f, "{\"x y\":\"\",\"a\":\"1\"}"));
    em_filter_free(f);
    assert_int_equal(ps_filter_compile("hasPrefix(attributes.\"r 1\", \"e\\u0075\")", &f, &st),
                     EM_OK);
    assert_true(ps_filter_matches(f, "{\"r 1\":\"eu-west\"}"));
    assert_false(ps_filter_matches(f, "{\"r 1\":\"us\"}"));
    em_filter_free(f);
    /* (NOT kind = a) AND region */
    assert_int_equal(
        ps_filter_compile("NOT attributes.kind = \"a\" AND attributes:region", &f, &st), EM_OK);
    assert_true(ps_filter_matches(f, "{\"kind\":\"b\",\"region\":\"x\"}"));
    assert_false(ps_filter_matches(f, "{\"kind\":\"a\",\"region\":\"x\"}"));
    assert_false(ps_filter_matches(f, "{\"kind\":\"b\"}"));
    em_filter_free(f);
    assert_int_equal(ps_filter_compile("-attributes:k OR attributes.k = \"*\"", &f, &st), EM_OK);
    assert_true(ps_filter_matches(f, "{}"));
    assert_true(ps_filter_matches(f, "{\"k\":\"*\"}"));
    assert_false(ps_filter_matches(f, "{\"k\":\"v\"}"));
    em_filter_free(f);
    /* attributes:KEY is about that key only: "*" is a key, not "any key" */
    assert_int_equal(ps_filter_compile("attributes:\"*\"", &f, &st), EM_OK);
    assert_true(ps_filter_matches(f, "{\"*\":\"v\"}"));
    assert_false(ps_filter_matches(f, "{\"k\":\"v\"}"));
    em_filter_free(f);
    assert_int_equal(ps_filter_compile("attributes:k", &f, &st), EM_OK);
    assert_true(ps_filter_matches(f, "{\"k\":\"\"}")); /* an empty value is there */
    assert_false(ps_filter_matches(f, "{\"kk\":\"v\"}"));
    em_filter_free(f);
    assert_int_equal(ps_filter_compile(" \t ", &f, &st), EM_OK); /* blank: no filter */
    assert_null(f);
}

int main(void)
{
    em_log_init("test", EM_LOG_WARNING);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resource_ids),
        cmocka_unit_test(test_resource_names),
        cmocka_unit_test(test_message_ids),
        cmocka_unit_test(test_ack_ids),
        cmocka_unit_test(test_topic_file_names),
        cmocka_unit_test(test_filter_restricted_to_attributes),
        cmocka_unit_test(test_filter_matching),
        cmocka_unit_test(test_filter_strings_and_precedence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
