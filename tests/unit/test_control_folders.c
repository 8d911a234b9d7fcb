/*
 * test_control_folders: Resource Manager v2 folders over a real metadata.db: create under
 * an organization and under a folder, Google's display-name rules, names distinct among
 * active siblings, at most 10 levels (a move counts the levels it brings along), no
 * move into itself or below itself, delete only when empty, undelete, list with and
 * without deleted folders (in the order of their display names), a scan of every folder
 * (v3's search), the parent recorded for IAM at every step, and operations kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "control/control_folders.h"
#include "control/control_projects.h"
#include "em_iam.h"
#include "unit_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW ((int64_t)1700000000 * 1000000000)
#define ORG "organizations/123"

static int setup(void **state)
{
    struct unit_dir *d = calloc(1, sizeof(*d));
    struct em_status st = {0};
    *state = d;
    if (!d || unit_dir_open(d) || control_projects_open(d->store, &st) ||
        control_folders_open(d->store, &st) || em_iam_open(d->store, &st))
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

/* Creates a folder that must succeed; its name into name. */
static void create(struct unit_dir *d, const char *parent, const char *display_name, char name[32])
{
    struct em_status st = {0};
    struct control_folder f;
    assert_int_equal(control_folder_create(d->store, parent, display_name, NOW, &f, &st), EM_OK);
    assert_string_equal(f.parent, parent);
    assert_string_equal(f.display_name, display_name);
    assert_false(f.deleted);
    snprintf(name, 32, "%s", f.name);
}

static void assert_parent_for_iam(struct unit_dir *d, const char *name, const char *parent)
{
    struct em_status st = {0};
    char recorded[64];
    assert_true(em_iam_parent(d->store, name, recorded, sizeof(recorded), &st));
    assert_string_equal(recorded, parent);
}

static void test_create_and_get(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    char prod[32], payments[32];
    create(d, ORG, "prod", prod);
    assert_int_equal(strlen(prod), strlen("folders/") + 12);
    create(d, prod, "payments_eu-1", payments);
    struct control_folder f;
    assert_int_equal(control_folder_get(d->store, payments, &f, &st), EM_OK);
    assert_string_equal(f.parent, prod);
    assert_int_equal(f.create_ns, NOW);
    assert_parent_for_iam(d, prod, ORG);
    assert_parent_for_iam(d, payments, prod);
    assert_int_equal(control_folder_get(d->store, "folders/999", &f, &st), EM_NOT_FOUND);
    em_status_clear(&st);
    assert_int_equal(control_folder_create(d->store, "folders/999", "x", NOW, &f, &st),
                     EM_NOT_FOUND);
}

static void test_display_names_follow_googles_rules(void **state)
{
    struct unit_dir *d = *state;
    static const char *const refused[] = {
        "", " prod", "prod ", "-prod", "prod_", "a/b", "é", "0123456789012345678901234567890"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        struct em_status st = {0};
        struct control_folder f;
        assert_int_equal(control_folder_create(d->store, ORG, refused[i], NOW, &f, &st),
                         EM_INVALID_ARGUMENT);
        assert_non_null(strstr(st.message, "display name"));
    }
    char name[32];
    create(d, ORG, "a", name);
    create(d, ORG, "Prod 2 - EU_west", name);
}

static void test_names_are_distinct_among_active_siblings(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    char prod[32], other[32];
    struct control_folder f;
    create(d, ORG, "prod", prod);
    assert_int_equal(control_folder_create(d->store, ORG, "prod", NOW, &f, &st),
                     EM_FAILED_PRECONDITION);
    em_status_clear(&st);
    create(d, "organizations/456", "prod", other); /* another parent */
    /* renaming to a sibling's name is refused; to its own name, fine */
    create(d, ORG, "dev", other);
    assert_int_equal(control_folder_rename(d->store, other, "prod", NOW, &f, &st),
                     EM_FAILED_PRECONDITION);
    em_status_clear(&st);
    assert_int_equal(control_folder_rename(d->store, other, "dev", NOW, &f, &st), EM_OK);
    /* a deleted folder's name is free again, and taken back at its undelete */
    assert_int_equal(control_folder_set_deleted(d->store, prod, true, NOW, &f, &st), EM_OK);
    assert_true(f.deleted);
    char again[32];
    create(d, ORG, "prod", again);
    assert_int_equal(control_folder_set_deleted(d->store, prod, false, NOW, &f, &st),
                     EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "already exists"));
}

static void test_ten_levels_at_most(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    char chain[CONTROL_FOLDER_DEPTH_MAX][32];
    const char *parent = ORG;
    for (int i = 0; i < CONTROL_FOLDER_DEPTH_MAX; i++) {
        create(d, parent, "level", chain[i]);
        parent = chain[i];
    }
    struct control_folder f;
    assert_int_equal(control_folder_create(d->store, parent, "eleven", NOW, &f, &st),
                     EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "at most 10 levels"));
    /* a move brings the levels below it along: a 2-level subtree under level 9 is too deep */
    char top[32], below[32];
    create(d, ORG, "subtree", top);
    create(d, top, "below", below);
    em_status_clear(&st);
    assert_int_equal(control_folder_move(d->store, top, chain[8], NOW, &f, &st),
                     EM_FAILED_PRECONDITION);
    em_status_clear(&st);
    assert_int_equal(control_folder_move(d->store, top, chain[7], NOW, &f, &st), EM_OK);
    assert_parent_for_iam(d, top, chain[7]);
}

static void test_no_move_into_itself(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    char a[32], b[32], c[32];
    create(d, ORG, "a", a);
    create(d, a, "b", b);
    create(d, b, "c", c);
    struct control_folder f;
    assert_int_equal(control_folder_move(d->store, a, c, NOW, &f, &st), EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "into itself or into a folder below it"));
    em_status_clear(&st);
    assert_int_equal(control_folder_move(d->store, a, a, NOW, &f, &st), EM_FAILED_PRECONDITION);
    em_status_clear(&st);
    assert_int_equal(control_folder_move(d->store, c, "organizations/9", NOW, &f, &st), EM_OK);
    assert_string_equal(f.parent, "organizations/9");
    assert_parent_for_iam(d, c, "organizations/9");
    em_status_clear(&st);
    assert_int_equal(control_folder_move(d->store, c, "projects/p", NOW, &f, &st),
                     EM_INVALID_ARGUMENT);
}

static void test_only_an_empty_folder_is_deleted(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    char a[32], b[32];
    create(d, ORG, "a", a);
    create(d, a, "b", b);
    struct control_folder f;
    assert_int_equal(control_folder_set_deleted(d->store, a, true, NOW, &f, &st),
                     EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "not empty"));
    em_status_clear(&st);
    assert_int_equal(control_folder_set_deleted(d->store, b, true, NOW, &f, &st), EM_OK);
    /* a project inside keeps it too */
    struct control_project_update update = {.parent_type = "folder", .parent_id = a + 8};
    struct control_project project;
    assert_int_equal(control_project_update(d->store, "my-project", &update, NOW, &project, &st),
                     EM_OK);
    control_project_clear(&project);
    assert_int_equal(control_folder_set_deleted(d->store, a, true, NOW, &f, &st),
                     EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "projects"));
    em_status_clear(&st);
    /* nothing is created under a deleted folder, and it is not deleted twice */
    assert_int_equal(control_folder_create(d->store, b, "x", NOW, &f, &st), EM_FAILED_PRECONDITION);
    em_status_clear(&st);
    assert_int_equal(control_folder_set_deleted(d->store, b, true, NOW, &f, &st),
                     EM_FAILED_PRECONDITION);
    em_status_clear(&st);
    assert_int_equal(control_folder_set_deleted(d->store, b, false, NOW, &f, &st), EM_OK);
    assert_false(f.deleted);
}

static bool count(const struct control_folder *f, void *arg)
{
    (void)f;
    ++*(int *)arg;
    return true;
}

static bool stop_after_one(const struct control_folder *f, void *arg)
{
    (void)f;
    ++*(int *)arg;
    return false;
}

static void test_list_and_operations(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    char a[32], b[32];
    create(d, ORG, "a", a);
    create(d, ORG, "b", b);
    struct control_folder f;
    assert_int_equal(control_folder_set_deleted(d->store, b, true, NOW, &f, &st), EM_OK);
    int n = 0;
    assert_int_equal(control_folders_list(d->store, ORG, false, count, &n, &st), EM_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(control_folders_list(d->store, ORG, true, count, &n, &st), EM_OK);
    assert_int_equal(n, 2);

    char *json;
    assert_int_equal(control_operation_get(d->store, "operations/fc.1", &json, &st), EM_OK);
    assert_null(json);
    assert_int_equal(control_operation_save(d->store, "operations/fc.1", "{\"done\":true}", &st),
                     EM_OK);
    assert_int_equal(control_operation_get(d->store, "operations/fc.1", &json, &st), EM_OK);
    assert_string_equal(json, "{\"done\":true}");
    free(json);

    assert_int_equal(control_folders_clear(d->store, &st), EM_OK);
    n = 0;
    assert_int_equal(control_folders_list(d->store, ORG, true, count, &n, &st), EM_OK);
    assert_int_equal(n, 0);
}

struct names {
    char text[256];
};

static bool append_name(const struct control_folder *f, void *arg)
{
    struct names *n = arg;
    size_t len = strlen(n->text);
    snprintf(n->text + len, sizeof(n->text) - len, "%s%s%s", len ? "," : "", f->display_name,
             f->deleted ? "(deleted)" : "");
    return true;
}

struct scan {
    char last[32];
    int count, deleted;
    bool in_order;
};

/* IDs are 12 digits: their text order is their numeric order. */
static bool scan_in_order(const struct control_folder *f, void *arg)
{
    struct scan *s = arg;
    s->in_order = s->count == 0 || (s->in_order && strcmp(s->last, f->name) < 0);
    snprintf(s->last, sizeof(s->last), "%s", f->name);
    s->count++;
    s->deleted += f->deleted;
    return true;
}

/* ListFolders answers in the order of the display names (bytewise: capitals first), a
 * deleted folder next to the active one of the same name; a scan sees every folder of
 * every parent, deleted ones too, and stops when asked. */
static void test_list_order_and_scan(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    char b[32], lower[32], upper[32], old[32], other[32], inside[32];
    create(d, ORG, "b", b);
    create(d, ORG, "a", lower);
    create(d, ORG, "A", upper);
    struct control_folder f;
    assert_int_equal(control_folder_set_deleted(d->store, lower, true, NOW, &f, &st), EM_OK);
    create(d, ORG, "a", old);
    create(d, "organizations/456", "z", other);
    create(d, b, "inside", inside);
    struct names listed = {0};
    assert_int_equal(control_folders_list(d->store, ORG, true, append_name, &listed, &st), EM_OK);
    const char *first_a = strcmp(lower, old) < 0 ? "a(deleted),a" : "a,a(deleted)";
    char want[64];
    snprintf(want, sizeof(want), "A,%s,b", first_a);
    assert_string_equal(listed.text, want);

    struct scan seen = {0};
    assert_int_equal(control_folders_scan(d->store, scan_in_order, &seen, &st), EM_OK);
    assert_int_equal(seen.count, 6);
    assert_true(seen.in_order);
    assert_int_equal(seen.deleted, 1);
    int n = 0;
    assert_int_equal(control_folders_scan(d->store, stop_after_one, &n, &st), EM_OK);
    assert_int_equal(n, 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_create_and_get),
        T(test_display_names_follow_googles_rules),
        T(test_names_are_distinct_among_active_siblings),
        T(test_ten_levels_at_most),
        T(test_no_move_into_itself),
        T(test_only_an_empty_folder_is_deleted),
        T(test_list_and_operations),
        T(test_list_order_and_scan),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
