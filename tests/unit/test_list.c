/*
 * test_list: em_list, the List methods of every service: filter, orderBy (ascending,
 * descending, several keys, timestamps as times, stable ties), paging (pageSize, tokens that
 * continue exactly where the last page stopped, totalSize, the default and maximum page
 * sizes) and the errors for bad filters, orderings and tokens, including a token reused with
 * another filter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_call.h"
#include "em_json.h"
#include "em_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seven keys in their natural (creation) order. */
static const char keys_json[] =
    "["
    "{\"name\": \"k1\", \"size\": 3, \"state\": \"ENABLED\", \"labels\": {\"env\": \"prod\"},"
    " \"createTime\": \"2026-01-01T00:00:00Z\"},"
    "{\"name\": \"k2\", \"size\": 1, \"state\": \"DISABLED\", \"labels\": {\"env\": \"dev\"},"
    " \"createTime\": \"2026-01-01T00:00:00.5Z\"},"
    "{\"name\": \"k3\", \"size\": 2, \"state\": \"ENABLED\", \"labels\": {\"env\": \"prod\"},"
    " \"createTime\": \"2025-12-31T23:59:59.999Z\"},"
    "{\"name\": \"k4\", \"size\": 3, \"state\": \"ENABLED\", \"labels\": {\"env\": \"dev\"},"
    " \"createTime\": \"2026-01-01T01:00:00+02:00\"},"
    "{\"name\": \"k5\", \"size\": 1, \"state\": \"ENABLED\", \"labels\": {\"env\": \"prod\"},"
    " \"createTime\": \"2026-01-02T00:00:00Z\"},"
    "{\"name\": \"k6\", \"state\": \"DESTROYED\", \"labels\": {\"env\": \"prod\"},"
    " \"createTime\": \"2026-01-01T00:00:00.25Z\"},"
    "{\"name\": \"k7\", \"size\": 10, \"state\": \"ENABLED\", \"labels\": {\"env\": \"prod\"},"
    " \"createTime\": \"2026-01-03T00:00:00Z\"}"
    "]";

static const struct em_list_options opts = {"cryptoKeys", 0, 1000, true};

struct page {
    char names[64]; /* "k1 k2 ..." */
    char token[128];
    int64_t total;
};

static enum em_code list(const char *filter, const char *order_by, int page_size, const char *token,
                         const struct em_list_options *opt, struct page *out, struct em_status *st)
{
    cJSON *items = cJSON_Parse(keys_json);
    assert_non_null(items);
    cJSON *reply = NULL;
    memset(out, 0, sizeof(*out));
    out->total = -1;
    em_status_clear(st);
    enum em_code code = em_list_page(items, filter, order_by, page_size, token, opt, &reply, st);
    if (code)
        return code;
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(reply, opt->items_field))
    {
        if (out->names[0])
            strcat(out->names, " ");
        strcat(out->names, em_json_string(item, "name"));
    }
    const char *next = em_json_string(reply, "nextPageToken");
    snprintf(out->token, sizeof(out->token), "%s", next ? next : "");
    em_json_int64(reply, "totalSize", &out->total);
    cJSON_Delete(reply);
    return EM_OK;
}

/* Lists and checks the names of the page. */
static struct page listed(const char *filter, const char *order_by, int page_size,
                          const char *token, const char *want)
{
    struct page p;
    struct em_status st;
    if (list(filter, order_by, page_size, token, &opts, &p, &st) != EM_OK)
        fail_msg("filter `%s`, orderBy `%s`: %s", filter ? filter : "", order_by ? order_by : "",
                 st.message);
    if (strcmp(p.names, want) != 0)
        fail_msg("filter `%s`, orderBy `%s`: got \"%s\", expected \"%s\"", filter ? filter : "",
                 order_by ? order_by : "", p.names, want);
    return p;
}

static void refused(const char *filter, const char *order_by, const char *token,
                    const char *message)
{
    struct page p;
    struct em_status st;
    assert_int_equal(list(filter, order_by, 0, token, &opts, &p, &st), EM_INVALID_ARGUMENT);
    if (strncmp(st.message, message, strlen(message)) != 0)
        fail_msg("message \"%s\" does not start with \"%s\"", st.message, message);
}

/* ---------------------------------------------------------------- filter */

static void test_everything_in_natural_order(void **state)
{
    (void)state;
    struct page p = listed(NULL, NULL, 0, NULL, "k1 k2 k3 k4 k5 k6 k7");
    assert_string_equal(p.token, "");
    assert_true(p.total == 7);
    listed("", "", 0, "", "k1 k2 k3 k4 k5 k6 k7");
}

static void test_filter(void **state)
{
    (void)state;
    struct page p = listed("labels.env = prod", NULL, 0, NULL, "k1 k3 k5 k6 k7");
    assert_true(p.total == 5);
    listed("state = ENABLED AND size >= 3", NULL, 0, NULL, "k1 k4 k7");
    listed("createTime > \"2026-01-01T00:00:00Z\"", NULL, 0, NULL, "k2 k5 k6 k7");
    p = listed("state = DELETED", NULL, 0, NULL, "");
    assert_true(p.total == 0);
    refused("state = (", NULL, NULL, "Invalid filter: ");
}

static void test_no_match_omits_the_items(void **state)
{
    (void)state;
    cJSON *items = cJSON_Parse(keys_json);
    cJSON *reply = NULL;
    struct em_status st = {0};
    assert_int_equal(em_list_page(items, "name = k9", NULL, 0, NULL, &opts, &reply, &st), EM_OK);
    char *text = em_json_print_free(reply);
    assert_string_equal(text, "{\"totalSize\":0}");
    free(text);
}

/* ---------------------------------------------------------------- orderBy */

static void test_order_by_one_key(void **state)
{
    (void)state;
    listed(NULL, "name desc", 0, NULL, "k7 k6 k5 k4 k3 k2 k1");
    listed(NULL, "name asc", 0, NULL, "k1 k2 k3 k4 k5 k6 k7");
    /* numbers as numbers (10 after 3), ties keep their natural order, missing first */
    listed(NULL, "size", 0, NULL, "k6 k2 k5 k3 k1 k4 k7");
    listed(NULL, "size desc", 0, NULL, "k7 k1 k4 k3 k2 k5 k6");
    listed(NULL, "labels.env", 0, NULL, "k2 k4 k1 k3 k5 k6 k7");
}

static void test_order_by_several_keys(void **state)
{
    (void)state;
    listed(NULL, "size desc, name desc", 0, NULL, "k7 k4 k1 k3 k5 k2 k6");
    listed(NULL, " state  desc ,  size  asc , name", 0, NULL, "k5 k3 k1 k4 k7 k2 k6");
    listed("labels.env = prod", "state, size desc", 0, NULL, "k6 k7 k1 k3 k5");
}

static void test_order_by_timestamps_as_times(void **state)
{
    (void)state;
    /* as text ".5Z" < "Z" and "+02:00" hides an earlier time: compared as instants */
    listed(NULL, "createTime", 0, NULL, "k4 k3 k1 k6 k2 k5 k7");
    listed(NULL, "createTime desc", 0, NULL, "k7 k5 k2 k6 k1 k3 k4");
}

static void test_bad_order_by(void **state)
{
    (void)state;
    const char *bad[] = {"size desc desc", "name; DROP TABLE", "-size",  "size,,name",
                         "a, b, c, d, e",  "name descending",  "la bels"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char want[200];
        snprintf(want, sizeof(want), "Invalid order_by \"%s\": expected \"field [desc], ...\".",
                 bad[i]);
        refused(NULL, bad[i], NULL, want);
    }
    listed(NULL, "a, b, c, name desc", 0, NULL, "k7 k6 k5 k4 k3 k2 k1");
}

/* ---------------------------------------------------------------- paging */

static void test_pages_continue_exactly(void **state)
{
    (void)state;
    struct page p1 = listed(NULL, NULL, 3, NULL, "k1 k2 k3");
    assert_string_not_equal(p1.token, "");
    assert_true(p1.total == 7);
    struct page p2 = listed(NULL, NULL, 3, p1.token, "k4 k5 k6");
    assert_string_not_equal(p2.token, "");
    assert_string_not_equal(p2.token, p1.token);
    struct page p3 = listed(NULL, NULL, 3, p2.token, "k7");
    assert_string_equal(p3.token, "");
    assert_true(p3.total == 7);
    /* a page that ends exactly at the last item has no token */
    struct page all = listed(NULL, NULL, 7, NULL, "k1 k2 k3 k4 k5 k6 k7");
    assert_string_equal(all.token, "");
    /* the page size may change between pages */
    listed(NULL, NULL, 10, p1.token, "k4 k5 k6 k7");
}

static void test_pages_of_a_filtered_ordered_list(void **state)
{
    (void)state;
    const char *filter = "labels.env = prod", *order = "size desc";
    struct page p1 = listed(filter, order, 2, NULL, "k7 k1");
    struct page p2 = listed(filter, order, 2, p1.token, "k3 k5");
    assert_true(p2.total == 5);
    struct page p3 = listed(filter, order, 2, p2.token, "k6");
    assert_string_equal(p3.token, "");
}

static void test_a_token_is_bound_to_its_filter_and_order(void **state)
{
    (void)state;
    struct page p1 = listed("labels.env = prod", "size", 2, NULL, "k6 k5");
    const char *msg = "The page token was made for another filter or order_by; list again from "
                      "the first page.";
    refused("labels.env = dev", "size", p1.token, msg);
    refused(NULL, "size", p1.token, msg);
    refused("labels.env = prod", "size desc", p1.token, msg);
    refused("labels.env = prod", NULL, p1.token, msg);
}

static char *token_of(const char *raw)
{
    char *token = em_b64_encode((const unsigned char *)raw, strlen(raw));
    for (char *p = token; *p; p++)
        if (*p == '=')
            *p = '\0';
    return token;
}

static void test_garbage_tokens_are_refused(void **state)
{
    (void)state;
    refused(NULL, NULL, "!!!", "Invalid page token \"!!!\".");
    refused(NULL, NULL, "abc", "Invalid page token \"abc\".");
    refused(NULL, NULL, "A", "Invalid page token \"A\".");
    /* well-formed base64 of things that are not tokens */
    char *words = token_of("hello world");
    refused(NULL, NULL, words, "Invalid page token");
    free(words);
    struct page p1 = listed(NULL, NULL, 2, NULL, "k1 k2");
    unsigned char *raw;
    size_t len;
    assert_true(em_b64_decode(p1.token, strlen(p1.token), &raw, &len));
    char text[64];
    snprintf(text, sizeof(text), "%.*s", (int)len, (const char *)raw);
    free(raw);
    const char *fingerprint = strchr(text, ':');
    assert_non_null(fingerprint);
    char forged[96];
    snprintf(forged, sizeof(forged), "-2%s", fingerprint);
    char *negative = token_of(forged);
    refused(NULL, NULL, negative, "Invalid page token");
    free(negative);
    /* an offset past the end is an empty last page */
    snprintf(forged, sizeof(forged), "100%s", fingerprint);
    char *past = token_of(forged);
    struct page p = listed(NULL, NULL, 2, past, "");
    assert_string_equal(p.token, "");
    free(past);
    /* an offset too large for any list never overflows */
    snprintf(forged, sizeof(forged), "9223372036854775807%s", fingerprint);
    char *huge = token_of(forged);
    struct em_status st;
    assert_int_equal(list(NULL, NULL, 2, huge, &opts, &p, &st), EM_INVALID_ARGUMENT);
    assert_int_equal(strncmp(st.message, "Invalid page token", 18), 0);
    free(huge);
    snprintf(forged, sizeof(forged), "99999999999999999999999%s", fingerprint);
    huge = token_of(forged);
    refused(NULL, NULL, huge, "Invalid page token");
    free(huge);
}

static void test_default_and_maximum_page_sizes(void **state)
{
    (void)state;
    struct em_list_options small = {"cryptoKeys", 2, 4, false};
    struct page p;
    struct em_status st;
    assert_int_equal(list(NULL, NULL, 0, NULL, &small, &p, &st), EM_OK);
    assert_string_equal(p.names, "k1 k2");
    assert_true(p.total == -1); /* totalSize only when asked for */
    assert_int_equal(list(NULL, NULL, 100, NULL, &small, &p, &st), EM_OK);
    assert_string_equal(p.names, "k1 k2 k3 k4");
    assert_string_not_equal(p.token, "");
    char token[128];
    snprintf(token, sizeof(token), "%s", p.token);
    assert_int_equal(list(NULL, NULL, 100, token, &small, &p, &st), EM_OK);
    assert_string_equal(p.names, "k5 k6 k7");
    assert_int_equal(list(NULL, NULL, -5, NULL, &small, &p, &st), EM_OK);
    assert_string_equal(p.names, "k1 k2");
    struct em_list_options unlimited = {"cryptoKeys", 0, 0, false};
    assert_int_equal(list(NULL, NULL, 0, NULL, &unlimited, &p, &st), EM_OK);
    assert_string_equal(p.names, "k1 k2 k3 k4 k5 k6 k7");
}

/* ---------------------------------------------------------------- through a call */

static void test_list_reply_reads_the_query(void **state)
{
    (void)state;
    struct em_call call = {0};
    call.query[0] = (struct em_query_arg){"pageSize", "2"};
    call.query[1] = (struct em_query_arg){"filter", "state = ENABLED"};
    call.query[2] = (struct em_query_arg){"orderBy", "name desc"};
    call.query_count = 3;
    assert_int_equal(em_list_reply(&call, cJSON_Parse(keys_json), &opts), EM_OK);
    char *text = cJSON_PrintUnformatted(call.reply);
    assert_non_null(strstr(text, "\"totalSize\":5"));
    cJSON_free(text);
    const cJSON *items = cJSON_GetObjectItem(call.reply, "cryptoKeys");
    assert_int_equal(cJSON_GetArraySize(items), 2);
    assert_string_equal(em_json_string(cJSON_GetArrayItem(items, 0), "name"), "k7");
    char token[128];
    snprintf(token, sizeof(token), "%s", em_json_string(call.reply, "nextPageToken"));
    em_call_reset(&call);
    call.query[3] = (struct em_query_arg){"pageToken", token};
    call.query_count = 4;
    assert_int_equal(em_list_reply(&call, cJSON_Parse(keys_json), &opts), EM_OK);
    items = cJSON_GetObjectItem(call.reply, "cryptoKeys");
    assert_string_equal(em_json_string(cJSON_GetArrayItem(items, 0), "name"), "k4");
    em_call_reset(&call);
    call.query[0].value = "two";
    assert_int_equal(em_list_reply(&call, cJSON_Parse(keys_json), &opts), EM_INVALID_ARGUMENT);
    assert_string_equal(call.status.message, "Invalid value at 'page_size' (TYPE_INT32), \"two\"");
    em_call_reset(&call);
    call.query[0].value = "-1";
    assert_int_equal(em_list_reply(&call, cJSON_Parse(keys_json), &opts), EM_INVALID_ARGUMENT);
    em_call_reset(&call);
    call.query[0].value = "2";
    call.query[1].value = "state = = x";
    assert_int_equal(em_list_reply(&call, cJSON_Parse(keys_json), &opts), EM_INVALID_ARGUMENT);
    assert_null(call.reply);
    em_call_reset(&call);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_everything_in_natural_order),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_no_match_omits_the_items),
        cmocka_unit_test(test_order_by_one_key),
        cmocka_unit_test(test_order_by_several_keys),
        cmocka_unit_test(test_order_by_timestamps_as_times),
        cmocka_unit_test(test_bad_order_by),
        cmocka_unit_test(test_pages_continue_exactly),
        cmocka_unit_test(test_pages_of_a_filtered_ordered_list),
        cmocka_unit_test(test_a_token_is_bound_to_its_filter_and_order),
        cmocka_unit_test(test_garbage_tokens_are_refused),
        cmocka_unit_test(test_default_and_maximum_page_sizes),
        cmocka_unit_test(test_list_reply_reads_the_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
