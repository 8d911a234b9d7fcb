/*
 * Unit tests of em_api_state: projects' API choices in metadata.db (recorded or not,
 * listed by name, cleared), deleted projects, and the process's set of disabled APIs and
 * deleted projects (loaded, replaced, the fast "nothing disabled" answer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_api_state.h"
#include "unit_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int setup(void **state)
{
    struct unit_dir *d = calloc(1, sizeof(*d));
    struct em_status st = {0};
    if (!d || unit_dir_open(d) || em_api_state_open(d->store, &st))
        return -1;
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    em_api_state_clear(d->store, &st);
    em_api_state_load(d->store, &st); /* the set is the process's: leave it empty */
    unit_dir_close(d);
    free(d);
    return 0;
}

static void test_choices_are_recorded(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    bool enabled = true, recorded = true;
    assert_int_equal(
        em_api_state_get(d->store, "p1", "pubsub.googleapis.com", &enabled, &recorded, &st), EM_OK);
    assert_false(recorded);
    assert_false(enabled);
    assert_int_equal(em_api_state_set(d->store, "p1", "pubsub.googleapis.com", false, &st), EM_OK);
    assert_int_equal(em_api_state_set(d->store, "p1", "compute.googleapis.com", true, &st), EM_OK);
    assert_int_equal(
        em_api_state_get(d->store, "p1", "pubsub.googleapis.com", &enabled, &recorded, &st), EM_OK);
    assert_true(recorded);
    assert_false(enabled);
    assert_int_equal(em_api_state_set(d->store, "p1", "pubsub.googleapis.com", true, &st), EM_OK);
    assert_int_equal(
        em_api_state_get(d->store, "p1", "pubsub.googleapis.com", &enabled, &recorded, &st), EM_OK);
    assert_true(recorded && enabled);
}

static void collect(const char *api, bool enabled, void *arg)
{
    char *out = arg;
    size_t len = strlen(out);
    snprintf(out + len, 256 - len, "%s=%d;", api, enabled);
}

static void test_listed_by_name_and_cleared(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    assert_int_equal(em_api_state_set(d->store, "p1", "spanner.googleapis.com", false, &st), EM_OK);
    assert_int_equal(em_api_state_set(d->store, "p1", "bigquery.googleapis.com", true, &st), EM_OK);
    assert_int_equal(em_api_state_set(d->store, "p2", "cloudkms.googleapis.com", false, &st),
                     EM_OK);
    char text[256] = "";
    assert_int_equal(em_api_state_each(d->store, "p1", collect, text, &st), EM_OK);
    assert_string_equal(text, "bigquery.googleapis.com=1;spanner.googleapis.com=0;");
    assert_int_equal(em_api_state_clear(d->store, &st), EM_OK);
    text[0] = '\0';
    assert_int_equal(em_api_state_each(d->store, "p1", collect, text, &st), EM_OK);
    assert_string_equal(text, "");
}

static void test_the_set_of_disabled_apis(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    assert_int_equal(em_api_state_load(d->store, &st), EM_OK);
    assert_false(em_api_state_any());
    assert_int_equal(em_api_use("p1", "pubsub.googleapis.com"), EM_API_USABLE);
    assert_int_equal(em_api_state_set(d->store, "p1", "pubsub.googleapis.com", false, &st), EM_OK);
    assert_int_equal(em_api_state_set(d->store, "p2", "pubsub.googleapis.com", true, &st), EM_OK);
    /* the store changed, the set not yet: it is loaded when the control plane says so */
    assert_int_equal(em_api_use("p1", "pubsub.googleapis.com"), EM_API_USABLE);
    assert_int_equal(em_api_state_load(d->store, &st), EM_OK);
    assert_true(em_api_state_any());
    assert_int_equal(em_api_use("p1", "pubsub.googleapis.com"), EM_API_DISABLED);
    assert_int_equal(em_api_use("p2", "pubsub.googleapis.com"), EM_API_USABLE);
    assert_int_equal(em_api_use("p1", "spanner.googleapis.com"), EM_API_USABLE);
    assert_int_equal(em_api_use("p", "pubsub.googleapis.com"), EM_API_USABLE);
    /* many projects at once */
    for (int i = 0; i < 100; i++) {
        char project[32];
        snprintf(project, sizeof(project), "project-%d", i);
        assert_int_equal(em_api_state_set(d->store, project, "cloudkms.googleapis.com", false, &st),
                         EM_OK);
    }
    assert_int_equal(em_api_state_load(d->store, &st), EM_OK);
    assert_int_equal(em_api_use("project-99", "cloudkms.googleapis.com"), EM_API_DISABLED);
    assert_int_equal(em_api_use("p1", "pubsub.googleapis.com"), EM_API_DISABLED);
    assert_int_equal(em_api_state_clear(d->store, &st), EM_OK);
    assert_int_equal(em_api_state_load(d->store, &st), EM_OK);
    assert_false(em_api_state_any());
}

static void test_deleted_projects(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    int64_t when = -1;
    assert_int_equal(em_project_delete_time(d->store, "p1", &when, &st), EM_OK);
    assert_int_equal(when, 0);
    assert_int_equal(em_project_set_deleted(d->store, "p1", 12345, &st), EM_OK);
    assert_int_equal(em_project_delete_time(d->store, "p1", &when, &st), EM_OK);
    assert_int_equal(when, 12345);
    assert_int_equal(em_api_state_set(d->store, "p2", "spanner.googleapis.com", false, &st), EM_OK);
    assert_int_equal(em_api_state_load(d->store, &st), EM_OK);
    /* every API of a deleted project, even one it disabled; other projects as they chose */
    assert_int_equal(em_api_use("p1", "pubsub.googleapis.com"), EM_API_PROJECT_DELETED);
    assert_int_equal(em_api_use("p1", "spanner.googleapis.com"), EM_API_PROJECT_DELETED);
    assert_int_equal(em_api_use("p2", "spanner.googleapis.com"), EM_API_DISABLED);
    assert_int_equal(em_api_use("p2", "pubsub.googleapis.com"), EM_API_USABLE);
    assert_int_equal(em_api_use("p", "pubsub.googleapis.com"), EM_API_USABLE);
    assert_false(em_api_usable_for("projects/p1/topics/t", "pubsub.googleapis.com"));
    assert_true(em_api_usable_for("projects/p2/topics/t", "pubsub.googleapis.com"));
    assert_false(em_api_usable_for("projects/p2/instances/i", "spanner.googleapis.com"));
    assert_true(em_api_usable_for("organizations/1", "pubsub.googleapis.com"));
    assert_true(em_api_project_deleted_for("projects/p1/topics/t"));
    assert_false(em_api_project_deleted_for("projects/p2/instances/i")); /* disabled only */
    assert_false(em_api_project_deleted_for("organizations/1"));
    /* undeleted: usable again once the set is reloaded */
    assert_int_equal(em_project_set_deleted(d->store, "p1", 0, &st), EM_OK);
    assert_int_equal(em_project_delete_time(d->store, "p1", &when, &st), EM_OK);
    assert_int_equal(when, 0);
    assert_int_equal(em_api_use("p1", "pubsub.googleapis.com"), EM_API_PROJECT_DELETED);
    assert_int_equal(em_api_state_load(d->store, &st), EM_OK);
    assert_int_equal(em_api_use("p1", "pubsub.googleapis.com"), EM_API_USABLE);
    /* a reset forgets deletions too */
    assert_int_equal(em_project_set_deleted(d->store, "p3", 1, &st), EM_OK);
    assert_int_equal(em_api_state_clear(d->store, &st), EM_OK);
    assert_int_equal(em_project_delete_time(d->store, "p3", &when, &st), EM_OK);
    assert_int_equal(when, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_choices_are_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listed_by_name_and_cleared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_set_of_disabled_apis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_projects, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
