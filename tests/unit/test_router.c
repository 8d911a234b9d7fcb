/*
 * test_router: em_router against Google's HTTP rule templates: captured variables with
 * patterns and bare {var}, `**` at the end, `:verb` suffixes, the method check, the path
 * limits (length, segment count, empty segments) and templates refused at start-up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct em_route routes[] = {
    {"GET", "v1/{name=projects/*/locations/*}", NULL, "GetLocation"},
    {"GET", "v1/{parent=projects/*/locations/*}/keyRings", NULL, "ListKeyRings"},
    {"POST", "v1/{parent=projects/*/locations/*}/keyRings", NULL, "CreateKeyRing"},
    {"POST", "v1/{name=projects/*/locations/*/keyRings/*/cryptoKeys/**}:encrypt", NULL, "Encrypt"},
    {"GET", "v1/projects/{project}/topics/{topic}", NULL, "GetTopic"},
    {"POST", "v1/projects/{project}/topics/{topic}:publish", NULL, "Publish"},
    {"GET", "/health", NULL, "Health"},
    {"GET", "v1/operations/**", NULL, "GetOperation"},
};

#define ROUTE_COUNT (sizeof(routes) / sizeof(routes[0]))

static int setup(void **state)
{
    struct em_router *router = em_router_new();
    struct em_status st = {0};
    if (!router || em_router_add(router, routes, ROUTE_COUNT, &st) != EM_OK) {
        em_router_free(router);
        return -1;
    }
    *state = router;
    return 0;
}

static int teardown(void **state)
{
    em_router_free(*state);
    return 0;
}

static const char *var(const struct em_match *m, const char *name)
{
    for (int i = 0; i < m->var_count; i++)
        if (strcmp(m->vars[i].name, name) == 0)
            return m->vars[i].value;
    return NULL;
}

/* Matches and returns the RPC name of the route hit. */
static const char *matched(struct em_router *router, const char *method, const char *path,
                           struct em_match *m)
{
    enum em_match_result r = em_router_match(router, method, path, m);
    if (r != EM_MATCHED)
        fail_msg("%s %s: expected a match, got %d", method, path, (int)r);
    return m->route->method_name;
}

static void no_route(struct em_router *router, const char *method, const char *path)
{
    struct em_match m;
    enum em_match_result r = em_router_match(router, method, path, &m);
    if (r != EM_NO_ROUTE)
        fail_msg("%s %s: expected no route, got %d", method, path, (int)r);
}

static void test_pattern_variable_captures_every_segment(void **state)
{
    struct em_match m;
    assert_string_equal(matched(*state, "GET", "v1/projects/p/locations/us-east1", &m),
                        "GetLocation");
    assert_int_equal(m.var_count, 1);
    assert_string_equal(var(&m, "name"), "projects/p/locations/us-east1");
    assert_string_equal(matched(*state, "GET", "v1/projects/p/locations/global/keyRings", &m),
                        "ListKeyRings");
    assert_string_equal(var(&m, "parent"), "projects/p/locations/global");
}

static void test_pattern_literals_must_match(void **state)
{
    no_route(*state, "GET", "v1/projects/p/regions/us-east1");
    no_route(*state, "GET", "v1/projects/p/locations");
    no_route(*state, "GET", "v1/projects/p/locations/l/extra");
    no_route(*state, "GET", "v2/projects/p/locations/l");
    no_route(*state, "GET", "v1/Projects/p/locations/l");
}

static void test_bare_variables_are_one_segment(void **state)
{
    struct em_match m;
    assert_string_equal(matched(*state, "GET", "v1/projects/my-proj/topics/orders", &m),
                        "GetTopic");
    assert_int_equal(m.var_count, 2);
    assert_string_equal(var(&m, "project"), "my-proj");
    assert_string_equal(var(&m, "topic"), "orders");
    no_route(*state, "GET", "v1/projects/my-proj/topics/orders/extra");
}

static void test_double_star_takes_the_rest(void **state)
{
    struct em_match m;
    const char *key = "v1/projects/p/locations/l/keyRings/r/cryptoKeys/k:encrypt";
    assert_string_equal(matched(*state, "POST", key, &m), "Encrypt");
    assert_string_equal(var(&m, "name"), "projects/p/locations/l/keyRings/r/cryptoKeys/k");
    const char *version =
        "v1/projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/3:encrypt";
    assert_string_equal(matched(*state, "POST", version, &m), "Encrypt");
    assert_string_equal(var(&m, "name"),
                        "projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/3");
    assert_string_equal(matched(*state, "GET", "v1/operations/a/b/c", &m), "GetOperation");
    /* `**` needs at least one segment */
    no_route(*state, "POST", "v1/projects/p/locations/l/keyRings/r/cryptoKeys:encrypt");
    no_route(*state, "GET", "v1/operations");
}

static void test_verb_must_match_both_ways(void **state)
{
    struct em_match m;
    assert_string_equal(matched(*state, "POST", "v1/projects/p/topics/t:publish", &m), "Publish");
    assert_string_equal(var(&m, "topic"), "t");
    /* a verb the template does not have, and a template verb the path lacks */
    no_route(*state, "GET", "v1/projects/p/topics/t:get");
    no_route(*state, "POST", "v1/projects/p/locations/l/keyRings/r/cryptoKeys/k");
    no_route(*state, "POST", "v1/projects/p/topics/t:subscribe");
    no_route(*state, "POST", "v1/projects/p/topics/t:");
    no_route(*state, "GET", "v1/projects/p/locations/l:list");
    no_route(*state, "POST", "v1/projects/p/locations/l/keyRings/r/cryptoKeys/k:decrypt");
}

static void test_wrong_method_is_told_apart_from_no_route(void **state)
{
    struct em_match m;
    assert_int_equal(em_router_match(*state, "DELETE", "v1/projects/p/topics/t", &m),
                     EM_WRONG_METHOD);
    assert_int_equal(em_router_match(*state, "GET", "v1/projects/p/topics/t:publish", &m),
                     EM_WRONG_METHOD);
    assert_int_equal(em_router_match(*state, "DELETE", "v1/nowhere", &m), EM_NO_ROUTE);
    /* the same path under two methods reaches each route */
    assert_string_equal(matched(*state, "POST", "v1/projects/p/locations/l/keyRings", &m),
                        "CreateKeyRing");
    assert_string_equal(matched(*state, "GET", "v1/projects/p/locations/l/keyRings", &m),
                        "ListKeyRings");
}

static void test_leading_slash_is_optional(void **state)
{
    struct em_match m;
    assert_string_equal(matched(*state, "GET", "/v1/projects/p/topics/t", &m), "GetTopic");
    assert_string_equal(matched(*state, "GET", "health", &m), "Health");
    assert_string_equal(matched(*state, "GET", "/health", &m), "Health");
    no_route(*state, "GET", "//health");
}

static void test_empty_segments_never_match(void **state)
{
    no_route(*state, "GET", "v1/projects//locations/l");
    no_route(*state, "GET", "v1/projects/p/locations/");
    no_route(*state, "GET", "v1/projects/p/topics/t/");
    no_route(*state, "GET", "v1//projects/p/topics/t");
    no_route(*state, "GET", "v1/operations/a//b");
    no_route(*state, "GET", "v1/operations/a/");
    no_route(*state, "GET", "");
    no_route(*state, "GET", "/");
}

static char *path_of_length(const char *prefix, size_t len)
{
    char *path = malloc(len + 1);
    assert_non_null(path);
    size_t n = strlen(prefix);
    memcpy(path, prefix, n);
    memset(path + n, 'x', len - n);
    path[len] = '\0';
    return path;
}

static void test_long_paths(void **state)
{
    struct em_match m;
    char *longest = path_of_length("v1/projects/p/topics/", EM_PATH_MAX - 1);
    assert_string_equal(matched(*state, "GET", longest, &m), "GetTopic");
    assert_int_equal(strlen(var(&m, "topic")), EM_PATH_MAX - 1 - strlen("v1/projects/p/topics/"));
    free(longest);
    char *too_long = path_of_length("v1/projects/p/topics/", EM_PATH_MAX);
    no_route(*state, "GET", too_long);
    free(too_long);
}

static char *path_of_segments(const char *prefix, int segments)
{
    char *path = malloc(strlen(prefix) + 2 * (size_t)segments + 1);
    assert_non_null(path);
    strcpy(path, prefix);
    for (int i = 0; i < segments; i++)
        strcat(path, i ? "/s" : "s");
    return path;
}

static void test_segment_limit(void **state)
{
    struct em_match m;
    /* "v1/operations/" is two segments */
    char *most = path_of_segments("v1/operations/", EM_MAX_SEGMENTS - 2);
    assert_string_equal(matched(*state, "GET", most, &m), "GetOperation");
    free(most);
    char *too_many = path_of_segments("v1/operations/", EM_MAX_SEGMENTS - 1);
    no_route(*state, "GET", too_many);
    free(too_many);
}

static void test_captures_of_a_long_multi_variable_path(void **state)
{
    (void)state;
    static const struct em_route six[] = {
        {"GET", "{a=**}", NULL, "A"},
        {"GET", "x/{a}/{b}/{c}/{d}/{e}/{f=**}", NULL, "Six"},
    };
    struct em_router *router = em_router_new();
    struct em_status st = {0};
    assert_int_equal(em_router_add(router, six, 2, &st), EM_OK);
    struct em_match m;
    char *path = path_of_length("x/a/b/c/d/e/", EM_PATH_MAX - 1);
    assert_string_equal(matched(router, "GET", path, &m), "A");
    assert_string_equal(var(&m, "a"), path);
    free(path);
    static const struct em_route six_only[] = {
        {"GET", "x/{a}/{b}/{c}/{d}/{e}/{f=**}", NULL, "Six"}};
    em_router_free(router);
    router = em_router_new();
    assert_int_equal(em_router_add(router, six_only, 1, &st), EM_OK);
    path = path_of_length("x/a/b/c/d/e/", EM_PATH_MAX - 1);
    assert_string_equal(matched(router, "GET", path, &m), "Six");
    assert_int_equal(m.var_count, 6);
    assert_string_equal(var(&m, "e"), "e");
    assert_string_equal(var(&m, "f"), path + strlen("x/a/b/c/d/e/"));
    free(path);
    em_router_free(router);
}

static void refused(const char *template)
{
    struct em_route route = {"GET", template, NULL, "Bad"};
    struct em_router *router = em_router_new();
    struct em_status st = {0};
    if (em_router_add(router, &route, 1, &st) == EM_OK)
        fail_msg("template \"%s\" was accepted", template);
    assert_non_null(strstr(st.message, "malformed route template"));
    /* nothing half-added: the router still answers */
    struct em_match m;
    assert_int_equal(em_router_match(router, "GET", "v1/x", &m), EM_NO_ROUTE);
    em_router_free(router);
}

static void test_malformed_templates_are_refused(void **state)
{
    (void)state;
    refused("");
    refused("v1//x");
    refused("v1/x/");
    refused("v1/{name=projects/*");
    refused("v1/{name=}");
    refused("v1/{name=projects//x}");
    refused("v1/{a}/{b}/{c}/{d}/{e}/{f}/{g}"); /* more than EM_MAX_VARS */
    refused("v1/**/x");                        /* `**` only at the end */
    refused("v1/{name=**}/x");
    refused("v1/{}");
    refused("v1/{name}x");
    refused("v1/x:");
    char *deep = path_of_segments("", EM_MAX_SEGMENTS + 1);
    refused(deep);
    free(deep);
}

/* "/" is the root path and nothing else; without it the root matches no route. */
static void test_root_template_matches_the_root_only(void **state)
{
    (void)state;
    static const struct em_route root_routes[] = {
        {"GET", "/", NULL, "Page"},
        {"GET", "v1/**", NULL, "Any"},
    };
    struct em_router *router = em_router_new();
    struct em_status st = {0};
    assert_int_equal(em_router_add(router, root_routes, 2, &st), EM_OK);
    struct em_match m;
    assert_string_equal(matched(router, "GET", "/", &m), "Page");
    assert_string_equal(matched(router, "GET", "", &m), "Page");
    assert_int_equal(m.var_count, 0);
    assert_string_equal(matched(router, "GET", "/v1/x", &m), "Any");
    assert_int_equal(em_router_match(router, "POST", "/", &m), EM_WRONG_METHOD);
    no_route(router, "GET", "//");
    no_route(router, "GET", "/:verb");
    no_route(router, "GET", "/x");
    em_router_free(router);
}

/* A fallback takes every request the table does not match, whatever its method or path. */
static void test_fallback_takes_what_nothing_else_matches(void **state)
{
    (void)state;
    static const struct em_route table[] = {{"GET", "health", NULL, "Health"}};
    static const struct em_route fallback = {"GET", "**", NULL, "Unbuilt"};
    struct em_router *router = em_router_new();
    struct em_status st = {0};
    assert_int_equal(em_router_add(router, table, 1, &st), EM_OK);
    struct em_match m;
    no_route(router, "GET", "v2/projects/p/instances");
    em_router_set_fallback(router, &fallback);
    assert_string_equal(matched(router, "GET", "/health", &m), "Health");
    static const char *const paths[] = {
        "/v2/projects/p/instances",
        "/v1/projects/p/instances/i/databases/d/sessions:batchCreate",
        "/",
        "",
        "//a//b/",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        assert_string_equal(matched(router, "DELETE", paths[i], &m), "Unbuilt");
        assert_int_equal(m.var_count, 0);
    }
    assert_string_equal(matched(router, "POST", "/health", &m), "Unbuilt");
    char *deep = path_of_segments("/v1", EM_MAX_SEGMENTS + 4);
    assert_string_equal(matched(router, "GET", deep, &m), "Unbuilt");
    free(deep);
    em_router_free(router);
}

static void test_good_templates_after_a_bad_one_still_work(void **state)
{
    (void)state;
    static const struct em_route mixed[] = {
        {"GET", "v1/ok", NULL, "Ok"},
        {"GET", "v1/{broken", NULL, "Broken"},
    };
    struct em_router *router = em_router_new();
    struct em_status st = {0};
    assert_int_equal(em_router_add(router, mixed, 2, &st), EM_INTERNAL);
    assert_non_null(strstr(st.message, "v1/{broken"));
    struct em_match m;
    assert_string_equal(matched(router, "GET", "v1/ok", &m), "Ok");
    em_router_free(router);
    em_router_free(NULL);
}

static void unescaped_is(const char *in, const char *expected, size_t expected_len)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", in);
    size_t len = em_url_unescape(buf);
    assert_int_equal(len, expected_len);
    assert_int_equal(strlen(buf), expected_len);
    assert_memory_equal(buf, expected, expected_len);
}

static void test_url_unescape_keeps_nul_visible(void **state)
{
    (void)state;
    unescaped_is("keyRingId", "keyRingId", 9);
    unescaped_is("a%2Fb%3a", "a/b:", 4);
    unescaped_is("caf%C3%A9", "caf\xc3\xa9", 5);
    unescaped_is("100%", "100%", 4);
    unescaped_is("%zz%4", "%zz%4", 5);
    unescaped_is("a+b", "a+b", 3); /* '+' is a plus, as libmicrohttpd reads it */
    /* %00 would cut "ab%00cd" to "ab": it becomes 0xFF, which fails the UTF-8 check */
    unescaped_is("ab%00cd",
                 "ab\xff"
                 "cd",
                 5);
    unescaped_is("%00", "\xff", 1);
    unescaped_is("", "", 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pattern_variable_captures_every_segment, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pattern_literals_must_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bare_variables_are_one_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_double_star_takes_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verb_must_match_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_method_is_told_apart_from_no_route, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_leading_slash_is_optional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_segments_never_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_limit, setup, teardown),
        cmocka_unit_test(test_captures_of_a_long_multi_variable_path),
        cmocka_unit_test(test_malformed_templates_are_refused),
        cmocka_unit_test(test_root_template_matches_the_root_only),
        cmocka_unit_test(test_fallback_takes_what_nothing_else_matches),
        cmocka_unit_test(test_good_templates_after_a_bad_one_still_work),
        cmocka_unit_test(test_url_unescape_keeps_nul_visible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
