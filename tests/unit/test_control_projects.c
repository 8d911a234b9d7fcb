/*
 * test_control_projects: Resource Manager projects over a real metadata.db: the second
 * migration keeps the projects of a version-1 table, UpdateProject's rules (display name,
 * parent, labels, the project ID of the body), its PUT semantics (what a body leaves out
 * is cleared, but never the parent), the Project JSON (name defaults to the project ID),
 * the round trip gcloud makes (GET, change, PUT the whole back), reset, a reopened store,
 * a failing step in the middle of a list, and DeleteProject / UndeleteProject (the 30 days
 * in which a project can come back).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "control/control.h"
#include "control/control_projects.h"
#include "em_iam.h"
#include "em_names.h"
#include "em_schema.h"
#include "unit_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW ((int64_t)1700000000 * 1000000000)

/* --- fixture: a fresh metadata.db with the projects table --- */

static int setup(void **state)
{
    struct unit_dir *d = calloc(1, sizeof(*d));
    struct em_status st = {0};
    *state = d;
    if (!d || unit_dir_open(d) || control_projects_open(d->store, &st) ||
        em_iam_open(d->store, &st))
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

/* --- helpers --- */

static const struct control_project_update folder_123 = {
    .display_name = "My Project", .parent_type = "folder", .parent_id = "123"};

/* Runs control_project_update on "my-project"; returns its code, with st's message. */
static enum em_code update(struct unit_dir *d, const struct control_project_update *u,
                           struct em_status *st)
{
    struct control_project project;
    enum em_code code = control_project_update(d->store, "my-project", u, NOW, &project, st);
    control_project_clear(&project);
    return code;
}

/* update must fail with INVALID_ARGUMENT and a message containing field. */
static void expect_invalid(struct unit_dir *d, const struct control_project_update *u,
                           const char *field)
{
    struct em_status st = {0};
    assert_int_equal(update(d, u, &st), EM_INVALID_ARGUMENT);
    if (!strstr(st.message, field))
        fail_msg("expected the message to name %s, got \"%s\"", field, st.message);
}

/* The Project JSON of "my-project" as GetProject answers it (the caller deletes it). */
static cJSON *get_json(struct unit_dir *d)
{
    struct control_project project;
    struct em_status st = {0};
    assert_int_equal(control_project_get(d->store, "my-project", &project, &st), EM_OK);
    cJSON *json = control_project_json(&project);
    control_project_clear(&project);
    return json;
}

static const char *str_at(const cJSON *obj, const char *a, const char *b)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, a);
    if (b)
        item = cJSON_GetObjectItemCaseSensitive(item, b);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* --- the migration --- */

static void test_migration_keeps_version_one_projects(void **state)
{
    (void)state;
    struct unit_dir d = {0};
    struct em_status st = {0};
    assert_int_equal(unit_dir_open(&d), 0);
    /* a metadata.db written by a build that knew migration 1 only */
    assert_int_equal(em_store_exec(d.store,
                                   "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                   " module TEXT PRIMARY KEY, version INTEGER NOT NULL);"
                                   "INSERT INTO schema_migrations VALUES ('projects', 1);"
                                   "CREATE TABLE projects (project_id TEXT PRIMARY KEY,"
                                   " create_time_ns INTEGER NOT NULL);"
                                   "INSERT INTO projects VALUES ('old-project', 42000000000)",
                                   &st),
                     EM_OK);
    assert_int_equal(control_projects_open(d.store, &st), EM_OK);
    assert_int_equal(em_iam_open(d.store, &st), EM_OK);

    struct control_project project;
    assert_int_equal(control_project_get(d.store, "old-project", &project, &st), EM_OK);
    assert_int_equal(project.create_time_ns, 42000000000);
    assert_string_equal(project.display_name, "");
    assert_null(project.labels_json);
    assert_string_equal(project.parent_type, "");
    control_project_clear(&project);

    /* and the new columns take what UpdateProject sets */
    const struct control_project_update u = {.parent_type = "organization", .parent_id = "9"};
    assert_int_equal(control_project_update(d.store, "old-project", &u, NOW, &project, &st), EM_OK);
    assert_int_equal(project.create_time_ns, 42000000000); /* first sight stays */
    assert_string_equal(project.parent_type, "organization");
    control_project_clear(&project);
    /* IAM knows where the project now sits: the organization's bindings reach it */
    sqlite3_stmt *stmt = em_store_stmt(
        d.store, "SELECT parent FROM iam_parents WHERE resource = 'projects/old-project'", &st);
    assert_non_null(stmt);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal(em_column_text(stmt, 0), "organizations/9");
    em_stmt_done(stmt);

    /* opening again applies nothing twice */
    assert_int_equal(control_projects_open(d.store, &st), EM_OK);
    unit_dir_close(&d);
}

/* --- UpdateProject --- */

static void test_a_project_starts_without_name_labels_or_parent(void **state)
{
    cJSON *json = get_json(*state);
    assert_string_equal(str_at(json, "name", NULL), "my-project"); /* the ID by default */
    assert_string_equal(str_at(json, "projectId", NULL), "my-project");
    assert_null(cJSON_GetObjectItemCaseSensitive(json, "labels"));
    assert_null(cJSON_GetObjectItemCaseSensitive(json, "parent"));
    cJSON_Delete(json);
}

static void test_update_sets_name_labels_and_parent(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    struct control_project_update u = folder_123;
    u.labels_json = "{\"env\":\"dev\",\"team\":\"\"}";
    struct control_project project;
    assert_int_equal(control_project_update(d->store, "my-project", &u, NOW, &project, &st), EM_OK);
    assert_int_equal(project.create_time_ns, NOW); /* first seen by this update */
    assert_string_equal(project.display_name, "My Project");
    control_project_clear(&project);

    cJSON *json = get_json(d);
    assert_string_equal(str_at(json, "name", NULL), "My Project");
    assert_string_equal(str_at(json, "labels", "env"), "dev");
    assert_string_equal(str_at(json, "labels", "team"), "");
    assert_string_equal(str_at(json, "parent", "type"), "folder");
    assert_string_equal(str_at(json, "parent", "id"), "123");
    cJSON_Delete(json);
}

static void test_update_replaces_what_the_body_leaves_out(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    struct control_project_update u = folder_123;
    u.labels_json = "{\"env\":\"dev\"}";
    assert_int_equal(update(d, &u, &st), EM_OK);

    /* a PUT naming only the parent: name and labels are gone */
    const struct control_project_update parent_only = {.parent_type = "folder", .parent_id = "456"};
    assert_int_equal(update(d, &parent_only, &st), EM_OK);
    cJSON *json = get_json(d);
    assert_string_equal(str_at(json, "name", NULL), "my-project");
    assert_null(cJSON_GetObjectItemCaseSensitive(json, "labels"));
    assert_string_equal(str_at(json, "parent", "id"), "456"); /* moved */
    cJSON_Delete(json);
}

static void test_a_parent_once_set_cannot_be_cleared(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    /* no parent yet: a body without one is fine */
    const struct control_project_update name_only = {.display_name = "Before"};
    assert_int_equal(update(d, &name_only, &st), EM_OK);
    assert_int_equal(update(d, &folder_123, &st), EM_OK);

    const struct control_project_update rename = {.display_name = "Renamed"};
    expect_invalid(d, &rename, "'parent'");
    cJSON *json = get_json(d); /* nothing changed */
    assert_string_equal(str_at(json, "name", NULL), "My Project");
    assert_string_equal(str_at(json, "parent", "id"), "123");
    cJSON_Delete(json);

    /* to an organization is a move, not a clearing */
    const struct control_project_update org = {.parent_type = "organization",
                                               .parent_id = "12345678901234567890"};
    assert_int_equal(update(d, &org, &st), EM_OK);
    json = get_json(d);
    assert_string_equal(str_at(json, "parent", "type"), "organization");
    cJSON_Delete(json);
}

static void test_display_name_rules(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    static const char *const valid[] = {
        "abcd",                           /* 4: the shortest */
        "abcdefghijklmnopqrstuvwxyz1234", /* 30: the longest */
        "My Project",
        "it's \"ok\" - yes!",
        "ALL-CAPS-0123",
    };
    static const char *const invalid[] = {
        "abc",                             /* 3 */
        "abcdefghijklmnopqrstuvwxyz12345", /* 31 */
        "Foo & Bar",
        "under_score",
        "dot.name",
        "caf\xc3\xa9 name", /* a letter, but not an ASCII one */
        "tab\there",
    };
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        const struct control_project_update u = {.display_name = valid[i]};
        if (update(d, &u, &st) != EM_OK)
            fail_msg("\"%s\" refused: %s", valid[i], st.message);
    }
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        const struct control_project_update u = {.display_name = invalid[i]};
        expect_invalid(d, &u, "'name'");
    }
}

static void test_parent_rules(void **state)
{
    struct unit_dir *d = *state;
    struct {
        const char *type, *id, *field;
    } const invalid[] = {
        {"project", "123", "'parent.type'"},
        {"Folder", "123", "'parent.type'"},
        {"", "123", "'parent.type'"},
        {"folder", "abc", "'parent.id'"},
        {"folder", "", "'parent.id'"},
        {"folder", "-1", "'parent.id'"},
        {"folder", "12 3", "'parent.id'"},
        {"organization", "123456789012345678901", "'parent.id'"}, /* 21 digits */
        {"folders", "123", "'parent.type'"},
    };
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        const struct control_project_update u = {.parent_type = invalid[i].type,
                                                 .parent_id = invalid[i].id};
        expect_invalid(d, &u, invalid[i].field);
    }
    const struct control_project_update half = {.parent_type = "folder"};
    expect_invalid(d, &half, "'parent'");

    /* none of them was stored */
    cJSON *json = get_json(d);
    assert_null(cJSON_GetObjectItemCaseSensitive(json, "parent"));
    cJSON_Delete(json);
}

static void test_an_invalid_project_id_is_refused(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    struct control_project project;
    assert_int_equal(
        control_project_update(d->store, "Not_A_Project", &folder_123, NOW, &project, &st),
        EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "Not_A_Project"));
}

/* --- the body of UpdateProject --- */

/* Checks body against the schema (as the dispatcher does), then reads it. */
static enum em_code read_body(const char *body_text, struct control_project_update *u, cJSON **body,
                              struct em_status *st)
{
    *body = cJSON_Parse(body_text);
    assert_non_null(*body);
    if (em_schema_check(&control_project_message, *body, NULL, st))
        return st->code;
    return control_project_update_read(*body, "my-project", u, st);
}

static void test_body_reading(void **state)
{
    (void)state;
    struct control_project_update u;
    struct em_status st = {0};
    cJSON *body;

    assert_int_equal(read_body("{\"projectId\": \"my-project\", \"name\": \"My Project\","
                               " \"labels\": {\"env\": \"dev\"},"
                               " \"parent\": {\"type\": \"folder\", \"id\": \"123\"}}",
                               &u, &body, &st),
                     EM_OK);
    assert_string_equal(u.display_name, "My Project");
    assert_string_equal(u.labels_json, "{\"env\":\"dev\"}");
    assert_string_equal(u.parent_type, "folder");
    assert_string_equal(u.parent_id, "123");
    free(u.labels_json);
    cJSON_Delete(body);

    /* empty: nothing set; {} labels and "" name are proto3's unset */
    assert_int_equal(read_body("{\"name\": \"\", \"labels\": {}}", &u, &body, &st), EM_OK);
    assert_null(u.display_name);
    assert_null(u.labels_json);
    assert_null(u.parent_type);
    cJSON_Delete(body);

    /* a parent without its fields is a parent with empty ones: the domain refuses it */
    assert_int_equal(read_body("{\"parent\": {}}", &u, &body, &st), EM_OK);
    assert_string_equal(u.parent_type, "");
    assert_string_equal(u.parent_id, "");
    cJSON_Delete(body);

    /* another project's ID */
    assert_int_equal(read_body("{\"projectId\": \"other-project\"}", &u, &body, &st),
                     EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "'project_id'"));
    assert_non_null(strstr(st.message, "other-project"));
    cJSON_Delete(body);

    /* labels by Google's rules */
    assert_int_equal(read_body("{\"labels\": {\"Env\": \"dev\"}}", &u, &body, &st),
                     EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "Env"));
    cJSON_Delete(body);

    /* wrong JSON types are the schema's: refused before the handler reads anything */
    static const char *const mistyped[] = {
        "{\"parent\": \"folders/123\"}",      "{\"parent\": {\"type\": \"folder\", \"id\": 123}}",
        "{\"labels\": {\"env\": 1}}",         "{\"name\": 5}",
        "{\"lifecycleState\": \"SLEEPING\"}", "{\"tags\": {}}",
    };
    for (size_t i = 0; i < sizeof(mistyped) / sizeof(mistyped[0]); i++) {
        body = cJSON_Parse(mistyped[i]);
        assert_non_null(body);
        if (em_schema_check(&control_project_message, body, NULL, &st) != EM_INVALID_ARGUMENT)
            fail_msg("the schema accepted %s", mistyped[i]);
        cJSON_Delete(body);
    }
}

/* gcloud reads the project, changes a field and PUTs back everything it read. */
static void test_what_get_returns_can_be_put_back(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    struct control_project_update u = folder_123;
    u.labels_json = "{\"env\":\"dev\"}";
    assert_int_equal(update(d, &u, &st), EM_OK);

    cJSON *got = get_json(d);
    cJSON_ReplaceItemInObjectCaseSensitive(got, "name", cJSON_CreateString("Renamed Project"));
    char *text = cJSON_PrintUnformatted(got);
    struct control_project_update back;
    cJSON *body;
    assert_int_equal(read_body(text, &back, &body, &st), EM_OK);
    struct control_project project;
    assert_int_equal(control_project_update(d->store, "my-project", &back, NOW + 1, &project, &st),
                     EM_OK);
    free(back.labels_json);
    cJSON_Delete(body);
    free(text);

    cJSON *put = control_project_json(&project);
    control_project_clear(&project);
    cJSON_ReplaceItemInObjectCaseSensitive(got, "name", cJSON_CreateString("Renamed Project"));
    assert_true(cJSON_Compare(got, put, true)); /* only the name changed */
    cJSON_Delete(put);
    cJSON_Delete(got);
}

/* --- list, reset, restart --- */

static bool count_project(const struct control_project *project, void *arg)
{
    (void)project;
    ++*(int *)arg;
    return true;
}

static void test_reset_forgets_and_a_reopened_store_remembers(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    assert_int_equal(update(d, &folder_123, &st), EM_OK);

    /* a restart: the store is closed and opened again on the same file */
    char db[PATH_MAX + 16];
    snprintf(db, sizeof(db), "%s/metadata.db", d->path);
    em_store_close(d->store);
    assert_int_equal(em_store_open(db, &d->store, &st), EM_OK);
    assert_int_equal(control_projects_open(d->store, &st), EM_OK);
    cJSON *json = get_json(d);
    assert_string_equal(str_at(json, "name", NULL), "My Project");
    assert_string_equal(str_at(json, "parent", "id"), "123");
    cJSON_Delete(json);

    assert_int_equal(control_projects_clear(d->store, &st), EM_OK);
    int count = 0;
    assert_int_equal(control_projects_scan(d->store, count_project, &count, &st), EM_OK);
    assert_int_equal(count, 0);
    json = get_json(d); /* seen again: a new project, no parent */
    assert_string_equal(str_at(json, "name", NULL), "my-project");
    assert_null(cJSON_GetObjectItemCaseSensitive(json, "parent"));
    cJSON_Delete(json);
}

struct collected {
    char names[4][64];
    int count;
};

static bool collect(const struct control_project *project, void *arg)
{
    struct collected *c = arg;
    if (c->count < 4)
        snprintf(c->names[c->count++], sizeof(c->names[0]), "%s:%s", project->id,
                 project->parent_id);
    return true;
}

static void test_list_shows_parents_and_fails_on_a_step_error(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    struct control_project project;
    const struct control_project_update org = {.parent_type = "organization", .parent_id = "7"};
    assert_int_equal(control_project_update(d->store, "proj-b", &org, NOW, &project, &st), EM_OK);
    control_project_clear(&project);
    assert_int_equal(control_project_get(d->store, "proj-a", &project, &st), EM_OK);
    control_project_clear(&project);
    assert_int_equal(control_project_get(d->store, "proj-c", &project, &st), EM_OK);
    control_project_clear(&project);

    struct collected c = {0};
    assert_int_equal(control_projects_scan(d->store, collect, &c, &st), EM_OK);
    assert_int_equal(c.count, 3);
    assert_string_equal(c.names[0], "proj-a:");
    assert_string_equal(c.names[1], "proj-b:7");
    assert_string_equal(c.names[2], "proj-c:");

    /* interrupted at the second row (the interruption fails the next statement on the
     * connection: the second project's deletion time) */
    struct unit_step_fault fault = {.sql_part = "FROM projects ORDER BY", .rows = 2};
    unit_step_fault_arm(d->store, &fault);
    int count = 0;
    assert_int_not_equal(control_projects_scan(d->store, count_project, &count, &st), EM_OK);
    unit_step_fault_disarm(d->store);
    assert_int_equal(count, 1); /* a partial list is an error, not a shorter list */
}

/* --- CreateProject --- */

static void test_delete_and_undelete(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    struct control_project project;
    assert_int_equal(control_project_undelete(d->store, "my-project", NOW, &st),
                     EM_FAILED_PRECONDITION); /* an ACTIVE project */
    assert_int_equal(control_project_delete(d->store, "my-project", NOW, NULL, &st), EM_OK);
    assert_int_equal(control_project_get(d->store, "my-project", &project, &st), EM_OK);
    assert_int_equal(project.delete_time_ns, NOW);
    assert_false(control_project_gone(&project, NOW + CONTROL_PROJECT_RESTORE_NS - 1));
    assert_true(control_project_gone(&project, NOW + CONTROL_PROJECT_RESTORE_NS));
    control_project_clear(&project);
    cJSON *json = get_json(d);
    assert_string_equal(str_at(json, "lifecycleState", NULL), "DELETE_REQUESTED");
    cJSON_Delete(json);
    /* no update while deleted; deleting again keeps the first time */
    assert_int_equal(update(d, &folder_123, &st), EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "DELETE_REQUESTED"));
    assert_int_equal(control_project_delete(d->store, "my-project", NOW + 5, NULL, &st), EM_OK);
    assert_int_equal(control_project_get(d->store, "my-project", &project, &st), EM_OK);
    assert_int_equal(project.delete_time_ns, NOW);
    control_project_clear(&project);
    /* undeleted: ACTIVE, and updates work again */
    assert_int_equal(control_project_undelete(d->store, "my-project", NOW + 10, &st), EM_OK);
    json = get_json(d);
    assert_string_equal(str_at(json, "lifecycleState", NULL), "ACTIVE");
    cJSON_Delete(json);
    assert_int_equal(update(d, &folder_123, &st), EM_OK);
    /* after 30 days: gone, neither deleted again nor undeleted */
    assert_int_equal(control_project_delete(d->store, "my-project", NOW, NULL, &st), EM_OK);
    int64_t later = NOW + CONTROL_PROJECT_RESTORE_NS;
    assert_int_equal(control_project_undelete(d->store, "my-project", later, &st),
                     EM_PERMISSION_DENIED);
    assert_int_equal(control_project_delete(d->store, "my-project", later, NULL, &st),
                     EM_PERMISSION_DENIED);
    /* numbers: those of projects seen, written as Google writes them; IDs: validated, not
     * remembered */
    char id[32], number[24];
    snprintf(number, sizeof(number), "%lld", (long long)em_project_number("my-project"));
    assert_int_equal(control_project_resolve(d->store, number, id, &st), EM_OK);
    assert_string_equal(id, "my-project");
    char padded[32];
    snprintf(padded, sizeof(padded), "00%s", number);
    assert_int_equal(control_project_resolve(d->store, padded, id, &st), EM_NOT_FOUND);
    assert_int_equal(control_project_resolve(d->store, "99999999999999999999", id, &st),
                     EM_NOT_FOUND); /* 20 digits: beyond int64, no project's */
    assert_int_equal(control_project_resolve(d->store, "never-seen", id, &st), EM_OK);
    int count = 0;
    assert_int_equal(control_projects_scan(d->store, count_project, &count, &st), EM_OK);
    assert_int_equal(count, 1); /* my-project only: never-seen was not remembered */
    assert_int_equal(control_project_resolve(d->store, "Bad_Id", id, &st), EM_INVALID_ARGUMENT);
    /* a bad ID is refused before anything */
    assert_int_equal(control_project_delete(d->store, "Bad_Id", NOW, NULL, &st),
                     EM_INVALID_ARGUMENT);
}

static void test_create_records_a_new_project_once(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    struct control_project_update u = folder_123;
    u.labels_json = "{\"env\":\"dev\"}";
    struct control_project project;
    assert_int_equal(control_project_create(d->store, "new-project", &u, NOW, &project, &st),
                     EM_OK);
    assert_int_equal(project.create_time_ns, NOW);
    assert_string_equal(project.display_name, "My Project");
    assert_string_equal(project.parent_id, "123");
    control_project_clear(&project);
    /* IAM knows the folder above it */
    char parent[64];
    assert_true(em_iam_parent(d->store, "projects/new-project", parent, sizeof(parent), &st));
    assert_string_equal(parent, "folders/123");
    /* again: the ID is in use, and nothing changes */
    const struct control_project_update other = {.display_name = "Someone Else"};
    assert_int_equal(
        control_project_create(d->store, "new-project", &other, NOW + 1, &project, &st),
        EM_ALREADY_EXISTS);
    assert_int_equal(control_project_get(d->store, "new-project", &project, &st), EM_OK);
    assert_string_equal(project.display_name, "My Project");
    control_project_clear(&project);
    /* a project already seen is in use too */
    assert_int_equal(control_project_get(d->store, "seen-project", &project, &st), EM_OK);
    control_project_clear(&project);
    assert_int_equal(control_project_create(d->store, "seen-project", &other, NOW, &project, &st),
                     EM_ALREADY_EXISTS);
    /* bad input creates nothing */
    const struct control_project_update bad = {.display_name = "x"};
    assert_int_equal(control_project_create(d->store, "bad-name-project", &bad, NOW, &project, &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(control_project_create(d->store, "Bad_Id", &other, NOW, &project, &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(
        control_project_create(d->store, "bad-name-project", &other, NOW, &project, &st),
        EM_OK); /* the refusal above left the ID free */
    control_project_clear(&project);
}

int main(void)
{
#define T(test) cmocka_unit_test_setup_teardown(test, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migration_keeps_version_one_projects),
        T(test_a_project_starts_without_name_labels_or_parent),
        T(test_update_sets_name_labels_and_parent),
        T(test_update_replaces_what_the_body_leaves_out),
        T(test_a_parent_once_set_cannot_be_cleared),
        T(test_display_name_rules),
        T(test_parent_rules),
        T(test_an_invalid_project_id_is_refused),
        cmocka_unit_test(test_body_reading),
        T(test_create_records_a_new_project_once),
        T(test_delete_and_undelete),
        T(test_what_get_returns_can_be_put_back),
        T(test_reset_forgets_and_a_reopened_store_remembers),
        T(test_list_shows_parents_and_fails_on_a_step_error),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
