/*
 * test_control_folders_v3: what Resource Manager v3 adds to v2's folders: the Folder as
 * v3 shows it (state, updateTime, a deleteTime only while DELETE_REQUESTED, an etag that
 * follows every change) and SearchFolders' query: displayName, state (or lifecycleState)
 * and parent, = and : (equality, a trailing * a prefix), NOT, AND, OR, names and values in
 * any case; any other field, an operator of another kind or a term without a field is
 * INVALID_ARGUMENT naming it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "control/control.h"
#include "control/control_folders.h"
#include "em_filter.h"
#include "em_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW ((int64_t)1700000000 * 1000000000)

static struct control_folder folder(const char *name, const char *parent, const char *display_name,
                                    bool deleted)
{
    struct control_folder f = {.deleted = deleted, .create_ns = NOW, .update_ns = NOW + 5000};
    snprintf(f.name, sizeof(f.name), "%s", name);
    snprintf(f.parent, sizeof(f.parent), "%s", parent);
    snprintf(f.display_name, sizeof(f.display_name), "%s", display_name);
    return f;
}

static char *etag_of(const struct control_folder *f)
{
    cJSON *json = control_folder_v3_json(f);
    char *etag = strdup(em_json_string(json, "etag"));
    cJSON_Delete(json);
    return etag;
}

static void test_folder_json(void **state)
{
    (void)state;
    struct control_folder f = folder("folders/1", "organizations/2", "Team A", false);
    cJSON *json = control_folder_v3_json(&f);
    assert_string_equal(em_json_string(json, "name"), "folders/1");
    assert_string_equal(em_json_string(json, "parent"), "organizations/2");
    assert_string_equal(em_json_string(json, "displayName"), "Team A");
    assert_string_equal(em_json_string(json, "state"), "ACTIVE");
    assert_string_equal(em_json_string(json, "createTime"), "2023-11-14T22:13:20Z");
    assert_string_equal(em_json_string(json, "updateTime"), "2023-11-14T22:13:20.000005Z");
    assert_null(cJSON_GetObjectItemCaseSensitive(json, "deleteTime"));
    assert_null(cJSON_GetObjectItemCaseSensitive(json, "lifecycleState")); /* v2's name */
    cJSON_Delete(json);

    f.deleted = true; /* deleted at its last change */
    json = control_folder_v3_json(&f);
    assert_string_equal(em_json_string(json, "state"), "DELETE_REQUESTED");
    assert_string_equal(em_json_string(json, "deleteTime"), "2023-11-14T22:13:20.000005Z");
    cJSON_Delete(json);
}

/* The etag changes with every field the folder shows, and only then. */
static void test_etag_follows_changes(void **state)
{
    (void)state;
    struct control_folder base = folder("folders/1", "organizations/2", "Team A", false);
    struct control_folder same = base, renamed = base, moved = base, deleted = base, later = base;
    snprintf(renamed.display_name, sizeof(renamed.display_name), "Team B");
    snprintf(moved.parent, sizeof(moved.parent), "folders/3");
    deleted.deleted = true;
    later.update_ns++;
    char *etag = etag_of(&base);
    assert_true(strlen(etag) > 0);
    char *other = etag_of(&same);
    assert_string_equal(etag, other);
    free(other);
    const struct control_folder *changed[] = {&renamed, &moved, &deleted, &later};
    for (size_t i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
        other = etag_of(changed[i]);
        assert_string_not_equal(etag, other);
        free(other);
    }
    free(etag);
}

/* Whether query selects f (the query must parse). */
static bool selects(const char *query, const struct control_folder *f)
{
    struct em_status st = {0};
    struct em_filter *filter = NULL;
    assert_int_equal(control_folder_query_parse(query, &filter, &st), EM_OK);
    bool match = control_folder_query_match(filter, f);
    em_filter_free(filter);
    return match;
}

static void test_query_fields_and_operators(void **state)
{
    (void)state;
    struct control_folder team = folder("folders/1", "folders/9", "Team A", false);
    struct control_folder old = folder("folders/2", "organizations/5", "Sunburn", true);
    assert_true(selects(NULL, &team));
    assert_true(selects("", &old));
    assert_true(selects("displayName=Team*", &team));
    assert_false(selects("displayName=Team*", &old));
    assert_true(selects("displayName:\"Team A\"", &team));
    assert_false(selects("displayName:Team", &team)); /* ':' is equality, not "contains" */
    assert_true(selects("DISPLAYNAME=team*", &team)); /* any case */
    assert_true(selects("displayName:sun*", &old));
    assert_true(selects("state=ACTIVE", &team));
    assert_true(selects("state:delete_requested", &old));
    assert_true(selects("lifecycleState=DELETE_REQUESTED", &old));
    assert_true(selects("parent=folders/9", &team));
    assert_false(selects("parent=folders/9", &old));
    assert_true(selects("parent:organizations/*", &old));
    assert_true(selects("NOT state=ACTIVE", &old));
    assert_false(selects("NOT state=ACTIVE", &team));
    assert_true(selects("state!=ACTIVE", &old));
    assert_true(selects("parent=folders/9 AND state=ACTIVE", &team));
    assert_false(selects("parent=folders/9 AND state=DELETE_REQUESTED", &team));
    assert_true(selects("displayName=Nope OR parent=folders/9", &team));
    assert_true(selects("(displayName=Team* OR displayName=Sun*) AND NOT state:ACTIVE", &old));
    assert_false(selects("(displayName=Team* OR displayName=Sun*) AND NOT state:ACTIVE", &team));
}

/* A refused query: INVALID_ARGUMENT whose message names `names`, and no filter left. */
static void assert_refused(const char *query, const char *names)
{
    static char sentinel;
    struct em_status st = {0};
    struct em_filter *filter = (struct em_filter *)(void *)&sentinel; /* must come back NULL */
    assert_int_equal(control_folder_query_parse(query, &filter, &st), EM_INVALID_ARGUMENT);
    assert_null(filter);
    if (!strstr(st.message, names))
        fail_msg("\"%s\": expected the message to name %s, got: %s", query, names, st.message);
}

static void test_query_refusals(void **state)
{
    (void)state;
    assert_refused("labels.env=prod", "\"labels.env\"");
    assert_refused("displayName=a AND name=b", "\"name\"");
    assert_refused("NOT id:1", "\"id\"");
    assert_refused("displayName>a", "\">\"");
    assert_refused("hasPrefix(displayName, \"a\")", "\"hasPrefix\"");
    assert_refused("Team", "names its field");
    assert_refused("displayName=Team String", "names its field"); /* unquoted space */
    assert_refused("displayName=(", "Invalid filter");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folder_json),
        cmocka_unit_test(test_etag_follows_changes),
        cmocka_unit_test(test_query_fields_and_operators),
        cmocka_unit_test(test_query_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
