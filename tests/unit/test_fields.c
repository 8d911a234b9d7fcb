/*
 * test_fields: em_fields, partial responses: members named alone kept whole, paths with
 * '/' or '.' into objects and through arrays, sub-selections in parentheses, '*', proto
 * names, merged paths, errors with their position, and the limits on a hostile selection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_fields.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const REPLY =
    "{\"keyRings\":[{\"name\":\"a\",\"createTime\":\"t1\",\"labels\":{\"env\":\"prod\",\"team\":"
    "\"x\"}},"
    "{\"name\":\"b\",\"createTime\":\"t2\"}],\"nextPageToken\":\"n\",\"totalSize\":2}";

/* The reply as selection keeps it, or the error's message. */
static char *selected(const char *selection)
{
    struct em_fields *fields = (struct em_fields *)0x1;
    struct em_status st = {0};
    if (em_fields_parse(selection, &fields, &st)) {
        assert_null(fields);
        assert_int_equal(st.code, EM_INVALID_ARGUMENT);
        return strdup(st.message);
    }
    cJSON *json = cJSON_Parse(REPLY);
    em_fields_apply(fields, json);
    em_fields_free(fields);
    char *text = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    return text;
}

static void keeps(const char *selection, const char *want)
{
    char *got = selected(selection);
    assert_string_equal(got, want);
    free(got);
}

static void test_members_and_paths(void **state)
{
    (void)state;
    keeps("nextPageToken", "{\"nextPageToken\":\"n\"}");
    keeps("totalSize,nextPageToken", "{\"nextPageToken\":\"n\",\"totalSize\":2}");
    keeps("keyRings/name,nextPageToken",
          "{\"keyRings\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"nextPageToken\":\"n\"}");
    keeps("keyRings.create_time",
          "{\"keyRings\":[{\"createTime\":\"t1\"},{\"createTime\":\"t2\"}]}");
    keeps("keyRings(name,labels/env)",
          "{\"keyRings\":[{\"name\":\"a\",\"labels\":{\"env\":\"prod\"}},{\"name\":\"b\"}]}");
    keeps("keyRings/labels,keyRings/name", "{\"keyRings\":[{\"name\":\"a\",\"labels\":{\"env\":"
                                           "\"prod\",\"team\":\"x\"}},{\"name\":\"b\"}]}");
    keeps("keyRings,keyRings/name", /* named alone: whole, whatever else is asked */
          "{\"keyRings\":[{\"name\":\"a\",\"createTime\":\"t1\",\"labels\":{\"env\":\"prod\","
          "\"team\":\"x\"}},{\"name\":\"b\",\"createTime\":\"t2\"}]}");
    keeps("keyRings/*/env", "{\"keyRings\":[{\"labels\":{\"env\":\"prod\"}},{}]}");
    keeps("nextPageToken/deeper,totalSize", "{\"totalSize\":2}"); /* a scalar has no parts */
    keeps("noSuchField", "{}");
}

static void test_everything(void **state)
{
    (void)state;
    char *whole = selected("*");
    cJSON *reply = cJSON_Parse(REPLY);
    char *want = cJSON_PrintUnformatted(reply);
    assert_string_equal(whole, want);
    free(whole);
    free(want);
    cJSON_Delete(reply);
    struct em_fields *fields = (struct em_fields *)0x1;
    struct em_status st = {0};
    assert_int_equal(em_fields_parse("", &fields, &st), EM_OK);
    assert_null(fields); /* nothing to filter */
    assert_int_equal(em_fields_parse(NULL, &fields, &st), EM_OK);
    assert_null(fields);
}

static void test_errors_name_the_place(void **state)
{
    (void)state;
    keeps("name,", "Invalid field selection \"name,\": a field name is expected at character 6.");
    keeps("a(b", "Invalid field selection \"a(b\": ')' is expected at character 4.");
    keeps("a)", "Invalid field selection \"a)\": ')' closes nothing at character 2.");
    keeps("a b", "Invalid field selection \"a b\": ',' or the end is expected at character 2.");
    keeps("a//b", "Invalid field selection \"a//b\": a field name is expected at character 3.");
    keeps("()", "Invalid field selection \"()\": a field name is expected at character 1.");
}

static void test_hostile_selections_are_bounded(void **state)
{
    (void)state;
    char deep[200] = "";
    for (int i = 0; i < 17; i++)
        strcat(deep, i ? "/a" : "a");
    char *got = selected(deep);
    assert_non_null(strstr(got, "nested more than 16 deep"));
    free(got);
    char nested[200] = "";
    for (int i = 0; i < 17; i++)
        strcat(nested, "a(");
    got = selected(nested);
    assert_non_null(strstr(got, "nested more than 16 deep"));
    free(got);
    char *many = malloc(EM_FIELDS_MAX_TEXT + 2);
    size_t n = 0;
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(many + n, EM_FIELDS_MAX_TEXT - n, "%sf%d", i ? "," : "", i);
    got = selected(many);
    assert_non_null(strstr(got, "more than 256 fields"));
    free(got);
    memset(many, 'a', EM_FIELDS_MAX_TEXT + 1);
    many[EM_FIELDS_MAX_TEXT + 1] = '\0';
    got = selected(many);
    assert_non_null(strstr(got, "longer than 4096 characters"));
    free(got);
    free(many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members_and_paths),
        cmocka_unit_test(test_everything),
        cmocka_unit_test(test_errors_name_the_place),
        cmocka_unit_test(test_hostile_selections_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
