/*
 * control_projects: Google's rules for what UpdateProject sets, and the projects table
 * (see control_projects.h). The projects table's SQL is here and only here.
 *
 * Table `projects`, one row per project seen: project_id, create_time_ns (first sight),
 * and since migration 2 what UpdateProject sets, NULL when unset: display_name, labels
 * (a JSON object's text), parent_type and parent_id (both set or both NULL).
 */
#include "control_projects.h"

#include "em_api_state.h"
#include "em_clock.h"
#include "em_iam.h"
#include "em_names.h"
#include "em_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const project_migrations[] = {
    "CREATE TABLE projects ("
    " project_id TEXT PRIMARY KEY,"
    " create_time_ns INTEGER NOT NULL)",
    /* 2: UpdateProject's fields */
    "ALTER TABLE projects ADD COLUMN display_name TEXT;"
    "ALTER TABLE projects ADD COLUMN labels TEXT;"
    "ALTER TABLE projects ADD COLUMN parent_type TEXT;"
    "ALTER TABLE projects ADD COLUMN parent_id TEXT",
};

/* The columns read_project reads, in its order. */
#define PROJECT_COLUMNS "project_id, create_time_ns, display_name, labels, parent_type, parent_id"

/* The projects table, and em_api_state's tables, where a project's deletion is kept. */
enum em_code control_projects_open(struct em_store *store, struct em_status *st)
{
    if (em_api_state_open(store, st))
        return st->code;
    return em_store_migrate(store, "projects", project_migrations,
                            (int)(sizeof(project_migrations) / sizeof(project_migrations[0])), st);
}

void control_project_clear(struct control_project *project)
{
    if (!project)
        return;
    free(project->labels_json);
    project->labels_json = NULL;
}

/* --- Google's rules (https://cloud.google.com/resource-manager/reference/rest/v1/projects) --- */

/* A display name: 4 to 30 letters, digits, hyphens, single quotes, double quotes, spaces
 * or exclamation points. */
static enum em_code check_display_name(const char *name, struct em_status *st)
{
    size_t len = strlen(name);
    bool valid = len >= 4 && len <= CONTROL_PROJECT_NAME_MAX;
    for (const char *p = name; valid && *p; p++) {
        char c = *p;
        valid = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                strchr("-'\" !", c) != NULL;
    }
    if (!valid)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value at 'name': a project name is 4 to 30 letters, digits, "
                       "hyphens, single quotes, double quotes, spaces or exclamation points, "
                       "got \"%.60s\".",
                       name);
    return EM_OK;
}

/* A parent: a folder or an organization, named by its ID of 1 to 20 decimal digits. */
static enum em_code check_parent(const char *type, const char *id, struct em_status *st)
{
    if (strcmp(type, "folder") != 0 && strcmp(type, "organization") != 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value at 'parent.type': a project's parent is a \"folder\" or an "
                       "\"organization\", got \"%.60s\".",
                       type);
    if (!em_numeric_id(id))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value at 'parent.id': %s IDs are decimal numbers of 1 to 20 "
                       "digits, got \"%.60s\".",
                       type, id);
    return EM_OK;
}

static enum em_code check_update(const struct control_project_update *update, struct em_status *st)
{
    if (update->display_name && check_display_name(update->display_name, st))
        return st->code;
    if ((update->parent_type == NULL) != (update->parent_id == NULL))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value at 'parent': a parent needs both a type and an id.");
    if (update->parent_type && check_parent(update->parent_type, update->parent_id, st))
        return st->code;
    return EM_OK;
}

/* --- the table --- */

/* Copies a row of PROJECT_COLUMNS into out (which the caller clears). */
static enum em_code read_project(sqlite3_stmt *stmt, struct control_project *out,
                                 struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", em_column_text(stmt, 0));
    out->create_time_ns = sqlite3_column_int64(stmt, 1);
    out->number = em_project_number(out->id);
    snprintf(out->display_name, sizeof(out->display_name), "%s", em_column_text(stmt, 2));
    if (sqlite3_column_type(stmt, 3) != SQLITE_NULL) {
        out->labels_json = strdup(em_column_text(stmt, 3));
        if (!out->labels_json)
            return EM_FAIL_OOM(st);
    }
    snprintf(out->parent_type, sizeof(out->parent_type), "%s", em_column_text(stmt, 4));
    snprintf(out->parent_id, sizeof(out->parent_id), "%s", em_column_text(stmt, 5));
    return EM_OK;
}

static enum em_code remember(struct em_store *store, const char *project_id, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        store, "INSERT OR IGNORE INTO projects(project_id, create_time_ns) VALUES (?, ?)", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, project_id);
    sqlite3_bind_int64(stmt, 2, em_clock_now());
    return em_stmt_run(stmt, st);
}

enum em_code control_project_get(struct em_store *store, const char *project_id,
                                 struct control_project *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    if (em_project_check(project_id, st) || remember(store, project_id, st))
        return st->code;
    sqlite3_stmt *stmt =
        em_store_stmt(store, "SELECT " PROJECT_COLUMNS " FROM projects WHERE project_id = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, project_id);
    int rc = sqlite3_step(stmt);
    enum em_code code = EM_OK;
    if (rc == SQLITE_ROW)
        code = read_project(stmt, out, st);
    else if (rc == SQLITE_DONE) /* a reset raced with us between the two statements */
        code = EM_FAIL(st, EM_ABORTED, "Project %s changed concurrently; retry.", project_id);
    else
        code = em_store_error(sqlite3_db_handle(stmt), rc, st);
    em_stmt_done(stmt);
    if (!code)
        code = em_project_delete_time(store, project_id, &out->delete_time_ns, st);
    if (code)
        control_project_clear(out);
    return code;
}

/* One statement inserts the project on first sight or replaces its fields, refusing
 * (no row returned) to replace a parent with none. */
static const char update_sql[] =
    "INSERT INTO projects(" PROJECT_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT(project_id) DO UPDATE SET display_name = excluded.display_name,"
    " labels = excluded.labels, parent_type = excluded.parent_type,"
    " parent_id = excluded.parent_id"
    " WHERE excluded.parent_type IS NOT NULL OR projects.parent_type IS NULL"
    " RETURNING " PROJECT_COLUMNS;

/* Runs sql (update_sql or create_sql: the project's columns as ?1..?6, RETURNING them)
 * for project_id; *written: it returned the row, read into out. */
static enum em_code write_row(struct em_store *store, const char *sql, const char *project_id,
                              const struct control_project_update *update, int64_t now,
                              struct control_project *out, bool *written, struct em_status *st)
{
    *written = false;
    sqlite3_stmt *stmt = em_store_stmt(store, sql, st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, project_id);
    sqlite3_bind_int64(stmt, 2, now);
    em_bind_text(stmt, 3, update->display_name);
    em_bind_text(stmt, 4, update->labels_json);
    em_bind_text(stmt, 5, update->parent_type);
    em_bind_text(stmt, 6, update->parent_id);
    enum em_code code = EM_OK;
    int rc = sqlite3_step(stmt);
    *written = rc == SQLITE_ROW;
    if (*written) {
        code = read_project(stmt, out, st);
        rc = sqlite3_step(stmt); /* the statement completes (and commits) at its end */
    }
    if (!code && rc != SQLITE_DONE)
        code = em_store_error(sqlite3_db_handle(stmt), rc, st);
    em_stmt_done(stmt);
    return code;
}

/* Google's rule: a project whose deletion was requested cannot be updated (and one whose
 * deletion is over is not found). */
static enum em_code refuse_deleted(struct em_store *store, const char *project_id, int64_t now,
                                   struct em_status *st)
{
    int64_t deleted;
    if (em_project_delete_time(store, project_id, &deleted, st))
        return st->code;
    if (deleted && now - deleted >= CONTROL_PROJECT_RESTORE_NS)
        return EM_FAIL(st, EM_PERMISSION_DENIED, "The caller does not have permission");
    if (deleted)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Project %s is DELETE_REQUESTED: undelete it before updating it.",
                       project_id);
    return EM_OK;
}

static enum em_code update_row(struct em_store *store, const char *project_id,
                               const struct control_project_update *update, int64_t now,
                               struct control_project *out, struct em_status *st)
{
    bool updated;
    if (refuse_deleted(store, project_id, now, st) ||
        write_row(store, update_sql, project_id, update, now, out, &updated, st))
        return st->code;
    if (!updated)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value at 'parent': project %s has a parent, which cannot be "
                       "cleared; move the project to another folder or organization instead.",
                       project_id);
    return EM_OK;
}

/* IAM's hierarchy (em_iam_set_parent): bindings on the project's parent grant on it. */
static enum em_code tell_iam(struct em_store *store, const struct control_project *project,
                             struct em_status *st)
{
    if (!*project->parent_type)
        return EM_OK;
    char resource[64], parent[64];
    snprintf(resource, sizeof(resource), "projects/%s", project->id);
    snprintf(parent, sizeof(parent), "%s/%s",
             strcmp(project->parent_type, "folder") == 0 ? "folders" : "organizations",
             project->parent_id);
    return em_iam_set_parent(store, resource, parent, st);
}

typedef enum em_code (*row_writer)(struct em_store *store, const char *project_id,
                                   const struct control_project_update *update, int64_t now,
                                   struct control_project *out, struct em_status *st);

/* Checks what is written, then writes the row (write: update_row or insert_row) and tells
 * IAM the project's parent, in one transaction. */
static enum em_code save(struct em_store *store, const char *project_id,
                         const struct control_project_update *update, int64_t now, row_writer write,
                         struct control_project *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    if (em_project_check(project_id, st) || check_update(update, st) || em_store_begin(store, st))
        return st->code;
    if (write(store, project_id, update, now, out, st) || tell_iam(store, out, st) ||
        em_store_commit(store, st)) {
        em_store_rollback(store);
        control_project_clear(out);
        return st->code;
    }
    return EM_OK; /* st may hold an earlier, handled status: it is not this call's */
}

enum em_code control_project_update(struct em_store *store, const char *project_id,
                                    const struct control_project_update *update, int64_t now,
                                    struct control_project *out, struct em_status *st)
{
    return save(store, project_id, update, now, update_row, out, st);
}

static const char create_sql[] =
    "INSERT INTO projects(" PROJECT_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT(project_id) DO NOTHING RETURNING " PROJECT_COLUMNS;

static enum em_code insert_row(struct em_store *store, const char *project_id,
                               const struct control_project_update *update, int64_t now,
                               struct control_project *out, struct em_status *st)
{
    bool inserted;
    if (write_row(store, create_sql, project_id, update, now, out, &inserted, st))
        return st->code;
    if (!inserted)
        return EM_FAIL(st, EM_ALREADY_EXISTS,
                       "Requested entity already exists: project %s is already in use.",
                       project_id);
    return EM_OK;
}

enum em_code control_project_create(struct em_store *store, const char *project_id,
                                    const struct control_project_update *update, int64_t now,
                                    struct control_project *out, struct em_status *st)
{
    return save(store, project_id, update, now, insert_row, out, st);
}

enum em_code control_projects_scan(struct em_store *store, control_project_visit_fn visit,
                                   void *arg, struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, "SELECT " PROJECT_COLUMNS " FROM projects ORDER BY project_id", st);
    if (!stmt)
        return st->code;
    enum em_code code = EM_OK;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct control_project project;
        code = read_project(stmt, &project, st);
        if (!code)
            code = em_project_delete_time(store, project.id, &project.delete_time_ns, st);
        bool more = !code && visit(&project, arg);
        control_project_clear(&project);
        if (!more)
            break;
    }
    if (!code && rc != SQLITE_ROW && rc != SQLITE_DONE)
        code = em_store_error(sqlite3_db_handle(stmt), rc, st);
    em_stmt_done(stmt);
    return code;
}

struct number_search {
    int64_t number;
    char id[32];
};

static bool match_number(const struct control_project *project, void *arg)
{
    struct number_search *search = arg;
    if (project->number != search->number)
        return true;
    snprintf(search->id, sizeof(search->id), "%s", project->id);
    return false;
}

/* A project number as Google writes it: decimal digits, no leading zero, within int64. */
static bool canonical_number(const char *text, int64_t *out)
{
    if (!em_numeric_id(text) || text[0] == '0' || strlen(text) > 19)
        return false;
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    *out = n;
    return errno == 0 && *end == '\0';
}

enum em_code control_project_resolve(struct em_store *store, const char *id_or_number, char id[32],
                                     struct em_status *st)
{
    struct number_search search = {0};
    bool numeric = em_numeric_id(id_or_number);
    if (!numeric) {
        if (em_project_check(id_or_number, st))
            return st->code;
        snprintf(id, 32, "%s", id_or_number);
        return EM_OK;
    }
    if (canonical_number(id_or_number, &search.number) &&
        control_projects_scan(store, match_number, &search, st))
        return st->code;
    if (!search.id[0])
        return EM_FAIL(st, EM_NOT_FOUND,
                       "Project %.40s not found: name a project by its ID, or by the number of "
                       "a project the emulator has seen.",
                       id_or_number);
    snprintf(id, 32, "%s", search.id);
    return EM_OK;
}

bool control_project_gone(const struct control_project *project, int64_t now)
{
    return project->delete_time_ns && now - project->delete_time_ns >= CONTROL_PROJECT_RESTORE_NS;
}

/* Google's answer for a project that does not exist (or that the caller may not see). */
static enum em_code fail_gone(struct em_status *st)
{
    return EM_FAIL(st, EM_PERMISSION_DENIED, "The caller does not have permission");
}

/* When the project was deleted (0: it is ACTIVE), failing as Google does once its
 * deletion is over. */
static enum em_code deletion_of(struct em_store *store, const char *project_id, int64_t now,
                                int64_t *delete_time_ns, struct em_status *st)
{
    struct control_project project;
    if (control_project_get(store, project_id, &project, st))
        return st->code;
    control_project_clear(&project);
    *delete_time_ns = project.delete_time_ns;
    return control_project_gone(&project, now) ? fail_gone(st) : EM_OK;
}

static enum em_code delete_in_transaction(struct em_store *store, const char *project_id,
                                          int64_t now, control_project_check_fn allowed,
                                          struct em_status *st)
{
    int64_t deleted;
    if (deletion_of(store, project_id, now, &deleted, st))
        return st->code;
    if (deleted)
        return EM_OK;
    if (allowed && allowed(store, project_id, st))
        return st->code;
    return em_project_set_deleted(store, project_id, now > 0 ? now : 1, st);
}

enum em_code control_project_delete(struct em_store *store, const char *project_id, int64_t now,
                                    control_project_check_fn allowed, struct em_status *st)
{
    if (em_store_begin(store, st))
        return st->code;
    if (delete_in_transaction(store, project_id, now, allowed, st)) {
        em_store_rollback(store);
        return st->code;
    }
    return em_store_commit(store, st);
}

enum em_code control_project_undelete(struct em_store *store, const char *project_id, int64_t now,
                                      struct em_status *st)
{
    int64_t deleted;
    if (deletion_of(store, project_id, now, &deleted, st))
        return st->code;
    if (!deleted)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Project %s is ACTIVE: only a project whose deletion was requested can be "
                       "undeleted.",
                       project_id);
    return em_project_set_deleted(store, project_id, 0, st);
}

enum em_code control_projects_under(struct em_store *store, const char *parent_type,
                                    const char *parent_id, bool *any, struct em_status *st)
{
    *any = false;
    sqlite3_stmt *stmt = em_store_stmt(
        store, "SELECT 1 FROM projects WHERE parent_type = ? AND parent_id = ? LIMIT 1", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, parent_type);
    em_bind_text(stmt, 2, parent_id);
    int rc = sqlite3_step(stmt);
    *any = rc == SQLITE_ROW;
    return em_stmt_end(stmt, rc, st);
}

enum em_code control_projects_clear(struct em_store *store, struct em_status *st)
{
    return em_store_exec(store, "DELETE FROM projects", st);
}
