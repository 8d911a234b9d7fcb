/*
 * test_bigtable_consistency: the consistency token's text (bigtable_consistency.h): a token
 * formatted and parsed back unchanged, opaque (base64url, no padding), bound to its table;
 * everything else refused with INVALID_ARGUMENT (empty, not base64, a wrong magic, a bad
 * cluster line, a number below -1, more lines than clusters an instance can have). What
 * generate and check read from the replicas is tested in test_bigtable_data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bigtable/bigtable_consistency.h"
#include "em_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TABLE "projects/p/instances/i/tables/t"

static void test_round_trip(void **state)
{
    (void)state;
    struct bt_consistency_token in = {.count = 2}, out;
    struct em_status st = {0};
    snprintf(in.table, sizeof(in.table), "%s", TABLE);
    snprintf(in.clusters[0], sizeof(in.clusters[0]), "east-c1");
    snprintf(in.clusters[1], sizeof(in.clusters[1]), "west-c2");
    in.seqs[0] = 41;
    in.seqs[1] = -1;
    char *text = bt_consistency_token_format(&in);
    assert_non_null(text);
    assert_null(strpbrk(text, "+/=\n")); /* base64url, no padding */
    assert_int_equal(bt_consistency_token_parse(text, TABLE, &out, &st), EM_OK);
    assert_string_equal(out.table, TABLE);
    assert_int_equal(out.count, 2);
    assert_string_equal(out.clusters[1], "west-c2");
    assert_int_equal(out.seqs[0], 41);
    assert_int_equal(out.seqs[1], -1);
    /* bound to its table */
    assert_int_equal(bt_consistency_token_parse(text, TABLE "2", &out, &st), EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "not generated for the table"));
    free(text);
}

/* The base64url of text, as a token would be. */
static char *encode(const char *text)
{
    char *out = em_b64_encode((const unsigned char *)text, strlen(text));
    for (char *c = out; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    return out;
}

static void expect_invalid(const char *token)
{
    struct bt_consistency_token out;
    struct em_status st = {0};
    assert_int_equal(bt_consistency_token_parse(token, TABLE, &out, &st), EM_INVALID_ARGUMENT);
}

static void expect_invalid_text(const char *text)
{
    char *token = encode(text);
    expect_invalid(token);
    free(token);
}

static void test_refusals(void **state)
{
    (void)state;
    expect_invalid(NULL);
    expect_invalid("");
    expect_invalid("not a token!");
    expect_invalid("a"); /* not base64 */
    expect_invalid_text("bt2\n" TABLE "\neast-c1=1\n");
    expect_invalid_text("bt1\n" TABLE);              /* no end of line */
    expect_invalid_text("bt1\n\neast-c1=1\n");       /* no table */
    expect_invalid_text("bt1\n" TABLE "\nEast=1\n"); /* not a cluster id */
    expect_invalid_text("bt1\n" TABLE "\neast-c1=\n");
    expect_invalid_text("bt1\n" TABLE "\neast-c1=-2\n");
    expect_invalid_text("bt1\n" TABLE "\neast-c1=1x\n");
    expect_invalid_text("bt1\n" TABLE "\n=1\n");
    expect_invalid_text("bt1\n" TABLE "\neast-c1=1"); /* cut short */
    char text[2048];
    int n = snprintf(text, sizeof(text), "bt1\n%s\n", TABLE);
    for (int i = 0; i <= BT_MAX_CLUSTERS; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "c%d=1\n", i);
    expect_invalid_text(text); /* more clusters than an instance has */

    struct bt_consistency_token out;
    struct em_status st = {0};
    char *token = encode("bt1\n" TABLE "\n"); /* a table without clusters is a token */
    assert_int_equal(bt_consistency_token_parse(token, TABLE, &out, &st), EM_OK);
    assert_int_equal(out.count, 0);
    free(token);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
