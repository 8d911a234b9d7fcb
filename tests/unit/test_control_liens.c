/*
 * test_control_liens: Resource Manager liens over a real metadata.db: Google's rules for a
 * lien's parent, restrictions, reason and origin (the error naming the field), names,
 * get / list / delete, the deletion check (FAILED_PRECONDITION with a LIEN violation) and
 * reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "control/control_liens.h"
#include "control/control_projects.h"
#include "em_api_state.h"
#include "em_json.h"
#include "em_names.h"
#include "unit_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW ((int64_t)1700000000 * 1000000000)

static int setup(void **state)
{
    struct unit_dir *d = calloc(1, sizeof(*d));
    struct em_status st = {0};
    *state = d;
    if (!d || unit_dir_open(d) || control_projects_open(d->store, &st) ||
        control_liens_open(d->store, &st))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    struct unit_dir *d = *state;
    unit_dir_close(d);
    free(d);
    return 0;
}

/* Creates a lien from JSON text, its parent resolved first as the handler does; returns
 * the code, the lien in *out when asked. */
static enum em_code create(struct unit_dir *d, const char *json, struct control_lien *out,
                           struct em_status *st)
{
    cJSON *body = cJSON_Parse(json);
    assert_non_null(body);
    struct control_lien lien;
    const char *parent = em_json_string(body, "parent");
    char id[32] = "unresolved";
    enum em_code code = EM_OK;
    if (parent && strncmp(parent, "projects/", 9) == 0 && parent[9] && !strchr(parent + 9, '/'))
        code = control_project_resolve(d->store, parent + 9, id, st);
    if (!code)
        code = control_lien_create(d->store, body, id, NOW, out ? out : &lien, st);
    cJSON_Delete(body);
    return code;
}

/* create must fail with code and a message containing part. */
static void expect_refused(struct unit_dir *d, const char *json, enum em_code code,
                           const char *part)
{
    struct em_status st = {0};
    assert_int_equal(create(d, json, NULL, &st), code);
    if (!strstr(st.message, part))
        fail_msg("expected the message to contain \"%s\", got \"%s\"", part, st.message);
}

#define DELETE_ONLY "\"restrictions\":[\"resourcemanager.projects.delete\"]"

static void test_a_lien_is_created_with_google_name(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    struct control_lien lien;
    assert_int_equal(create(d,
                            "{\"parent\":\"projects/key-project\"," DELETE_ONLY
                            ",\"reason\":\"Holds the keys\",\"origin\":\"security\"}",
                            &lien, &st),
                     EM_OK);
    char prefix[48];
    snprintf(prefix, sizeof(prefix), "liens/p%lld-", (long long)em_project_number("key-project"));
    assert_memory_equal(lien.name, prefix, strlen(prefix));
    assert_int_equal(strlen(lien.name), strlen(prefix) + 36);
    assert_string_equal(lien.project_id, "key-project");
    assert_int_equal(lien.create_time_ns, NOW);
    cJSON *json = control_lien_json(&lien);
    assert_string_equal(cJSON_GetObjectItem(json, "parent")->valuestring, "projects/key-project");
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(json, "restrictions"), 0)->valuestring,
        CONTROL_LIEN_DELETE);
    cJSON_Delete(json);
    /* by the project's number, once the emulator has seen the project */
    struct control_project seen;
    assert_int_equal(control_project_get(d->store, "key-project", &seen, &st), EM_OK);
    control_project_clear(&seen);
    char body[256];
    snprintf(body, sizeof(body),
             "{\"parent\":\"projects/%lld\"," DELETE_ONLY ",\"reason\":\"r\",\"origin\":\"o\"}",
             (long long)em_project_number("key-project"));
    assert_int_equal(create(d, body, &lien, &st), EM_OK);
    assert_string_equal(lien.project_id, "key-project");
    expect_refused(
        d, "{\"parent\":\"projects/123456789\"," DELETE_ONLY ",\"reason\":\"r\",\"origin\":\"o\"}",
        EM_NOT_FOUND, "123456789");
    /* a project whose deletion was requested takes no lien */
    assert_int_equal(em_project_set_deleted(d->store, "key-project", NOW, &st), EM_OK);
    expect_refused(d,
                   "{\"parent\":\"projects/key-project\"," DELETE_ONLY
                   ",\"reason\":\"r\",\"origin\":\"o\"}",
                   EM_FAILED_PRECONDITION, "DELETE_REQUESTED");
}

static void test_google_rules(void **state)
{
    struct unit_dir *d = *state;
    expect_refused(d, "{" DELETE_ONLY ",\"reason\":\"r\",\"origin\":\"o\"}", EM_INVALID_ARGUMENT,
                   "parent");
    expect_refused(d,
                   "{\"parent\":\"folders/1\"," DELETE_ONLY ",\"reason\":\"r\",\"origin\":\"o\"}",
                   EM_INVALID_ARGUMENT, "parent");
    expect_refused(d,
                   "{\"parent\":\"projects/a-project/x\"," DELETE_ONLY
                   ",\"reason\":\"r\",\"origin\":\"o\"}",
                   EM_INVALID_ARGUMENT, "parent");
    expect_refused(
        d, "{\"parent\":\"projects/Bad_Id\"," DELETE_ONLY ",\"reason\":\"r\",\"origin\":\"o\"}",
        EM_INVALID_ARGUMENT, "Bad_Id");
    expect_refused(d, "{\"parent\":\"projects/a-project\",\"reason\":\"r\",\"origin\":\"o\"}",
                   EM_INVALID_ARGUMENT, "restrictions");
    expect_refused(
        d,
        "{\"parent\":\"projects/a-project\",\"restrictions\":[\"resourcemanager.projects."
        "delete\",\"resourcemanager.projects.move\"],\"reason\":\"r\",\"origin\":\"o\"}",
        EM_INVALID_ARGUMENT, "resourcemanager.projects.move");
    expect_refused(d,
                   "{\"parent\":\"projects/a-project\",\"restrictions\":[7],\"reason\":\"r\","
                   "\"origin\":\"o\"}",
                   EM_INVALID_ARGUMENT, "restrictions");
    expect_refused(d, "{\"parent\":\"projects/a-project\"," DELETE_ONLY ",\"origin\":\"o\"}",
                   EM_INVALID_ARGUMENT, "reason");
    expect_refused(
        d, "{\"parent\":\"projects/a-project\"," DELETE_ONLY ",\"reason\":\"r\",\"origin\":\"\"}",
        EM_INVALID_ARGUMENT, "origin");
    /* 200 characters, even of four bytes each, and not one more */
    char body[1200], text[4 * 201 + 1] = "";
    for (int i = 0; i < 200; i++)
        strcat(text, "\xF0\x9F\x94\x91"); /* U+1F511 */
    snprintf(body, sizeof(body),
             "{\"parent\":\"projects/a-project\"," DELETE_ONLY
             ",\"reason\":\"%s\",\"origin\":\"o\"}",
             text);
    struct em_status st = {0};
    assert_int_equal(create(d, body, NULL, &st), EM_OK);
    strcat(text, "x");
    snprintf(body, sizeof(body),
             "{\"parent\":\"projects/a-project\"," DELETE_ONLY
             ",\"reason\":\"%s\",\"origin\":\"o\"}",
             text);
    expect_refused(d, body, EM_INVALID_ARGUMENT, "at most 200 characters, not 201");
}

static void collect(const struct control_lien *lien, void *arg)
{
    char *out = arg;
    size_t len = strlen(out);
    snprintf(out + len, 512 - len, "%s;", lien->reason);
}

static void test_read_list_delete_and_the_deletion_check(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    assert_int_equal(control_liens_allow_delete(d->store, "p-project", &st), EM_OK);
    struct control_lien first, second, got;
    assert_int_equal(create(d,
                            "{\"parent\":\"projects/p-project\"," DELETE_ONLY
                            ",\"reason\":\"first\",\"origin\":\"team-a\"}",
                            &first, &st),
                     EM_OK);
    assert_int_equal(create(d,
                            "{\"parent\":\"projects/p-project\"," DELETE_ONLY
                            ",\"reason\":\"second\",\"origin\":\"team-b\"}",
                            &second, &st),
                     EM_OK);
    assert_int_equal(create(d,
                            "{\"parent\":\"projects/other-project\"," DELETE_ONLY
                            ",\"reason\":\"other\",\"origin\":\"o\"}",
                            NULL, &st),
                     EM_OK);
    char text[512] = "";
    assert_int_equal(control_liens_of(d->store, "p-project", collect, text, &st), EM_OK);
    assert_int_equal(strcmp(text, "first;second;") == 0 || strcmp(text, "second;first;") == 0, 1);
    assert_int_equal(control_lien_get(d->store, second.name, &got, &st), EM_OK);
    assert_string_equal(got.origin, "team-b");
    assert_int_equal(control_lien_get(d->store, "liens/p1-none", &got, &st), EM_NOT_FOUND);

    assert_int_equal(control_liens_allow_delete(d->store, "p-project", &st),
                     EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "A lien to prevent deletion was placed on the project by"));
    char *json = em_status_to_json(&st);
    assert_non_null(strstr(json, "\"type\":\"LIEN\""));
    free(json);

    assert_int_equal(control_lien_delete(d->store, first.name, &st), EM_OK);
    assert_int_equal(control_lien_delete(d->store, second.name, &st), EM_OK);
    assert_int_equal(control_liens_allow_delete(d->store, "p-project", &st), EM_OK);
    /* a reset forgets every lien */
    assert_int_equal(control_liens_clear(d->store, &st), EM_OK);
    text[0] = '\0';
    assert_int_equal(control_liens_of(d->store, "other-project", collect, text, &st), EM_OK);
    assert_string_equal(text, "");
}

int main(void)
{
#define T(test) cmocka_unit_test_setup_teardown(test, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_a_lien_is_created_with_google_name),
        T(test_google_rules),
        T(test_read_list_delete_and_the_deletion_check),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
